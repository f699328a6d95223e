"""Team figures from the inbox's own records: per person and per channel over a period, the items handled, the
first-response and resolution times, the share of first responses within the service level, and the backlog by age.

Each figure's formula is in docs/inbox.md ("Team figures"). The metrics catalogue's response figures read
`asked` below, so the Health page and the team figures agree on a period.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, case, func, literal_column, select

from pilote.bulk import seconds_sql
from pilote.inbox import CLOSED, TODO, sla
from pilote.models import InboxEvent, InboxItem, User, utcnow

HOUR = 3600.0
TEAM_ON_PLATFORM = "the team (on the platform)"  # a first response or a close by no account (responder_id NULL)
# The backlog's ages: (key, upper bound in hours): < 1 h, 1–4 h, 4–24 h, 1–3 days, > 3 days.
AGES = (("under_1h", 1), ("1h_4h", 4), ("4h_24h", 24), ("1d_3d", 72), ("over_3d", None))
SHOWN = 100  # the items behind a missed service level listed per row (the count is always whole)
CHUNK = 900


def percentile(values: Sequence[float], share: float) -> float | None:
    """The value below which `share` of them fall (linear between closest ranks, as numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = math.floor(position), math.ceil(position)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (position - low), 4)


@dataclass(frozen=True, slots=True)
class Times:
    """A distribution of durations in hours: how many, the median and the 90th percentile."""

    count: int
    median_hours: float | None
    p90_hours: float | None

    @classmethod
    def of(cls, hours: Sequence[float]) -> Times:
        return cls(len(hours), percentile(hours, 0.5), percentile(hours, 0.9))


@dataclass(slots=True)
class Tally:
    """What is counted for one row while the records are read."""

    asked: int = 0
    handled: int = 0
    first: list[float] = field(default_factory=list)
    resolution: list[float] = field(default_factory=list)
    met: int = 0
    missed: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Row:
    """One person's, one channel's or the whole team's figures for the period."""

    key: str  # a person's name, a channel, or "all"
    account_id: int | None  # a person's account (None: the team on the platform; and for channels)
    asked: int  # items opened in the period that the team owes an answer (channels and the total)
    handled: int  # items closed in the period (by this person)
    first_response: Times  # first responses to the period's items (given by this person)
    resolution: Times  # items closed as done in the period (by this person)
    sla_met: int
    sla_missed: int
    missed: tuple[int, ...]  # the items behind the missed share (the first SHOWN)

    @property
    def response_rate(self) -> float | None:
        """Items of the period with a first response / items of the period, x100."""
        return round(100.0 * self.first_response.count / self.asked, 4) if self.asked else None

    @property
    def sla_share(self) -> float | None:
        """Met / (met + missed), x100."""
        judged = self.sla_met + self.sla_missed
        return round(100.0 * self.sla_met / judged, 4) if judged else None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key, "account_id": self.account_id, "asked": self.asked, "handled": self.handled,
            "response_rate": self.response_rate,
            "first_response": {"count": self.first_response.count, "median_hours": self.first_response.median_hours,
                               "p90_hours": self.first_response.p90_hours},
            "resolution": {"count": self.resolution.count, "median_hours": self.resolution.median_hours,
                           "p90_hours": self.resolution.p90_hours},
            "sla": {"met": self.sla_met, "missed": self.sla_missed, "share": self.sla_share,
                    "missed_items": list(self.missed)},
        }  # fmt: skip


def _row(key: str, account_id: int | None, tally: Tally) -> Row:
    return Row(key, account_id, tally.asked, tally.handled, Times.of(tally.first), Times.of(tally.resolution),
               tally.met, len(tally.missed), tuple(sorted(tally.missed)[:SHOWN]))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Asked:
    """The period's items owed an answer, read once: the whole team's, per channel and per responder."""

    total: Row
    channels: list[Row]
    people: list[Row]
    start: datetime | None  # the inbox's first record (None: it has none)


@dataclass(frozen=True, slots=True)
class Figures:
    """The team figures of a period, and the backlog now."""

    since: datetime
    until: datetime
    now: datetime
    channel: str | None
    total: Row
    people: list[Row]
    channels: list[Row]
    backlog: dict[str, int]  # age bucket → open items
    backlog_by_channel: dict[str, dict[str, int]]
    start: datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(), "until": self.until.isoformat(), "now": self.now.isoformat(),
            "channel": self.channel, "inbox_start": None if self.start is None else self.start.isoformat(),
            "total": self.total.as_json(), "people": [r.as_json() for r in self.people],
            "channels": [r.as_json() for r in self.channels], "backlog": self.backlog,
            "backlog_by_channel": self.backlog_by_channel,
        }  # fmt: skip


def team(conn: Connection, workspace_id: int, since: datetime, until: datetime, *, channel: str | None = None,
         now: datetime | None = None) -> Figures:  # fmt: skip
    """The team figures of [since, until) of a workspace (of one channel, if given), and its backlog now."""
    now = now or utcnow()
    asked = read_asked(conn, workspace_id, since, until, channel=channel, now=now)
    people: dict[int | None, Tally] = defaultdict(Tally)
    channels: dict[str, Tally] = defaultdict(Tally)
    total = Tally()
    for chan, hours, closer in _closed(conn, workspace_id, since, until, channel):
        for tally in (total, people[closer], channels[chan]):
            tally.handled += 1
            if hours is not None:
                tally.resolution.append(hours)
    names = _names(conn, {r.account_id for r in asked.people} | set(people))
    merged = {row.account_id: row for row in asked.people}
    person_rows = [_merge(merged.get(a), _row(_name(names, a), a, people[a])) for a in set(merged) | set(people)]
    channel_rows = {row.key: row for row in asked.channels}
    by_channel = [_merge(channel_rows.get(c), _row(c, None, channels[c])) for c in set(channel_rows) | set(channels)]
    backlog, backlog_by_channel = _backlog(conn, workspace_id, channel, now)
    return Figures(since, until, now, channel, _merge(asked.total, _row("all", None, total)),
                   sorted(person_rows, key=lambda r: (-r.handled - r.first_response.count, r.key)),
                   sorted(by_channel, key=lambda r: r.key), backlog, backlog_by_channel, asked.start)  # fmt: skip


def _merge(asked: Row | None, closed: Row) -> Row:
    """A row with the asked side (response, service level) of one and the closed side (handled, resolution) of
    the other."""
    if asked is None:
        return closed
    return Row(closed.key, closed.account_id, asked.asked, closed.handled, asked.first_response, closed.resolution,
               asked.sla_met, asked.sla_missed, asked.missed)  # fmt: skip


def read_asked(conn: Connection, workspace_id: int, since: datetime, until: datetime, *, channel: str | None = None,
               now: datetime | None = None) -> Asked:  # fmt: skip
    """The items opened in [since, until) that the team owes an answer (not hidden, spam or ignored): how many, their
    first responses (at any time) and the service level, for the team, per channel and per responder."""
    moment = (now or utcnow()).timestamp()
    due_in = _due_in(sla.get(conn, workspace_id))
    item = InboxItem
    where = [item.workspace_id == workspace_id, item.opened_at >= since, item.opened_at < until,
             item.hidden.is_(False), item.status.not_in(("spam", "ignored"))]  # fmt: skip
    if channel is not None:
        where.append(item.channel == channel)
    query = select(item.id, item.channel, item.priority, item.status, _seconds(conn, "opened_at"),
                   _seconds(conn, "responded_at"), item.responder_id, _seconds(conn, "resolved_at"))  # fmt: skip
    total = Tally()
    channels: dict[str, Tally] = defaultdict(Tally)
    people: dict[int | None, Tally] = defaultdict(Tally)
    rows = conn.execute(query.where(*where)).all()
    for ident, chan, priority, status, opened, responded, responder, resolved in rows:
        opened = round(opened, 3)
        due = opened + due_in(chan, priority)
        dealt = round(responded, 3) if responded is not None else (round(resolved, 3) if status == "done" else None)
        late = due <= moment if dealt is None else dealt > due
        shares = [total, channels[chan]]
        if responded is not None:
            shares.append(people[responder])
        for tally in shares:
            tally.asked += 1
            if responded is not None:
                tally.first.append(max(0.0, (round(responded, 3) - opened) / HOUR))
            if late:
                tally.missed.append(ident)
            elif dealt is not None:
                tally.met += 1
    names = _names(conn, set(people))
    return Asked(
        _row("all", None, total),
        sorted((_row(c, None, t) for c, t in channels.items()), key=lambda r: r.key),
        [_row(_name(names, a), a, t) for a, t in people.items()],
        start(conn, workspace_id),
    )


def _seconds(conn: Connection, column: str) -> Any:
    """A time column of inbox_item as seconds since 1970 (floats read faster than dates, by the hundred thousand)."""
    return literal_column(seconds_sql(conn, f"inbox_item.{column}"))


def _due_in(policy: sla.Policy) -> Callable[[str, int], float]:
    """Seconds from an item's first message to its first response's due time, per channel and priority."""
    known: dict[tuple[str, int], float] = {}

    def due_in(channel: str, priority: int) -> float:
        key = (channel, priority)
        if key not in known:
            epoch = datetime(1970, 1, 1, tzinfo=UTC)
            known[key] = (policy.due(channel, priority, epoch) - epoch).total_seconds()
        return known[key]

    return due_in


def start(conn: Connection, workspace_id: int) -> datetime | None:
    """When the inbox's records start: its first item's first message."""
    value: datetime | None = conn.scalar(select(func.min(InboxItem.opened_at)).where(
        InboxItem.workspace_id == workspace_id))  # fmt: skip
    return value


def _closed(conn: Connection, workspace_id: int, since: datetime, until: datetime,
            channel: str | None) -> Iterator[tuple[str, float | None, int | None]]:  # fmt: skip
    """The items closed (done, spam, ignored) in [since, until) and still closed: each one's channel, resolution
    time in hours (done only) and who closed it last."""
    item = InboxItem
    where = [item.workspace_id == workspace_id, item.resolved_at >= since, item.resolved_at < until,
             item.status.in_(CLOSED)]  # fmt: skip
    if channel is not None:
        where.append(item.channel == channel)
    query = select(item.id, item.channel, item.status, _seconds(conn, "opened_at"), _seconds(conn, "resolved_at"))
    rows = conn.execute(query.where(*where)).all()
    closers = _closers(conn, [r[0] for r in rows])
    for ident, chan, status, opened, resolved in rows:
        hours = max(0.0, (round(resolved, 3) - round(opened, 3)) / HOUR) if status == "done" else None
        yield chan, hours, closers.get(ident)


def _closers(conn: Connection, ids: list[int]) -> dict[int, int | None]:
    """Per item, the account of its latest closing event (a status moved to done, spam or ignored; an answer
    from Pilote); None: no account (an answer on the platform, a rule, the command line)."""
    found: dict[int, int | None] = {}
    event = InboxEvent
    for begin in range(0, len(ids), CHUNK):
        chunk = ids[begin : begin + CHUNK]
        query = (
            select(event.item_id, event.user_id, event.after)
            .where(event.item_id.in_(chunk), event.kind.in_(("status", "answered")))
            .order_by(event.id)
        )
        for item_id, user_id, after in conn.execute(query).all():
            if after and after.startswith('{"status"') and orjson.loads(after).get("status") in CLOSED:
                found[item_id] = user_id
    return found


def _names(conn: Connection, ids: set[int | None]) -> dict[int, str]:
    known = sorted(i for i in ids if i is not None)
    if not known:
        return {}
    return {i: name or email for i, name, email in conn.execute(
        select(User.id, User.display_name, User.email).where(User.id.in_(known)))}  # fmt: skip


def _name(names: dict[int, str], account_id: int | None) -> str:
    if account_id is None:
        return TEAM_ON_PLATFORM
    return names.get(account_id, f"account {account_id}")


def _backlog(conn: Connection, workspace_id: int, channel: str | None,
             now: datetime) -> tuple[dict[str, int], dict[str, dict[str, int]]]:  # fmt: skip
    """The items owed an answer now (new, open; not hidden), by the age of the author's latest message: one count
    per channel, each read from the channel index alone (workspace, channel, status, hidden, last_at)."""
    item = InboxItem
    bounds = [(item.last_at > now - timedelta(hours=hours), index) for index, (_, hours) in enumerate(AGES) if hours]
    bucket = case(*bounds, else_=len(AGES) - 1).label("bucket")
    if channel is None:
        channels = list(conn.scalars(select(item.channel).where(item.workspace_id == workspace_id).distinct()))
    else:
        channels = [channel]
    total = dict.fromkeys((name for name, _ in AGES), 0)
    per_channel: dict[str, dict[str, int]] = {}
    for chan in sorted(channels):
        aged = select(bucket).where(item.workspace_id == workspace_id, item.channel == chan, item.status.in_(TODO),
                                    item.hidden.is_(False)).subquery()  # fmt: skip
        counts = dict.fromkeys(total, 0)
        for index, count in conn.execute(select(aged.c.bucket, func.count()).group_by(aged.c.bucket)):
            counts[AGES[index][0]] += count
            total[AGES[index][0]] += count
        if any(counts.values()):
            per_channel[chan] = counts
    return total, per_channel


def first_messages(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    """Item → its first message (where a page links the items behind a figure)."""
    found: dict[int, int] = {}
    for begin in range(0, len(ids), CHUNK):
        chunk = list(ids[begin : begin + CHUNK])
        query = select(InboxItem.id, InboxItem.first_message_id).where(InboxItem.id.in_(chunk))
        found.update({item_id: message_id for item_id, message_id in conn.execute(query)})
    return found
