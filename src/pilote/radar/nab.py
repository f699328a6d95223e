"""The Numenta Anomaly Benchmark's scoring rules, and a run of our detector on a NAB-layout folder.

The rules follow NAB's own scorer (`nab/sweeper.py`): a probation period whose alerts are ignored,
windows credited with their earliest alert on a scaled sigmoid, alerts outside windows charged by
their distance past the previous window, and a normalisation between the null and the perfect
detector over all files together.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pilote.errors import BadInput
from pilote.radar.backtest import Series, read_series, replay

CATEGORY = "realTweets"
PROFILES: dict[str, tuple[float, float, float]] = {  # (tp, fp, fn) weights
    "standard": (1.0, 0.11, 1.0),
    "reward_low_FP_rate": (1.0, 0.22, 1.0),
    "reward_low_FN_rate": (1.0, 0.11, 2.0),
}
# What bench/eval_radar.py chooses on the five files for every profile: both alert levels at 1 (z 8, CUSUM 30).
SENSITIVITY_FOR = {"standard": "medium", "reward_low_FP_rate": "medium", "reward_low_FN_rate": "medium"}


@dataclass(frozen=True, slots=True)
class Profile:
    """The weights of one NAB scoring profile."""

    name: str
    tp: float
    fp: float
    fn: float


def profile(name: str) -> Profile:
    """One of the three NAB profiles, by name."""
    tp, fp, fn = PROFILES[name]
    return Profile(name, tp, fp, fn)


def scaled_sigmoid(position: float) -> float:
    """NAB's S(x) = 2 / (1 + e^(5x)) - 1, exactly -1 more than three window widths past a window."""
    if position > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def probation(rows: int) -> int:
    """How many leading rows are a probation period: min(15% of the rows, 750)."""
    return int(min(math.floor(0.15 * rows), 0.15 * 5000))


@dataclass(frozen=True, slots=True)
class FileScore:
    """One file scored under one profile."""

    raw: float
    windows: int
    detected: int
    false_alerts: int
    delays: list[int] = field(default_factory=list)  # rows from window start to its first alert


def score_file(rows: int, windows: Sequence[tuple[int, int]], alerts: Sequence[int], weights: Profile) -> FileScore:
    """The raw NAB score of alert row indices on a file of `rows` rows with windows (first, last row)."""
    start = probation(rows)
    window_of = _window_index(rows, windows)
    best: dict[int, int] = {}
    raw, false_alerts = 0.0, 0
    for i in sorted(set(alerts)):
        if i < start or i >= rows:
            continue
        w = window_of[i]
        if w >= 0:
            best.setdefault(w, i)
            continue
        false_alerts += 1
        raw += weights.fp * _fp_weight(i, windows)
    for w, i in best.items():
        first, last = windows[w]
        raw += weights.tp * scaled_sigmoid(-(last - i + 1) / (last - first + 1)) / scaled_sigmoid(-1.0)
    scored = [w for w, (first, last) in enumerate(windows) if last >= start]
    raw -= weights.fn * sum(1 for w in scored if w not in best)
    delays = [best[w] - windows[w][0] for w in sorted(best)]
    return FileScore(raw=raw, windows=len(scored), detected=len(best), false_alerts=false_alerts, delays=delays)


def _window_index(rows: int, windows: Sequence[tuple[int, int]]) -> list[int]:
    index = [-1] * rows
    for w, (first, last) in enumerate(windows):
        for i in range(first, min(last, rows - 1) + 1):
            index[i] = w
    return index


def _fp_weight(i: int, windows: Sequence[tuple[int, int]]) -> float:
    """-1 before any window; less costly just after a window, by distance over (width - 1)."""
    before = [(first, last) for first, last in windows if last < i]
    if not before:
        return -1.0
    first, last = before[-1]
    return scaled_sigmoid(abs(last - i) / float(last - first))


def normalise(raw: float, windows: int, weights: Profile) -> float:
    """100 · (raw − null) / (perfect − null) over a set of files holding `windows` windows."""
    null, perfect = -weights.fn * windows, weights.tp * windows
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(frozen=True, slots=True)
class Corpus:
    """The files of one NAB category with their windows as row indices."""

    folder: Path
    files: list[str]  # NAB names such as realTweets/Twitter_volume_AAPL.csv
    windows: dict[str, list[tuple[int, int]]]


def load_corpus(folder: Path, category: str | None = CATEGORY) -> Corpus:
    """The category's data files and labelled windows (every category folder when None), or a BadInput.

    NAB's layout keeps the windows in `labels/windows.json`; a folder holding several categories may keep them
    in `windows.json` beside the category folders.
    """
    labels = next(
        (path for path in (folder / "labels" / "windows.json", folder / "windows.json") if path.is_file()), None
    )
    chosen = [category] if category is not None else categories(folder)
    if labels is None or not chosen or not all((folder / name).is_dir() for name in chosen):
        raise BadInput(
            folder,
            None,
            f"not a NAB folder (no {category or 'category'}/ or labels/windows.json)",
            "point --data at a folder with NAB's layout",
        )
    try:
        all_windows = json.loads(labels.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise BadInput(labels, None, f"not JSON ({error})", "restore NAB's labels/windows.json") from None
    files = sorted(f"{name}/{path.name}" for name in chosen for path in (folder / name).glob("*.csv"))
    if not files:
        raise BadInput(folder / chosen[0], None, "no CSV file", "put the benchmark's data files there")
    windows = {name: _rows_of(folder, labels, name, all_windows.get(name, [])) for name in files}
    return Corpus(folder=folder, files=files, windows=windows)


def categories(folder: Path) -> list[str]:
    """The category folders of a NAB-layout folder: those holding CSV files."""
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if path.is_dir() and any(path.glob("*.csv")))


def read(folder: Path, name: str) -> Series:
    """One benchmark file, its rows kept as written (a few NAB files repeat a timestamp at a clock change)."""
    return read_series(folder / name, ordered=False)


def _rows_of(folder: Path, labels: Path, name: str, limits: list[list[str]]) -> list[tuple[int, int]]:
    """Each window as (first row, last row): the rows whose timestamps lie between its limits."""
    times = read(folder, name).times
    found = []
    for first, last in limits:
        a, b = datetime.fromisoformat(first), datetime.fromisoformat(last)
        inside = [i for i, when in enumerate(times) if a <= when <= b]
        if not inside or times[inside[0]] != a or times[inside[-1]] != b:
            raise BadInput(labels, name, f"window {first} – {last} is not on the file's rows")
        found.append((inside[0], inside[-1]))
    return found


@dataclass(frozen=True, slots=True)
class NabResult:
    """Normalised scores per profile for our detector and the published ones, plus our delays."""

    ours: dict[str, float]
    published: dict[str, dict[str, float]]  # detector → profile → normalised score
    median_delay_minutes: dict[str, float | None]
    detected: dict[str, tuple[int, int, int]]  # profile → (windows detected, windows, false alerts)


def run(folder: Path, sensitivity_for: dict[str, str] | None = None) -> NabResult:
    """Run one detector per sensitivity on every file and score each profile with its sensitivity."""
    corpus = load_corpus(folder)
    chosen = sensitivity_for or SENSITIVITY_FOR
    alerts = {level: _alerts(corpus, level) for level in sorted(set(chosen.values()))}
    ours, delays, detected = {}, {}, {}
    for name, level in chosen.items():
        ours[name], delays[name], detected[name] = _score_profile(corpus, alerts[level], profile(name))
    windows = sum(len(w) for w in corpus.windows.values())
    return NabResult(ours, published_scores(folder, corpus.files, windows), delays, detected)


Alerts = dict[str, tuple[int, list[int], float]]  # file → (rows, alert rows, step in seconds)


def _alerts(corpus: Corpus, sensitivity: str) -> Alerts:
    found = {}
    for name in corpus.files:
        series = read(corpus.folder, name)
        decisions = replay(series, sensitivity)
        found[name] = (len(decisions), [i for i, d in enumerate(decisions) if d.alert], series.step_seconds)
    return found


def _score_profile(
    corpus: Corpus, alerts: Alerts, weights: Profile
) -> tuple[float, float | None, tuple[int, int, int]]:
    """The normalised score, the median delay in minutes, and (windows found, windows, false alerts)."""
    scores = {name: score_file(rows, corpus.windows[name], found, weights) for name, (rows, found, _) in alerts.items()}
    windows = sum(s.windows for s in scores.values())
    minutes = [d * alerts[name][2] / 60.0 for name, s in scores.items() for d in s.delays]
    found = sum(s.detected for s in scores.values())
    false_alerts = sum(s.false_alerts for s in scores.values())
    score = normalise(sum(s.raw for s in scores.values()), windows, weights)
    return score, statistics.median(minutes) if minutes else None, (found, windows, false_alerts)


def published_scores(folder: Path, files: list[str], windows: int) -> dict[str, dict[str, float]]:
    """Each published detector's normalised score per profile, summed over the same files."""
    return {
        detector: {name: normalise(total, windows, profile(name)) for name, total in by_profile.items()}
        for detector, by_profile in published_raw(folder, files).items()
    }


def published_raw(folder: Path, files: list[str]) -> dict[str, dict[str, float]]:
    """Each published detector's raw score per profile summed over `files`, when it scored every one of them."""
    path = next(
        (folder / n for n in ("published_scores_dev.csv", "published_scores.csv") if (folder / n).is_file()), None
    )
    if path is None:
        return {}
    raw: dict[str, dict[str, float]] = {}
    counted: dict[tuple[str, str], int] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            for row in reader:
                if row["File"] in files and row["Profile"] in PROFILES:
                    key = (row["Detector"], row["Profile"])
                    raw.setdefault(row["Detector"], {}).setdefault(row["Profile"], 0.0)
                    raw[row["Detector"]][row["Profile"]] += float(row["Score"])
                    counted[key] = counted.get(key, 0) + 1
        except (KeyError, ValueError, TypeError) as error:
            where = f"line {reader.line_num}"
            raise BadInput(path, where, f"not NAB's published scores ({error})", "restore the file from NAB") from None
    return {
        detector: {name: total for name, total in by_profile.items() if counted[(detector, name)] == len(files)}
        for detector, by_profile in raw.items()
    }
