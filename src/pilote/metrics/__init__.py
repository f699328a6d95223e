"""Metrics that matter: the catalogue's values for a period of a workspace, beside the period before it.

One implementation for the CLI (`pilote metrics`), the API (`/api/v1/metrics`) and the pages; each metric is
one entry of `catalogue.CATALOGUE` (docs/metrics.md is written from it).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, or_, select
from sqlalchemy.orm import Session

from pilote import community
from pilote.errors import Invalid, NotFound
from pilote.metrics import conversation, engagement, health, history
from pilote.metrics.catalogue import CATALOGUE, Metric, Noted, Scope, markdown
from pilote.metrics.facts import EVERYTHING, NOBODY, Facts, Focus, distinct_values, judged, load, seen_before
from pilote.models import Message, Source
from pilote.texts import N_

__all__ = [
    "CATALOGUE", "EVERYTHING", "Figure", "Focus", "Metric", "Report", "compare", "conversation", "engagement",
    "health", "markdown", "narrow", "report",
]  # fmt: skip

# The catalogue reads in this order: what is published, then who takes part, then how they talk.
AREAS = (engagement.__name__, health.__name__, conversation.__name__)
_ordered = sorted(CATALOGUE.values(), key=lambda entry: AREAS.index(entry.compute.__module__))
CATALOGUE.clear()
CATALOGUE.update((entry.name, entry) for entry in _ordered)

Read = Callable[[Connection, int, datetime, datetime, Focus], Facts]  # what reads a window's facts (`load`)
PERIODS = {"7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
LOOK_BACK = timedelta(days=365)  # member levels look back a year from a period's end
RECENT = timedelta(days=30)  # monthly active members count 30 days back from either period's end


@dataclass(frozen=True, slots=True)
class Figure:
    """One metric's value for the period and for the period before it."""

    name: str
    unit: str
    value: Any
    previous: Any
    better: str
    note: str | None = None


@dataclass(slots=True)
class Report:
    """The catalogue's values for one period of a workspace."""

    since: datetime
    until: datetime
    focus: Focus = EVERYTHING
    figures: list[Figure] = field(default_factory=list)
    against: tuple[datetime, datetime] | None = None  # the period compared with, when not the one just before

    @property
    def channel(self) -> str | None:
        """The one channel read, if any."""
        return self.focus.channel

    def as_json(self) -> dict[str, Any]:
        """`{"since", "until", "channel", "sources", "language", "topic", "metrics": {NAME: {"value", "previous",
        "unit", "note"}}}` (`sources`: the ids of the sources read, when not all)."""
        shown = {
            f.name: {"value": f.value, "previous": f.previous, "unit": f.unit, "note": f.note} for f in self.figures
        }
        only = self.focus
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "channel": only.channel,
                "sources": None if only.sources is None else list(only.sources), "language": only.language,
                "topic": only.topic, "metrics": shown}  # fmt: skip


def narrow(
    session: Session, workspace_id: int, *, channel: str | None = None, source: str | None = None,
    language: str | None = None, topic: str | None = None,
) -> Focus:  # fmt: skip
    """The part of the workspace asked for; `source` is a source's id, name or key (NotFound when none is), empty
    values read everything."""
    sources = None
    if source:
        by_id = [Source.id == int(source)] if source.isdigit() else []
        named = or_(Source.name == source, Source.key == source, *by_id)
        sources = tuple(session.scalars(select(Source.id).where(Source.workspace_id == workspace_id, named)))
        if not sources:
            raise NotFound(N_("no source %(source)r in this workspace"), source=source)
    words = " ".join((topic or "").lower().split())
    return Focus(channel or None, sources, (language or "").strip().lower() or None, words or None)


def span(
    session: Session,
    workspace_id: int,
    *,
    period: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """The period asked for: 7d, 30d, 90d or all (up to `until`, else now), or explicit bounds."""
    end = until or now or datetime.now(UTC)
    if since is not None:
        if period is not None:
            raise Invalid("give --period or --since/--until, not both")
        start = since
    elif period == "all":
        first = session.scalar(
            select(func.min(Message.created_at)).where(Message.workspace_id == workspace_id, community.counted())
        )
        start = first if first is not None and first < end else end - timedelta(days=1)
    elif (period or "30d") in PERIODS:
        start = end - PERIODS[period or "30d"]
    else:
        raise Invalid(f"period {period!r}: use 7d, 30d, 90d or all (or --since and --until)")
    if start.tzinfo is None or end.tzinfo is None:
        start, end = start.replace(tzinfo=start.tzinfo or UTC), end.replace(tzinfo=end.tzinfo or UTC)
    if end <= start:
        raise Invalid(f"period {start.isoformat()} → {end.isoformat()}: the end must come after the start")
    return start, end


def report(
    session: Session, workspace_id: int, since: datetime, until: datetime, *, focus: Focus = EVERYTHING,
    summed: bool = True,
) -> Report:  # fmt: skip
    """Every metric of the catalogue for [since, until) and for the period of equal length before it, over the
    part of the workspace in focus (all of it by default).

    With `summed` (the default), the months before the two periods that member levels and regulars look back
    on are read summed by the database (`history`), not row by row: the same values, a fraction of the cost."""
    return reports(session, workspace_id, [(since, until)], focus=focus, summed=summed)[0]


def reports(
    session: Session, workspace_id: int, periods: Sequence[tuple[datetime, datetime]], *,
    focus: Focus = EVERYTHING, summed: bool = True, read: Read = load,
) -> list[Report]:  # fmt: skip
    """`report` of several periods, their messages read once: the window that holds all of them is read (by
    `read`: `facts.load`, or the facts a worker holds, `held.Reading`), and each period's metrics read their part
    of it (the same values as a read each; the kept reports' periods overlap, and the longest holds the others)."""
    with _collections_paused():
        conn = session.connection()
        plans = [_Plan.of(since, until, summed) for since, until in periods]
        start, end = min(plan.read[0] for plan in plans), max(plan.read[1] for plan in plans)
        # A period whose look-backs the read holds anyway (another period reads further back) reads them from it
        # rather than summed by the database again: the same values (`summed`), without the database's pass.
        plans = [replace(plan, read=(plan.start, plan.until), summed=False) if start <= plan.start else plan
                 for plan in plans]  # fmt: skip
        wide = read(conn, workspace_id, start, end, focus)
        if len(plans) > 1:  # found once: each period reads them (its arrays are a view of the read's)
            conversation.tree(conn, wide)
            engagement.every_post(wide)
            judged(wide)
        return [_report(conn, workspace_id, plan, wide, focus) for plan in plans]


def cuts(since: datetime, until: datetime) -> tuple[datetime, ...]:
    """Where a period's report starts reading its messages (summed before, or row by row from the first)."""
    plan = _Plan.of(since, until, summed=True)
    return plan.start, plan.read[0]


@dataclass(frozen=True, slots=True)
class _Plan:
    """What a period's report reads: the messages of `read` row by row, and the months before it summed
    (`history`, from `start`) when `summed`."""

    since: datetime
    until: datetime
    start: datetime  # where member levels' and regulars' look-backs, and the period before the previous, begin
    read: tuple[datetime, datetime]
    summed: bool

    @classmethod
    def of(cls, since: datetime, until: datetime, summed: bool) -> _Plan:
        length = until - since
        start = min(since - 2 * length, since - LOOK_BACK)
        window = _monday(min(since - length, since - RECENT))  # what the other metrics read of the periods before
        if summed and window > start:
            return cls(since, until, start, (window, until), True)
        return cls(since, until, start, (start, until), False)


def _report(conn: Connection, workspace_id: int, plan: _Plan, wide: Facts, focus: Focus) -> Report:
    since, until = plan.since, plan.until
    window = plan.read[0]
    facts = wide.narrowed(conn, window, until)
    columns = facts.columns
    members = set(distinct_values(columns.member[columns.member != NOBODY]).tolist())  # the team's too
    if plan.summed:
        ends = (since.timestamp(), until.timestamp())
        prior = 3 * ends[0] - 2 * ends[1]  # where the period before the previous one starts (its returning members)
        bounds = [plan.start.timestamp(), prior] + [end - back for end in ends for back in health.LOOK_BACKS]
        facts.history = history.load(conn, workspace_id, (plan.start, window), bounds, focus, facts.team)
        facts.seen_before = history.earlier(conn, workspace_id, facts.history, members)
    else:
        facts.seen_before = seen_before(conn, workspace_id, window, members)
    length = until - since
    now = Scope(conn, workspace_id, facts, since.timestamp(), until.timestamp(), focus)
    before = Scope(conn, workspace_id, facts, (since - length).timestamp(), since.timestamp(), focus)
    found = Report(since, until, focus)
    for entry in CATALOGUE.values():
        value, note = _noted(entry.compute(now))
        previous, _ = _noted(entry.compute(before))
        found.figures.append(Figure(entry.name, entry.unit, value, previous, entry.better, note))
    return found


def compare(
    session: Session, workspace_id: int, period: tuple[datetime, datetime], against: tuple[datetime, datetime], *,
    focus: Focus = EVERYTHING,
) -> Report:  # fmt: skip
    """The catalogue for `period` beside any other period `against` (not only the one just before): each
    figure's `previous` is its value over `against`."""
    found = report(session, workspace_id, *period, focus=focus)
    other = {f.name: f.value for f in report(session, workspace_id, *against, focus=focus).figures}
    found.figures = [replace(f, previous=other.get(f.name)) for f in found.figures]
    found.against = against
    return found


@contextmanager
def _collections_paused() -> Iterator[None]:
    """No cyclic garbage collection while a report is built: it allocates a million acyclic objects at a million
    messages, and each collection would walk all those made so far (a quarter of the time; docs/benchmarks.md).
    Its garbage is reference-counted away as usual; a collection resumes after it."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _monday(moment: datetime) -> datetime:
    """The start (00:00 UTC) of the Monday of a moment's week."""
    day = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _noted(value: Any) -> tuple[Any, str | None]:
    return (value.value, value.note) if isinstance(value, Noted) else (value, None)
