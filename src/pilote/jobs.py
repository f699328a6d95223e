"""The task queue and its schedule: huey (`SqliteHuey` under $PILOTE_HOME), consumed inside `pilote serve`.

The work itself is plain functions (`radar_tick`, `sync_tick`, `analyse`), which tests and `pilote watch`
call directly; the queue only decides when they run. huey's own periodic tasks have a one-minute grain, and
the radar should see an import or a sync within seconds: a small ticker thread enqueues a radar tick and a
sync tick every `radar_interval` seconds unless one of the same kind is already waiting. The sync tick only
fetches the feeds and platforms that are due (PILOTE_SYNC_INTERVAL). What the intake brings from the web (an
upload, a "sync now") or from a scheduled sync is analysed by an `analyse` job, never inside a request:
`analysis(settings, engine)` gives the intake a function that queues one (one waiting job per workspace is
enough: a run analyses whatever is new). Three worker threads run the jobs, so that neither a slow sync nor
an analysis holds the radar back: a lock per kind keeps ticks of one kind from overlapping (a tick that
finds its kind busy is skipped), and an analysis asked for while another runs is handed to it, so that no
job ever waits on a lock inside a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from huey import SqliteHuey
from sqlalchemy import Engine

from pilote import enrich, rollups, schedule
from pilote.config import Settings
from pilote.db import make_engine, migrate
from pilote.enrich.pipeline import run as enrich_run
from pilote.radar.watch import TickReport, tick
from pilote.sync import SyncReport

TICK = "radar.tick"
SYNC = "sources.sync"
ANALYSE = "enrich.workspace"
_ANALYSIS = threading.Lock()  # guards the two below
_analysing: list[bool] = [False]  # whether an analysis runs in this process (two would analyse the same messages)
_again: set[int] = set()  # workspaces to analyse once the running analysis is done


def radar_tick(engine: Engine, settings: Settings) -> TickReport:
    """Bring the dashboards' rollups up to date (hours an import in progress, or an interrupted one, noted
    as changed), then one radar pass over every workspace (new messages, detectors, incidents, notifications)."""
    with engine.begin() as conn:
        rollups.refresh_dirty(conn)
    return tick(engine, settings)


def sync_tick(engine: Engine, settings: Settings) -> list[SyncReport]:
    """Sync the feeds and platforms that are due; each failure is recorded on its source, and the others still
    sync; what they bring is analysed by a queued job."""
    return schedule.sync_due(engine, settings, analyse=analysis(settings, engine))


def analyse(engine: Engine, workspace_id: int) -> None:
    """Analyse what is new in a workspace (the dashboards are recounted at the end of the run). While another
    analysis runs, this one is handed to it and returns at once: a waiting job never holds a worker thread
    that the radar needs. Worker processes are never forked here: the server runs threads."""
    with _ANALYSIS:
        if _analysing[0]:
            _again.add(workspace_id)
            return
        _analysing[0] = True
    todo = {workspace_id}
    try:
        while todo:
            for space in sorted(todo):
                enrich_run(engine, enrich.get(None), workspace_id=space, workers=1)
            with _ANALYSIS:
                todo = set(_again)
                _again.clear()
    finally:
        with _ANALYSIS:
            _analysing[0] = False


def analysis(settings: Settings, engine: Engine) -> Callable[[int], None]:
    """A function that queues the analysis of a workspace, for the consumer of `pilote serve` to run."""
    queue, _ticks, enqueue = make_queue(settings, engine)

    def queued(workspace_id: int) -> None:
        waiting = {(task.name, tuple(task.args)) for task in queue.pending()}
        if (ANALYSE, (workspace_id,)) not in waiting:
            enqueue(workspace_id)

    return queued


def run_waiting(settings: Settings, engine: Engine) -> int:
    """Run the queued analyses now, in this process (tests; a store without `pilote serve`); how many ran."""
    queue, _ticks, _enqueue = make_queue(settings, engine)
    done = 0
    while any(task.name == ANALYSE for task in queue.pending()):
        task = queue.dequeue()
        if task is None:
            break
        if task.name == ANALYSE:
            queue.execute(task)
            done += 1
        else:
            queue.enqueue(task)  # a tick: back to the queue for the consumer
    return done


def make_queue(
    settings: Settings, engine: Engine
) -> tuple[SqliteHuey, dict[str, Callable[[], Any]], Callable[[int], Any]]:
    """The queue, stored in $PILOTE_HOME/jobs.db, the ticks registered on it by name and the analysis job
    (calling one enqueues it)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    queue = SqliteHuey(name="pilote", filename=str(settings.home / "jobs.db"), results=False)
    ticks: dict[str, Callable[[], Any]] = {}
    for name, work in ((TICK, radar_tick), (SYNC, sync_tick)):
        ticks[name] = queue.task(name=name)(_alone(work, engine, settings))
    enqueue = queue.task(name=ANALYSE, retries=2, retry_delay=30)(partial(analyse, engine))
    return queue, ticks, enqueue


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
        self.queue, self._ticks, _analyse = make_queue(settings, self.engine)
        # Three threads: the radar's, the syncs', and one more, so that an analysis never holds either back.
        self.consumer = self.queue.create_consumer(workers=3, worker_type="thread", periodic=False, max_delay=1.0)
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
