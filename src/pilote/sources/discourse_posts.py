"""Discourse posts as Items, and where each sits in its topic (Links: post numbers to post ids).

The same post read from /posts.json or from a topic gives the same payload.

The two endpoints serialise a post a little differently (/posts.json adds the markdown `raw`, the topic's
title and category; a topic view adds what the reader has read or bookmarked), so the payload kept is the
post's own fields both give, with the topic's title and category filled in from the topic: a post read
again through the other endpoint hashes the same unless it changed. docs/connectors/discourse.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson

from pilote.errors import fill
from pilote.sources.base import AuthorRef, Counters, Item, ItemError, person
from pilote.sources.dates import parse_date
from pilote.text import html_to_text
from pilote.texts import N_

REGULAR = 1  # post_type: 2 moderator action, 3 small action ("closed the topic"), 4 whisper (staff only)
LIKE = 2  # actions_summary id
LOOKUPS = 10  # topic views per page, beyond one per topic, to find the posts replied to (then: the first post)
KEPT = (
    "id", "topic_id", "topic_slug", "topic_title", "category_id", "post_number", "post_type",
    "reply_to_post_number", "user_id", "username", "name", "avatar_template", "created_at", "updated_at",
    "cooked", "version", "reply_count", "quote_count", "reads", "score", "hidden", "deleted_at",
    "user_deleted", "edit_reason", "wiki", "locale", "moderator", "admin", "staff", "trust_level",
)  # fmt: skip


def number(value: Any) -> int | None:
    """An integer field, or None (a boolean or a string is not a Discourse id)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def normalise(post: Mapping[str, Any], topic: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The post's own fields, with the topic's slug, title (first post only) and category when read in a topic."""
    kept = {key: post[key] for key in KEPT if key in post}
    if topic is not None:
        kept.setdefault("topic_slug", topic.get("slug"))
        kept.setdefault("category_id", topic.get("category_id"))
        if kept.get("post_number") == 1:
            kept.setdefault("topic_title", topic.get("title"))
    if kept.get("post_number") != 1:
        kept.pop("topic_title", None)
    summary = post.get("actions_summary")
    if isinstance(summary, list):
        kept["actions_summary"] = [
            {"id": a["id"], "count": a["count"]} for a in summary if isinstance(a, dict) and "count" in a and "id" in a
        ]
    return kept


@dataclass(slots=True, frozen=True)
class Place:
    """Where a post sits: its parent's and its thread's (the topic's first post) ids, when known."""

    parent: int | None = None
    thread: int | None = None


@dataclass(slots=True)
class Links:
    """What is known of the topics met: (topic, post number) -> post id, and each topic's first post; and
    how many more topic views may still be asked for to learn more (`budget`)."""

    ids: dict[tuple[int, int], int] = field(default_factory=dict)
    first: dict[int, int] = field(default_factory=dict)
    budget: int = LOOKUPS

    def learn(self, posts: Iterable[Mapping[str, Any]], topic: int | None = None, stream: Any = None) -> None:
        for post in posts:
            where, position, post_id = (number(post.get(k)) for k in ("topic_id", "post_number", "id"))
            if where is not None and position is not None and post_id is not None:
                self.ids[(where, position)] = post_id
                if position == 1:
                    self.first[where] = post_id
        if topic is not None and isinstance(stream, list) and stream and number(stream[0]) is not None:
            self.first.setdefault(topic, stream[0])

    def knows(self, topic: int, position: int) -> bool:
        return topic in self.first if position == 1 else (topic, position) in self.ids

    def wanted(self, post: Mapping[str, Any]) -> set[int]:
        """The post numbers this post's place needs: 1 (its thread) and the one it replies to."""
        topic, target = number(post.get("topic_id")), number(post.get("reply_to_post_number")) or 1
        if topic is None or number(post.get("post_number")) == 1:
            return set()
        return {n for n in {1, target} if not self.knows(topic, n)}

    def place(self, post: Mapping[str, Any]) -> Place:
        topic, target = number(post.get("topic_id")), number(post.get("reply_to_post_number")) or 1
        if topic is None:
            return Place()
        thread = self.first.get(topic)
        return Place(parent=self.ids.get((topic, target), thread) if target > 1 else thread, thread=thread)


def kind_of(post: Mapping[str, Any]) -> str:
    """post (a topic's first post), reply (to another post than the first) or comment (to the topic)."""
    if number(post.get("post_number")) == 1:
        return "post"
    target = number(post.get("reply_to_post_number"))
    return "reply" if target is not None and target > 1 else "comment"


def to_item(post: dict[str, Any], base: str, place: Place) -> Item | ItemError:
    """One normalised post as an Item; ItemError when it has no id, topic or date."""
    post_id, topic_id, position = number(post.get("id")), number(post.get("topic_id")), number(post.get("post_number"))
    where = f"post {post.get('id')!r}"[:80]
    if post_id is None or topic_id is None or position is None:
        return ItemError(where, N_("no numeric id, topic_id or post_number: skipped"))
    try:
        created_at = parse_date(post.get("created_at") or "")
    except ValueError as error:
        return ItemError(where, fill(N_("created_at: %(error)s: skipped"), {"error": error}))
    cooked = post["cooked"] if isinstance(post.get("cooked"), str) else ""
    kind = kind_of(post)
    thread = post_id if position == 1 else place.thread
    return Item(
        external_id=str(post_id),
        kind=kind,
        created_at=created_at,
        raw=orjson.dumps(post, option=orjson.OPT_SORT_KEYS).decode(),
        text=html_to_text(cooked),
        html=cooked or None,
        title=_text(post.get("topic_title")) if kind == "post" else None,
        url=_url(base, post, topic_id, position),
        language=_text(post.get("locale")),
        parent_external_id=None if kind == "post" or place.parent is None else str(place.parent),
        thread_external_id=None if thread is None else str(thread),
        author=_author(base, post),
        edited_at=_edited_at(post),
        counters=Counters(likes=_likes(post), replies=number(post.get("reply_count")), views=number(post.get("reads"))),
        labels=labels(post),
    )


def labels(post: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Deleted (by staff, or withdrawn by its author) wins over hidden (flagged, waiting for a moderator)."""
    if post.get("deleted_at") or post.get("user_deleted") is True:
        return (("status", "deleted"),)
    if post.get("hidden") is True:
        return (("status", "pending"),)
    return ()


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _url(base: str, post: Mapping[str, Any], topic_id: int, position: int) -> str:
    slug = quote(_text(post.get("topic_slug")) or "-", safe="-_.~")
    return f"{base}/t/{slug}/{topic_id}" + ("" if position == 1 else f"/{position}")


def _author(base: str, post: Mapping[str, Any]) -> AuthorRef | None:
    handle = _text(post.get("username"))
    url = f"{base}/u/{quote(handle, safe='')}" if handle else None
    return person(name=_text(post.get("name")), handle=handle, url=url)


def _edited_at(post: Mapping[str, Any]) -> datetime | None:
    """updated_at, when the post has a second version: Discourse makes one for every edit after its grace
    period (5 minutes), and updated_at also moves when a post is hidden, withdrawn or rebaked, which are not
    edits; an edit within the grace period is not one either, for Discourse as here."""
    if (number(post.get("version")) or 1) <= 1:
        return None
    try:
        return parse_date(post.get("updated_at") or "")
    except ValueError:
        return None


def _likes(post: Mapping[str, Any]) -> int | None:
    summary = post.get("actions_summary")
    if not isinstance(summary, list):
        return None
    return next((number(a.get("count")) for a in summary if isinstance(a, dict) and a.get("id") == LIKE), 0)
