"""rollup_recounted: the runs of hours whose rollups were recounted, and when (what changed in the store since a
moment: the metrics' held facts read those hours again)

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pilote.models

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "rollup_recounted",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("workspace_id", BIG_ID, nullable=False),
        sa.Column("first_hour", sa.BigInteger(), nullable=False),
        sa.Column("last_hour", sa.BigInteger(), nullable=False),
        sa.Column("at", pilote.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_recounted")),
    )
    op.create_index(op.f("ix_rollup_recounted_workspace_id_at"), "rollup_recounted", ["workspace_id", "at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rollup_recounted_workspace_id_at"), table_name="rollup_recounted")
    op.drop_table("rollup_recounted")
