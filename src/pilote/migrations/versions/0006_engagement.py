"""engagement: a generated column (likes + shares + replies) in the index by workspace and time

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The database computes the column, so the importer, connectors and hand-written SQL cannot leave it stale.
# SQLite's ALTER TABLE can only add a virtual generated column (computed when read; the index keeps its values);
# PostgreSQL 15 only has stored ones (adding it rewrites the table once).
KIND = {"sqlite": "VIRTUAL", "postgresql": "STORED"}
ENGAGEMENT_SQL = "coalesce(likes, 0) + coalesce(shares, 0) + coalesce(replies, 0)"  # as pilote.models says


def upgrade() -> None:
    kind = KIND[op.get_bind().dialect.name]
    op.execute(
        f"ALTER TABLE message ADD COLUMN engagement BIGINT GENERATED ALWAYS AS ({ENGAGEMENT_SQL}) {kind} NOT NULL"
    )
    # Replaces (workspace_id, created_at): the id keeps the (created_at, id) order that keyset pages walk.
    op.drop_index("ix_message_workspace_created", table_name="message")
    op.create_index(
        "ix_message_workspace_created_engagement", "message", ["workspace_id", "created_at", "id", "engagement"]
    )


def downgrade() -> None:
    op.drop_index("ix_message_workspace_created_engagement", table_name="message")
    op.create_index("ix_message_workspace_created", "message", ["workspace_id", "created_at"])
    op.drop_column("message", "engagement")
