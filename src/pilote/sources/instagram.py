"""Instagram's "Download your information" export in JSON: the account's posts and its comments.

- Posts (`content/posts_1.json`): a list of `{media: [{uri, creation_timestamp, title}], title,
  creation_timestamp}`; a post of one photo has its caption and time on the media alone.
- Comments (`comments/post_comments_1.json`; `reels_comments.json`): a list, or `{"comments_media_comments":
  [...]}` (`comments_reels_comments`...), of `{string_map_data: {"Comment": {value}, "Media Owner": {value},
  "Time": {timestamp}}}`.

The export holds what the account wrote, not what others wrote to it. A comment is not linked to a post: it
names the account that owns the post ("Media Owner"), not which post. Entries have no id: see export_files.
The account is named in the export's personal information file, found when the export's folders are kept
around the file. Texts are Meta's mojibake, undone. docs/importers-exports.md.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

name = "instagram_json"
description = N_("Instagram's data export in JSON: content/posts_1.json and comments/post_comments_1.json")
CHANNEL = "instagram"
SITE = "https://www.instagram.com"
PROFILE_FILES = (
    "personal_information/personal_information.json",
    "personal_information/personal_information/personal_information.json",
)
_POSTS = re.compile(rb'\[\s*\{\s*"(?:media|title|creation_timestamp)"\s*:')
_MEDIA = re.compile(rb'"media"\s*:\s*\[\s*\{\s*"uri"\s*:')
_CREATED = re.compile(rb'"creation_timestamp"\s*:\s*\d')
_TIMESTAMP = re.compile(rb'"timestamp"\s*:\s*\d')  # Facebook's posts: theirs
_COMMENT_LIST = re.compile(rb'\[\s*\{\s*"(?:media_list_data|string_map_data)"\s*:')
_COMMENT_OBJECT = re.compile(rb'\{\s*"comments_[a-z_]+_comments"\s*:\s*\[')
_COMMENT_KEY = re.compile(r"comments_[a-z_]+_comments")
_HANDLE = re.compile(r"^[A-Za-z0-9._]{1,64}$")


def sniff(head: bytes, path: Path) -> bool:
    """A list of posts (`media: [{uri, ...}]` and a `creation_timestamp`), or of comments (`string_map_data`
    holding a "Comment"), or an object whose first key is `comments_..._comments`."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if _POSTS.match(text):
        return bool(_MEDIA.search(text) and _CREATED.search(text)) and not _TIMESTAMP.search(text)
    if _COMMENT_LIST.match(text) or _COMMENT_OBJECT.match(text):
        return b'"string_map_data"' in text and b'"Comment"' in text
    return False


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """The account the export names (`instagram:<username>`), else `instagram:<file stem>`."""
    owner = _owner(path)
    if owner is None:
        key = f"instagram:{path.stem}"
        return SourceInfo(kind=name, key=options.source_key or key, name=f"Instagram export {path.stem}",
                          channel=CHANNEL)  # fmt: skip
    key = f"instagram:{owner.handle.lower()}"
    return SourceInfo(kind=name, key=options.source_key or key, name=f"@{owner.handle} on Instagram",
                      channel=CHANNEL, url=owner.url)  # fmt: skip


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Each post, or each comment, in file order; BadInput for a file that is neither."""
    author = _owner(path) or OWNER
    if opening(path, options.encoding) == "{":
        key, entries = _comment_entries(path, load_object(path, options.encoding))
        for index, entry in enumerate(entries):
            yield _comment(entry, f"{key}[{index}]", author)
        return
    for line, entry in elements(path, options.encoding):
        comment = isinstance(entry, dict) and "string_map_data" in entry
        yield _comment(entry, f"line {line}", author) if comment else _post(entry, f"line {line}", author)


def _post(entry: object, where: str, author: AuthorRef) -> Item | ItemError:
    if not isinstance(entry, dict):
        return ItemError(where, N_("not a post object: skipped"))
    media = [m for m in _list(entry.get("media")) if isinstance(m, dict)]
    created = seconds(entry.get("creation_timestamp"))
    created = created or next((seconds(m.get("creation_timestamp")) for m in media if "creation_timestamp" in m), None)
    if created is None:
        return ItemError(where, N_("post without a creation_timestamp (Unix seconds): skipped"))
    text = readable(entry.get("title")) or (readable(media[0].get("title")) if media else "")
    context = () if text.strip() else tuple(sorted(basename(m.get("uri")) for m in media))
    return Item(
        external_id=export_id("post", created, text, *context),
        kind="post",
        created_at=moment(created),
        raw=raw(entry),
        text=text,
        author=author,
    )


def _comment(entry: object, where: str, author: AuthorRef) -> Item | ItemError:
    fields = entry.get("string_map_data") if isinstance(entry, dict) else None
    if not isinstance(fields, dict):
        return ItemError(where, N_("not a comment (no string_map_data): skipped"))
    said, when = fields.get("Comment"), fields.get("Time")
    if not isinstance(said, dict) or not isinstance(said.get("value"), str):
        return ItemError(where, N_('comment without its "Comment" value: skipped'))
    created = seconds(when.get("timestamp")) if isinstance(when, dict) else None
    if created is None:
        return ItemError(where, N_('comment without its "Time" (Unix seconds): skipped'))
    text = readable(said["value"])
    return Item(
        external_id=export_id("comment", created, text),
        kind="comment",
        created_at=moment(created),
        raw=raw(entry),
        text=text,
        author=author,
    )


def _comment_entries(path: Path, data: dict[str, Any]) -> tuple[str, list[Any]]:
    for key, value in data.items():
        if _COMMENT_KEY.fullmatch(key):
            if not isinstance(value, list):
                raise BadInput(path, key, N_('"%(key)s" is not a list of comments'), HINT, key=key)
            return key, value
    raise BadInput(
        path,
        None,
        N_("not an Instagram export of posts or comments (no comments_..._comments list)"),
        N_("import content/posts_1.json or comments/post_comments_1.json from the export"),
    )


def _owner(path: Path) -> AuthorRef | None:
    """The account in the export's personal information file, when it is found above the file."""
    data = beside(path, PROFILE_FILES)
    users = data.get("profile_user") if isinstance(data, dict) else None
    first = users[0] if isinstance(users, list) and users and isinstance(users[0], dict) else {}
    fields = first.get("string_map_data")
    fields = fields if isinstance(fields, dict) else {}
    handle, shown = (_value(fields, label) for label in ("Username", "Name"))
    if not _HANDLE.match(handle):
        return None
    return person(name=shown or handle, handle=handle, url=f"{SITE}/{handle}/")


def _value(fields: dict[str, Any], label: str) -> str:
    found = fields.get(label)
    return readable(found.get("value")).strip() if isinstance(found, dict) else ""


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []
