"""The radar's tick: what is new in each workspace feeds the series, the detectors, incidents and notifications.

`tick(engine, settings)` is a plain function: `pilote serve` runs it every few seconds (pilote.jobs),
`pilote watch` runs it on demand, tests call it with their own clock. Per workspace, one transaction reads
the messages written since the last tick (by id), adds them to their five-minute bucket in time order,
closes the buckets that are over (feeding each series' detector), raises alerts, and saves the cursor
and the detectors' states, so a crash replays nothing twice and loses nothing.

Waiting for writes to settle: a workspace being written (an import, the demo) is left alone until
nothing new arrived for `SETTLE`, or the oldest waiting message is older than `MAX_WAIT`, so that
sources written one after another are counted together. A message whose bucket was already closed
arrives *late*: it is counted in the cursor's `late`, and teaches the first-time-author register, but
not the detectors (history imported after its time does not raise alerts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from pilote.config import Settings
from pilote.db import session_factory
from pilote.models import RadarCursor, RadarPoint, RadarSeries, Workspace, utcnow
from pilote.radar import incidents, notify, rules
from pilote.radar.detectors import Detector
from pilote.radar.incidents import Candidate
from pilote.radar.rules import Rule
from pilote.radar.series import BASE_SERIES, KEYPHRASE, STEP, Bucket, Pending, Seen, bucket_start, pending, read

SETTLE = timedelta(seconds=3)
MAX_WAIT = timedelta(minutes=2)
GRACE = timedelta(minutes=1)  # a bucket closes this long after its end, for messages still on their way
MAX_GAP = timedelta(days=7)  # a longer silence restarts the series' clock instead of feeding every empty bucket
FILL = 288  # at most one day of zeros fed to a keyphrase series that comes back
# A keyphrase gets a series once it is in this many messages of one bucket: a phrase said now and then
# cannot make a burst, and a watched phrase costs an update per bucket (zeros fed when it comes back), like
# the base series: watching every phrase of the demo's 90 days took 139 s instead of 15.
KEYPHRASE_MIN = 3
LIMIT = 500_000  # messages per workspace and tick


@dataclass(slots=True)
class TickReport:
    """What one tick did."""

    workspaces: int = 0
    messages: int = 0
    late: int = 0
    buckets: int = 0
    waiting: list[int] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    delivered: int = 0


def tick(engine: Any, settings: Settings, *, now: datetime | None = None, settle: timedelta = SETTLE) -> TickReport:
    """One pass of the radar over every workspace, then the notifications that are due.

    `settle` is how long a workspace must have been free of new writes; 0 processes whatever is there.
    """
    now = now or utcnow()
    factory = session_factory(engine)
    report = TickReport()
    with factory() as session:
        workspace_ids = list(session.scalars(select(Workspace.id).order_by(Workspace.id)))
    for workspace_id in workspace_ids:
        with factory() as session, session.begin():
            watch(session, workspace_id=workspace_id, now=now, report=report, settle=settle)
            rule = rules.get(session, workspace_id=workspace_id)
            found = incidents.escalate_due(session, workspace_id=workspace_id, rule=rule, now=now)
            report.escalated.extend(incident.id for incident in found)
        report.workspaces += 1
    report.delivered = notify.deliver_due(factory, settings, now=now)
    return report


def watch(session: Session, *, workspace_id: int, now: datetime, report: TickReport, settle: timedelta) -> None:
    """Process what is new in one workspace (in the caller's transaction)."""
    rule = rules.get(session, workspace_id=workspace_id)
    cursor = session.get(RadarCursor, workspace_id) or _new_cursor(session, workspace_id)
    conn = session.connection()
    waiting = pending(conn, workspace_id, cursor.last_message_id, LIMIT)
    if _still_writing(waiting, now, settle):
        report.waiting.append(workspace_id)
        return
    run = _Run(session, workspace_id, rule, now, report)
    run.bucket = Bucket.load(cursor.bucket) if cursor.bucket else None
    messages = read(conn, waiting.ids, rule.spam_threshold)
    late = sum(1 for message in messages if not run.feed(message))
    run.close_until(now - GRACE)
    run.save()
    cursor.last_message_id = max(waiting.ids, default=cursor.last_message_id)
    cursor.bucket = run.bucket.dump() if run.bucket else None
    cursor.bucket_at = run.bucket.start if run.bucket else None
    cursor.late += late
    cursor.updated_at = now
    report.messages += len(messages)
    report.late += late


def _still_writing(waiting: Pending, now: datetime, settle: timedelta) -> bool:
    """Whether messages are still arriving (wait for them), unless the oldest has waited too long."""
    if waiting.newest_write is None or waiting.oldest_write is None:
        return False
    return waiting.newest_write > now - settle and waiting.oldest_write > now - MAX_WAIT


def _new_cursor(session: Session, workspace_id: int) -> RadarCursor:
    cursor = RadarCursor(workspace_id=workspace_id, last_message_id=0, late=0)
    session.add(cursor)
    return cursor


class _Run:
    """One workspace's tick: the open bucket, the detectors it touched, the points to write."""

    def __init__(self, session: Session, workspace_id: int, rule: Rule, now: datetime, report: TickReport) -> None:
        self.session, self.workspace_id, self.rule, self.now, self.report = session, workspace_id, rule, now, report
        self.bucket: Bucket | None = None
        self.detectors: dict[str, tuple[Detector, datetime | None]] = {}
        self.points: list[dict[str, Any]] = []
        known = select(RadarSeries.name).where(
            RadarSeries.workspace_id == workspace_id, RadarSeries.name.startswith(KEYPHRASE)
        )
        self.phrases: set[str] = set(session.scalars(known))  # keyphrase series already watched

    def feed(self, message: Seen) -> bool:
        """Add a message to its bucket, closing those before it; False when it comes too late."""
        start = bucket_start(message.created_at)
        if self.bucket is None:
            self.bucket = Bucket(start)
        if start < self.bucket.start:
            return False
        if start - self.bucket.start > MAX_GAP:
            self._close(self.bucket)
            self.bucket = Bucket(start)
        while self.bucket.start < start:
            self._close(self.bucket)
            self.bucket = Bucket(self.bucket.end)
        self.bucket.add(message)
        return True

    def close_until(self, moment: datetime) -> None:
        """Close every bucket that ended before `moment` (the clock moves on even when nothing is written)."""
        if self.bucket is None:
            return
        if moment - self.bucket.end > MAX_GAP:
            self._close(self.bucket)
            self.bucket = Bucket(bucket_start(moment) - STEP)
        while self.bucket.end <= moment:
            self._close(self.bucket)
            self.bucket = Bucket(self.bucket.end)

    def _close(self, bucket: Bucket) -> None:
        values = bucket.values()
        for name, value in values.items():
            if name.startswith(KEYPHRASE) and value >= KEYPHRASE_MIN:
                self.phrases.add(name)
        names = list(BASE_SERIES) + sorted(name for name in values if name in self.phrases)
        for name in names:
            value = values.get(name, 0.0)
            decision = self._decide(name, bucket.start, value)
            if value or decision.alert:
                point = {"series": name, "at": bucket.start, "value": value, "expected": decision.expected}
                self.points.append({"workspace_id": self.workspace_id, "score": decision.score, **point})
            if decision.alert and decision.severity and self.rule.admits(name, value, bucket.messages):
                candidate = Candidate(self.workspace_id, name, bucket.start, value, decision.expected,
                                      decision.score, decision.severity)  # fmt: skip
                self._alert(candidate)
        self.report.buckets += 1

    def _alert(self, candidate: Candidate) -> None:
        alert = incidents.raise_alert(self.session, candidate, rule=self.rule, now=self.now)
        self.report.alerts.append(alert.id)

    def _decide(self, name: str, at: datetime, value: float) -> Any:
        detector, last = self._detector(name)
        if last is not None and name.startswith(KEYPHRASE):
            missed = min(int((at - last) / STEP) - 1, FILL)
            for step in range(missed, 0, -1):
                detector.update(at - step * STEP, 0.0)
        self.detectors[name] = (detector, at)
        return detector.update(at, value)

    def _detector(self, name: str) -> tuple[Detector, datetime | None]:
        if name not in self.detectors:
            row = self.session.get(RadarSeries, (self.workspace_id, name))
            if row is None:
                self.detectors[name] = (Detector(self.rule.sensitivity, STEP.total_seconds()), None)
            else:
                self.detectors[name] = self._restore(row.state)
        return self.detectors[name]

    def _restore(self, text: str) -> tuple[Detector, datetime | None]:
        """The saved detector; a fresh one if its format is from another version of the detector."""
        saved = json.loads(text)
        last = datetime.fromisoformat(saved["last"]) if saved.get("last") else None
        try:
            return Detector.from_state({**saved["detector"], "sensitivity": self.rule.sensitivity}), last
        except (ValueError, TypeError, KeyError):
            return Detector(self.rule.sensitivity, STEP.total_seconds()), last

    def save(self) -> None:
        """Write the points and the detectors' states."""
        if self.points:
            self.session.execute(insert(RadarPoint), self.points)
        for name, (detector, last) in self.detectors.items():
            state = json.dumps({"detector": detector.state(), "last": last.isoformat() if last else None})
            row = self.session.get(RadarSeries, (self.workspace_id, name))
            if row is None:
                self.session.add(
                    RadarSeries(workspace_id=self.workspace_id, name=name, state=state, updated_at=self.now)
                )
            else:
                row.state, row.updated_at = state, self.now
