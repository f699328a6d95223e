"""enrichment: one row per message (every analyzer's version and values as JSON) instead of one per analyzer

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pilote.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The enrichment pipeline wrote six rows a message (one per analyzer), which cost it more than the four
# classifier heads together. A message's rows become one: `versions` {analyzer: version}, `value`
# {analyzer: values}. Rows written before the message was last fetched were out of date (the pipeline
# compared the times); from now on an edited message loses its row instead, so they are left out.
MESSAGE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
HOLDING = (
    " FROM enrichment_by_analyzer AS e JOIN message AS m ON m.id = e.message_id"
    " WHERE e.updated_at >= m.fetched_at GROUP BY e.message_id"
)
GROUPED = {
    "sqlite": (
        "SELECT e.message_id, json_group_object(e.analyzer, e.version), CASE WHEN count(e.value) > 0"
        " THEN json_group_object(e.analyzer, json(e.value)) FILTER (WHERE e.value IS NOT NULL) END,"
        f" max(e.updated_at){HOLDING}"
    ),
    "postgresql": (
        "SELECT e.message_id, json_object_agg(e.analyzer, e.version)::text,"
        " (json_object_agg(e.analyzer, e.value::json) FILTER (WHERE e.value IS NOT NULL))::text,"
        f" max(e.updated_at){HOLDING}"
    ),
}
SPREAD = {
    "sqlite": (
        "SELECT e.message_id, v.key, v.value, (SELECT json(x.value) FROM json_each(e.value) AS x WHERE x.key = v.key),"
        " e.updated_at FROM enrichment_by_message AS e, json_each(e.versions) AS v"
    ),
    "postgresql": (
        "SELECT e.message_id, v.key, v.value, (e.value::json -> v.key)::text, e.updated_at"
        " FROM enrichment_by_message AS e, json_each_text(e.versions::json) AS v"
    ),
}


def _set_aside(name: str) -> None:
    """Rename the current table out of the way, its primary key's name too (an index name on PostgreSQL)."""
    op.rename_table("enrichment", name)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT pk_enrichment TO pk_{name}")
        op.execute(f"ALTER TABLE {name} RENAME CONSTRAINT fk_enrichment_message_id_message TO fk_{name}_message")


def upgrade() -> None:
    _set_aside("enrichment_by_analyzer")
    op.create_table(
        "enrichment",
        sa.Column("message_id", MESSAGE_ID, nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_enrichment_message_id_message"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_enrichment")),
    )
    grouped = GROUPED[op.get_bind().dialect.name]
    op.execute(f"INSERT INTO enrichment (message_id, versions, value, updated_at) {grouped}")
    op.drop_table("enrichment_by_analyzer")


def downgrade() -> None:
    _set_aside("enrichment_by_message")
    op.create_table(
        "enrichment",
        sa.Column("message_id", MESSAGE_ID, nullable=False),
        sa.Column("analyzer", sa.String(length=32), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", pilote.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"], ["message.id"], name=op.f("fk_enrichment_message_id_message"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id", "analyzer", name=op.f("pk_enrichment")),
    )
    spread = SPREAD[op.get_bind().dialect.name]
    op.execute(f"INSERT INTO enrichment (message_id, analyzer, version, value, updated_at) {spread}")
    op.drop_table("enrichment_by_message")
