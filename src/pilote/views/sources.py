"""The Sources page: each source with its last import, its counts and its problems in plain words."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pilote import platforms, rollups, sync
from pilote.accounts import audit
from pilote.errors import Invalid, NotFound
from pilote.models import ImportRun, Source
from pilote.sync import SyncState
from pilote.texts import N_

STATUSES = ("active", "paused")


@dataclass(frozen=True, slots=True)
class LastRun:
    """The latest import into a source."""

    id: int
    path: str
    format: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    total: int
    new: int
    updated: int
    unchanged: int
    errors: int
    error_samples: list[str]
    message: str | None


@dataclass(slots=True)
class SourceRow:
    """A source as the Sources page lists it."""

    id: int
    name: str
    kind: str
    key: str
    channel: str
    url: str | None
    status: str
    created_at: datetime
    last_run_at: datetime | None
    messages: int
    last_run: LastRun | None
    summary: str
    problems: list[str] = field(default_factory=list)
    sync: SyncState | None = None  # set for what Pilote fetches itself: feeds and platforms


def sources(session: Session, workspace_id: int) -> list[SourceRow]:
    """A workspace's sources, by name, with counts (from the rollups) and their last import."""
    found = list(session.scalars(select(Source).where(Source.workspace_id == workspace_id).order_by(Source.name)))
    counts = rollups.sums(session.connection(), workspace_id, ["source"], 0, 2**40 - 1)["source"]
    latest = _last_runs(session, [source.id for source in found])
    return [_row(source, counts.get(str(source.id), (0, 0))[0], latest.get(source.id)) for source in found]


def _last_runs(session: Session, ids: list[int]) -> dict[int, LastRun]:
    newest = select(func.max(ImportRun.id)).where(ImportRun.source_id.in_(ids)).group_by(ImportRun.source_id)
    runs = session.scalars(select(ImportRun).where(ImportRun.id.in_(newest)))
    return {run.source_id: _run(run) for run in runs if run.source_id is not None}


def _run(run: ImportRun) -> LastRun:
    samples = json.loads(run.error_samples or "[]")
    return LastRun(
        run.id, run.path, run.format, run.status, run.started_at, run.finished_at, run.total, run.new,
        run.updated, run.unchanged, run.errors, samples if isinstance(samples, list) else [], run.message,
    )  # fmt: skip


def _row(source: Source, messages: int, run: LastRun | None) -> SourceRow:
    state = sync.feed_state(source) or (sync.state_of(source) if platforms.is_platform(source) else None)
    summary, problems = describe(run) if state is None else describe_sync(state)
    if source.status == "paused":
        summary = f"Paused. {summary}"
    return SourceRow(
        source.id, source.name, source.kind, source.key, source.channel, source.url, source.status,
        source.created_at, source.last_run_at, messages, run, summary, problems, state,
    )  # fmt: skip


def describe_sync(feed: SyncState) -> tuple[str, list[str]]:
    """A feed's or a platform's last sync in one plain sentence, and its problem if it failed."""
    if feed.outcome is None:
        return "Not synced yet.", []
    if feed.outcome == "failed":
        return f"Last sync failed ({feed.error}). Pilote tries again at the next sync.", [feed.error or ""]
    if feed.outcome == "not-modified":
        return "Last sync: nothing new since the one before.", []
    return f"Last sync completed: {feed.new:,} new, {feed.updated:,} updated, {feed.unchanged:,} unchanged.", []


def describe(run: LastRun | None) -> tuple[str, list[str]]:
    """The last run in one plain sentence, and its problems one per line."""
    if run is None:
        return "No import yet.", []
    counts = f"{run.new:,} new, {run.updated:,} updated, {run.unchanged:,} unchanged"
    problems = list(run.error_samples)
    if run.errors:
        counts += f", {run.errors:,} skipped"
    if run.status == "completed":
        return f"Last import completed: {counts}.", problems
    if run.status == "running":
        return f"Importing: {run.total and run.new + run.updated + run.unchanged:,} of {run.total:,} read.", problems
    reason = run.message or "no reason recorded"
    what = "was interrupted" if run.status == "interrupted" else "failed"
    hint = "Run the same import again: it resumes where it stopped."
    return f"Last import {what} ({reason}): {counts} so far. {hint}", [reason, *problems]


def get(session: Session, workspace_id: int, source_id: int) -> Source:
    """A source of the workspace, or NotFound."""
    source = session.get(Source, source_id)
    if source is None or source.workspace_id != workspace_id:
        raise NotFound(N_("no source %(id)s in this workspace"), id=source_id)
    return source


def set_status(
    session: Session, workspace_id: int, source_id: int, status: str, *, by: audit.Actor = audit.CLI
) -> SourceRow:
    """Pause or resume a source (`paused` or `active`)."""
    if status not in STATUSES:
        raise Invalid(N_("source status %(status)r: use active or paused"), status=status)
    source = get(session, workspace_id, source_id)
    before, source.status = source.status, status
    audit.record(session, actor=by, action="source paused" if status == "paused" else "source resumed",
                 target=f"source {source_id}", workspace_id=workspace_id, before={"status": before},
                 after={"status": status})  # fmt: skip
    session.flush()
    return next(row for row in sources(session, workspace_id) if row.id == source_id)


def pause(session: Session, workspace_id: int, source_id: int, *, by: audit.Actor = audit.CLI) -> SourceRow:
    """Stop syncing a source until it is resumed."""
    return set_status(session, workspace_id, source_id, "paused", by=by)


def resume(session: Session, workspace_id: int, source_id: int, *, by: audit.Actor = audit.CLI) -> SourceRow:
    """Sync a paused source again."""
    return set_status(session, workspace_id, source_id, "active", by=by)
