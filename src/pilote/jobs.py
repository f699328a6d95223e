"""The task queue and its schedule: huey (`SqliteHuey` under $PILOTE_HOME), consumed inside `pilote serve`.

The work itself is a plain function (`radar_tick`), which tests and `pilote watch` call directly; the
queue only decides when it runs. huey's own periodic tasks have a one-minute grain, and the radar should
see an import within seconds: a small ticker thread enqueues a tick every `radar_interval` seconds
unless one is already waiting, and one worker thread runs them, so ticks never overlap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from huey import SqliteHuey
from sqlalchemy import Engine

from pilote import rollups
from pilote.config import Settings
from pilote.db import make_engine, migrate
from pilote.radar.watch import TickReport, tick

TICK = "radar.tick"


def radar_tick(engine: Engine, settings: Settings) -> TickReport:
    """Bring the dashboards' rollups up to date (hours an import in progress, or an interrupted one, noted
    as changed), then one radar pass over every workspace (new messages, detectors, incidents, notifications)."""
    with engine.begin() as conn:
        rollups.refresh_dirty(conn)
    return tick(engine, settings)


def make_queue(settings: Settings, engine: Engine) -> tuple[SqliteHuey, Callable[[], Any]]:
    """The queue, stored in $PILOTE_HOME/jobs.db, and the radar tick registered on it (calling it enqueues)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    queue = SqliteHuey(name="pilote", filename=str(settings.home / "jobs.db"), results=False)

    def run_tick() -> None:
        radar_tick(engine, settings)

    return queue, queue.task(name=TICK)(run_tick)


class Jobs:
    """A running consumer (one worker thread) and the ticker that feeds it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        migrate(self.engine)
        self.queue, self._enqueue = make_queue(settings, self.engine)
        self.consumer = self.queue.create_consumer(workers=1, worker_type="thread", periodic=False, max_delay=1.0)
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
        """Queue a radar tick unless one is already waiting."""
        if self.queue.pending_count() == 0:
            self._enqueue()

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
