"""WordPress REST API objects (wp/v2 posts and comments) as items, and WordPress's error bodies in words.

A post is `post:ID` and a comment `comment:ID`, as in a WXR export of the same blog, and authors are keyed
the same way (a post's author by their user slug; a guest commenter by the hash of their e-mail when the
credentials show it, else by name), on the blog's channel, so that an export and the live blog meet. A
comment by a registered user whose profile the API shows is keyed by that user's slug, like their posts:
the team's replies are the team's. The raw payload is the object without its `_links`, with only the
embedded author kept, and without the commenter's e-mail, IP address and browser (their e-mail's SHA-256
stays, which is all the author key needs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from pilote.errors import fill
from pilote.sources.base import AuthorRef, Item, ItemError, email_hash, person
from pilote.sources.dates import parse_date
from pilote.text import html_to_text
from pilote.texts import N_

STATUS_LABELS: dict[str, tuple[tuple[str, str], ...]] = {
    "approved": (("status", "approved"),),
    "hold": (("status", "pending"),),
    "spam": (("status", "spam"), ("spam", "spam")),
    "trash": (("status", "trash"),),
    "post-trashed": (("status", "trash"),),  # a comment of a post in the trash
}
PRIVATE_FIELDS = ("author_email", "author_ip", "author_user_agent")
LINKED_KINDS = {"pingback", "trackback"}

_CODE = re.compile(r'"code"\s*:\s*"([A-Za-z0-9_.-]{1,100})"')
_MESSAGE = re.compile(r'"message"\s*:\s*("(?:[^"\\]|\\.){0,1000}")')
_STATUS = re.compile(r'"status"\s*:\s*(\d{3})')


def post_item(post: Any, where: str) -> Item | ItemError | None:
    """A published post, the root of its comments' thread; None for one that is not published."""
    if not isinstance(post, dict) or not _id(post):
        return ItemError(where, N_("a post without a numeric id: skipped"))
    if post.get("status", "publish") != "publish":
        return None  # drafts, scheduled and private posts are not public conversations
    created = date_of(post, "date")
    if created is None:
        return ItemError(where, fill(N_("post %(post)s: no valid date_gmt: skipped"), {"post": post["id"]}))
    modified = date_of(post, "modified")
    html = _rendered(post, "content") or _rendered(post, "excerpt")
    key = f"post:{post['id']}"
    return _item(
        where,
        post,
        external_id=key,
        kind="post",
        created_at=created,
        text=html_to_text(html),
        html=html or None,
        title=html_to_text(_rendered(post, "title")) or None,
        url=_text(post.get("link")),
        thread_external_id=key,
        author=_post_author(post),
        edited_at=modified if modified and modified > created else None,
    )


def comment_item(comment: Any, where: str) -> Item | ItemError:
    """A comment (or a reply to one), labelled with its moderation status."""
    if not isinstance(comment, dict) or not _id(comment):
        return ItemError(where, N_("a comment without a numeric id: skipped"))
    created = date_of(comment, "date")
    if created is None:
        return ItemError(where, fill(N_("comment %(comment)s: no valid date_gmt: skipped"), {"comment": comment["id"]}))
    post, parent = _number(comment.get("post")), _number(comment.get("parent"))
    thread = f"post:{post}" if post else None
    kind = str(comment.get("type") or "comment")
    status = str(comment.get("status") or "approved")
    html = _rendered(comment, "content")
    return _item(
        where,
        comment,
        external_id=f"comment:{comment['id']}",
        kind=kind if kind in LINKED_KINDS else "reply" if parent else "comment",
        created_at=created,
        text=html_to_text(html),
        html=html,
        url=_text(comment.get("link")),
        parent_external_id=f"comment:{parent}" if parent else thread,
        thread_external_id=thread,
        author=_comment_author(comment),
        labels=STATUS_LABELS.get(status, (("status", status),)),
    )


def date_of(obj: dict[str, Any], field: str) -> datetime | None:
    """`field`_gmt as an aware UTC time (else the site-local `field`, read as UTC); None when neither is valid."""
    for value in (obj.get(f"{field}_gmt"), obj.get(field)):
        if isinstance(value, str) and value:
            try:
                return parse_date(value)
            except ValueError:
                continue
    return None


def raw_json(obj: dict[str, Any]) -> str:
    """The object as stored: compact, keys sorted, without links nor personal data (see the module's doc)."""
    kept = {key: value for key, value in obj.items() if key not in ("_links", "_embedded", *PRIVATE_FIELDS)}
    digest = email_hash(_text(obj.get("author_email")))
    if digest:
        kept["author_email_sha256"] = digest
    embedded = embedded_author(obj)
    if embedded:
        kept["_embedded"] = {"author": [embedded]}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS).decode()


def embedded_author(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The object's author as `_embed=author` gave it (id, name, slug, link), when the API showed them."""
    embedded = obj.get("_embedded")
    users = embedded.get("author") if isinstance(embedded, dict) else None
    for user in users if isinstance(users, list) else []:
        if isinstance(user, dict) and user.get("id") == obj.get("author") and isinstance(user.get("slug"), str):
            return {key: user[key] for key in ("id", "name", "slug", "link") if key in user}
    return None


@dataclass(slots=True, frozen=True)
class Said:
    """What a WordPress error body says: {"code": ..., "message": ..., "data": {"status": ...}}."""

    code: str
    message: str
    status: int | None


def wordpress_error(text: str) -> Said | None:
    """The WordPress error body quoted in an error's message (its head may be cut short), if there is one."""
    code = _CODE.search(text)
    if code is None:
        return None
    message, status = _MESSAGE.search(text), _STATUS.search(text)
    try:
        said = orjson.loads(message.group(1)) if message else ""
    except orjson.JSONDecodeError:
        said = ""
    words = html_to_text(said) if isinstance(said, str) else ""
    return Said(code.group(1), words, int(status.group(1)) if status else None)


def _item(where: str, obj: dict[str, Any], **fields: Any) -> Item | ItemError:
    try:
        return Item(raw=raw_json(obj), **fields)
    except orjson.JSONEncodeError as error:  # a number JSON allows and orjson does not write (beyond 64 bits)
        return ItemError(
            where, fill(N_("%(fields)s: %(error)s: skipped"), {"fields": fields["external_id"], "error": error})
        )


def _post_author(post: dict[str, Any]) -> AuthorRef | None:
    user = embedded_author(post)
    if user:
        return person(name=_text(user.get("name")), handle=user["slug"], url=_text(user.get("link")))
    number = _number(post.get("author"))
    return person(name=None, handle=f"user-{number}") if number else None


def _comment_author(comment: dict[str, Any]) -> AuthorRef | None:
    name, url = _text(comment.get("author_name")), _text(comment.get("author_url"))
    user = embedded_author(comment)
    if user:
        return person(name=name or _text(user.get("name")), handle=user["slug"], url=url or _text(user.get("link")))
    return person(name=name, email=_text(comment.get("author_email")), url=url)


def _rendered(obj: dict[str, Any], field: str) -> str:
    value = obj.get(field)
    rendered = value.get("rendered") if isinstance(value, dict) else value
    return rendered if isinstance(rendered, str) else ""


def _id(obj: dict[str, Any]) -> bool:
    value = obj.get("id")
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
