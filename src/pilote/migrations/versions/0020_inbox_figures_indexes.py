"""inbox_item indexes for the team figures and the queue's assignee filters: items by first message and by close
time; one's own (or unassigned) items per status in due order and in activity order, `hidden` included, so a page
and the counts of "mine" and "unassigned" read them alone; the channel index holds `hidden` too (the backlog per
channel reads it alone)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_inbox_item_assignee", table_name="inbox_item")
    op.create_index("ix_inbox_item_assignee", "inbox_item", ["workspace_id", "assignee_id", "status", "hidden",
                                                             "last_at", "id"])  # fmt: skip
    op.create_index("ix_inbox_item_assignee_due", "inbox_item", ["workspace_id", "assignee_id", "status", "hidden",
                                                                 "due_at", "id"])  # fmt: skip
    op.drop_index("ix_inbox_item_channel", table_name="inbox_item")
    op.create_index("ix_inbox_item_channel", "inbox_item", ["workspace_id", "channel", "status", "hidden", "last_at",
                                                            "id"])  # fmt: skip
    op.create_index("ix_inbox_item_opened", "inbox_item", ["workspace_id", "opened_at"])
    op.create_index("ix_inbox_item_resolved", "inbox_item", ["workspace_id", "resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_item_resolved", table_name="inbox_item")
    op.drop_index("ix_inbox_item_opened", table_name="inbox_item")
    op.drop_index("ix_inbox_item_assignee_due", table_name="inbox_item")
    op.drop_index("ix_inbox_item_assignee", table_name="inbox_item")
    op.create_index("ix_inbox_item_assignee", "inbox_item", ["workspace_id", "assignee_id", "status", "last_at"])
    op.drop_index("ix_inbox_item_channel", table_name="inbox_item")
    op.create_index("ix_inbox_item_channel", "inbox_item", ["workspace_id", "channel", "status", "last_at"])
