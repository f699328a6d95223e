"""audience_count: the followers (and following, posts) platforms report of the workspace's own accounts, one row
per account and observation (a sync), for the vanity-versus-engagement panel and the per-follower engagement rate

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pilote.models

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audience_count",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("workspace_id", BIG_ID, nullable=False),
        sa.Column("source_id", BIG_ID, nullable=False),
        sa.Column("account", sa.String(length=500), nullable=False),
        sa.Column("observed_at", pilote.models.UTCDateTime(), nullable=False),
        sa.Column("followers", sa.BigInteger(), nullable=False),
        sa.Column("following", sa.BigInteger(), nullable=True),
        sa.Column("posts", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_audience_count_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_audience_count_source_id_source"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_count")),
        sa.UniqueConstraint(
            "source_id", "account", "observed_at", name=op.f("uq_audience_count_source_id_account_observed_at")
        ),
    )  # fmt: skip
    op.create_index("ix_audience_count_workspace_observed", "audience_count", ["workspace_id", "observed_at"])


def downgrade() -> None:
    op.drop_index("ix_audience_count_workspace_observed", table_name="audience_count")
    op.drop_table("audience_count")
