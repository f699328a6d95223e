"""Bluesky API answers saved to a file: a feed (author feed, timeline, an account's likes), a search or getPosts
or getQuotes answer, notifications, a post thread. One whole JSON object, read with the connector's parsing.

Every saved answer lands in one source, "bsky.app", unless --source names another: an at:// URI names one
post across the whole network, so the same post saved twice is one message. Notifications keep only the
message-like reasons (mention, reply, quote). Files that list accounts rather than posts (who liked or
reposted a post) are refused with a word on what to save instead.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from pilote.errors import BadInput
from pilote.sources.base import Item, ItemError, ParseOptions, SourceInfo
from pilote.sources.bluesky_posts import APP, MESSAGE_REASONS, feed_posts, post_item, thread_posts
from pilote.texts import N_

name = "bluesky_json"
description = N_("Bluesky API answers saved as JSON: feeds, searches, posts, quotes, notifications, threads")

MAX_BYTES = 64 << 20  # an API answer holds 100 posts at most: a larger file is not one
_KEYS = re.compile(rb'"(feed|posts|notifications|thread|repostedBy|likes)"\s*:')
ACTOR_LISTS = {"repostedBy": "reposted", "likes": "liked"}
Entry = tuple[str, Any, bool]  # where in the file, the post view, whether it is a mention


def sniff(head: bytes, path: Path) -> bool:
    """One JSON object with a Bluesky answer's list (feed, posts, notifications, thread...) and DIDs; JSON Lines
    (one complete object per line, more than one line) are left to the JSONL importer."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not text.startswith(b"{") or (b'"did:' not in text and b'"at://did:' not in text):
        return False
    if _KEYS.search(text) is None:
        return False
    first, _, rest = text.partition(b"\n")
    return not rest.strip() or not _complete(first)


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """All saved answers belong to one source unless --source says otherwise (see the module's docstring)."""
    return SourceInfo(kind=name, key=options.source_key or "bsky.app", name="Bluesky", channel="bluesky", url=APP)


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Each post of the answer once (a feed repeats the posts that replies answer), in file order."""
    seen: set[str] = set()
    for where, view, mention in _entries(_load(path, options), path):
        item = post_item(view, where=where, mention=mention)
        if isinstance(item, Item):
            if item.external_id in seen:
                continue
            seen.add(item.external_id)
        yield item


def _entries(data: dict[str, Any], path: Path) -> Iterator[Entry]:
    for key, verb in ACTOR_LISTS.items():
        if isinstance(data.get(key), list) and not any(k in data for k in ("feed", "posts", "thread")):
            raise BadInput(
                path,
                key,
                N_("this answer lists the accounts that %(verb)s a post, not posts"),
                N_("save the post's thread (getPostThread) or its quotes (getQuotes) instead"),
                verb=verb,
            )
    if "feed" in data:
        for i, entry in enumerate(_list(data, "feed", path)):
            yield from ((f"feed[{i}]", view, False) for view, gone in feed_posts(entry) if gone is None)
    elif "posts" in data:
        yield from ((f"posts[{i}]", view, False) for i, view in enumerate(_list(data, "posts", path)))
    elif "notifications" in data:
        for i, note in enumerate(_list(data, "notifications", path)):
            if not isinstance(note, dict) or note.get("reason") in MESSAGE_REASONS:
                yield f"notifications[{i}]", note, True
    elif "thread" in data:
        yield from (("thread", view, False) for view, gone in thread_posts(data["thread"]) if gone is None)
    else:
        problem = "not a Bluesky answer Pilote reads (no feed, posts, notifications or thread)"
        raise BadInput(path, None, problem, N_("save a whole answer of getAuthorFeed, searchPosts, getPostThread..."))


def _list(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise BadInput(path, key, N_('"%(key)s" is not a list'), N_("save the API's whole answer, unchanged"), key=key)
    return value


def _load(path: Path, options: ParseOptions) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BadInput(
                path,
                None,
                N_("%(value)s MB is too large for one Bluesky API answer"),
                N_("save each page of answers to its own file"),
                value=f"{size / 1e6:,.0f}",
            )
        text = path.read_bytes().decode(options.encoding)
    except OSError as error:
        raise BadInput(
            path, None, N_("cannot be read: %(strerror)s"), N_("check the path"), strerror=error.strerror
        ) from None
    except LookupError:
        raise BadInput(
            path, None, N_("unknown encoding %(encoding)r"), N_("pass a valid --encoding"), encoding=options.encoding
        ) from None
    except UnicodeDecodeError as error:
        problem = N_("not valid %(encoding)s text")
        raise BadInput(path, N_("byte %(start)s"), problem, N_("check the encoding"), start=error.start,
                       encoding=options.encoding) from None  # fmt: skip
    try:
        data = json.loads(text.removeprefix("\ufeff"))
    except json.JSONDecodeError as error:
        damaged = N_("the file is damaged or truncated")
        raise BadInput(path, N_("line %(lineno)s"), N_("malformed JSON: %(msg)s"), damaged, lineno=error.lineno,
                       msg=error.msg) from None  # fmt: skip
    except RecursionError:
        raise BadInput(
            path, None, N_("JSON nested too deeply for an API answer"), N_("save the whole answer")
        ) from None
    if not isinstance(data, dict):
        raise BadInput(path, None, N_("expected one JSON object (an API answer)"), N_("save the API's whole answer"))
    return data


def _complete(line: bytes) -> bool:
    """Whether a line holds a whole JSON object by itself."""
    try:
        return isinstance(orjson.loads(line), dict)
    except orjson.JSONDecodeError:
        return False
