"""Incidents: one per crisis. Alerts attach to the workspace's open incident; people acknowledge, resolve, reopen.

An alert about a live bucket (`radar.live`) opens an incident unless one of the workspace is still
unresolved and had an alert within `GROUP_WINDOW` (in the data's time): then it becomes an update of that
incident, and the team hears again only when the severity rises. An incident nobody acknowledges within
the rule's `escalate_after` minutes is escalated once. An alert about a bucket that left the live horizon
before it was read (history imported or synced after its time) goes to a *past episode*: an incident
marked `past`, resolved from the start, grouped the same way, never notified nor escalated.
Every change is an `incident_event`: the incident's shared log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.accounts import audit
from pilote.errors import Invalid, NotFound, fill
from pilote.models import Alert, Incident, IncidentEvent
from pilote.radar import live, notify
from pilote.radar.explain import explain
from pilote.radar.rules import Rule
from pilote.radar.words import ALERT, ESCALATED, FAR_ABOVE, NOTIFIED, PAST, title
from pilote.texts import N_

GROUP_WINDOW = timedelta(hours=72)
RANK = {"low": 0, "medium": 1, "high": 2}


@dataclass(frozen=True, slots=True)
class Candidate:
    """A detector decision that the rule admits: about to become an alert."""

    workspace_id: int
    series: str
    at: datetime  # start of the five-minute bucket
    value: float
    expected: float
    score: float
    severity: str


def raise_alert(session: Session, candidate: Candidate, *, rule: Rule, now: datetime) -> Alert:
    """Record the alert, in a new incident or as an update of the open one, and queue the notifications;
    an alert about the past goes to a past episode, and nobody is told."""
    if not live.is_live(candidate.at, now):
        return _add_alert(session, _past_episode(session, candidate, now), candidate, now)
    incident = _current(session, candidate)
    reason = "update"
    if incident is None:
        incident = _open(session, candidate, now)
        reason = "opened"
    elif RANK[candidate.severity] <= RANK[incident.severity]:
        reason = ""
    alert = _add_alert(session, incident, candidate, now)
    if reason:
        queued = notify.enqueue(session, incident, reason=reason, rule=rule, now=now)
        if queued:
            _log(session, incident, now, "notified", None, fill(NOTIFIED, {"reason": reason, "count": queued}))
    session.flush()
    return alert


def _add_alert(session: Session, incident: Incident, candidate: Candidate, now: datetime) -> Alert:
    incident.severity = max(incident.severity, candidate.severity, key=RANK.__getitem__)
    incident.started_at = min(incident.started_at, candidate.at)
    incident.last_alert_at = max(incident.last_alert_at, candidate.at)
    incident.alerts += 1
    alert = Alert(
        incident_id=incident.id, workspace_id=candidate.workspace_id, series=candidate.series, at=candidate.at,
        value=candidate.value, expected=candidate.expected, score=candidate.score, severity=candidate.severity,
        explanation=json.dumps(explain(session, candidate), ensure_ascii=False), created_at=now,
    )  # fmt: skip
    session.add(alert)
    _log(session, incident, now, "alert", None, _summary(candidate))
    session.flush()
    return alert


def _current(session: Session, candidate: Candidate) -> Incident | None:
    query = (
        select(Incident)
        .where(Incident.workspace_id == candidate.workspace_id, Incident.status != "resolved")
        .where(Incident.last_alert_at >= candidate.at - GROUP_WINDOW)
        .order_by(Incident.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def _open(session: Session, candidate: Candidate, now: datetime) -> Incident:
    incident = Incident(
        workspace_id=candidate.workspace_id, status="open", severity=candidate.severity,
        title=title(candidate.series),
        started_at=candidate.at, last_alert_at=candidate.at, alerts=0, opened_at=now, past=False,
    )  # fmt: skip
    session.add(incident)
    session.flush()
    _log(session, incident, now, "opened", None, incident.title)
    return incident


def _past_episode(session: Session, candidate: Candidate, now: datetime) -> Incident:
    """The past episode this alert belongs to (within `GROUP_WINDOW` of its alerts), or a new one."""
    query = (
        select(Incident)
        .where(Incident.workspace_id == candidate.workspace_id, Incident.past.is_(True))
        .where(Incident.last_alert_at >= candidate.at - GROUP_WINDOW)
        .where(Incident.started_at <= candidate.at + GROUP_WINDOW)
        .order_by(Incident.id.desc())
        .limit(1)
    )
    found = session.scalar(query)
    if found is not None:
        return found
    episode = _open(session, candidate, now)
    episode.past, episode.status, episode.resolved_at = True, "resolved", now
    hours = int(live.HORIZON.total_seconds() // 3600)
    _log(session, episode, now, "past", None, fill(PAST, {"hours": hours}))
    return episode


def _summary(candidate: Candidate) -> str:
    ratio = candidate.value / candidate.expected if candidate.expected > 0 else float("inf")
    times = f"{ratio:.1f}×" if ratio != float("inf") else FAR_ABOVE
    values = {"value": f"{candidate.value:g}", "expected": f"{candidate.expected:.1f}", "times": times}
    return fill(ALERT, {"series": candidate.series, **values, "severity": candidate.severity})


def _log(session: Session, incident: Incident, now: datetime, kind: str, actor: str | None, detail: str) -> None:
    session.add(IncidentEvent(incident_id=incident.id, at=now, kind=kind, actor=actor, detail=detail))


def _audit(session: Session, incident: Incident, by: audit.Actor, action: str, before: Any, after: Any) -> None:
    audit.record(session, actor=by, action=action, target=f"incident {incident.id}", workspace_id=incident.workspace_id,
                 before=before, after=after)  # fmt: skip


def get(session: Session, *, incident_id: int, workspace_id: int | None = None) -> Incident:
    """The incident, or NotFound saying how to list them."""
    found = session.get(Incident, incident_id)
    if found is None or (workspace_id is not None and found.workspace_id != workspace_id):
        raise NotFound(N_("no incident %(incident_id)s: see `pilote incident list`"), incident_id=incident_id)
    return found


def get_all(
    session: Session, *, workspace_id: int, status: str | None = None, past: bool | None = None, limit: int = 50
) -> list[Incident]:
    """The workspace's incidents, newest first; `past` keeps only the past episodes (True) or the live ones."""
    query = select(Incident).where(Incident.workspace_id == workspace_id)
    if status is not None:
        query = query.where(Incident.status == status)
    if past is not None:
        query = query.where(Incident.past.is_(past))
    return list(session.scalars(query.order_by(Incident.id.desc()).limit(limit)))


def alerts(session: Session, *, incident_id: int) -> list[Alert]:
    """The incident's alerts, in the order they came."""
    return list(session.scalars(select(Alert).where(Alert.incident_id == incident_id).order_by(Alert.at, Alert.id)))


def events(session: Session, *, incident_id: int) -> list[IncidentEvent]:
    """The incident's log, oldest first."""
    query = select(IncidentEvent).where(IncidentEvent.incident_id == incident_id).order_by(IncidentEvent.id)
    return list(session.scalars(query))


def acknowledge(
    session: Session, *, incident_id: int, actor: str, now: datetime, workspace_id: int | None = None,
    by: audit.Actor = audit.CLI,
) -> Incident:  # fmt: skip
    """Someone is on it: stops the escalation."""
    incident = get(session, incident_id=incident_id, workspace_id=workspace_id)
    if incident.status != "open":
        raise Invalid(
            N_("incident %(incident_id)s is %(state)s: only an open incident can be acknowledged"),
            incident_id=incident_id,
            state=incident.status,
        )
    incident.status, incident.acknowledged_at, incident.acknowledged_by = "acknowledged", now, actor
    _log(session, incident, now, "acknowledged", actor, "")
    _audit(session, incident, by, "incident acknowledged", {"status": "open"}, {"status": incident.status})
    session.flush()
    return incident


def resolve(
    session: Session, *, incident_id: int, actor: str, now: datetime, note: str | None = None,
    workspace_id: int | None = None, rule: Rule | None = None, by: audit.Actor = audit.CLI,
) -> Incident:  # fmt: skip
    """The crisis is over; the next alert opens a new incident (or `reopen` this one)."""
    incident = get(session, incident_id=incident_id, workspace_id=workspace_id)
    if incident.status == "resolved":
        raise Invalid(
            N_("incident %(incident_id)s is already resolved: `pilote incident reopen %(incident_id)s`"),
            incident_id=incident_id,
        )
    _audit(
        session, incident, by, "incident resolved", {"status": incident.status}, {"status": "resolved", "note": note}
    )
    incident.status, incident.resolved_at, incident.resolved_by = "resolved", now, actor
    _log(session, incident, now, "resolved", actor, note or "")
    if rule is not None:
        notify.enqueue(session, incident, reason="resolved", rule=rule, now=now)
    session.flush()
    return incident


def reopen(
    session: Session, *, incident_id: int, actor: str, now: datetime, note: str | None = None,
    workspace_id: int | None = None, by: audit.Actor = audit.CLI,
) -> Incident:  # fmt: skip
    """It was not over: the incident is open again, and alerts attach to it again."""
    incident = get(session, incident_id=incident_id, workspace_id=workspace_id)
    if incident.past:
        raise Invalid(
            N_(
                "incident %(incident_id)s is a past episode (found in history read after its time): "
                "it cannot be reopened; add a note to its log instead"
            ),
            incident_id=incident_id,
        )
    if incident.status != "resolved":
        raise Invalid(
            N_("incident %(incident_id)s is %(state)s: only a resolved incident can be reopened"),
            incident_id=incident_id,
            state=incident.status,
        )
    incident.status, incident.resolved_at, incident.resolved_by = "open", None, None
    incident.acknowledged_at = incident.acknowledged_by = incident.escalated_at = None
    incident.opened_at = now
    _log(session, incident, now, "reopened", actor, note or "")
    _audit(session, incident, by, "incident reopened", {"status": "resolved"}, {"status": "open", "note": note})
    session.flush()
    return incident


def escalate_due(session: Session, *, workspace_id: int, rule: Rule, now: datetime) -> list[Incident]:
    """Escalate, once, the open incidents nobody acknowledged within the rule's delay."""
    if rule.escalate_after is None:
        return []
    deadline = now - timedelta(minutes=rule.escalate_after)
    query = select(Incident).where(
        Incident.workspace_id == workspace_id, Incident.status == "open", Incident.escalated_at.is_(None),
        Incident.opened_at <= deadline,
    )  # fmt: skip
    escalated = []
    for incident in session.scalars(query):  # a past episode is resolved from the start: never escalated
        incident.escalated_at = now
        minutes = rule.escalate_after
        _log(session, incident, now, "escalated", None, fill(ESCALATED, {"minutes": minutes}))
        notify.enqueue(session, incident, reason="escalation", rule=rule, now=now)
        escalated.append(incident)
    session.flush()
    return escalated


def as_json(session: Session, incident: Incident, *, detail: bool = False) -> dict[str, Any]:
    """The incident for scripts and the UI; with `detail`, its alerts (with explanations), log and deliveries."""
    data: dict[str, Any] = {
        "id": incident.id, "status": incident.status, "severity": incident.severity, "title": incident.title,
        "started_at": incident.started_at, "last_alert_at": incident.last_alert_at, "alerts": incident.alerts,
        "opened_at": incident.opened_at, "acknowledged_at": incident.acknowledged_at,
        "acknowledged_by": incident.acknowledged_by, "resolved_at": incident.resolved_at,
        "resolved_by": incident.resolved_by, "escalated_at": incident.escalated_at, "past": incident.past,
    }  # fmt: skip
    if detail:
        data["alert_list"] = [
            {"series": a.series, "at": a.at, "value": a.value, "expected": a.expected, "score": a.score,
             "severity": a.severity, "explanation": json.loads(a.explanation)}
            for a in alerts(session, incident_id=incident.id)
        ]  # fmt: skip
        data["log"] = [
            {"at": e.at, "kind": e.kind, "actor": e.actor, "detail": e.detail}
            for e in events(session, incident_id=incident.id)
        ]
        data["deliveries"] = notify.deliveries_json(session, incident_id=incident.id)
    return data


def add_note(
    session: Session, *, incident_id: int, actor: str, text: str, now: datetime, workspace_id: int,
    by: audit.Actor = audit.CLI,
) -> None:  # fmt: skip
    """Add a line to the incident's shared log (what was done, decided, said)."""
    incident = get(session, incident_id=incident_id, workspace_id=workspace_id)
    if not text.strip():
        raise Invalid(N_("note: write something"))
    _log(session, incident, now, "note", actor.strip()[:200] or None, text.strip()[:5000])
    _audit(session, incident, by, "incident note added", None, {"note": text.strip()[:5000]})
    session.flush()


def save_statement(
    session: Session, *, incident_id: int, actor: str, text: str, now: datetime, workspace_id: int,
    by: audit.Actor = audit.CLI,
) -> None:  # fmt: skip
    """Save a new version of the holding statement's draft (every version stays in the log)."""
    incident = get(session, incident_id=incident_id, workspace_id=workspace_id)
    before = statement(session, incident_id=incident_id)
    _audit(
        session, incident, by, "incident statement saved", {"statement": before}, {"statement": text.strip()[:10_000]}
    )
    _log(session, incident, now, "statement", actor.strip()[:200] or None, text.strip()[:10_000])
    session.flush()


def statement(session: Session, *, incident_id: int) -> str:
    """The latest draft of the holding statement ("" before the first)."""
    query = (
        select(IncidentEvent.detail)
        .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == "statement")
        .order_by(IncidentEvent.id.desc())
        .limit(1)
    )
    return session.scalar(query) or ""
