"""Bluesky (AT Protocol, XRPC over HTTP): mentions, replies and quotes of an account, searches for its terms,
an author's posts and the threads under the account's own recent posts; replies posted back.

A sync runs the configured steps in turn (notifications, one per search, author, threads), one page per
fetch. The newest-first lists are read down to a floor: `backfill_days` ago on the first pass, then the
newest time seen last time minus `recheck_hours` (to refresh counters). docs/connectors/bluesky.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pilote.errors import Invalid
from pilote.sources import bluesky_json
from pilote.sources.base import (
    Account,
    Action,
    Connector,
    Done,
    ImportFormat,
    Item,
    ItemError,
    Page,
    Setting,
    SourceInfo,
)
from pilote.sources.bluesky_posts import (
    MESSAGE_REASONS,
    POST_COLLECTION,
    author_did,
    feed_posts,
    is_repost,
    post_item,
    profile_url,
    read_date,
    reply_refs,
    sort_time,
    thread_posts,
)
from pilote.sources.bluesky_session import Xrpc, connect, link_facets, service_host, xrpc_error
from pilote.sources.http import HttpClient, HttpStatus
from pilote.texts import N_

name = "bluesky"
description = N_("Bluesky: mentions, replies and quotes of an account, searches for its terms, its threads")
settings = (
    Setting("handle", N_("The account's handle, e.g. velolumen.bsky.social (or its DID)")),
    Setting(
        "app_password", N_("An app password (Bluesky: Settings › Privacy and security › App passwords)"), secret=True
    ),
    Setting("service", N_("The server the account lives on (default https://bsky.social)"), required=False),
    Setting("modes", N_("Among notifications, search, author, threads (default: all but author)"), required=False),
    Setting(
        "search", N_("Searches for the search mode, comma-separated, e.g. VéloLumen, velolumen.fr"), required=False
    ),
    Setting("author", N_("The account the author mode reads (default: this account)"), required=False),
    Setting(
        "backfill_days", N_("How far back the first sync reads, in days (default 30; 0: no limit)"), required=False
    ),
    Setting(
        "recheck_hours", N_("Hours before the newest post seen that a sync reads again (default 24)"), required=False
    ),
    Setting(
        "thread_days", N_("Threads under the account's posts of these last days are read (default 7)"), required=False
    ),
)
actions = ("reply",)
FORMAT: ImportFormat = bluesky_json

MODES = ("notifications", "search", "author", "threads")
PAGE = 100  # the most any of these lists gives at once
THREAD_ROOTS = 25  # own posts whose threads a sync reads, at most
THREAD_DEPTH = 10  # reply levels under each
MAX_SEARCHES = 10
MAX_REPLY_BYTES = 3000  # Bluesky's own limit is 300 graphemes, which it checks itself


@dataclass(frozen=True, slots=True)
class Config:
    """The settings, read and checked."""

    service: str
    handle: str
    password: str
    steps: tuple[str, ...]
    author: str
    backfill: timedelta | None
    recheck: timedelta
    threads: timedelta

    @classmethod
    def of(cls, account: Account) -> Config:
        password = account.get("app_password").strip()
        if not password:
            raise Invalid(
                N_(
                    "app_password: create an app password in Bluesky (Settings › Privacy and security › "
                    "App passwords) and enter it"
                )
            )
        backfill = _number(account, "backfill_days", 30)
        return cls(service=_service(account), handle=_handle(account), password=password, steps=_steps(account),
                   author=account.get("author").strip().removeprefix("@"),
                   backfill=timedelta(days=backfill) if backfill else None,
                   recheck=timedelta(hours=_number(account, "recheck_hours", 24)),
                   threads=timedelta(days=_number(account, "thread_days", 7)))  # fmt: skip


@dataclass(slots=True)
class Stage:
    """What one step's page brought, its state for the next call, and whether the step is over."""

    items: list[Item | ItemError]
    deleted: list[str]
    state: dict[str, Any]
    done: bool


@dataclass(frozen=True, slots=True)
class Stream:
    """A newest-first list: how to ask for a page, where an entry sits in time, how entries become items."""

    ask: Callable[[Xrpc, Config, str, str | None, datetime | None], tuple[list[Any], str | None]]
    position: Callable[[Any], datetime | None]
    convert: Callable[[Xrpc, str, list[Any]], tuple[list[Item | ItemError], list[str]]]


def describe(account: Account) -> SourceInfo:
    """The account on its server: "bsky.social/@velolumen.bsky.social"."""
    handle = _handle(account)
    return SourceInfo(kind=name, key=f"{service_host(_service(account))}/@{handle.lower()}",
                      name=f"@{handle} on Bluesky", channel="bluesky", url=profile_url(handle))  # fmt: skip


def fetch(client: HttpClient, account: Account, cursor: Mapping[str, Any]) -> Page:
    """One page of the step the cursor is at (the first step for a new sync)."""
    config = Config.of(account)
    step = str(cursor.get("step")) if cursor.get("step") in config.steps else config.steps[0]
    saved: dict[str, Any] = dict(cursor["steps"]) if isinstance(cursor.get("steps"), dict) else {}
    state = saved.get(step)
    api = connect(client, config.service, config.handle, config.password)
    stage = _run(api, config, step, dict(state) if isinstance(state, dict) else {})
    states = {s: saved[s] for s in config.steps if s in saved and s != step}
    if stage.state:
        states[step] = stage.state
    following = config.steps[config.steps.index(step) + 1 :]
    after: dict[str, Any] = {"steps": states}
    if not stage.done or following:
        after["step"] = following[0] if stage.done else step
    deleted = list(dict.fromkeys(stage.deleted))
    return Page(items=_unique(stage.items), cursor=after, more="step" in after, deleted=deleted)


def act(client: HttpClient, account: Account, action: Action) -> Done:
    """Post a reply under the message (its raw gives the uri and cid the reply must name)."""
    if action.kind not in actions:
        raise Invalid(N_("Bluesky lets Pilote only reply; %(kind)r cannot be done there"), kind=action.kind)
    text = (action.text or "").strip()
    if not text:
        raise Invalid(N_("a reply needs text"))
    if len(text.encode()) > MAX_REPLY_BYTES:
        raise Invalid(
            N_("a Bluesky post holds at most 300 characters; this reply is %(count)s long"), count=f"{len(text):,}"
        )
    refs = reply_refs(action.raw)
    if refs is None:
        raise Invalid(
            N_("%(external_id)s: not a Bluesky post Pilote can answer (its uri or cid is missing)"),
            external_id=action.external_id,
        )
    parent, root = refs
    config = Config.of(account)
    api = connect(client, config.service, config.handle, config.password)
    now = _now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    record: dict[str, Any] = {"$type": POST_COLLECTION, "text": text, "createdAt": now,
                              "reply": {"root": root, "parent": parent}}  # fmt: skip
    if facets := link_facets(text):
        record["facets"] = facets
    made = api.call("POST", "com.atproto.repo.createRecord",
                    body={"repo": api.session.did, "collection": POST_COLLECTION, "record": record})  # fmt: skip
    view = {"uri": made.get("uri"), "cid": made.get("cid"), "record": record, "indexedAt": now,
            "author": {"did": api.session.did, "handle": api.session.handle}}  # fmt: skip
    item = post_item(view, where="createRecord")
    if not isinstance(item, Item):
        raise api.wrong_shape("com.atproto.repo.createRecord", "the new post's uri")
    return Done(item=item, detail=f"replied on Bluesky as @{api.session.handle}: {item.url}")


def _run(api: Xrpc, config: Config, step: str, state: dict[str, Any]) -> Stage:
    mode, _, term = step.partition(":")
    if mode == "threads":
        return _threads(api, config, state)
    return _read(STREAMS[mode], api, config, term, state)


def _read(stream: Stream, api: Xrpc, config: Config, term: str, state: dict[str, Any]) -> Stage:
    """One page of a newest-first list, down to the floor; `seen` is the newest time a finished pass saw."""
    seen = read_date(state.get("seen"))
    going = "next" in state
    floor = read_date(state.get("floor")) if going else _floor(config, seen)
    entries, following = stream.ask(api, config, term, state.get("next") if going else None, floor)
    times = [stream.position(entry) for entry in entries]
    kept = [e for e, when in zip(entries, times, strict=True) if floor is None or when is None or when >= floor]
    newest = max([t for t in (*times, read_date(state.get("newest")), seen) if t is not None], default=None)
    items, deleted = stream.convert(api, term, kept)
    reached = floor is not None and any(when is not None and when < floor for when in times)
    if reached or not following or not entries:
        return Stage(items, deleted, {"seen": _iso(newest)} if newest else {}, done=True)
    state = {"seen": _iso(seen), "next": following, "newest": _iso(newest), "floor": _iso(floor)}
    return Stage(items, deleted, {k: v for k, v in state.items() if v is not None}, done=False)


def _threads(api: Xrpc, config: Config, state: dict[str, Any]) -> Stage:
    """First the account's recent own posts (one call), then one thread under each that has replies."""
    queue = state.get("queue")
    if not isinstance(queue, list):
        answer = api.call("GET", "app.bsky.feed.getAuthorFeed",
                          {"actor": api.session.did, "limit": THREAD_ROOTS, "filter": "posts_no_replies"})  # fmt: skip
        since = _now() - config.threads
        feed = api.listed(answer, "feed", "app.bsky.feed.getAuthorFeed")
        posts = [e["post"] for e in feed if isinstance(e, dict) and isinstance(e.get("post"), dict)]
        roots = [v for v in posts if author_did(v) == api.session.did and (sort_time(v) or since) >= since]  # own
        queue = [v["uri"] for v in roots if isinstance(v.get("replyCount"), int) and v["replyCount"] > 0]
        items = [post_item(v, where="own posts") for v in roots]
        return Stage(items, [], {"queue": queue} if queue else {}, done=not queue)
    uris = [u for u in queue if isinstance(u, str)]
    if not uris:
        return Stage([], [], {}, done=True)
    items, deleted = _thread(api, uris[0])
    return Stage(items, deleted, {"queue": uris[1:]} if uris[1:] else {}, done=not uris[1:])


def _thread(api: Xrpc, uri: str) -> tuple[list[Item | ItemError], list[str]]:
    nsid = "app.bsky.feed.getPostThread"
    try:
        answer = api.call("GET", nsid, {"uri": uri, "depth": THREAD_DEPTH, "parentHeight": 0})
    except HttpStatus as error:
        if xrpc_error(error) == "NotFound":  # the post itself was deleted
            return [], [uri]
        raise
    if not isinstance(answer.get("thread"), dict):
        raise api.wrong_shape(nsid, "a thread")
    # The post itself was written from the listing that queued it: another view of it here would only churn.
    found = ((view, gone) for view, gone in thread_posts(answer["thread"]) if not _is(view, uri))
    return _posts(api, f"thread {uri}", found)


def _posts(api: Xrpc, where: str, found: Any, *, mentions: bool = False) -> tuple[list[Item | ItemError], list[str]]:
    """Items from (view, None) pairs and deleted uris from (None, uri) ones; with `mentions`, a post by
    someone else that answers nothing is a mention."""
    items: list[Item | ItemError] = []
    deleted: list[str] = []
    for view, gone in found:
        if gone is not None:
            deleted.append(gone)
        else:
            items.append(post_item(view, where=where, mention=mentions and author_did(view) != api.session.did))
    return items, deleted


# The three newest-first lists.


def _ask_notifications(api: Xrpc, config: Config, term: str, cursor: str | None, floor: datetime | None) -> Any:
    nsid = "app.bsky.notification.listNotifications"
    answer = api.call("GET", nsid, {"limit": PAGE, "cursor": cursor, "reasons": sorted(MESSAGE_REASONS)})
    return api.listed(answer, "notifications", nsid), _cursor(answer)


def _convert_notifications(api: Xrpc, term: str, notes: list[Any]) -> tuple[list[Item | ItemError], list[str]]:
    """Message-like notifications, as the posts themselves (getPosts: counters, and the same payload as the
    other steps give); a post getPosts no longer gives is read from its notification."""
    notes = [n for n in notes if not isinstance(n, dict) or n.get("reason") in MESSAGE_REASONS]
    views = api.posts([n["uri"] for n in notes if isinstance(n, dict) and isinstance(n.get("uri"), str)])
    found = [(views.get(str(n.get("uri"))) or n if isinstance(n, dict) else n, None) for n in notes]
    return _posts(api, "notification", found, mentions=True)


def _ask_search(api: Xrpc, config: Config, term: str, cursor: str | None, floor: datetime | None) -> Any:
    nsid = "app.bsky.feed.searchPosts"
    answer = api.call("GET", nsid, {"q": term, "sort": "latest", "limit": PAGE, "cursor": cursor,
                                    "since": _iso(floor)})  # fmt: skip
    return api.listed(answer, "posts", nsid), _cursor(answer)


def _convert_search(api: Xrpc, term: str, views: list[Any]) -> tuple[list[Item | ItemError], list[str]]:
    return _posts(api, f"search {term!r}", ((v, None) for v in views), mentions=True)


def _ask_author(api: Xrpc, config: Config, term: str, cursor: str | None, floor: datetime | None) -> Any:
    nsid = "app.bsky.feed.getAuthorFeed"
    answer = api.call("GET", nsid, {"actor": config.author or api.session.did, "limit": PAGE, "cursor": cursor,
                                    "filter": "posts_with_replies"})  # fmt: skip
    return api.listed(answer, "feed", nsid), _cursor(answer)


def _author_position(entry: Any) -> datetime | None:
    """A repost sits in the feed at the time of the repost."""
    if is_repost(entry):
        return read_date(entry["reason"].get("indexedAt"))
    return sort_time(entry.get("post")) if isinstance(entry, dict) else None


def _convert_author(api: Xrpc, term: str, entries: list[Any]) -> tuple[list[Item | ItemError], list[str]]:
    """The author's posts and replies with the posts they answer; reposts of others' posts are not messages."""
    found = [pair for entry in entries if not is_repost(entry) for pair in feed_posts(entry)]
    return _posts(api, "author feed", found)


def _notification_position(note: Any) -> datetime | None:
    return read_date(note.get("indexedAt")) if isinstance(note, dict) else None


STREAMS = {
    "notifications": Stream(_ask_notifications, _notification_position, _convert_notifications),
    "search": Stream(_ask_search, sort_time, _convert_search),
    "author": Stream(_ask_author, _author_position, _convert_author),
}


# Settings and small helpers.


def _steps(account: Account) -> tuple[str, ...]:
    terms = [t.strip() for t in account.get("search").split(",") if t.strip()]
    listed = [m.strip().lower() for m in account.get("modes").split(",") if m.strip()]
    modes = listed or ["notifications", *(["search"] if terms else []), "threads"]
    if unknown := [m for m in modes if m not in MODES]:
        raise Invalid(
            N_("modes: %(value)s unknown; use some of %(value2)s"), value=", ".join(unknown), value2=", ".join(MODES)
        )
    if "search" in modes and not terms:
        raise Invalid(N_("search: the search mode needs search terms, e.g. VéloLumen, velolumen.fr"))
    if len(terms) > MAX_SEARCHES:
        raise Invalid(
            N_("search: at most %(most)s searches, comma-separated (%(count)s given)"),
            most=MAX_SEARCHES,
            count=len(terms),
        )
    return tuple(s for m in MODES if m in modes for s in ([f"search:{t}" for t in terms] if m == "search" else [m]))


def _handle(account: Account) -> str:
    handle = account.get("handle").strip().removeprefix("@")
    if not handle or any(c.isspace() or c == "/" for c in handle):
        raise Invalid(N_("handle: enter the account's handle, e.g. velolumen.bsky.social"))
    return handle


def _service(account: Account) -> str:
    return (account.get("service").strip() or "https://bsky.social").rstrip("/")


def _number(account: Account, setting: str, default: int) -> int:
    value = account.get(setting).strip()
    if not value:
        return default
    if not value.isdigit() or int(value) > 100_000:
        raise Invalid(
            N_("%(setting)s: expected a whole number such as %(default)s, not %(value)r"),
            setting=setting,
            default=default,
            value=value[:40],
        )
    return int(value)


def _is(view: Any, uri: str) -> bool:
    return isinstance(view, dict) and view.get("uri") == uri


def _unique(items: list[Item | ItemError]) -> list[Item | ItemError]:
    """One item per uri in a page (a feed repeats the posts replies answer; the store writes a page at once)."""
    seen: set[str] = set()
    kept: list[Item | ItemError] = []
    for item in items:
        if isinstance(item, Item):
            if item.external_id in seen:
                continue
            seen.add(item.external_id)
        kept.append(item)
    return kept


def _floor(config: Config, seen: datetime | None) -> datetime | None:
    if seen is not None:
        return seen - config.recheck
    return _now() - config.backfill if config.backfill else None


def _cursor(answer: dict[str, Any]) -> str | None:
    value = answer.get("cursor")
    return value if isinstance(value, str) and value else None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def _now() -> datetime:
    return datetime.now(UTC)


_connector: Connector = sys.modules[__name__]
