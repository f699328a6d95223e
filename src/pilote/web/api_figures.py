"""The team inbox's figures in the HTTP API: the same as `pilote inbox figures --json` (docs/inbox.md, Team figures)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from pilote import metrics
from pilote.inbox import figures
from pilote.web.api import ERRORS, ApiRoute, SessionDep, WorkspaceDep, _aware

router = APIRouter(prefix="/api/v1", route_class=ApiRoute, responses=ERRORS, tags=["api"])


@router.get("/inbox/figures", summary="The team's figures: handled, response and resolution times, SLA, backlog")
def get_figures(
    session: SessionDep,
    workspace_id: WorkspaceDep,
    period: Annotated[str | None, Query(description="7d, 30d (default), 90d or all, up to now.")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """Per person and per channel over the period, the whole team's, and the backlog now by age (as
    `pilote inbox figures --json`): `{"since", "until", "now", "channel", "inbox_start", "total", "people",
    "channels", "backlog", "backlog_by_channel"}`."""
    first, last = metrics.span(session, workspace_id, period=period, since=_aware(since), until=_aware(until))
    found = figures.team(session.connection(), workspace_id, first, last, channel=channel, now=datetime.now(UTC))
    return found.as_json()
