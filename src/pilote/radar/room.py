"""The crisis room's read model: an incident's timeline, evidence, spreaders and log, gathered from its alerts."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.models import Incident, IncidentEvent, RadarPoint
from pilote.radar import incidents, notify
from pilote.radar.series import STEP

TIMELINE = ("mentions", "negative", "reach")
BEFORE, AFTER = timedelta(hours=6), timedelta(hours=12)
MAX_POINTS = 600  # about two days of five-minute buckets


@dataclass(frozen=True, slots=True)
class Room:
    """Everything the crisis room shows about one incident."""

    incident: Incident
    alerts: list[dict[str, Any]]
    starts: list[datetime]
    lines: dict[str, list[float]]
    alert_starts: set[datetime]
    first_messages: list[dict[str, Any]]
    most_amplified: list[dict[str, Any]]
    spreaders: list[dict[str, Any]]
    keyphrases: list[tuple[str, int]]
    channels: dict[str, int]
    log: list[IncidentEvent]
    statement: str
    deliveries: list[dict[str, Any]]


def room(session: Session, incident: Incident) -> Room:
    """Read the incident's room: its alerts' explanations merged, and the series around it."""
    alerts = incidents.alerts(session, incident_id=incident.id)
    explained = [(alert, json.loads(alert.explanation)) for alert in alerts]
    starts, lines = _timeline(session, incident)
    return Room(
        incident=incident,
        alerts=[{"alert": alert, "explanation": ex} for alert, ex in explained],
        starts=starts,
        lines=lines,
        alert_starts={alert.at for alert in alerts},
        first_messages=[_dated(m) for m in _unique(m for _, ex in explained for m in ex.get("first_messages", []))[:8]],
        most_amplified=[
            _dated(m)
            for m in sorted(
                _unique(m for _, ex in explained for m in ex.get("most_amplified", [])), key=lambda m: -m["reach"]
            )[:8]
        ],
        spreaders=_spreaders(ex.get("authors", []) for _, ex in explained),
        keyphrases=_sum_pairs(ex.get("keyphrases", []) for _, ex in explained),
        channels=dict(sum((Counter(ex.get("channels", {})) for _, ex in explained), Counter()).most_common()),
        log=incidents.events(session, incident_id=incident.id),
        statement=incidents.statement(session, incident_id=incident.id),
        deliveries=notify.deliveries_json(session, incident_id=incident.id),
    )


def _timeline(session: Session, incident: Incident) -> tuple[list[datetime], dict[str, list[float]]]:
    start = incident.started_at - BEFORE
    end = min(incident.last_alert_at + AFTER, start + STEP * MAX_POINTS)
    query = select(RadarPoint.series, RadarPoint.at, RadarPoint.value).where(
        RadarPoint.workspace_id == incident.workspace_id, RadarPoint.series.in_(TIMELINE),
        RadarPoint.at >= start, RadarPoint.at <= end,
    )  # fmt: skip
    found = {(series, at): value for series, at, value in session.execute(query)}
    last = max((at for _, at in found), default=start)
    starts = [start + STEP * k for k in range(int((last - start) / STEP) + 1)]
    return starts, {name: [found.get((name, at), 0.0) for at in starts] for name in TIMELINE}


def _unique(messages: Any) -> list[dict[str, Any]]:
    seen: dict[int, dict[str, Any]] = {}
    for message in messages:
        seen.setdefault(message["id"], message)
    return list(seen.values())


def _dated(message: dict[str, Any]) -> dict[str, Any]:
    """A message of an explanation with its time as a moment (explanations keep it as ISO text)."""
    return {**message, "created_at": datetime.fromisoformat(message["created_at"])}


def _spreaders(groups: Any) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for group in groups:
        for author in group:
            key = (author["author"], author["channel"])
            entry = merged.setdefault(key, {**author, "messages": 0, "reach": 0})
            entry["messages"] = max(entry["messages"], author["messages"])
            entry["reach"] = max(entry["reach"], author["reach"])
    return sorted(merged.values(), key=lambda e: (-e["reach"], -e["messages"]))[:8]


def _sum_pairs(groups: Any) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for group in groups:
        for phrase, count in group:
            counts[phrase] = max(counts[phrase], count)
    return counts.most_common(12)
