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
        raise Invalid(f"unknown platform {name!r}: use one of {known}") from None


def get_format(name: str) -> ImportFormat:
    """The importer called `name`."""
    try:
        return FORMATS[name]
    except KeyError:
        raise Invalid(f"unknown format {name!r}: use one of {', '.join(FORMATS)}") from None


def detect(path: Path) -> ImportFormat:
    """The importer for a file, from its first bytes (and its name for CSV)."""
    if path.is_dir():
        raise BadInput(path, None, "is a folder", "name the export file inside it")
    head = read_head(path)
    if not head.strip():
        raise BadInput(path, None, "the file is empty", "export it again from the source")
    for fmt in FORMATS.values():
        if fmt.sniff(head, path):
            return fmt
    raise BadInput(path, None, "unknown format", f"pass --format, one of: {', '.join(FORMATS)}")
