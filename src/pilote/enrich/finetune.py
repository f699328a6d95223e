"""Learning from the team: a workspace's heads fine-tuned on its human labels, stored in `workspace_model`.

The shipped head's decision values become features beside the hashed n-grams of the labelled messages;
a linear SVM learns how far to trust the first and what the second adds (Platt-calibrated on the
workspace's labels, so its probabilities follow the workspace's own share of each class). Everything stays
linear in the features, so the result folds back into one head of the same shape, used by enrichment for
that workspace (classifiers.head_for). Labels set by people (origin "user") teach, and so does the site's own
moderation history as imported (origin "import": WordPress and Disqus spam flags; for spam, an approved
comment is ham); a person's label wins over an import's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC
from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import aliased

from pilote.enrich.features import Batch, Sample, head_rows
from pilote.enrich.heads import Head, Linear, to_bytes
from pilote.errors import Invalid
from pilote.models import Author, Label, Message, WorkspaceModel, utcnow

# Label name and the values it may take, per task.
LABELS = {
    "sentiment": ("sentiment", {"negative": "negative", "neutral": "neutral", "positive": "positive"}),
    "spam": ("spam", {"spam": "spam", "ham": "ham"}),
    "toxicity": ("toxicity", {"toxic": "toxic", "not_toxic": "not_toxic"}),
    "intent": ("intent", {v: v for v in ("question", "complaint", "praise", "suggestion", "other")}),
}
MINIMUM = 2  # labels of each class, at least
ORIGINS = ("user", "import")  # whose labels teach, the first winning: the team's, then the site's moderation
C = 1.0
SEED = 0


@dataclass(frozen=True, slots=True)
class Tuned:
    """What fine-tuning did for one task."""

    task: str
    labels: int
    per_class: dict[str, int]


def labelled(conn: Connection, workspace_id: int, task: str) -> tuple[list[int], list[Sample], list[str]]:
    """The workspace's messages labelled for the task: ids, samples, labels (a person's label over an import's)."""
    name, known = LABELS[task]
    names = (name, "status") if task == "spam" else (name,)
    parent = aliased(Message)
    query = (
        select(Message.id, Message.title, Message.text, Author.display_name, Author.handle, Author.profile_url,
               parent.title, parent.text, Label.name, Label.value, Label.origin)
        .join(Label, Label.message_id == Message.id)
        .outerjoin(Author, Author.id == Message.author_id)
        .outerjoin(parent, parent.id == Message.parent_id)
        .where(Message.workspace_id == workspace_id, Label.name.in_(names), Label.origin.in_(ORIGINS))
        .order_by(Message.id)
    )  # fmt: skip
    found: dict[int, tuple[Sample, dict[tuple[str, str], str]]] = {}
    for row in conn.execute(query):
        if row[0] not in found:
            post = f"{row[6] or ''} {row[7]}".strip() if row[7] is not None else None
            sample = Sample(f"{row[1] or ''} {row[2]}".strip(), row[3] or row[4] or "", row[5] or "", post)
            found[row[0]] = (sample, {})
        found[row[0]][1][(row[10], row[8])] = row[9]
    ids, samples, labels = [], [], []
    for message_id, (sample, decisions) in found.items():
        label = _decide(decisions, name, known)
        if label is not None:
            ids.append(message_id)
            samples.append(sample)
            labels.append(label)
    return ids, samples, labels


def _decide(decisions: dict[tuple[str, str], str], name: str, known: dict[str, str]) -> str | None:
    """A message's label for training: a person's, else an import's; for spam, a moderator's approval is ham.

    Trash is not spam: moderators also bin duplicates, tests and off-topic messages, so it teaches nothing.
    """
    for origin in ORIGINS:
        value = decisions.get((origin, name))
        if value in known:
            return known[value]
    if name == "spam" and decisions.get(("import", "status")) == "approved":
        return "ham"
    return None


def tune(base: Head, samples: list[Sample], labels: list[str]) -> Head:
    """The base head adapted to these labelled samples (same classes, same shape)."""
    _check(base, labels)
    rows = head_rows(Batch(samples), base.idf, author=base.author, lexicon=base.text_lexicon)
    prior = np.asarray(rows @ base.text.coef.T, dtype=np.float64) + base.text.intercept
    features = _stack(rows, prior)
    target = np.array(labels)
    model = LinearSVC(C=C, class_weight="balanced", random_state=SEED).fit(features, target)
    coef, intercept = _fold(model, base, rows.shape[1])
    folds = StratifiedKFold(min(5, min(labels.count(c) for c in set(labels))), shuffle=True, random_state=SEED)
    decision = cross_val_predict(model, features, target, cv=folds, method="decision_function")
    from pilote.enrich.training import _platt

    platt = _platt(decision.reshape(len(labels), -1), target, model.classes_)
    meta = {**base.meta, "tuned": {"labels": len(labels), "date": utcnow().date().isoformat()}}
    return replace(base, text=Linear(coef=coef, intercept=intercept, platt=platt), meta=meta)


def _check(base: Head, labels: list[str]) -> None:
    missing = [str(c) for c in base.classes if labels.count(str(c)) < MINIMUM]
    if missing:
        raise Invalid(f"fine-tuning {base.meta['task']} needs at least {MINIMUM} labels of each class; too few for "
                      f"{', '.join(missing)}: label more in the cockpit (explorer), then train again")  # fmt: skip


def _stack(rows: Any, prior: np.ndarray) -> Any:
    from scipy import sparse

    return sparse.hstack([rows, sparse.csr_matrix(prior)], format="csr")


def _fold(model: LinearSVC, base: Head, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Decision = rows·w + prior·v + b, with prior = rows·base + c, is rows·(w + v·base) + (b + v·c)."""
    words, prior = model.coef_[:, :width], model.coef_[:, width:]
    coef = words + prior @ base.text.coef.astype(np.float64)
    intercept = model.intercept_ + prior @ base.text.intercept.astype(np.float64)
    return coef.astype(np.float32), intercept.astype(np.float32)


def save(conn: Connection, workspace_id: int, task: str, head: Head, labels: int) -> None:
    """Store (or replace) the workspace's tuned head."""
    conn.execute(delete(WorkspaceModel).where(WorkspaceModel.workspace_id == workspace_id, WorkspaceModel.task == task))
    values = {"workspace_id": workspace_id, "task": task, "model": to_bytes(head), "labels": labels}
    conn.execute(insert(WorkspaceModel).values(**values, trained_at=utcnow()))


def train_workspace(conn: Connection, workspace_id: int, task: str, base: Head) -> Tuned:
    """Fine-tune one task's head on the workspace's labels and store it."""
    _, samples, labels = labelled(conn, workspace_id, task)
    head = tune(base, samples, labels)
    save(conn, workspace_id, task, head, len(labels))
    return Tuned(task, len(labels), {str(c): labels.count(str(c)) for c in base.classes})
