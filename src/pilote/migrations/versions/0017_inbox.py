"""the team inbox: items (one conversation each), tags, notes, events, presence, saved views, saved replies,
rules and outbound replies

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pilote.models

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("outbound_reply", "inbox_rule", "saved_reply", "inbox_view", "inbox_presence", "inbox_event", "inbox_note",
          "inbox_tag", "inbox_item")  # fmt: skip


def upgrade() -> None:

    op.create_table(
        "inbox_rule",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("conditions", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("stop", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", pilote.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_inbox_rule_created_by_user_account"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_inbox_rule_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_rule")),
    )
    op.create_index(op.f("ix_inbox_rule_workspace_id"), "inbox_rule", ["workspace_id"], unique=False)
    op.create_table(
        "inbox_view",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_inbox_view_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_inbox_view_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_view")),
    )
    op.create_index(op.f("ix_inbox_view_workspace_id"), "inbox_view", ["workspace_id"], unique=False)
    op.create_table(
        "saved_reply",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("shortcut", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("created_at", pilote.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_saved_reply_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_saved_reply_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_reply")),
    )
    op.create_index(op.f("ix_saved_reply_workspace_id"), "saved_reply", ["workspace_id"], unique=False)
    op.create_table(
        "inbox_item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("first_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("last_message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("reasons", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("sentiment", sa.String(length=16), nullable=True),
        sa.Column("intent", sa.String(length=16), nullable=True),
        sa.Column("spam_probability", sa.Float(), nullable=True),
        sa.Column("toxicity_probability", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("snoozed_until", pilote.models.UTCDateTime(), nullable=True),
        sa.Column("until_reply", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("hidden", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", pilote.models.UTCDateTime(), nullable=False),
        sa.Column("last_at", pilote.models.UTCDateTime(), nullable=False),
        sa.Column("due_at", pilote.models.UTCDateTime(), nullable=True),
        sa.Column("responded_at", pilote.models.UTCDateTime(), nullable=True),
        sa.Column("responder_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("resolved_at", pilote.models.UTCDateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["user_account.id"],
            name=op.f("fk_inbox_item_assignee_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["author.id"], name=op.f("fk_inbox_item_author_id_author"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["first_message_id"],
            ["message.id"],
            name=op.f("fk_inbox_item_first_message_id_message"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["last_message_id"], ["message.id"], name=op.f("fk_inbox_item_last_message_id_message"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["responder_id"],
            ["user_account.id"],
            name=op.f("fk_inbox_item_responder_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_inbox_item_source_id_source"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_inbox_item_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_item")),
        sa.UniqueConstraint("workspace_id", "key", name=op.f("uq_inbox_item_workspace_id_key")),
    )
    op.create_index(
        "ix_inbox_item_assignee", "inbox_item", ["workspace_id", "assignee_id", "status", "last_at"], unique=False
    )
    op.create_index(op.f("ix_inbox_item_author_id"), "inbox_item", ["author_id"], unique=False)
    op.create_index(
        "ix_inbox_item_channel", "inbox_item", ["workspace_id", "channel", "status", "last_at"], unique=False
    )
    op.create_index(op.f("ix_inbox_item_first_message_id"), "inbox_item", ["first_message_id"], unique=False)
    op.create_index(op.f("ix_inbox_item_last_message_id"), "inbox_item", ["last_message_id"], unique=False)
    op.create_index(
        "ix_inbox_item_queue_activity",
        "inbox_item",
        ["workspace_id", "status", "hidden", "last_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_inbox_item_queue_due", "inbox_item", ["workspace_id", "status", "hidden", "due_at", "id"], unique=False
    )
    op.create_index("ix_inbox_item_snoozed", "inbox_item", ["status", "snoozed_until"], unique=False)
    op.create_index(op.f("ix_inbox_item_source_id"), "inbox_item", ["source_id"], unique=False)
    op.create_table(
        "inbox_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["inbox_item.id"], name=op.f("fk_inbox_event_item_id_inbox_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_inbox_event_user_id_user_account"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspace.id"], name=op.f("fk_inbox_event_workspace_id_workspace"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_event")),
    )
    op.create_index(op.f("ix_inbox_event_item_id"), "inbox_event", ["item_id"], unique=False)
    op.create_index("ix_inbox_event_workspace_id", "inbox_event", ["workspace_id", "id"], unique=False)
    op.create_table(
        "inbox_note",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["inbox_item.id"], name=op.f("fk_inbox_note_item_id_inbox_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_inbox_note_user_id_user_account"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_note")),
    )
    op.create_index(op.f("ix_inbox_note_item_id"), "inbox_note", ["item_id"], unique=False)
    op.create_table(
        "inbox_presence",
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seen_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["inbox_item.id"], name=op.f("fk_inbox_presence_item_id_inbox_item"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_inbox_presence_user_id_user_account"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "user_id", name=op.f("pk_inbox_presence")),
    )
    op.create_table(
        "inbox_tag",
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["inbox_item.id"], name=op.f("fk_inbox_tag_item_id_inbox_item"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("item_id", "tag", name=op.f("pk_inbox_tag")),
    )
    op.create_index(op.f("ix_inbox_tag_tag"), "inbox_tag", ["tag"], unique=False)
    op.create_table(
        "outbound_reply",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", pilote.models.UTCDateTime(), nullable=True),
        sa.Column("external_id", sa.String(length=500), nullable=True),
        sa.Column("created_at", pilote.models.UTCDateTime(), nullable=False),
        sa.Column("sent_at", pilote.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"], ["inbox_item.id"], name=op.f("fk_outbound_reply_item_id_inbox_item"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_outbound_reply_message_id_message"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_outbound_reply_user_id_user_account"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_outbound_reply_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_reply")),
    )
    op.create_index("ix_outbound_reply_due", "outbound_reply", ["status", "next_attempt_at"], unique=False)
    op.create_index(op.f("ix_outbound_reply_item_id"), "outbound_reply", ["item_id"], unique=False)
    op.create_index(op.f("ix_outbound_reply_message_id"), "outbound_reply", ["message_id"], unique=False)
    op.create_index(op.f("ix_outbound_reply_workspace_id"), "outbound_reply", ["workspace_id"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
