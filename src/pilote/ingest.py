"""Writing normalised items into the store: idempotent upserts, batched, resumable after a crash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update

from pilote.models import Author, Engagement, Label, Message, utcnow
from pilote.sources.base import Counters, Item
from pilote.text import clean, html_to_text, sanitise_html

MAX_RAW_CHARS = 10_000_000
AUTHOR_CACHE_LIMIT = 200_000
message_t = cast(Table, Message.__table__)
author_t = cast(Table, Author.__table__)
engagement_t = cast(Table, Engagement.__table__)
label_t = cast(Table, Label.__table__)


@dataclass(slots=True)
class Counts:
    """What a run did to the store."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0

    def add(self, other: Counts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.errors += other.errors


@dataclass(slots=True)
class Target:
    """Where a batch goes: the workspace, the source, its channel and the run writing it."""

    workspace_id: int
    source_id: int
    channel: str
    run_id: int | None = None
    authors: dict[str, int] = field(default_factory=dict)


def raw_hash(raw: str) -> str:
    """A short digest of the raw payload: equal payloads mean an unchanged message."""
    return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def write_batch(conn: Connection, target: Target, items: list[Item]) -> Counts:
    """Insert new items, update changed ones, leave identical ones alone; one round trip each."""
    counts = Counts()
    existing = _existing(conn, target.source_id, [item.external_id for item in items])
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    pending: list[tuple[Item, dict[str, Any]]] = []
    for item in items:
        digest = raw_hash(item.raw)
        old = existing.get(item.external_id)
        if old is not None and old["raw_hash"] == digest:
            counts.unchanged += 1
            continue
        row = _row(item, target, digest)
        pending.append((item, row))
        if old is None:
            new_rows.append(row)
        else:
            row["_id"] = old["id"]
            row["_relink"] = old["parent_external_id"] != row["parent_external_id"]
            changed_rows.append(row)
    if not pending:
        return counts
    _attach_authors(conn, target, pending)
    ids = _insert_new(conn, new_rows)
    _update_changed(conn, changed_rows)
    _write_labels(conn, pending, ids, [row["_id"] for row in changed_rows])
    _write_engagement(conn, pending, ids, existing)
    counts.new, counts.updated = len(new_rows), len(changed_rows)
    return counts


def _existing(conn: Connection, source_id: int, external_ids: list[str]) -> dict[str, dict[str, Any]]:
    columns = (
        message_t.c.id,
        message_t.c.external_id,
        message_t.c.raw_hash,
        message_t.c.parent_external_id,
        message_t.c.likes,
        message_t.c.shares,
        message_t.c.replies,
        message_t.c.views,
    )
    query = select(*columns).where(message_t.c.source_id == source_id, message_t.c.external_id.in_(external_ids))
    return {row.external_id: dict(row._mapping) for row in conn.execute(query)}


def _row(item: Item, target: Target, digest: str) -> dict[str, Any]:
    html = sanitise_html(item.html) if item.html else None
    text = item.text or (html_to_text(item.html) if item.html else "")
    counters = item.counters or Counters()
    return {
        "workspace_id": target.workspace_id,
        "source_id": target.source_id,
        "external_id": clean(item.external_id, 500),
        "kind": item.kind,
        "parent_external_id": clean(item.parent_external_id, 500),
        "thread_external_id": clean(item.thread_external_id, 500),
        "parent_id": None,
        "thread_id": None,
        "author_id": None,
        "title": clean(item.title),
        "text": clean(text) or "",
        "html": clean(html),
        "url": clean(item.url, 4000),
        "language": item.language,
        "created_at": item.created_at,
        "edited_at": item.edited_at,
        "fetched_at": utcnow(),
        "likes": counters.likes,
        "shares": counters.shares,
        "replies": counters.replies,
        "views": counters.views,
        "raw": clean(item.raw, MAX_RAW_CHARS),
        "raw_hash": digest,
        "import_run_id": target.run_id,
    }


def _attach_authors(conn: Connection, target: Target, pending: list[tuple[Item, dict[str, Any]]]) -> None:
    wanted = {item.author.key: item.author for item, _ in pending if item.author is not None}
    missing = [key for key in wanted if key not in target.authors]
    if missing:
        if len(target.authors) > AUTHOR_CACHE_LIMIT:
            target.authors.clear()
        query = select(author_t.c.key, author_t.c.id).where(
            author_t.c.workspace_id == target.workspace_id,
            author_t.c.channel == target.channel,
            author_t.c.key.in_(missing),
        )
        target.authors.update({row.key: row.id for row in conn.execute(query)})
        rows = [
            {
                "workspace_id": target.workspace_id,
                "channel": target.channel,
                "key": a.key,
                "handle": clean(a.handle, 500),
                "display_name": clean(a.name, 500),
                "profile_url": clean(a.url, 4000),
                "email_hash": a.email_hash,
                "created_at": utcnow(),
            }
            for key, a in wanted.items()
            if key not in target.authors
        ]
        if rows:
            statement = insert(author_t).returning(author_t.c.key, author_t.c.id, sort_by_parameter_order=True)
            target.authors.update({row.key: row.id for row in conn.execute(statement, rows)})
    for item, row in pending:
        if item.author is not None:
            row["author_id"] = target.authors[item.author.key]


def _insert_new(conn: Connection, rows: list[dict[str, Any]]) -> dict[str, int]:
    if not rows:
        return {}
    statement = insert(message_t).returning(message_t.c.external_id, message_t.c.id, sort_by_parameter_order=True)
    return {row.external_id: row.id for row in conn.execute(statement, rows)}


_UPDATABLE = (
    "kind",
    "parent_external_id",
    "thread_external_id",
    "author_id",
    "title",
    "text",
    "html",
    "url",
    "language",
    "created_at",
    "edited_at",
    "fetched_at",
    "likes",
    "shares",
    "replies",
    "views",
    "raw",
    "raw_hash",
    "import_run_id",
)


def _update_changed(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Rewrite changed messages; one whose parent moved is unlinked for relink() to place again."""
    if not rows:
        return
    values: dict[str, Any] = {name: bindparam(name) for name in _UPDATABLE}
    statement = update(message_t).where(message_t.c.id == bindparam("_id")).values(**values)
    conn.execute(statement, [{name: row[name] for name in (*_UPDATABLE, "_id")} for row in rows])
    moved = [row["_id"] for row in rows if row["_relink"]]
    if moved:
        conn.execute(update(message_t).where(message_t.c.id.in_(moved)).values(parent_id=None, thread_id=None))


def _write_labels(
    conn: Connection, pending: list[tuple[Item, dict[str, Any]]], new_ids: dict[str, int], changed: list[int]
) -> None:
    if changed:
        conn.execute(delete(label_t).where(label_t.c.origin == "import", label_t.c.message_id.in_(changed)))
    now = utcnow()
    rows = [
        {
            "message_id": new_ids.get(item.external_id, row.get("_id")),
            "name": label,
            "value": value,
            "origin": "import",
            "created_by": None,
            "created_at": now,
        }
        for item, row in pending
        for label, value in item.labels
    ]
    if rows:
        conn.execute(insert(label_t), rows)


def _write_engagement(
    conn: Connection,
    pending: list[tuple[Item, dict[str, Any]]],
    new_ids: dict[str, int],
    existing: dict[str, dict[str, Any]],
) -> None:
    now = utcnow()
    rows = []
    for item, row in pending:
        if item.counters is None:
            continue
        old = existing.get(item.external_id)
        counters = {name: row[name] for name in ("likes", "shares", "replies", "views")}
        if old is not None and all(old[name] == value for name, value in counters.items()):
            continue
        rows.append({"message_id": new_ids.get(item.external_id, row.get("_id")), "captured_at": now, **counters})
    if rows:
        conn.execute(insert(engagement_t), rows)
