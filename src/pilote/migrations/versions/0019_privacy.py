"""privacy: the record of erasures and retention runs, the identities erased on request, the audit log by workspace

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pilote.models

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "erasure",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("workspace", sa.String(length=64), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("erased_by", sa.String(length=320), nullable=False),
        sa.Column("erased_at", pilote.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure")),
    )
    op.create_table(
        "erased_identity",
        sa.Column("workspace_id", BIG_ID, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("erasure_id", BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_erased_identity_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["erasure_id"], ["erasure.id"], name=op.f("fk_erased_identity_erasure_id_erasure"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("workspace_id", "digest", name=op.f("pk_erased_identity")),
    )
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased", sa.Integer(), server_default="0", nullable=False))
    op.create_index("ix_audit_entry_workspace_id_id", "audit_entry", ["workspace_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_entry_workspace_id_id", table_name="audit_entry")
    with op.batch_alter_table("import_run", schema=None) as batch_op:
        batch_op.drop_column("erased")
    op.drop_table("erased_identity")
    op.drop_table("erasure")
