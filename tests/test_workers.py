"""Workers: two `pilote worker` processes on PostgreSQL and Redis share a platform's sync and its analysis; one
killed with SIGKILL in the middle of the sync, then another in the middle of the analysis, lose nothing, and
nothing is stored or analysed twice. And the clock of workers sharing one host, and a worker's refusals in one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import paged_connector
from api_peer import Answer, ApiPeer, Request
from pilote import jobs, pgserver, platforms, rollups, sources, workspaces
from pilote.cli import app
from pilote.config import Settings, get_settings
from pilote.db import make_engine
from pilote.leases import hold, lease_t
from pilote.models import Enrichment, Message, RollupDirty, Workspace, utcnow

ROOT = Path(__file__).resolve().parents[1]
PAGES, PER_PAGE, STALLED = 30, 100, 10  # the first fetch of page STALLED waits until its worker is killed


@pytest.fixture
def deployment(postgres_url: str, redis_url: str, api_peer: ApiPeer, tmp_path: Path) -> Iterator[Settings]:
    """A store of its own on the tests' PostgreSQL, an empty Redis, leases of two seconds."""
    name = f"workers_{os.getpid()}"
    url = pgserver.create_database(postgres_url, name, template="pilote_template")
    redis.Redis.from_url(redis_url).flushdb()
    yield get_settings(home=tmp_path / "home", database_url=url, redis_url=redis_url, lease_seconds=2.0,
                       radar_interval=0.5, sync_private_addresses=True)  # fmt: skip
    pgserver.drop_database(postgres_url, name)


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    """`pilote worker` in a process of its own, with the tests' platform registered."""
    env = {**os.environ, "PILOTE_HOME": str(settings.home), "PILOTE_DATABASE_URL": settings.database_url or "",
           "PILOTE_REDIS_URL": settings.redis_url or "", "PILOTE_LEASE_SECONDS": "2", "PILOTE_RADAR_INTERVAL": "0.5",
           "PILOTE_SYNC_PRIVATE_ADDRESSES": "true", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "tests")])}  # fmt: skip
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, str(ROOT / "tests" / "paged_worker.py"), "--threads", "2"],
                                env=env, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


def wait_for(condition: Callable[[], object], seconds: float, what: str) -> None:
    """Wait on a condition, not a duration."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s for {what}")
        time.sleep(0.02)


def holder(client: redis.Redis, lease: str) -> int | None:
    """The process id of the lease's holder (its token is host:pid:random), None while free."""
    token = client.get(f"pilote:lease:{lease}")
    return int(token.decode().split(":")[1]) if isinstance(token, bytes) else None


def analysed(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Enrichment)) or 0


@pytest.mark.workers
@pytest.mark.postgres
def test_workers_killed_mid_sync_and_mid_analysis_lose_nothing_and_do_nothing_twice(
    deployment: Settings, api_peer: ApiPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served = paged_connector.pages(PAGES, PER_PAGE)
    stalled, resume = threading.Event(), threading.Event()
    fetched: list[int] = []

    def respond(request: Request) -> Answer:
        page = int(request.arg("page") or 0)
        fetched.append(page)
        if page == STALLED and not stalled.is_set():
            stalled.set()
            resume.wait(30)  # the worker that asked is killed meanwhile: nobody reads this answer
        return Answer(served[page] if page < PAGES else {"items": [], "more": False})

    api_peer.on("GET", "/items", respond)
    monkeypatch.setitem(sources.CONNECTORS, "paged", paged_connector)  # type: ignore[arg-type]
    engine = make_engine(deployment)
    client = redis.Redis.from_url(deployment.redis_url or "")
    with Session(engine) as session, session.begin():
        space_id = workspaces.create(session, slug="default").id
        source_id = platforms.add(session, deployment, workspace="default", kind="paged",
                                  values={"base": api_peer.base, "token": "t"}).id  # fmt: skip
    log = tmp_path / "workers.log"
    workers = [start_worker(deployment, log), start_worker(deployment, log)]
    try:
        wait_for(stalled.is_set, 40, f"a worker to fetch page {STALLED}")
        syncing = holder(client, f"sync:{source_id}")
        assert syncing in {w.pid for w in workers}
        os.kill(syncing, signal.SIGKILL)
        resume.set()
        workers.append(start_worker(deployment, log))  # two alive again
        wait_for(lambda: holder(client, f"analyse:{space_id}") is not None, 40, "the analysis to start")
        analysing = holder(client, f"analyse:{space_id}")
        assert analysing is not None
        assert analysing != syncing
        os.kill(analysing, signal.SIGKILL)
        wait_for(lambda: analysed(engine) == PAGES * PER_PAGE, 40, "every message to be analysed")
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
        client.close()
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Message))
        pairs = session.scalar(select(func.count()).select_from(select(Message.external_id).distinct().subquery()))
        unanalysed = session.scalar(select(func.count()).where(Message.language.is_(None)))
    engine.dispose()
    assert stored == pairs == PAGES * PER_PAGE, log.read_text()
    assert unanalysed == 0
    assert fetched.count(STALLED) == 2  # the killed worker's page was fetched again, by another
    assert fetched.count(0) == 1  # and the pages before it were not: the sync resumed from its cursor


def test_the_clock_queues_again_the_jobs_of_a_worker_that_died_and_runs_one_tick_at_a_time(
    sqlite_settings: Settings,
) -> None:
    first, second = jobs.Jobs(sqlite_settings), jobs.Jobs(sqlite_settings)  # two workers of one host
    try:
        died = first.leases.acquire("analyse:1")
        assert died is not None
        with first.engine.begin() as conn:  # its holder stopped renewing it long ago
            conn.execute(update(lease_t).values(expires_at=0.0))
        assert second.requeue_interrupted() == ["analyse:1"]
        assert first.requeue_interrupted() == []
        assert (jobs.ANALYSE, (1,)) in first.queue.waiting()  # the queue of the host, seen by both
        with hold(first.leases, jobs.TICK):
            assert not second.step()  # the other worker's clock runs: this one skips its turn
        assert second.step()
    finally:
        first.engine.dispose()
        second.engine.dispose()


def test_the_radar_s_turn_never_waits_for_the_chores_of_another_worker(sqlite_settings: Settings) -> None:
    """Two clocks, two leases: a long chores' turn elsewhere (a retention purge, a slow Redis) leaves the radar on
    time, and one radar turn at a time still holds across workers."""
    first, second = jobs.Jobs(sqlite_settings), jobs.Jobs(sqlite_settings)
    try:
        with hold(first.leases, jobs.CHORES):
            assert second.radar_turn()
            assert not second.chores_turn()
        with hold(first.leases, jobs.TICK):
            assert not second.radar_turn()
            assert second.chores_turn()
    finally:
        first.engine.dispose()
        second.engine.dispose()


def test_a_worker_says_in_one_line_when_redis_cannot_be_reached(sqlite_settings: Settings, env_for: Any) -> None:
    env_for(sqlite_settings)
    result = CliRunner().invoke(app, ["worker"], env={"PILOTE_REDIS_URL": "redis://:hunter2@127.0.0.1:1/0"})
    assert result.exit_code == 1
    assert "cannot reach the job queue PILOTE_REDIS_URL=redis://127.0.0.1:1/0" in result.output
    assert "hunter2" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_server_runs_no_more_requests_at_once_than_it_has_connections(settings: Settings, engine: Engine) -> None:
    """Under a burst of readers, a request waits for a thread rather than getting a 500 after 30 s spent waiting
    for a database connection (the load test's 50 readers on 40 threads and 15 connections)."""
    import anyio.to_thread
    from fastapi.testclient import TestClient

    from pilote.db import capacity
    from pilote.web.app import create_app

    with TestClient(create_app(settings, engine)) as client:
        assert client.portal is not None
        threads = client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens)
        assert client.get("/health").status_code == 200
    assert threads == capacity(engine) == engine.pool.size() + 10  # the pool kept, and its overflow


def test_a_server_whose_pool_is_dry_makes_requests_wait_without_stopping_the_others(settings: Settings) -> None:
    """Who is signed in is read from the store in a thread, not on the event loop: a lookup waiting there for a
    connection held by another request would stop the loop that request needs to hand its connection back, and
    every request would end in a 500 after the pool's timeout (the 10M load test's "QueuePool limit" errors)."""
    from concurrent.futures import ThreadPoolExecutor

    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, event

    from accounts_support import sign_in
    from pilote import db
    from pilote.web.app import create_app

    base = make_engine(settings)
    db.migrate(base)
    base.dispose()
    dry = create_engine(settings.resolved_database_url, pool_size=1, max_overflow=0, pool_timeout=5)
    if dry.dialect.name == "sqlite":
        event.listen(dry, "connect", db._sqlite_pragmas)
    try:
        with TestClient(create_app(settings, dry)) as client:
            sign_in(client)
            with ThreadPoolExecutor(8) as readers:
                answers = list(readers.map(lambda _: client.get("/account").status_code, range(24)))
    finally:
        dry.dispose()
    assert answers == [200] * 24


def test_a_reader_is_not_refused_because_a_long_writer_holds_sqlite_s_lock(
    sqlite_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API token's last-use stamp is a write: while another writer holds the lock past the busy timeout, the
    request is answered and the stamp waits for a later one (a 500 "database is locked" under the load test)."""
    import sqlite3

    from fastapi.testclient import TestClient

    from pilote import db, tokens
    from pilote.web.app import create_app

    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    engine = make_engine(sqlite_settings)
    db.migrate(engine)
    with Session(engine) as session, session.begin():
        token, _ = tokens.create(session, workspace=workspaces.create(session, slug="acme"), name="script")
    writer = sqlite3.connect(sqlite_settings.home / "pilote.db", isolation_level=None)
    try:
        with TestClient(create_app(sqlite_settings, engine)) as client:
            writer.execute("BEGIN IMMEDIATE")  # an import's long transaction
            answer = client.get("/api/v1/messages", headers={"Authorization": f"Bearer {token}"})
            writer.execute("ROLLBACK")
            later = client.get("/api/v1/messages", headers={"Authorization": f"Bearer {token}"})
    finally:
        writer.close()
        engine.dispose()
    assert answer.status_code == 200, answer.text
    assert later.status_code == 200
    with Session(make_engine(sqlite_settings)) as session:
        assert tokens.get_all(session)[0].last_used_at is not None  # the stamp, by the later request


def test_the_radar_s_turn_leaves_the_dashboards_recount_to_its_own_clock(sqlite_settings: Settings) -> None:
    """Recounting a busy day's conversations and keyphrases takes seconds on a large store: the radar's tick never
    waits for it, on this worker or another."""
    first, second = jobs.Jobs(sqlite_settings), jobs.Jobs(sqlite_settings)
    try:
        with first.engine.begin() as conn:
            conn.execute(insert(Workspace).values(slug="w", name="W", created_at=utcnow()))
            workspace = conn.execute(select(Workspace.id)).scalar_one()
            rollups.mark_hours(conn, [(workspace, 500_000), (workspace, 500_001)])
        assert second.radar_turn()
        assert dirty(second.engine) == 2  # the radar's turn left them to the dashboards' clock
        with hold(first.leases, jobs.DASHBOARDS):
            assert second.radar_turn()
            assert not second.dashboards_turn()  # another worker recounts them now
        assert dirty(second.engine) == 2
        assert second.dashboards_turn()
        assert dirty(second.engine) == 0
    finally:
        first.engine.dispose()
        second.engine.dispose()


def dirty(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(RollupDirty)).scalar_one()
