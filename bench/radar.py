"""The radar's detector speed, in points per second, and the size of its state. Prints a Markdown table.

    .venv/bin/python bench/radar.py             # synthetic series, 5 repeats (median)
    .venv/bin/python bench/radar.py --nab       # also the five NAB realTweets files, read from the shared data
    .venv/bin/python bench/radar.py --checks    # NAB: sensitivity to each parameter, in-sample (on the five files)

Figures on files no choice looked at come from bench/eval_radar.py (nested leave-one-file-out and -corpus-out).

One point is one `Detector.update` (decide, then learn) on a 5-minute series; the state is what
`Detector.state()` returns, serialised as JSON, as the live watcher persists it between ticks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from pilote.radar import nab
from pilote.radar.backtest import read_series, replay
from pilote.radar.detectors import PARAMS, SENSITIVITIES, Detector

ROOT = Path(__file__).resolve().parent.parent
STEP = timedelta(minutes=5)
Series = list[tuple[datetime, float]]


def synthetic(points: int) -> Series:
    """A daily rhythm with Poisson-like noise and a few bursts, like a brand's mention volume."""
    rng = random.Random(1)
    start = datetime(2026, 1, 5)
    series = []
    for i in range(points):
        when = start + i * STEP
        mean = 20 + 15 * math.sin(when.hour / 24 * 2 * math.pi) + (200 if i % 5000 < 6 else 0)
        series.append((when, float(max(0, round(rng.gauss(mean, math.sqrt(mean)))))))
    return series


def rate(all_series: list[Series], sensitivity: str, repeats: int) -> float:
    """Median points per second over `repeats` runs of a fresh detector per series."""
    rates = []
    for _ in range(repeats):
        began = time.perf_counter()
        for series in all_series:
            detector = Detector(sensitivity)
            for when, value in series:
                detector.update(when, value)
        rates.append(sum(map(len, all_series)) / (time.perf_counter() - began))
    return statistics.median(rates)


def round_trip(series: Series) -> float:
    """Points per second when the state goes through JSON after every point (the worst case of a watcher)."""
    state = Detector().state()
    began = time.perf_counter()
    for when, value in series:
        detector = Detector.from_state(json.loads(json.dumps(state)))
        detector.update(when, value)
        state = detector.state()
    return len(series) / (time.perf_counter() - began)


def shared_folder() -> Path:
    """The third-party data folder (PILOTE_SHARED_DATA, else ../shared/data beside the repository)."""
    return Path(os.environ.get("PILOTE_SHARED_DATA") or ROOT.parent / "shared" / "data")


def nab_series() -> list[Series]:
    folder = shared_folder() / "nab" / "realTweets"
    return [list(zip(s.times, s.values, strict=True)) for s in map(read_series, sorted(folder.glob("*.csv")))]


Change = dict[str, float]  # Params fields multiplied by these factors, at every sensitivity
Found = dict[str, tuple[int, list[int]]]  # per file: its number of rows and the rows where the detector alerts


@contextmanager
def changed_params(change: Change) -> Iterator[None]:
    """Run every sensitivity with these parameters multiplied, for the checks below only.

    All sensitivities change together: a detector also runs the rules of the sensitivities below its own.
    """
    saved = dict(PARAMS)
    for level, params in saved.items():
        PARAMS[level] = replace(params, **{key: getattr(params, key) * k for key, k in change.items()})
    try:
        yield
    finally:
        PARAMS.update(saved)


def alerts_of(corpus: nab.Corpus, change: Change, sensitivity: str) -> Found:
    """Per file: its number of rows and the rows where the detector at this sensitivity alerts."""
    found = {}
    with changed_params(change):
        for name in corpus.files:
            decisions = replay(read_series(corpus.folder / name), sensitivity)
            found[name] = (len(decisions), [i for i, d in enumerate(decisions) if d.alert])
    return found


def normalised(corpus: nab.Corpus, found: Found, files: list[str], name: str) -> float:
    scores = [nab.score_file(found[f][0], corpus.windows[f], found[f][1], nab.profile(name)) for f in files]
    return nab.normalise(sum(s.raw for s in scores), sum(s.windows for s in scores), nab.profile(name))


def levels(k: float) -> Change:
    """Both alert levels multiplied by k."""
    return {"threshold": k, "cusum": k}


def checks(folder: Path) -> None:
    """How much the NAB score owes to each parameter's value, on the five files the levels were chosen on."""
    corpus = nab.load_corpus(folder)
    print(
        "| one change, every sensitivity | " + " | ".join(f"{n} ({s})" for n, s in nab.SENSITIVITY_FOR.items()) + " |"
    )
    print("|---|---:|---:|---:|")
    tried: list[tuple[str, Change]] = [("(as shipped)", {})]
    for key in ("level_halflife", "profile_halflife", "scale_halflife", "clip", "drift", "quiet", "bar_halflife"):
        tried += [(f"{key} ×{k}", {key: k}) for k in (0.5, 2.0)]
    tried += [("raise_by 1 (no raising)", {"raise_by": 1 / 1.5}), ("raise_by 2", {"raise_by": 2 / 1.5})]
    tried += [(f"both alert levels ×{k}", levels(k)) for k in (0.8, 0.9, 1.1, 1.25)]
    for label, change in tried:
        row = [
            f"{normalised(corpus, alerts_of(corpus, change, nab.SENSITIVITY_FOR[name]), corpus.files, name):.1f}"
            for name in nab.PROFILES
        ]
        print(f"| {label} | {' | '.join(row)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--nab", action="store_true", help="also time the NAB realTweets files")
    parser.add_argument("--checks", action="store_true", help="only the NAB overfitting checks")
    args = parser.parse_args()
    if args.checks:
        checks(shared_folder() / "nab")
        return
    series = synthetic(args.points)
    print("| series | points | sensitivity | points/s (median) |")
    print("|---|---:|---|---:|")
    for sensitivity in SENSITIVITIES:
        print(f"| synthetic | {len(series):,} | {sensitivity} | {rate([series], sensitivity, args.repeats):,.0f} |")
    if args.nab:
        real = nab_series()
        points = sum(map(len, real))
        print(f"| NAB realTweets (5 files) | {points:,} | medium | {rate(real, 'medium', args.repeats):,.0f} |")
    short = series[: min(len(series), 20_000)]
    print(f"| synthetic, state through JSON after every point | {len(short):,} | medium | {round_trip(short):,.0f} |")
    detector = Detector()
    for when, value in series:
        detector.update(when, value)
    print(f"\nState: {len(json.dumps(detector.state())):,} bytes of JSON after {len(series):,} points.")


if __name__ == "__main__":
    main()
