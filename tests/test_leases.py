"""Leases: one holder at a time across processes, renewed while held, taken over once expired, and the jobs of
holders that died handed back once; in the store (SQLite and PostgreSQL) and in Redis."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, update

from pilote.config import Settings
from pilote.leases import Busy, DatabaseLeases, Leases, RedisLeases, hold, lease_t


@pytest.fixture(params=["store", pytest.param("redis", marks=pytest.mark.workers)])
def leases(request: pytest.FixtureRequest, engine: Engine) -> Iterator[Leases]:
    """Leases with a one-second time, in the store under test or in a Redis of the tests' own."""
    if request.param == "store":
        yield DatabaseLeases(engine, seconds=1.0)
        return
    held = RedisLeases(request.getfixturevalue("redis_url"), seconds=1.0)
    held.client.flushdb()
    yield held
    held.client.flushdb()


def expire(leases: Leases, engine: Engine) -> None:
    """Make every lease expire now, as if its holder had stopped renewing it."""
    if isinstance(leases, RedisLeases):
        for key in leases.client.keys("pilote:lease:*"):
            leases.client.delete(key)
        return
    with engine.begin() as conn:
        conn.execute(update(lease_t).values(expires_at=0.0))


def test_a_lease_has_one_holder_and_only_its_holder_releases_it(leases: Leases) -> None:
    first = leases.acquire("sync:1")
    assert first is not None
    assert leases.acquire("sync:1") is None
    assert leases.acquire("sync:2") is not None  # another name is another lease
    impostor = type(first)(first.name, "someone-else", first.seconds)
    leases.release(impostor)
    assert leases.held("sync:1")
    assert not leases.renew(impostor)
    leases.release(first)
    assert not leases.held("sync:1")
    assert leases.acquire("sync:1") is not None


def test_the_names_held_under_a_prefix_are_listed_and_a_prefix_is_not_a_pattern(leases: Leases, engine: Engine) -> None:
    taken = [leases.acquire(name) for name in ("consumer:b:2", "consumer:a:1", "consumer_x", "sync:1", "c*:9")]
    assert all(taken)
    assert leases.holding("consumer:") == ["consumer:a:1", "consumer:b:2"]
    assert leases.holding("c*") == ["c*:9"]  # the star is a character, not "anything" (Redis' glob, SQL's LIKE)
    assert leases.holding("consumer_") == ["consumer_x"]  # nor is LIKE's underscore
    expire(leases, engine)
    assert leases.holding("consumer:") == []


def test_a_held_lease_is_renewed_for_as_long_as_its_block_runs(leases: Leases) -> None:
    with hold(leases, "radar.tick") as lease:
        deadline = time.monotonic() + 2.5  # longer than the lease's second: only renewals keep it
        while time.monotonic() < deadline:
            assert leases.acquire("radar.tick") is None
            time.sleep(0.2)
        assert not lease.lost
    assert not leases.held("radar.tick")
    with pytest.raises(Busy), hold(leases, "radar.tick"), hold(leases, "radar.tick"):
        pass


def test_a_lease_whose_holder_died_is_taken_over_and_its_job_handed_back_once(leases: Leases, engine: Engine) -> None:
    dead = leases.acquire("analyse:7")
    released = leases.acquire("sync:3")
    assert dead is not None
    assert released is not None
    leases.release(released)
    expire(leases, engine)
    assert not leases.held("analyse:7")
    assert leases.interrupted() == ["analyse:7"]  # released leases are not interrupted jobs
    assert leases.interrupted() == []  # handed to one caller only
    taken = leases.acquire("analyse:7")
    assert taken is not None
    assert not leases.renew(dead)  # the dead holder, come back, finds it taken


def test_of_many_threads_asking_at_once_one_gets_the_lease(leases: Leases) -> None:
    won: list[bool] = []
    start = threading.Barrier(8)

    def ask() -> None:
        start.wait()
        won.append(leases.acquire("radar.tick") is not None)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False] * 7 + [True]


def test_the_deployment_s_leases_are_in_redis_when_it_is_configured(settings: Settings, engine: Engine) -> None:
    from pilote import leases

    assert isinstance(leases.of(settings, engine), DatabaseLeases)
    configured = settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0", "lease_seconds": 12.0})
    found = leases.of(configured, engine)
    assert isinstance(found, RedisLeases)
    assert found.seconds == 12.0
