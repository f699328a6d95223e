"""Alembic environment: runs on the connection handed over by pilote.db.migrate."""

from alembic import context
from sqlalchemy import create_engine

from pilote.models import Base

config = context.config


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Search structures are created by hand in the migrations, not declared on the models."""
    if type_ == "table" and name and name.startswith("message_fts"):
        return False
    return not (type_ == "column" and name == "search") and not (type_ == "index" and name == "ix_message_search")


connection = config.attributes.get("connection")
if connection is None:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(
            connection=conn, target_metadata=Base.metadata, render_as_batch=True, include_object=include_object
        )
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(
        connection=connection, target_metadata=Base.metadata, render_as_batch=True, include_object=include_object
    )
    with context.begin_transaction():
        context.run_migrations()
