"""SQLite's triggers that note a deleted or re-dated message's hour cut the fraction of a second before taking
the hour (`strftime('%s')` rounds it: a time in an hour's last half millisecond was noted in the next hour, which
a recount of the next hour does not read); PostgreSQL's already floor it

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As 0004's triggers, the hour of `old.created_at` taken from its whole seconds (after: `substr`) or rounded.
AFTER = "CAST(strftime('%s', substr(old.created_at, 1, 19)) AS INTEGER) / 3600"
BEFORE = "CAST(strftime('%s', old.created_at) AS INTEGER) / 3600"


def _triggers(hour: str) -> list[str]:
    return [
        f"""CREATE TRIGGER rollup_dirty_delete AFTER DELETE ON message BEGIN
            INSERT OR IGNORE INTO rollup_dirty(workspace_id, hour) VALUES (old.workspace_id, {hour});
        END""",
        f"""CREATE TRIGGER rollup_dirty_move AFTER UPDATE OF created_at, workspace_id ON message
        WHEN old.created_at IS NOT new.created_at OR old.workspace_id IS NOT new.workspace_id BEGIN
            INSERT OR IGNORE INTO rollup_dirty(workspace_id, hour) VALUES (old.workspace_id, {hour});
        END""",
    ]


def _replace(hour: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER IF EXISTS rollup_dirty_delete")
    op.execute("DROP TRIGGER IF EXISTS rollup_dirty_move")
    for statement in _triggers(hour):
        op.execute(statement)


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    _replace(BEFORE)
