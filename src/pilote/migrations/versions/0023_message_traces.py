"""message_trace: each message's author website, author e-mail and link domains as digests with their second,
for the spam judgement's bursts (`pilote.traces`); filled for the messages already stored

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_trace",
        sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("thread", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_message_trace_message_id_message"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id", "key", name=op.f("pk_message_trace")),
    )
    op.create_index("ix_message_trace_key", "message_trace", ["workspace_id", "key", "at", "message_id", "author_id",
                                                             "thread"])  # fmt: skip
    from pilote.traces import backfill

    backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_message_trace_key", table_name="message_trace")
    op.drop_table("message_trace")
