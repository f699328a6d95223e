"""The task queue and its schedule: huey (`SqliteHuey` under $PILOTE_HOME), consumed inside `pilote serve`.

The work itself is plain functions (`radar_tick`, `sync_tick`), which tests and `pilote watch` call
directly; the queue only decides when they run. huey's own periodic tasks have a one-minute grain, and the
radar should see an import or a sync within seconds: a small ticker thread enqueues a radar tick and a sync
tick every `radar_interval` seconds unless one of the same kind is already waiting. Two worker threads run
them, so a slow feed (up to its 30 s timeout) never holds the radar back, and a lock per kind keeps ticks of
one kind from overlapping. The sync tick only fetches the feeds that are due (PILOTE_SYNC_INTERVAL).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from huey import SqliteHuey
from sqlalchemy import Engine

from pilote import rollups, sync
from pilote.config import Settings
from pilote.db import make_engine, migrate
from pilote.radar.watch import TickReport, tick

TICK = "radar.tick"
SYNC = "sources.sync"


def radar_tick(engine: Engine, settings: Settings) -> TickReport:
    """Bring the dashboards' rollups up to date (hours an import in progress, or an interrupted one, noted
    as changed), then one radar pass over every workspace (new messages, detectors, incidents, notifications)."""
    with engine.begin() as conn:
        rollups.refresh_dirty(conn)
    return tick(engine, settings)


def sync_tick(engine: Engine, settings: Settings) -> list[sync.SyncReport]:
    """Sync the feeds that are due; each failure is recorded on its source, and the others still sync."""
    return sync.sync_due(engine, settings)


def make_queue(settings: Settings, engine: Engine) -> tuple[SqliteHuey, dict[str, Callable[[], Any]]]:
    """The queue, stored in $PILOTE_HOME/jobs.db, and the ticks registered on it by name (calling one enqueues)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    queue = SqliteHuey(name="pilote", filename=str(settings.home / "jobs.db"), results=False)
    ticks: dict[str, Callable[[], Any]] = {}
    for name, work in ((TICK, radar_tick), (SYNC, sync_tick)):
        ticks[name] = queue.task(name=name)(_alone(work, engine, settings))
    return queue, ticks


def _alone(work: Callable[[Engine, Settings], Any], engine: Engine, settings: Settings) -> Callable[[], None]:
    """The tick, skipped while another of its kind still runs (the next one comes soon)."""
    lock = threading.Lock()

    def run() -> None:
        if lock.acquire(blocking=False):
            try:
                work(engine, settings)
            finally:
                lock.release()

    return run


class Jobs:
    """A running consumer (two worker threads: the radar's, and the feeds') and the ticker that feeds it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        migrate(self.engine)
        self.queue, self._ticks = make_queue(settings, self.engine)
        self.consumer = self.queue.create_consumer(workers=2, worker_type="thread", periodic=False, max_delay=1.0)
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_forever, name="pilote-radar-ticker", daemon=True)

    def start(self) -> None:
        """Start consuming and ticking."""
        self.consumer.start()
        self._ticker.start()

    def stop(self) -> None:
        """Stop ticking, let the running task finish, release the store."""
        self._stop.set()
        self._ticker.join(timeout=self.settings.radar_interval + 5)
        self.consumer.stop(graceful=True)
        self.engine.dispose()

    def enqueue_tick(self) -> None:
        """Queue a radar tick and a sync tick, each unless one of its kind is already waiting."""
        waiting = {task.name for task in self.queue.pending()}
        for name, enqueue in self._ticks.items():
            if name not in waiting:
                enqueue()

    def _tick_forever(self) -> None:
        while not self._stop.is_set():
            self.enqueue_tick()
            self._stop.wait(self.settings.radar_interval)


@contextmanager
def running(settings: Settings) -> Iterator[Jobs]:
    """Jobs consumed in this process for as long as the block runs (what `pilote serve` does)."""
    jobs = Jobs(settings)
    jobs.start()
    try:
        yield jobs
    finally:
        jobs.stop()
