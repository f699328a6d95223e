"""`pilote doctor`: check a deployment (store, queue, workers, disk, keys, versions) and say what to fix.

Each check answers ok, warn (works, but look at it) or fail (something does not work), with what it found and,
when it is not ok, the one thing to do. Nothing is changed: the doctor reads, and never creates the store, a
key or a queue it does not find.
"""

from __future__ import annotations

import os
import platform
import shutil
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from pilote import __version__, leases
from pilote.config import Settings
from pilote.db import is_current
from pilote.jobs import CONSUMER
from pilote.models import Source, User

State = Literal["ok", "warn", "fail"]
LOW_DISK = 1 << 30  # 1 GiB: below, warn; an import or a backup needs room
NO_DISK = 100 << 20  # 100 MiB: below, SQLite and the queue soon fail


@dataclass(frozen=True, slots=True)
class Check:
    """One thing the doctor looked at."""

    name: str
    state: State
    found: str
    fix: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def examine(settings: Settings) -> list[Check]:
    """Every check, in the order a person would fix them."""
    found = [_home(settings), _disk(settings)]
    engine = _engine(settings)
    try:
        store = _store(engine)
        found.append(store)
        if store.state != "fail":
            found.extend([_accounts(engine), _secret_key(settings, engine)])
        found.extend([_queue(settings), _workers(settings, engine, store.state)])
    finally:
        engine.dispose()
    found.append(Check("versions", "ok", _versions()))
    return found


def _home(settings: Settings) -> Check:
    home = settings.home.resolve()
    if settings.database_url and not home.exists():
        return Check("home", "ok", f"{home} (not created yet; the store is PostgreSQL)")
    if not home.exists():
        return Check("home", "warn", f"{home} does not exist yet", "run `pilote init`, which creates it")
    if not home.is_dir():
        return Check("home", "fail", f"{home} is a file", "set PILOTE_HOME to a folder")
    if not os.access(home, os.W_OK):
        return Check("home", "fail", f"{home} cannot be written by this user", "give this user the folder")
    return Check("home", "ok", str(home))


def _disk(settings: Settings) -> Check:
    where = next((p for p in (settings.home.resolve(), *settings.home.resolve().parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(where).free
    shown = f"{free / (1 << 30):,.1f} GiB free on the disk of {where}"
    if free < NO_DISK:
        return Check("disk", "fail", shown, "free some room: the store, the queue and backups write there")
    if free < LOW_DISK:
        return Check("disk", "warn", shown, "free some room before the next import or backup")
    return Check("disk", "ok", shown)


def _engine(settings: Settings) -> Engine:
    """An engine that opens the store without creating it (a missing SQLite file stays missing)."""
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    path = settings.home.resolve() / "pilote.db"
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(f"file:{path}?mode=rw", uri=True))
    event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout = 2000"))
    return engine


def _store(engine: Engine) -> Check:
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            version = _database_version(conn)
        current = is_current(engine)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        fix = "run `pilote init`" if "unable to open" in reason else "check PILOTE_DATABASE_URL and the server"
        return Check("store", "fail", f"cannot open the store ({reason})", fix)
    if not current:
        return Check("store", "fail", f"{version}: its schema is older than this Pilote's", "run `pilote init`")
    return Check("store", "ok", f"{version}, schema up to date" + ("" if "sqlite" in version else f" ({where})"))


def _database_version(conn: Any) -> str:
    if conn.dialect.name == "sqlite":
        return f"SQLite {conn.execute(text('select sqlite_version()')).scalar_one()}"
    return f"PostgreSQL {conn.execute(text('show server_version')).scalar_one()}"


def _accounts(engine: Engine) -> Check:
    with engine.connect() as conn:
        people = conn.scalar(select(func.count()).select_from(User).where(User.disabled_at.is_(None))) or 0
    if not people:
        fix = "open the cockpit from the server itself, or run `pilote user create EMAIL --role admin`"
        return Check("accounts", "warn", "no account yet: nobody can sign in", fix)
    return Check("accounts", "ok", f"{people} active account(s)")


def _secret_key(settings: Settings, engine: Engine) -> Check:
    with engine.connect() as conn:
        secrets = conn.scalar(select(func.count()).select_from(Source).where(Source.credentials.is_not(None))) or 0
    path = settings.secret_key_file or settings.home / "secret.key"
    if settings.secret_key:
        return Check("secret key", "ok", f"from PILOTE_SECRET_KEY; {secrets} source(s) with stored credentials")
    if path.exists():
        if path.stat().st_mode & 0o077:
            return Check("secret key", "fail", f"{path} can be read by other users", f"chmod 600 {path}")
        return Check("secret key", "ok", f"{path}; {secrets} source(s) with stored credentials")
    if secrets:
        fix = "restore the key file from your backup, or set PILOTE_SECRET_KEY: without it they cannot be read"
        return Check("secret key", "fail", f"{secrets} source(s) hold credentials but {path} is missing", fix)
    return Check("secret key", "ok", "none yet (created when a platform is connected)")


def _queue(settings: Settings) -> Check:
    if settings.redis_url:
        return _redis(settings.redis_url)
    path = settings.home.resolve() / "jobs.db"
    if not path.exists():
        return Check("queue", "ok", f"embedded (SQLite), {path} not created yet: no job was queued")
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
            waiting = conn.execute("select count(*) from task").fetchone()[0] if "task" in tables else 0
    except sqlite3.Error as error:
        return Check("queue", "fail", f"{path}: {error}", "stop Pilote, move the file aside, start it again")
    return Check("queue", "ok", f"embedded (SQLite) at {path}, {waiting} job(s) waiting")


def _redis(url: str) -> Check:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    shown = client.connection_pool.connection_kwargs
    where = f"redis://{shown.get('host', '?')}:{shown.get('port', '?')}/{shown.get('db', 0)}"
    try:
        version = client.info().get("redis_version", "?")
        waiting = sum(int(client.llen(key)) for key in client.scan_iter("huey.redis.pilote*", count=100)
                      if client.type(key) == b"list")  # fmt: skip
    except redis.RedisError as error:
        return Check(
            "queue", "fail", f"cannot reach Redis at {where} ({error})", "check PILOTE_REDIS_URL and the server"
        )
    finally:
        client.close()
    return Check("queue", "ok", f"Redis {version} at {where}, {waiting} job(s) waiting")


def _workers(settings: Settings, engine: Engine, store: State) -> Check:
    if store == "fail" and not settings.redis_url:
        return Check("workers", "warn", "unknown: the store, which holds their leases, cannot be read")
    try:
        running = leases.of(settings, engine).holding(CONSUMER)
    except Exception as error:
        return Check(
            "workers", "warn", f"unknown ({str(error).splitlines()[0] if str(error) else type(error).__name__})"
        )
    if running:
        hosts = sorted({name.removeprefix(CONSUMER).split(":")[0] for name in running})
        return Check(
            "workers", "ok", f"{len(running)} consumer(s) running on {', '.join(hosts)}: jobs and the radar run"
        )
    fix = "start `pilote serve` (without --no-jobs) or `pilote worker`"
    return Check("workers", "warn", "no consumer is running: nothing syncs, analyses or watches now", fix)


def _versions() -> str:
    return f"Pilote {__version__}, Python {platform.python_version()}, SQLite library {sqlite3.sqlite_version}"
