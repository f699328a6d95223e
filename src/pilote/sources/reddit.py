"""Reddit: a subreddit's new posts and comments, or one thread's comment forest, through the OAuth API.

A subreddit is read as two listings, `/r/{sub}/new` (posts) then `/r/{sub}/comments`, newest first, 100 a
page. The first sync goes back `backfill_days` (Reddit lists about 1,000 items at most, whatever the age);
later ones read until the high-water mark (the newest fullname a finished pass saw) and on through the
last `refresh_hours`, so that edits, scores and deletions of recent items are seen. A thread is read from
`/comments/{id}` and its "more" stubs expanded through `/api/morechildren` (and "continue this thread"
links through `/comments/{id}/_/{comment}`), at most `MAX_EXPANSIONS` calls a sync; later syncs expand
only the stubs newer than the mark (Reddit ids grow with time). A deleted or removed text seen before is
reported in `Page.deleted` rather than fetched again as "[deleted]", which would replace the stored text;
one never seen before is kept as a placeholder so that its replies find their parent.
docs/connectors/reddit.md.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pilote.errors import Invalid
from pilote.sources import reddit_json
from pilote.sources import reddit_things as things
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
from pilote.sources.http import FetchFailed, HttpClient, check_url
from pilote.sources.reddit_api import API_URL, TOKEN_URL, Api, Credentials, answer_things
from pilote.texts import N_

name = "reddit"
description = N_("Reddit: a subreddit's new posts and comments, or one thread's comment forest; reply and moderate")
actions: tuple[str, ...] = ("reply", "approve", "spam", "trash")
settings: tuple[Setting, ...] = (
    Setting(
        "subreddit", N_("The subreddit to follow, e.g. velolumen (or leave it empty and give a thread)"), False, False
    ),
    Setting(
        "thread", N_("Or one thread: its address or id, e.g. https://www.reddit.com/comments/1b2c3d/"), False, False
    ),
    Setting("client_id", N_("The client id of your Reddit app (reddit.com/prefs/apps, under the app's name)")),
    Setting("client_secret", N_("The app's secret (a script or web app; empty for an installed app)"), True, False),
    Setting("refresh_token", N_("To reply and moderate: a refresh token of the account that acts"), True, False),
    Setting(
        "backfill_days", N_("Days the first sync reads back (default 30; 0: all Reddit lists, ~1,000)"), False, False
    ),
    Setting(
        "refresh_hours", N_("Recent hours read again at each sync for edits and deletions (default 24)"), False, False
    ),
    Setting("token_url", f"Reddit's token address (default {TOKEN_URL})", False, False),
    Setting("api_url", f"Reddit's API address (default {API_URL})", False, False),
)
FORMAT: ImportFormat = reddit_json  # `pilote import` of saved API answers

BACKFILL_DAYS = 30.0
REFRESH_HOURS = 24.0
PAGE = 100
THREAD_LIMIT = 500  # comments in one /comments/{id} answer
MAX_EXPANSIONS = 40  # morechildren and "continue this thread" calls per thread sync
MAX_QUEUE = PAGE * MAX_EXPANSIONS
STAGES = ("new", "comments")
now: Callable[[], float] = time.time  # the wall clock the windows are measured on (tests set their own)

_SUBREDDIT = re.compile(r"^(?:https?://(?:[\w-]+\.)?reddit\.com)?/?(?:r/)?([A-Za-z0-9_]{2,21})/?$")
_THREAD_ID = re.compile(r"^(?:t3_)?([0-9a-z]{1,13})$")
_THREAD_URL = re.compile(r"^https?://(?:[\w-]+\.)?(?:reddit\.com/(?:r/\w+/)?comments/|redd\.it/)([0-9a-z]{1,13})\b")
_ID = re.compile(r"[0-9a-z]{1,13}")


@dataclass(frozen=True, slots=True)
class Config:
    """What a source's settings say, checked."""

    subreddit: str | None
    thread: str | None  # the thread's base-36 id
    credentials: Credentials
    backfill_seconds: float
    refresh_seconds: float


def describe(account: Account) -> SourceInfo:
    """A subreddit (reddit.com/r/name, the key `pilote import` gives its saved listings) or one thread."""
    config = _config(account)
    if config.thread:
        return SourceInfo(kind=name, key=f"reddit.com/comments/{config.thread}", name=f"Reddit thread {config.thread}",
                          channel="reddit", url=f"{things.SITE}/comments/{config.thread}/")  # fmt: skip
    subreddit = config.subreddit or ""
    return SourceInfo(kind=name, key=f"reddit.com/r/{subreddit.lower()}", name=f"r/{subreddit}", channel="reddit",
                      url=f"{things.SITE}/r/{subreddit}/")  # fmt: skip


def fetch(client: HttpClient, account: Account, cursor: Mapping[str, Any]) -> Page:
    """One page: of a listing pass (subreddit), or of a thread's forest and its expansions."""
    config = _config(account)
    api = Api(client, config.credentials)
    if config.thread:
        return _thread_page(api, config.thread, dict(cursor))
    return _listing_page(api, config, dict(cursor))


def act(client: HttpClient, account: Account, action: Action) -> Done:
    """Reply (as the refresh token's account), approve, or remove as spam or not (as a moderator)."""
    if action.kind not in actions:
        raise Invalid(
            N_("Reddit does not let Pilote %(kind)r a message: it can %(value)s"),
            kind=action.kind,
            value=", ".join(actions),
        )
    config = _config(account)
    if not config.credentials.refresh_token:
        raise Invalid(N_("replying and moderating on Reddit act as an account: add its refresh_token to the source"))
    target = action.external_id
    if not things.FULLNAME.fullmatch(target):
        raise Invalid(N_("%(target)r is not a Reddit post or comment (t3_… or t1_…)"), target=target[:40])
    api = Api(client, config.credentials)
    if action.kind == "reply":
        return _reply(api, target, (action.text or "").strip())
    if action.kind == "approve":
        api.post("/api/approve", {"id": target})
        return Done(detail="approved on Reddit")
    api.post("/api/remove", {"id": target, "spam": "true" if action.kind == "spam" else "false"})
    return Done(detail="removed on Reddit as spam" if action.kind == "spam" else "removed on Reddit")


def _reply(api: Api, target: str, text: str) -> Done:
    if not text:
        raise Invalid(N_("a reply needs some text"))
    body = api.post("/api/comment", {"api_type": "json", "thing_id": target, "text": text})
    posted = [thing for thing in answer_things(body, "the reply") if isinstance(thing, dict)]
    entry = things.read(posted[0], "the posted reply") if posted else None
    if not isinstance(entry, Item):  # posted all the same: the next sync brings it
        return Done(detail="replied on Reddit (the reply comes with the next sync)")
    who = f" as u/{entry.author.handle}" if entry.author else ""
    return Done(item=entry, detail=f"replied on Reddit{who}")


# A subreddit: listing passes


def _listing_page(api: Api, config: Config, cursor: dict[str, Any]) -> Page:
    stage: str = cursor["stage"] if cursor.get("stage") in STAGES else STAGES[0]
    state: dict[str, Any] = cursor[stage] if isinstance(cursor.get(stage), dict) else {}
    mark, top, after = _fullname(state.get("mark")), _fullname(state.get("top")), _fullname(state.get("after"))
    path = f"/r/{config.subreddit}/{stage}.json"
    children, next_after = _listing(api.get(path, {"limit": PAGE, "after": after, "raw_json": 1}), path)
    floor = now() - (config.backfill_seconds if mark is None else config.refresh_seconds)
    items: list[Item | ItemError] = []
    deleted: list[str] = []
    reached = False
    for position, thing in enumerate(children, 1):
        entry = things.read(thing, f"{path}, item {position}")
        if isinstance(entry, Item):
            newer = mark is None or _newer(entry.external_id, mark)
            if entry.created_at.timestamp() < floor and (mark is None or not newer):
                reached = True  # newest first: the rest is older still
                continue
            top = _newest(top, entry.external_id)
            if things.gone(thing) and not newer:
                deleted.append(entry.external_id)
                continue
        items.append(entry)
    if next_after and not reached and (after is None or next_after != after):
        return Page(items, {**cursor, "stage": stage, stage: {"mark": mark, "top": top, "after": next_after}},
                    more=True, deleted=deleted)  # fmt: skip
    following = STAGES[(STAGES.index(stage) + 1) % len(STAGES)]
    finished = {"mark": _newest(mark, top), "top": None, "after": None}
    return Page(items, {**cursor, "stage": following, stage: finished}, more=stage != STAGES[-1], deleted=deleted)


def _listing(body: Any, path: str) -> tuple[list[Any], str | None]:
    """A listing's children and its `after` fullname; any other shape is the platform's fault, said plainly."""
    data = body.get("data") if isinstance(body, dict) and body.get("kind") == "Listing" else None
    children = data.get("children") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(children, list):
        raise FetchFailed(
            N_(
                "Reddit answered %(file)s with JSON that is not a listing (%(value)s); Pilote tries "
                "again at the next sync"
            ),
            file=path,
            value=_shape(body),
        )
    return children, _fullname(data.get("after"))


# One thread: its forest, then its "more" stubs


def _thread_page(api: Api, thread: str, cursor: dict[str, Any]) -> Page:
    mark, synced = _fullname(cursor.get("mark")), bool(cursor.get("synced"))
    running = isinstance(cursor.get("queue"), list)
    queue = [i for i in cursor.get("queue") or [] if isinstance(i, str) and _ID.fullmatch(i)]
    deep = [i for i in cursor.get("deep") or [] if isinstance(i, str) and _ID.fullmatch(i)]
    calls: int = cursor["calls"] if isinstance(cursor.get("calls"), int) else 0
    top = _fullname(cursor.get("top"))
    params = {"limit": THREAD_LIMIT, "sort": "new", "raw_json": 1}
    if not running:
        found = _forest(api.get(f"/comments/{thread}.json", params), f"/comments/{thread}")
    elif queue:
        children, queue = queue[:PAGE], queue[PAGE:]
        more = {"api_type": "json", "link_id": f"t3_{thread}", "children": ",".join(children), **params}
        found = answer_things(api.get("/api/morechildren.json", more), f"/api/morechildren ({len(children)} ids)")
    else:
        parent, deep = deep[0], deep[1:]
        found = _forest(api.get(f"/comments/{thread}/_/{parent}.json", params), f"/comments/{thread}/_/{parent}")
    calls += 1 if running else 0
    items: list[Item | ItemError] = []
    deleted: list[str] = []
    for position, thing in enumerate(things.forest(found), 1):
        if isinstance(thing, dict) and thing.get("kind") == "more":
            _stub(thing.get("data"), mark, queue, deep)
            continue
        entry = things.read(thing, f"/comments/{thread}, thing {position}")
        if isinstance(entry, Item):
            comment = entry.external_id.startswith("t1_")
            seen = _seen_comment(entry.external_id, mark) if comment else synced
            top = _newest(top, entry.external_id) if comment else top
            if things.gone(thing) and seen:
                deleted.append(entry.external_id)
                continue
        items.append(entry)
    if (queue or deep) and calls < MAX_EXPANSIONS:
        state = {"mark": mark, "synced": synced, "top": top, "queue": queue[:MAX_QUEUE], "deep": deep, "calls": calls}
        return Page(_unique(items), state, more=True, deleted=deleted)
    return Page(_unique(items), {"mark": _newest(mark, top), "synced": True}, more=False, deleted=deleted)


def _forest(body: Any, path: str) -> list[Any]:
    """A thread answer: [the post's listing, the comments' listing]."""
    if not (isinstance(body, list) and len(body) == 2):
        raise FetchFailed(
            N_(
                "Reddit answered %(file)s with JSON that is not a thread (%(value)s); Pilote tries "
                "again at the next sync"
            ),
            file=path,
            value=_shape(body),
        )
    return [_listing(listing, path)[0] for listing in body]


def _stub(data: Any, mark: str | None, queue: list[str], deep: list[str]) -> None:
    """A "more" stub: its children wait in the queue; an empty one ("continue this thread") names the
    comment whose replies need a call of their own. Later syncs take only what is newer than the mark."""
    if not isinstance(data, dict):
        return
    children = [c for c in data.get("children") or [] if isinstance(c, str) and _ID.fullmatch(c)]
    queue.extend(c for c in children if not _seen_comment(f"t1_{c}", mark) and c not in queue)
    parent = _fullname(data.get("parent_id"))
    if (
        not children
        and parent
        and parent.startswith("t1_")
        and not _seen_comment(parent, mark)
        and parent[3:] not in deep
    ):
        deep.append(parent[3:])


def _seen_comment(fullname: str, mark: str | None) -> bool:
    return mark is not None and not _newer(fullname, mark)


def _unique(items: list[Item | ItemError]) -> list[Item | ItemError]:
    """One item per external id (a "continue this thread" answer repeats the post and the comment it opens)."""
    latest = {entry.external_id: entry for entry in items if isinstance(entry, Item)}
    errors = [entry for entry in items if isinstance(entry, ItemError)]
    return [*latest.values(), *errors]


# Settings and ids


def _config(account: Account) -> Config:
    subreddit, thread = account.get("subreddit").strip(), account.get("thread").strip()
    if bool(subreddit) == bool(thread):
        raise Invalid(N_("give a subreddit to follow, or one thread (its address or id), not both"))
    client_id = account.get("client_id").strip()
    if not client_id:
        raise Invalid(N_("client_id: the client id of your Reddit app, from %(site)s/prefs/apps"), site=things.SITE)
    credentials = Credentials(
        client_id=client_id,
        client_secret=account.get("client_secret").strip(),
        refresh_token=account.get("refresh_token").strip(),
        token_url=check_url(account.get("token_url", TOKEN_URL), what="token_url"),
        api_url=check_url(account.get("api_url", API_URL), what="api_url").rstrip("/"),
    )
    return Config(
        subreddit=_subreddit(subreddit) if subreddit else None,
        thread=_thread(thread) if thread else None,
        credentials=credentials,
        backfill_seconds=_amount(account, "backfill_days", BACKFILL_DAYS, 86400) or float("inf"),
        refresh_seconds=_amount(account, "refresh_hours", REFRESH_HOURS, 3600),
    )


def _subreddit(value: str) -> str:
    match = _SUBREDDIT.match(value)
    if match is None:
        raise Invalid(
            N_("subreddit %(value)r: give its name, e.g. velolumen (2 to 21 letters, digits or _)"), value=value[:80]
        )
    return match.group(1)


def _thread(value: str) -> str:
    match = _THREAD_ID.match(value) or _THREAD_URL.match(value)
    if match is None:
        raise Invalid(
            N_("thread %(value)r: give its address (…/comments/1b2c3d/…) or its id (1b2c3d)"), value=value[:80]
        )
    return match.group(1)


def _amount(account: Account, setting: str, default: float, unit: int) -> float:
    value = account.get(setting).strip()
    try:
        amount = float(value) if value else default
    except ValueError:
        amount = -1.0
    if not 0 <= amount < 1e6:
        raise Invalid(
            N_("%(setting)s %(value)r: give a number, e.g. %(default)s"),
            setting=setting,
            value=value[:20],
            default=f"{default:g}",
        )
    return amount * unit


def _fullname(value: object) -> str | None:
    return value if isinstance(value, str) and things.FULLNAME.fullmatch(value) else None


def _newer(fullname: str, mark: str) -> bool:
    return fullname[:3] != mark[:3] or things.id36(fullname) > things.id36(mark)


def _newest(current: str | None, fullname: str | None) -> str | None:
    if current is None or (fullname is not None and fullname[:3] == current[:3] and _newer(fullname, current)):
        return fullname or current
    return current


def _shape(body: Any) -> str:
    if isinstance(body, dict):
        return "an object with " + (", ".join(sorted(str(key) for key in body)[:5]) or "nothing")
    return f"a list of {len(body)}" if isinstance(body, list) else type(body).__name__


from pilote.sources import reddit as _this  # noqa: E402  # so that mypy checks the module is a Connector

_: Connector = _this
