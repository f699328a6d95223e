"""Time series from the rollups: messages or engagement per hour, day or week, overall or per key."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache

from sqlalchemy.orm import Session

from pilote import rollups
from pilote.errors import Invalid
from pilote.texts import N_
from pilote.views.common import MAX_BUCKETS, Bucket, Period, bucket_start, check_bucket, period

METRICS = ("messages", "engagement")
GROUPS = ("channel", "source", "kind", "language", "sentiment", "intent", "spam", "toxic", "unanswered")


@dataclass(slots=True)
class TimeSeries:
    """Bucket starts, and one line of values per key (`total` when not grouped)."""

    metric: str
    bucket: Bucket
    group_by: str | None
    starts: list[datetime]
    lines: dict[str, list[int]]

    def total(self, key: str) -> int:
        """A line's sum over the period (0 for a key that does not occur)."""
        return sum(self.lines.get(key, []))


def timeseries(
    session: Session,
    workspace_id: int,
    metric: str,
    bucket: str,
    start: datetime,
    end: datetime,
    group_by: str | None = None,
    zone: tzinfo = UTC,
) -> TimeSeries:
    """A metric over a period, bucketed (local days and weeks in `zone`), read from the rollups."""
    if metric not in METRICS:
        raise Invalid(f"metric {metric!r}: use {' or '.join(METRICS)}")
    if group_by is not None and group_by not in GROUPS:
        raise Invalid(f"group_by {group_by!r}: use one of {', '.join(GROUPS)}, or none")
    size = check_bucket(bucket)
    span = period(start, end)
    starts, numbers = _buckets(span.first_hour, span.last_hour, size, zone)
    index = {number: i for i, number in enumerate(numbers)}
    lines: dict[str, list[int]] = defaultdict(lambda: [0] * len(starts))
    hours = (span.first_hour, span.last_hour)
    shifts = _shifts(span.first_hour, span.last_hour, zone)
    engagement = metric == "engagement"
    for number, key, count, summed in rollups.grouped(
        session.connection(), workspace_id, group_by or "messages", hours, size, shifts
    ):
        lines[key or "total"][index[number]] += summed if engagement else count
    if group_by is None and "total" not in lines:
        lines["total"] = [0] * len(starts)
    ordered = dict(sorted(lines.items(), key=lambda item: -sum(item[1])))
    return TimeSeries(metric=metric, bucket=size, group_by=group_by, starts=starts, lines=ordered)


def reached(starts: list[datetime], until: datetime) -> int:
    """How many buckets have begun by `until` (starts as TimeSeries.starts gives them)."""
    return bisect_left(starts, until)


def earlier(session: Session, workspace_id: int, bucket: str, span: Period, back: int, until: datetime,
            zone: tzinfo = UTC) -> list[int | None]:  # fmt: skip
    """Messages per bucket of `span`, each bucket counted `back` hours earlier: the period before, aligned bucket by
    bucket on this one. Only up to `until` (as far as `span` has run), moved back as much: the hour it falls in is
    counted to the same minute, and the buckets after it are None."""
    size = check_bucket(bucket)
    starts, numbers = _buckets(span.first_hour, span.last_hour, size, zone)
    index = {number: i for i, number in enumerate(numbers)}
    begun = reached(starts, until)
    line: list[int | None] = [0] * begun + [None] * (len(starts) - begun)
    conn, running = session.connection(), rollups.hour_of(until)
    shifts = [(hour - back, offset + back) for hour, offset in _shifts(span.first_hour, span.last_hour, zone)]
    hours = (span.first_hour - back, min(running, span.last_hour + 1) - 1 - back)
    for number, _, count, _ in rollups.grouped(conn, workspace_id, "messages", hours, size, shifts):
        at = index[number + back if size == "hour" else number]
        line[at] = (line[at] or 0) + count
    into = until - rollups.hour_start(running)
    if into and begun:
        then = rollups.hour_start(running - back)
        found = rollups.between(conn, workspace_id, ("messages",), then, then + into)
        line[begun - 1] = (line[begun - 1] or 0) + found["messages"].get("", (0, 0))[0]
    return line


@lru_cache(maxsize=64)
def _shifts(first: int, last: int, zone: tzinfo) -> rollups.Shifts:
    """The zone's offset in whole hours from each UTC hour of the period where it changes."""
    shifts: rollups.Shifts = []
    for hour in range(first, last + 1):
        offset = _offset(hour, zone)
        if not shifts or shifts[-1][1] != offset:
            shifts.append((hour, offset))
    return shifts


def _offset(hour: int, zone: tzinfo) -> int:
    delta = rollups.hour_start(hour).astimezone(zone).utcoffset()
    return int(delta.total_seconds() // 3600) if delta is not None else 0


@lru_cache(maxsize=64)
def _buckets(first: int, last: int, size: Bucket, zone: tzinfo) -> tuple[list[datetime], list[int]]:
    """Every bucket of the period: its local start, and its number as rollups.grouped counts it."""
    starts: list[datetime] = []
    numbers: list[int] = []
    for hour, offset in _each_hour(first, last, zone):
        local = hour + offset
        number = hour if size == "hour" else local // 24 if size == "day" else (local // 24 + 3) // 7
        if not numbers or numbers[-1] != number:
            numbers.append(number)
            starts.append(bucket_start(hour, size, zone))
    if len(numbers) > MAX_BUCKETS:
        raise Invalid(
            N_("%(bucket)s buckets over this period: more than %(most)s; choose a larger bucket"),
            bucket=size,
            most=MAX_BUCKETS,
        )
    return starts, numbers


def _each_hour(first: int, last: int, zone: tzinfo) -> list[tuple[int, int]]:
    shifts = _shifts(first, last, zone)
    bounds = [start for start, _ in shifts[1:]] + [last + 1]
    return [(hour, offset) for (start, offset), end in zip(shifts, bounds, strict=True) for hour in range(start, end)]
