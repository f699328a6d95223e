from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pilote.config import Settings
from pilote.db import make_engine, migrate
from pilote.errors import BadInput
from pilote.imports import import_file
from pilote.models import ImportRun, Message
from pilote.samples import write_wxr


class Stop(KeyboardInterrupt):
    """Ctrl-C, raised from inside the import after some batches were committed."""


def interrupt_after(batches: int):  # type: ignore[no-untyped-def]
    seen = 0

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal seen
        if phase == "importing":
            seen += 1
            if seen == batches:
                raise Stop

    return progress


def message_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Message)) or 0


def test_an_interrupted_import_resumes_and_reports_the_counts_of_an_uninterrupted_one(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_wxr(tmp_path / "big.xml", posts=30, comments_per_post=9)
    with pytest.raises(Stop):
        import_file(engine, path, batch_size=25, progress=interrupt_after(3))
    assert message_count(engine) == 75  # three whole batches, nothing half-written
    with Session(engine) as session:
        assert session.scalars(select(ImportRun.status)).one() == "interrupted"
    report = import_file(engine, path, batch_size=25)
    assert report.resumed_from == 75
    assert (report.counts.new, report.counts.updated, report.counts.unchanged) == (300, 0, 0)
    assert message_count(engine) == 300
    again = import_file(engine, path, batch_size=25)
    assert (again.resumed_from, again.counts.new, again.counts.unchanged) == (0, 0, 300)


def test_a_broken_file_writes_nothing_at_all(engine: Engine, tmp_path: Path) -> None:
    path = write_wxr(tmp_path / "cut.xml", posts=20, comments_per_post=5)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 3 // 4])
    with pytest.raises(BadInput, match="malformed XML") as caught:
        import_file(engine, path, batch_size=10)
    assert caught.value.where
    assert caught.value.where.startswith("line ")
    assert message_count(engine) == 0
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(ImportRun)) == 0


def test_an_unknown_format_says_which_formats_exist(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "notes.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n....")
    with pytest.raises(BadInput, match="unknown format") as caught:
        import_file(sqlite_engine, path)
    assert "--format" in str(caught.value)
    assert "wxr" in str(caught.value)


def test_a_missing_file_is_reported_not_raised_as_a_traceback(sqlite_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="cannot be read"):
        import_file(sqlite_engine, tmp_path / "nowhere.xml")


def _wait_for_checkpoint(settings: Settings, process: subprocess.Popen[bytes], timeout: float = 120) -> int:
    engine = make_engine(settings)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with Session(engine) as session:
                    done = session.scalar(select(func.max(ImportRun.done))) or 0
            except Exception:
                done = 0
            if done > 0:
                return done
            time.sleep(0.02)
    finally:
        engine.dispose()
    raise AssertionError("the import never reached a checkpoint")


def test_kill_9_mid_import_leaves_a_consistent_store_that_the_same_command_completes(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    path = write_wxr(tmp_path / "export.xml", posts=400, comments_per_post=25)
    env = {**os.environ, "PILOTE_HOME": str(sqlite_settings.home), "PILOTE_BATCH_SIZE": "200"}
    env.pop("PILOTE_DATABASE_URL", None)
    command = [sys.executable, "-m", "pilote", "import", str(path), "--json"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_checkpoint(sqlite_settings, process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    engine = make_engine(sqlite_settings)
    migrate(engine)
    with Session(engine) as session:
        run = session.scalars(select(ImportRun)).one()
        stored = session.scalar(select(func.count()).select_from(Message))
    assert run.status == "running"
    assert 0 < run.done < 10_400
    assert stored == run.new  # every committed batch is whole, and counted
    finished = subprocess.run(command, env=env, capture_output=True, check=True)
    import orjson

    summary = orjson.loads(finished.stdout)["imports"][0]
    assert (summary["new"], summary["updated"], summary["unchanged"], summary["errors"]) == (10_400, 0, 0, 0)
    assert message_count(engine) == 10_400
    engine.dispose()
