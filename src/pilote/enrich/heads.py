"""A trained head: a linear model over hashed features, stored as numbers only (no pickle).

Probabilities come from Platt scaling of each class's decision value, fitted at training time on
cross-validated decision values; with several classes the per-class probabilities are normalised to sum to 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pilote.errors import Invalid

Floats = NDArray[np.float32]
MODELS = Path(__file__).resolve().parent / "models"


@dataclass(frozen=True, slots=True)
class Head:
    """`coef` has one row per class (a single row, for the second class, when there are two)."""

    coef: Floats
    intercept: Floats
    classes: NDArray[np.str_]
    idf: Floats
    platt: NDArray[np.float64]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def domains(self) -> bool:
        """Whether URLs keep their domain as a feature (spam)."""
        return bool(self.meta.get("parameters", {}).get("domains", False))

    def decision(self, texts: list[str]) -> NDArray[np.float64]:
        """Raw decision values, one column per row of `coef`."""
        from pilote.enrich.features import features  # scikit-learn loads only when a model runs

        rows = features(texts, self.idf, domains=self.domains)
        return np.asarray(rows @ self.coef.T, dtype=np.float64) + self.intercept

    def predict_proba(self, texts: list[str]) -> NDArray[np.float64]:
        """Calibrated probabilities, one column per class, rows summing to 1."""
        return calibrate(self.decision(texts), self.platt)

    def predict(self, texts: list[str]) -> list[str]:
        """The most probable class of each text."""
        return [str(self.classes[i]) for i in self.predict_proba(texts).argmax(axis=1)]


def calibrate(decision: NDArray[np.float64], platt: NDArray[np.float64]) -> NDArray[np.float64]:
    """Platt's sigmoid per column; two classes from one column, otherwise normalised one-vs-rest."""
    probability = 1 / (1 + np.exp(-(decision * platt[:, 0] + platt[:, 1])))
    if probability.shape[1] == 1:
        return np.hstack([1 - probability, probability])
    return np.asarray(probability / probability.sum(axis=1, keepdims=True))


def path_of(task: str) -> Path:
    """Where the shipped head of a task lives."""
    return MODELS / f"{task}.npz"


def save(head: Head, path: Path) -> None:
    """Write the head as a compressed .npz of plain arrays, its metadata as a JSON string."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        np.savez_compressed(file, coef=head.coef, intercept=head.intercept, classes=head.classes,
                            idf=head.idf, platt=head.platt, meta=np.array(json.dumps(head.meta)))  # fmt: skip


def load(path: Path) -> Head:
    """Read a head written by `save`; never unpickles anything."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in ("coef", "intercept", "classes", "idf", "platt", "meta")}
    except FileNotFoundError:
        raise Invalid(f"no model at {path}: run `pilote models train --task {path.stem}` to build it") from None
    except (OSError, ValueError, KeyError) as error:
        raise Invalid(f"{path} is not a Pilote model ({error}): run `pilote models train` again") from None
    return Head(coef=arrays["coef"].astype(np.float32), intercept=arrays["intercept"].astype(np.float32),
                classes=arrays["classes"].astype(np.str_), idf=arrays["idf"].astype(np.float32),
                platt=arrays["platt"].astype(np.float64), meta=json.loads(str(arrays["meta"])))  # fmt: skip
