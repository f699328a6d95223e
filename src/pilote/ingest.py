"""Writing normalised items into the store: idempotent upserts, batched, resumable after a crash.

Each batch costs a fixed number of round trips whatever its size: one look-up of what exists, one
for authors, one for parents and threads stored earlier, then bulk inserts and updates. Parent and
thread ids are resolved before the insert (ids are allocated up front), so only items whose parent
has not arrived yet are left for `linking.relink`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, insert, or_, select, update

from pilote import linking, traces
from pilote.bulk import allocate_ids, db_time, index_new, insert_rows, messages_by_external_id
from pilote.models import (
    Author,
    Embedding,
    Engagement,
    Enrichment,
    ErasedIdentity,
    Label,
    Message,
    Source,
    json_object,
    utcnow,
)
from pilote.sources.base import Item
from pilote.text import clean, html_to_text, sanitise_html

MAX_RAW_CHARS = 10_000_000
AUTHOR_CACHE_LIMIT = 200_000
RECENT_LIMIT = 200_000
COUNTERS = ("likes", "shares", "replies", "views")
message_t = cast(Table, Message.__table__)
author_t = cast(Table, Author.__table__)
engagement_t = cast(Table, Engagement.__table__)
enrichment_t = cast(Table, Enrichment.__table__)
embedding_t = cast(Table, Embedding.__table__)
label_t = cast(Table, Label.__table__)
source_t = cast(Table, Source.__table__)


@dataclass(slots=True)
class Counts:
    """What a run did to the store."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    erased: int = 0  # skipped: written by a person erased on request (pilote.privacy)

    def add(self, other: Counts) -> None:
        self.new += other.new
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.errors += other.errors
        self.erased += other.erased


@dataclass(slots=True)
class Target:
    """Where a batch goes: the workspace, the source, its channel and the run writing it."""

    workspace_id: int
    source_id: int
    channel: str
    run_id: int | None = None
    authors: dict[str, int] = field(default_factory=dict)
    # Messages this writer inserted (external id → id, thread id): most parents are recent messages.
    recent: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    # The digests of the workspace's identities erased on request (`identity_digest`), read once per writer.
    erased: frozenset[str] | None = None


@dataclass(slots=True)
class Pending:
    """An item to write, with its row (column → database value) and, for an update, its old state."""

    item: Item
    row: dict[str, Any]
    old: dict[str, Any] | None = None


def raw_hash(raw: str) -> str:
    """A short digest of the raw payload: equal payloads mean an unchanged message."""
    return hashlib.blake2b(raw.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def identity_digest(channel: str, key: str) -> str:
    """The opaque reference of an identity (an author's channel and key) kept when it is erased on request."""
    return hashlib.sha256(f"{channel}\n{key}".encode("utf-8", "surrogatepass")).hexdigest()


def write_batch(conn: Connection, target: Target, items: list[Item], written: list[Pending] | None = None) -> Counts:
    """Insert new items, update changed ones, leave identical ones alone, skip those of a person erased on
    request; `written` receives what was written."""
    # Writing first takes SQLite's write lock, which allocate_ids relies on.
    conn.execute(update(source_t).where(source_t.c.id == target.source_id).values(last_run_at=utcnow()))
    counts = Counts()
    kept = _not_erased(conn, target, items)
    counts.erased, items = len(items) - len(kept), kept
    existing = _existing(conn, target.source_id, [item.external_id for item in items])
    now = utcnow()
    fresh: list[Pending] = []
    changed: list[Pending] = []
    for item in items:
        digest = raw_hash(item.raw)
        old = existing.get(item.external_id)
        if old is not None and old["raw_hash"] == digest:
            counts.unchanged += 1
            continue
        pending = Pending(item, _row(item, target, digest, now), old)
        (fresh if old is None else changed).append(pending)
    if fresh or changed:
        _attach_authors(conn, target, [*fresh, *changed])
        _insert_new(conn, target, fresh)
        linking.hand_over(conn, target.source_id, {p.row["external_id"]: p.row["id"] for p in fresh})
        _update_changed(conn, changed)
        _write_traces(conn, target, fresh, changed)
        for pending in changed:  # its thread may be recomputed by relink(): forget what we knew
            target.recent.pop(pending.item.external_id, None)
        _write_labels(conn, [*fresh, *changed], [p.row["id"] for p in changed])
        _write_engagement(conn, [*fresh, *changed])
    counts.new, counts.updated = len(fresh), len(changed)
    if written is not None:
        written.extend(fresh)
        written.extend(changed)
    return counts


def _not_erased(conn: Connection, target: Target, items: list[Item]) -> list[Item]:
    """The items not written by an identity erased on request (an old export would bring the person back)."""
    if target.erased is None:
        query = select(ErasedIdentity.digest).where(ErasedIdentity.workspace_id == target.workspace_id)
        target.erased = frozenset(conn.scalars(query))
    if not target.erased:
        return items
    gone = target.erased
    return [i for i in items if i.author is None or identity_digest(target.channel, i.author.key) not in gone]


EXISTING = (
    "external_id", "id", "raw_hash", "parent_external_id", "likes", "shares", "replies", "views", "fetched_at",
)  # fmt: skip


def _existing(conn: Connection, source_id: int, external_ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = messages_by_external_id(conn, source_id, external_ids, EXISTING)
    return {row[0]: dict(zip(EXISTING, row, strict=True)) for row in rows}


def _row(item: Item, target: Target, digest: str, now: datetime) -> dict[str, Any]:
    html, text = _content(item)
    counters = item.counters
    return {
        "id": None, "workspace_id": target.workspace_id, "source_id": target.source_id,
        "external_id": clean(item.external_id, 500), "kind": item.kind,
        "parent_external_id": clean(item.parent_external_id, 500),
        "thread_external_id": clean(item.thread_external_id, 500),
        "parent_id": None, "thread_id": None, "author_id": None,
        "title": clean(item.title), "text": clean(text) or "", "html": clean(html), "url": clean(item.url, 4000),
        "language": item.language, "created_at": item.created_at, "edited_at": item.edited_at,
        "fetched_at": now,
        "likes": counters.likes if counters else None, "shares": counters.shares if counters else None,
        "replies": counters.replies if counters else None, "views": counters.views if counters else None,
        "raw": clean(item.raw, MAX_RAW_CHARS), "raw_hash": digest, "import_run_id": target.run_id,
    }  # fmt: skip


def _content(item: Item) -> tuple[str | None, str]:
    """Sanitised HTML and plain text; markup-free 'HTML' (most comments) is kept as text only."""
    markup = item.html
    if not markup:
        return None, item.text
    if "<" not in markup and "&" not in markup:
        return None, item.text or markup.strip()
    return sanitise_html(markup), item.text or html_to_text(markup)


def _attach_authors(conn: Connection, target: Target, pending: list[Pending]) -> None:
    wanted = {p.item.author.key: p.item.author for p in pending if p.item.author is not None}
    missing = [key for key in wanted if key not in target.authors]
    if missing:
        if len(target.authors) > AUTHOR_CACHE_LIMIT:
            target.authors.clear()
        _load_authors(conn, target, missing)
        now = utcnow()
        rows: list[dict[str, Any]] = [
            {"workspace_id": target.workspace_id, "channel": target.channel, "key": a.key,
             "handle": clean(a.handle, 500), "display_name": clean(a.name, 500), "profile_url": clean(a.url, 4000),
             "email_hash": a.email_hash, "created_at": now}
            for key, a in wanted.items() if key not in target.authors
        ]  # fmt: skip
        if rows:
            conn.execute(insert(author_t), rows)
            _load_authors(conn, target, [row["key"] for row in rows])
    for p in pending:
        if p.item.author is not None:
            p.row["author_id"] = target.authors[p.item.author.key]


def _load_authors(conn: Connection, target: Target, keys: list[str]) -> None:
    query = select(author_t.c.key, author_t.c.id).where(
        author_t.c.workspace_id == target.workspace_id, author_t.c.channel == target.channel,
        author_t.c.key.in_(keys),
    )  # fmt: skip
    target.authors.update({row.key: row.id for row in conn.execute(query)})


def _insert_new(conn: Connection, target: Target, fresh: list[Pending]) -> None:
    if not fresh:
        return
    # Parents first: a reply then finds its parent's thread, and SQLite never holds a reply whose parent is
    # still to come (while one is, it looks up, for every row inserted, the rows that point at it).
    fresh = [fresh[index] for index in linking.parents_first([pending.row for pending in fresh])]
    for pending, new_id in zip(fresh, allocate_ids(conn, "message", len(fresh)), strict=True):
        pending.row["id"] = new_id
    _resolve_links(conn, target, fresh)
    to_db = db_time(conn)
    columns = list(fresh[0].row)
    rows = []
    fetched = to_db(fresh[0].row["fetched_at"])  # one moment for the whole batch
    for pending in fresh:
        row = pending.row
        row["created_at"], row["edited_at"] = to_db(row["created_at"]), to_db(row["edited_at"])
        row["fetched_at"] = fetched
        rows.append(tuple(row.values()))
    insert_rows(conn, "message", columns, rows)
    index_new(conn, [pending.row["id"] for pending in fresh])


def _resolve_links(conn: Connection, target: Target, fresh: list[Pending]) -> None:
    """Parent and thread ids from this batch or from earlier ones; the rest waits for relink()."""
    known = {p.row["external_id"]: p.row for p in fresh}
    wanted = {ref for p in fresh for ref in (p.row["parent_external_id"], p.row["thread_external_id"]) if ref}
    outside = [ref for ref in wanted if ref not in known]
    stored = {ref: target.recent[ref] for ref in outside if ref in target.recent}
    missing = [ref for ref in outside if ref not in stored]
    if missing:
        rows = messages_by_external_id(conn, target.source_id, missing, ("external_id", "id", "thread_id"))
        stored.update({external_id: (id_, thread_id) for external_id, id_, thread_id in rows})
    for row in (p.row for p in fresh):
        _place(row, known, stored)
    if len(target.recent) > RECENT_LIMIT:  # forget the oldest half: replies mostly answer recent messages
        for ref in list(islice(target.recent, RECENT_LIMIT // 2)):
            del target.recent[ref]
    target.recent.update({ref: (row["id"], row["thread_id"]) for ref, row in known.items()})


def _place(row: dict[str, Any], known: dict[str, dict[str, Any]], stored: dict[str, tuple[int, int | None]]) -> None:
    parent_ref, thread_ref = row["parent_external_id"], row["thread_external_id"]
    parent = known.get(parent_ref) if parent_ref else None
    if parent is not None and parent is not row:
        row["parent_id"] = parent["id"]
    elif parent_ref in stored:
        row["parent_id"] = stored[parent_ref][0]
    if thread_ref:
        root = known.get(thread_ref)
        row["thread_id"] = root["id"] if root is not None else stored.get(thread_ref, (None, None))[0]
    elif parent_ref is None:
        row["thread_id"] = row["id"]
    elif parent is not None and parent is not row and parent["thread_id"] is not None:
        row["thread_id"] = parent["thread_id"]
    elif parent_ref in stored:
        row["thread_id"] = stored[parent_ref][1]


_UPDATABLE = (
    "kind", "parent_external_id", "thread_external_id", "author_id", "title", "text", "html", "url",
    "language", "created_at", "edited_at", "fetched_at", "likes", "shares", "replies", "views", "raw",
    "raw_hash", "import_run_id",
)  # fmt: skip
# What the analyzers read of a message itself (enrich/batches.read); the language is theirs to say once they ran.
_ANALYSED = ("kind", "title", "text", "author_id", "parent_external_id")
_KEPT_UPDATABLE = tuple(name for name in _UPDATABLE if name != "language")


def _analysed_alike(conn: Connection, changed: list[Pending]) -> tuple[set[int], set[int]]:
    """The ids of changed messages whose analysed fields are what they were, and of those the ones whose
    language the language analyzer found (theirs to keep)."""
    ids = [p.row["id"] for p in changed]
    query = (
        select(enrichment_t.c.versions, message_t.c.id, *(message_t.c[name] for name in _ANALYSED))
        .select_from(message_t.outerjoin(enrichment_t, enrichment_t.c.message_id == message_t.c.id))
        .where(message_t.c.id.in_(ids))
    )
    before = {row[1]: (row[0], tuple(row[2:])) for row in conn.execute(query)}
    kept: set[int] = set()
    detected: set[int] = set()
    for p in changed:
        versions, analysed = before.get(p.row["id"], (None, None))
        if analysed == tuple(p.row[name] for name in _ANALYSED):
            kept.add(p.row["id"])
            if "language" in json_object(versions):
                detected.add(p.row["id"])
    return kept, detected


def _update_changed(conn: Connection, changed: list[Pending]) -> None:
    """Rewrite changed messages; one whose parent moved is unlinked for relink() to place again. When what
    the analyzers read of a message changed, what they found no longer holds: its enrichment row goes, and
    its replies' rows too (the spam head reads the post a reply answers), so every analyzer runs again. When
    only the rest changed (counters, mostly: a sync fetches them again and again), what they found stays, the
    language the language analyzer found included (the source's language still replaces one it gave)."""
    if not changed:
        return
    for pending in changed:
        assert pending.old is not None
        pending.row["id"] = pending.old["id"]
    kept, detected = _analysed_alike(conn, changed)
    groups = (
        (_UPDATABLE, [p for p in changed if p.row["id"] not in detected]),
        (_KEPT_UPDATABLE, [p for p in changed if p.row["id"] in detected]),
    )
    for columns, group in groups:
        if group:
            values: dict[str, Any] = {name: bindparam(name) for name in columns}
            statement = update(message_t).where(message_t.c.id == bindparam("_id")).values(**values)
            conn.execute(statement, [{**{n: p.row[n] for n in columns}, "_id": p.row["id"]} for p in group])
    rewritten = [p.row["id"] for p in changed if p.row["id"] not in kept]
    if rewritten:
        replies = select(message_t.c.id).where(message_t.c.parent_id.in_(rewritten))
        conn.execute(
            delete(enrichment_t).where(
                or_(enrichment_t.c.message_id.in_(rewritten), enrichment_t.c.message_id.in_(replies))
            )
        )
        # The sentence vector of the old words too: the heads would read it when the embeddings do not run.
        conn.execute(delete(embedding_t).where(embedding_t.c.message_id.in_(rewritten)))
    moved = [p.row["id"] for p in changed if p.old and p.old["parent_external_id"] != p.row["parent_external_id"]]
    if moved:
        conn.execute(update(message_t).where(message_t.c.id.in_(moved)).values(parent_id=None, thread_id=None))


def _write_traces(conn: Connection, target: Target, fresh: list[Pending], changed: list[Pending]) -> None:
    """Where each message comes from and points to, for the spam judgement's bursts (`pilote.traces`)."""
    written = []
    for p in (*fresh, *changed):
        row, author = p.row, p.item.author
        thread = traces.thread_of(target.source_id, row["thread_external_id"], row["parent_external_id"],
                                  row["external_id"])  # fmt: skip
        written.append(traces.Written(row["id"], target.workspace_id, p.item.created_at, row["author_id"], thread,
                                      author.url if author else None, author.email_hash if author else None,
                                      row["text"], row["html"]))  # fmt: skip
    traces.record(conn, written, replaced=[p.row["id"] for p in changed])


def _write_labels(conn: Connection, pending: list[Pending], changed_ids: list[int]) -> None:
    """The labels an import brings (moderation status, spam) replace those of its previous version."""
    if changed_ids:
        conn.execute(delete(label_t).where(label_t.c.origin == "import", label_t.c.message_id.in_(changed_ids)))
    now = db_time(conn)(utcnow())
    rows = [(p.row["id"], name, value, "import", now) for p in pending for name, value in p.item.labels]
    insert_rows(conn, "label", ("message_id", "name", "value", "origin", "created_at"), rows)


def _write_engagement(conn: Connection, pending: list[Pending]) -> None:
    """When counters change, the values they replace become a snapshot (taken when they were fetched).

    The message row always holds the latest counters, so history is the snapshots plus the message:
    a first import writes no snapshot at all.
    """
    rows = []
    for p in pending:
        old = p.old
        if p.item.counters is None or old is None:
            continue
        previous = (old["likes"], old["shares"], old["replies"], old["views"])
        row = p.row
        if previous != (row["likes"], row["shares"], row["replies"], row["views"]) and any(
            value is not None for value in previous
        ):
            rows.append((row["id"], old["fetched_at"], *previous))
    insert_rows(conn, "engagement", ("message_id", "captured_at", *COUNTERS), rows)
