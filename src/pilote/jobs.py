"""The job queue, its clock, and the leases that keep each job single across processes and hosts.

The work itself is plain functions (`radar_tick`, `sync_tick`, `analyse`), which tests and `pilote watch`
call directly; the queue only decides where and when they run. The queue is huey: on Redis when
PILOTE_REDIS_URL is set (any number of `pilote worker` on any number of hosts), else in SQLite under
$PILOTE_HOME (`pilote serve` and the workers of that host). Four jobs go through it: the sync of one source,
the analysis of one workspace's new messages, the Members page's lists of one workspace (`leaders.kept`) and
the catalogue's reports of one workspace for Health and the API (`metrics.kept`), the last two queued by the
clock under one rule (`pilote.keeping`); each runs under a lease (`pilote.leases`) named after it, so a source
is never synced twice at once, nor a workspace analysed twice at once.

Every process that consumes jobs also runs three clocks, each turning every `radar_interval` seconds, at a fixed
rate (a late turn is followed by the next one at once, never by a burst). The radar's clock, under the `radar.tick`
lease (one turn in the whole deployment at a time), runs the radar's tick itself: the radar never waits behind a
slow sync or analysis in the queue, nor behind the other clocks. The dashboards' clock, under the `clock.dashboards`
lease, recounts the dashboards' dirty hours (seconds under load on a large store: a busy day's conversations and
keyphrases). The chores' clock, under the `clock.chores` lease, queues again the jobs whose holder died (a lease
that expired unreleased), queues a sync of each source that is due, wakes the inbox's snoozes, sends the answers
that are due, deletes the messages past their workspace's retention period, a few batches at a time
(`pilote.privacy`), and queues the computation of the Members lists of each workspace whose messages or merges
changed (at most every few minutes). While it runs, a consumer holds a lease named `consumer:HOST:PID:…`, which
`pilote doctor` counts to say whether anything consumes the queue. A killed worker loses nothing: its job's lease
expires, the clock queues the job again, and since the intake writes by external id and the analysis only takes what
has no current analysis, the job done twice stores and analyses each message once.
docs/architecture.md, "Jobs and leases".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.exceptions import RetryTask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote import enrich, leases, privacy, rollups, schedule
from pilote.config import Settings
from pilote.db import begin_write, make_engine, migrate, retry_locked
from pilote.enrich.pipeline import run as enrich_run
from pilote.errors import PiloteError, Unavailable
from pilote.inbox import intake as inbox_intake
from pilote.inbox import items as inbox_items
from pilote.inbox import outbox, rejudged
from pilote.leaders import kept
from pilote.leases import Busy, DatabaseLeases, Leases, hold
from pilote.metrics import kept as reports
from pilote.models import Workspace
from pilote.radar.watch import TickReport, tick
from pilote.sources.http import Limits
from pilote.sync import SyncReport

TICK = "radar.tick"  # the radar clock's lease: one radar tick at a time in the deployment
DASHBOARDS = "clock.dashboards"  # the dashboards' clock's lease: one recount of their dirty hours at a time
CHORES = "clock.chores"  # the other clock's lease: requeue, due syncs, snoozes, outbox, retention, lists
CONSUMER = "consumer:"  # + holder: held by each running consumer, for as long as it runs
SYNC = "sources.sync"
ANALYSE = "enrich.workspace"
LISTS = "leaders.lists"  # the Members page's lists of a workspace, computed and kept (leaders.kept)
REPORTS = "metrics.reports"  # the catalogue's reports of a workspace, computed and kept (metrics.kept)
HOURS = 168  # dirty dashboard hours recounted per transaction: a week, so no transaction holds the lock long
MOST_HOURS = 20 * HOURS  # per turn of the dashboards' clock; the rest at the next one
SLOW_KEEP = 60.0  # seconds: computing a workspace's kept lists or reports longer than this is logged
BUSY_RETRY = 5.0  # seconds before an analysis that found its workspace being analysed tries again
AGAIN = 20_000  # messages an analysis job reads again at most (a new analyzer version), after what is new
_ANALYSING = threading.Lock()  # one analysis at a time in a process: the analyzers' models are shared
log = logging.getLogger("pilote.jobs")


def radar_tick(engine: Engine, settings: Settings) -> TickReport:
    """Bring the dashboards' rollups up to date (hours an import in progress, or an interrupted one, noted
    as changed), then one radar pass over every workspace (new messages, detectors, incidents, notifications):
    the radar's and the dashboards' clocks' work at once, for `pilote watch` and the tests."""
    refresh_rollups(engine)
    return retry_locked(lambda: tick(engine, settings))


def retention_tick(engine: Engine) -> int:
    """Delete the messages past their workspace's retention period, a few batches per turn (the rest at the next
    one, so the radar stays on time); how many went."""
    return privacy.retention_tick(engine)


def refresh_rollups(engine: Engine, *, hours: int = HOURS, most: int = MOST_HOURS) -> int:
    """Recount the dashboards' dirty hours, `hours` per short transaction, `most` in all; how many."""

    def some() -> int:
        with begin_write(engine) as conn:
            return rollups.refresh_dirty(conn, limit=hours)

    done = 0
    while done < most:
        taken = retry_locked(some)
        done += taken
        if taken < hours:
            break
    return done


def sync_tick(engine: Engine, settings: Settings) -> list[SyncReport]:
    """Sync the feeds and platforms that are due, here; each failure is recorded on its source, and the others
    still sync; what they bring is analysed by a queued job."""
    return schedule.sync_due(engine, settings, analyse=analysis(settings, engine))


def analyse(engine: Engine, workspace_id: int, held: Leases | None = None) -> bool:
    """Analyse what is new in a workspace, under its lease; Busy while it is analysed elsewhere (then that
    run, or the next one, takes what is new). Worker processes are never forked here: workers run threads.

    What arrived is analysed and taken into the inbox first; then at most `AGAIN` of the messages a new version of
    an analyzer must read again (after an upgrade: the whole store). Whether some are left for the next job: a
    store of millions read again never keeps the new messages waiting behind it."""
    if not _ANALYSING.acquire(blocking=False):
        raise Busy("an analysis is running in this process")
    try:
        with hold(held or DatabaseLeases(engine), f"analyse:{workspace_id}"):
            analyzers = enrich.get(None)
            new = enrich_run(engine, analyzers, workspace_id=workspace_id, workers=1, new_only=True)
            inbox_intake.take_new(engine, workspace_id)
            rejudged.follow(engine, workspace_id, new.rejudged)
            again = enrich_run(engine, analyzers, workspace_id=workspace_id, workers=1, at_most=AGAIN)
            if any(again.analysed.values()):
                inbox_intake.take_new(engine, workspace_id)
                rejudged.follow(engine, workspace_id, again.rejudged)
            return again.remaining > 0
    finally:
        _ANALYSING.release()


@dataclass(slots=True)
class Queue:
    """The queue and its jobs; calling `sync(source_id)`, `analyse(workspace_id)`, `lists(workspace_id)` or
    `reports(workspace_id)` queues one."""

    huey: Huey
    sync: Callable[[int], Any]
    analyse: Callable[[int], Any]
    lists: Callable[[int], Any]
    reports: Callable[[int], Any]

    def waiting(self) -> set[tuple[str, tuple[Any, ...]]]:
        """The jobs waiting in the queue, by name and arguments."""
        return {(task.name, tuple(task.args)) for task in self.huey.pending()}


def make_queue(settings: Settings, engine: Engine) -> Queue:
    """The queue (Redis when PILOTE_REDIS_URL is set, else $PILOTE_HOME/jobs.db) with its jobs registered."""
    if settings.redis_url:
        huey: Huey = RedisHuey(name="pilote", url=settings.redis_url, results=False)
    else:
        settings.home.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(name="pilote", filename=str(settings.home / "jobs.db"), results=False)
    held = leases.of(settings, engine)
    sync = huey.task(name=SYNC, retries=2, retry_delay=10)(partial(_sync_job, engine, settings))
    work = huey.task(name=ANALYSE, retries=2, retry_delay=30)(partial(_analyse_job, engine, held))
    lists = huey.task(name=LISTS, retries=1, retry_delay=60)(partial(_lists_job, engine, held))
    reports = huey.task(name=REPORTS, retries=1, retry_delay=60)(partial(_reports_job, engine, held))
    return Queue(huey, sync, work, lists, reports)


def _sync_job(engine: Engine, settings: Settings, source_id: int) -> None:
    """Sync one source if it is still due (another worker may have synced it since it was queued)."""
    with Session(engine) as session:
        if source_id not in schedule.due(session, settings):
            return
    try:
        schedule.sync_one(engine, settings, source_id, limits=Limits.of(settings), analyse=analysis(settings, engine))
    except PiloteError as error:  # recorded on the source, or being synced elsewhere, or gone
        log.info("sync of source %s: %s", source_id, error)


def _analyse_job(engine: Engine, held: Leases, workspace_id: int) -> None:
    try:
        more = analyse(engine, workspace_id, held)
    except Busy:  # the running analysis may have read the workspace before the newest messages: come back
        raise RetryTask(delay=BUSY_RETRY) from None
    if more:  # messages to read again are left: the next part after what has arrived meanwhile
        raise RetryTask(delay=0)


def keep_lists(engine: Engine, workspace_id: int, held: Leases | None = None) -> bool:
    """Compute and keep a workspace's Members lists if they are due, under its lease; whether it did."""
    return _keep(engine, f"lists:{workspace_id}", kept.refresh, workspace_id, held)


def keep_reports(engine: Engine, workspace_id: int, held: Leases | None = None) -> bool:
    """Compute and keep a workspace's metrics reports if they are due, under its lease; whether it did."""
    return _keep(engine, f"reports:{workspace_id}", reports.refresh, workspace_id, held)


def _keep(engine: Engine, lease: str, refresh: Callable[[Engine, int], bool], workspace_id: int,
          held: Leases | None) -> bool:  # fmt: skip
    try:
        with hold(held or DatabaseLeases(engine), lease):
            started = time.monotonic()
            done = refresh(engine, workspace_id)
    except Busy:  # another worker computes them now
        return False
    took = time.monotonic() - started
    if took > SLOW_KEEP:  # a large store's kept values cost a worker minutes each time: say so in the log
        log.warning("%s: computed and kept in %.0f s", lease, took)
    return done


def _lists_job(engine: Engine, held: Leases, workspace_id: int) -> None:
    keep_lists(engine, workspace_id, held)


def _reports_job(engine: Engine, held: Leases, workspace_id: int) -> None:
    keep_reports(engine, workspace_id, held)


def analysis(settings: Settings, engine: Engine) -> Callable[[int], None]:
    """A function that queues the analysis of a workspace, unless one is already waiting."""
    queue = make_queue(settings, engine)

    def queued(workspace_id: int) -> None:
        if (ANALYSE, (workspace_id,)) not in queue.waiting():
            queue.analyse(workspace_id)

    return queued


def compute_reports(settings: Settings, engine: Engine, workspace_id: int) -> None:
    """Queue the computation of a workspace's metrics reports now, unless it is waiting (a reader is waiting for
    them; the clock would queue it at its next turn)."""
    queue = make_queue(settings, engine)
    if (REPORTS, (workspace_id,)) not in queue.waiting():
        queue.reports(workspace_id)


def compute_lists(settings: Settings, engine: Engine, workspace_id: int) -> None:
    """Queue the computation of a workspace's Members lists, graphs and merge suggestions now, unless it is
    waiting, as `compute_reports` does."""
    queue = make_queue(settings, engine)
    if (LISTS, (workspace_id,)) not in queue.waiting():
        queue.lists(workspace_id)


def run_waiting(settings: Settings, engine: Engine) -> int:
    """Run the queued analyses now, in this process (tests; a store without `pilote serve`); how many ran."""
    queue = make_queue(settings, engine)
    done = 0
    while any(name == ANALYSE for name, _args in queue.waiting()):
        task = queue.huey.dequeue()
        if task is None:
            break
        if task.name == ANALYSE:
            queue.huey.execute(task)
            done += 1
        else:
            queue.huey.enqueue(task)  # a sync: back to the queue for a worker
    return done


def check_queue(settings: Settings) -> None:
    """Say in one line when the Redis of PILOTE_REDIS_URL cannot be reached (SQLite's queue always can)."""
    if not settings.redis_url:
        return
    import redis

    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5).ping()
    except (redis.RedisError, ValueError) as error:
        where = urlsplit(settings.redis_url)
        shown = where._replace(netloc=where.netloc.rpartition("@")[2]).geturl()  # no password on screen
        raise Unavailable(f"cannot reach the job queue PILOTE_REDIS_URL={shown}: {error}") from None


class Jobs:
    """A consumer of the queue (`threads` worker threads) and the clock that feeds it and runs the radar."""

    def __init__(self, settings: Settings, *, threads: int = 2) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        migrate(self.engine)
        self.queue = make_queue(settings, self.engine)
        self.leases = leases.of(settings, self.engine)
        self.consumer = self.queue.huey.create_consumer(
            workers=threads, worker_type="thread", periodic=False, max_delay=1.0
        )
        self._stop = threading.Event()
        self._clocks = [
            threading.Thread(target=self._every, args=(self.radar_turn,), name="pilote-radar", daemon=True),
            threading.Thread(target=self._every, args=(self.dashboards_turn,), name="pilote-dashboards", daemon=True),
            threading.Thread(target=self._every, args=(self.chores_turn,), name="pilote-chores", daemon=True),
        ]
        self._presence = ExitStack()

    def start(self) -> None:
        """Start consuming (in threads) and ticking."""
        self._present()
        self.consumer.start()
        for clock in self._clocks:
            clock.start()

    def run(self) -> None:
        """Consume and tick in this process until SIGTERM or SIGINT (`pilote worker`): a running job finishes."""
        self._present()
        for clock in self._clocks:
            clock.start()
        try:
            self.consumer.run()
        finally:
            self._stop_clocks()
            self.engine.dispose()

    def stop(self) -> None:
        """Stop ticking, let the running jobs finish, release the store."""
        self._stop_clocks()
        self.consumer.stop(graceful=True)
        self.engine.dispose()

    def step(self) -> bool:
        """One turn of each clock, here: the dashboards' (unless another process runs one now), the radar's (same),
        then the chores' (same). Whether this process ran all three."""
        counted = self.dashboards_turn()
        ticked = self.radar_turn()
        return self.chores_turn() and ticked and counted

    def radar_turn(self) -> bool:
        """Tick the radar, if no other process does it now; whether this one did."""
        try:
            with hold(self.leases, TICK):
                retry_locked(lambda: tick(self.engine, self.settings))
        except Busy:
            return False
        return True

    def dashboards_turn(self) -> bool:
        """Recount the dashboards' dirty hours, if no other process does it now; whether this one did. Its own clock:
        a recount of a busy day's conversations and keyphrases takes seconds under load, which the radar's tick,
        a tenth of a second, never waits for."""
        try:
            with hold(self.leases, DASHBOARDS):
                refresh_rollups(self.engine)
        except Busy:
            return False
        return True

    def chores_turn(self) -> bool:
        """Queue again the interrupted jobs, queue the due syncs, wake the inbox's snoozes, send the answers that
        are due, delete what is past its retention, queue the Members lists that are due; if no other process
        does it now. Whether this one did."""
        try:
            with hold(self.leases, CHORES):
                self.requeue_interrupted()
                self.queue_due()
                inbox_items.wake_all(self.engine)
                outbox.deliver_due(self.engine, self.settings)
                retention_tick(self.engine)
                self.queue_lists()
                self.queue_reports()
        except Busy:
            return False
        return True

    def requeue_interrupted(self) -> list[str]:
        """Queue again the syncs and analyses whose worker died holding their lease."""
        found = self.leases.interrupted()
        jobs = [name for name in found if not name.startswith(CONSUMER)]
        for name in jobs:
            kind, _, argument = name.partition(":")
            if kind == "sync" and argument.isdigit():
                self.queue.sync(int(argument))
            elif kind == "analyse" and argument.isdigit():
                self.queue.analyse(int(argument))
            elif kind == "reports" and argument.isdigit():
                self.queue.reports(int(argument))
            elif kind == "lists" and argument.isdigit():
                self.queue.lists(int(argument))
        if jobs:
            log.warning("queued again after their worker stopped: %s", ", ".join(jobs))
        if gone := [name.removeprefix(CONSUMER) for name in found if name.startswith(CONSUMER)]:
            log.warning("consumers stopped without saying so: %s", ", ".join(gone))
        return jobs

    def queue_due(self) -> list[int]:
        """Queue a sync of each due source not already waiting nor being synced."""
        with Session(self.engine) as session:
            due = schedule.due(session, self.settings)
        waiting = self.queue.waiting()
        queued = [s for s in due if (SYNC, (s,)) not in waiting and not self.leases.held(f"sync:{s}")]
        for source_id in queued:
            self.queue.sync(source_id)
        return queued

    def queue_lists(self) -> list[int]:
        """Queue the computation of the Members lists of each workspace whose lists are due (leaders.kept), unless
        one is waiting or running: a worker computes them, so the clock's turn stays short."""
        return self._queue_kept(LISTS, "lists", kept.due, self.queue.lists)

    def queue_reports(self) -> list[int]:
        """Queue the computation of the metrics reports of each workspace whose reports are due (metrics.kept), as
        `queue_lists` does."""
        return self._queue_kept(REPORTS, "reports", reports.due, self.queue.reports)

    def _queue_kept(self, job: str, lease: str, due: Callable[[Session, int], bool], queue: Callable[[int], Any]
                    ) -> list[int]:  # fmt: skip
        with Session(self.engine) as session:
            found = [w for w in session.scalars(select(Workspace.id).order_by(Workspace.id)) if due(session, w)]
        waiting = self.queue.waiting()
        queued = [w for w in found if (job, (w,)) not in waiting and not self.leases.held(f"{lease}:{w}")]
        for workspace_id in queued:
            queue(workspace_id)
        return queued

    def _present(self) -> None:
        """Hold this consumer's presence lease until the clocks stop (`pilote doctor` counts them)."""
        self._presence.enter_context(hold(self.leases, CONSUMER + leases.holder()))

    def _every(self, turn: Callable[[], bool]) -> None:
        """Run `turn` every `radar_interval` seconds, counted from the starts: a turn that ran long is followed
        by the next at once, and no turns are run to catch up. A long turn is a warning, but the first: it takes
        in what came while no clock ran (a new demo's whole history, say)."""
        interval, name = self.settings.radar_interval, threading.current_thread().name
        due, first = time.monotonic(), True
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                turn()
            except Exception:  # the store or Redis away for a moment: the clock goes on
                log.exception("%s: the turn failed; next one in %s s", name, interval)
            took = time.monotonic() - started
            if took > interval:
                report, which = (
                    (log.info, "the first turn (what came while no clock ran)") if first else (log.warning, "a turn")
                )
                report("%s: %s took %.1f s, more than the %s s between turns", name, which, took, interval)
            first = False
            due = max(due + interval, time.monotonic())
            self._stop.wait(due - time.monotonic())

    def _stop_clocks(self) -> None:
        self._stop.set()
        for clock in self._clocks:
            if clock.is_alive():
                clock.join(timeout=self.settings.radar_interval + 60)
        self._presence.close()


@contextmanager
def running(settings: Settings) -> Iterator[Jobs]:
    """Jobs consumed in this process for as long as the block runs (what `pilote serve` does)."""
    jobs = Jobs(settings)
    jobs.start()
    try:
        yield jobs
    finally:
        jobs.stop()
