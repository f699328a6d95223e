"""message: the thread index leads with thread_id, so the thread references are found by an index

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Replaces (source_id, thread_id), which serves the same queries (a thread of a source, the unplaced
    # messages of a source) but not the look-ups by thread_id alone that the database makes for the
    # self-reference: on deleting a message (ON DELETE SET NULL), and on SQLite on inserting one while
    # a deferred reference is pending. Without it each of those scanned the whole table.
    op.drop_index("ix_message_source_thread", table_name="message")
    op.create_index("ix_message_thread_source", "message", ["thread_id", "source_id"])


def downgrade() -> None:
    op.drop_index("ix_message_thread_source", table_name="message")
    op.create_index("ix_message_source_thread", "message", ["source_id", "thread_id"])
