"""The evaluation protocol of docs/evaluation.md, in code: every choice inside the training folds only.

A published figure is measured on a group (a file, a video, a corpus, a fold of rows) that played no part in
any choice made for it: not the features, not the structure, not a threshold, not C, not a weight. The one
tool for that is `nested`: for each outer group held out, `choose` sees the other groups only (and may run its
own inner leave-one-group-out on them), `fit` trains on them with that choice, and `measure` scores the held-out
group. The evaluation scripts (bench/eval_*.py) all go through it, so that no script can read its test group
while choosing.

    outcome = nested(groups, choose=..., fit=..., measure=...)
    outcome.folds          # one Fold per held-out group: its choice and its score
    outcome.choices()      # how often each choice was made: a choice that varies from fold to fold is fragile

`inner_folds` gives the inner leave-one-group-out a `choose` function usually runs; `record` prints a figure
with the command, machine and date that docs/benchmarks.md and docs/evaluation.md quote.
"""

from __future__ import annotations

import os
import platform
import sys
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

G = TypeVar("G", bound=Hashable)
C = TypeVar("C")
M = TypeVar("M")
S = TypeVar("S")


@dataclass(frozen=True)
class Fold(Generic[G, C, S]):
    """One held-out group: what the training groups chose, and how it scored on the held-out group."""

    held_out: G
    choice: C
    score: S


@dataclass
class Outcome(Generic[G, C, S]):
    """The folds of one nested evaluation, in the order of the groups."""

    folds: list[Fold[G, C, S]] = field(default_factory=list)

    def choices(self) -> Counter[str]:
        return Counter(repr(fold.choice) for fold in self.folds)

    def scores(self) -> dict[G, S]:
        return {fold.held_out: fold.score for fold in self.folds}


def inner_folds(groups: Sequence[G]) -> Iterator[tuple[list[G], G]]:
    """Leave-one-group-out over `groups`: (the groups to train on, the group to score)."""
    if len(groups) < 2:
        raise ValueError(f"leave-one-group-out needs at least two groups, got {len(groups)}")
    for i, held in enumerate(groups):
        yield [g for j, g in enumerate(groups) if j != i], held


def nested(
    groups: Sequence[G],
    *,
    choose: Callable[[list[G]], C],
    fit: Callable[[list[G], C], M],
    measure: Callable[[M, G], S],
    progress: Callable[[str], None] | None = None,
) -> Outcome[G, C, S]:
    """Leave each group out in turn; choose and fit on the others only; measure on the one left out.

    `choose(training_groups)` must decide from `training_groups` alone (typically by `inner_folds` over them);
    `fit(training_groups, choice)` trains the final model of the fold; `measure(model, held_out)` scores it.
    """
    outcome: Outcome[G, C, S] = Outcome()
    for training, held in inner_folds(groups):
        choice = choose(training)
        model = fit(training, choice)
        score = measure(model, held)
        outcome.folds.append(Fold(held, choice, score))
        if progress is not None:
            progress(f"held out {held!r}: chose {choice!r}, scored {score!r}")
    return outcome


def machine() -> str:
    """The machine a figure was measured on, for docs/benchmarks.md."""
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"


def record(title: str, lines: Sequence[str]) -> str:
    """A figure ready for the docs: the title, the command that printed it, the machine and the date."""
    command = " ".join(["python", *sys.argv]) if sys.argv and sys.argv[0] else "python"
    head = [f"## {title}", "", f"`{command}` on {machine()}, {datetime.now(UTC):%Y-%m-%d}", ""]
    return "\n".join([*head, *lines, ""])
