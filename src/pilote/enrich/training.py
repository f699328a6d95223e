"""Training and measuring the heads: which data each task learns from, and its held-out scores.

Recipe (docs/models.md): LinearSVC on hashed TF-IDF features, plus logistic regression on sentence vectors,
each Platt-calibrated on 5-fold cross-validated decision values and blended with a weight chosen out of
fold. Every choice is made on the training rows only, with the same 5 folds (stratified, seed 0):
- each part's regularisation C (`TEXT_CS`, `EMBEDDING_CS`, unless `Params` pins it) minimises the out-of-fold
  log-loss of its calibrated probabilities, since the head averages probabilities;
- the embedding part's blend weight then maximises out-of-fold macro-F1 (0 to 1 in steps of 0.1).
The repo's own CSVs keep a stratified 25% (seed 0) out of training.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, log_loss, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split
from sklearn.svm import LinearSVC

from pilote.enrich.datasets import Labelled, fingerprint, read
from pilote.enrich.features import Batch, head_rows, learn_idf
from pilote.enrich.heads import Head, Linear, calibrate, save
from pilote.errors import Invalid

if TYPE_CHECKING:
    from pilote.enrich.tasks import Task

REPO_DATA = Path(__file__).resolve().parents[3] / "data"
HELD_OUT = 0.25
SEED = 0
VERSION = "6"  # 6: the sentiment head's text part reads VADER's 4 scores (the other heads as version 5)
# Candidate C of each part, chosen out of fold (`_choose`): the best differs by task (sentiment tweets,
# Allociné reviews, YouTube comments), and a fixed C under-fitted the text part everywhere.
TEXT_CS = (0.1, 0.3, 1.0, 3.0)
EMBEDDING_CS = (0.1, 0.3, 1.0)


@dataclass(frozen=True, slots=True)
class Part:
    """A labelled file and which of its rows (all, or all but the held-out 25%) train the model."""

    data: Labelled
    held_out: bool = False
    weight: float = 1.0  # of each of its rows in the loss (corpora of other sizes and kinds in one head)


@dataclass(frozen=True, slots=True)
class Params:
    """Training parameters, stored in the model's metadata."""

    c: float | None = None  # C of the text part; None: chosen out of fold among `TEXT_CS`
    embedding_c: float | None = None  # C of the embedding part; None: chosen out of fold among `EMBEDDING_CS`
    author: bool = False  # read the author block (spam)
    embeddings: bool = True  # also train the embedding part, blended when vectors are there
    lexicon: bool = False  # the embedding part also reads VADER's 4 scores (sentiment)
    text_lexicon: bool = False  # the text part too, as 4 columns beside the n-grams (sentiment)
    prior: float | None = None  # two classes: share of the second class expected in a community (see `_shift`)


@dataclass(slots=True)
class Scores:
    """Macro-F1 and accuracy in percent, per-class precision/recall/F1 and the confusion matrix."""

    macro_f1: float
    accuracy: float
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    two_class: bool = False  # the file had two of the head's three classes: scored on those two only


TWO_CLASS = ("negative", "positive")
TWO_CLASS_NOTE = ("two classes in the file (negative, positive): each row is called positive when P(positive) "
                  ">= P(negative), the model's neutral ignored")  # fmt: skip


def split(data: Labelled) -> tuple[list[int], list[int]]:
    """Row numbers for training and for the held-out 25% (stratified, fixed seed: always the same rows)."""
    rows = list(range(len(data.samples)))
    kept, held = train_test_split(rows, test_size=HELD_OUT, random_state=SEED, stratify=data.labels)
    return sorted(kept), sorted(held)


def subset(data: Labelled, rows: list[int]) -> Labelled:
    """The same file restricted to some rows."""
    return Labelled(data.task, [data.samples[i] for i in rows], [data.labels[i] for i in rows], data.path)


def fit(task: str, parts: list[Part], params: Params) -> Head:
    """Train a head on the training rows of each part (C and blend weight chosen on those rows only)."""
    used = [subset(p.data, split(p.data)[0]) if p.held_out else p.data for p in parts]
    samples = [s for d in used for s in d.samples]
    labels = np.array([label for d in used for label in d.labels])
    weights = np.concatenate([np.full(len(d.samples), p.weight) for p, d in zip(parts, used, strict=True)])
    batch = Batch(samples)
    idf = learn_idf(batch.rows(author=params.author))
    rows = head_rows(batch, idf, author=params.author, lexicon=params.text_lexicon)
    text_cs = TEXT_CS if params.c is None else (params.c,)
    text, classes, text_folds, c = _choose(_svc, text_cs, rows, labels, weights)
    meta = _meta(task, parts, params)
    meta["parameters"]["c"] = c
    text = _shift(text, labels, classes, params.prior)
    if not params.embeddings:
        return Head(text=text, classes=classes.astype(np.str_), idf=idf, meta=meta)
    vectors = cached_vectors([s.text for s in samples])
    if params.lexicon:
        vectors = np.hstack([vectors, batch.lexicon])
    embedding_cs = EMBEDDING_CS if params.embedding_c is None else (params.embedding_c,)
    embedding, _, embedding_folds, meta["parameters"]["embedding_c"] = _choose(
        _logistic, embedding_cs, vectors, labels, weights
    )
    meta["parameters"]["blend"] = _best_blend(text_folds, embedding_folds, labels, classes, weights)
    embedding = _shift(embedding, labels, classes, params.prior)
    return Head(text=text, classes=classes.astype(np.str_), idf=idf, meta=meta, embedding=embedding)


def _svc(c: float) -> LinearSVC:
    return LinearSVC(C=c, class_weight="balanced", random_state=SEED)


def _logistic(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, class_weight="balanced", max_iter=2000)


def _choose(
    make: Callable[[float], Any], cs: tuple[float, ...], rows: Any, labels: np.ndarray, weights: np.ndarray
) -> tuple[Linear, np.ndarray, np.ndarray, float]:
    """Fit the C whose calibrated out-of-fold probabilities have the lowest (row-weighted) log-loss.

    Returns the fitted part, its classes, its calibrated out-of-fold probabilities and the C chosen.
    """
    folds = StratifiedKFold(5, shuffle=True, random_state=SEED)
    classes = np.unique(labels)
    tried = []
    for c in cs:
        decision = cross_val_predict(make(c), rows, labels, cv=folds, method="decision_function",
                                     params={"sample_weight": weights})  # fmt: skip
        decision = decision.reshape(len(labels), -1)
        platt = _platt(decision, labels, classes, weights)
        probability = calibrate(decision, platt)
        loss = float(log_loss(labels, probability, labels=classes, sample_weight=weights))
        tried.append((loss, c, platt, probability))
    _, c, platt, probability = min(tried, key=lambda t: t[0])  # the first (smallest C) on ties
    model = make(c).fit(rows, labels, sample_weight=weights)
    linear = Linear(coef=model.coef_.astype(np.float32), intercept=model.intercept_.astype(np.float32), platt=platt)
    return linear, classes, probability, c


def _shift(linear: Linear, labels: np.ndarray, classes: np.ndarray, prior: float | None) -> Linear:
    """Move a two-class calibration from the training set's share of the second class to `prior`.

    Training sets hold ~40-50% spam or toxic messages, communities far fewer: calibrated on the former,
    every doubtful message would be flagged. Bayes' rule on the odds (Saerens et al., 2002).
    """
    if prior is None or len(classes) != 2:
        return linear
    trained = float(np.mean(labels == classes[1]))
    offset = np.log(prior / (1 - prior)) - np.log(trained / (1 - trained))
    platt = linear.platt.copy()
    platt[:, 1] += offset
    return replace(linear, platt=platt)


def _best_blend(
    text: np.ndarray, embedding: np.ndarray, labels: np.ndarray, classes: np.ndarray, weights: np.ndarray
) -> float:
    """The weight of the embedding part that maximises out-of-fold macro-F1 (never chosen on test data)."""
    best, chosen = -1.0, 0.0
    for weight in np.linspace(0, 1, 11):
        predicted = classes[((1 - weight) * text + weight * embedding).argmax(axis=1)]
        value = float(f1_score(labels, predicted, average="macro", sample_weight=weights))
        if value > best + 1e-9:
            best, chosen = value, float(round(weight, 1))
    return chosen


_VECTORS: dict[str, np.ndarray] = {}


def cached_vectors(texts: list[str]) -> np.ndarray:
    """Sentence vectors of training texts, each computed once per process (rotations reuse them)."""
    missing = list(dict.fromkeys(t for t in texts if t not in _VECTORS))
    if missing:
        from pilote.enrich.embeddings import embed

        _VECTORS.update(zip(missing, embed(missing), strict=True))
    return np.vstack([_VECTORS[t] for t in texts]) if texts else np.zeros((0, 512), np.float32)


def _platt(
    decision: np.ndarray, labels: np.ndarray, classes: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Slope and offset of a sigmoid per decision column (the last class's when there are two)."""
    targets = classes[-1:] if decision.shape[1] == 1 else classes
    pairs = []
    for column, target in enumerate(targets):
        sigmoid = LogisticRegression(C=1e4).fit(decision[:, column : column + 1], labels == target, weights)
        pairs.append((float(sigmoid.coef_[0, 0]), float(sigmoid.intercept_[0])))
    return np.array(pairs, dtype=np.float64)


def _meta(task: str, parts: list[Part], params: Params) -> dict[str, Any]:
    trained_on = [{"file": p.data.path.name, "sha256": fingerprint(p.data.path),
                   "rows": f"75% (stratified, seed {SEED}; 25% held out)" if p.held_out else "all",
                   "weight": p.weight}
                  for p in parts]  # fmt: skip
    return {"task": task, "version": VERSION, "trained_on": trained_on, "date": datetime.now(UTC).date().isoformat(),
            "parameters": {"model": "LinearSVC + Platt (text); logistic regression + Platt (embedding)",
                           "selection": "C of each part: out-of-fold log-loss; blend: out-of-fold macro-F1",
                           "c": params.c, "embedding_c": params.embedding_c, "author": params.author,
                           "embeddings": params.embeddings, "lexicon": params.lexicon,
                           "text_lexicon": params.text_lexicon, "prior": params.prior,
                           "blend": 0.0,
                           "features": "word 1-2 + char 4 of space-padded tokens, 2x2**18 hashed, sublinear TF-IDF, l2"
                                       + (" + author block 2**14" if params.author else "")
                                       + (" + VADER's 4 scores" if params.text_lexicon else "")}}  # fmt: skip


def score(head: Head, data: Labelled, *, vectors: bool = True) -> Scores:
    """How the head does on labelled data (with `vectors=False`, as the text-only fallback).

    A three-class sentiment head scored on a negative/positive file (reviews) is not penalised for the neutral
    class the file lacks: it answers by P(positive) against P(negative) (`two_class`).
    """
    features = batch_of(data) if vectors and head.embedding is not None else Batch(data.samples)
    names = [str(c) for c in head.classes]
    two_class = set(data.labels) <= set(TWO_CLASS) < set(names)
    if two_class:
        probability = head.predict_proba(features)
        positive = probability[:, names.index("positive")] >= probability[:, names.index("negative")]
        predicted = [TWO_CLASS[int(p)] for p in positive]
    else:
        predicted = predict(head, features)
    return _scores(data.labels, predicted, two_class)


def _scores(truth: list[str], predicted: list[str], two_class: bool) -> Scores:
    names = sorted(set(truth) | set(predicted))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=names,
                                                                     zero_division=0)  # fmt: skip
    matrix = confusion_matrix(truth, predicted, labels=names)
    present = [i for i, n in enumerate(names) if support[i] > 0]
    return Scores(
        macro_f1=round(100 * float(np.mean(f1[present])), 2),
        accuracy=round(100 * float(accuracy_score(truth, predicted)), 2),
        per_class={n: {"precision": round(100 * float(precision[i]), 2), "recall": round(100 * float(recall[i]), 2),
                       "f1": round(100 * float(f1[i]), 2), "support": int(support[i])} for i, n in enumerate(names)},
        confusion={n: {m: int(matrix[i, j]) for j, m in enumerate(names)} for i, n in enumerate(names)},
        two_class=two_class,
    )  # fmt: skip


def predict(head: Head, batch: Batch) -> list[str]:
    """The class of each sample as enrichment gives it (for spam: the head with the spam rules)."""
    if head.meta.get("task") != "spam":
        return head.predict(batch)
    from pilote.enrich.spam import THRESHOLD, judge

    return ["spam" if j.probability >= THRESHOLD else "ham" for j in judge(head, batch)]


def batch_of(data: Labelled) -> Batch:
    """Features of a labelled file, with sentence vectors when the head may use them."""
    return Batch(data.samples, vectors=cached_vectors(data.texts))


def held_out(data: Labelled) -> Labelled:
    """The 25% of a file that training never sees."""
    return subset(data, split(data)[1])


def evaluate(head: Head, path: Path) -> tuple[Scores, str]:
    """Score a head on a labelled file it was not trained on, and say which rows were scored.

    A file the head learned from entirely is refused; a file it learned from in part (the repo's own CSVs,
    same bytes) is scored on its held-out 25% only.
    """
    data = read(path)
    task = head.meta["task"]
    if data.task != task:
        raise Invalid(f"{path} is labelled for {data.task}, not {task}: use --task {data.task}")
    for entry in head.meta["trained_on"]:
        if entry["sha256"] == fingerprint(path):
            if entry["rows"] == "all":
                raise Invalid(f"{path}: the {task} model was trained on this file, so scoring it would flatter "
                              "the model; evaluate on data it never saw (e.g. a validation or dev split)")  # fmt: skip
            return score(head, held_out(data)), f"the held-out 25% of {path.name} (the model trained on the rest)"
    return score(head, data), f"all {len(data.texts)} rows of {path.name}"


def train(task: Task, shared: Path, repo: Path, destination: Path) -> tuple[Head, dict[str, float]]:
    """Train a task's head, measure it on held-out data, write it and its model card at `destination`."""
    head = fit(task.name, task.parts(shared, repo), task.params)
    measured = task.measure(head, shared, repo)
    head = replace(head, meta={**head.meta, "scores": measured})
    save(head, destination)
    from pilote.enrich.cards import write

    write(head, destination)
    return head, measured
