"""Facebook's "Download your information" export in JSON, of a profile or a Page: its posts and its comments.

- Posts (`your_posts_1.json`; `your_posts__check_ins__photos_and_videos_1.json` in newer exports): a list of
  `{timestamp, data: [{post}, {update_timestamp}], attachments: [{data: [{media} | {external_context}]}], title}`.
- Comments (`comments.json`, under `comments_and_reactions/` in newer exports): `{"comments_v2": [{timestamp,
  data: [{comment: {timestamp, comment, author}}], attachments, title}]}` (`"comments"` in older exports).

The export holds what the profile or Page wrote, not what others wrote to it. A comment is not linked to a
post: its title names whose post it answered ("… commented on Zoé Martin's post."), not which one. Entries have
no id: see export_files. The owner is the author of every post; their name is read from the export's profile
information file when the export's folders are kept around the file, else from the comments' `author`.
docs/importers-exports.md.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pilote.errors import BadInput
from pilote.sources.base import AuthorRef, Item, ItemError, ParseOptions, SourceInfo, person
from pilote.sources.export_files import (
    HINT,
    OWNER,
    basename,
    beside,
    elements,
    export_id,
    load_object,
    moment,
    opening,
    raw,
    readable,
    seconds,
)
from pilote.texts import N_

name = "facebook_json"
description = N_("Facebook's data export in JSON (a profile or a Page): your_posts_1.json and comments.json")
CHANNEL = "facebook"
PROFILE_FILES = (
    "profile_information/profile_information.json",
    "personal_information/profile_information/profile_information.json",
)
COMMENT_KEYS = ("comments_v2", "comments")
_POSTS = re.compile(rb'\[\s*\{\s*"(?:timestamp|attachments|data|title|tags)"\s*:')
_POST_MARK = re.compile(rb'"(?:post|update_timestamp|external_context|media)"\s*:')
_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*\d')
_COMMENTS = re.compile(rb'\{\s*"comments(_v2)?"\s*:\s*\[')
_COMMENT_MARK = re.compile(rb'"data"\s*:\s*\[\s*\{\s*"comment"\s*:\s*\{')


@dataclass(slots=True, frozen=True)
class Owner:
    """The profile or Page the export belongs to."""

    name: str
    url: str | None = None


def sniff(head: bytes, path: Path) -> bool:
    """A list of posts with a Unix `timestamp`, or an object whose first key is `comments_v2` (or `comments`
    holding Facebook's `data: [{comment: {...}}]`)."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if _POSTS.match(text):
        return _TIMESTAMP.search(text) is not None and _POST_MARK.search(text) is not None
    found = _COMMENTS.match(text)
    return found is not None and (found.group(1) is not None or _COMMENT_MARK.search(text) is not None)


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """The profile or Page the export names (`facebook:<name>`), else `facebook:<file stem>`."""
    owner = _owner(path, options)
    if owner is None:
        key = f"facebook:{path.stem}"
        return SourceInfo(kind=name, key=options.source_key or key, name=f"Facebook export {path.stem}",
                          channel=CHANNEL)  # fmt: skip
    key = f"facebook:{owner.name.casefold()}"
    return SourceInfo(kind=name, key=options.source_key or key, name=f"{owner.name} on Facebook", channel=CHANNEL,
                      url=owner.url)  # fmt: skip


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Each post, or each comment, in file order; BadInput for a file that is neither."""
    if opening(path, options.encoding) == "[":
        author = _author(_profile_owner(path))
        for line, entry in elements(path, options.encoding):
            yield _post(entry, f"line {line}", author)
        return
    data = load_object(path, options.encoding)
    key, entries = _comment_entries(path, data)
    owner = _profile_owner(path) or _first_author(entries)
    for index, entry in enumerate(entries):
        yield from _comments(entry, f"{key}[{index}]", owner)


def _post(entry: object, where: str, author: AuthorRef) -> Item | ItemError:
    if not isinstance(entry, dict):
        return ItemError(where, N_("not a post object: skipped"))
    created = seconds(entry.get("timestamp"))
    if created is None:
        return ItemError(where, N_("post without a timestamp (Unix seconds): skipped"))
    data = [part for part in _list(entry.get("data")) if isinstance(part, dict)]
    text = next((readable(part["post"]) for part in data if isinstance(part.get("post"), str)), "")
    media, links = _attached(entry)
    text = text or "\n\n".join(filter(None, (readable(m.get("description")) for m in media)))
    updated = next((seconds(part.get("update_timestamp")) for part in data if "update_timestamp" in part), None)
    context = () if text.strip() else (*sorted(basename(m.get("uri")) for m in media), *links)
    return Item(
        external_id=export_id("post", created, text, *context),
        kind="post",
        created_at=moment(created),
        raw=raw(entry),
        text=text,
        author=author,
        edited_at=moment(updated) if updated and updated > created else None,
    )


def _comments(entry: object, where: str, owner: Owner | None) -> Iterator[Item | ItemError]:
    """The comments of one entry (one, in every export seen; each is read when there are more)."""
    if not isinstance(entry, dict):
        yield ItemError(where, N_("not a comment entry: skipped"))
        return
    found = [part["comment"] for part in _list(entry.get("data")) if isinstance(part, dict)
             and isinstance(part.get("comment"), dict)]  # fmt: skip
    if not found:
        yield ItemError(where, N_("no comment in its data: skipped"))
    for index, comment in enumerate(found):
        yield _comment(entry, comment, where if len(found) == 1 else f"{where}.data[{index}]", owner)


def _comment(entry: dict[str, Any], comment: dict[str, Any], where: str, owner: Owner | None) -> Item | ItemError:
    created = seconds(comment.get("timestamp")) or seconds(entry.get("timestamp"))
    if created is None:
        return ItemError(where, N_("comment without a timestamp (Unix seconds): skipped"))
    text = readable(comment.get("comment"))
    written_by = readable(comment.get("author")).strip()
    if owner is not None and written_by.casefold() in ("", owner.name.casefold()):
        author = _author(owner)
    else:
        author = person(name=written_by) or OWNER
    media, links = _attached(entry)
    context = () if text.strip() else (*sorted(basename(m.get("uri")) for m in media), *links)
    return Item(
        external_id=export_id("comment", created, text, *context),
        kind="comment",
        created_at=moment(created),
        raw=raw(entry),
        text=text,
        author=author,
    )


def _attached(entry: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The media objects and the links an entry's attachments hold."""
    media: list[dict[str, Any]] = []
    links: list[str] = []
    for attachment in _list(entry.get("attachments")):
        for part in _list(attachment.get("data") if isinstance(attachment, dict) else None):
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("media"), dict):
                media.append(part["media"])
            context = part.get("external_context")
            if isinstance(context, dict) and isinstance(context.get("url"), str):
                links.append(context["url"])
    return media, links


def _comment_entries(path: Path, data: dict[str, Any]) -> tuple[str, list[Any]]:
    for key in COMMENT_KEYS:
        if key in data:
            if not isinstance(data[key], list):
                raise BadInput(path, key, N_('"%(key)s" is not a list of comments'), HINT, key=key)
            return key, data[key]
    raise BadInput(
        path,
        None,
        N_("not a Facebook export of posts or comments (no comments_v2 list)"),
        N_("import your_posts_1.json or comments.json from the export"),
    )


def _owner(path: Path, options: ParseOptions) -> Owner | None:
    """The profile or Page named by the export's profile file, else (comments) by the comments' author."""
    found = _profile_owner(path)
    if found is not None or opening(path, options.encoding) == "[":
        return found
    return _first_author(_comment_entries(path, load_object(path, options.encoding))[1])


def _profile_owner(path: Path) -> Owner | None:
    """The name (and address) in the export's profile information file, when it is found above the file."""
    data = beside(path, PROFILE_FILES)
    profile = data.get("profile_v2", data.get("profile")) if isinstance(data, dict) else None
    if not isinstance(profile, dict):
        return None
    names = profile.get("name")
    full = readable(names.get("full_name")).strip() if isinstance(names, dict) else ""
    address = profile.get("profile_uri")
    url = address if isinstance(address, str) and urlsplit(address).scheme in ("http", "https") else None
    return Owner(full, url) if full else None


def _first_author(entries: list[Any]) -> Owner | None:
    """The author of the first comment that names one: the export's owner."""
    for entry in entries[:100]:
        for part in _list(entry.get("data") if isinstance(entry, dict) else None):
            comment = part.get("comment") if isinstance(part, dict) else None
            written_by = readable(comment.get("author")).strip() if isinstance(comment, dict) else ""
            if written_by:
                return Owner(written_by)
    return None


def _author(owner: Owner | None) -> AuthorRef:
    return (person(name=owner.name, url=owner.url) if owner else None) or OWNER


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
