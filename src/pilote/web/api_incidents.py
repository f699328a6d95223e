"""The radar's incidents in the HTTP API: each alert with what rose, against what expectation, and how sure the
detector is (its score and severity). Thin adapters over pilote.radar.incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from pilote.radar import incidents
from pilote.web.api import ERRORS, ApiRoute, SessionDep, WorkspaceDep

router = APIRouter(prefix="/api/v1", route_class=ApiRoute, responses=ERRORS, tags=["api"])
SHOWN = {"all": None, "live": False, "past": True}


class IncidentOut(BaseModel):
    """An incident: one crisis, the alerts grouped in it, and who acted on it. `past`: an episode found in
    history read after its time (an import, a first sync), resolved from the start and told to no one."""

    id: int
    status: str = Field(examples=["open"])
    severity: str = Field(examples=["high"])
    title: str
    started_at: datetime
    last_alert_at: datetime
    alerts: int
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    escalated_at: datetime | None
    past: bool


class AlertOut(BaseModel):
    """One alert: the series that rose and its value in the five-minute bucket starting `at`, the value the
    detector expected there, their ratio, and the detector's confidence (`score`, 0–1, and `severity`);
    `explanation` holds the evidence (first and most amplified messages, spreaders, keyphrases, channels)."""

    series: str = Field(examples=["negative"])
    at: datetime
    value: float
    expected: float
    ratio: float | None = Field(description="value / expected; null when nothing was expected")
    score: float = Field(description="the detector's anomaly score, 0 (usual) to 1 (far from usual)")
    severity: str = Field(examples=["medium"])
    explanation: dict[str, Any]


class LogEntry(BaseModel):
    """A line of the incident's shared log."""

    at: datetime
    kind: str
    actor: str | None
    detail: str | None


class IncidentDetail(IncidentOut):
    """The incident with its alerts, in the order they came, and its log."""

    alert_list: list[AlertOut]
    log: list[LogEntry]


@router.get("/incidents", response_model=list[IncidentOut], summary="The radar's incidents, newest first")
def list_incidents(
    session: SessionDep,
    workspace_id: WorkspaceDep,
    show: Annotated[Literal["all", "live", "past"], Query(description="live, past episodes, or all")] = "all",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    found = incidents.get_all(session, workspace_id=workspace_id, past=SHOWN[show], limit=limit)
    return [incidents.as_json(session, incident) for incident in found]


@router.get("/incidents/{incident_id}", response_model=IncidentDetail, summary="One incident, its alerts and log")
def get_incident(session: SessionDep, workspace_id: WorkspaceDep, incident_id: int) -> Any:
    found = incidents.get(session, incident_id=incident_id, workspace_id=workspace_id)
    data = incidents.as_json(session, found, detail=True)
    for alert in data["alert_list"]:
        alert["ratio"] = alert["explanation"].get("ratio")
    del data["deliveries"]  # their targets are webhook addresses and e-mail addresses: not for every token
    return data
