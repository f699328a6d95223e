from __future__ import annotations

from sqlalchemy import Engine, inspect

from pilote.db import is_current, migrate


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"workspace", "source", "author", "member", "message", "engagement", "label", "import_run"} <= tables
    assert is_current(engine)
