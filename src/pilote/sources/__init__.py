"""The importers and the connectors, one module each, and the detection of a file's format."""

from __future__ import annotations

from pathlib import Path

from pilote.errors import BadInput, Invalid
from pilote.sources import (
    bluesky,
    discourse,
    disqus,
    facebook,
    instagram,
    linkedin,
    mastodon,
    reddit,
    rss,
    tabular,
    wordpress,
    wxr,
    x_archive,
    youtube,
)
from pilote.sources.base import Connector, ImportFormat
from pilote.sources.xmlsafe import read_head
from pilote.texts import N_

# Most specific first: detection asks each in turn.
FORMATS: dict[str, ImportFormat] = {
    module.name: module
    for module in (
        wxr,
        disqus,
        rss,
        x_archive,
        mastodon.FORMAT,
        bluesky.FORMAT,
        reddit.FORMAT,
        facebook,
        instagram,
        linkedin,
        tabular.JSONL,
        tabular.CSV,
    )
}

# Platforms Pilote reads itself through their APIs, by source kind.
CONNECTORS: dict[str, Connector] = {
    module.name: module for module in (wordpress, discourse, mastodon, bluesky, reddit, youtube)
}


def get_connector(name: str) -> Connector:
    """The connector called `name`."""
    try:
        return CONNECTORS[name]
    except KeyError:
        known = ", ".join(CONNECTORS) or "none yet"
        raise Invalid(N_("unknown platform %(name)r: use one of %(known)s"), name=name, known=known) from None


def get_format(name: str) -> ImportFormat:
    """The importer called `name`."""
    try:
        return FORMATS[name]
    except KeyError:
        raise Invalid(
            N_("unknown format %(name)r: use one of %(known)s"), name=name, known=", ".join(FORMATS)
        ) from None


def detect(path: Path) -> ImportFormat:
    """The importer for a file, from its first bytes (and its name for CSV)."""
    if path.is_dir():
        raise BadInput(path, None, N_("is a folder"), N_("name the export file inside it"))
    head = read_head(path)
    if not head.strip():
        raise BadInput(path, None, N_("the file is empty"), N_("export it again from the source"))
    for fmt in FORMATS.values():
        if fmt.sniff(head, path):
            return fmt
    raise BadInput(
        path,
        None,
        N_("unknown format"),
        N_("pass --format, one of: %(known)s"),
        web=N_("choose its format in the list, one of: %(known)s"),
        known=", ".join(FORMATS),
    )
