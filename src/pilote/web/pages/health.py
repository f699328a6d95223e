"""The Health page: every metric of the catalogue for a period beside the period before, and its CSV; a standard
period over the whole workspace reads the report a worker keeps (metrics.kept)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from pilote import jobs, metrics
from pilote.errors import Invalid
from pilote.keeping import Kept
from pilote.metrics import CATALOGUE, Figure, Report, kept
from pilote.metrics.catalogue import NO_FOLLOWERS
from pilote.models import Source
from pilote.web.i18n import N_
from pilote.web.pages.common import PageDep

router = APIRouter()
# The page's groups, in reading order; a metric not named here lands in the group of its module.
GROUPS = {
    "engagement": ("posts", "engagement_rate", "comments_per_post", "amplification", "applause", "organic_reach",
                   "vanity_vs_engagement"),
    "response": ("response_rate", "first_response_median", "first_response_p90", "response_by_channel",
                 "response_by_member"),
    "sentiment": ("sentiment_balance",),
}  # fmt: skip
MODULE_GROUP = {"engagement": "engagement", "health": "members", "conversation": "conversation"}
ORDER = ("engagement", "response", "members", "conversation", "sentiment")
SMALL_BASE = 20  # below this many the period before, a change is told as a difference, not a percentage


@dataclass(frozen=True, slots=True)
class Row:
    """One metric as the page shows it: its figure, formula and how it moved."""

    figure: Figure
    formula: str
    title: str  # the metric's name on the page, in English (translated by the template)
    tone: str  # good, bad or "" (no change, or neither way is better)
    moved: float | None  # value - previous, when both are numbers
    change: float | None  # moved / previous, only when the period before had at least SMALL_BASE

    @property
    def table(self) -> bool:
        """Whether the value is a table (per channel, per level...) rather than one number."""
        shown = self.figure
        return shown.unit == "table" or isinstance(shown.value, dict) or isinstance(shown.previous, dict)


def until_now(now: datetime) -> datetime:
    """The end of the periods shown: the coming full hour, so that a page's figures hold for an hour."""
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def group_of(name: str) -> str:
    """The page's group of a metric."""
    for group, names in GROUPS.items():
        if name in names:
            return group
    return MODULE_GROUP.get(CATALOGUE[name].compute.__module__.rsplit(".", 1)[-1], "members")


def row(figure: Figure) -> Row:
    """A figure with its formula, change and colour (by which way is good for the community)."""
    entry = CATALOGUE[figure.name]
    value, previous = figure.value, figure.previous
    if not _number(value) or not _number(previous):
        return Row(figure, entry.formula, entry.title, "", None, None)
    moved = float(value) - float(previous)
    tone = "" if not moved or figure.better not in ("higher", "lower") else (
        "good" if (moved > 0) == (figure.better == "higher") else "bad")  # fmt: skip
    change = moved / float(previous) if previous and abs(float(previous)) >= SMALL_BASE else None
    return Row(figure, entry.formula, entry.title, tone, moved, change)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def grouped(found: Report) -> dict[str, list[Row]]:
    """The report's rows by group, in the page's order (empty groups left out)."""
    rows: dict[str, list[Row]] = {group: [] for group in ORDER}
    for figure in found.figures:
        rows[group_of(figure.name)].append(row(figure))
    return {group: shown for group, shown in rows.items() if shown}


def table(value: Any) -> tuple[list[str], list[tuple[str, list[Any]]]]:
    """A table metric's value as columns and named rows: {row: {column: value}} or {row: value}."""
    if not isinstance(value, dict) or not value:
        return [], []
    if all(isinstance(cells, dict) for cells in value.values()):
        columns = list(dict.fromkeys(key for cells in value.values() for key in cells))
        return columns, [(str(name), [cells.get(key) for key in columns]) for name, cells in value.items()]
    return [""], [(str(name), [cell]) for name, cell in value.items()]


LEVEL_NAMES = {"1": N_("core"), "2": N_("regular"), "3": N_("participant"), "4": N_("the others")}
# The columns of the catalogue's tables (keys of their values), as the page names them.
COLUMNS = {"followers": N_("followers"), "followers_change": N_("change in followers"),
           "team_posts": N_("the team's posts"), "team_interactions": N_("interactions on them"),
           "engaged_members": N_("engaged members"), "per_1000_followers": N_("interactions per 1,000 followers"),
           "asked": N_("owed an answer"), "response_rate": N_("response rate (%)"),
           "median_hours": N_("median (hours)"), "p90_hours": N_("90th percentile (hours)"),
           "answers": N_("first answers")}  # fmt: skip


def heading(key: str, say: Any) -> str:
    """A table's column in the reader's language (a key the page does not know stays as it is)."""
    return say(COLUMNS[key]) if key in COLUMNS else key


def line_name(metric_name: str, key: str, say: Any) -> str:
    """A table's row in the reader's language: member levels by name; channels, people and keyword sets as they are."""
    return say(LEVEL_NAMES[key]) if metric_name == "member_levels" and key in LEVEL_NAMES else key


ACTIVE = {"daily_active_members": N_("per day"), "weekly_active_members": N_("per week"),
          "monthly_active_members": N_("per 30 days")}  # fmt: skip


def charts(found: Report, say: Any) -> dict[str, dict[str, Any]]:
    """The page's charts (drawn by pilote.js, each saved as PNG from its toolbox): member levels and active
    members, this period beside the one compared with."""
    figures = {f.name: f for f in found.figures}

    def bars(x: list[str], now: list[Any], before: list[Any]) -> dict[str, Any]:
        return {"type": "bar", "stack": False, "x": x, "series": [
            {"key": "now", "name": say("This period"), "data": now},
            {"key": "before", "name": say("Before"), "data": before}]}  # fmt: skip

    levels = figures.get("member_levels")
    shown: dict[str, dict[str, Any]] = {}
    if levels is not None and isinstance(levels.value, dict):
        previous = levels.previous if isinstance(levels.previous, dict) else {}
        names, now = [say(name) for name in LEVEL_NAMES.values()], [levels.value.get(k) for k in LEVEL_NAMES]
        shown["levels"] = bars(names, now, [previous.get(k) for k in LEVEL_NAMES])
    active = [figures[name] for name in ACTIVE if name in figures]
    if active:
        shown["active"] = bars([say(ACTIVE[f.name]) for f in active], [f.value for f in active],
                               [f.previous for f in active])  # fmt: skip
    return shown


def decile(share: float) -> int:
    """The shade (0 to 9) of a cohort's cell, a share retained in % (0 to 100)."""
    return max(0, min(9, int(share // 10)))


@dataclass(frozen=True, slots=True)
class Asked:
    """What the page was asked for: a period (or two days' span) and what to compare it with; one channel, source,
    language or topic (keyphrase)."""

    period: str = "30d"
    since: str = ""  # YYYY-MM-DD, the first day; with `until`, instead of `period`
    until: str = ""  # YYYY-MM-DD, the last day (included)
    against_since: str = ""  # the days to compare with (else the period of the same length just before)
    against_until: str = ""
    channel: str = ""
    source: str = ""  # a source's id
    language: str = ""
    topic: str = ""

    def query(self, *left_out: str) -> str:
        """The URL parameters that ask for the same again (for the CSV link), but those `left_out`."""
        given = {name: getattr(self, name) for name in self.__slots__ if getattr(self, name) and name not in left_out}
        return urlencode(given)


def _day(value: str, name: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise Invalid(N_("%(name)s %(value)r: give a day as YYYY-MM-DD"), name=name, value=value) from None


def _days(since: str, until: str, name: str) -> tuple[datetime, datetime]:
    start, end = _day(since, name), _day(until, name) + timedelta(days=1)
    if end <= start:
        raise Invalid(N_("%(name)s: the last day must not come before the first"), name=name)
    return start, end


def _report(page: PageDep, asked: Asked) -> Kept[Report] | None:
    """The report asked for: a standard period over the whole workspace is the one a worker keeps (None while it
    is being computed in a large workspace); any other view is computed now."""
    focus = metrics.narrow(page.session, page.workspace.id, channel=asked.channel, source=asked.source,
                           language=asked.language, topic=asked.topic)  # fmt: skip
    dates = asked.since or asked.until or asked.against_since or asked.against_until
    if not dates and focus == metrics.EVERYTHING and asked.period in metrics.PERIODS:
        found = kept.report_of(page.session, page.workspace.id, asked.period)
        if found is None:
            state = page.request.app.state
            jobs.compute_reports(state.settings, state.engine, page.workspace.id)
        return found
    return Kept(_live(page, asked, focus), None)


def _live(page: PageDep, asked: Asked, focus: metrics.Focus) -> Report:
    if asked.since or asked.until:
        since, until = _days(asked.since, asked.until, "since")
    elif asked.period in metrics.PERIODS:
        since, until = metrics.span(page.session, page.workspace.id, period=asked.period,
                                    until=until_now(datetime.now(UTC)))  # fmt: skip
    else:
        raise Invalid(N_("period %(period)r: choose 7d, 30d or 90d"), period=asked.period)
    if asked.against_since or asked.against_until:
        against = _days(asked.against_since, asked.against_until, "against")
        return metrics.compare(page.session, page.workspace.id, (since, until), against, focus=focus)
    return metrics.report(page.session, page.workspace.id, since, until, focus=focus)


def _sources(page: PageDep) -> list[tuple[int, str, str]]:
    """The workspace's sources (id, name, channel), by name: the form's choices of source and channel."""
    query = select(Source.id, Source.name, Source.channel).where(Source.workspace_id == page.workspace.id)
    return sorted(((i, name, channel) for i, name, channel in page.session.execute(query)),
                  key=lambda row: (row[1].lower(), row[0]))  # fmt: skip


AskedDep = Annotated[Asked, Depends()]


@router.get("/w/{slug}/health", response_class=HTMLResponse)
def health(page: PageDep, asked: AskedDep) -> HTMLResponse:
    """The catalogue's values for a period of the workspace beside the period before, or beside any other."""
    served = _report(page, asked)
    found = served.value if served else Report(datetime.now(UTC), datetime.now(UTC))  # nothing while computed
    sources = _sources(page)
    cohorts = next((f.value for f in found.figures if f.name == "retention_cohorts"), None)
    weeks = max((len(c["retained"]) for c in (cohorts or {}).values()), default=0)
    return page.render(
        "health.html",
        "health",
        report=found,
        served=served,
        groups=grouped(found),
        period=asked.period if not asked.since else "",
        periods=list(metrics.PERIODS),
        asked=asked,
        channels=sorted({channel for _, _, channel in sources}),
        sources=sources,
        cohorts=cohorts or {},
        weeks=weeks,
        table=table,
        heading=lambda key: heading(key, page.t.gettext),
        line_name=lambda name, key: line_name(name, key, page.t.gettext),
        decile=decile,
        no_followers=NO_FOLLOWERS,
        charts=charts(found, page.t.gettext),
    )


@router.get("/w/{slug}/health.csv")
def health_csv(page: PageDep, asked: AskedDep) -> Response:
    """The page's metrics with one value each, as CSV: name, value, previous, unit (tables are in the API); the
    same periods and channel as the page."""
    served = _report(page, asked)
    if served is None:
        text = page.t.gettext("This report is being computed in the background: download it again in a minute.")
        return Response(text, status_code=503, media_type="text/plain", headers={"Retry-After": str(kept.RETRY_AFTER)})
    found = served.value
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "value", "previous", "unit"])
    for figure in found.figures:
        if not row(figure).table:
            writer.writerow([figure.name, _cell(figure.value), _cell(figure.previous), figure.unit])
    span = f"{asked.since}-{asked.until}" if asked.since else asked.period
    filename = f"pilote-{page.workspace.slug}-health-{span}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
