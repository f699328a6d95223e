"""The Overview page: a period's volume, sentiment and engagement beside the previous period's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from pilote.community import counted
from pilote.errors import Invalid
from pilote.models import Message
from pilote.views.overview import Overview
from pilote.views.overview import overview as read_overview
from pilote.web.i18n import N_
from pilote.web.pages import charts
from pilote.web.pages.common import PageDep

router = APIRouter()
PERIODS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "90d": timedelta(days=90)}


@dataclass(frozen=True, slots=True)
class Span:
    """The period shown: its choice (24h, 7d... or custom), bounds and bucket."""

    choice: str
    start: datetime
    end: datetime
    bucket: str


def span(choice: str, start: date | None, end: date | None, page: PageDep, now: datetime) -> Span:
    """The period asked for; a custom one is whole days in the reader's time zone, both days included."""
    if choice == "custom":
        if start is None or end is None:
            raise Invalid(N_("custom period: give both a first and a last day"))
        if end < start:
            raise Invalid(
                N_("custom period %(start)s → %(end)s: the last day comes before the first"), start=start, end=end
            )
        first = datetime.combine(start, time(), page.t.tz).astimezone(UTC)
        last = datetime.combine(end + timedelta(days=1), time(), page.t.tz).astimezone(UTC)
        return Span("custom", first, last, _bucket(last - first))
    length = PERIODS.get(choice)
    if length is None:
        raise Invalid(N_("period %(period)r: choose 24h, 7d, 30d, 90d or custom"), period=choice)
    until = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return Span(choice, until - length, until, _bucket(length))


def _bucket(length: timedelta) -> str:
    if length <= timedelta(days=2):
        return "hour"
    return "day" if length <= timedelta(days=60) else "week"


@router.get("/w/{slug}/", response_class=HTMLResponse)
def overview(page: PageDep, period: str = "7d", start: date | None = None, end: date | None = None) -> HTMLResponse:
    """The Overview of a workspace over a period."""
    now = datetime.now(UTC)
    shown = span(period, start, end, page, now)
    data = read_overview(page.session, page.workspace.id, shown.start, shown.end, shown.bucket, page.t.tz, now)
    empty = not data.figures.get("messages") or not data.figures["messages"].value
    return page.render(
        "overview.html",
        "overview",
        data=data,
        span=shown,
        periods=[*PERIODS, "custom"],
        charts=so_far(page, _charts(page, data), data),
        empty=empty,
        latest=_latest(page) if empty else None,
        last_day=(shown.end - timedelta(seconds=1)).astimezone(page.t.tz).date(),
        first_day=shown.start.astimezone(page.t.tz).date(),
        month=timedelta(days=29),
    )


def _charts(page: PageDep, data: Overview) -> dict[str, dict[str, Any]]:
    """The page's charts; volume carries the previous period's total as a dashed line."""
    t = page.t
    volume = charts.lines(t, data.volume_by_channel, stack=True)
    sentiments = {name: data.sentiment.total(name) for name in data.sentiment.lines}
    return {
        "volume": charts.with_previous(volume, data.previous_volume, t.gettext("previous period (all channels)")),
        "kind": charts.lines(t, data.volume_by_kind, "bar", stack=True, names=t.words(data.volume_by_kind.lines)),
        "sentiment": charts.lines(t, data.sentiment, stack=True, names=t.words(sentiments)),
        "sentiment_mix": charts.pie(sentiments, t.words(sentiments)),
        "engagement": charts.lines(t, data.engagement, names={"total": t.gettext("engagement")}),
    }


def so_far(page: PageDep, shown: dict[str, dict[str, Any]], data: Overview) -> dict[str, dict[str, Any]]:
    """The time charts' bucket still running, when the period reaches now: named ("Mon, Dec 7 (so far)"), marked
    partial up to the present minute, and nothing drawn after it, so that a day not yet over is no collapse (the
    previous period's line stops at the same elapsed time: `views.overview.elapsed`)."""
    if data.running is None:
        return shown
    at, t = data.running, page.t
    until = t.short(data.until, "MMMEd", with_time=True) if data.bucket == "week" else t.time(data.until)
    for chart in shown.values():
        if chart.get("x"):
            chart["x"][at] = t.gettext("%(bucket)s (so far)", bucket=chart["x"][at])
            chart["running"], chart["current"] = t.gettext("so far"), at
            chart["partial"] = t.gettext("partial: up to %(time)s", time=until)
            for line in chart["series"]:
                line["data"][at + 1 :] = [None] * len(line["data"][at + 1 :])
    return shown


def _latest(page: PageDep) -> datetime | None:
    """When the workspace's newest counted message was written (for the empty state's way out)."""
    found: datetime | None = page.session.scalar(
        select(func.max(Message.created_at)).where(Message.workspace_id == page.workspace.id, counted())
    )
    return found
