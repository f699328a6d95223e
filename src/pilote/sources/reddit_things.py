"""Reddit "things" (t3 posts, t1 comments) as Items, shared by the connector and the file format.

The API wraps everything in `{kind, data}`: a Listing holds children, a comment holds its replies as a
nested Listing, and a "more" stub names comments left out of a long forest. An item's raw payload is its
own `{kind, data}` without its nested replies (else a post's payload would change with every new comment
and weigh its whole forest) and without the `link_*` context the comments listing adds about the post
(the same comment read from a thread would look edited). docs/connectors/reddit.md.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pilote.errors import fill
from pilote.sources.base import AuthorRef, Counters, Item, ItemError, person
from pilote.text import html_to_text
from pilote.texts import N_

SITE = "https://www.reddit.com"
GONE = frozenset({"[deleted]", "[removed]"})  # what Reddit shows instead of a deleted or removed text
FULLNAME = re.compile(r"t[13]_[0-9a-z]{1,13}")
_HELD = frozenset({"automod_filtered", "reddit_filtered"})  # in the moderation queue, not removed yet


def id36(fullname: str) -> int:
    """The number behind a fullname or id: Reddit allots them in order, so a larger one is newer."""
    return int(fullname.rsplit("_", 1)[-1], 36)


def fullname_of(thing: Any) -> str | None:
    """A thing's fullname (t1_abc), when it has a readable one."""
    data = thing.get("data") if isinstance(thing, dict) else None
    if not isinstance(data, dict):
        return None
    name = data.get("name")
    if not isinstance(name, str) and isinstance(data.get("id"), str):
        name = f"{thing.get('kind')}_{data['id']}"
    return name if isinstance(name, str) and FULLNAME.fullmatch(name) else None


def gone(thing: Any) -> bool:
    """Whether Reddit shows the thing's text as deleted or removed (the text itself is lost)."""
    data = thing.get("data") if isinstance(thing, dict) else None
    if not isinstance(data, dict):
        return False
    text = data.get("body") if thing.get("kind") == "t1" else data.get("selftext")
    return (isinstance(text, str) and text in GONE) or data.get("removed_by_category") == "deleted"


def forest(value: Any) -> Iterator[Any]:
    """The things of a listing or a list of them, each comment followed by its nested replies."""
    if isinstance(value, list):
        for element in value:
            yield from forest(element)
    elif isinstance(value, dict) and value.get("kind") == "Listing":
        data = value.get("data")
        yield from forest(data.get("children") if isinstance(data, dict) else None)
    elif isinstance(value, dict) and "kind" in value:
        yield value
        data = value.get("data")
        if isinstance(data, dict) and isinstance(data.get("replies"), dict):
            yield from forest(data["replies"])


def read(thing: Any, where: str) -> Item | ItemError:
    """One post (t3) or comment (t1) as an Item; what cannot be read as an ItemError."""
    kind = thing.get("kind") if isinstance(thing, dict) else None
    data = thing.get("data") if isinstance(thing, dict) else None
    if kind not in ("t1", "t3") or not isinstance(data, dict):
        return ItemError(
            where, fill(N_("not a Reddit post (t3) or comment (t1) but %(value)r: skipped"), {"value": str(kind)[:40]})
        )
    fullname = fullname_of(thing)
    if fullname is None:
        return ItemError(where, N_("a post or comment without a readable id or name: skipped"))
    created = _time(data.get("created_utc"))
    if created is None:
        return ItemError(
            fill(N_("%(where)s (%(fullname)s)"), {"where": where, "fullname": fullname}),
            N_("created_utc is not a time: skipped"),
        )
    try:
        raw = _raw(kind, data)
    except (TypeError, ValueError) as error:
        return ItemError(
            fill(N_("%(where)s (%(fullname)s)"), {"where": where, "fullname": fullname}),
            fill(N_("cannot be kept as JSON (%(error)s): skipped"), {"error": error}),
        )
    return _post(fullname, data, created, raw) if kind == "t3" else _comment(fullname, data, created, raw)


def _post(fullname: str, data: dict[str, Any], created: datetime, raw: str) -> Item:
    markup, text = _content(data.get("selftext_html"), data.get("selftext"))
    link = _text(data.get("url"))
    if not text and link and not data.get("is_self"):
        text = link  # a link post says nothing but where it points
    return Item(
        external_id=fullname,
        kind="post",
        created_at=created,
        raw=raw,
        text=text,
        html=markup,
        title=_text(data.get("title")),
        url=_permalink(data.get("permalink")) or f"{SITE}/comments/{fullname[3:]}/",
        thread_external_id=fullname,
        author=_author(data.get("author")),
        edited_at=_time(data.get("edited")),
        counters=Counters(likes=_score(data), replies=_number(data.get("num_comments"))),
        labels=labels(data, gone({"kind": "t3", "data": data})),
    )


def _comment(fullname: str, data: dict[str, Any], created: datetime, raw: str) -> Item:
    markup, text = _content(data.get("body_html"), data.get("body"))
    parent = _reference(data.get("parent_id"))
    thread = _reference(data.get("link_id"))
    subreddit = _text(data.get("subreddit"))
    fallback = f"{SITE}/r/{subreddit}/comments/{thread[3:]}/_/{fullname[3:]}/" if subreddit and thread else None
    return Item(
        external_id=fullname,
        kind="reply" if parent and parent.startswith("t1_") else "comment",
        created_at=created,
        raw=raw,
        text=text,
        html=markup,
        url=_permalink(data.get("permalink")) or fallback,
        parent_external_id=parent,
        thread_external_id=thread,
        author=_author(data.get("author")),
        edited_at=_time(data.get("edited")),
        counters=Counters(likes=_score(data)),
        labels=labels(data, gone({"kind": "t1", "data": data})),
    )


def labels(data: dict[str, Any], is_gone: bool) -> tuple[tuple[str, str], ...]:
    """Moderation status as Reddit tells it (moderators see spam, approved and held; everyone sees removed)."""
    if data.get("spam") is True:
        return (("status", "spam"), ("spam", "spam"))
    category = _text(data.get("removed_by_category"))
    if category in _HELD:
        return (("status", "pending"),)
    if is_gone or category or data.get("removed") is True:
        return (("status", "deleted"),)
    if data.get("approved") is True:
        return (("status", "approved"),)
    return ()


def _raw(kind: str, data: dict[str, Any]) -> str:
    own = {k: v for k, v in data.items() if k != "replies" and not (k.startswith("link_") and k != "link_id")}
    if kind == "t1":
        own.pop("num_comments", None)
    return json.dumps({"kind": kind, "data": own}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _content(markup: object, markdown: object) -> tuple[str | None, str]:
    """The HTML (unescaped when the answer was asked without raw_json=1) and its plain text."""
    if isinstance(markup, str) and markup.strip():
        if markup.lstrip().startswith("&lt;"):
            markup = html.unescape(markup)
        return markup, html_to_text(markup)
    return None, markdown.strip() if isinstance(markdown, str) else ""


def _author(name: object) -> AuthorRef | None:
    handle = _text(name)
    if handle is None or handle == "[deleted]":  # Reddit's placeholder for a deleted account is nobody
        return None
    return person(name=handle, handle=handle, url=f"{SITE}/user/{handle}/")


def _permalink(value: object) -> str | None:
    link = _text(value)
    return SITE + link if link and link.startswith("/") else None


def _reference(value: object) -> str | None:
    ref = _text(value)
    return ref if ref and FULLNAME.fullmatch(ref) else None


def _score(data: dict[str, Any]) -> int | None:
    score = _number(data.get("score"))
    return score if score is not None else _number(data.get("ups"))


def _time(value: object) -> datetime | None:
    """A Unix time (Reddit sends floats; `edited` is false when the item was never edited)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _number(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 2**53 else None


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
