"""enrichment: hot analysis columns on message, and per-analyzer versions and values

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pilote.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HOT_COLUMNS = (
    ("sentiment", sa.String(length=16)),
    ("sentiment_score", sa.Float()),
    ("spam_probability", sa.Float()),
    ("toxicity_probability", sa.Float()),
    ("intent", sa.String(length=16)),
)


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        for name, type_ in HOT_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
    op.create_table(
        "enrichment",
        sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("analyzer", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_enrichment_message_id_message"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id", "analyzer", name=op.f("pk_enrichment")),
    )


def downgrade() -> None:
    op.drop_table("enrichment")
    with op.batch_alter_table("message", schema=None) as batch_op:
        for name, _ in reversed(HOT_COLUMNS):
            batch_op.drop_column(name)
