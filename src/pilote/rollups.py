"""Rollups: messages and engagement per workspace, series, key and hour, kept in step with the store.

Dashboards read these instead of scanning messages. They are maintained by recounting only the hours
that changed: an import or enrichment batch notes its messages' hours (and the hours of the questions a
team reply answers) in `rollup_dirty`, in the batch's own transaction, and those hours are recounted once
when the import or the enrichment run ends (or by the next radar tick of `pilote serve`, whichever comes
first); triggers note the hours of deleted or re-dated messages there too. A human decision (a label)
recounts its hours at once. So keeping rollups costs what the messages of the changed hours cost (of
their days, for conversations and keyphrases, which are kept per day only), once, whatever the size of
the store. `rebuild` recounts everything. Drafts, scheduled and private posts are kept but never counted
(`community.counted_sql`).
"""

from __future__ import annotations

import heapq
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, literal, or_, select

from pilote import community
from pilote.bulk import db_time, insert_rows, placeholder
from pilote.community import counted, counted_sql
from pilote.enrich import keyphrases
from pilote.ingest import Pending
from pilote.models import Label, Message, Rollup, RollupDirty, RollupRecounted, utcnow

TOXIC_THRESHOLD = 0.5
SERIES = (
    "messages", "channel", "source", "kind", "language", "sentiment", "intent", "spam", "toxic", "thread",
    "keyphrase", "unanswered",
)  # fmt: skip
CHUNK = 5000
# Every series is also kept per UTC day (`series@day`, at the day's first hour), summed from the hourly rows.
# Conversations and keyphrases have many keys and are read per day only: they have no hourly rows (they
# were three quarters of all rows), and their daily rows, counted from the messages of the day, keep the
# DAILY_TOP keys of the day (with at least DAILY_MIN messages), so a period's top list stays cheap.
DAILY = ("thread", "keyphrase")
HOURLY = tuple(name for name in SERIES if name not in DAILY)
DAILY_MIN = 2
DAILY_TOP = 100
DAY = "@day"
UNKNOWN = "unknown"
# Series are named in full in every query (never `LIKE '%@day'`): the primary key (workspace, series, hour,
# key) then finds an hour range of each series directly, and a recount costs its hours, not the table.
DAILY_SERIES = tuple(name + DAY for name in SERIES)
WEEK = 24 * 7
PROFILE = ("messages", "channel", "source", "kind", "language", "sentiment", "intent", "spam", "toxic", "unanswered")
Buckets = dict[tuple[str, int, str], list[int]]
COLUMNS = ("workspace_id", "series", "hour", "key", "count", "engagement")
COUNTED = counted_sql("m")


def hour_of(moment: datetime) -> int:
    """Hours since 1970-01-01 UTC: the rollups' time key."""
    return int(moment.timestamp()) // 3600


def hour_start(hour: int) -> datetime:
    """The moment an hour key starts."""
    return datetime.fromtimestamp(hour * 3600, UTC)


@dataclass(slots=True)
class Row:
    """What a recount needs of one message."""

    id: int
    hour: int
    source_id: int
    channel: str
    kind: str
    language: str | None
    sentiment: str | None
    intent: str | None
    spam_probability: float | None
    toxicity_probability: float | None
    engagement: int
    author_id: int | None


def mark_written(conn: Connection, channel: str, written: Sequence[Pending]) -> None:
    """After an import batch: note in `rollup_dirty`, in the batch's transaction (a crash loses no hour),
    the hours of the messages it wrote and of the questions a team reply among them answers, from what
    the writer already holds (no query but for those questions); `refresh_dirty` recounts them once, at
    the end. Unchanged messages touch nothing."""
    rows = [
        (p.row["workspace_id"], hour_of(p.item.created_at), p.row["author_id"], p.row["parent_id"], p.item.kind,
         channel, p.item.author.handle if p.item.author else "", p.item.author.name if p.item.author else None)
        for p in written
    ]  # fmt: skip
    _mark(conn, _touch(conn, rows))


def mark(conn: Connection, ids: Sequence[int]) -> None:
    """Note the hours of these messages (and of the questions they answer) in `rollup_dirty`."""
    _mark(conn, _touched(conn, ids))


def mark_hours(conn: Connection, hours: Iterable[tuple[int, int]]) -> None:
    """Note these (workspace, hour) pairs in `rollup_dirty`: what an enrichment chunk changed (a message's
    analysis changes its own hour's counts only; whether a question is answered does not depend on it).
    The team's accounts are spotted when messages are written (`mark_written`), not here."""
    _mark(conn, set(hours))


def refresh(conn: Connection, ids: Sequence[int], *, tops: bool = True) -> None:
    """Recount now the hours these messages fall in, the hours of the questions they answer, and every
    dirty hour (what one human decision needs: the dashboards show it at once). Without `tops` (a decision
    that changes neither conversations nor keyphrases: a label, a team account), the days of these
    messages' hours keep their conversation and keyphrase rows instead of counting them again."""
    dirty = _take_dirty(conn)
    _recount_all(conn, dirty)
    _recount_all(conn, _touched(conn, ids) - dirty, tops=tops)


def refresh_dirty(
    conn: Connection, progress: Callable[[int, int], None] | None = None, *, limit: int | None = None
) -> int:
    """Recount every hour noted in `rollup_dirty` (the `limit` oldest only, if given: a short transaction that
    leaves the write lock to others soon); returns how many hours that was. `progress(done, total)` hears of
    each run of hours recounted."""
    touched = _take_dirty(conn, limit)
    _recount_all(conn, touched, progress)
    return len(touched)


def _touched(conn: Connection, ids: Sequence[int]) -> set[tuple[int, int]]:
    touched: set[tuple[int, int]] = set()
    for start in range(0, len(ids), CHUNK):
        touched |= _touch(conn, _by_ids(conn, TOUCH + "WHERE m.id {ids}", ids[start : start + CHUNK]))
    return touched


def _mark(conn: Connection, touched: set[tuple[int, int]]) -> None:
    if not touched:
        return
    if conn.dialect.name == "sqlite":
        sql = "INSERT OR IGNORE INTO rollup_dirty (workspace_id, hour) VALUES (?, ?)"
    else:
        sql = "INSERT INTO rollup_dirty (workspace_id, hour) VALUES (%s, %s) ON CONFLICT DO NOTHING"
    conn.exec_driver_sql(sql, sorted(touched))


def _take_dirty(conn: Connection, limit: int | None = None) -> set[tuple[int, int]]:
    """Take the dirty hours (the `limit` oldest, if given) out of `rollup_dirty` for this transaction to recount.

    On PostgreSQL two takers (a tick and a person's decision) lock their rows in one order and skip those
    another is taking (that one recounts them): deleting in two orders, they deadlocked. SQLite has one writer."""
    query = select(RollupDirty.workspace_id, RollupDirty.hour).order_by(RollupDirty.workspace_id, RollupDirty.hour)
    if limit is not None:
        query = query.limit(limit)
    elif conn.dialect.name == "sqlite":  # the only writer: every row in one statement
        dirty = {(row[0], row[1]) for row in conn.execute(query)}
        if dirty:
            conn.execute(delete(RollupDirty))
        return dirty
    if conn.dialect.name != "sqlite":
        query = query.with_for_update(skip_locked=True)
    dirty = {(row[0], row[1]) for row in conn.execute(query)}
    if dirty:
        taken = (RollupDirty.workspace_id == bindparam("w")) & (RollupDirty.hour == bindparam("h"))
        conn.execute(delete(RollupDirty).where(taken), [{"w": w, "h": h} for w, h in sorted(dirty)])
    return dirty


def _recount_all(
    conn: Connection,
    touched: set[tuple[int, int]],
    progress: Callable[[int, int], None] | None = None,
    *,
    tops: bool = True,
) -> None:
    runs = list(_ranges(touched))
    for workspace_id in sorted({w for w, _, _ in runs}):  # in one order: two recounts never wait for each other
        _hold(conn, workspace_id)
    for done, (workspace_id, first, last) in enumerate(runs, 1):
        recount(conn, workspace_id, first, last, tops=tops)
        if progress is not None:
            progress(done, len(runs))
    _note_recounted(conn, runs)


def hour_sql(conn: Connection, column: str) -> str:
    """SQL for the hour key (`hour_of`) of a timestamp column. On SQLite the fraction of a second is cut first:
    `strftime('%s')` rounds it, and a time in an hour's last half millisecond would be put in the next one."""
    if conn.dialect.name == "sqlite":
        return f"CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) / 3600"
    return f"floor(extract(epoch FROM {column}) / 3600)::bigint"


def _by_ids(conn: Connection, sql: str, ids: Sequence[int]) -> Sequence[Any]:
    """Run `sql` whose `{ids}` is a list of message ids, straight through the driver (the hot path)."""
    if not ids:
        return []
    sql = sql.replace("{hour}", hour_sql(conn, "m.created_at"))
    if conn.dialect.name == "sqlite":
        return conn.exec_driver_sql(sql.format(ids=f"IN ({', '.join('?' * len(ids))})"), tuple(ids)).fetchall()
    return conn.exec_driver_sql(sql.format(ids="= ANY(%s)"), (list(ids),)).fetchall()


TOUCH = (
    "SELECT m.workspace_id, {hour}, m.author_id, m.parent_id, m.kind, s.channel, a.handle, a.display_name "
    "FROM message m JOIN source s ON s.id = m.source_id LEFT JOIN author a ON a.id = m.author_id "
)


def _touch(conn: Connection, rows: Sequence[Any]) -> set[tuple[int, int]]:
    """The hours of these message rows (TOUCH), and of the messages the team answers in them; marks team
    authors."""
    teams = community.spot_team(conn, rows)
    hours = {(row[0], int(row[1])) for row in rows}
    answers = [row[3] for row in rows if row[3] is not None and row[2] in teams.get(row[0], ())]
    if answers:
        sql = f"SELECT workspace_id, {hour_sql(conn, 'created_at')} FROM message WHERE id {{ids}}"
        hours |= {(row[0], int(row[1])) for row in _by_ids(conn, sql, answers)}
    return hours


def _ranges(touched: set[tuple[int, int]], gap: int = 24) -> Iterator[tuple[int, int, int]]:
    """Touched hours as (workspace, first hour, last hour) runs to recount: hours fewer than `gap` apart
    share a run (each run's days are summed again whole, so two runs in one day would sum it twice), and
    a run ends at a day's end once it spans a week (what one recount keeps in memory grows with its keys)."""
    run: list[int] = []
    for workspace_id, hour in sorted(touched):
        if run and (
            run[0] != workspace_id or hour - run[2] > gap or (hour // 24 != run[2] // 24 and hour - run[1] >= WEEK)
        ):
            yield run[0], run[1], run[2]
            run = []
        run = [workspace_id, run[1] if run else hour, hour]
    if run:
        yield run[0], run[1], run[2]


def rebuild(conn: Connection, workspace_id: int) -> int:
    """Recount every hour of a workspace; returns how many rollup rows it holds afterwards."""
    conn.execute(delete(Rollup).where(Rollup.workspace_id == workspace_id))
    bounds = conn.execute(
        select(func.min(Message.created_at), func.max(Message.created_at)).where(
            Message.workspace_id == workspace_id, counted()
        )
    ).one()
    if bounds[0] is not None:
        first, last = hour_of(bounds[0]) // 24 * 24, hour_of(bounds[1])
        for start in range(first, last + 1, 24 * 7):
            recount(conn, workspace_id, start, min(start + 24 * 7 - 1, last))
        _note_recounted(conn, [(workspace_id, first, last)])
    query = select(func.count()).select_from(Rollup).where(Rollup.workspace_id == workspace_id)
    return int(conn.execute(query).scalar_one())


ROLLUP_LOCK = 0x5011  # the first key of the workspaces' recount locks on PostgreSQL (pg_advisory_xact_lock)


def _hold(conn: Connection, workspace_id: int) -> None:
    """On PostgreSQL, recount a workspace's rollups one transaction at a time: two writers deleting and inserting
    the same hours at once (an import's finish, a worker's analysis) would both insert, and the second would fail
    on the rollup's key. SQLite has one writer at a time already. Held until the transaction ends."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (ROLLUP_LOCK, workspace_id))


def recount(conn: Connection, workspace_id: int, first: int, last: int, *, tops: bool = True) -> None:
    """Replace the hourly rollups of hours first..last of a workspace by a count of their messages, then
    the daily rows of their days: sums of the hourly ones, and (`tops`) the conversations and keyphrases of
    the whole days counted again."""
    _hold(conn, workspace_id)
    span = (hour_start(first), hour_start(last + 1))
    buckets: Buckets = defaultdict(lambda: [0, 0])
    _count(conn, workspace_id, span, _rows(conn, workspace_id, *span), buckets)
    hourly = Rollup.series.in_(HOURLY)
    conn.execute(
        delete(Rollup).where(Rollup.workspace_id == workspace_id, hourly, Rollup.hour >= first, Rollup.hour <= last)
    )
    values = [(workspace_id, s, h, k[:200], n, e) for (s, h, k), (n, e) in buckets.items()]
    insert_rows(conn, "rollup", COLUMNS, values)
    _summarise(conn, workspace_id, first // 24 * 24, last // 24 * 24 + 23, tops=tops)


RECOUNTED_FOR = timedelta(days=1)  # how long a recount is noted in `rollup_recounted`


def _note_recounted(conn: Connection, runs: Sequence[tuple[int, int, int]]) -> None:
    """Note in `rollup_recounted` that these runs of hours (workspace, first, last) were recounted, in the
    recount's transaction, once they all are (the note's time is as close to the commit as can be): what holds
    messages read before reads those hours again (`recounted_since`). Notes older than `RECOUNTED_FOR` go."""
    if not runs:
        return
    now = utcnow()
    notes = [{"workspace_id": w, "first_hour": first, "last_hour": last, "at": now} for w, first, last in runs]
    conn.execute(insert(RollupRecounted), notes)
    for workspace_id in sorted({w for w, _, _ in runs}):
        old = (RollupRecounted.workspace_id == workspace_id, RollupRecounted.at < now - RECOUNTED_FOR)
        conn.execute(delete(RollupRecounted).where(*old))


def recounted_since(conn: Connection, workspace_id: int, moment: datetime) -> tuple[list[tuple[int, int]], bool]:
    """The runs of a workspace's hours whose messages may have changed since `moment`: those recounted since (first
    hour, last hour) and those waiting to be (`rollup_dirty`); and whether the notes reach back that far (a
    moment older than `RECOUNTED_FOR` cannot be answered: read everything again)."""
    runs = [(int(first), int(last)) for first, last in conn.execute(
        select(RollupRecounted.first_hour, RollupRecounted.last_hour)
        .where(RollupRecounted.workspace_id == workspace_id, RollupRecounted.at >= moment))]  # fmt: skip
    waiting = select(RollupDirty.hour).where(RollupDirty.workspace_id == workspace_id)
    runs += [(int(hour), int(hour)) for hour in conn.scalars(waiting)]
    return sorted(runs), moment >= utcnow() - RECOUNTED_FOR


def _summarise(conn: Connection, workspace_id: int, first: int, last: int, *, tops: bool = True) -> None:
    """The daily rows (`series@day`) of whole days first..last: summed in SQL from the hourly rows; with
    `tops`, for conversations and keyphrases, the DAILY_TOP keys with the most messages (DAILY_MIN at least)
    each day, counted from the days' messages."""
    in_days = (Rollup.workspace_id == workspace_id, Rollup.hour >= first, Rollup.hour <= last)
    names = DAILY_SERIES if tops else tuple(name + DAY for name in HOURLY)
    conn.execute(delete(Rollup).where(*in_days, Rollup.series.in_(names)))
    day = Rollup.hour // 24 * 24
    summed = select(
        Rollup.workspace_id, (Rollup.series + DAY).label("series"), day.label("hour"), Rollup.key,
        func.sum(Rollup.count), func.sum(Rollup.engagement),
    ).group_by(Rollup.workspace_id, Rollup.series, day, Rollup.key)  # fmt: skip
    conn.execute(insert(Rollup).from_select(list(COLUMNS), summed.where(*in_days, Rollup.series.in_(HOURLY))))
    if tops:
        insert_rows(conn, "rollup", COLUMNS, _daily_tops(conn, workspace_id, first, last))


def _daily_tops(conn: Connection, workspace_id: int, first: int, last: int) -> list[tuple[Any, ...]]:
    """The daily rows of conversations (replies per thread) and keyphrases of whole days first..last."""
    sql = (
        f"SELECT {hour_sql(conn, 'm.created_at')}, m.engagement, "
        f"CASE WHEN {community.reply_sql('m')} THEN m.thread_id END, e.value "
        "FROM message m LEFT JOIN enrichment e ON e.message_id = m.id"
    )
    buckets: Buckets = defaultdict(lambda: [0, 0])
    for part in _written(conn, sql, workspace_id, hour_start(first), hour_start(last + 1)):
        for hour, engagement, thread, value in part:
            day, engagement = int(hour) // 24 * 24, int(engagement)
            keys = [("keyphrase" + DAY, phrase) for phrase in parse_keyphrases(value)] if value else []
            if thread is not None:
                keys.append(("thread" + DAY, str(thread)))
            for series, key in keys:
                bucket = buckets[(series, day, key[:200])]
                bucket[0] += 1
                bucket[1] += engagement
    ranked: dict[tuple[str, int], list[tuple[int, str, int]]] = defaultdict(list)
    for (series, day, key), (count, engagement) in buckets.items():
        if count >= DAILY_MIN:
            ranked[(series, day)].append((-count, key, engagement))
    return [
        (workspace_id, series, day, key, -negative, engagement)
        for (series, day), keys in ranked.items()
        for negative, key, engagement in heapq.nsmallest(DAILY_TOP, keys)
    ]


def _rows(conn: Connection, workspace_id: int, start: datetime, end: datetime) -> Iterator[Row]:
    """What a recount needs of the messages written in [start, end), straight through the driver, a few
    thousand rows at a time (a recount keeps counts, not rows)."""
    sql = (
        f"SELECT m.id, {hour_sql(conn, 'm.created_at')}, m.source_id, s.channel, m.kind, m.language, m.sentiment, "
        "m.intent, m.spam_probability, m.toxicity_probability, m.engagement, m.author_id "
        "FROM message m JOIN source s ON s.id = m.source_id"
    )
    for part in _written(conn, sql, workspace_id, start, end):
        yield from (Row(r[0], int(r[1]), *r[2:10], int(r[10]), *r[11:]) for r in part)  # type: ignore[call-arg]


def _written(conn: Connection, sql: str, workspace_id: int, start: datetime, end: datetime) -> Iterator[Sequence[Any]]:
    """The rows of `sql` (a SELECT on `message m`) for a workspace's messages written in [start, end) that count
    in figures (not a draft, a scheduled or a private post: `messages.counted_sql`)."""
    to_db, q = db_time(conn), placeholder(conn)
    where = f" WHERE m.workspace_id = {q} AND m.created_at >= {q} AND m.created_at < {q} AND {COUNTED}"
    return _stream(conn, sql + where, (workspace_id, to_db(start), to_db(end)))


def _stream(conn: Connection, sql: str, parameters: tuple[Any, ...]) -> Iterator[Sequence[Any]]:
    """The rows of a query in lists of CHUNK, from the driver's own cursor (a third of the cost of a result's)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, parameters)
        while part := cursor.fetchmany(CHUNK):
            yield part
    finally:
        cursor.close()


def _count(
    conn: Connection, workspace_id: int, span: tuple[datetime, datetime], rows: Iterable[Row], buckets: Buckets
) -> None:
    labels = _labels_between(conn, workspace_id, span)
    team = community.team_ids(conn, workspace_id)
    profiles: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0])
    waiting: list[tuple[tuple[Any, ...], int, str, int]] = []  # questions: answered or not is asked once, below
    for row in rows:  # rows sharing an hour and every key are counted once, then spread over the series
        mine = labels.get(row.id, {})
        intent = community.decided(mine, "intent", row.intent) or UNKNOWN
        sentiment = community.decided(mine, "sentiment", row.sentiment) or UNKNOWN
        key = (row.hour, row.channel, str(row.source_id), row.kind, row.language or UNKNOWN,
               sentiment, intent, _spam(row, mine), _toxic(row))  # fmt: skip
        if community.owes_answer(intent, row.author_id, team):
            waiting.append((key, row.id, intent, row.engagement))
        else:
            profile = profiles[(*key, None)]
            profile[0] += 1
            profile[1] += row.engagement
    answered = community.answered(conn, [message_id for _, message_id, _, _ in waiting], team)
    for key, message_id, intent, engagement in waiting:
        profile = profiles[(*key, None if message_id in answered else intent)]
        profile[0] += 1
        profile[1] += engagement
    for (hour, *keys), (count, engagement) in profiles.items():
        for series, key in zip(PROFILE, ["", *keys], strict=True):
            if key is not None:
                bucket = buckets[(series, hour, key)]
                bucket[0] += count
                bucket[1] += engagement


def _labels_between(conn: Connection, workspace_id: int, span: tuple[datetime, datetime]) -> dict[int, dict[str, str]]:
    """The deciding labels (spam, sentiment, intent, status) of a workspace's messages written in [start, end)."""
    query = (
        select(Label.message_id, Label.name, Label.value, Label.origin)
        .join(Message, Message.id == Label.message_id)
        .where(Message.workspace_id == workspace_id, Message.created_at >= span[0], Message.created_at < span[1])
        .where(Label.name.in_(community.DECIDED))
    )
    return community.winning(conn.execute(query))


def _spam(row: Row, labels: dict[str, str]) -> str:
    """Spam or ham as the community's rules decide (a label, a moderator's status, else the model)."""
    decided = community.spam(labels, row.spam_probability)
    return UNKNOWN if decided is None else "spam" if decided else "ham"


def _toxic(row: Row) -> str:
    if row.toxicity_probability is None:
        return UNKNOWN
    return "toxic" if row.toxicity_probability >= TOXIC_THRESHOLD else "ok"


def parse_keyphrases(value: str | None) -> list[str]:
    """The keyphrases of an enrichment value, each once, in order, cut to the rollup key's 200 characters."""
    return sorted({phrase[:200] for phrase in keyphrases.stored(value)})


@dataclass(frozen=True, slots=True)
class Point:
    """One rollup row as read back."""

    hour: int
    key: str
    count: int
    engagement: int


def read(
    conn: Connection, workspace_id: int, series: str, first: int, last: int, newest: int | None = None
) -> list[Point]:
    """The rollup rows of a series for hours first..last (inclusive); with `newest`, only that many of the
    latest rows, newest first."""
    query = select(Rollup.hour, Rollup.key, Rollup.count, Rollup.engagement).where(
        Rollup.workspace_id == workspace_id, Rollup.series == series, Rollup.hour >= first, Rollup.hour <= last
    )
    if newest is not None:
        query = query.order_by(Rollup.hour.desc()).limit(newest)
    return [Point(*row) for row in conn.execute(query)]


Sums = dict[str, dict[str, tuple[int, int]]]  # per series and key: messages and engagement
Shifts = list[tuple[int, int]]  # (from this UTC hour on, add this many hours): a time zone's offsets


def grouped(
    conn: Connection, workspace_id: int, series: str, span: tuple[int, int], size: str, shifts: Shifts
) -> list[tuple[int, str, int, int]]:
    """(bucket number, key, messages, engagement) of a series over hours span[0]..span[1], summed in SQL.

    Bucket numbers: the UTC hour for "hour"; the local day (days since 1970-01-01) for "day"; the local week
    (weeks since Monday 1969-12-29) for "week". Local time is UTC shifted by whole hours, per `shifts`.
    """
    local = Rollup.hour + _shift(shifts)
    bucket = Rollup.hour if size == "hour" else local // 24 if size == "day" else (local // 24 + 3) // 7
    query = (
        select(bucket, Rollup.key, func.sum(Rollup.count), func.sum(Rollup.engagement))
        .where(
            Rollup.workspace_id == workspace_id,
            _days_or_hours(series, span, size != "hour" and shifts == [(span[0], 0)]),
        )
        .group_by(bucket, Rollup.key)
    )
    return [(int(b), key, int(n), int(e)) for b, key, n, e in conn.execute(query)]


def _days_or_hours(series: str, span: tuple[int, int], by_day: bool) -> Any:
    """Rows of a series over the span: for UTC days, whole days from the daily rows and the edges hourly."""
    first, last = span
    start, end = -(-first // 24) * 24, (last + 1) // 24 * 24
    if not by_day or start >= end:
        return and_(Rollup.series == series, Rollup.hour.between(first, last))
    edges = or_(Rollup.hour.between(first, start - 1), Rollup.hour.between(end, last))
    return or_(
        and_(Rollup.series == series, edges), and_(Rollup.series == series + DAY, Rollup.hour.between(start, end - 1))
    )


def _shift(shifts: Shifts) -> Any:
    if len(shifts) == 1:
        return literal(shifts[0][1])
    whens = [(Rollup.hour < start, offset) for (_, offset), (start, _) in itertools.pairwise(shifts)]
    return case(*whens, else_=shifts[-1][1])


def sums(conn: Connection, workspace_id: int, series: Sequence[str], first: int, last: int) -> Sums:
    """Per series and key, messages and engagement summed over hours first..last: whole UTC days from the
    daily rows, the hours at either end from the hourly ones, in one query."""
    start, end = -(-first // 24) * 24, (last + 1) // 24 * 24  # the whole days: [start, end)
    hourly = Rollup.series.in_(series)
    if start < end:
        edges = or_(Rollup.hour.between(first, start - 1), Rollup.hour.between(end, last))
        daily = and_(Rollup.series.in_([name + DAY for name in series]), Rollup.hour.between(start, end - 1))
        where = or_(and_(hourly, edges), daily)
    else:
        where = and_(hourly, Rollup.hour.between(first, last))
    query = (
        select(Rollup.series, Rollup.key, func.sum(Rollup.count), func.sum(Rollup.engagement))
        .where(Rollup.workspace_id == workspace_id, where)
        .group_by(Rollup.series, Rollup.key)
    )
    found: Sums = {name: {} for name in series}
    for name, key, n, e in conn.execute(query):
        counts = found[name.removesuffix(DAY)]
        before = counts.get(key, (0, 0))
        counts[key] = (before[0] + int(n), before[1] + int(e))
    return found


def between(conn: Connection, workspace_id: int, series: Sequence[str], start: datetime, end: datetime) -> Sums:
    """What `sums` would give for [start, end), counted from the messages by the same rules: for a part of an
    hour (the hour running now, and the same minutes of a period before), which the hourly rows cannot split."""
    buckets: Buckets = defaultdict(lambda: [0, 0])
    _count(conn, workspace_id, (start, end), _rows(conn, workspace_id, start, end), buckets)
    found: Sums = {name: {} for name in series}
    for (name, _, key), (count, engagement) in buckets.items():
        if name in found:
            before = found[name].get(key, (0, 0))
            found[name][key] = (before[0] + count, before[1] + engagement)
    return found


def totals(
    conn: Connection, workspace_id: int, series: str, first: int, last: int, keys: Sequence[str] | None = None
) -> dict[str, tuple[int, int]]:
    """Per key of a series (or of these keys only), the messages and engagement summed over hours first..last."""
    query = (
        select(Rollup.key, func.sum(Rollup.count), func.sum(Rollup.engagement))
        .where(Rollup.workspace_id == workspace_id, Rollup.series == series, Rollup.hour.between(first, last))
        .group_by(Rollup.key)
    )
    if keys is not None:
        query = query.where(Rollup.key.in_(keys))
    return {key: (int(n), int(e)) for key, n, e in conn.execute(query)}


def top(conn: Connection, workspace_id: int, series: str, first: int, last: int, limit: int) -> list[tuple[str, int]]:
    """The keys of a series with the most messages over hours first..last."""
    total = func.sum(Rollup.count)
    query = (
        select(Rollup.key, total)
        .where(Rollup.workspace_id == workspace_id, Rollup.series == series, Rollup.hour.between(first, last))
        .group_by(Rollup.key)
        .order_by(total.desc(), Rollup.key)
        .limit(limit)
    )
    return [(key, int(n)) for key, n in conn.execute(query)]
