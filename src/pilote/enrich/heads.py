"""A trained head: linear models over shared features, stored as numbers only (no pickle).

The text part reads hashed n-grams (plus the author block for spam) and always runs. The optional
embedding part reads the message's sentence vector; when the batch has vectors, the two calibrated
probabilities are averaged with the weight chosen at training (`blend`), otherwise the text part answers
alone. Probabilities come from Platt scaling of each class's decision value, fitted on cross-validated
decision values; with several classes the per-class probabilities are normalised to sum to 1.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pilote.errors import Invalid

Floats = NDArray[np.float32]
MODELS = Path(__file__).resolve().parent / "models"
ARRAYS = ("coef", "intercept", "classes", "idf", "platt", "meta")
EMBEDDING_ARRAYS = ("ecoef", "eintercept", "eplatt")


@dataclass(frozen=True, slots=True)
class Linear:
    """A linear model with its Platt calibration: `coef` has one row per class (one row when two classes)."""

    coef: Floats
    intercept: Floats
    platt: NDArray[np.float64]
    # coef transposed, contiguous: a sparse row times it reads each feature's weights side by side (4x faster).
    weights: Floats = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "weights", np.ascontiguousarray(self.coef.T))

    def __reduce__(self) -> tuple[type[Linear], tuple[Floats, Floats, NDArray[np.float64]]]:
        # Sent to worker processes without `weights`, which is rebuilt there: half the bytes.
        return (Linear, (self.coef, self.intercept, self.platt))

    def probabilities(self, rows: Any) -> NDArray[np.float64]:
        """Calibrated probabilities of feature rows (sparse or dense)."""
        decision = np.asarray(rows @ self.weights, dtype=np.float64) + self.intercept
        return calibrate(decision, self.platt)


@dataclass(frozen=True, slots=True)
class Head:
    """The text part (`text`, over IDF-weighed features) and, optionally, the embedding part."""

    text: Linear
    classes: NDArray[np.str_]
    idf: Floats
    meta: dict[str, Any] = field(default_factory=dict)
    embedding: Linear | None = None

    @property
    def author(self) -> bool:
        """Whether the head reads the author block (spam)."""
        return bool(self.meta.get("parameters", {}).get("author", False))

    @property
    def lexicon(self) -> bool:
        """Whether the embedding part also reads the 4 lexicon scores (sentiment)."""
        return bool(self.meta.get("parameters", {}).get("lexicon", False))

    @property
    def text_lexicon(self) -> bool:
        """Whether the text part reads the 4 lexicon scores beside the n-grams (sentiment)."""
        return bool(self.meta.get("parameters", {}).get("text_lexicon", False))

    @property
    def blend(self) -> float:
        """Weight of the embedding part when vectors are there."""
        return float(self.meta.get("parameters", {}).get("blend", 0.0))

    def predict_proba(self, batch: Any) -> NDArray[np.float64]:
        """Calibrated probabilities, one column per class, rows summing to 1 (`batch`: features.Batch or texts)."""
        from pilote.enrich.features import Batch, Sample, head_rows  # scikit-learn loads only when a model runs

        if not isinstance(batch, Batch):
            batch = Batch([Sample(text) for text in batch])
        rows = head_rows(batch, self.idf, author=self.author, lexicon=self.text_lexicon)
        probability = self.text.probabilities(rows)
        if self.embedding is not None and batch.vectors is not None and self.blend > 0:
            vectors = np.hstack([batch.vectors, batch.lexicon]) if self.lexicon else batch.vectors
            embedded = self.embedding.probabilities(vectors)
            probability = (1 - self.blend) * probability + self.blend * embedded
        return probability

    def predict(self, batch: Any) -> list[str]:
        """The most probable class of each sample."""
        return [str(self.classes[i]) for i in self.predict_proba(batch).argmax(axis=1)]


def calibrate(decision: NDArray[np.float64], platt: NDArray[np.float64]) -> NDArray[np.float64]:
    """Platt's sigmoid per column; two classes from one column, otherwise normalised one-vs-rest."""
    probability = 1 / (1 + np.exp(-(decision * platt[:, 0] + platt[:, 1])))
    if probability.shape[1] == 1:
        return np.hstack([1 - probability, probability])
    return np.asarray(probability / probability.sum(axis=1, keepdims=True))


def path_of(task: str) -> Path:
    """Where the shipped head of a task lives (in the package: written only by `python -m pilote.enrich.ship`)."""
    return MODELS / f"{task}.npz"


def own_path(task: str) -> Path:
    """Where `pilote models train` writes an installation's own head of a task: $PILOTE_HOME/models/<task>.npz."""
    return _own_models(os.environ.get("PILOTE_HOME")) / f"{task}.npz"


@lru_cache(maxsize=4)
def _own_models(home: str | None) -> Path:
    """The settings' models folder, built once per value of PILOTE_HOME (heads are looked up every chunk)."""
    from pilote.config import get_settings

    return get_settings().home / "models"


def in_force(task: str) -> Path:
    """The head enrichment uses: the installation's own when it trained one, else the shipped one."""
    own = own_path(task)
    return own if own.is_file() else path_of(task)


def to_bytes(head: Head) -> bytes:
    """The head as a compressed .npz of plain arrays, its metadata as a JSON string."""
    meta = np.array(json.dumps(head.meta))
    arrays: dict[str, Any] = {"coef": head.text.coef, "intercept": head.text.intercept, "platt": head.text.platt,
                              "classes": head.classes, "idf": head.idf, "meta": meta}  # fmt: skip
    if head.embedding is not None:
        arrays |= {"ecoef": head.embedding.coef, "eintercept": head.embedding.intercept,
                   "eplatt": head.embedding.platt}  # fmt: skip
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def from_bytes(data: bytes, where: str) -> Head:
    """Read a head written by `to_bytes`; never unpickles anything."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        meta = json.loads(str(arrays["meta"]))
        text = _linear(arrays, "coef", "intercept", "platt")
        embedding = _linear(arrays, "ecoef", "eintercept", "eplatt") if "ecoef" in arrays else None
        return Head(text=text, classes=arrays["classes"].astype(np.str_), idf=arrays["idf"].astype(np.float32),
                    meta=meta, embedding=embedding)  # fmt: skip
    except (OSError, ValueError, KeyError) as error:
        raise Invalid(f"{where} is not a Pilote model ({error}): run `pilote models train` again") from None


def _linear(arrays: dict[str, Any], coef: str, intercept: str, platt: str) -> Linear:
    return Linear(coef=arrays[coef].astype(np.float32), intercept=arrays[intercept].astype(np.float32),
                  platt=arrays[platt].astype(np.float64))  # fmt: skip


def save(head: Head, path: Path) -> None:
    """Write the head to a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_bytes(head))


def load(path: Path) -> Head:
    """Read a head written by `save`; a clear Invalid when it is missing or not a model."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Invalid(f"no model at {path}: run `pilote models train --task {path.stem}` to build it") from None
    return from_bytes(data, str(path))
