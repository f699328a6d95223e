"""source: the last sync's state and a connector's encrypted credentials get columns of their own

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

source = sa.table("source", sa.column("id", sa.BigInteger), sa.column("settings", sa.Text), sa.column("state", sa.Text))


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (SQLite adds and, since 3.35, drops columns in place): a batch
    # copy of `source` would have to drop a table that messages and runs point at.
    op.add_column("source", sa.Column("state", sa.Text(), nullable=True))
    op.add_column("source", sa.Column("credentials", sa.Text(), nullable=True))
    # A feed's state lived in its settings under "feed": it moves to the new column.
    conn = op.get_bind()
    for row in conn.execute(sa.select(source.c.id, source.c.settings).where(source.c.settings.is_not(None))).all():
        settings = _object(row.settings)
        if not isinstance(settings.get("feed"), dict):
            continue
        state = settings.pop("feed")
        conn.execute(
            source.update()
            .where(source.c.id == row.id)
            .values(state=_dump(state), settings=_dump(settings) if settings else None)
        )


def downgrade() -> None:
    conn = op.get_bind()
    for row in conn.execute(
        sa.select(source.c.id, source.c.settings, source.c.state).where(source.c.state.is_not(None))
    ):
        settings = _object(row.settings)
        settings["feed"] = _object(row.state)
        conn.execute(source.update().where(source.c.id == row.id).values(settings=_dump(settings)))
    op.drop_column("source", "credentials")
    op.drop_column("source", "state")


def _object(text: str | None) -> dict[str, object]:
    try:
        found = orjson.loads(text or "{}")
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def _dump(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
