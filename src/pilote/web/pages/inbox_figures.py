"""The team's figures page: per person and per channel over a period, the backlog by age as a bar chart, and its CSV
(docs/inbox.md, Team figures)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from pilote import metrics
from pilote.errors import Invalid
from pilote.inbox import figures
from pilote.web.i18n import N_
from pilote.web.pages.common import PageDep
from pilote.web.pages.health import until_now

router = APIRouter()
COLUMNS = ("scope", "key", "asked", "handled", "response_rate", "first_responses", "first_response_median_hours",
           "first_response_p90_hours", "resolved", "resolution_median_hours", "resolution_p90_hours", "sla_met",
           "sla_missed", "sla_share", "open_items")  # fmt: skip


def _figures(page: PageDep, period: str, channel: str) -> figures.Figures:
    if period not in metrics.PERIODS:
        raise Invalid(N_("period %(period)r: choose 7d, 30d or 90d"), period=period)
    now = datetime.now(UTC)
    since, until = metrics.span(page.session, page.workspace.id, period=period, until=until_now(now))
    return figures.team(page.session.connection(), page.workspace.id, since, until, channel=channel or None, now=now)


def ages(page: PageDep) -> dict[str, str]:
    """The backlog's age buckets in the reader's language."""
    _ = page.t.gettext
    return {"under_1h": _("under 1 hour"), "1h_4h": _("1 to 4 hours"), "4h_24h": _("4 to 24 hours"),
            "1d_3d": _("1 to 3 days"), "over_3d": _("over 3 days")}  # fmt: skip


def chart(page: PageDep, found: figures.Figures) -> dict[str, Any]:
    """The backlog by age as bars."""
    names = ages(page)
    return {"type": "bar", "stack": False, "x": [names[key] for key, _ in figures.AGES],
            "series": [{"key": "backlog", "name": page.t.gettext("Items owed an answer"),
                        "data": [found.backlog[key] for key, _ in figures.AGES]}]}  # fmt: skip


@router.get("/w/{slug}/inbox/figures", response_class=HTMLResponse)
def team_figures(page: PageDep, period: str = "7d", channel: str = "") -> HTMLResponse:
    """The team's figures for a period, per person and per channel, and the backlog now."""
    found = _figures(page, period, channel)
    late = sorted({i for row in (found.total, *found.people, *found.channels) for i in row.missed})
    return page.render("inbox_figures.html", "inbox", found=found, period=period, periods=list(metrics.PERIODS),
                       channel=channel, chart=chart(page, found), ages=ages(page),
                       messages=figures.first_messages(page.session.connection(), late),
                       team_on_platform=page.t.gettext("the team (on the platform)"))  # fmt: skip


@router.get("/w/{slug}/inbox/figures.csv")
def team_figures_csv(page: PageDep, period: str = "7d", channel: str = "") -> Response:
    """The page's figures as CSV: one line per person, per channel and for the whole team, then the backlog."""
    found = _figures(page, period, channel)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for scope, rows in (("person", found.people), ("channel", found.channels), ("team", [found.total])):
        for row in rows:
            person = scope == "person"  # a person answers items; how many were asked is the channels' figure
            writer.writerow([scope, row.key, "" if person else row.asked, row.handled,
                             _cell(None if person else row.response_rate), row.first_response.count,
                             _cell(row.first_response.median_hours), _cell(row.first_response.p90_hours),
                             row.resolution.count, _cell(row.resolution.median_hours),
                             _cell(row.resolution.p90_hours), row.sla_met, row.sla_missed, _cell(row.sla_share),
                             ""])  # fmt: skip
    for key, count in found.backlog.items():
        writer.writerow(["backlog", key, *[""] * (len(COLUMNS) - 3), count])
    filename = f"pilote-{page.workspace.slug}-team-figures-{period}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
