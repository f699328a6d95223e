"""The tail: the buckets the detectors have not learnt yet, which late messages may still join.

The detectors learn a bucket once, in time order, when it leaves the live horizon (`radar.live`).
Until then it stays in the tail, kept between ticks in the radar's cursor (counters only), and each
tick decides the tail's closed buckets again on copies of the detectors: a message a sync brings
twenty minutes after it was written joins its own bucket, and the decisions after it are taken again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pilote.radar.series import STEP, Bucket, Seen, bucket_start


@dataclass(slots=True)
class Tail:
    """The buckets not learnt yet (the empty ones are not kept), and how far they were decided."""

    learnt: datetime | None = None  # end of the last bucket the detectors learnt (None: none yet)
    buckets: dict[datetime, Bucket] = field(default_factory=dict)
    decided: datetime | None = None  # the buckets before this were decided with every message they hold

    def first(self) -> datetime | None:
        """The first bucket the detectors have to learn (None while there is nothing to learn)."""
        if self.learnt is not None:
            return self.learnt
        return min(self.buckets, default=None)

    def place(self, message: Seen) -> bool:
        """Count a message in its bucket; False when the detectors already learnt that bucket (late)."""
        start = bucket_start(message.created_at)
        if self.learnt is not None and start < self.learnt:
            return False
        self.buckets.setdefault(start, Bucket(start)).add(message)
        if self.decided is not None and start < self.decided:
            self.decided = None  # a bucket already decided changed: decide again
        return True

    def take(self, start: datetime) -> Bucket:
        """Remove the bucket starting at `start` (empty if none) once the detectors learn it."""
        self.learnt = start + STEP
        return self.buckets.pop(start, None) or Bucket(start)

    def skip_to(self, start: datetime) -> None:
        """Resume at `start` after a long silence, without learning the empty buckets in between."""
        self.learnt = start

    def next_filled(self) -> datetime | None:
        """The first bucket holding messages."""
        return min(self.buckets, default=None)

    def dump(self) -> str:
        """JSON, kept in the cursor between ticks."""
        data: dict[str, Any] = {
            "learnt": self.learnt.isoformat() if self.learnt else None,
            "decided": self.decided.isoformat() if self.decided else None,
            "buckets": [json.loads(bucket.dump()) for _, bucket in sorted(self.buckets.items())],
        }
        return json.dumps(data)

    @classmethod
    def load(cls, text: str | None) -> Tail:
        """The tail `dump` wrote; the single open bucket older versions kept becomes a tail starting there."""
        if not text:
            return cls()
        data = json.loads(text)
        if "buckets" not in data:
            bucket = Bucket.load(text)
            return cls(learnt=bucket.start, buckets={bucket.start: bucket})
        buckets = [Bucket.load(json.dumps(entry)) for entry in data["buckets"]]
        return cls(
            learnt=_moment(data.get("learnt")),
            buckets={bucket.start: bucket for bucket in buckets},
            decided=_moment(data.get("decided")),
        )


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
