"""The Health page: every metric of the catalogue for a period beside the period before, and its CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from pilote import metrics
from pilote.errors import Invalid
from pilote.metrics import CATALOGUE, Figure, Report
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
        return Row(figure, entry.formula, "", None, None)
    moved = float(value) - float(previous)
    tone = "" if not moved or figure.better not in ("higher", "lower") else (
        "good" if (moved > 0) == (figure.better == "higher") else "bad")  # fmt: skip
    change = moved / float(previous) if previous and abs(float(previous)) >= SMALL_BASE else None
    return Row(figure, entry.formula, tone, moved, change)


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


def decile(share: float) -> int:
    """The shade (0 to 9) of a cohort's cell, a share retained in % (0 to 100)."""
    return max(0, min(9, int(share // 10)))


def _report(page: PageDep, period: str) -> Report:
    if period not in metrics.PERIODS:
        raise Invalid(N_("period %(period)r: choose 7d, 30d or 90d"), period=period)
    since, until = metrics.span(page.session, page.workspace.id, period=period, until=until_now(datetime.now(UTC)))
    return metrics.report(page.session, page.workspace.id, since, until)


@router.get("/w/{slug}/health", response_class=HTMLResponse)
def health(page: PageDep, period: str = "30d") -> HTMLResponse:
    """The catalogue's values for a period of the workspace beside the period before."""
    found = _report(page, period)
    cohorts = next((f.value for f in found.figures if f.name == "retention_cohorts"), None)
    weeks = max((len(c["retained"]) for c in (cohorts or {}).values()), default=0)
    return page.render(
        "health.html",
        "health",
        report=found,
        groups=grouped(found),
        period=period,
        periods=list(metrics.PERIODS),
        cohorts=cohorts or {},
        weeks=weeks,
        table=table,
        decile=decile,
    )


@router.get("/w/{slug}/health.csv")
def health_csv(page: PageDep, period: str = "30d") -> Response:
    """The page's metrics with one value each, as CSV: name, value, previous, unit (tables are in the API)."""
    found = _report(page, period)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "value", "previous", "unit"])
    for figure in found.figures:
        if not row(figure).table:
            writer.writerow([figure.name, _cell(figure.value), _cell(figure.previous), figure.unit])
    filename = f"pilote-{page.workspace.slug}-health-{period}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
