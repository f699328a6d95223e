"""What the member metrics need from before the window of messages the metrics read, summed by the database.

Member levels look back a year and regulars 90 days, but read of each member only how many weeks they wrote
in and when they last wrote; reach (who answered them) only decides the top level. So a report reads message
rows for the period and the one before it (`facts.load`, from a Monday), and for the months before those, one
row per member summed in SQL over the same rules (counted, not spam, the team left out): weeks and last moment
from each moment a look-back starts at; then who answered the few members whose weeks and recency could make
them core, over the whole look-back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Connection, Integer, Table, and_, case, cast, func, literal_column, not_, or_, select
from sqlalchemy.sql.util import ClauseAdapter

from pilote import community
from pilote.bulk import seconds_sql
from pilote.metrics.facts import MONDAY, WEEK, Focus, History, seen_before
from pilote.models import Author, Label, Message

MESSAGE: Table = Message.__table__  # type: ignore[assignment]
AUTHOR: Table = Author.__table__  # type: ignore[assignment]


def _counts(table: Any, team: set[int], *, members: bool = True) -> list[Any]:
    """The rules a message of `table` (an alias of message) passes to count for a member: counted, not spam,
    by someone (outside the team, with `members`). The rare labelled messages are judged by the whole rule,
    the others by the model's part of it only (what the whole rule comes to without a label, without its
    seven look-ups per message)."""
    decided = and_(literal_column(community.counted_sql(table.name), Boolean),
                   ClauseAdapter(table).traverse(community.not_spam()))  # fmt: skip
    labelled = table.c.id.in_(select(Label.message_id).where(Label.name.in_(community.DECIDED)))
    model = or_(table.c.spam_probability.is_(None), table.c.spam_probability < community.SPAM_THRESHOLD)
    rules = [or_(and_(not_(labelled), model), and_(labelled, decided)), table.c.author_id.is_not(None)]
    if members and team:
        rules.append(not_(table.c.author_id.in_(sorted(team))))
    return rules


def _member(author: Any, table: Any) -> Any:
    return func.coalesce(author.c.member_id, -table.c.author_id)


def _in_focus(table: Any, focus: Focus) -> list[Any]:
    return list(focus.clauses(table.name))


def load(
    conn: Connection, workspace_id: int, span: tuple[datetime, datetime], bounds: Sequence[float],
    focus: Focus, team: set[int],
) -> History:  # fmt: skip
    """Per member, weeks with a message and the last moment in [bound, end) for each bound, over span [start, end)."""
    start, end = span
    r, ra = MESSAGE.alias("r"), AUTHOR.alias("ra")
    at: Any = literal_column(seconds_sql(conn, "r.created_at"))
    week = func.floor((at - MONDAY) / WEEK) if conn.dialect.name != "sqlite" else cast((at - MONDAY) / WEEK, Integer)
    kept = sorted({b for b in bounds if b < end.timestamp()})
    # Per member and week first, the week's last moment: a week counts from a bound when its last moment does,
    # so each message is read by two expressions, not two per bound.
    per_week = (
        select(_member(ra, r).label("member"), week.label("week"), func.max(at).label("last"))
        .select_from(r.outerjoin(ra, ra.c.id == r.c.author_id))
        .where(r.c.workspace_id == workspace_id, r.c.created_at >= start, r.c.created_at < end)
        .where(*_counts(r, team), *_in_focus(r, focus))
        .group_by(_member(ra, r), week)
    ).subquery()
    columns: list[Any] = [per_week.c.member]
    for bound in kept:
        since = per_week.c.last >= bound
        columns += [func.count(case((since, per_week.c.week))), func.max(case((since, per_week.c.last)))]
    query = select(*columns).group_by(per_week.c.member)
    found = History(start, end, {round(bound, 3): {} for bound in kept})
    for member, *figures in conn.execute(query):
        for index, bound in enumerate(kept):
            weeks, last = figures[2 * index : 2 * index + 2]
            if weeks:
                found.activity[round(bound, 3)][int(member)] = (int(weeks), round(float(last), 3))
    return found


def reach(
    conn: Connection, identities: dict[int, int], span: tuple[datetime, datetime],
    parents: tuple[datetime, datetime], focus: Focus, team: set[int],
) -> dict[int, int]:  # fmt: skip
    """Per member (by these identities: author → member), how many other members (the team left out) answered
    a message of theirs written in `parents` with a message written in `span`."""
    r, p, ra, pa = MESSAGE.alias("r"), MESSAGE.alias("p"), AUTHOR.alias("ra"), AUTHOR.alias("pa")
    joined = p.join(r, r.c.parent_id == p.c.id).outerjoin(ra, ra.c.id == r.c.author_id)
    joined = joined.outerjoin(pa, pa.c.id == p.c.author_id)
    rules = [r.c.created_at >= span[0], r.c.created_at < span[1], *_counts(r, team), *_in_focus(r, focus)]
    # no workspace here: the authors hold it, and their index (not the workspace's dates) is the way in
    rules += [p.c.created_at >= parents[0], p.c.created_at < parents[1]]
    rules += [*_counts(p, team, members=False), *_in_focus(p, focus), _member(pa, p) != _member(ra, r)]
    counted = func.count(_member(ra, r).distinct())
    found: dict[int, int] = {}
    for chunk in _by_member(identities):
        query = select(_member(pa, p), counted).select_from(joined).where(p.c.author_id.in_(chunk), *rules)
        found.update((int(member), int(n)) for member, n in conn.execute(query.group_by(_member(pa, p))))
    return found


def _by_member(identities: dict[int, int], size: int = 900) -> Iterator[list[int]]:
    """The authors in chunks of about `size`, a member's identities always in the same chunk."""
    grouped: dict[int, list[int]] = defaultdict(list)
    for author_id, member in identities.items():
        grouped[member].append(author_id)
    chunk: list[int] = []
    for member in sorted(grouped):
        chunk += grouped[member]
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def earlier(conn: Connection, workspace_id: int, found: History, members: set[int]) -> set[int]:
    """Which of these members count as seen before the window, as `facts.load` decides `seen_before` over the
    whole look-back: active in the history, or with a counted message before it."""
    inside = found.members & members
    return inside | seen_before(conn, workspace_id, found.start, members - inside)
