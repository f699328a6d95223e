"""Discourse forums: the latest posts page by page, then the recently active topics again; reply and moderate.

A sync pages down /posts.json (newest first, by post id) until it meets the highest post id of the last sync
(the first sync: until `backfill_days` ago), then reads again the topics bumped in the last `recheck_days`
(edits, likes, hidden and deleted posts, which /posts.json leaves out). docs/connectors/discourse.md.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from pilote.errors import Invalid
from pilote.sources.base import Account, Action, Connector, Done, Item, ItemError, Page, Setting, SourceInfo
from pilote.sources.dates import parse_date
from pilote.sources.discourse_posts import REGULAR, Links, Place, normalise, number, to_item
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus, Response, check_url
from pilote.texts import N_

name = "discourse"
description = N_("Discourse forum: topics, their replies and nested replies; reply, hide, unhide, spam and delete")
settings: tuple[Setting, ...] = (
    Setting("url", N_("The forum's address, e.g. https://forum.example.org")),
    Setting("category", N_("Only one category: its slug and id as in its address, e.g. support/12"), required=False),
    Setting("api_username", N_("The user the API key acts as (a moderator, to hide or delete posts)"), required=False),
    Setting(
        "api_key",
        N_("An API key (Admin > API > Keys); none for a public forum, read only"),
        secret=True,
        required=False,
    ),
    Setting("backfill_days", N_("How many days back the first sync reads (default 365; 0: all)"), required=False),
    Setting("recheck_days", N_("Active topics read again at each sync, in days (default 3; 0: none)"), required=False),
    Setting("requests_per_minute", N_("The forum's API limit (default 60, an admin key's)"), required=False),
)
actions: tuple[str, ...] = ("reply", "approve", "hide", "spam", "trash")

BACKFILL_DAYS, RECHECK_DAYS, REQUESTS_PER_MINUTE = 365, 3, 60
RECHECK_TOPICS = 30  # topics read again per sync, at most
LIST_PAGES = 3  # topic list pages looked through for them
RECENT_POSTS = 40  # a long topic's latest posts read again beyond its first chunk
CHUNK = 20  # post ids per /t/{id}/posts.json request (Discourse's own chunk size)
FLAGS = {"hide": 4, "spam": 8}  # post_action_type_id: inappropriate, spam
_SAID = re.compile(r'"errors"\s*:\s*\[\s*"((?:[^"\\]|\\.)*)"')


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Forum:
    """The forum's address, the client with its credentials and pace, and the category followed."""

    client: HttpClient
    base: str
    user: str
    category: tuple[str, int] | None

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.send("GET", path, params=params).json()

    def send(self, method: str, path: str, **options: Any) -> Response:
        """One request; a refusal is said in the forum's own words and what to check."""
        try:
            return self.client.request(method, self.base + path, **options)
        except AuthFailed as error:
            raise AuthFailed(self._refused(str(error))) from None
        except HttpStatus as error:
            if error.status != 422:
                raise
            raise Invalid(
                N_("%(host)s refused it: %(value)s"), host=self.host, value=_said(str(error)) or error
            ) from None

    def topic(self, topic_id: int, position: int = 1) -> dict[str, Any] | None:
        """A topic's view (its first posts, or those around `position`); None when it is gone."""
        path = f"/t/{topic_id}.json" if position <= 1 else f"/t/{topic_id}/{position}.json"
        try:
            body = self.get(path)
        except HttpStatus as error:
            if error.status in (404, 410):
                return None
            raise
        _posts_in(self, body, path)
        return dict(body)

    def _refused(self, message: str) -> str:
        code = re.search(r"HTTP (\d{3})", message)
        said = _said(message)
        what = f"HTTP {code.group(1) if code else '403'}" + (f": {said}" if said else "")
        if not self.user:
            return (f"{self.host} refused to be read without an API key ({what}): the forum is not public; "
                    "add an API key and its user (Admin > API > Keys)")  # fmt: skip
        return (f"{self.host} refused the API key of user {self.user!r} ({what}): check that the key is still "
                "active in Admin > API > Keys, that it was made for this user or all users, and that the user "
                "may read these posts (and moderate them, to hide or delete)")  # fmt: skip


def _said(message: str) -> str | None:
    """The first of Discourse's `errors` in an error message that quotes the body."""
    found = _SAID.search(message)
    if not found:
        return None
    try:
        return str(orjson.loads(f'"{found.group(1)}"'))
    except orjson.JSONDecodeError:
        return found.group(1)


def _shape(forum: _Forum, path: str, expected: str) -> FetchFailed:
    return FetchFailed(
        N_("%(host)s answered %(file)s without %(expected)s: is %(base)s a Discourse forum?"),
        host=forum.host,
        file=path,
        expected=expected,
        base=forum.base,
    )


def _posts_in(forum: _Forum, body: Any, path: str) -> list[dict[str, Any]]:
    stream = body.get("post_stream") if isinstance(body, dict) else None
    posts = stream.get("posts") if isinstance(stream, dict) else None
    if not isinstance(posts, list):
        raise _shape(forum, path, "a post_stream")
    return [post for post in posts if isinstance(post, dict)]


def _whole(account: Account, setting: str, default: int, *, least: int = 0) -> int:
    value = account.get(setting).strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < least:
        raise Invalid(
            N_("the setting %(setting)s is %(value)r: give a whole number of at least %(least)s"),
            setting=setting,
            value=value[:40],
            least=least,
        )
    return int(value)


def _base(account: Account) -> str:
    url = account.get("url").strip()
    if not url:
        raise Invalid(N_("the setting url is missing: give the forum's address, e.g. https://forum.example.org"))
    parts = urlsplit(check_url(url, what="url"))
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _category(account: Account) -> tuple[str, int] | None:
    value = account.get("category").strip()
    if not value:
        return None
    path = ("/" + (urlsplit(value).path if "://" in value else value)).rsplit("/c/", 1)[-1].strip("/")
    *slugs, last = path.split("/")
    if not slugs or not last.isdigit() or not all(slugs):
        raise Invalid(N_("the setting category is %(value)r: give its slug and id, e.g. support/12"), value=value[:80])
    return "/".join(slugs), int(last)


def _forum(client: HttpClient, account: Account, *, acting: bool = False) -> _Forum:
    key, user = account.get("api_key").strip(), account.get("api_username").strip()
    if bool(key) != bool(user):
        raise Invalid(N_("the settings api_key and api_username go together: the key, and the user it acts as"))
    if acting and not key:
        raise Invalid(N_("acting on the forum needs an API key and its user (a moderator): add them to the source"))
    pace = 60.0 / _whole(account, "requests_per_minute", REQUESTS_PER_MINUTE, least=1)
    headers = {**client.headers, **({"Api-Key": key, "Api-Username": user} if key else {})}
    paced = dataclasses.replace(client, pace=max(client.pace, pace), headers=headers)
    return _Forum(paced, _base(account), user, _category(account))


def describe(account: Account) -> SourceInfo:
    """The forum (and category) these settings name: forum.example.org or forum.example.org/c/support/12."""
    base, category = _base(account), _category(account)
    where = base.split("://", 1)[1]
    path = f"/c/{category[0]}/{category[1]}" if category else ""
    label = f"{where} ({category[0]})" if category else where
    return SourceInfo(kind=name, key=where + path, name=label, channel=f"discourse:{where}", url=base + path)


def _resolve(forum: _Forum, links: Links, posts: list[dict[str, Any]]) -> None:
    """Learn each topic's first post and the posts replied to from the topic's views: usually one per topic
    (its first chunk, or the window around a post further down, whose stream names the first post), and a
    few more (`LOOKUPS` per page) for other replies far down a long topic; a post still not found (hidden,
    deleted) leaves its replies under the first post."""
    wanted: dict[int, set[int]] = {}
    for post in posts:
        if numbers := links.wanted(post):
            wanted.setdefault(number(post["topic_id"]) or 0, set()).update(numbers)
    for topic, numbers in sorted(wanted.items()):
        looks, opened = 0, False
        while pending := sorted(n for n in numbers if not links.knows(topic, n)):
            far = [n for n in pending if n > CHUNK]
            position = far[0] if far else pending[0] if opened else 1
            if looks:
                if links.budget <= 0:
                    break
                links.budget -= 1
            looks, opened = looks + 1, opened or position == 1
            numbers.discard(position)
            view = forum.topic(topic, position)
            if view is None:
                break
            links.learn(_posts_in(forum, view, "a topic"), topic, view["post_stream"].get("stream"))


def _items(forum: _Forum, links: Links, posts: list[dict[str, Any]]) -> list[Item | ItemError]:
    _resolve(forum, links, posts)
    return [to_item(post, forum.base, links.place(post)) for post in posts]


def fetch(client: HttpClient, account: Account, cursor: Mapping[str, Any]) -> Page:
    """One page of /posts.json (new posts, or older ones while backfilling), or one topic read again."""
    forum = _forum(client, account)
    if "recheck" in cursor:
        return _recheck(forum, account, cursor)
    return _posts_page(forum, account, cursor)


def _posts_page(forum: _Forum, account: Account, cursor: Mapping[str, Any]) -> Page:
    top, before = number(cursor.get("top")) or 0, number(cursor.get("before"))
    since = cursor.get("since") if before else _backfill_since(account) if not top else None
    limit = parse_date(since) if isinstance(since, str) else None
    posts = _latest(forum, before)
    ids = [post_id for post in posts if (post_id := number(post.get("id"))) is not None]
    links = Links()
    links.learn(posts)
    fresh = [normalise(post) for post in posts if _wanted(forum, post, top, limit)]
    items = _items(forum, links, fresh)
    lowest, goal = min(ids, default=0), max([number(cursor.get("goal")) or 0, top, *ids])
    reached = not ids or lowest <= top or (before is not None and lowest >= before)
    if not (reached or (limit is not None and any(_older(post.get("created_at"), limit) for post in posts))):
        return Page(items, {"top": top, "before": lowest, "goal": goal, "since": since}, more=True)
    if _whole(account, "recheck_days", RECHECK_DAYS) == 0:
        return Page(items, {"top": goal})
    return Page(items, {"top": goal, "recheck": None}, more=True)


def _backfill_since(account: Account) -> str | None:
    days = _whole(account, "backfill_days", BACKFILL_DAYS)
    return (_now() - timedelta(days=days)).isoformat() if days else None


def _latest(forum: _Forum, before: int | None) -> list[dict[str, Any]]:
    body = forum.get("/posts.json", {"before": before})
    posts = body.get("latest_posts") if isinstance(body, dict) else None
    if not isinstance(posts, list):
        raise _shape(forum, "/posts.json", "a latest_posts list")
    return [post for post in posts if isinstance(post, dict)]


def _wanted(forum: _Forum, post: Mapping[str, Any], top: int, limit: datetime | None) -> bool:
    """Newer than the last sync, within the backfill, in the category followed."""
    post_id = number(post.get("id"))  # a post without an id goes on, to be told as an ItemError
    if (post_id is not None and post_id <= top) or (limit is not None and _older(post.get("created_at"), limit)):
        return False
    in_category = forum.category is None or post.get("category_id") == forum.category[1]
    return in_category and post.get("post_type", REGULAR) == REGULAR


def _older(date: Any, limit: datetime) -> bool:
    """Whether a date field is before `limit` (a date that does not read is not: the item says why)."""
    try:
        return parse_date(date or "") < limit
    except ValueError:
        return False


def _recheck(forum: _Forum, account: Account, cursor: Mapping[str, Any]) -> Page:
    """Read again the next of the recently active topics (listed at the first call)."""
    top, queue = number(cursor.get("top")) or 0, cursor.get("recheck")
    if not isinstance(queue, list):
        queue = _active(forum, _whole(account, "recheck_days", RECHECK_DAYS))
    queue = [topic for topic in queue if number(topic) is not None]
    if not queue:
        return Page([], {"top": top})
    items = _topic_items(forum, queue[0])
    rest = queue[1:]
    return Page(items, {"top": top, "recheck": rest} if rest else {"top": top}, more=bool(rest))


def _active(forum: _Forum, days: int) -> list[int]:
    """The topics bumped in the last `days` (pinned ones first, as the list puts them), at most RECHECK_TOPICS."""
    since, found = _now() - timedelta(days=days), []
    path = f"/c/{forum.category[0]}/{forum.category[1]}.json" if forum.category else "/latest.json"
    for page in range(LIST_PAGES):
        body = forum.get(path, {"page": page or None})
        listing = body.get("topic_list") if isinstance(body, dict) else None
        topics = listing.get("topics") if isinstance(listing, dict) else None
        if not isinstance(listing, dict) or not isinstance(topics, list):
            raise _shape(forum, path, "a topic_list")
        older = False
        for topic in (t for t in topics if isinstance(t, dict) and number(t.get("id")) is not None):
            if forum.category is not None and topic.get("category_id") != forum.category[1]:
                continue
            if _older(topic.get("bumped_at"), since):
                older = older or not topic.get("pinned")
            elif topic["id"] not in found:
                found.append(topic["id"])
        if older or not listing.get("more_topics_url") or len(found) >= RECHECK_TOPICS:
            break
    return found[:RECHECK_TOPICS]


def _topic_items(forum: _Forum, topic_id: int) -> list[Item | ItemError]:
    """A topic's first chunk of posts and its latest ones (RECENT_POSTS), hidden and deleted ones included."""
    view = forum.topic(topic_id)
    if view is None:
        return []
    posts = _posts_in(forum, view, f"/t/{topic_id}.json")
    stream = view["post_stream"].get("stream")
    seen = {number(post.get("id")) for post in posts}
    later = [i for i in (stream if isinstance(stream, list) else []) if number(i) is not None and i not in seen]
    later = later[-RECENT_POSTS:]
    for start in range(0, len(later), CHUNK):
        path = f"/t/{topic_id}/posts.json"
        posts += _posts_in(forum, forum.get(path, {"post_ids[]": later[start : start + CHUNK]}), path)
    links = Links()
    links.learn(posts, topic_id, stream)
    regular = [normalise(post, view) for post in posts if post.get("post_type", REGULAR) == REGULAR]
    return _items(forum, links, regular)


def act(client: HttpClient, account: Account, action: Action) -> Done:
    """Reply to a post, or hide, unhide (approve), flag as spam or delete it, as the API key's user."""
    if action.kind not in actions:
        raise Invalid(
            N_("Discourse posts cannot be put on %(kind)r here: use one of %(value)s"),
            kind=action.kind,
            value=", ".join(actions),
        )
    forum = _forum(client, account, acting=True)
    post = _acted_on(action)
    post_id = post["id"]
    if action.kind == "reply":
        return _reply(forum, post, action.text or "")
    if action.kind in FLAGS:
        form = {"id": post_id, "post_action_type_id": FLAGS[action.kind], "flag_topic": "false", "take_action": "true"}
        forum.send("POST", "/post_actions.json", data=urlencode(form).encode(),
                   headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        flagged = "as spam" if action.kind == "spam" else "as inappropriate"
        return Done(detail=f"post {post_id} flagged {flagged} and hidden on {forum.host}; its author is told")
    if action.kind == "approve":
        forum.send("PUT", f"/posts/{post_id}/unhide.json")
        return Done(detail=f"post {post_id} shown again on {forum.host}")
    forum.send("DELETE", f"/posts/{post_id}.json")
    whole = " with its topic" if post["post_number"] == 1 else ""
    return Done(detail=f"post {post_id} deleted{whole} on {forum.host}; a moderator can still restore it")


def _acted_on(action: Action) -> dict[str, Any]:
    try:
        post = orjson.loads(action.raw)
    except orjson.JSONDecodeError:
        post = None
    keys = ("id", "topic_id", "post_number")
    if (
        not isinstance(post, dict)
        or any(number(post.get(k)) is None for k in keys)
        or str(post["id"]) != (action.external_id)
    ):
        raise Invalid(
            N_("message %(external_id)r is not a Discourse post as synced: sync the source again"),
            external_id=action.external_id[:40],
        )
    return post


def _reply(forum: _Forum, post: dict[str, Any], text: str) -> Done:
    if not text.strip():
        raise Invalid(N_("a reply needs some text"))
    body: dict[str, Any] = {"topic_id": post["topic_id"], "raw": text}
    if post["post_number"] > 1:
        body["reply_to_post_number"] = post["post_number"]
    answer = forum.send("POST", "/posts.json", json=body).json()
    if isinstance(answer, dict) and answer.get("action") == "enqueued":
        return Done(detail=f"{forum.host} queued the reply for its moderators' approval")
    if not isinstance(answer, dict):
        raise _shape(forum, "/posts.json", "the new post")
    thread = post["id"] if post["post_number"] == 1 else None
    item = to_item(normalise(answer), forum.base, Place(parent=post["id"], thread=thread))
    if isinstance(item, ItemError):
        raise _shape(forum, "/posts.json", f"a readable new post ({item.problem})")
    return Done(item=item, detail=f"replied as {forum.user} on {forum.host}: {item.url}")


from pilote.sources import discourse as _this  # noqa: E402  # the module itself: mypy checks it is a Connector

_: Connector = _this
