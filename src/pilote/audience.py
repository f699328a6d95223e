"""The audience of the workspace's own accounts: the follower counts platforms report, kept as a time series.

Only the accounts a source reads as the workspace's own (a Mastodon source's followed account, the demo's social
account) are observed: the vanity-versus-engagement panel sets their audience beside what their posts bring. Each
sync adds one observation per account (`audience_count`, one row per account and moment); a count that cannot be
one (missing, negative, absurd) is not kept. The counts are the platform's, as it reported them at sync time.
docs/metrics.md.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite

from pilote.models import AudienceCount, Source
from pilote.sources.base import Audience, count


def record(conn: Connection, *, workspace_id: int, source_id: int, seen: Iterable[Audience]) -> int:
    """Keep these observations of a source's own accounts (one per account and moment: a second is ignored);
    those without a plausible follower count, or without a time zone, are skipped. Returns how many were new."""
    rows: dict[tuple[str, datetime], dict[str, Any]] = {}
    for observation in seen:
        followers = count(observation.followers)
        account = observation.account.strip()[:500]
        if followers is None or not account or observation.observed_at.tzinfo is None:
            continue
        moment = observation.observed_at.astimezone(UTC)
        rows.setdefault((account, moment), {"workspace_id": workspace_id, "source_id": source_id, "account": account,
                                            "observed_at": moment, "followers": followers,
                                            "following": count(observation.following),
                                            "posts": count(observation.posts)})  # fmt: skip
    if not rows:
        return 0
    insert = sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert
    statement = insert(AudienceCount).values(list(rows.values())).on_conflict_do_nothing()
    return len(conn.execute(statement.returning(AudienceCount.id)).all())


@dataclass(slots=True)
class Series:
    """One account's follower counts, oldest first (times in seconds since 1970, UTC)."""

    channel: str
    source_id: int
    account: str
    moments: list[float] = field(default_factory=list)
    followers: list[int] = field(default_factory=list)

    def at(self, moment: float) -> int:
        """The count of the observation nearest `moment` (the earlier one of two as near)."""
        index = bisect.bisect_right(self.moments, moment)
        if index == len(self.moments) or (index and moment - self.moments[index - 1] <= self.moments[index] - moment):
            return self.followers[index - 1]
        return self.followers[index]

    def within(self, since: float, until: float) -> list[int]:
        """The counts observed in [since, until)."""
        return self.followers[bisect.bisect_left(self.moments, since) : bisect.bisect_left(self.moments, until)]

    def before(self, since: float) -> int | None:
        """The count of the last observation before `since`, if any."""
        index = bisect.bisect_left(self.moments, since)
        return self.followers[index - 1] if index else None


def read(
    conn: Connection, workspace_id: int, since: datetime, until: datetime, *, channel: str | None = None,
    sources: Sequence[int] | None = None,
) -> list[Series]:  # fmt: skip
    """Each own account's observations in [since, until), with its last one before `since` and its first one
    from `until` on (of one channel or some sources when given)."""
    where = [AudienceCount.workspace_id == workspace_id]
    if channel is not None:
        where.append(Source.channel == channel)
    if sources is not None:
        where.append(AudienceCount.source_id.in_(list(sources)))
    columns = (Source.channel, AudienceCount.source_id, AudienceCount.account, AudienceCount.observed_at,
               AudienceCount.followers)  # fmt: skip
    inside = select(*columns).join(Source, Source.id == AudienceCount.source_id)
    inside = inside.where(*where, AudienceCount.observed_at >= since, AudienceCount.observed_at < until)

    def neighbour(moment: Any, outside: Any) -> Any:
        """Each account's observation at `moment` (the latest before `since`, the first from `until` on)."""
        chosen = (
            select(AudienceCount.source_id, AudienceCount.account, moment.label("moment"))
            .join(Source, Source.id == AudienceCount.source_id)
            .where(*where, outside)
            .group_by(AudienceCount.source_id, AudienceCount.account)
            .subquery()
        )
        return select(*columns).join(Source, Source.id == AudienceCount.source_id).join(
            chosen, and_(chosen.c.source_id == AudienceCount.source_id, chosen.c.account == AudienceCount.account,
                         chosen.c.moment == AudienceCount.observed_at)
        )  # fmt: skip

    earlier = neighbour(func.max(AudienceCount.observed_at), AudienceCount.observed_at < since)
    later = neighbour(func.min(AudienceCount.observed_at), AudienceCount.observed_at >= until)
    found: dict[tuple[int, str], Series] = {}
    rows = sorted(
        [*conn.execute(earlier), *conn.execute(inside), *conn.execute(later)], key=lambda row: row.observed_at
    )
    for row in rows:
        series = found.setdefault((row.source_id, row.account), Series(row.channel, row.source_id, row.account))
        series.moments.append(row.observed_at.timestamp())
        series.followers.append(row.followers)
    return sorted(found.values(), key=lambda s: (s.channel, s.source_id, s.account))
