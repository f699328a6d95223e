"""YouTube: the comment threads of a channel's videos (or of some videos), through the YouTube Data API v3,
with the held and likely-spam queues when the channel's owner authorised Pilote; replies and moderation.

A sync is one pass over steps, one API page per fetch: the moderation queues, read whole (owner only), the
comments that left them since the last sync (published since, or gone), then the published threads newest
first, down to the high-water mark or, further, to the start of the recheck window: recent threads are read
again for edits, new replies and deletions. The first pass goes back `backfill_days`.
docs/connectors/youtube.md.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pilote.errors import Invalid
from pilote.sources import youtube_api as api
from pilote.sources import youtube_items as items
from pilote.sources.base import Account, Action, Done, Item, ItemError, Page, Setting, SourceInfo
from pilote.sources.dates import parse_date
from pilote.sources.http import FetchFailed, HttpClient, HttpStatus
from pilote.texts import N_

if TYPE_CHECKING:
    from pilote.sources.base import Connector

name = "youtube"
description = N_("YouTube channel: comment threads of its videos, and the held and likely-spam ones for its owner")
settings: tuple[Setting, ...] = (
    Setting(
        "channel",
        N_(
            "the channel's id, UC and 22 more characters (youtube.com/account_advanced shows yours), "
            "or its youtube.com/channel/… address"
        ),
    ),
    Setting(
        "api_key",
        N_("a YouTube Data API v3 key (Google Cloud console): reads public comments"),
        secret=True,
        required=False,
    ),
    Setting(
        "access_token",
        N_(
            "an OAuth access token of the channel's owner, scope youtube.force-ssl: also reads "
            "held and likely-spam comments, and replies and moderates"
        ),
        secret=True,
        required=False,
    ),
    Setting(
        "refresh_token",
        N_("the OAuth refresh token, to renew the access token when it expires"),
        secret=True,
        required=False,
    ),
    Setting("client_id", N_("the OAuth client's id (with refresh_token)"), required=False),
    Setting("client_secret", N_("the OAuth client's secret (with refresh_token)"), secret=True, required=False),
    Setting(
        "videos",
        N_("video ids or addresses, separated by commas, to read one by one instead of the whole channel"),
        required=False,
    ),
    Setting("backfill_days", N_("how far back the first sync reads, in days (default 90)"), required=False),
    Setting(
        "recheck_days",
        N_("how many days of recent threads each sync reads again for edits, new replies and deletions (default 3)"),
        required=False,
    ),
    Setting("api_url", f"the API's address (default {api.API_URL})", required=False),
    Setting("token_url", f"the OAuth token address (default {api.TOKEN_URL})", required=False),
)
actions: tuple[str, ...] = ("reply", "approve", "hold", "spam")

THREADS = "/youtube/v3/commentThreads"
COMMENTS = "/youtube/v3/comments"
VIDEOS = "/youtube/v3/videos"
MODERATE = "/youtube/v3/comments/setModerationStatus"
MODERATION = {"approve": "published", "hold": "heldForReview", "spam": "rejected"}
QUEUES = ("heldForReview", "likelySpam")
QUEUE_PAGES = 5  # a moderation queue is read whole, up to 500 threads
REPLY_PAGES = 10  # up to 1,000 replies of one thread
MEMORY = 500  # threads of the recheck window remembered, with their replies, to see deletions
MEMORY_REPLIES = 100
KNOWN_VIDEOS = 500  # videos already written as posts
LEFT_BATCH = 50  # comments that left a queue, looked up per sync
_CHANNEL = re.compile(r"(?:^|/channel/)(UC[\w-]{22})(?=[/?#]|$)")
_VIDEO = re.compile(r"(?:^|[?&]v=|youtu\.be/|/shorts/|/live/|/embed/)([\w-]{11})(?=[&#?/]|$)")


def _now() -> datetime:
    return datetime.now(UTC)


def describe(account: Account) -> SourceInfo:
    """The channel is the source; authors are keyed by their YouTube channel, the same everywhere."""
    channel = _check(account)
    return SourceInfo(kind=name, key=f"youtube.com/channel/{channel}", name=f"YouTube channel {channel}",
                      channel="youtube", url=f"{items.CHANNEL}{channel}")  # fmt: skip


def _check(account: Account) -> str:
    """The channel's id, once every setting has been checked (Invalid names the first one that is not right)."""
    channel = channel_id(account)
    video_ids(account)
    api.check_credentials(account)
    _days(account, "backfill_days", 90)
    _days(account, "recheck_days", 3)
    return channel


def channel_id(account: Account) -> str:
    """The channel's id from the setting (an id or its address)."""
    value = account.get("channel").strip()
    found = _CHANNEL.search(value)
    if not found:
        raise Invalid(
            N_(
                "channel %(value)r: give the channel's id, UC followed by 22 characters "
                "(youtube.com/account_advanced shows yours; a @handle is not an id), or its "
                "youtube.com/channel/… address"
            ),
            value=value[:80],
        )
    return found.group(1)


def video_ids(account: Account) -> list[str]:
    """The videos to read one by one (none: the whole channel)."""
    found = []
    for part in filter(None, (p.strip() for p in account.get("videos").split(","))):
        match = _VIDEO.search(part)
        if not match:
            raise Invalid(
                N_("videos: %(part)r is not a video id (11 characters) nor a video's address"), part=part[:80]
            )
        found.append(match.group(1))
    return list(dict.fromkeys(found))


def fetch(client: HttpClient, account: Account, cursor: Mapping[str, Any]) -> Page:
    """One page of the current step of the pass; `more` while steps or pages remain."""
    _check(account)
    steps = _steps(account)
    state: dict[str, Any] = copy.deepcopy(dict(cursor))
    run = state.setdefault("pass", {"step": 0, "started": _iso(_now()), "fresh": {}, "queued": []})
    page = Page(items=[], cursor=state)
    if run["step"] < len(steps):
        kind, param, value = steps[run["step"]]
        if _read_step(client, account, state, page, (kind, param, value)):
            _advance(state, len(steps))
    else:
        _advance(state, len(steps))
    page.more = "pass" in state
    return page


def _steps(account: Account) -> list[tuple[str, str, str]]:
    """(kind, parameter, value): the queues and those that left them (owner only), then the published threads."""
    targets = [("videoId", video) for video in video_ids(account)]
    targets = targets or [("allThreadsRelatedToChannelId", channel_id(account))]
    queues = [(status, p, v) for p, v in targets for status in QUEUES] if api.oauth(account) else []
    return [*queues, *([("left", "", "")] if queues else []), *(("published", p, v) for p, v in targets)]


def _read_step(client: HttpClient, account: Account, state: dict[str, Any], page: Page,
               step: tuple[str, str, str]) -> bool:  # fmt: skip
    """Read one page of a step; whether the step is over."""
    kind, param, value = step
    run = state["pass"]
    try:
        if kind == "left":
            return _left(client, account, state, page)
        if kind in QUEUES:
            return _queue(client, account, state, page, (kind, param, value))
        return _published(client, account, state, page, (param, value))
    except api.Skipped as error:
        if param != "allThreadsRelatedToChannelId":
            return True  # this video's comments are turned off, or the video is gone: the others are read
        raise FetchFailed(
            N_(
                "%(error)s for the whole channel: its comments may be turned off; name the videos to "
                "read in the videos setting"
            ),
            error=error,
        ) from None
    except HttpStatus as error:
        if param == "videoId" and error.status == 404:
            return True
        if error.status != 400 or not run.get("token"):
            raise
        run.pop("token")  # a page token YouTube takes no more (after a long stop): the step starts again
        return False


def _advance(state: dict[str, Any], count: int) -> None:
    run = state["pass"]
    for key in ("token", "since", "newest", "oldest", "pages", "full"):
        run.pop(key, None)
    run["step"] += 1
    if run["step"] >= count:
        state["threads"] = run["fresh"]
        state["queued"] = run["queued"][-MEMORY:]
        del state["pass"]


def _queue(client: HttpClient, account: Account, state: dict[str, Any], page: Page,
           step: tuple[str, str, str]) -> bool:  # fmt: skip
    """One page of a moderation queue (owner only), read whole at every sync, up to QUEUE_PAGES pages."""
    status, param, value = step
    run = state["pass"]
    body = api.get(client, account, THREADS, {"part": "snippet,replies", param: value, "moderationStatus": status,
                                              "maxResults": 100, "pageToken": run.get("token")})  # fmt: skip
    threads, token = items.listed(body, "commentThreads")
    for thread in threads:
        page.items += items.thread_items(thread, status)
        if isinstance(thread, dict) and isinstance(thread.get("id"), str):
            run["queued"].append(thread["id"])
    _describe_videos(client, account, state, page)
    run["pages"] = run.get("pages", 0) + 1
    if token and run["pages"] < QUEUE_PAGES:
        run["token"] = token
        return False
    return True


def _left(client: HttpClient, account: Account, state: dict[str, Any], page: Page) -> bool:
    """The comments in a queue at the last sync and not now: published since, or rejected or deleted."""
    run = state["pass"]
    queued = set(run["queued"])
    gone = [thread_id for thread_id in state.get("queued", []) if thread_id not in queued]
    ask, run["queued"] = gone[:LEFT_BATCH], run["queued"] + gone[LEFT_BATCH:]
    if not ask:
        return True
    body = api.get(client, account, THREADS, {"part": "snippet,replies", "id": ",".join(ask)})
    threads, _ = items.listed(body, "commentThreads")
    back = set()
    for thread in threads:
        page.items += items.thread_items(thread, "published")
        back.add(thread.get("id") if isinstance(thread, dict) else None)
    page.deleted += [thread_id for thread_id in ask if thread_id not in back]
    _describe_videos(client, account, state, page)
    return True


def _published(client: HttpClient, account: Account, state: dict[str, Any], page: Page,
               target: tuple[str, str]) -> bool:  # fmt: skip
    """One page of published threads, newest first; the step ends below the high-water mark and the
    recheck window (or the backfill limit), or at the last page."""
    param, value = target
    run = state["pass"]
    started = parse_date(run["started"])
    mark_key = value if param == "videoId" else "channel"
    window = _iso(started - timedelta(days=_days(account, "recheck_days", 3)))
    if "since" not in run:
        mark = state.get("marks", {}).get(mark_key)
        backfill = _iso(started - timedelta(days=_days(account, "backfill_days", 90)))
        run["since"] = backfill if mark is None else min(mark["at"], window)
    body = api.get(client, account, THREADS, {"part": "snippet,replies", param: value, "order": "time",
                                              "maxResults": 100, "pageToken": run.get("token")})  # fmt: skip
    threads, token = items.listed(body, "commentThreads")
    old = state.get("threads", {})
    for thread in threads:
        found, memory = _thread(client, account, thread, old, run["since"])
        page.items += found
        if memory is None:
            continue
        thread_id = thread["id"]
        run.setdefault("newest", {"at": memory["at"], "id": thread_id})
        run["oldest"] = memory["at"]
        if memory["at"] >= window:
            if len(run["fresh"]) < MEMORY:
                run["fresh"][thread_id] = memory
            else:
                run["full"] = True
        page.deleted += _gone_replies(thread_id, old.get(thread_id), memory)
    _describe_videos(client, account, state, page)
    if token and not (run.get("oldest") and run["oldest"] < run["since"]):
        run["token"] = token
        return False
    _close(state, page, mark_key, window)
    return True


def _thread(client: HttpClient, account: Account, thread: Any, old: dict[str, Any],
            since: str) -> tuple[list[Item | ItemError], dict[str, Any] | None]:  # fmt: skip
    """A published thread's items, with every reply when it has more than it inlines (and more than when it
    was last read; not for a thread older than `since`, beyond this step's reach), and what to remember of
    it: date, reply count, reply ids when the list is complete."""
    found = items.thread_items(thread, "published")
    top = found[0]
    thread_id = thread.get("id") if isinstance(thread, dict) else None
    remembered = old.get(thread_id) if isinstance(thread_id, str) else None
    if not isinstance(top, Item) or top.external_id != thread_id:
        return found, remembered  # unreadable now: neither new, nor gone
    total = (top.counters.replies if top.counters else None) or 0
    complete = len(found) - 1 >= total
    video = thread["snippet"].get("videoId") if isinstance(thread["snippet"].get("videoId"), str) else None
    deep = _iso(top.created_at) >= since and (remembered is None or remembered["n"] != total)
    if not complete and deep:
        try:
            replies, complete = _all_replies(client, account, thread_id, video)
            found = [top, *replies]
        except api.Skipped:
            pass
    memory: dict[str, Any] = {"at": _iso(top.created_at), "n": total, "v": video, "r": None}
    if complete and all(isinstance(item, Item) for item in found[1:]):
        ids = [item.external_id for item in found[1:] if isinstance(item, Item)]
        if len(ids) <= MEMORY_REPLIES and all(i.startswith(f"{thread_id}.") for i in ids):
            memory["r"] = [i[len(thread_id) + 1 :] for i in ids]
    elif remembered is not None and remembered["n"] == total:
        memory["r"] = remembered.get("r")
    return found, memory


def _all_replies(client: HttpClient, account: Account, parent: str,
                 video: str | None) -> tuple[list[Item | ItemError], bool]:  # fmt: skip
    """Every reply of a thread (comments.list), up to REPLY_PAGES pages; whether that was all of them."""
    found: list[Item | ItemError] = []
    token: str | None = None
    for _ in range(REPLY_PAGES):
        body = api.get(client, account, COMMENTS, {"part": "snippet", "parentId": parent, "maxResults": 100,
                                                   "pageToken": token})  # fmt: skip
        comments, token = items.listed(body, "comments")
        found += [items.comment_item(comment, video=video, status="published") for comment in comments]
        if token is None:
            return found, True
    return found, False


def _gone_replies(thread_id: str, remembered: dict[str, Any] | None, memory: dict[str, Any]) -> list[str]:
    """Replies remembered in a thread's complete list and missing from its complete list now."""
    if remembered is None or remembered.get("r") is None or memory["r"] is None:
        return []
    now = set(memory["r"])
    return [f"{thread_id}.{suffix}" for suffix in remembered["r"] if suffix not in now]


def _close(state: dict[str, Any], page: Page, mark_key: str, window: str) -> None:
    """The end of a published step: the new high-water mark, and the remembered threads of the span read
    again that did not come back (nor sit in a queue) reported deleted, with their replies."""
    run = state["pass"]
    if run.get("newest"):
        state.setdefault("marks", {})[mark_key] = run["newest"]
    if not run.get("oldest") or run.get("full"):
        return
    floor, queued = max(run["oldest"], window), set(run["queued"])
    for thread_id, memory in state.get("threads", {}).items():
        mine = mark_key == "channel" or memory.get("v") == mark_key
        if mine and memory["at"] >= floor and thread_id not in run["fresh"] and thread_id not in queued:
            page.deleted += [thread_id, *(f"{thread_id}.{suffix}" for suffix in memory.get("r") or ())]


def _describe_videos(client: HttpClient, account: Account, state: dict[str, Any], page: Page) -> None:
    """Each video the page's comments answer, as a post before them, once (videos.list: 50 a request)."""
    known: list[str] = state.setdefault("videos", [])
    wanted: list[str] = []
    for item in page.items:
        key = item.thread_external_id if isinstance(item, Item) else None
        video = key[6:] if key and key.startswith("video:") else None
        if video and video not in known and video not in wanted:
            wanted.append(video)
    posts: list[Item | ItemError] = []
    for start in range(0, len(wanted), 50):
        body = api.get(client, account, VIDEOS, {"part": "snippet", "id": ",".join(wanted[start : start + 50])})
        posts += [items.video_item(video) for video in items.listed(body, "videos")[0]]
    page.items[:0] = posts
    known += wanted
    del known[:-KNOWN_VIDEOS]


def act(client: HttpClient, account: Account, action: Action) -> Done:
    """Reply to a comment, or set its moderation status (approve: published, hold: held for review, spam:
    rejected, the author not banned)."""
    if action.kind not in actions:
        raise Invalid(
            N_("YouTube does not let Pilote %(kind)r a comment: %(value)s only"),
            kind=action.kind,
            value=", ".join(actions),
        )
    if action.external_id.startswith("video:"):
        raise Invalid(N_("this is a video, not a comment: reply to or moderate its comments"))
    if not api.oauth(account):
        raise Invalid(
            N_(
                "replying and moderating on YouTube need an access_token of the channel's owner "
                "(scope youtube.force-ssl); an api_key only reads"
            )
        )
    if action.kind == "reply":
        return _reply(client, account, action)
    status = MODERATION[action.kind]
    api.call(client, account, "POST", MODERATE,
             params={"id": action.external_id, "moderationStatus": status, "banAuthor": "false"})  # fmt: skip
    words = {"published": "published", "heldForReview": "held for review", "rejected": "rejected as spam"}
    return Done(detail=f"comment {words[status]} on YouTube")


def _reply(client: HttpClient, account: Account, action: Action) -> Done:
    text = (action.text or "").strip()
    if not text:
        raise Invalid(N_("a reply needs some text"))
    parent, video = items.reply_target(action.raw, action.external_id)
    answer = api.call(client, account, "POST", COMMENTS, params={"part": "snippet"},
                      json={"snippet": {"parentId": parent, "textOriginal": text}}).json()  # fmt: skip
    item = items.comment_item(answer, video=video, status="published")
    if isinstance(item, ItemError):
        raise FetchFailed(
            N_("YouTube posted the reply but answered in a shape Pilote cannot read (%(detail)s)"),
            detail=item.problem,
        )
    return Done(item=item, detail="reply posted on YouTube")


def _days(account: Account, setting: str, default: int) -> int:
    value = account.get(setting).strip() or str(default)
    if not value.isdigit():
        raise Invalid(
            N_("%(setting)s: a whole number of days, e.g. %(default)s (not %(value)r)"),
            setting=setting,
            default=default,
            value=value[:20],
        )
    return int(value)


def _iso(moment: datetime) -> str:
    """A UTC time written so that two of them compare as strings."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


if TYPE_CHECKING:
    from pilote.sources import youtube as _module

    _: Connector = _module
