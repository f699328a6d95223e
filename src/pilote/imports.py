"""An import run: detect, check the whole file, then write it in checkpointed batches."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.orm import Session

from pilote import intake, sources, workspaces
from pilote.accounts import audit
from pilote.errors import BadInput, Invalid
from pilote.ingest import Counts, Target
from pilote.models import ImportRun, utcnow
from pilote.sources.base import Countable, ImportFormat, ParseOptions
from pilote.texts import N_

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
        raise BadInput(
            path, None, N_("no messages found in this %(format)s file"), N_("is it the right export?"), format=fmt.name
        )
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
    analyse: intake.Analyse | None = None,
    by: audit.Actor = audit.CLI,
) -> ImportReport:
    """Import one file through the intake; an unfinished run of the same file is resumed from its checkpoint.
    With `refresh_rollups` False the hours it wrote stay noted in `rollup_dirty` for whoever runs next (an
    enrichment run that follows recounts them once, instead of twice); `analyse` gets the workspace when the
    import changed anything."""
    options = options or ParseOptions()
    started, cpu_started = time.perf_counter(), time.process_time()
    fmt = sources.get_format(format) if format else sources.detect(path)
    info = fmt.describe(path, options)
    total = check(fmt, path, options, progress)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace, create_default=True)
        source = intake.open_source(session, space.id, info)
        run = _open_run(session, space.id, source.id, path, fmt, fingerprint(path, fmt, options), total)
        audit.record(session, actor=by, action="file imported", target=f"import run {run.id}", workspace_id=space.id,
                     after={"file": path.name, "format": fmt.name, "source": source.id, "items": total})  # fmt: skip
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
    start = intake.Written(report.resumed_from, report.counts, report.error_samples)
    try:
        moved = None if progress is None else partial(_moved, progress, total)
        done = intake.write(engine, target, fmt.parse(path, options), batch_size=batch_size, start=start,
                            checkpoint=partial(_checkpoint, run.id), progress=moved)  # fmt: skip
    except BaseException as error:
        _close(engine, run.id, "interrupted" if isinstance(error, KeyboardInterrupt) else "failed", str(error))
        raise
    report.counts, report.error_samples = done.counts, done.samples
    changed = bool(done.counts.new or done.counts.updated)
    recount = None if progress is None else partial(progress, "updating the dashboards")
    intake.finish(engine, workspace_id=space.id, source_id=source.id, changed=changed,
                  refresh_rollups=refresh_rollups, analyse=analyse, progress=recount)  # fmt: skip
    _close(engine, run.id, "completed", None)
    report.seconds = time.perf_counter() - started
    report.cpu_seconds = time.process_time() - cpu_started
    return report


def _counts(run: ImportRun) -> Counts:
    return Counts(new=run.new, updated=run.updated, unchanged=run.unchanged, errors=run.errors, erased=run.erased)


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
            raise Invalid(
                N_("%(path)s is being imported by another process (pid %(pid)s); wait for it"),
                path=str(path),
                pid=unfinished.pid,
            )
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


def _moved(progress: Progress, total: int, position: int) -> None:
    progress("importing", position, total)


def _checkpoint(run_id: int, conn: Connection, done: intake.Written, _last: bool) -> None:
    """The run's position and counts move in the batch's own transaction."""
    counts = done.counts
    conn.execute(
        update(ImportRun)
        .where(ImportRun.id == run_id)
        .values(done=done.position, new=counts.new, updated=counts.updated, unchanged=counts.unchanged,
                errors=counts.errors, erased=counts.erased, error_samples=json.dumps(done.samples))
    )  # fmt: skip


def _close(engine: Engine, run_id: int, status: str, message: str | None) -> None:
    with Session(engine) as session, session.begin():
        run = session.get_one(ImportRun, run_id)
        run.status, run.message, run.finished_at = status, message, utcnow()
