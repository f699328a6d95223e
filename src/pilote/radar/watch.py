"""The radar's tick: what is new in each workspace feeds the series, the detectors, incidents and notifications.

`tick(engine, settings)` is a plain function: `pilote serve` runs it every few seconds (pilote.jobs),
`pilote watch` runs it on demand, tests call it with their own clock. Per workspace, one transaction reads
the messages written since the last tick (by id) and counts each in its five-minute bucket of the tail
(`radar.tail`): the buckets of the live horizon (`radar.live`), which the detectors have not learnt. The
detectors learn the buckets that leave the horizon, in time order; an alert found then is about the past
and makes a past episode. The tail's closed buckets are decided on copies of the detectors, and their
alerts are live. The cursor, the tail and the detectors' states are saved in the same transaction, so a
crash replays nothing twice and loses nothing.

A backlog of more than `CHUNK` messages (a first turn over a store with history) is caught up in several
transactions, so that none holds SQLite's write lock long: its messages in time order, a chunk each, the cursor
saving where the catch-up stands; the detectors learn up to the live horizon and the tail is decided after
the last chunk only, so that the outcome is the one pass's.

Waiting for writes to settle: a workspace being written (an import, the demo) is left alone until
nothing new arrived for `SETTLE`, or the oldest waiting message is older than `MAX_WAIT`, so that
sources written one after another are counted together. A message whose bucket the detectors already
learnt arrives *late*: it is counted in the cursor's `late`, and teaches the first-time-author register,
but not the detectors. A message dated more than `live.AHEAD` after now is not counted (`ahead`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from pilote.config import Settings
from pilote.db import session_factory
from pilote.models import Alert, RadarCursor, RadarPoint, Workspace, utcnow
from pilote.radar import incidents, live, notify, rules
from pilote.radar.incidents import Candidate
from pilote.radar.rules import Rule
from pilote.radar.series import STEP, Bucket, Pending, Seen, bucket_start, in_time_order, pending, read
from pilote.radar.tail import Tail
from pilote.radar.watchers import Watchers

SETTLE = timedelta(seconds=3)
MAX_WAIT = timedelta(minutes=2)
GRACE = timedelta(minutes=1)  # a bucket is first decided this long after its end, for messages on their way
MAX_GAP = timedelta(days=7)  # a longer silence restarts the series' clock instead of feeding every empty bucket
LIMIT = 500_000  # messages per workspace and tick
CHUNK = 5_000  # messages per transaction of a catch-up: about 0.4 s of SQLite's write lock on a 2-core machine


@dataclass(slots=True)
class TickReport:
    """What one tick did: `alerts` are live ones, `past_alerts` went to past episodes."""

    workspaces: int = 0
    messages: int = 0
    late: int = 0
    ahead: int = 0
    buckets: int = 0
    waiting: list[int] = field(default_factory=list)
    alerts: list[int] = field(default_factory=list)
    past_alerts: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    delivered: int = 0


def tick(engine: Any, settings: Settings, *, now: datetime | None = None, settle: timedelta = SETTLE,
         chunk: int = CHUNK) -> TickReport:  # fmt: skip
    """One pass of the radar over every workspace, then the notifications that are due.

    `settle` is how long a workspace must have been free of new writes; 0 processes whatever is there. A backlog
    of more than `chunk` messages is caught up a chunk per transaction, so that no transaction holds SQLite's
    write lock long (a sign-in, an import wait at most one chunk).
    """
    now = now or utcnow()
    factory = session_factory(engine)
    report = TickReport()
    with factory() as session:
        workspace_ids = list(session.scalars(select(Workspace.id).order_by(Workspace.id)))
    for workspace_id in workspace_ids:
        more = True
        while more:
            with factory() as session, session.begin():
                more = watch(session, workspace_id=workspace_id, now=now, report=report, settle=settle, chunk=chunk)
                if not more:
                    rule = rules.get(session, workspace_id=workspace_id)
                    found = incidents.escalate_due(session, workspace_id=workspace_id, rule=rule, now=now)
                    report.escalated.extend(incident.id for incident in found)
        report.workspaces += 1
    report.delivered = notify.deliver_due(factory, settings, now=now)
    return report


def watch(session: Session, *, workspace_id: int, now: datetime, report: TickReport, settle: timedelta,
          chunk: int = CHUNK) -> bool:  # fmt: skip
    """Process what is new in one workspace (in the caller's transaction): all of it, or, when more than `chunk`
    messages wait, the next `chunk` of them in time order (a catch-up). Whether a chunk remains."""
    rule = rules.get(session, workspace_id=workspace_id)
    cursor = session.get(RadarCursor, workspace_id) or _new_cursor(session, workspace_id)
    conn = session.connection()
    if cursor.catch_up_until is None:
        waiting = pending(conn, workspace_id, cursor.last_message_id, LIMIT)
        if _still_writing(waiting, now, settle):
            report.waiting.append(workspace_id)
            return False
        if len(waiting.ids) <= chunk:
            _process(session, cursor, rule, waiting.ids, now=now, report=report, final=True)
            cursor.last_message_id = max(waiting.ids, default=cursor.last_message_id)
            return False
        cursor.catch_up_until = max(waiting.ids)
    after = (
        None if cursor.catch_up_at is None or cursor.catch_up_id is None else (cursor.catch_up_at, cursor.catch_up_id)
    )
    found = in_time_order(conn, workspace_id, (cursor.last_message_id, cursor.catch_up_until), after, chunk)
    final = len(found) < chunk
    _process(session, cursor, rule, [ident for ident, _ in found], now=now, report=report, final=final)
    if final:
        cursor.last_message_id = cursor.catch_up_until
        cursor.catch_up_until = cursor.catch_up_at = cursor.catch_up_id = None
    else:
        cursor.catch_up_id, cursor.catch_up_at = found[-1]
    return not final


def _process(session: Session, cursor: RadarCursor, rule: Rule, ids: list[int], *, now: datetime,
             report: TickReport, final: bool) -> None:  # fmt: skip
    """Count these messages (oldest first) and save the tail, the detectors and the points; the detectors learn
    up to the live horizon and the tail is decided only after the last chunk (the next one may fill its buckets)."""
    run = _Run(session, cursor.workspace_id, rule, now, report, Tail.load(cursor.bucket))
    messages = read(session.connection(), ids, rule.spam_threshold)
    late = sum(1 for message in messages if not run.feed(message))
    if final:
        run.learn_until(live.first_live(now))
        run.decide_tail(bucket_start(now - GRACE))
    run.save()
    cursor.bucket = run.tail.dump() if run.tail.first() is not None else None
    cursor.bucket_at = run.tail.first()
    cursor.late += late
    cursor.updated_at = now
    report.messages += len(messages)
    report.late += late


def _still_writing(waiting: Pending, now: datetime, settle: timedelta) -> bool:
    """Whether messages are still arriving (wait for them), unless the oldest has waited too long."""
    if settle <= timedelta(0) or waiting.newest_write is None or waiting.oldest_write is None:
        return False
    return waiting.newest_write > now - settle and waiting.oldest_write > now - MAX_WAIT


def _new_cursor(session: Session, workspace_id: int) -> RadarCursor:
    cursor = RadarCursor(workspace_id=workspace_id, last_message_id=0, late=0)
    session.add(cursor)
    return cursor


class _Run:
    """One workspace's tick: the tail, the detectors, the points to write, the alerts already raised."""

    def __init__(self, session: Session, workspace_id: int, rule: Rule, now: datetime, report: TickReport,
                 tail: Tail) -> None:  # fmt: skip
        self.session, self.workspace_id, self.rule, self.now, self.report = session, workspace_id, rule, now, report
        self.tail = tail
        self.watchers = Watchers(session, workspace_id, rule.sensitivity)
        self.since = tail.first()  # the tail's points and alerts before this tick start here
        self.points: list[dict[str, Any]] = []  # buckets the detectors learnt: final
        self.drafts: list[dict[str, Any]] = []  # the tail's closed buckets: decided again at the next change
        self.decided = False
        self.raised: set[tuple[str, datetime]] | None = None

    def feed(self, message: Seen) -> bool:
        """Count a message in the tail, the detectors learning the buckets before it that left the horizon;
        False when it comes too late (the detectors learnt its bucket)."""
        if live.is_ahead(message.created_at, self.now):
            self.report.ahead += 1
            return True
        self.learn_until(min(bucket_start(message.created_at), live.first_live(self.now)))
        return self.tail.place(message)

    def learn_until(self, limit: datetime) -> None:
        """The detectors learn, in order, every bucket of the tail that starts before `limit`."""
        while (start := self.tail.first()) is not None and start < limit:
            filled = self.tail.next_filled()
            following = limit if filled is None else min(filled, limit)
            if start not in self.tail.buckets and following - start > MAX_GAP:
                self.tail.skip_to(following)  # a long silence: the series resume at the next message
                continue
            self._close(self.tail.take(start), self.watchers, self.points)

    def decide_tail(self, until: datetime) -> None:
        """Decide the tail's buckets that ended before `until` on copies of the detectors, if anything changed."""
        start = self.tail.first()
        if start is None or self.tail.decided == until:
            return
        copies = self.watchers.copy()
        while start < until:
            self._close(self.tail.buckets.get(start) or Bucket(start), copies, self.drafts)
            start += STEP
        self.tail.decided, self.decided = until, True

    def _close(self, bucket: Bucket, watchers: Watchers, sink: list[dict[str, Any]]) -> None:
        values = bucket.values()
        for name in watchers.watched(values):
            value = values.get(name, 0.0)
            decision = watchers.decide(name, bucket.start, value)
            if value or decision.alert:
                point = {"series": name, "at": bucket.start, "value": value, "expected": decision.expected}
                sink.append({"workspace_id": self.workspace_id, "score": decision.score, **point})
            if decision.alert and decision.severity and self.rule.admits(name, value, bucket.messages):
                candidate = Candidate(self.workspace_id, name, bucket.start, value, decision.expected,
                                      decision.score, decision.severity)  # fmt: skip
                self._alert(candidate)
        self.report.buckets += 1

    def _alert(self, candidate: Candidate) -> None:
        """Raise the alert, unless the tail's decisions of an earlier tick already did."""
        if (candidate.series, candidate.at) in self._raised():
            return
        alert = incidents.raise_alert(self.session, candidate, rule=self.rule, now=self.now)
        self._raised().add((candidate.series, candidate.at))
        found = self.report.alerts if live.is_live(candidate.at, self.now) else self.report.past_alerts
        found.append(alert.id)

    def _raised(self) -> set[tuple[str, datetime]]:
        if self.raised is None:
            self.raised = set()
            if self.since is not None:
                query = select(Alert.series, Alert.at).where(Alert.workspace_id == self.workspace_id,
                                                             Alert.at >= self.since)  # fmt: skip
                self.raised = {(series, at) for series, at in self.session.execute(query)}
        return self.raised

    def save(self) -> None:
        """Write the points (the tail's in place of what they were) and the detectors' states."""
        if self.since is not None and (self.decided or self.points):
            stale = delete(RadarPoint).where(RadarPoint.workspace_id == self.workspace_id, RadarPoint.at >= self.since)
            if not self.decided and self.tail.learnt is not None:
                stale = stale.where(RadarPoint.at < self.tail.learnt)
            self.session.execute(stale)
        rows = self.points + (self.drafts if self.decided else [])
        if rows:
            self.session.execute(insert(RadarPoint), rows)
        self.watchers.save(self.now)
