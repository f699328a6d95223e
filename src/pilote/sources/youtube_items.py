"""YouTube Data API v3 resources as Pilote items: a video is a post, a top-level comment answers the video,
and a reply answers the top-level comment (YouTube threads are one level deep). docs/connectors/youtube.md."""

from __future__ import annotations

from typing import Any

import orjson

from pilote.errors import fill
from pilote.sources.base import AuthorRef, Counters, Item, ItemError, person
from pilote.sources.dates import parse_date
from pilote.sources.http import FetchFailed
from pilote.text import html_to_text
from pilote.texts import N_

WATCH = "https://www.youtube.com/watch?v="
CHANNEL = "https://www.youtube.com/channel/"
# What a moderation status says; a published comment carries no label, so one approved since loses its own.
LABELS: dict[str, tuple[tuple[str, str], ...]] = {
    "heldForReview": (("status", "pending"),),
    "likelySpam": (("status", "pending"), ("spam", "spam")),
    "published": (),
}


def raw_of(resource: Any) -> str:
    """The resource's own JSON, compact with sorted keys: an unchanged resource hashes the same."""
    return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS).decode()


def video_key(video_id: str | None) -> str | None:
    """The external id of a video's post item."""
    return f"video:{video_id}" if video_id else None


def listed(body: Any, what: str) -> tuple[list[Any], str | None]:
    """The items of a list answer and its next page token; an answer of another shape is refused whole."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise FetchFailed(
            N_(
                "YouTube answered the %(what)s request with JSON of an unexpected shape (no list of "
                "items); nothing of it was kept, and Pilote tries again at the next sync"
            ),
            what=what,
        )
    token = body.get("nextPageToken")
    return body["items"], token if isinstance(token, str) and token else None


def thread_items(thread: Any, status: str) -> list[Item | ItemError]:
    """A commentThread: its top-level comment first (its raw is the thread without its replies), then the
    replies it inlines."""
    if not isinstance(thread, dict) or not isinstance(thread.get("snippet"), dict):
        return [ItemError(N_("commentThread"), N_("not a comment thread (no snippet): skipped"))]
    snippet = thread["snippet"]
    top = snippet.get("topLevelComment")
    if not isinstance(top, dict):
        return [
            ItemError(
                fill(N_("commentThread %(value)s"), {"value": str(thread.get("id"))[:60]}),
                N_("no topLevelComment: skipped"),
            )
        ]
    video = _text(snippet.get("videoId"))
    own = {key: value for key, value in thread.items() if key != "replies"}
    first = comment_item(top, video=video, status=status, raw=own, replies=_count(snippet.get("totalReplyCount")))
    replies = (thread.get("replies") or {}).get("comments") if isinstance(thread.get("replies"), dict) else None
    found: list[Item | ItemError] = [first]
    found += [comment_item(reply, video=video, status="published") for reply in replies or ()]
    return found


def comment_item(
    comment: Any, *, video: str | None, status: str, raw: Any = None, replies: int | None = None
) -> Item | ItemError:
    """A comment resource: a top-level comment (answering its video) or a reply (with a parentId)."""
    if not isinstance(comment, dict) or not _text(comment.get("id")) or not isinstance(comment.get("snippet"), dict):
        return ItemError(N_("comment"), N_("a comment without an id or a snippet: skipped"))
    comment_id, snippet = comment["id"], comment["snippet"]
    try:
        created_at = parse_date(snippet["publishedAt"])
        updated = snippet.get("updatedAt")
        edited_at = parse_date(updated) if updated and updated != snippet["publishedAt"] else None
    except (KeyError, TypeError, ValueError):
        return ItemError(
            fill(N_("comment %(comment_id)s"), {"comment_id": comment_id}), N_("no valid publishedAt: skipped")
        )
    video = video or _text(snippet.get("videoId"))  # a comment's own videoId is deprecated: the thread's comes first
    parent = _text(snippet.get("parentId"))
    markup = _text(snippet.get("textDisplay")) or ""
    status = _text(snippet.get("moderationStatus")) or status
    return Item(
        external_id=comment_id,
        kind="reply" if parent else "comment",
        created_at=created_at,
        raw=raw_of(comment if raw is None else raw),
        text=_text(snippet.get("textOriginal")) or html_to_text(markup),
        html=markup or None,
        url=f"{WATCH}{video}&lc={comment_id}" if video else _channel_url(snippet.get("channelId")),
        parent_external_id=parent or video_key(video),
        thread_external_id=video_key(video),
        author=author_of(snippet),
        edited_at=edited_at,
        counters=Counters(likes=_count(snippet.get("likeCount")), replies=replies),
        labels=LABELS.get(status, ()),
    )


def video_item(video: Any) -> Item | ItemError:
    """A video resource (part=snippet) as the post its comments answer."""
    if not isinstance(video, dict) or not _text(video.get("id")) or not isinstance(video.get("snippet"), dict):
        return ItemError(N_("video"), N_("a video without an id or a snippet: skipped"))
    snippet = video["snippet"]
    try:
        created_at = parse_date(snippet["publishedAt"])
    except (KeyError, TypeError, ValueError):
        return ItemError(fill(N_("video %(video)s"), {"video": video["id"]}), N_("no valid publishedAt: skipped"))
    channel = _text(snippet.get("channelId"))
    key = f"video:{video['id']}"
    return Item(
        external_id=key,
        kind="post",
        created_at=created_at,
        raw=raw_of(video),
        title=_text(snippet.get("title")),
        text=_text(snippet.get("description")) or "",
        url=f"{WATCH}{video['id']}",
        language=_text(snippet.get("defaultLanguage")) or _text(snippet.get("defaultAudioLanguage")),
        thread_external_id=key,
        author=AuthorRef(key=f"channel:{channel}", handle=_text(snippet.get("channelTitle")) or channel,
                         name=_text(snippet.get("channelTitle")), url=_channel_url(channel)) if channel else None,
    )  # fmt: skip


def author_of(snippet: dict[str, Any]) -> AuthorRef | None:
    """The commenter, keyed by their channel id (case matters in it); the display name is their @handle."""
    name = _text(snippet.get("authorDisplayName"))
    url = _text(snippet.get("authorChannelUrl"))
    channel = snippet.get("authorChannelId")
    channel_id = _text(channel.get("value")) if isinstance(channel, dict) else None
    if channel_id:
        return AuthorRef(key=f"channel:{channel_id}", handle=name or channel_id, name=name, url=url)
    return person(name=name, url=url)


def reply_target(raw: str, external_id: str) -> tuple[str, str | None]:
    """The thread a reply to this comment goes to (a reply to a reply joins the same thread) and its video."""
    try:
        resource = orjson.loads(raw)
    except orjson.JSONDecodeError:
        resource = None
    snippet = resource.get("snippet") if isinstance(resource, dict) else None
    if not isinstance(snippet, dict):
        return external_id.split(".", 1)[0], None
    return _text(snippet.get("parentId")) or external_id.split(".", 1)[0], _text(snippet.get("videoId"))


def _channel_url(channel_id: Any) -> str | None:
    return f"{CHANNEL}{channel_id}" if _text(channel_id) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else None
