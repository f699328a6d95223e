"""Bluesky's post views (AT Protocol JSON) as Items: one reading shared by the connector and the file format.

A post view (`app.bsky.feed.defs#postView`) and a notification both carry `uri`, `cid`, `author`,
`record` and `indexedAt`; only the post view has counters. docs/connectors/bluesky.md says how fields map.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pilote.errors import fill
from pilote.sources.base import AuthorRef, Counters, Item, ItemError, person
from pilote.sources.dates import parse_date
from pilote.texts import N_

APP = "https://bsky.app"
POST_COLLECTION = "app.bsky.feed.post"
NOT_FOUND = "app.bsky.feed.defs#notFoundPost"
REPOST = "app.bsky.feed.defs#reasonRepost"
MESSAGE_REASONS = frozenset({"mention", "reply", "quote"})  # likes, reposts and follows are not messages
QUOTE_EMBEDS = {"app.bsky.embed.record": ("record",), "app.bsky.embed.recordWithMedia": ("record", "record")}
# Labels Bluesky's moderation puts on a post, as Pilote's moderation labels.
MODERATION = {
    "spam": (("status", "spam"), ("spam", "spam")),
    "!takedown": (("status", "deleted"),),
    "!hide": (("status", "deleted"),),
}


def post_item(view: Any, *, where: str = "post", mention: bool = False) -> Item | ItemError:
    """A post view (or a notification) as an Item; `mention`: a post by someone else that names the account."""
    if not isinstance(view, dict):
        return ItemError(where, N_("not a JSON object: skipped"))
    uri = _text(view.get("uri"))
    if uri is None or not uri.startswith("at://"):
        return ItemError(where, N_("post without an at:// uri: skipped"))
    record = view.get("record")
    if not isinstance(record, dict):
        return ItemError(
            fill(N_("%(where)s %(uri)s"), {"where": where, "uri": uri}), N_("post without a record: skipped")
        )
    created_at = _created(record, view)
    if created_at is None:
        return ItemError(
            fill(N_("%(where)s %(uri)s"), {"where": where, "uri": uri}),
            N_("neither record.createdAt nor indexedAt is a date: skipped"),
        )
    author = _author(view.get("author"))
    reply = record.get("reply")
    parent, root = _ref(reply, "parent"), _ref(reply, "root")
    text = record["text"] if isinstance(record.get("text"), str) else ""
    return Item(
        external_id=uri,
        kind="reply" if parent else "share" if quoted(record) else "mention" if mention else "post",
        created_at=created_at,
        raw=to_json(view),
        text=text,
        html=facets_html(text, record.get("facets")),
        url=post_url(uri, author),
        language=_language(record.get("langs")),
        parent_external_id=parent,
        thread_external_id=(root or parent) if parent else None,
        author=author,
        counters=_counters(view),
        labels=_labels(view.get("labels")),
    )


def author_did(view: Any) -> str | None:
    """The DID of a post's author."""
    author = view.get("author") if isinstance(view, dict) else None
    return _text(author.get("did")) if isinstance(author, dict) else None


def sort_time(view: Any) -> datetime | None:
    """When a post or notification takes its place in Bluesky's newest-first lists (the earlier of createdAt
    and indexedAt, as Bluesky sorts them); None when neither is a date."""
    if not isinstance(view, dict):
        return None
    record = view.get("record")
    return _created(record if isinstance(record, dict) else {}, view)


def thread_posts(thread: Any) -> Iterator[tuple[Any, str | None]]:
    """Each post of a thread view (its parents and all its replies) as (view, None), and each deleted one as
    (None, uri); blocked ones are left out. Walked with a stack: a deep thread is not a deep recursion."""
    stack = [thread]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        if node.get("$type") == NOT_FOUND or node.get("notFound") is True:
            uri = _text(node.get("uri"))
            if uri:
                yield None, uri
            continue
        if isinstance(node.get("post"), dict):
            yield node["post"], None
        replies = node.get("replies")
        stack.extend(reversed(replies) if isinstance(replies, list) else [])
        stack.append(node.get("parent"))


def feed_posts(entry: Any) -> Iterator[tuple[Any, str | None]]:
    """The post of a feed entry, then the posts it answers (parent, root) as thread_posts gives them."""
    if not isinstance(entry, dict):
        yield entry, None
        return
    yield entry.get("post"), None
    reply = entry.get("reply")
    for name in ("parent", "root"):
        context = reply.get(name) if isinstance(reply, dict) else None
        if isinstance(context, dict) and context.get("$type") == NOT_FOUND:
            uri = _text(context.get("uri"))
            if uri:
                yield None, uri
        elif isinstance(context, dict) and "record" in context:
            yield context, None


def is_repost(entry: Any) -> bool:
    """Whether a feed entry is there because someone reposted it."""
    reason = entry.get("reason") if isinstance(entry, dict) else None
    return isinstance(reason, dict) and reason.get("$type") == REPOST


def quoted(record: dict[str, Any]) -> str | None:
    """The uri of the post a record quotes (a record embed of a post, with or without media)."""
    embed = record.get("embed")
    path = QUOTE_EMBEDS.get(embed.get("$type", "")) if isinstance(embed, dict) else None
    target: Any = embed
    for name in path or ():
        target = target.get(name) if isinstance(target, dict) else None
    uri = _text(target.get("uri")) if path and isinstance(target, dict) else None
    return uri if uri and f"/{POST_COLLECTION}/" in uri else None


def post_url(uri: str, author: AuthorRef | None) -> str | None:
    """The post's address on bsky.app: /profile/{handle}/post/{rkey} (the DID when the handle is not valid)."""
    parts = uri.removeprefix("at://").split("/")
    if len(parts) != 3 or parts[1] != POST_COLLECTION or not parts[2]:
        return None
    who = author.handle if author is not None and author.key.startswith("did:") else parts[0]
    return f"{APP}/profile/{quote(who, safe=':')}/post/{quote(parts[2], safe='')}"


def facets_html(text: str, facets: Any) -> str | None:
    """The text as HTML with its facets (links, mentions, hashtags) as links; None without any. Facets index
    UTF-8 bytes; one that overlaps another, falls outside the text or cuts a character is left out."""
    if not isinstance(facets, list) or not text:
        return None
    data = text.encode("utf-8", "surrogatepass")
    parts: list[str] = []
    done = 0
    for start, end, href in sorted(filter(None, (_facet(f, len(data)) for f in facets))):
        if start < done:
            continue
        try:
            label = data[start:end].decode("utf-8")
        except UnicodeDecodeError:
            continue
        parts.append(_escape(data[done:start]))
        parts.append(f'<a href="{html.escape(href)}">{html.escape(label)}</a>')
        done = end
    if not parts:
        return None
    parts.append(_escape(data[done:]))
    return "".join(parts)


def reply_refs(raw: str) -> tuple[dict[str, str], dict[str, str]] | None:
    """The references a reply to this post names, from its raw payload: the post as parent and its thread's
    root (the post itself when it answers nothing), each as {uri, cid}; None without a uri and a cid."""
    try:
        view = json.loads(raw)
    except ValueError:
        return None
    parent = _strong_ref(view)
    record = view.get("record") if isinstance(view, dict) else None
    if parent is None or not isinstance(record, dict):
        return None
    reply = record.get("reply")
    root = _strong_ref(reply.get("root")) if isinstance(reply, dict) else None
    return parent, root or parent


def profile_url(handle_or_did: str) -> str:
    """An account's page on bsky.app."""
    return f"{APP}/profile/{quote(handle_or_did, safe=':')}"


def to_json(value: Any) -> str:
    """Compact JSON with sorted keys: an unchanged post hashes the same."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def read_date(value: Any) -> datetime | None:
    """An ISO date as aware UTC, or None."""
    if not isinstance(value, str):
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None


def _strong_ref(value: Any) -> dict[str, str] | None:
    uri, cid = (value.get("uri"), value.get("cid")) if isinstance(value, dict) else (None, None)
    if isinstance(uri, str) and uri.startswith("at://") and isinstance(cid, str) and cid:
        return {"uri": uri, "cid": cid}
    return None


def _facet(facet: Any, size: int) -> tuple[int, int, str] | None:
    index = facet.get("index") if isinstance(facet, dict) else None
    features = facet.get("features") if isinstance(facet, dict) else None
    if not isinstance(index, dict) or not isinstance(features, list) or not features:
        return None
    start, end = index.get("byteStart"), index.get("byteEnd")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= size:
        return None
    href = _href(features[0])
    return (start, end, href) if href else None


def _href(feature: Any) -> str | None:
    if not isinstance(feature, dict):
        return None
    kind = str(feature.get("$type", ""))
    if kind.endswith("#link"):
        uri = _text(feature.get("uri"))
        return uri if uri and uri.lower().startswith(("https://", "http://")) else None
    if kind.endswith("#mention"):
        did = _text(feature.get("did"))
        return profile_url(did) if did and did.startswith("did:") else None
    if kind.endswith("#tag"):
        tag = _text(feature.get("tag"))
        return f"{APP}/hashtag/{quote(tag, safe='')}" if tag else None
    return None


def _escape(data: bytes) -> str:
    return html.escape(data.decode("utf-8", "replace")).replace("\n", "<br>\n")


def _created(record: dict[str, Any], view: dict[str, Any]) -> datetime | None:
    """createdAt (the author's app says it), or indexedAt when it is missing, unreadable or later (a clock
    ahead of Bluesky's)."""
    created, indexed = read_date(record.get("createdAt")), read_date(view.get("indexedAt"))
    if created is None or (indexed is not None and indexed < created):
        return indexed
    return created


def _ref(reply: Any, name: str) -> str | None:
    ref = reply.get(name) if isinstance(reply, dict) else None
    return _text(ref.get("uri")) if isinstance(ref, dict) else None


def _author(value: Any) -> AuthorRef | None:
    """Keyed by DID, which survives a change of handle; `handle.invalid` (Bluesky's word for a handle that no
    longer resolves) is shown as the DID."""
    if not isinstance(value, dict):
        return None
    did, handle, name = _text(value.get("did")), _text(value.get("handle")), _text(value.get("displayName"))
    if did is None:
        return person(name=name, handle=handle, url=profile_url(handle) if handle else None)
    shown = handle if handle and handle != "handle.invalid" else did
    return AuthorRef(key=did, handle=shown, name=name, url=profile_url(shown))


def _counters(view: dict[str, Any]) -> Counters | None:
    likes, reposts, replies, quotes = (_count(view.get(k)) for k in ("likeCount", "repostCount", "replyCount",
                                                                      "quoteCount"))  # fmt: skip
    if likes is None and reposts is None and replies is None and quotes is None:
        return None
    shares = None if reposts is None and quotes is None else (reposts or 0) + (quotes or 0)
    return Counters(likes=likes, shares=shares, replies=replies)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _labels(labels: Any) -> tuple[tuple[str, str], ...]:
    found: dict[tuple[str, str], None] = {}
    for label in labels if isinstance(labels, list) else ():
        if isinstance(label, dict) and label.get("neg") is not True:
            found.update(dict.fromkeys(MODERATION.get(str(label.get("val")), ())))
    return tuple(found)


def _language(langs: Any) -> str | None:
    """The first language the author's app declared, as its primary subtag (pt-BR → pt)."""
    first = _text(langs[0]) if isinstance(langs, list) and langs else None
    code = first.split("-")[0].lower() if first else ""
    return code if code.isalpha() and len(code) <= 8 else None


def _text(value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text or None
