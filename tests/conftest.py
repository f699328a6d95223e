"""Real databases for every test: a fresh SQLite file, and a throwaway PostgreSQL server."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine

from pilote import pgserver
from pilote.config import Settings, get_settings
from pilote.db import make_engine, migrate

# The suite judges text only, as it did before the sentence vectors were on by default: they cost ~1.5 ms a message,
# and the text part's figures are what most tests check. tests/test_embeddings.py runs the default with them.
os.environ["PILOTE_EMBEDDINGS"] = "false"

pytest_plugins = ["api_peer"]  # the local API peer fixture, for the connectors

_database_numbers = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in tests/browser is a browser test, and runs last: its server and browser driver keep
    threads alive for the rest of the session, and a process with threads does not fork its enrichment
    workers (see pilote.enrich.pipeline), which the tests before them check."""
    browser = [item for item in items if "tests/browser/" in str(item.path).replace(os.sep, "/")]
    for item in browser:
        item.add_marker(pytest.mark.browser)
    items[:] = [item for item in items if item not in browser] + browser


@pytest.fixture(autouse=True)
def test_client_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Starlette's test client names its requests' host `testserver`: the apps under test answer to it too."""
    monkeypatch.setenv("PILOTE_ALLOWED_HOSTS", "localhost,127.0.0.1,::1,testserver")


def missing_parts() -> list[str]:
    """What this machine lacks for some tests, each with the command that installs it."""
    chromium = Path(os.environ.get("PILOTE_CHROMIUM", "/usr/bin/chromium"))
    missing = []
    if not chromium.exists():
        missing.append(f"Chromium for the browser tests: no {chromium} (apt-get install chromium, or PILOTE_CHROMIUM)")
    if pgserver.find_bin() is None:
        missing.append("PostgreSQL 15 for the PostgreSQL tests (apt-get install postgresql-15, or set PILOTE_PG_BIN)")
    if not Path(REDIS_SERVER).exists():
        missing.append("Redis for the workers' tests (apt-get install redis-server, or set PILOTE_REDIS_SERVER)")
    if not shared_data().is_dir():
        missing.append(f"the third-party data of the realdata tests: no {shared_data()} (set PILOTE_SHARED_DATA)")
    return missing


def pytest_report_header() -> list[str]:
    return [f"NOT INSTALLED, these tests will skip: {part}" for part in missing_parts()]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Named again at the very end, where a person reads: a skipped browser suite must not pass unnoticed."""
    for part in missing_parts():
        terminalreporter.write_line(f"NOT INSTALLED, tests skipped: {part}", yellow=True, bold=True)


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


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server of our own for the session; yields a URL template (`{}` is the database)."""
    bin_dir = pgserver.find_bin()
    if bin_dir is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql-15, or set PILOTE_PG_BIN)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with pgserver.running(bin_dir) as template:
        url = pgserver.create_database(template, "pilote_template")
        engine = create_engine(url)
        migrate(engine)
        engine.dispose()
        yield template


def _postgres_database(template: str) -> Iterator[str]:
    """A fresh database cloned from the migrated template: much faster than migrating each time."""
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    try:
        yield pgserver.create_database(template, name, template="pilote_template")
    finally:
        pgserver.drop_database(template, name)


REDIS_SERVER = os.environ.get("PILOTE_REDIS_SERVER", "/usr/bin/redis-server")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server of our own on a free loopback port, without persistence, for the session."""
    if not Path(REDIS_SERVER).exists():
        message = f"no {REDIS_SERVER} (apt-get install redis-server, or set PILOTE_REDIS_SERVER)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("redis")
    for _attempt in range(5):  # the free port may be taken between the probe and the bind: try another
        port = pgserver.free_port()
        server = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while server.poll() is None and time.monotonic() < deadline:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        if server.poll() is None:
            break
    else:
        pytest.fail("redis-server did not start")
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


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
