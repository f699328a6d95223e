"""Leases: named locks that any process on any host can hold, that expire unless their holder renews them.

A job that must never run twice at the same time (the radar's tick, one source's sync, one workspace's
analysis) holds a lease named after it for as long as it runs. The lease lives where every worker sees it:
in Redis when PILOTE_REDIS_URL is set (SET NX PX with the holder's token; renewed and released only by a
script that checks the token), else in the store's `lease` table (taken by one INSERT … ON CONFLICT DO
UPDATE … WHERE expired, on the database's clock). A thread renews a held lease every third of its time, so
it expires only when its holder died or stopped. A lease that expired without being released names a job
that was interrupted: `interrupted()` hands each such name once to whoever asks, to queue the job again.
docs/architecture.md, "Jobs and leases".
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol, cast

from sqlalchemy import ColumnElement, Engine, Float, Table, delete, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pilote.config import Settings
from pilote.db import begin_write, retry_locked
from pilote.errors import Invalid
from pilote.models import Lease as LeaseRow

lease_t = cast(Table, LeaseRow.__table__)
log = logging.getLogger("pilote.leases")
SECONDS = 30.0  # a lease outlives its dead holder this long at most (PILOTE_LEASE_SECONDS)


class Busy(Invalid):
    """The lease is held by another process: the job is running elsewhere."""


@dataclass(slots=True)
class Lease:
    """A lease this process holds: its name, its holder's token and how long each renewal keeps it."""

    name: str
    token: str
    seconds: float
    lost: bool = field(default=False)  # a renewal found it taken: its holder was stopped longer than its time


class Leases(Protocol):
    """Where leases are kept (Redis or the database), and how long each renewal keeps one."""

    seconds: float

    def acquire(self, name: str) -> Lease | None:
        """The lease if it was free (or expired), else None."""
        ...

    def renew(self, lease: Lease) -> bool:
        """Keep the lease for `lease.seconds` more; False if it is no longer ours."""
        ...

    def release(self, lease: Lease) -> None:
        """Give the lease up, if it is still ours."""
        ...

    def held(self, name: str) -> bool:
        """Whether someone holds the lease now."""
        ...

    def holding(self, prefix: str) -> list[str]:
        """The names starting with `prefix` that someone holds now, sorted."""
        ...

    def interrupted(self) -> list[str]:
        """The names of leases that expired without being released, each handed to one caller only."""
        ...


def holder() -> str:
    """A token naming this process of this host, unique to one acquisition."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def of(settings: Settings, engine: Engine) -> Leases:
    """The leases of this deployment: in Redis when PILOTE_REDIS_URL is set, else in the store."""
    if settings.redis_url:
        return _redis_leases(settings.redis_url, settings.lease_seconds)
    return DatabaseLeases(engine, settings.lease_seconds)


@contextmanager
def hold(leases: Leases, name: str) -> Iterator[Lease]:
    """Hold `name` for the block, renewed in the background; Busy if another process holds it."""
    lease = leases.acquire(name)
    if lease is None:
        raise Busy(f"{name} is running elsewhere: wait for it to finish")
    stop = threading.Event()
    keeper = threading.Thread(target=_keep, args=(leases, lease, stop), name=f"pilote-lease-{name}", daemon=True)
    keeper.start()
    try:
        yield lease
    finally:
        stop.set()
        keeper.join()
        leases.release(lease)


def _keep(leases: Leases, lease: Lease, stop: threading.Event) -> None:
    while not stop.wait(lease.seconds / 3):
        try:
            if not leases.renew(lease):
                lease.lost = True
                return
        except Exception as error:  # a store or Redis that hiccups: try again at the next third
            log.warning("could not renew the lease %s (%s); trying again", lease.name, error)


# --- in the store ---------------------------------------------------------------------------------


def _now(engine: Engine) -> ColumnElement[float]:
    """Seconds since the epoch on the database's clock: one clock for every host."""
    if engine.dialect.name == "sqlite":
        return literal_column("((julianday('now') - 2440587.5) * 86400.0)", Float)
    return literal_column("extract(epoch from clock_timestamp())::float8", Float)


class DatabaseLeases:
    """Leases in the store's `lease` table (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine, seconds: float = SECONDS) -> None:
        self.engine, self.seconds = engine, seconds

    def acquire(self, name: str) -> Lease | None:
        lease, seconds = Lease(name, holder(), self.seconds), self.seconds
        insert = (sqlite if self.engine.dialect.name == "sqlite" else postgresql).insert(lease_t)
        now = _now(self.engine)
        statement = insert.values(name=name, holder=lease.token, expires_at=now + seconds)
        statement = statement.on_conflict_do_update(
            index_elements=[lease_t.c.name],
            set_={"holder": statement.excluded.holder, "expires_at": statement.excluded.expires_at},
            where=lease_t.c.expires_at < now,
        )
        return lease if self._returning(statement.returning(lease_t.c.holder)) == lease.token else None

    def renew(self, lease: Lease) -> bool:
        ours = (lease_t.c.name == lease.name) & (lease_t.c.holder == lease.token)
        return self._write(update(lease_t).where(ours).values(expires_at=_now(self.engine) + lease.seconds)) == 1

    def release(self, lease: Lease) -> None:
        self._write(delete(lease_t).where((lease_t.c.name == lease.name) & (lease_t.c.holder == lease.token)))

    def held(self, name: str) -> bool:
        with self.engine.connect() as conn:
            query = select(lease_t.c.name).where((lease_t.c.name == name) & (lease_t.c.expires_at >= _now(self.engine)))
            return conn.scalar(query) is not None

    def holding(self, prefix: str) -> list[str]:
        alive = lease_t.c.name.startswith(prefix, autoescape=True) & (lease_t.c.expires_at >= _now(self.engine))
        with self.engine.connect() as conn:
            return list(conn.scalars(select(lease_t.c.name).where(alive).order_by(lease_t.c.name)))

    def interrupted(self) -> list[str]:
        now = _now(self.engine)
        with self.engine.connect() as conn:
            names = list(conn.scalars(select(lease_t.c.name).where(lease_t.c.expires_at < now)))
        claimed = []
        for name in names:  # the one whose DELETE removes the row is the one that queues the job again
            if self._write(delete(lease_t).where((lease_t.c.name == name) & (lease_t.c.expires_at < now))) == 1:
                claimed.append(name)
        return claimed

    def _returning(self, statement: Any) -> Any:
        def run() -> Any:
            with begin_write(self.engine) as conn:
                return conn.execute(statement).scalar()

        return retry_locked(run)

    def _write(self, statement: Any) -> int:
        def run() -> int:
            with begin_write(self.engine) as conn:
                return int(conn.execute(statement).rowcount)

        return retry_locked(run)


# --- in Redis -------------------------------------------------------------------------------------

# KEYS[1]: the lease; KEYS[2]: the set of lease names taken and not released; ARGV: token, milliseconds.
_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('SADD', KEYS[2], KEYS[1])
  return 1
end
return 0
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], KEYS[1])
  return 1
end
return 0
"""
# A name in the set whose key is gone expired unreleased: the caller whose SREM removes it queues the job.
_INTERRUPTED = """
local found = {}
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', key) == 0 then
    redis.call('SREM', KEYS[1], key)
    table.insert(found, key)
  end
end
return found
"""
PREFIX = "pilote:lease:"
TAKEN = "pilote:leases"


@cache
def _redis_leases(url: str, seconds: float) -> RedisLeases:
    return RedisLeases(url, seconds)


class RedisLeases:
    """Leases held in Redis; the scripts check the holder's token, so only the holder renews or releases."""

    def __init__(self, url: str, seconds: float = SECONDS) -> None:
        import redis

        self.seconds = seconds
        self.client = redis.Redis.from_url(url)
        self._acquire, self._renew = self.client.register_script(_ACQUIRE), self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self._interrupted = self.client.register_script(_INTERRUPTED)

    def acquire(self, name: str) -> Lease | None:
        lease = Lease(name, holder(), self.seconds)
        taken = self._acquire(keys=[PREFIX + name, TAKEN], args=[lease.token, _ms(self.seconds)])
        return lease if taken == 1 else None

    def renew(self, lease: Lease) -> bool:
        return bool(self._renew(keys=[PREFIX + lease.name], args=[lease.token, _ms(lease.seconds)]) == 1)

    def release(self, lease: Lease) -> None:
        self._release(keys=[PREFIX + lease.name, TAKEN], args=[lease.token])

    def held(self, name: str) -> bool:
        return bool(self.client.exists(PREFIX + name))

    def holding(self, prefix: str) -> list[str]:
        pattern = PREFIX + "".join(f"\\{c}" if c in "*?[]\\" else c for c in prefix) + "*"
        keys = self.client.scan_iter(match=pattern, count=1000)
        return sorted((key.decode() if isinstance(key, bytes) else str(key)).removeprefix(PREFIX) for key in keys)

    def interrupted(self) -> list[str]:
        found = self._interrupted(keys=[TAKEN])
        return [(key.decode() if isinstance(key, bytes) else str(key)).removeprefix(PREFIX) for key in found]


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)
