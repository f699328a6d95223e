"""`pilote import` of Mastodon API answers saved to a file, read as the connector reads them (mastodon_status).

A file may hold a list of statuses (an account's, a hashtag's or a public timeline), a status's context
(`{"ancestors": [...], "descendants": [...]}`: one thread), one status, or a list of notifications (its
mentions; other notifications are not posts and are passed over). A list of accounts (`favourited_by`,
`reblogged_by`) holds people, not posts: it is refused in plain words rather than imported as nothing.

The source is the one the connector would fill: a file of one account's statuses belongs to
`instance/@acct`, a hashtag's to `instance/tags/tag`, mentions to `instance/mentions`, anything else to the
instance. The instance that answered is the host of a local account (a bare `acct`) in the file, else
"mastodon". docs/connectors/mastodon.md.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import orjson

from pilote.errors import BadInput
from pilote.sources.base import Item, ItemError, ParseOptions, SourceInfo
from pilote.sources.mastodon_status import View, context_items, handle, status_item
from pilote.sources.x_archive import iter_json_array
from pilote.texts import N_

name = "mastodon_json"
description = N_(
    "Mastodon API JSON saved to a file: statuses (an account's, a hashtag's, a timeline), a status's context, "
    "one status, or notifications"
)
KIND = "mastodon"  # the connector's: a saved answer lands in the source the connector fills
CHANNEL = "mastodon"
MAX_OBJECT_BYTES = 64 << 20
SAMPLE = 40
_MARKS = (
    (b'"in_reply_to_id"', b'"reblogs_count"'),  # statuses
    (b'"ancestors"', b'"descendants"'),  # a context
    (b'"acct"', b'"followers_count"'),  # accounts: recognised, to be refused in plain words
)
_ACCOUNTS = N_(
    "this file holds Mastodon accounts (such as who favourited or boosted a status), not posts: "
    "there is nothing to import"
)
_ACCOUNTS_HINT = N_("save statuses, a context, one status or notifications instead")


@dataclass(slots=True)
class _Head:
    """What describe reads: the shape of the file and its first statuses."""

    shape: str  # statuses | notifications | context | status
    statuses: list[dict[str, Any]]
    owner: dict[str, Any] | None = None  # the account whose status a context is about, when it says


def sniff(head: bytes, path: Path) -> bool:
    """A JSON array or object with a Mastodon status's, context's or account's fields (not JSON Lines)."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if text[:1] not in (b"[", b"{") or (text[:1] == b"{" and _json_lines(text)):
        return False
    return any(all(mark in text for mark in marks) for marks in _MARKS)


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """The account, hashtag, mentions or instance the file's statuses come from."""
    head = _read_head(path, options)
    instance = _instance(head.statuses)
    place, on = instance or "mastodon", f" on {instance}" if instance else ""
    owner = head.owner if head.shape == "context" else _single_owner(head.statuses)
    tag = _common_tag(head.statuses) if head.shape == "statuses" else None
    url: str | None = f"https://{instance}" if instance else None
    if head.shape == "notifications":
        key, title = f"{place}/mentions", f"Mentions{on}"
    elif owner is not None and owner.get("acct"):
        key, title, url = f"{place}/@{owner['acct']}", f"@{handle(owner, instance)}", _profile(owner) or url
    elif tag:
        key, title, url = f"{place}/tags/{tag}", f"#{tag}{on}", f"{url}/tags/{tag}" if url else None
    else:
        key, title = place, f"Mastodon{on}"
    return SourceInfo(kind=KIND, key=options.source_key or key, name=title, channel=CHANNEL, url=url)


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Each status of the file; BadInput for a file that is not a Mastodon answer, or that holds accounts."""
    if _opening(path, options) == "[":
        first = True
        with _open_text(path, options) as text:
            for line, element in iter_json_array(text, path):
                if first and _is_account(element):
                    raise BadInput(path, N_("line %(line)s"), _ACCOUNTS, _ACCOUNTS_HINT, line=line)
                first = False
                yield from _element(element, f"line {line}")
        return
    data = _load_object(path, options)
    if _is_context(data):
        ancestors, descendants = _context_lists(path, data)
        yield from context_items(ancestors, descendants, None, "", View())
    else:
        yield status_item(data, "the status")


def _element(element: object, where: str) -> Iterator[Item | ItemError]:
    """A status, or a notification (only mentions are posts); anything else is an ItemError."""
    if isinstance(element, dict) and isinstance(element.get("type"), str) and "content" not in element:
        if element["type"] == "mention":
            yield status_item(element.get("status"), f"{where} (notification)", View(mentioned=True))
        return
    if _is_account(element):
        yield ItemError(where, N_("an account, not a status: skipped"))
        return
    yield status_item(element, where)


def _read_head(path: Path, options: ParseOptions) -> _Head:
    if _opening(path, options) == "[":
        elements: list[Any] = []
        with _open_text(path, options) as text:
            for line, element in iter_json_array(text, path):
                if not elements and _is_account(element):
                    raise BadInput(path, N_("line %(line)s"), _ACCOUNTS, _ACCOUNTS_HINT, line=line)
                elements.append(element)
                if len(elements) >= SAMPLE:
                    break
        notified = [e for e in elements if isinstance(e, dict) and isinstance(e.get("type"), str)]
        if notified and len(notified) == len(elements):
            return _Head("notifications", [e["status"] for e in notified if isinstance(e.get("status"), dict)])
        return _Head("statuses", [e for e in elements if isinstance(e, dict)])
    data = _load_object(path, options)
    if _is_context(data):
        ancestors, descendants = _context_lists(path, data)
        statuses = [s for s in (*ancestors, *descendants) if isinstance(s, dict)]
        return _Head("context", statuses, _focal_author(ancestors, descendants))
    return _Head("status", [data])


def _opening(path: Path, options: ParseOptions) -> str:
    """The first character of the JSON document: `[` or `{`."""
    with _open_text(path, options) as text:
        start = str(text.read(4096)).lstrip("\ufeff \t\r\n")[:1]
    if start not in ("[", "{"):
        problem = N_("the file is empty") if not start else N_("expected a JSON array or object, found %(start)r")
        raise BadInput(path, N_("line 1"), problem, N_("save the API's answer as it came (a .json file)"), start=start)
    return start


def _open_text(path: Path, options: ParseOptions) -> TextIO:
    try:
        return path.open(encoding=options.encoding, newline="")
    except OSError as error:
        raise BadInput(
            path, None, N_("cannot be read: %(strerror)s"), N_("check the path"), strerror=error.strerror
        ) from None
    except LookupError:
        raise BadInput(
            path, None, N_("unknown encoding %(encoding)r"), N_("pass a valid --encoding"), encoding=options.encoding
        ) from None


def _load_object(path: Path, options: ParseOptions) -> Any:
    """The whole JSON object (a context or one status: held in memory, so capped)."""
    size = path.stat().st_size
    if size > MAX_OBJECT_BYTES:
        raise BadInput(
            path,
            None,
            N_("a single JSON object of %(value)s MB is more than Pilote reads at once"),
            N_("split it; at most %(value2)s MB"),
            value=size >> 20,
            value2=MAX_OBJECT_BYTES >> 20,
        )
    try:
        data = orjson.loads(path.read_bytes().decode(options.encoding))
    except UnicodeDecodeError as error:
        raise BadInput(path, None, N_("not valid text: %(error)s"), N_("check the encoding"), error=error) from None
    except orjson.JSONDecodeError as error:
        where = N_("line %(lineno)s") if error.lineno else None
        hint = N_("the file is damaged or truncated; with one JSON object per line, pass --format jsonl")
        web = N_("the file is damaged or truncated; with one JSON object per line, choose JSON Lines in the list")
        raise BadInput(
            path, where, N_("malformed JSON: %(msg)s"), hint, web=web, msg=error.msg, lineno=error.lineno
        ) from None
    if not isinstance(data, dict):
        raise BadInput(path, N_("line 1"), N_("expected a JSON object"), N_("save the API's answer as it came"))
    if _is_account(data):
        raise BadInput(
            path, None, N_("this file holds a Mastodon account, not posts: there is nothing to import"), _ACCOUNTS_HINT
        )
    if "error" in data and "id" not in data:
        raise BadInput(
            path,
            None,
            N_("the file holds the API's error, not posts: %(value)r"),
            N_("fetch it again (with a token if the instance asks for one)"),
            value=str(data["error"])[:200],
        )
    return data


def _context_lists(path: Path, data: Mapping[str, Any]) -> tuple[list[Any], list[Any]]:
    ancestors, descendants = data.get("ancestors", []), data.get("descendants", [])
    if not isinstance(ancestors, list) or not isinstance(descendants, list):
        raise BadInput(
            path,
            None,
            N_("a context's ancestors and descendants must be lists of statuses"),
            N_("save the API's answer as it came"),
        )
    return ancestors, descendants


def _is_context(data: Mapping[str, Any]) -> bool:
    return "ancestors" in data or "descendants" in data


def _is_account(element: object) -> bool:
    """An account object: it has an acct and counts followers, but is not a status."""
    return (isinstance(element, dict) and "acct" in element and "followers_count" in element
            and "content" not in element and "status" not in element)  # fmt: skip


def _json_lines(text: bytes) -> bool:
    """Whether the text starts with a whole JSON object on its first line and goes on: JSON Lines."""
    first, _, rest = text.partition(b"\n")
    if not rest.strip():
        return False
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False


def _instance(statuses: list[dict[str, Any]]) -> str | None:
    """The instance that answered: the profile host of a local account (its acct has no domain)."""
    for status in statuses:
        for account in (status.get("account"), (status.get("reblog") or {}).get("account")):
            if isinstance(account, dict) and isinstance(account.get("acct"), str) and "@" not in account["acct"]:
                host = urlsplit(str(account.get("url") or "")).hostname
                if host:
                    return host
    return None


def _single_owner(statuses: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The account that wrote (or boosted) every status, if there is one."""
    owners = {str(s["account"].get("id")): s["account"] for s in statuses if isinstance(s.get("account"), dict)}
    return next(iter(owners.values())) if len(owners) == 1 else None


def _common_tag(statuses: list[dict[str, Any]]) -> str | None:
    """The hashtag every status carries (a hashtag timeline's), if exactly one."""
    common: set[str] | None = None
    for status in statuses:
        tags = status.get("tags")
        tags = tags if isinstance(tags, list) else []
        names = {str(t.get("name")).lower() for t in tags if isinstance(t, dict) and t.get("name")}
        common = names if common is None else common & names
    return next(iter(common)) if common and len(common) == 1 else None


def _focal_author(ancestors: list[Any], descendants: list[Any]) -> dict[str, Any] | None:
    """The account a context is about: the one its direct replies answer, found among the accounts and
    mentions in the file."""
    inside = {str(s.get("id")) for s in (*ancestors, *descendants) if isinstance(s, dict)}
    direct = [s for s in descendants if isinstance(s, dict) and str(s.get("in_reply_to_id")) not in inside]
    wanted = {str(s.get("in_reply_to_account_id")) for s in direct if s.get("in_reply_to_account_id")}
    if len(wanted) != 1:
        return None
    for status in (*ancestors, *descendants):
        if not isinstance(status, dict):
            continue
        mentions = status.get("mentions")
        mentions = mentions if isinstance(mentions, list) else []
        for account in (status.get("account"), *mentions):
            if isinstance(account, dict) and str(account.get("id")) in wanted:
                return account
    return None


def _profile(account: Mapping[str, Any]) -> str | None:
    url = str(account.get("url") or "")
    return url if urlsplit(url).scheme in ("http", "https") else None
