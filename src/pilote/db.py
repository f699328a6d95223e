"""Engine and session factory: SQLite (WAL) by default, PostgreSQL when PILOTE_DATABASE_URL is set."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from pilote.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 10_000  # how long a SQLite writer waits for the lock before "database is locked"
LOCKED_ATTEMPTS = 6  # then a write transaction is run again, after a growing pause (~10 s of pauses in all)
T = TypeVar("T")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA cache_size=-65536")
    # Checkpoint the WAL every ~40 MB instead of 4 MB: imports commit often, and each checkpoint syncs.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.close()


# Connections per engine (kept, extra): 20 at most per process on PostgreSQL, so that two servers and two workers
# stay within the server's default of 100 connections.
POOL = {"sqlite": (5, 10), "postgresql": (10, 10)}


def make_engine(settings: Settings) -> Engine:
    """An engine for the configured database; creates $PILOTE_HOME for the SQLite default."""
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.home.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=POOL["sqlite"][0], max_overflow=POOL["sqlite"][1])
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No JIT compilation: PostgreSQL compiles a query's expressions when the planner's estimate is high, which it
    # is for the label rules' subqueries over many rows: about 1.5 s of compiling per query on a 2-core machine,
    # for queries that then run in less (docs/benchmarks.md). Pilote's reads are index walks and bounded sums.
    return create_engine(url, pool_pre_ping=True, pool_size=POOL["postgresql"][0], max_overflow=POOL["postgresql"][1],
                         connect_args={"options": "-c jit=off"})  # fmt: skip


def capacity(engine: Engine) -> int:
    """How many connections an engine of ours opens at most: a server runs no more requests at once than this,
    so that a burst of readers queues for a thread instead of failing after waiting for a connection."""
    size, overflow = POOL.get(engine.dialect.name, POOL["postgresql"])
    return size + overflow


def is_locked(error: BaseException) -> bool:
    """Whether an error is SQLite's "database is locked": another writer held the lock past the busy timeout."""
    return isinstance(error, OperationalError) and "database is locked" in str(error.orig)


def retry_locked(work: Callable[[], T], *, attempts: int = LOCKED_ATTEMPTS, pause: float = 0.1) -> T:
    """Run `work` (a whole transaction) again while SQLite says the database is locked, with a growing,
    jittered pause between attempts; other errors, and the last attempt's, go to the caller."""
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError as error:
            if not is_locked(error) or attempt == attempts - 1:
                raise
            time.sleep(min(pause * 2**attempt, 5.0) * random.uniform(0.5, 1.5))
    raise AssertionError("unreachable")


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes. On SQLite it takes the write lock first (BEGIN IMMEDIATE, waiting up to the
    busy timeout): a transaction that read first and then wrote would fail at once, whatever the timeout, if
    another writer committed in between. Wrap it in `retry_locked` to outlast a writer that holds longer."""
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to our packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    url = engine.url.render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() == head


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed on success and rolled back on error."""
    with session_factory(engine)() as session, session.begin():
        yield session
