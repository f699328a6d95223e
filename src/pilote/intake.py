"""One way in for every message: file imports, uploads, feed and connector syncs and the demo all write here.

`write` turns a stream of items into committed batches of unique external ids; each batch is one
transaction that also notes the hours the dashboards must recount and moves the caller's checkpoint (an
import run's position, a connector's cursor), so a crash leaves whole batches and a resumable position,
never half a batch. `finish` links what arrived before its parent, recounts the dashboards if asked, and
hands the workspace to `analyse` — the caller's choice: run the analysis now (the command line, which shows
its progress), queue it as a job (the web: no request runs it inline), or nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, and_, select
from sqlalchemy.orm import Session

from pilote import rollups
from pilote.bulk import db_time, insert_rows
from pilote.db import begin_write, retry_locked
from pilote.ingest import MAX_RAW_CHARS, Counts, Pending, Target, label_t, message_t, write_batch
from pilote.linking import relink
from pilote.models import Source, utcnow
from pilote.sources.base import Item, ItemError, SourceInfo

ERROR_SAMPLES = 20
Analyse = Callable[[int], None]  # given a workspace id: analyse its new messages, now or later


@dataclass(slots=True)
class Written:
    """How far a stream has been written: entries read (the checkpoint), counts, a few error samples."""

    position: int = 0
    counts: Counts = field(default_factory=Counts)
    samples: list[str] = field(default_factory=list)


Checkpoint = Callable[[Connection, Written, bool], None]  # (transaction, progress so far, last batch?)


def open_source(session: Session, workspace_id: int, info: SourceInfo) -> Source:
    """The source items of `info` belong to, created on first sight; its last activity is now."""
    source = session.scalar(
        select(Source).where(Source.workspace_id == workspace_id, Source.kind == info.kind, Source.key == info.key)
    )
    if source is None:
        source = Source(workspace_id=workspace_id, kind=info.kind, key=info.key, name=info.name,
                        channel=info.channel, url=info.url)  # fmt: skip
        session.add(source)
    source.last_run_at = utcnow()
    session.flush()
    return source


def write(
    engine: Engine,
    target: Target,
    entries: Iterable[Item | ItemError],
    *,
    batch_size: int,
    start: Written | None = None,
    checkpoint: Checkpoint | None = None,
    progress: Callable[[int], None] | None = None,
) -> Written:
    """Write the entries after `start.position` in batches of unique external ids; `checkpoint` runs in
    each batch's transaction (its last argument True for the last batch, which always commits, even empty)."""
    done = dataclasses.replace(start) if start is not None else Written()
    done.samples = list(done.samples)
    position, batches = 0, 0
    batch: dict[str, Item] = {}
    errors: list[ItemError] = []
    for entry in entries:
        position += 1
        if position <= done.position:
            continue
        if isinstance(entry, Item) and len(entry.raw) > MAX_RAW_CHARS:
            entry = ItemError(f"item {entry.external_id}", "larger than 10 MB: skipped")
        if isinstance(entry, ItemError):
            errors.append(entry)
            continue
        if entry.external_id in batch or len(batch) >= batch_size:
            done = _commit(engine, target, list(batch.values()), errors, done, position - 1, checkpoint, False)
            batch, errors, batches = {}, [], batches + 1
            if batches & (batches - 1) == 0:  # 1, 2, 4, 8... batches: O(log n) refreshes
                refresh_statistics(engine)
            if progress is not None:
                progress(position - 1)
        batch[entry.external_id] = entry
    done = _commit(engine, target, list(batch.values()), errors, done, max(position, done.position), checkpoint, True)
    if progress is not None:
        progress(position)
    return done


def refresh_statistics(engine: Engine) -> None:
    """Let PostgreSQL's planner see the tables grow; with stale statistics it scans instead of seeking."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE message, author")


def _commit(
    engine: Engine,
    target: Target,
    items: list[Item],
    errors: list[ItemError],
    done: Written,
    position: int,
    checkpoint: Checkpoint | None,
    last: bool,
) -> Written:
    """One batch, its dashboard hours and the checkpoint in one transaction; the counts move once it commits.
    On SQLite the batch waits for the write lock, and is written again from the start if another writer held
    it too long ("database is locked"): a long import shares the store with the server's ticks and syncs."""

    def attempt() -> Written:
        with begin_write(engine) as conn:
            pending: list[Pending] = []
            counts = write_batch(conn, target, items, pending)
            rollups.mark_written(conn, target.channel, pending)
            counts.errors = len(errors)
            total = dataclasses.replace(done.counts)
            total.add(counts)
            room = max(ERROR_SAMPLES - len(done.samples), 0)
            after = Written(position, total, done.samples + [f"{e.where}: {e.problem}" for e in errors[:room]])
            if checkpoint is not None:
                checkpoint(conn, after, last)
        return after

    return retry_locked(attempt)


def mark_deleted(conn: Connection, source_id: int, external_ids: Iterable[str]) -> int:
    """Messages the platform says were deleted keep their text (the store is the organisation's record) but
    take the source's "deleted" status, which every count leaves out; returns how many were found."""
    wanted = list(dict.fromkeys(external_ids))
    if not wanted:
        return 0
    m, label = message_t, label_t
    ids: list[int] = []
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        ids += conn.scalars(select(m.c.id).where(and_(m.c.source_id == source_id, m.c.external_id.in_(chunk)))).all()
    if not ids:
        return 0
    conn.execute(label.delete().where(and_(label.c.message_id.in_(ids), label.c.name == "status",
                                           label.c.origin == "import")))  # fmt: skip
    now = db_time(conn)(utcnow())
    insert_rows(conn, "label", ("message_id", "name", "value", "origin", "created_at"),
                [(i, "status", "deleted", "import", now) for i in ids])  # fmt: skip
    rollups.mark(conn, ids)
    return len(ids)


def finish(
    engine: Engine,
    *,
    workspace_id: int,
    source_id: int,
    changed: bool,
    refresh_rollups: bool = True,
    analyse: Analyse | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """After a stream: link replies that came before their parents, recount the dashboards (unless the
    caller leaves it to the analysis that follows), then hand the workspace to `analyse` if anything changed."""

    def attempt() -> None:
        with begin_write(engine) as conn:
            relink(conn, source_id=source_id)
            if refresh_rollups:
                rollups.refresh_dirty(conn, progress)

    retry_locked(attempt)
    if changed and analyse is not None:
        analyse(workspace_id)
