"""radar_cursor.catch_up_*: where a long catch-up of the radar stands between its short transactions

A backlog of more than `radar.watch.CHUNK` messages is read in time order, a chunk per transaction: the messages
up to `catch_up_until` (by id) and before (`catch_up_at`, `catch_up_id`) are done.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pilote.models

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("radar_cursor", schema=None) as batch_op:
        batch_op.add_column(sa.Column("catch_up_until", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("catch_up_at", pilote.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("catch_up_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("radar_cursor", schema=None) as batch_op:
        batch_op.drop_column("catch_up_id")
        batch_op.drop_column("catch_up_at")
        batch_op.drop_column("catch_up_until")
