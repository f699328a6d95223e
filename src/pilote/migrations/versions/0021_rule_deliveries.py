"""delivery: a notification may come from an inbox rule (item_id) instead of an incident

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("incident_id", existing_type=BIG_ID, nullable=True)
        batch_op.add_column(sa.Column("item_id", BIG_ID, nullable=True))
        batch_op.create_index(batch_op.f("ix_delivery_item_id"), ["item_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_delivery_item_id_inbox_item"), "inbox_item", ["item_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    op.execute("DELETE FROM delivery WHERE incident_id IS NULL")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_delivery_item_id_inbox_item"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_delivery_item_id"))
        batch_op.drop_column("item_id")
        batch_op.alter_column("incident_id", existing_type=BIG_ID, nullable=False)
