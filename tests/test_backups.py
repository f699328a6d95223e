"""`pilote backup` and `pilote restore`: every table comes back, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from pilote import backups, pgserver
from pilote.cli import app
from pilote.config import Settings, get_settings
from pilote.db import make_engine, migrate
from pilote.errors import BadInput, Invalid
from pilote.models import Base, Label, Message
from pilote.simulate import simulate

_numbers = itertools.count()


@pytest.fixture
def empty(settings: Settings, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """Another store of the same engine with nothing in it: no table at all."""
    if not settings.database_url:
        yield get_settings(home=tmp_path / "restored", database_url=None)
        return
    template = request.getfixturevalue("postgres_url")
    name = f"restored_{os.getpid()}_{next(_numbers)}"
    try:
        yield get_settings(home=tmp_path / "restored", database_url=pgserver.create_database(template, name))
    finally:
        pgserver.drop_database(template, name)


def every_table(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows, in primary-key order."""
    rows = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            ordered = select(table).order_by(*(table.primary_key.columns or table.columns))
            rows[table.name] = [tuple(row) for row in conn.execute(ordered)]
    return rows


def test_a_store_restores_whole_into_an_empty_one(engine: Engine, empty: Settings, tmp_path: Path) -> None:
    simulate(engine, workspace="demo", days=7, members=120, seed=3, end=datetime(2026, 3, 1, tzinfo=UTC))
    with Session(engine) as session, session.begin():
        first = session.scalars(select(Message.id).order_by(Message.id)).first()
        session.add(Label(message_id=first, name="spam", value="ham", origin="user", created_by="Zoé «test»"))
    before = every_table(engine)
    taken = backups.backup(engine, tmp_path / "pilote.backup")
    assert taken.messages == len(before["message"]) > 100
    with pytest.raises(Invalid, match="never overwrites"):
        backups.backup(engine, tmp_path / "pilote.backup")

    restored_engine = make_engine(empty)
    try:
        restored = backups.restore(restored_engine, tmp_path / "pilote.backup")
        assert (restored.workspaces, restored.messages) == (1, len(before["message"]))
        assert every_table(restored_engine) == before
        with pytest.raises(Invalid, match="not empty"):
            backups.restore(restored_engine, tmp_path / "pilote.backup")
    finally:
        restored_engine.dispose()


def test_what_is_not_a_backup_is_refused_before_anything_is_written(sqlite_engine: Engine, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(backups.SQLITE_MAGIC + b"\x00" * 200)
    with pytest.raises(BadInput, match="not a Pilote backup"):
        backups.restore(sqlite_engine, text)
    with pytest.raises(BadInput, match="damaged SQLite file"):
        backups.restore(sqlite_engine, damaged)
    (tmp_path / "pg.backup").write_bytes(backups.PG_MAGIC + b"\x00" * 10)
    with pytest.raises(Invalid, match="is a backup of a postgresql store"):
        backups.restore(sqlite_engine, tmp_path / "pg.backup")
    with Session(sqlite_engine) as session:
        assert session.scalars(select(Message.id)).first() is None


def test_the_commands_back_up_and_restore_with_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PILOTE_DATABASE_URL", raising=False)
    source = get_settings(home=tmp_path / "a", database_url=None)
    engine = make_engine(source)
    migrate(engine)
    simulate(engine, workspace="demo", days=7, members=50, seed=1, end=datetime(2026, 3, 1, tzinfo=UTC))
    engine.dispose()
    runner = CliRunner()
    monkeypatch.setenv("PILOTE_HOME", str(tmp_path / "a"))
    taken = runner.invoke(app, ["backup", str(tmp_path / "demo.backup"), "--json"], catch_exceptions=False)
    assert taken.exit_code == 0, taken.stderr
    monkeypatch.setenv("PILOTE_HOME", str(tmp_path / "b"))
    restored = runner.invoke(app, ["restore", str(tmp_path / "demo.backup"), "--json"], catch_exceptions=False)
    assert restored.exit_code == 0, restored.stderr
    assert orjson.loads(restored.stdout)["messages"] == orjson.loads(taken.stdout)["messages"] > 0
    again = runner.invoke(app, ["restore", str(tmp_path / "demo.backup")], catch_exceptions=False)
    assert again.exit_code == 1
    assert "not empty" in again.stderr
