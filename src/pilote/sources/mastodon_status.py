"""A Mastodon status as a Pilote item: the one reading shared by the connector and the file import.

Handles are qualified (`user@instance`) so that they are unique across instances: a local account's `acct`
has no domain, and takes its profile's host. The raw payload is the status without what depends on who asked
(favourited, bookmarked...) and with its account reduced to who it is, not its follower counts: fetching a
status again hashes the same unless the status itself changed. docs/connectors/mastodon.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pilote.errors import fill
from pilote.sources.base import AuthorRef, Counters, Item, ItemError, person
from pilote.sources.dates import parse_date
from pilote.text import html_to_text
from pilote.texts import N_

_VIEWER = frozenset({"favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered"})
_WHO = ("id", "username", "acct", "display_name", "url", "uri", "bot", "group")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


@dataclass(frozen=True, slots=True)
class View:
    """How statuses are read: the instance that answered (for accounts without a profile address), the
    account the source speaks for (others' posts naming it are mentions), whether each status was notified
    as a mention, and the thread's root when a context gave it."""

    instance: str | None = None
    brand: str | None = None  # a qualified handle, lower case
    mentioned: bool = False
    root: str | None = None


def handle(account: Mapping[str, Any], instance: str | None = None) -> str | None:
    """`user@instance` for an account as an instance gives it (`acct` is bare for its local accounts)."""
    acct = _string(account.get("acct")) or _string(account.get("username"))
    if acct is None:
        return None
    acct = acct.lstrip("@")
    if "@" in acct:
        return acct
    domain = urlsplit(_string(account.get("url")) or "").hostname or instance
    return f"{acct}@{domain}" if domain else acct


def status_item(status: object, where: str, view: View = View()) -> Item | ItemError:
    """One status (a boost of another is a share) as an Item, or why it cannot be read."""
    if not isinstance(status, dict):
        return ItemError(where, N_("not a status object: skipped"))
    status_id = status_id_of(status)
    if status_id is None:
        return ItemError(where, N_("status without an id: skipped"))
    try:
        created_at = parse_date(str(status.get("created_at") or ""))
    except ValueError as error:
        return ItemError(
            where,
            fill(N_("status %(status_id)s: created_at: %(error)s: skipped"), {"status_id": status_id, "error": error}),
        )
    account = status.get("account")
    if not isinstance(account, dict):
        return ItemError(where, fill(N_("status %(status_id)s: no account object: skipped"), {"status_id": status_id}))
    shared = status.get("reblog")
    body: dict[str, Any] = shared if isinstance(shared, dict) else status
    author = _author(account, view.instance)
    parent = None if body is not status else identifier(status.get("in_reply_to_id"))
    content = body.get("content")
    content = content if isinstance(content, str) else ""
    return Item(
        external_id=status_id,
        kind=_kind(status, body, parent, author, view),
        created_at=created_at,
        raw=raw(status),
        text=html_to_text(content),
        html=content or None,
        title=_string(body.get("spoiler_text")),
        url=_web(body.get("url")) or _web(body.get("uri")),
        language=_language(body.get("language")),
        parent_external_id=parent,
        thread_external_id=view.root if parent and view.root and view.root != status_id else None,
        author=author,
        edited_at=_date(status.get("edited_at")),
        counters=Counters(
            likes=_count(status.get("favourites_count")),
            shares=_count(status.get("reblogs_count")),
            replies=_count(status.get("replies_count")),
        ),
    )


def context_items(
    ancestors: list[Any], descendants: list[Any], focal: str | None, where: str, view: View = View()
) -> Iterator[Item | ItemError]:
    """The statuses around `focal` (its ancestors, then its replies), all in one thread: the top ancestor's."""
    root = thread_root(ancestors, descendants, focal)
    view = replace(view, root=root)
    for index, status in enumerate(ancestors):
        yield status_item(status, f"{where}ancestors[{index}]", view)
    for index, status in enumerate(descendants):
        yield status_item(status, f"{where}descendants[{index}]", view)


def thread_root(ancestors: list[Any], descendants: list[Any], focal: str | None) -> str | None:
    """The top of a context: its first ancestor, else the status it is about (`focal`, or when a saved file
    does not say, the one status its replies answer that is not among them)."""
    if ancestors and isinstance(ancestors[0], dict) and status_id_of(ancestors[0]):
        return status_id_of(ancestors[0])
    if focal is not None:
        return focal
    inside = {status_id_of(s) for s in descendants if isinstance(s, dict)}
    answered = {identifier(s.get("in_reply_to_id")) for s in descendants if isinstance(s, dict)} - inside - {None}
    return answered.pop() if len(answered) == 1 else None


def status_id_of(status: Mapping[str, Any]) -> str | None:
    """A status's id (a string of digits on Mastodon; other servers' ids are strings too)."""
    return identifier(status.get("id"))


def raw(status: Mapping[str, Any]) -> str:
    """The status as stored: compact, keys sorted, without the asker's state or the account's counters."""
    return json.dumps(_trimmed(status), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def newer(a: str, b: str | None) -> bool:
    """Whether id `a` comes after `b`: ids are strings that sort as integers (or, on servers that use
    fixed-length ids, as strings), so by length then text."""
    return b is None or (len(a), a) > (len(b), b)


def _trimmed(status: Mapping[str, Any]) -> dict[str, Any]:
    kept = {key: value for key, value in status.items() if key not in _VIEWER}
    account = kept.get("account")
    if isinstance(account, dict):
        kept["account"] = {key: account[key] for key in _WHO if key in account}
    if isinstance(kept.get("reblog"), dict):
        kept["reblog"] = _trimmed(kept["reblog"])
    return kept


def _author(account: Mapping[str, Any], instance: str | None) -> AuthorRef | None:
    return person(
        name=_string(account.get("display_name")), url=_web(account.get("url")), handle=handle(account, instance)
    )


def _kind(status: Mapping[str, Any], body: Mapping[str, Any], parent: str | None, author: AuthorRef | None,
          view: View) -> str:  # fmt: skip
    if body is not status:
        return "share"
    if parent:
        return "reply"
    if view.mentioned:
        return "mention"
    own = author is not None and author.handle.lower() == view.brand
    return "mention" if view.brand and not own and view.brand in _mentioned(status, view.instance) else "post"


def _mentioned(status: Mapping[str, Any], instance: str | None) -> set[str]:
    mentions = status.get("mentions")
    found = (handle(m, instance) for m in mentions if isinstance(m, dict)) if isinstance(mentions, list) else ()
    return {h.lower() for h in found if h}


def identifier(value: object) -> str | None:
    """An id as Mastodon writes them (a string of digits; other servers' are letters and digits), else None."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text if text and len(text) <= 64 and text.isascii() and text.isalnum() else None


def _string(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip() or None


def _web(value: object) -> str | None:
    url = _string(value)
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def _language(value: object) -> str | None:
    code = (_string(value) or "").lower()
    return code if _LANGUAGE.match(code) else None


def _date(value: object) -> datetime | None:
    try:
        return parse_date(value) if isinstance(value, str) and value.strip() else None
    except ValueError:
        return None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
