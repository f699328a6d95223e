"""incident: past episodes, found in history read after its time, apart from live incidents

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pilote.models

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

incident = sa.table(
    "incident",
    sa.column("id", sa.BigInteger),
    sa.column("status", sa.String),
    sa.column("resolved_at", pilote.models.UTCDateTime()),
    sa.column("past", sa.Boolean),
)
event = sa.table(
    "incident_event",
    sa.column("incident_id", sa.BigInteger),
    sa.column("kind", sa.String),
    sa.column("at", pilote.models.UTCDateTime()),
)


def upgrade() -> None:
    op.add_column("incident", sa.Column("past", sa.Boolean(), server_default=sa.false(), nullable=False))
    # Before this revision, an alert about history opened an incident that stayed open, its opening logged
    # "not_notified" in the same instant: those incidents become the past episodes they were, resolved then.
    conn = op.get_bind()
    opened, silent = event.alias("opened"), event.alias("silent")
    found = (
        sa.select(opened.c.incident_id, opened.c.at)
        .join(silent, sa.and_(silent.c.incident_id == opened.c.incident_id, silent.c.at == opened.c.at))
        .where(opened.c.kind == "opened", silent.c.kind == "not_notified")
        .distinct()
    )
    for incident_id, at in conn.execute(found).all():
        conn.execute(incident.update().where(incident.c.id == incident_id).values(past=True))
        conn.execute(
            incident.update()
            .where(incident.c.id == incident_id, incident.c.status != "resolved")
            .values(status="resolved", resolved_at=at)
        )


def downgrade() -> None:
    # The episodes resolved by the upgrade stay resolved: they were never live.
    op.drop_column("incident", "past")
