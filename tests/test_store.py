from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect

from pilote.db import alembic_config, is_current, migrate


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"workspace", "source", "author", "member", "message", "engagement", "label", "import_run"} <= tables
    assert is_current(engine)


def test_the_models_and_the_migrations_describe_the_same_schema(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)  # raises when a model change has no migration
