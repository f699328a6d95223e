"""Backups of the whole store, taken while Pilote runs, and their restore into an empty store.

SQLite: the online backup API copies the database page by page into a file beside the destination (readers and
writers go on; a page written during the copy restarts it), which is renamed into place only when whole.
PostgreSQL: `pg_dump` in its custom format, restored by `pg_restore`; the password travels in the environment,
never in a command line that `ps` shows. A restore goes into an empty store only (no workspace, no message) and
brings the schema up to date afterwards, so a backup taken by an older Pilote restores into a newer one.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from pilote import pgserver
from pilote.db import migrate
from pilote.errors import BadInput, Invalid, Unavailable

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
PAGES_PER_STEP = 1024  # the SQLite copy yields between steps: a writer waits at most one step
Progress = Callable[[int, int], None]  # (done, total) pages; PostgreSQL reports nothing


@dataclass(frozen=True, slots=True)
class Backup:
    """What a backup or a restore did."""

    path: Path
    engine: str  # "sqlite" or "postgresql"
    bytes: int
    workspaces: int
    messages: int


def backup(engine: Engine, destination: Path, progress: Progress | None = None) -> Backup:
    """Copy the whole store into `destination` (refused if it exists: a backup never overwrites another)."""
    if destination.exists():
        raise Invalid(f"{destination} exists: a backup never overwrites a file, name a new one")
    if not destination.parent.is_dir():
        raise Invalid(f"{destination.parent} is not a folder: create it first")
    partial = destination.with_name(f".{destination.name}.partial")
    partial.unlink(missing_ok=True)
    kind = engine.url.get_backend_name()
    try:
        if kind == "sqlite":
            _sqlite_backup(_sqlite_path(engine), partial, progress)
        else:
            _pg_run(engine.url, "pg_dump", ["--format=custom", "--no-owner", "--no-privileges", "--file", str(partial)])
        partial.rename(destination)
    finally:
        partial.unlink(missing_ok=True)
    workspaces, messages = _counts(engine)
    return Backup(destination, kind, destination.stat().st_size, workspaces, messages)


def restore(engine: Engine, source: Path, progress: Progress | None = None) -> Backup:
    """Bring a backup into this store, which must be empty; then migrate it to the current schema."""
    kind = _kind_of(source)
    target = engine.url.get_backend_name()
    if kind != target:
        raise Invalid(f"{source} is a backup of a {kind} store, and this store is {target}: restore it into {kind}")
    if _has_data(engine):
        raise Invalid("this store is not empty: restore into an empty store (a new PILOTE_HOME or a new database)")
    if kind == "sqlite":
        engine.dispose()
        _sqlite_check(source)
        _sqlite_backup(source, _sqlite_path(engine), progress)
    else:
        engine.dispose()
        _pg_run(engine.url, "pg_restore", ["--clean", "--if-exists", "--no-owner", "--no-privileges",
                                           "--exit-on-error", "--single-transaction", str(source)])  # fmt: skip
    engine.dispose()
    migrate(engine)
    workspaces, messages = _counts(engine)
    return Backup(source, kind, source.stat().st_size, workspaces, messages)


def _kind_of(source: Path) -> str:
    try:
        with source.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as error:
        raise BadInput(source, None, f"cannot read it: {error.strerror}") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    raise BadInput(source, "first bytes", "not a Pilote backup (neither a SQLite database nor a pg_dump archive)",
                   "name the file `pilote backup` wrote")  # fmt: skip


def _sqlite_check(source: Path) -> None:
    """A SQLite file that is a Pilote store, whole: refused before anything is written."""
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as conn:
            ok = conn.execute("PRAGMA quick_check").fetchone()
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise BadInput(source, None, f"damaged SQLite file: {error}", "restore another backup") from None
    if not ok or ok[0] != "ok":
        raise BadInput(source, None, f"damaged SQLite file: {ok[0] if ok else 'no answer'}", "restore another backup")
    if not {"alembic_version", "workspace", "message"} <= tables:
        raise BadInput(source, None, "a SQLite database, but not a Pilote store (no workspace or message table)")


def _sqlite_backup(source: Path, destination: Path, progress: Progress | None) -> None:
    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    with sqlite3.connect(source) as origin, sqlite3.connect(destination) as copy:
        origin.backup(copy, pages=PAGES_PER_STEP, progress=step)
    origin.close()
    copy.close()


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise Invalid("an in-memory SQLite store has nothing to back up")
    return Path(database)


def _pg_run(url: URL, program: str, arguments: list[str]) -> None:
    """Run pg_dump or pg_restore on the store's database; its error, if any, becomes one line."""
    bin_dir = pgserver.find_bin()
    if bin_dir is None or not (bin_dir / program).exists():
        raise Unavailable(f"{program} not found: apt-get install postgresql-client-15, or set PILOTE_PG_BIN")
    query = url.query
    environment = {
        **os.environ,
        "PGHOST": str(url.host or query.get("host", "")),
        "PGPORT": str(url.port or query.get("port", "5432")),
        "PGUSER": url.username or "",
        "PGDATABASE": url.database or "",
    }
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    done = subprocess.run(
        [str(bin_dir / program), "--dbname", url.database or "", *arguments],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise Unavailable(f"{program} failed: {lines[0] if lines else f'exit status {done.returncode}'}")


def _has_data(engine: Engine) -> bool:
    tables = set(inspect(engine).get_table_names())
    if not {"workspace", "message"} <= tables:
        return False
    with engine.connect() as conn:
        return any(conn.execute(text(f"SELECT 1 FROM {name} LIMIT 1")).first() for name in ("workspace", "message"))


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        workspaces = conn.execute(text("SELECT count(*) FROM workspace")).scalar_one()
        messages = conn.execute(text("SELECT count(*) FROM message")).scalar_one()
    return int(workspaces), int(messages)
