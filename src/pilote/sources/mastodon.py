"""Mastodon (any instance): an account's statuses and the replies to them, an account's mentions, or a hashtag.

A sync is a pass down a timeline from its newest entry (`max_id`), as far as the pass needs: the first one
`backfill_days` back, later ones down to the previous pass's newest entry and at least `recent_days` back, so
that recent statuses are read again for their edits and counters. Then, for an account, the context of each
of its statuses whose reply count changed is read (its replies, and what it answers), and the context of a
recent status that the pass no longer saw tells whether it was deleted (404). Each sync starts with a look-up of
a followed account, whose followers are kept as an observation of its audience. docs/connectors/mastodon.md.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from pilote.errors import Invalid
from pilote.sources import mastodon_json
from pilote.sources.base import (
    Account,
    Action,
    Audience,
    Connector,
    Done,
    ImportFormat,
    Item,
    ItemError,
    Page,
    Setting,
    SourceInfo,
    count,
)
from pilote.sources.dates import parse_date
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus, check_url
from pilote.sources.mastodon_status import View, context_items, handle, identifier, newer, status_item
from pilote.texts import N_

name = "mastodon"
description = N_("Mastodon (any instance): an account's posts and the replies to them, its mentions, or a hashtag")
settings: tuple[Setting, ...] = (
    Setting("instance", N_("The instance's address, e.g. https://mastodon.social")),
    Setting(
        "follow",
        N_(
            "What to read: @account (its posts, boosts and the replies to them; @account@other.instance for a "
            "remote one), #hashtag, or mentions (the mentions of the token's account)"
        ),
    ),
    Setting(
        "token",
        N_(
            "An access token of an application made in the instance's Preferences > Development, with the read "
            "scope (and write:statuses to reply); optional for a public account or a hashtag, needed for mentions"
        ),
        secret=True,
        required=False,
    ),
    Setting("backfill_days", N_("How many days back the first sync reads (default 30)"), required=False),
    Setting(
        "recent_days",
        N_("Statuses of the last N days are read again at each sync, for edits, counters and new replies (default 3)"),
        required=False,
    ),
)
actions: tuple[str, ...] = ("reply",)
FORMAT: ImportFormat = mastodon_json

PACE = 1.0  # Mastodon allows 300 requests per 5 minutes per account (or address): one a second stays under it
PAGE = 40  # the most statuses or notifications Mastodon gives in one page
BACKFILL_DAYS = 30
RECENT_DAYS = 3
MAX_WATCHED = 500
_TAG = re.compile(r"^\w{1,100}$")
_ACCT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(@[A-Za-z0-9.-]+(:\d+)?)?$")
_TOKEN = re.compile(r"^[\x21-\x7e]{1,500}$")


def clock() -> datetime:
    """Now, in UTC (tests set their own)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Target:
    """What a source reads: the instance (its base address and host) and an account, a hashtag or mentions."""

    base: str
    host: str
    mode: str  # account | tag | mentions
    name: str = ""  # the account as the instance names it (bare when local), or the hashtag

    @property
    def brand(self) -> str | None:
        """The followed account's qualified handle, lower case."""
        if self.mode != "account":
            return None
        return (self.name if "@" in self.name else f"{self.name}@{urlsplit(self.base).hostname}").lower()


def target(account: Account) -> Target:
    """The instance and what to follow, from the settings; Invalid says what to write instead."""
    instance = account.get("instance").strip().rstrip("/")
    if not instance:
        raise Invalid(N_("instance: give the instance's address, e.g. https://mastodon.social"))
    parts = urlsplit(check_url(instance if "://" in instance else f"https://{instance}", what="instance"))
    host = parts.netloc.lower()
    base = f"{parts.scheme}://{host}"
    follow = account.get("follow").strip()
    if follow.lower() == "mentions":
        return Target(base, host, "mentions")
    if follow.startswith("#") and _TAG.match(follow[1:]):
        return Target(base, host, "tag", follow[1:].lower())
    acct = follow.removeprefix("@")
    if _ACCT.match(acct):
        user, _, domain = acct.partition("@")
        return Target(base, host, "account", user if domain.lower() in (host, parts.hostname) else acct)
    raise Invalid(
        N_("follow %(follow)r: give @account (or @account@other.instance), #hashtag, or mentions"), follow=follow
    )


def describe(account: Account) -> SourceInfo:
    """The account, hashtag or mentions these settings name, keyed `host/@acct`, `host/tags/tag`, `host/mentions`."""
    t = target(account)
    if t.mode == "account":
        return SourceInfo(kind=name, key=f"{t.host}/@{t.name}", name=f"@{t.brand}", channel=mastodon_json.CHANNEL,
                          url=f"{t.base}/@{t.name}")  # fmt: skip
    if t.mode == "tag":
        return SourceInfo(kind=name, key=f"{t.host}/tags/{t.name}", name=f"#{t.name} on {t.host}",
                          channel=mastodon_json.CHANNEL, url=f"{t.base}/tags/{t.name}")  # fmt: skip
    return SourceInfo(kind=name, key=f"{t.host}/mentions", name=f"Mentions on {t.host}", channel=mastodon_json.CHANNEL,
                      url=t.base)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Plan:
    """A source's settings, checked before the first request of a fetch."""

    t: Target
    headers: dict[str, str]
    backfill_days: int
    recent_days: int


def fetch(client: HttpClient, account: Account, cursor: Mapping[str, Any]) -> Page:
    """One page of the timeline pass, or, once it is over, one context of the account's statuses."""
    t = target(account)
    headers = _auth(account, needed="reading mentions" if t.mode == "mentions" else None)
    plan = _Plan(t, headers, _days(account, "backfill_days", BACKFILL_DAYS), _days(account, "recent_days", RECENT_DAYS))
    _paced(client)
    state: dict[str, Any] = copy.deepcopy(dict(cursor))
    seen: list[Audience] = []
    if t.mode == "account" and (not state.get("account_id") or not (state.get("pass") or state.get("contexts"))):
        found = _lookup(client, t, plan.headers)  # at each sync's start: the account's followers, observed
        state["account_id"] = state.get("account_id") or found.account_id
        state["brand"] = state.get("brand") or found.brand
        seen.append(found.audience)
    if not state.get("pass") and state.get("contexts"):
        page = _context_page(client, plan, state)
    else:
        page = _timeline_page(client, plan, state)
    page.audience += seen
    return page


def act(client: HttpClient, account: Account, action: Action) -> Done:
    """Reply to a status (addressed to its author, as Mastodon's own client does); nothing else is allowed."""
    if action.kind not in actions:
        raise Invalid(
            N_("Mastodon lets Pilote reply, not %(kind)r: others' posts are moderated on their instance"),
            kind=action.kind,
        )
    text = (action.text or "").strip()
    if not text:
        raise Invalid(N_("a reply needs some text"))
    t = target(account)
    headers = _auth(account, needed="replying")
    parent, author, visibility = _parent(action)
    if author and author.lower() != (t.name or "").lower() and f"@{author}".lower() not in text.lower():
        text = f"@{author} {text}"
    body = {"status": text, "in_reply_to_id": parent, "visibility": visibility}
    once = hashlib.sha256(f"{parent}\n{text}".encode()).hexdigest()  # a retried request does not post twice
    _paced(client)
    sent = {**headers, "Idempotency-Key": once}
    answer = client.request("POST", f"{t.base}/api/v1/statuses", json=body, headers=sent)
    item = status_item(answer.json(), "the posted reply", _view(t))
    if isinstance(item, ItemError):
        return Done(detail=f"replied on {t.host}; the reply will show after the next sync ({item.problem})")
    return Done(item=item, detail=f"replied on {t.host}: {item.url or item.external_id}")


def _timeline_page(client: HttpClient, plan: _Plan, state: dict[str, Any]) -> Page:
    """The next page of the pass, below the last one; the pass ends on a page that reaches its floor."""
    now, t = clock(), plan.t
    run = state.get("pass") or _new_pass(state, now, plan)
    url, params = _timeline(t, state)
    entries = _get_list(client, url, {**params, "limit": PAGE, "max_id": run["max_id"]}, plan.headers, t)
    floor, newest, view = parse_date(run["floor"]), state.get("newest"), _view(t, state)
    items: list[Item | ItemError] = []
    lowest: tuple[str, bool] | None = None  # the oldest entry's id, and whether the pass reads that far
    for index, entry in enumerate(entries):
        where = f"{urlsplit(url).path} below {run['max_id'] or 'the top'}, entry {index}"
        paging, when, status = _entry(t, entry)
        if paging is None or when is None:
            items.append(ItemError(where, N_("an entry without an id or a date: skipped")))
            continue
        if newer(paging, run["top"]):
            run["top"] = paging
        fresh = when > floor or (newest is not None and newer(paging, newest))
        if lowest is None or newer(lowest[0], paging):
            lowest = (paging, fresh)
        if not fresh or status is None:
            continue
        item = status_item(status, where, view)
        items.append(item)
        if t.mode == "account" and isinstance(item, Item):
            _note_own(state, run, status, item)
    if lowest is not None and lowest[1] and (run["max_id"] is None or newer(run["max_id"], lowest[0])):
        run["max_id"] = lowest[0]
        return Page(items, state, more=True)
    _end_pass(state, run, now, plan.recent_days)
    return Page(items, state, more=bool(state.get("contexts")))


def _new_pass(state: dict[str, Any], now: datetime, plan: _Plan) -> dict[str, Any]:
    """A pass from the top: back `backfill_days` the first time, else `recent_days` and down to the newest seen."""
    days = plan.backfill_days if state.get("newest") is None else plan.recent_days
    _prune(state, now, plan.recent_days)
    run = {"top": None, "max_id": None, "floor": (now - timedelta(days=days)).isoformat(),
           "unseen": sorted(state.get("watch", {}))}  # fmt: skip
    state["pass"] = run
    return run


def _end_pass(state: dict[str, Any], run: dict[str, Any], now: datetime, recent_days: int) -> None:
    """The pass reached its floor: its top is the new high-water mark, and the recent statuses of the account
    it did not see any more are checked (deleted ones answer 404)."""
    if run["top"] is not None and newer(run["top"], state.get("newest")):
        state["newest"] = run["top"]
    watch = state.get("watch", {})
    queued = {entry[0] for entry in state.get("contexts", [])}
    for status_id in run["unseen"]:
        if status_id in watch and status_id not in queued:
            state.setdefault("contexts", []).append([status_id, -1, watch[status_id][1]])
    _prune(state, now, recent_days)
    del state["pass"]


def _note_own(state: dict[str, Any], run: dict[str, Any], status: Mapping[str, Any], item: Item) -> None:
    """An account's own status: watched while recent, and its context queued when its reply count changed."""
    account = status.get("account")
    if item.kind == "share" or not isinstance(account, dict) or str(account.get("id")) != state["account_id"]:
        return
    status_id = item.external_id
    if status_id in run["unseen"]:
        run["unseen"].remove(status_id)
    replies = item.counters.replies if item.counters and item.counters.replies else 0
    watch, when = state.setdefault("watch", {}), item.created_at.isoformat()
    contexts = state.setdefault("contexts", [])
    if replies == 0:
        watch[status_id] = [0, when]
    elif status_id not in watch or watch[status_id][0] != replies:
        contexts[:] = [entry for entry in contexts if entry[0] != status_id]
        contexts.append([status_id, replies, when])


def _context_page(client: HttpClient, plan: _Plan, state: dict[str, Any]) -> Page:
    """The context of the next status in the queue: what it answers and its replies, in one thread."""
    t = plan.t
    status_id, replies, when = state["contexts"].pop(0)
    watch = state.setdefault("watch", {})
    url = f"{t.base}/api/v1/statuses/{quote(status_id, safe='')}/context"
    try:
        context = client.get_json(url, headers=plan.headers)
    except HttpStatus as error:
        if error.status not in (404, 410):
            raise
        watch.pop(status_id, None)
        return Page([], state, more=bool(state["contexts"]), deleted=[status_id])
    ancestors = context.get("ancestors") if isinstance(context, dict) else None
    descendants = context.get("descendants") if isinstance(context, dict) else None
    if not isinstance(ancestors, list) or not isinstance(descendants, list):
        raise FetchFailed(
            N_(
                "%(host)s answered the context of status %(status_id)s with JSON that is not a "
                "context (ancestors and descendants); Pilote tries again at the next sync"
            ),
            host=t.host,
            status_id=status_id,
        )
    items = list(context_items(ancestors, descendants, status_id, f"context of {status_id}: ", _view(t, state)))
    if replies >= 0:
        watch[status_id] = [replies, when]
    else:  # still there, but no longer in the timeline (its visibility changed): no longer watched
        watch.pop(status_id, None)
    _prune(state, clock(), plan.recent_days)
    return Page(items, state, more=bool(state["contexts"]))


def _prune(state: dict[str, Any], now: datetime, recent_days: int) -> None:
    """Watch only the statuses of the last `recent_days`, the newest MAX_WATCHED at most."""
    floor = now - timedelta(days=recent_days)
    watch = state.get("watch", {})
    kept = sorted((i for i in watch if parse_date(watch[i][1]) >= floor), key=lambda i: (len(i), i))[-MAX_WATCHED:]
    state["watch"] = {status_id: watch[status_id] for status_id in kept}


def _timeline(t: Target, state: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    if t.mode == "account":
        return f"{t.base}/api/v1/accounts/{quote(state['account_id'], safe='')}/statuses", {}
    if t.mode == "tag":
        return f"{t.base}/api/v1/timelines/tag/{quote(t.name, safe='')}", {}
    return f"{t.base}/api/v1/notifications", {"types[]": ["mention"]}


def _entry(t: Target, entry: object) -> tuple[str | None, datetime | None, Any]:
    """An entry's paging id, its date and the status it brings (None: an entry that is not a post)."""
    if not isinstance(entry, dict):
        return None, None, None
    try:
        when = parse_date(str(entry.get("created_at") or ""))
    except ValueError:
        return identifier(entry.get("id")), None, None
    if t.mode != "mentions":
        return identifier(entry.get("id")), when, entry
    status = entry.get("status") if entry.get("type") == "mention" else None
    return identifier(entry.get("id")), when, status


def _get_list(client: HttpClient, url: str, params: dict[str, Any], headers: dict[str, str], t: Target) -> list[Any]:
    entries = client.get_json(url, params=params, headers=headers)
    if not isinstance(entries, list):
        raise FetchFailed(
            N_(
                "%(host)s answered %(file)s with JSON that is not a list of statuses; Pilote tries "
                "again at the next sync"
            ),
            host=t.host,
            file=urlsplit(url).path,
        )
    return entries


@dataclass(frozen=True, slots=True)
class _Found:
    """The followed account as the instance's look-up answered: its id, handle and audience at that moment."""

    account_id: str
    brand: str | None
    audience: Audience


def _lookup(client: HttpClient, t: Target, headers: dict[str, str]) -> _Found:
    """The followed account's id on the instance, its handle (qualified by its profile's host, as the handles of
    the statuses' authors are) and its followers, following and statuses counts."""
    try:
        found = client.get_json(f"{t.base}/api/v1/accounts/lookup", params={"acct": t.name}, headers=headers)
    except HttpStatus as error:
        if error.status != 404:
            raise
        raise FetchFailed(
            N_(
                "%(host)s knows no account @%(name)s: check the follow setting (@account, or "
                "@account@other.instance for one on another instance)"
            ),
            host=t.host,
            name=t.name,
        ) from None
    account_id = identifier(found.get("id")) if isinstance(found, dict) else None
    if account_id is None:
        raise FetchFailed(
            N_("%(host)s answered the look-up of @%(name)s with something that is not an account"),
            host=t.host,
            name=t.name,
        )
    found_handle = handle(found)
    brand = found_handle.lower() if found_handle else t.brand
    seen = Audience(brand or t.name, clock(), count(found.get("followers_count")),
                    count(found.get("following_count")), count(found.get("statuses_count")))  # fmt: skip
    return _Found(account_id, brand, seen)


def _auth(account: Account, *, needed: str | None) -> dict[str, str]:
    token = account.get("token").strip()
    if not token:
        if needed:
            raise AuthFailed(
                N_(
                    "%(needed)s on Mastodon needs an access token: add one to this source (read scope, "
                    "and write:statuses to reply)"
                ),
                needed=needed,
            )
        return {}
    if not _TOKEN.match(token):
        raise AuthFailed(N_("the access token has spaces or characters a token cannot have: copy it again"))
    return {"Authorization": f"Bearer {token}"}


def _paced(client: HttpClient) -> None:
    """At least PACE seconds between two requests to the instance."""
    client.pace = max(client.pace, PACE)


def _days(account: Account, setting: str, default: int) -> int:
    value = account.get(setting).strip()
    if not value:
        return default
    if not value.isdigit() or int(value) > 36500:
        raise Invalid(
            N_("%(setting)s %(value)r: give a whole number of days, e.g. %(default)s"),
            setting=setting,
            value=value,
            default=default,
        )
    return int(value)


def _view(t: Target, state: Mapping[str, Any] | None = None) -> View:
    brand = (state or {}).get("brand") or t.brand
    return View(instance=urlsplit(t.base).hostname, brand=brand, mentioned=t.mode == "mentions")


def _parent(action: Action) -> tuple[str, str | None, str]:
    """The status to answer (the original of a boost), its author's acct and the visibility to reply with."""
    try:
        status = json.loads(action.raw)
    except ValueError:
        status = None
    if isinstance(status, dict) and isinstance(status.get("reblog"), dict):
        status = status["reblog"]
    if not isinstance(status, dict):
        return action.external_id, None, "public"
    account = status.get("account")
    author = account.get("acct") if isinstance(account, dict) and isinstance(account.get("acct"), str) else None
    visibility = status.get("visibility") if status.get("visibility") in ("unlisted", "private", "direct") else "public"
    return identifier(status.get("id")) or action.external_id, author, str(visibility)


if TYPE_CHECKING:  # the module itself is the connector: mypy checks it against the protocol
    from pilote.sources import mastodon as _this

    _: Connector = _this
