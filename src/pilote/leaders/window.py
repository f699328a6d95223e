"""The period the leaders are computed over, and the one just before it (to see who is rising)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pilote.errors import Invalid
from pilote.models import Message

PERIODS = {"7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}
NAMES = (*PERIODS, "all")
DEFAULT = "30d"


@dataclass(frozen=True, slots=True)
class Window:
    """[since, until), and the period of equal length just before it (None for `all`: nothing comes before)."""

    since: datetime
    until: datetime
    previous: tuple[datetime, datetime] | None


def coming_hour(now: datetime | None = None) -> datetime:
    """The start of the next hour: "now" as the rollups and the pages count it (the current hour included)."""
    moment = now or datetime.now(UTC)
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def window(session: Session, workspace_id: int, *, period: str | None = None, since: datetime | None = None,
           until: datetime | None = None, now: datetime | None = None) -> Window:  # fmt: skip
    """A named period up to now (7d, 30d, 90d, all), or explicit dates (the start defaults to 30 days earlier)."""
    if period is not None and (since is not None or until is not None):
        raise Invalid("give a period (7d, 30d, 90d, all) or dates (since, until), not both")
    if period is not None and period not in NAMES:
        raise Invalid(f"period {period!r}: use {', '.join(NAMES)}, or since and until")
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise Invalid(f"{moment.isoformat()}: give dates with a time zone (e.g. 2026-03-01T00:00:00+00:00)")
    end = until or coming_hour(now)
    if period == "all":
        first = session.scalar(select(func.min(Message.created_at)).where(Message.workspace_id == workspace_id))
        return Window(min(first, end) if first is not None else end, end, None)
    start = since or end - PERIODS[period or DEFAULT]
    if end <= start:
        raise Invalid(f"period {start.isoformat()} → {end.isoformat()}: the end must come after the start")
    return Window(start, end, (start - (end - start), start))
