"""The radar's detector measured on NAB with the protocol of docs/evaluation.md: every setting chosen on training files.

    .venv/bin/python bench/eval_radar.py            # leave-one-file-out on realTweets, leave-one-corpus-out on NAB

Groups are NAB files (the 5 realTweets files of `nab/`) and NAB corpora (realTweets and the 6 categories of
`nab/other/`). For each held-out group, the detector's alert rules are chosen on every other NAB file (the
other realTweets files and the 48 files of the other corpora), then scored on the held-out group:

- `low` (reward_low_FP_rate): the rule, from the grid below, that scores best on the training files;
- `medium` (standard): with `low`'s rule below it, the rule that scores best among those that raise at most one
  false alert per series per month on the training files;
- `high` (reward_low_FN_rate): with `low`'s and `medium`'s rules below it, the best rule.

A rule is the alert levels' factor, the CUSUM allowance, the quiet period and the bar's raise: the detector's
baseline (its memories) is not varied. The plain baseline, a rolling z-score (one day of points, then silent for
one day after an alert), has its threshold chosen the same way on the same folds. Published detectors are scored on
the same files from NAB's published per-file scores (their thresholds were tuned on the whole of NAB).
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pilote.radar import nab
from pilote.radar.detectors import _DAY, PARAMS, Detector, Params, Standing, _hear, _Rule
from protocol import inner_folds, nested, record

Chain = tuple[Params, ...]  # the rules a detector runs, least sensitive first
Alerter = Callable[[str], list[int]]  # a file's name → the rows where the detector alerts
PROFILE_LEVEL = {"reward_low_FP_rate": "low", "standard": "medium", "reward_low_FN_rate": "high"}
BUDGET = {"low": 0.5, "medium": 1.0, "high": 2.0}  # false alerts per series per month on the training files
FACTORS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.7, 2.0, 2.5, 3.0)


def grid(drifts: Sequence[float], quiets: Sequence[float], raises: Sequence[float]) -> list[Params]:
    """Rules: the shipped rule with both alert levels scaled, and its allowance, quiet period and raise among these."""
    return [
        replace(PARAMS["medium"], threshold=8.0 * k, cusum=30.0 * k, drift=drift, quiet=quiet, raise_by=raise_by)
        for k, drift, quiet, raise_by in itertools.product(FACTORS, drifts, quiets, raises)
    ]


GRIDS = {  # the alert levels only (the published figures), or the structure of the rule too
    "levels": grid([1.0], [_DAY], [1.5]),
    "rule": grid([0.5, 1.0], [_DAY / 4, _DAY / 2, _DAY, 2 * _DAY], [1.0, 1.5, 2.0, 3.0]),
}
GRID = GRIDS["levels"]
Z_LEVELS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 15.0, 20.0)


@dataclass(frozen=True)
class File:
    """One NAB file: its rows, windows, step, corpus, and each point against the detector's baseline."""

    rows: int
    windows: list[tuple[int, int]]
    step: float
    corpus: str
    values: list[float]
    seen: list[Standing]


def load(shared: Path) -> dict[str, File]:
    """Every NAB file in the shared data, with the detector's baseline run once over it."""
    found = {}
    for folder, category in ((shared / "nab", nab.CATEGORY), (shared / "nab" / "other", None)):
        corpus = nab.load_corpus(folder, category)
        for name in corpus.files:
            series = nab.read(folder, name)
            detector = Detector("low", series.step_seconds)
            seen = []
            for when, value in zip(series.times, series.values, strict=True):
                point = detector.expect(when, value)
                detector.learn(point)
                seen.append(point)
            found[name] = File(
                len(seen), corpus.windows[name], series.step_seconds, name.split("/")[0], series.values, seen
            )
    return found


class Runs:
    """Alerts of each chain of rules (and of the baseline at each level) on each file, computed once."""

    def __init__(self, files: dict[str, File]) -> None:
        self.files = files
        self._cache: dict[tuple[object, str], list[int]] = {}

    def chain(self, rules: Chain) -> Alerter:
        return lambda name: self._get(rules, name, self._run_chain)

    def zscore(self, level: float) -> Alerter:
        return lambda name: self._get(level, name, self._run_zscore)

    def _get(self, key: object, name: str, run: Callable[[object, File], list[int]]) -> list[int]:
        if (key, name) not in self._cache:
            self._cache[(key, name)] = run(key, self.files[name])
        return self._cache[(key, name)]

    @staticmethod
    def _run_chain(key: object, file: File) -> list[int]:
        """The rows where a detector running these rules alerts: the detector's own `_hear`, rule after rule."""
        chain: Chain = key  # type: ignore[assignment]
        rules = [_Rule() for _ in chain]
        found = []
        for i, point in enumerate(file.seen):
            alert = False
            for rule, params in zip(rules, chain, strict=True):
                alert, _ = _hear(rule, params, point, alert, file.step)
            if alert:
                found.append(i)
        return found

    @staticmethod
    def _run_zscore(key: object, file: File) -> list[int]:
        """A plain rolling z-score: mean and deviation of the last day's points, silent for a day after an alert."""
        level: float = key  # type: ignore[assignment]
        width = max(12, round(_DAY / file.step))
        found, quiet_until = [], 0
        total = squares = 0.0
        for i, value in enumerate(file.values):
            if i >= width:
                mean = total / width
                deviation = math.sqrt(max(squares / width - mean * mean, 0.0))
                if i >= quiet_until and deviation > 0 and (value - mean) / deviation >= level:
                    found.append(i)
                    quiet_until = i + width
                old = file.values[i - width]
                total, squares = total - old, squares - old * old
            total, squares = total + value, squares + value * value
        return found


@dataclass(frozen=True)
class Tally:
    """Scores of a set of files under one profile: the raw sum, windows, found, false alerts, months, delays."""

    raw: float = 0.0
    windows: int = 0
    found: int = 0
    false_alerts: int = 0
    months: float = 0.0
    delays_minutes: tuple[float, ...] = ()

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.raw + other.raw,
            self.windows + other.windows,
            self.found + other.found,
            self.false_alerts + other.false_alerts,
            self.months + other.months,
            self.delays_minutes + other.delays_minutes,
        )

    def score(self, name: str) -> float:
        """The normalised NAB score; not a number on files without windows (only false alerts count there)."""
        return nab.normalise(self.raw, self.windows, nab.profile(name)) if self.windows else math.nan

    def per_month(self) -> float:
        return self.false_alerts / self.months if self.months else 0.0


def tally(files: dict[str, File], names: Sequence[str], alerts: Alerter, profile: str) -> Tally:
    total = Tally()
    for name in names:
        file = files[name]
        scored = nab.score_file(file.rows, file.windows, alerts(name), nab.profile(profile))
        months = (file.rows - nab.probation(file.rows)) * file.step / (30 * _DAY)
        delays = tuple(d * file.step / 60.0 for d in scored.delays)
        total += Tally(scored.raw, scored.windows, scored.detected, scored.false_alerts, months, delays)
    return total


def best(candidates: Sequence[object], score: Callable[[object], Tally], budget: float) -> object:
    """The candidate with the highest raw score among those within the false-alert budget, if any."""
    tallies = {i: score(c) for i, c in enumerate(candidates)}
    allowed = [i for i, t in tallies.items() if t.per_month() <= budget]
    if not allowed:  # nothing within the limit: the fewest false alerts
        return candidates[min(tallies, key=lambda i: tallies[i].per_month())]
    return candidates[max(allowed, key=lambda i: tallies[i].raw)]


Choice = dict[str, object]  # sensitivity → its chain (the detector) or its z level (the baseline)


def detector_chooser(runs: Runs, names_of: Callable[[list[str]], list[str]]) -> Callable[[list[str]], Choice]:
    """Choose medium's rule, then low's and high's alert levels around it, on the training groups' files only.

    Medium's rule (alert levels, allowance, quiet period, raise) is the best on standard among those within the
    false-alert limit; low keeps its structure with levels as high or higher, chosen on reward_low_FP_rate within
    the same limit; high keeps it with levels as low or lower, chosen on reward_low_FN_rate with low's and medium's
    rules below it, as the detector runs them.
    """

    def choose(training: list[str]) -> Choice:
        names = names_of(training)

        def on(profile: str, below: Chain = ()) -> Callable[[object], Tally]:
            return lambda p: tally(runs.files, names, runs.chain((*below, p)), profile)  # type: ignore[arg-type]

        medium: Params = best(GRID, on("standard"), BUDGET["medium"])  # type: ignore[assignment]
        low: Params = best(_levels(medium, above=True), on("reward_low_FP_rate"), BUDGET["low"])  # type: ignore[assignment]
        high: Params = best(_levels(medium, above=False), on("reward_low_FN_rate", (low, medium)), BUDGET["high"])  # type: ignore[assignment]
        chosen: Choice = {"low": (low,), "medium": (low, medium), "high": (low, medium, high)}
        return {**chosen, "profiles": profiles_of(chosen, lambda c, p: tally(runs.files, names, runs.chain(c), p))}  # type: ignore[arg-type]

    return choose


def _levels(rule: Params, *, above: bool) -> list[Params]:
    """The grid's rules of this rule's structure whose alert levels are at or above (or at or below) its own."""
    return [
        p
        for p in GRID
        if (p.drift, p.quiet, p.raise_by) == (rule.drift, rule.quiet, rule.raise_by)
        and (p.threshold >= rule.threshold if above else p.threshold <= rule.threshold)
    ]


def zscore_chooser(runs: Runs, names_of: Callable[[list[str]], list[str]]) -> Callable[[list[str]], Choice]:
    """Choose the z level of each sensitivity on its profile, on the training groups' files only."""

    def choose(training: list[str]) -> Choice:
        names = names_of(training)
        chosen: Choice = {}
        for profile, level in PROFILE_LEVEL.items():
            chosen[level] = best(Z_LEVELS, _zscore_on(runs, names, profile), BUDGET[level])
        return {**chosen, "profiles": profiles_of(chosen, lambda k, p: tally(runs.files, names, runs.zscore(k), p))}  # type: ignore[arg-type]

    return choose


Measured = dict[str, Tally]  # profile → the held-out group's tally


def profiles_of(chosen: Choice, score: Callable[[object, str], Tally]) -> dict[str, str]:
    """Each profile's sensitivity: the one whose detector scores best on it on the training files."""
    return {profile: max(BUDGET, key=lambda level: score(chosen[level], profile).raw) for profile in nab.PROFILES}


def _zscore_on(runs: Runs, names: list[str], profile: str) -> Callable[[object], Tally]:
    return lambda k: tally(runs.files, names, runs.zscore(k), profile)  # type: ignore[arg-type]


def measurer(runs: Runs, names_of: Callable[[str], list[str]]) -> Callable[[Choice, str], Measured]:
    """Score a choice on the held-out group: each profile with its sensitivity's detector."""

    def measure(choice: Choice, held: str) -> Measured:
        names = names_of(held)

        def at(level: str) -> Alerter:
            picked = choice[level]
            return runs.chain(picked) if isinstance(picked, tuple) else runs.zscore(picked)  # type: ignore[arg-type]

        mapped: dict[str, str] = choice["profiles"]  # type: ignore[assignment]
        result = {profile: tally(runs.files, names, at(level), profile) for profile, level in mapped.items()}
        return {**result, "medium": tally(runs.files, names, at("medium"), "standard")}

    return measure


def describe(choice: Choice) -> str:
    """A choice in a few words: per sensitivity, its own rule's factor, allowance, quiet hours and raise."""
    words = []
    for level, picked in choice.items():
        if isinstance(picked, str):
            words.append(f"trained with {picked}")
        elif isinstance(picked, dict):
            words.append("profiles at " + "/".join(picked[p] for p in nab.PROFILES))
        elif isinstance(picked, tuple):
            p: Params = picked[-1]
            words.append(f"{level} ×{p.threshold / 8.0:g} d{p.drift:g} q{p.quiet / 3600:g}h r{p.raise_by:g}")
        else:
            words.append(f"{level} z≥{picked:g}")
    return ", ".join(words)


def published(shared: Path, names: Sequence[str], windows: int) -> dict[str, dict[str, float]]:
    """The published detectors' normalised scores on these files, from both of NAB's score files."""
    scores: dict[str, dict[str, float]] = {}
    for folder in (shared / "nab", shared / "nab" / "other"):
        here = [n for n in names if (folder / n).is_file()]
        for detector, by in nab.published_raw(folder, here).items():
            for profile, raw in by.items():
                scores.setdefault(detector, {}).setdefault(profile, 0.0)
                scores[detector][profile] += raw
    return {
        detector: {p: nab.normalise(raw, windows, nab.profile(p)) for p, raw in by.items()}
        for detector, by in scores.items()
        if len(by) == len(nab.PROFILES)
    }


Chooser = Callable[[Runs, Callable[[list[str]], list[str]]], Callable[[list[str]], Choice]]
CHOOSERS: tuple[tuple[str, Chooser], ...] = (("pilote", detector_chooser), ("rolling z-score", zscore_chooser))


def pool_chooser(runs: Runs, chooser: Chooser, pools: dict[str, list[str]]) -> Callable[[list[str]], Choice]:
    """Leave-one-file-out on realTweets: which other files to choose on is itself chosen, by an inner fold.

    Each pool (every other NAB file, the other count series, none) adds its files to the training realTweets
    files; an inner leave-one-file-out over the training realTweets files scores each pool on standard, and
    the best pool's choice on all the training files is the fold's.
    """

    def choose(training: list[str]) -> Choice:
        def inner(pool: str) -> float:
            raw = 0.0
            for inner_training, inner_held in inner_folds(training):
                choice = chooser(runs, lambda groups, pool=pool: [*groups, *pools[pool]])(inner_training)  # type: ignore[misc]
                raw += measurer(runs, lambda held: [held])(choice, inner_held)["standard"].raw
            return raw

        pool = max(pools, key=inner)
        return {**chooser(runs, lambda groups: [*groups, *pools[pool]])(training), "pool": pool}

    return choose


def evaluate(
    runs: Runs,
    groups: list[str],
    choosers: dict[str, Callable[[list[str]], Choice]],
    held_files: Callable[[str], list[str]],
) -> dict[str, object]:
    """The detector and the baseline through the same nested folds: their pooled held-out tallies and choices."""
    out: dict[str, object] = {}
    for label, choose in choosers.items():
        outcome = nested(
            groups,
            choose=choose,
            fit=lambda _training, choice: choice,
            measure=measurer(runs, held_files),
        )
        for fold in outcome.folds:
            scores = " / ".join(f"{fold.score[p].score(p):.1f}" for p in nab.PROFILES)
            print(f"  {label}, held out {fold.held_out}: {describe(fold.choice)}: {scores}", file=sys.stderr)
        pooled = {p: sum((f.score[p] for f in outcome.folds), Tally()) for p in [*nab.PROFILES, "medium"]}
        out[label] = (pooled, outcome)
    return out


def table(results: dict[str, object], shared: Path, names: list[str], top: int = 8) -> list[str]:
    """Per profile: ours and the baseline (held-out, pooled), then the published detectors on the same files."""
    lines = ["| detector | standard | reward_low_FP_rate | reward_low_FN_rate |", "|---|---:|---:|---:|"]
    windows = 0
    for label, (pooled, _outcome) in results.items():  # type: ignore[misc]
        windows = pooled["standard"].windows
        row = " | ".join(f"{pooled[p].score(p):.1f}" for p in nab.PROFILES)
        lines.append(f"| **{label}** (nested) | {row} |")
    ranked = sorted(published(shared, names, windows).items(), key=lambda item: -item[1]["standard"])
    for detector, scores in ranked[:top]:
        lines.append(f"| {detector} | " + " | ".join(f"{scores[p]:.1f}" for p in nab.PROFILES) + " |")
    return lines


def details(results: dict[str, object]) -> list[str]:
    lines = []
    for label, (pooled, outcome) in results.items():  # type: ignore[misc]
        medium = pooled["medium"]
        delay = statistics.median(medium.delays_minutes) if medium.delays_minutes else float("nan")
        lines.append(
            f"- {label}, medium: {medium.found}/{medium.windows} windows, {medium.false_alerts} false alerts "
            f"({medium.per_month():.2f} per series per month), median delay {delay:.0f} min from window start"
        )
        for fold in outcome.folds:
            scores = " / ".join(f"{fold.score[p].score(p):.1f}" for p in nab.PROFILES)
            lines.append(f"  - held out {fold.held_out} ({scores}): {describe(fold.choice)}")
    return lines


def main() -> None:
    global GRID
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", choices=sorted(GRIDS), default="levels", help="what the folds choose")
    GRID = GRIDS[parser.parse_args().grid]
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
    shared = Path(__import__("os").environ.get("PILOTE_SHARED_DATA") or shared)
    files = load(shared)
    runs = Runs(files)
    everything = list(files)
    tweets = [n for n in everything if n.startswith(nab.CATEGORY + "/")]

    others = [n for n in everything if n not in tweets]
    pools = {
        "every other NAB file": others,
        "the other count series": [n for n in others if all(v == int(v) for v in files[n].values)],
        "realTweets only": [],
    }
    # Leave one file out: a group is a realTweets file; the other corpora's files chosen to train on, or not.
    lofo = {label: pool_chooser(runs, chooser, pools) for label, chooser in CHOOSERS}
    lofo_results = evaluate(runs, tweets, lofo, lambda held: [held])
    final = lofo["pilote"](tweets)
    # Leave one corpus out: a group is a corpus; every file of the other corpora is trained on.
    corpora = sorted({f.corpus for f in files.values()})
    by_corpus = {c: [n for n in everything if files[n].corpus == c] for c in corpora}
    loco = {
        label: chooser(runs, lambda groups: [n for c in groups for n in by_corpus[c]]) for label, chooser in CHOOSERS
    }
    loco_results = evaluate(runs, corpora, loco, lambda held: by_corpus[held])
    lines = ["### Leave one realTweets file out", ""]
    lines += [*table(lofo_results, shared, tweets), "", *details(lofo_results)]
    lines += ["", "### Leave one corpus out (all of NAB, pooled over the held-out corpora)", ""]
    lines += [*table(loco_results, shared, everything), "", *details(loco_results)]
    lines += ["", f"Chosen on the five realTweets files: {describe(final)}"]
    print(record("Radar on NAB, nested (bench/eval_radar.py)", lines))


if __name__ == "__main__":
    main()
