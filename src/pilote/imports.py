"""An import run: detect, check the whole file, then write it in checkpointed batches."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from pilote import rollups, sources, workspaces
from pilote.errors import BadInput, Invalid
from pilote.ingest import MAX_RAW_CHARS, Counts, Pending, Target, write_batch
from pilote.linking import relink
from pilote.models import ImportRun, Source, utcnow
from pilote.sources.base import Countable, ImportFormat, Item, ItemError, ParseOptions, SourceInfo

ERROR_SAMPLES = 20
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class ImportReport:
    """What `pilote import` tells the user about one file."""

    run_id: int
    path: str
    format: str
    workspace: str
    source: str
    total: int
    counts: Counts
    resumed_from: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time: the rate a dedicated core would give
    error_samples: list[str] = field(default_factory=list)


def fingerprint(path: Path, fmt: ImportFormat, options: ParseOptions) -> str:
    """Identifies a file and how it is read, cheaply: size, head, tail and options."""
    digest = hashlib.sha256()
    size = path.stat().st_size
    digest.update(f"{fmt.name}|{size}|{options!r}".encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        if size > 2 << 20:
            handle.seek(size - (1 << 20))
            digest.update(handle.read())
    return digest.hexdigest()


def check(fmt: ImportFormat, path: Path, options: ParseOptions, progress: Progress | None = None) -> int:
    """Read the whole file without writing: BadInput before anything is stored; returns the entry count."""
    if isinstance(fmt, Countable):
        count = fmt.count(path, options)
    else:
        count = 0
        for _entry in fmt.parse(path, options):
            count += 1
            if progress is not None and count % 5000 == 0:
                progress("checking", count, 0)
    if count == 0:
        raise BadInput(path, None, f"no messages found in this {fmt.name} file", "is it the right export?")
    return count


def import_file(
    engine: Engine,
    path: Path,
    *,
    workspace: str | None = None,
    format: str | None = None,
    options: ParseOptions | None = None,
    batch_size: int = 5000,
    progress: Progress | None = None,
    refresh_rollups: bool = True,
) -> ImportReport:
    """Import one file; an unfinished run of the same file is resumed from its checkpoint. With
    `refresh_rollups` False the hours it wrote stay noted in `rollup_dirty` for whoever runs next (an
    enrichment run that follows recounts them once, instead of twice)."""
    options = options or ParseOptions()
    started, cpu_started = time.perf_counter(), time.process_time()
    fmt = sources.get_format(format) if format else sources.detect(path)
    info = fmt.describe(path, options)
    total = check(fmt, path, options, progress)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace, create_default=True)
        source = ensure_source(session, space.id, info)
        run = _open_run(session, space.id, source.id, path, fmt, fingerprint(path, fmt, options), total)
        report = ImportReport(
            run_id=run.id,
            path=str(path),
            format=fmt.name,
            workspace=space.slug,
            source=source.name,
            total=total,
            counts=_counts(run),
            resumed_from=run.done,
        )
        report.error_samples = json.loads(run.error_samples or "[]")
    target = Target(workspace_id=space.id, source_id=source.id, channel=info.channel, run_id=run.id)
    try:
        _write(engine, fmt, path, options, target, report, batch_size, progress)
    except BaseException as error:
        _close(engine, run.id, "interrupted" if isinstance(error, KeyboardInterrupt) else "failed", str(error))
        raise
    with engine.begin() as conn:
        relink(conn, source_id=source.id)
        if refresh_rollups:
            rollups.refresh_dirty(conn, None if progress is None else partial(progress, "updating the dashboards"))
    _close(engine, run.id, "completed", None)
    report.seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - cpu_started
    return report


def _counts(run: ImportRun) -> Counts:
    return Counts(new=run.new, updated=run.updated, unchanged=run.unchanged, errors=run.errors)


def ensure_source(session: Session, workspace_id: int, info: SourceInfo) -> Source:
    """The source a file belongs to, created on first sight; its last activity is now."""
    source = session.scalar(
        select(Source).where(Source.workspace_id == workspace_id, Source.kind == info.kind, Source.key == info.key)
    )
    if source is None:
        source = Source(
            workspace_id=workspace_id,
            kind=info.kind,
            key=info.key,
            name=info.name,
            channel=info.channel,
            url=info.url,
        )
        session.add(source)
    source.last_run_at = utcnow()
    session.flush()
    return source


def _open_run(
    session: Session,
    workspace_id: int,
    source_id: int,
    path: Path,
    fmt: ImportFormat,
    print_: str,
    total: int,
) -> ImportRun:
    unfinished = session.scalar(
        select(ImportRun)
        .where(
            ImportRun.workspace_id == workspace_id,
            ImportRun.fingerprint == print_,
            ImportRun.status.in_(("running", "interrupted", "failed")),
        )
        .order_by(ImportRun.id.desc())
    )
    if unfinished is not None and unfinished.total == total:
        if unfinished.status == "running" and unfinished.pid and _alive(unfinished.pid):
            raise Invalid(f"{path} is being imported by another process (pid {unfinished.pid}); wait for it")
        unfinished.status, unfinished.pid = "running", os.getpid()
        return unfinished
    run = ImportRun(
        workspace_id=workspace_id,
        source_id=source_id,
        path=str(path),
        format=fmt.name,
        fingerprint=print_,
        total=total,
        pid=os.getpid(),
        status="running",
    )
    session.add(run)
    session.flush()
    return run


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write(
    engine: Engine,
    fmt: ImportFormat,
    path: Path,
    options: ParseOptions,
    target: Target,
    report: ImportReport,
    batch_size: int,
    progress: Progress | None,
) -> None:
    """Batches of unique external ids; each commits with the position it reached (the checkpoint)."""
    position = committed = 0
    batch: dict[str, Item] = {}
    errors: list[ItemError] = []
    for entry in fmt.parse(path, options):
        position += 1
        if position <= report.resumed_from:
            continue
        if isinstance(entry, Item) and len(entry.raw) > MAX_RAW_CHARS:
            entry = ItemError(f"item {entry.external_id}", "larger than 10 MB: skipped")
        if isinstance(entry, ItemError):
            errors.append(entry)
            continue
        if entry.external_id in batch or len(batch) >= batch_size:
            _commit(engine, target, list(batch.values()), errors, report, position - 1)
            batch, errors, committed = {}, [], committed + 1
            if committed & (committed - 1) == 0:  # 1, 2, 4, 8... batches: O(log n) refreshes
                refresh_statistics(engine)
            if progress is not None:
                progress("importing", position - 1, report.total)
        batch[entry.external_id] = entry
    _commit(engine, target, list(batch.values()), errors, report, position)
    if progress is not None:
        progress("importing", position, report.total)


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
    report: ImportReport,
    checkpoint: int,
) -> None:
    """Write one batch and move the run's checkpoint in the same transaction."""
    with engine.begin() as conn:
        written: list[Pending] = []
        counts = write_batch(conn, target, items, written)
        rollups.mark_written(conn, target.channel, written)
        counts.errors = len(errors)
        room = ERROR_SAMPLES - len(report.error_samples)
        samples = report.error_samples + [f"{e.where}: {e.problem}" for e in errors[: max(room, 0)]]
        total = dataclasses.replace(report.counts)
        total.add(counts)
        conn.execute(
            update(ImportRun)
            .where(ImportRun.id == target.run_id)
            .values(done=checkpoint, new=total.new, updated=total.updated, unchanged=total.unchanged,
                    errors=total.errors, error_samples=json.dumps(samples))
        )  # fmt: skip
    report.counts, report.error_samples = total, samples  # only once the batch is committed


def _close(engine: Engine, run_id: int, status: str, message: str | None) -> None:
    with Session(engine) as session, session.begin():
        run = session.get_one(ImportRun, run_id)
        run.status, run.message, run.finished_at = status, message, utcnow()
