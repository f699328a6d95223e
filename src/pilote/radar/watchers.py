"""One workspace's detectors, one per series: loaded when first needed, copied to decide the tail, saved.

The base series are fed every bucket. A keyphrase gets a series once it is in `KEYPHRASE_MIN` messages
of one bucket (a phrase said now and then cannot make a burst, and each watched phrase costs an update
per bucket: watching every phrase of the demo's 90 days took 139 s instead of 15); a watched phrase
that comes back is fed the buckets it missed as zeros, at most `FILL` of them.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.models import RadarSeries
from pilote.radar.detectors import Decision, Detector
from pilote.radar.series import BASE_SERIES, KEYPHRASE, STEP

KEYPHRASE_MIN = 3
FILL = 288  # at most one day of zeros fed to a keyphrase series that comes back

Memory = tuple[Detector, datetime | None]  # a detector and the start of the last bucket it was fed


class Watchers:
    """The detectors of a workspace's series, as they stand after the buckets fed so far."""

    def __init__(self, session: Session, workspace_id: int, sensitivity: str) -> None:
        self.session, self.workspace_id, self.sensitivity = session, workspace_id, sensitivity
        self.memories: dict[str, Memory] = {}
        self.origin: Watchers | None = None  # for a copy: the detectors it copies when first asked
        known = select(RadarSeries.name).where(
            RadarSeries.workspace_id == workspace_id, RadarSeries.name.startswith(KEYPHRASE)
        )
        self.phrases: set[str] = set(session.scalars(known))  # keyphrase series already watched

    def copy(self) -> Watchers:
        """Detectors that decide from the same memories, without changing these ones."""
        twin = Watchers.__new__(Watchers)
        twin.session, twin.workspace_id, twin.sensitivity = self.session, self.workspace_id, self.sensitivity
        twin.memories, twin.origin, twin.phrases = {}, self, set(self.phrases)
        return twin

    def watched(self, values: dict[str, float]) -> list[str]:
        """The series fed for a bucket with these values: the base ones, and the phrases watched."""
        for name, value in values.items():
            if name.startswith(KEYPHRASE) and value >= KEYPHRASE_MIN:
                self.phrases.add(name)
        return list(BASE_SERIES) + sorted(name for name in values if name in self.phrases)

    def decide(self, name: str, at: datetime, value: float) -> Decision:
        """The series' detector decides about the bucket starting at `at`, then learns from it."""
        detector, last = self._memory(name)
        if last is not None and name.startswith(KEYPHRASE):
            missed = min(int((at - last) / STEP) - 1, FILL)
            for step in range(missed, 0, -1):
                detector.update(at - step * STEP, 0.0)
        self.memories[name] = (detector, at)
        return detector.update(at, value)

    def _memory(self, name: str) -> Memory:
        if name not in self.memories:
            if self.origin is not None:
                detector, last = self.origin._memory(name)
                self.memories[name] = (Detector.from_state(detector.state()), last)
            else:
                row = self.session.get(RadarSeries, (self.workspace_id, name))
                self.memories[name] = self._fresh() if row is None else self._restore(row.state)
        return self.memories[name]

    def _fresh(self) -> Memory:
        return Detector(self.sensitivity, STEP.total_seconds()), None

    def _restore(self, text: str) -> Memory:
        """The saved detector; a fresh one if its format is from another version of the detector."""
        saved = json.loads(text)
        last = datetime.fromisoformat(saved["last"]) if saved.get("last") else None
        try:
            return Detector.from_state({**saved["detector"], "sensitivity": self.sensitivity}), last
        except (ValueError, TypeError, KeyError):
            return self._fresh()[0], last

    def save(self, now: datetime) -> None:
        """Write the detectors' states (a copy is never saved: its decisions are provisional)."""
        if self.origin is not None:
            raise ValueError("a copy of the detectors is not saved")
        for name, (detector, last) in self.memories.items():
            state = json.dumps({"detector": detector.state(), "last": last.isoformat() if last else None})
            row = self.session.get(RadarSeries, (self.workspace_id, name))
            if row is None:
                self.session.add(RadarSeries(workspace_id=self.workspace_id, name=name, state=state, updated_at=now))
            else:
                row.state, row.updated_at = state, now
