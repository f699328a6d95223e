"""Causal anomaly detectors over one time series: a learned daily and weekly baseline, O(1) per point.

The detector works on the Anscombe transform of the value (2·√(x + 3/8)), on which a count series has
a variance close to one whatever its level: a quiet, zero-heavy series and a busy one share one
threshold. Its baseline is a level, plus a daily profile (per hour of day) learned point by point,
plus a weekly profile (per day of week) learned once a day, all from residuals clipped so that an
anomaly barely moves what it is measured against. The residual over a learned scale (floored at the
Poisson noise) is a z-score. An alert is raised by one very high z-score or by a CUSUM of z-scores
(a sustained rise); then nothing for a quiet period, and each alert raises the bar for the next ones,
the bar coming back down over days. A detector also runs the rules of the sensitivities below its own
and alerts when one of them does (unless it alerted within its quiet period), so that turning the
sensitivity up never loses an alert. Every decision uses only the points before it. Reasoning and
figures: docs/radar.md."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

SENSITIVITIES = ("low", "medium", "high")
SEVERITIES = ("low", "medium", "high")
STATE_VERSION = 2
MIN_MEMORY = 12  # points: no memory, warm-up or profile slot is shorter than this
_DAY = 86_400.0
_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class Decision:
    """What the detector concluded about one point."""

    timestamp: datetime
    value: float
    expected: float  # the baseline for this point (daily/weekly rhythm included), in the series' units
    score: float  # 0..1 anomaly score
    alert: bool  # True when this point raises an alert at the detector's sensitivity
    severity: str | None  # "low" | "medium" | "high" when alert, else None


@dataclass(frozen=True)
class Params:
    """One parameter set; durations are in seconds so that the same set serves any step."""

    threshold: float  # z-score (residual over scale) of one point that raises an alert
    cusum: float  # sum of (z - drift) over a run of raised points that raises an alert
    drift: float = 1.0  # the CUSUM allowance: points below this z lower the sum
    level_halflife: float = _DAY  # memory of the level
    profile_halflife: float = 7 * _DAY  # memory of the daily and weekly profiles, per slot
    scale_halflife: float = 3 * _DAY  # memory of the residuals' scale
    clip: float = 5.0  # residuals beyond clip·scale count as clip·scale when learning
    warmup: float = _DAY  # no alert before the detector has seen this much time
    quiet: float = _DAY  # no new alert for this long after one
    raise_by: float = 1.5  # each alert multiplies the bar by this: a series that often alerts must shout louder
    bar_halflife: float = 8 * _DAY  # ...and the bar comes back down towards 1 with this half-life


def _at(factor: float) -> Params:
    """The one parameter set, with its two alert levels scaled: sensitivities differ by nothing else."""
    return Params(threshold=8.0 * factor, cusum=30.0 * factor)


PARAMS: dict[str, Params] = {"low": _at(1.25), "medium": _at(1.0), "high": _at(0.8)}
REFERENCE = PARAMS["medium"]  # scores are on one scale whatever the sensitivity


def _anscombe(value: float) -> float:
    return 2.0 * math.sqrt(max(value, 0.0) + 0.375)


def _inverse(transformed: float) -> float:
    return max((transformed / 2.0) ** 2 - 0.375, 0.0)


def _rate(halflife: float, step: float) -> float:
    """The smoothing weight that halves an old point's influence after `halflife` seconds of steps.

    Never faster than a dozen steps: on a daily series, three days of memory would be three points.
    """
    return float(1.0 - 0.5 ** (step / max(halflife, MIN_MEMORY * step)))


@dataclass(slots=True)
class Standing:
    """A point against the baseline: the transformed value, the baseline, the z-score, its time and its slots."""

    x: float
    baseline: float
    z: float
    now: float  # seconds since 1970, in the timestamps' own zone
    young: bool  # True while the baseline has seen too little to alert
    hour: int
    day: int


@dataclass
class _Rule:
    """What one sensitivity's alert rule remembers: its CUSUM, its bar, and when it last alerted."""

    cusum: float = 0.0
    bar: float = 1.0
    last_alert: float | None = None  # seconds since 1970, in the timestamps' own zone


@dataclass
class _State:
    """Everything the detector remembers: a fixed number of floats whatever the series' length."""

    sensitivity: str
    step_seconds: float
    seen: int = 0
    level: float = 0.0
    scale: float = 1.0
    daily: list[float] = field(default_factory=lambda: [0.0] * 24)
    weekly: list[float] = field(default_factory=lambda: [0.0] * 7)
    today: int | None = None  # day of week of the points being summed for the weekly profile
    day_sum: float = 0.0
    day_points: int = 0
    first: float | None = None  # seconds since 1970 (in the timestamps' own zone) of the first point
    rules: dict[str, _Rule] = field(default_factory=dict)  # one per sensitivity, from "low" up to the detector's


def _levels(sensitivity: str) -> tuple[str, ...]:
    """The sensitivities whose rules a detector runs: its own and every one below it, least sensitive first."""
    return SENSITIVITIES[: SENSITIVITIES.index(sensitivity) + 1]


class Detector:
    """A causal detector for one series: `update` each new point, in time order."""

    def __init__(self, sensitivity: str = "medium", step_seconds: float = 300.0) -> None:
        if sensitivity not in SENSITIVITIES:
            raise ValueError(f"sensitivity {sensitivity!r}: use one of {', '.join(SENSITIVITIES)}")
        if not step_seconds > 0:
            raise ValueError(f"step_seconds {step_seconds!r}: must be positive")
        self._s = _State(sensitivity, float(step_seconds), rules={level: _Rule() for level in _levels(sensitivity)})
        self._p = PARAMS[sensitivity]  # the baseline's memories, which no sensitivity changes

    @property
    def sensitivity(self) -> str:
        """The sensitivity this detector alerts at."""
        return self._s.sensitivity

    def update(self, timestamp: datetime, value: float) -> Decision:
        """Decide about this point from what came before, then learn from it (negative values count as 0)."""
        if not math.isfinite(value):
            raise ValueError(f"value {value!r} at {timestamp.isoformat()}: a series holds finite numbers only")
        s = self._s
        seen = self.expect(timestamp, value)
        # Each sensitivity's rule in turn, least sensitive first: a rule alerts on its own or with the one below.
        alert, cusum = False, 0.0
        for level, rule in s.rules.items():
            alert, summed = _hear(rule, PARAMS[level], seen, alert, s.step_seconds)
            cusum = max(cusum, summed)
        loudness = max(seen.z / REFERENCE.threshold, cusum / REFERENCE.cusum)  # one scale for every sensitivity
        self._learn(seen.x - seen.baseline, seen.hour, seen.day)
        return Decision(
            timestamp=timestamp,
            value=value,
            expected=_inverse(seen.baseline),
            score=_score(loudness),
            alert=alert,
            severity=_severity(loudness) if alert else None,
        )

    def expect(self, timestamp: datetime, value: float) -> Standing:
        """How this point stands against the baseline learned so far, without learning from it."""
        s, p = self._s, self._p
        x, now = _anscombe(value), _seconds(timestamp)
        if s.first is None:
            s.first, s.level = now, x
        hour, day = self._slots(timestamp)
        baseline = s.level + s.daily[hour] + s.weekly[day]
        young = now - s.first < max(p.warmup, MIN_MEMORY * s.step_seconds)
        return Standing(x, baseline, (x - baseline) / max(s.scale, 1.0), now, young, hour, day)

    def learn(self, seen: Standing) -> None:
        """Learn from the point `expect` judged: the baseline moves, the rules do not."""
        self._learn(seen.x - seen.baseline, seen.hour, seen.day)

    def _slots(self, timestamp: datetime) -> tuple[int, int]:
        return timestamp.hour if self._s.step_seconds < _DAY else 0, timestamp.weekday()

    def _learn(self, residual: float, hour: int, day: int) -> None:
        s, p, step = self._s, self._p, self._s.step_seconds
        bound = p.clip * max(s.scale, 1.0)
        clipped = min(max(residual, -bound), bound)
        s.level += _rate(p.level_halflife, step) * clipped
        # Each hour slot is visited 1/24 of the time and each day slot 1/7: their clocks run slower.
        # A young profile learns as a running mean, an older one as an exponential average.
        if step < _DAY:
            s.daily[hour] += max(_rate(p.profile_halflife, step * 24.0), 24.0 / (24.0 + s.seen)) * clipped
        if day != s.today:
            self._close_day()
            s.today = day
        s.day_sum, s.day_points = s.day_sum + clipped, s.day_points + 1
        s.scale += _rate(p.scale_halflife, step) * (abs(clipped) * 1.25 - s.scale)
        s.seen += 1

    def _close_day(self) -> None:
        """The weekly profile learns once a day, from the day's mean residual, not point by point."""
        s = self._s
        if s.today is None or not s.day_points:
            return
        weeks = s.seen * s.step_seconds / (7 * _DAY)
        rate = max(_rate(self._p.profile_halflife, 7 * _DAY), 1.0 / (1.0 + weeks))
        s.weekly[s.today] += rate * s.day_sum / s.day_points
        s.day_sum, s.day_points = 0.0, 0

    def state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot, to persist between ticks."""
        return {"version": STATE_VERSION, **asdict(self._s)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Detector:
        """The detector a `state()` snapshot describes, deciding exactly as the original would.

        A version 1 snapshot (one rule, kept in `cusum`, `bar` and `last_alert`) is read too, and a snapshot
        taken at another sensitivity: a rule it lacks starts as a copy of its most sensitive one.
        """
        version = state.get("version")
        if version not in (1, STATE_VERSION):
            raise ValueError(f"detector state version {version!r}: expected {STATE_VERSION}")
        fields = {key: value for key, value in state.items() if key not in ("version", "rules", *_RULE_FIELDS)}
        saved = state["rules"] if version == STATE_VERSION else {"old": {key: state[key] for key in _RULE_FIELDS}}
        if not saved:
            raise ValueError("detector state without rules: expected one per sensitivity")
        template = list(saved.values())[-1]
        rules = {level: _Rule(**saved.get(level, template)) for level in _levels(fields["sensitivity"])}
        detector = cls(fields["sensitivity"], fields["step_seconds"])
        detector._s = _State(**fields, rules=rules)
        return detector


_RULE_FIELDS = ("cusum", "bar", "last_alert")


def _hear(rule: _Rule, p: Params, seen: Standing, below: bool, step: float) -> tuple[bool, float]:
    """Whether this rule alerts (on its own, or because the rule below did), and its CUSUM before any reset.

    Nothing accumulates while the baseline is young or just after an alert: each episode starts afresh.
    """
    z, now = seen.z, seen.now
    listening = not seen.young and (rule.last_alert is None or now - rule.last_alert >= p.quiet)
    rule.cusum = max(0.0, rule.cusum + z - p.drift) if listening else 0.0
    summed = rule.cusum
    alert = listening and (below or max(z / p.threshold, rule.cusum / p.cusum) >= rule.bar)
    rule.bar = 1.0 + (rule.bar - 1.0) * (1.0 - _rate(p.bar_halflife, step))
    if alert:
        rule.last_alert, rule.cusum, rule.bar = now, 0.0, rule.bar * p.raise_by
    return alert, summed


def _seconds(timestamp: datetime) -> float:
    """Seconds since 1970 in the timestamp's own terms, exact for naive and aware times alike."""
    epoch = _EPOCH if timestamp.tzinfo is None else _EPOCH.replace(tzinfo=UTC)
    return (timestamp - epoch).total_seconds()


def _score(loudness: float) -> float:
    """0..1, rising with how loud the point is: 0.5 at the medium alert level, 0.75 at twice it."""
    return 0.0 if loudness <= 0 else 1.0 - 0.5**loudness


def _severity(strength: float) -> str:
    """How far past the medium alert level: low below 1.5 times, medium below 3 times, high beyond."""
    if strength >= 3.0:
        return "high"
    return "medium" if strength >= 1.5 else "low"
