"""Which sources Pilote fetches itself, when they are due, and one sync of each: feeds and platforms alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote import intake, leases, platforms, sync
from pilote.config import Settings
from pilote.errors import NotFound, PiloteError
from pilote.models import Source, utcnow
from pilote.sources.http import HttpClient, Limits
from pilote.sync import SyncError, SyncReport

Progress = Callable[[str, "SyncReport | None"], None]


def fetched(session: Session, workspace_id: int | None = None) -> list[Source]:
    """The sources Pilote fetches itself (feeds and platforms), of one workspace or all, by id."""
    query = select(Source).where(Source.state.is_not(None)).order_by(Source.id)
    if workspace_id is not None:
        query = query.where(Source.workspace_id == workspace_id)
    return [s for s in session.scalars(query) if sync.feed_state(s) is not None or platforms.is_platform(s)]


def due(session: Session, settings: Settings, now: datetime | None = None) -> list[int]:
    """Active fetched sources whose last sync is older than PILOTE_SYNC_INTERVAL (or that never synced), unless
    their platform asked to wait longer (a rate limit's Retry-After)."""
    now = now or utcnow()
    before = now - timedelta(seconds=settings.sync_interval)
    found = []
    for source in fetched(session):
        state = sync.state_of(source)
        checked, waits = state.checked, state.waits_until
        if source.status == "active" and (checked is None or checked <= before) and (waits is None or waits <= now):
            found.append(source.id)
    return found


def sync_due(
    engine: Engine, settings: Settings, *, now: datetime | None = None, analyse: intake.Analyse | None = None
) -> list[SyncReport]:
    """Sync every source that is due; a failing one is recorded and the others still sync."""
    with Session(engine) as session:
        ids = due(session, settings, now)
    return sync_all(engine, settings, ids, analyse=analyse)


def sync_all(
    engine: Engine,
    settings: Settings,
    source_ids: list[int],
    *,
    limits: Limits | None = None,
    analyse: intake.Analyse | None = None,
    progress: Progress | None = None,
) -> list[SyncReport]:
    """Sync each source on its own: a failure becomes a failed report (already recorded on its source)."""
    limits = limits or Limits.of(settings)
    reports = []
    for source_id in source_ids:
        if progress is not None:
            progress(f"source {source_id}", None)
        try:
            report = sync_one(engine, settings, source_id, limits=limits, analyse=analyse)
        except SyncError as error:
            report = error.report
        except PiloteError as error:  # not fetched by Pilote, or being synced by someone else: nothing recorded
            report = SyncReport(source_id, "", "", "", status="failed", error=str(error))
        except Exception as error:  # a defect of ours must not stop the sources after this one
            report = SyncReport(source_id, "", "", "", status="failed", error=f"unexpected error: {error!r}")
        reports.append(report)
        if progress is not None:
            progress(f"source {source_id}", report)
    return reports


def sync_one(
    engine: Engine, settings: Settings, source_id: int, *, limits: Limits, analyse: intake.Analyse | None = None
) -> SyncReport:
    """One sync of one source, by what it is: a feed or a platform."""
    with Session(engine) as session:
        source = session.get(Source, source_id)
        platform = source is not None and platforms.is_platform(source)
        if source is None or not (platform or sync.feed_state(source) is not None):
            raise NotFound(f"no source {source_id} that Pilote fetches itself: `pilote source list` shows them")
    held = leases.of(settings, engine)  # the source's lease, where every worker sees it
    if platform:
        return platforms.sync_platform(engine, settings, source_id, client=HttpClient(limits=limits),
                                       analyse=analyse, leases=held)  # fmt: skip
    return sync.sync_source(engine, source_id, limits=limits, analyse=analyse, leases=held)
