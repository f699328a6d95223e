"""kept_report: the catalogue's reports of the standard periods (7d, 30d, 90d, all) of each workspace, kept by a
worker for the Health page and the API

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pilote.models

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "kept_report",
        sa.Column("workspace_id", BIG_ID, nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("stamp", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("computed_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_kept_report_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("workspace_id", "period", name=op.f("pk_kept_report")),
    )


def downgrade() -> None:
    op.drop_table("kept_report")
