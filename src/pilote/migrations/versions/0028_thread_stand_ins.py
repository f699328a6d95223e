"""message: a partial index of stand-in roots (the first message of a named thread whose root is not in the
store leads it until the root arrives, linking.py); the threads left empty before it get their stand-ins, and
the hours of those messages and of comments whose parent is missing (now comments, `community.reply_sql`) are
noted for the dashboards' recount

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in models.STAND_IN, written here so that a later change there does not rewrite this migration.
STAND_IN = "thread_id = id AND thread_external_id IS NOT NULL AND thread_external_id <> external_id"
WAITING = "thread_id IS NULL AND thread_external_id IS NOT NULL"


def upgrade() -> None:
    op.create_index(
        "ix_message_stand_in",
        "message",
        ["source_id", "thread_external_id"],
        sqlite_where=sa.text(STAND_IN),
        postgresql_where=sa.text(STAND_IN),
    )
    conn = op.get_bind()
    sqlite = conn.dialect.name == "sqlite"
    # Each waiting thread's first message written leads it (computed apart: the update changes what it reads).
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE stand_in_leader AS SELECT source_id, thread_external_id, id FROM ("
        "SELECT source_id, thread_external_id, id, ROW_NUMBER() OVER (PARTITION BY source_id, thread_external_id "
        f"ORDER BY created_at, id) AS n FROM message WHERE {WAITING}) AS ranked WHERE n = 1"
    )
    conn.exec_driver_sql("CREATE INDEX ix_stand_in_leader ON stand_in_leader (source_id, thread_external_id)")
    hour = (
        "CAST(strftime('%s', created_at) AS INTEGER) / 3600"
        if sqlite
        else "floor(extract(epoch FROM created_at) / 3600)::bigint"
    )
    touched = (
        f"SELECT DISTINCT workspace_id, {hour} FROM message WHERE ({WAITING}) "
        "OR (parent_id IS NULL AND parent_external_id IS NOT NULL)"
    )
    ignore = ("INSERT OR IGNORE INTO", "") if sqlite else ("INSERT INTO", " ON CONFLICT DO NOTHING")
    conn.exec_driver_sql(f"{ignore[0]} rollup_dirty (workspace_id, hour) {touched}{ignore[1]}")
    conn.exec_driver_sql(
        "UPDATE message SET thread_id = (SELECT l.id FROM stand_in_leader l WHERE l.source_id = message.source_id "
        f"AND l.thread_external_id = message.thread_external_id) WHERE {WAITING}"
    )
    conn.exec_driver_sql("DROP TABLE stand_in_leader")


def downgrade() -> None:
    op.drop_index("ix_message_stand_in", table_name="message")
