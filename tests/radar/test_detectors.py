"""The detector on synthetic series: quiet on rhythm, fast on spikes, calm on sparse data, resumable."""

from __future__ import annotations

import itertools
import json
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from pilote.radar.detectors import SENSITIVITIES, Decision, Detector

STEP = timedelta(minutes=5)
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday


def rhythm(i: int) -> float:
    """A daily and weekly rhythm of mention volume: quiet nights, an evening peak, busier weekends."""
    when = START + i * STEP
    hour = when.hour + when.minute / 60.0
    daily = 1.0 + 0.8 * math.sin((hour - 13.0) / 24.0 * 2.0 * math.pi)
    weekly = 1.25 if when.weekday() >= 5 else 1.0
    return 20.0 * daily * weekly


def poisson(rng: random.Random, mean: float) -> float:
    """A Poisson draw (Knuth's method for small means, a rounded normal for large ones)."""
    if mean > 50:
        return float(max(0, round(rng.gauss(mean, math.sqrt(mean)))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k, product = k + 1, product * rng.random()
    return float(k)


def run(detector: Detector, values: list[float], start: int = 0) -> list[Decision]:
    return [detector.update(START + (start + i) * STEP, value) for i, value in enumerate(values)]


def counts(days: int, seed: int = 7, mean: float | None = None) -> list[float]:
    rng = random.Random(seed)
    return [poisson(rng, mean if mean is not None else rhythm(i)) for i in range(days * 288)]


@pytest.mark.parametrize("sensitivity", SENSITIVITIES)
def test_a_daily_and_weekly_rhythm_without_anomaly_raises_no_alert(sensitivity: str) -> None:
    decisions = run(Detector(sensitivity), counts(days=28))
    assert [d.timestamp for d in decisions if d.alert] == []


def test_the_baseline_learns_the_rhythm_of_the_day() -> None:
    decisions = run(Detector(), counts(days=21))
    last_week = decisions[-7 * 288 :]
    evening = [d.expected for d in last_week if d.timestamp.hour == 19]
    night = [d.expected for d in last_week if d.timestamp.hour == 7]
    # The rhythm peaks near 19:00 (about 36 a bucket) and bottoms near 07:00 (about 4).
    assert sum(evening) / len(evening) > 3 * sum(night) / len(night)


def test_a_spike_raises_an_alert_within_a_few_points_with_a_severity() -> None:
    values = counts(days=14)
    onset = 10 * 288 + 150
    for i in range(onset, onset + 24):
        values[i] += 8 * rhythm(i)
    decisions = run(Detector(), values)
    alerts = [i for i, d in enumerate(decisions) if d.alert]
    assert alerts
    assert onset <= alerts[0] <= onset + 3
    first = decisions[alerts[0]]
    assert first.severity in {"low", "medium", "high"}
    assert 0.5 <= first.score <= 1.0
    assert first.expected < first.value / 3
    assert all(d.severity is None for d in decisions if not d.alert)


def test_a_sustained_rise_is_caught_even_when_no_single_point_is_extreme() -> None:
    values = counts(days=14)
    onset = 10 * 288 + 100
    for i in range(onset, onset + 72):
        values[i] = poisson(random.Random(i), 2.0 * rhythm(i))
    decisions = run(Detector(), values)
    alerts = [i for i, d in enumerate(decisions) if d.alert]
    assert alerts
    assert onset <= alerts[0] <= onset + 72
    assert max(decisions[i].score for i in range(onset, onset + 72)) < 1.0


def test_only_one_alert_for_one_episode() -> None:
    values = counts(days=14)
    onset = 10 * 288
    for i in range(onset, onset + 120):
        values[i] += 6 * rhythm(i)
    alerts = [d for d in run(Detector(), values) if d.alert]
    assert len(alerts) == 1


def test_a_zero_heavy_sparse_series_does_not_flood() -> None:
    rng = random.Random(3)
    # About one message every three hours, at random: mostly zeros, ones now and then, a rare two.
    values = [poisson(rng, 1 / 36) for _ in range(60 * 288)]
    assert values.count(0.0) > 0.95 * len(values)
    alerts = [d for d in run(Detector(), values) if d.alert]
    assert len(alerts) <= 1


def test_a_burst_in_a_sparse_series_is_still_found() -> None:
    rng = random.Random(5)
    values = [poisson(rng, 1 / 36) for _ in range(30 * 288)]
    onset = 20 * 288 + 200
    for i in range(onset, onset + 12):
        values[i] = 12.0
    alerts = [i for i, d in enumerate(run(Detector(), values)) if d.alert]
    assert alerts
    assert onset <= alerts[0] <= onset + 6
    assert len(alerts) == 1


def test_lower_sensitivity_never_alerts_more_than_higher() -> None:
    values = counts(days=21, seed=11)
    for onset, size in ((8 * 288, 2.0), (13 * 288, 4.0), (18 * 288, 9.0)):
        for i in range(onset, onset + 36):
            values[i] += size * rhythm(i)
    found = {level: sum(d.alert for d in run(Detector(level), values)) for level in SENSITIVITIES}
    assert 1 <= found["low"] <= found["medium"] <= found["high"]


def test_a_higher_sensitivity_raises_every_alert_a_lower_one_raises_or_one_in_the_day_before() -> None:
    values = counts(days=35, seed=4)
    rng = random.Random(4)
    for day in range(3, 34, 2):  # a burst every other day, of random size and length: bars rise and fall
        onset, length, size = day * 288 + rng.randrange(288), rng.randrange(1, 40), rng.uniform(0.3, 4.0)
        for i in range(onset, onset + length):
            values[i] += size * rhythm(i)
    alerts = {level: [i for i, d in enumerate(run(Detector(level), values)) if d.alert] for level in SENSITIVITIES}
    for lower, higher in itertools.pairwise(SENSITIVITIES):
        assert alerts[lower]
        for i in alerts[lower]:
            assert any(i - 288 < j <= i for j in alerts[higher]), (lower, i)


def test_an_alert_that_raised_the_high_bar_does_not_hide_what_medium_finds_the_next_day() -> None:
    values = counts(days=16)
    first, second = 12 * 288 + 228, 13 * 288 + 240  # 19:00 on day 12, 20:00 on day 13
    values[first] = round(2.4 * rhythm(first))  # loud enough for high only: its bar rises by half
    values[second] = round(2.8 * rhythm(second))  # louder, past medium's level but not high's raised bar
    assert [i for i, d in enumerate(run(Detector("medium"), values)) if d.alert] == [second]
    assert [i for i, d in enumerate(run(Detector("high"), values)) if d.alert] == [first, second]


def test_decisions_are_causal_a_later_point_changes_nothing_before_it() -> None:
    values = counts(days=12)
    changed = [*values[:-100], *(v * 50 for v in values[-100:])]
    first, second = run(Detector(), values), run(Detector(), changed)
    assert first[:-100] == second[:-100]


def test_a_state_round_trip_through_json_gives_identical_decisions() -> None:
    values = counts(days=16)
    for i in range(11 * 288, 11 * 288 + 30):
        values[i] += 5 * rhythm(i)
    straight = run(Detector("high"), values)
    cut = 9 * 288 + 17
    detector = Detector("high")
    before = run(detector, values[:cut])
    restored = Detector.from_state(json.loads(json.dumps(detector.state())))
    after = run(restored, values[cut:], start=cut)
    assert before + after == straight
    assert any(d.alert for d in after)


def test_a_state_saved_before_the_rules_of_lower_sensitivities_is_still_read() -> None:
    values = counts(days=16)
    values[11 * 288 + 200] *= 4
    cut = 9 * 288 + 17
    for sensitivity in SENSITIVITIES:
        detector = Detector(sensitivity)
        run(detector, values[:cut])
        state = json.loads(json.dumps(detector.state()))
        own = state.pop("rules")[sensitivity]
        restored = Detector.from_state({**state, **own, "version": 1})  # the format before version 2
        after = run(restored, values[cut:], start=cut)
        assert after == run(detector, values[cut:], start=cut)
        assert any(d.alert for d in after)


def test_a_state_saved_at_one_sensitivity_can_be_restored_at_another() -> None:
    values = counts(days=12)
    for saved_at, restored_at in (("medium", "high"), ("high", "low")):
        detector = Detector(saved_at)
        run(detector, values)
        restored = Detector.from_state({**detector.state(), "sensitivity": restored_at})
        assert restored.sensitivity == restored_at
        assert restored.state()["rules"].keys() == Detector(restored_at).state()["rules"].keys()
        assert (
            restored.update(START + len(values) * STEP, 30.0).expected
            == detector.update(START + len(values) * STEP, 30.0).expected
        )


def test_the_state_has_the_same_size_after_a_day_and_after_a_month() -> None:
    short, long = Detector(), Detector()
    run(short, counts(days=1))
    run(long, counts(days=30))
    assert len(json.dumps(short.state())) == pytest.approx(len(json.dumps(long.state())), rel=0.2)
    assert short.state().keys() == long.state().keys()


def test_the_step_sets_the_clock_an_hourly_series_learns_as_fast_in_days() -> None:
    rng = random.Random(2)
    hourly = [poisson(rng, 12 * rhythm(i * 12)) for i in range(21 * 24)]
    onset = 15 * 24 + 5
    hourly[onset] *= 6
    detector = Detector(step_seconds=3600)
    decisions = [detector.update(START + timedelta(hours=i), v) for i, v in enumerate(hourly)]
    assert [i for i, d in enumerate(decisions) if d.alert] == [onset]


def test_a_daily_series_waits_for_a_dozen_points_then_finds_its_spike() -> None:
    rng = random.Random(8)
    daily = [poisson(rng, 300.0 * (1.3 if i % 7 >= 5 else 1.0)) for i in range(90)]
    daily[60] *= 3
    detector = Detector(step_seconds=86_400)
    decisions = [detector.update(START + timedelta(days=i), v) for i, v in enumerate(daily)]
    assert [i for i, d in enumerate(decisions) if d.alert] == [60]
    assert decisions[60].severity in {"medium", "high"}


def test_bad_arguments_and_states_are_refused() -> None:
    with pytest.raises(ValueError, match="sensitivity"):
        Detector("extreme")
    with pytest.raises(ValueError, match="step_seconds"):
        Detector(step_seconds=0)
    with pytest.raises(ValueError, match="finite"):
        Detector().update(START, float("nan"))
    state = Detector().state()
    with pytest.raises(ValueError, match="version"):
        Detector.from_state({**state, "version": 999})
