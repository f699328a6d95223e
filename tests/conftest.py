"""Real databases for every test: a fresh SQLite file, and a throwaway PostgreSQL server."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from pilote.config import Settings, get_settings
from pilote.db import make_engine, migrate

PG_BIN_CANDIDATES = [os.environ.get("PILOTE_PG_BIN", ""), "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin"]
_database_numbers = itertools.count()


def shared_data() -> Path:
    """Where third-party data lives: $PILOTE_SHARED_DATA, else ../shared/data beside the repository."""
    configured = os.environ.get("PILOTE_SHARED_DATA")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def shared() -> Path:
    """The shared data folder; realdata tests skip (or fail in CI) without it."""
    folder = shared_data()
    if not folder.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"third-party data not found at {folder}; set PILOTE_SHARED_DATA")
        pytest.skip(f"third-party data not found at {folder}; set PILOTE_SHARED_DATA")
    return folder


def _pg_bin() -> Path | None:
    for candidate in PG_BIN_CANDIDATES:
        if candidate and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of our own for the session, on a Unix socket; yields a URL without database."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql-15, or set PILOTE_PG_BIN)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Outside pytest's private temp folder, which the `postgres` user could not enter.
    root = Path(tempfile.mkdtemp(prefix="pilote-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        root.chmod(0o755)
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-k {sockets} -p {port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        _as_postgres(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l", str(root / "server.log"), "start"]
        ),
        check=True,
        capture_output=True,
    )
    base = f"postgresql+psycopg://postgres@/{{}}?host={sockets}&port={port}"
    admin = create_engine(base.format("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE pilote_template"))
    template = create_engine(base.format("pilote_template"))
    migrate(template)
    template.dispose()
    admin.dispose()
    try:
        yield base
    finally:
        subprocess.run(
            _as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def _postgres_database(base: str) -> Iterator[str]:
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    admin = create_engine(base.format("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE pilote_template'))
    try:
        yield base.format(name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Settings for a fresh, migrated store: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        yield get_settings(home=tmp_path / "home", database_url=None)
        return
    base = request.getfixturevalue("postgres_url")
    yield from (get_settings(home=tmp_path / "home", database_url=url) for url in _postgres_database(base))


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """An engine on a fresh, migrated store (SQLite and PostgreSQL)."""
    engine = make_engine(settings)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    """Settings for a fresh SQLite store, for tests about behaviour that does not depend on the database."""
    return get_settings(home=tmp_path / "home", database_url=None)


@pytest.fixture
def sqlite_engine(sqlite_settings: Settings) -> Iterator[Engine]:
    """An engine on a fresh, migrated SQLite store."""
    engine = make_engine(sqlite_settings)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def env_for(monkeypatch: pytest.MonkeyPatch) -> object:
    """Point PILOTE_* environment variables at a given Settings (for CLI tests)."""

    def apply(settings: Settings) -> None:
        monkeypatch.setenv("PILOTE_HOME", str(settings.home))
        if settings.database_url:
            monkeypatch.setenv("PILOTE_DATABASE_URL", settings.database_url)
        else:
            monkeypatch.delenv("PILOTE_DATABASE_URL", raising=False)

    return apply
