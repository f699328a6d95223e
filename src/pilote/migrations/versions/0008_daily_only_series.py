"""rollup: conversations and keyphrases are kept per day only (their hourly rows go)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections import defaultdict
from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Nothing reads these two series by the hour: their hourly rows (three quarters of all rollup rows on the
# demo community) only fed the daily ones, which are now counted from the day's messages.
SERIES = ("keyphrase", "thread")
HOUR = {
    "sqlite": "CAST(strftime('%s', m.created_at) AS INTEGER) / 3600",
    "postgresql": "floor(extract(epoch FROM m.created_at) / 3600)::bigint",
}
ENGAGEMENT = "coalesce(m.likes, 0) + coalesce(m.shares, 0) + coalesce(m.replies, 0)"


def upgrade() -> None:
    op.execute(sa.text(f"DELETE FROM rollup WHERE series IN ({', '.join(repr(name) for name in SERIES)})"))


def downgrade() -> None:
    """The hourly rows again, counted from the messages as the previous code counted them."""
    bind = op.get_bind()
    hour = HOUR[bind.dialect.name]
    rows = bind.execute(
        sa.text(
            f"SELECT m.workspace_id, {hour}, {ENGAGEMENT}, CASE WHEN m.parent_id IS NOT NULL THEN m.thread_id END,"
            " e.value FROM message m LEFT JOIN enrichment e ON e.message_id = m.id"
        )
    )
    counts: dict[tuple[int, str, int, str], list[int]] = defaultdict(lambda: [0, 0])
    for workspace_id, at, engagement, thread, value in rows:
        keys = [("keyphrase", phrase) for phrase in _phrases(value)]
        if thread is not None:
            keys.append(("thread", str(thread)))
        for series, key in keys:
            bucket = counts[(workspace_id, series, int(at), key)]
            bucket[0] += 1
            bucket[1] += int(engagement)
    if counts:
        bind.execute(
            sa.text(
                "INSERT INTO rollup (workspace_id, series, hour, key, count, engagement)"
                " VALUES (:workspace_id, :series, :hour, :key, :count, :engagement)"
            ),
            [
                {"workspace_id": w, "series": s, "hour": h, "key": k, "count": n, "engagement": e}
                for (w, s, h, k), (n, e) in counts.items()
            ],
        )


def _phrases(value: str | None) -> set[str]:
    """The keyphrases of an enrichment row's value, as the rollups read them at revision 0007."""
    try:
        data = orjson.loads(value) if value else {}
    except orjson.JSONDecodeError:
        return set()
    mine = data.get("keyphrases") if isinstance(data, dict) else None
    phrases = mine.get("keyphrases") if isinstance(mine, dict) else None
    if not isinstance(phrases, list):
        return set()
    found = (item[0] if isinstance(item, list) and item else item for item in phrases)
    return {p.strip().lower()[:200] for p in found if isinstance(p, str) and p.strip()}
