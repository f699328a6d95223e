"""`pilote doctor`: each check says what it found, and what to do when something does not work."""

from __future__ import annotations

import socket
from pathlib import Path

import orjson
from sqlalchemy import Engine, update
from typer.testing import CliRunner

from pilote import doctor, jobs, leases
from pilote.cli import app
from pilote.config import Settings, get_settings
from pilote.imports import import_file
from pilote.models import Source
from pilote.samples import write_wxr


def states(settings: Settings) -> dict[str, doctor.Check]:
    return {check.name: check for check in doctor.examine(settings)}


def test_a_fresh_store_is_ok_and_says_what_is_missing(settings: Settings, engine: Engine) -> None:
    found = states(settings)
    assert found["store"].state == "ok"
    assert "schema up to date" in found["store"].found
    assert found["accounts"].state == "warn"
    assert "pilote user create" in (found["accounts"].fix or "")
    assert found["workers"].state == "warn"
    assert "pilote worker" in (found["workers"].fix or "")


def test_the_workers_check_sees_a_consumer_between_its_clock_s_turns(settings: Settings, engine: Engine) -> None:
    """A consumer is seen for as long as it runs, not only while a turn of its clocks holds their lease."""
    worker = jobs.Jobs(settings)
    worker.start()
    try:
        found = states(settings)["workers"]
        running = f"1 consumer(s) running on {socket.gethostname()}: jobs and the radar run"
        assert (found.state, found.found) == ("ok", running)
        other = leases.of(settings, engine).acquire(jobs.CONSUMER + "elsewhere:7:abc")
        assert other is not None
        assert states(settings)["workers"].found.startswith("2 consumer(s) running on ")
        leases.of(settings, engine).release(other)
    finally:
        worker.stop()
    assert states(settings)["workers"].state == "warn"  # stopped: its presence is released, not left to expire


def test_a_missing_store_fails_without_being_created(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path / "nowhere", database_url=None)
    found = states(settings)
    assert found["home"].state == "warn"
    assert (found["store"].state, found["store"].fix) == ("fail", "run `pilote init`")
    assert not (tmp_path / "nowhere").exists()
    result = CliRunner().invoke(app, ["doctor", "--json"], env={"PILOTE_HOME": str(tmp_path / "nowhere")})
    assert result.exit_code == 1
    printed = orjson.loads(result.stdout)
    assert printed["ok"] is False
    assert [c["name"] for c in printed["checks"]][:3] == ["home", "disk", "store"]


def test_credentials_without_their_key_fail(sqlite_settings: Settings, sqlite_engine: Engine, tmp_path: Path) -> None:
    import_file(sqlite_engine, write_wxr(tmp_path / "blog.xml", posts=1, comments_per_post=1))
    assert states(sqlite_settings)["secret key"].state == "ok"  # no credentials stored: nothing to read
    with sqlite_engine.begin() as conn:
        conn.execute(update(Source).values(credentials="gAAAA-not-readable-without-the-key"))
    missing = states(sqlite_settings)["secret key"]
    assert missing.state == "fail"
    assert "secret.key is missing" in missing.found


def test_the_redis_queue_is_checked(tmp_path: Path, redis_url: str, sqlite_engine: Engine) -> None:
    home = Path(str(sqlite_engine.url.database)).parent
    reachable = get_settings(home=home, database_url=None, redis_url=redis_url)
    assert states(reachable)["queue"].state == "ok"
    assert "Redis" in states(reachable)["queue"].found
    gone = get_settings(home=home, database_url=None, redis_url="redis://127.0.0.1:1/0")
    found = states(gone)
    assert found["queue"].state == "fail"
    assert "PILOTE_REDIS_URL" in (found["queue"].fix or "")


def test_a_key_others_can_read_fails(sqlite_settings: Settings, sqlite_engine: Engine) -> None:
    key = sqlite_settings.home / "secret.key"
    key.write_text("x")
    key.chmod(0o644)
    assert states(sqlite_settings)["secret key"].state == "fail"
