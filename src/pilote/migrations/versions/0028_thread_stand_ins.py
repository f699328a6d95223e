"""message: a partial index of stand-in roots (the first message of a named thread whose root is not in the
store leads it until the root arrives, linking.py), and the threads left empty before it get their stand-ins

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from pilote import linking, rollups

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in models.STAND_IN, written here so that a later change there does not rewrite this migration.
STAND_IN = "thread_id = id AND thread_external_id IS NOT NULL AND thread_external_id <> external_id"


def upgrade() -> None:
    op.create_index(
        "ix_message_stand_in",
        "message",
        ["source_id", "thread_external_id"],
        sqlite_where=sa.text(STAND_IN),
        postgresql_where=sa.text(STAND_IN),
    )
    conn = op.get_bind()
    waiting = sa.text("SELECT source_id, id FROM message WHERE thread_id IS NULL AND thread_external_id IS NOT NULL")
    placed: dict[int, list[int]] = {}
    for source_id, id_ in conn.execute(waiting):
        placed.setdefault(source_id, []).append(id_)
    for source_id, ids in placed.items():
        linking.relink(conn, source_id=source_id)
        rollups.mark(conn, ids)  # the dashboards' conversations count them from now on


def downgrade() -> None:
    op.drop_index("ix_message_stand_in", table_name="message")
