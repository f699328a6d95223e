"""The trained heads as analyzers: sentiment, spam, toxicity and intent.

Each reads the installation's own head when `pilote models train` wrote one ($PILOTE_HOME/models/<task>.npz),
else the one shipped in the package (enrich/models/<task>.npz).

Features are computed once per batch and shared by the four heads (the last few batches are kept), so each
head costs one sparse product. A workspace with a fine-tuned head (`pilote models train --workspace`) is
analysed with it; sentence vectors are used when the embeddings analyzer has cached them, otherwise the
text part answers alone.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache, partial
from operator import is_
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import select

from pilote import traces
from pilote.bulk import placeholder
from pilote.enrich import batches, spam
from pilote.enrich.base import Analyzer, Result, Text
from pilote.enrich.features import Batch, Sample
from pilote.enrich.heads import Head, from_bytes, in_force, load
from pilote.models import WorkspaceModel

VERSION = "2"
SPAM_VERSION = "3"  # the store's history joined the rules (first comment, bursts)
T = TypeVar("T")
_KEPT_BATCHES = 4
# The last few batches and their features (a list, not a dict: looking them up must not hash every text).
_BATCHES: deque[tuple[tuple[Text, ...], Batch]] = deque(maxlen=_KEPT_BATCHES)
# Fine-tuned heads by (workspace, task), with the time they were trained, loaded by `prepare`.
_WORKSPACE_HEADS: dict[tuple[int, str], tuple[str, Head]] = {}


def head(task: str) -> Head:
    """The head in force for a task (`heads.in_force`), loaded once per file; a clear Invalid if there is none."""
    path = in_force(task)
    try:
        status = path.stat()
    except FileNotFoundError:
        return load(path)
    return _loaded(path, status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=16)
def _loaded(path: Path, modified: int, size: int) -> Head:
    """A head file, read again only when it changed (a retrained model is used by the next batch)."""
    return load(path)


def content(t: Text) -> str:
    """The text a head reads: title and body."""
    return f"{t.title or ''} {t.text}".strip()


def sample(t: Text) -> Sample:
    """A message as the heads see it."""
    return Sample(content(t), t.author or "", t.author_url or "", t.parent)


def batch(texts: Sequence[Text]) -> Batch:
    """The features of these texts, computed once for all the heads that read them."""
    for kept, features in reversed(_BATCHES):  # the heads of a chunk ask in turn for the very same texts
        if len(kept) == len(texts) and all(map(is_, kept, texts)):
            return features
    key = tuple(texts)
    for kept, features in reversed(_BATCHES):  # equal texts in other objects (rare): compared, not hashed
        if kept == key:
            return features
    vectors = None
    if texts and all(t.vector is not None for t in texts):
        from pilote.enrich.embeddings import from_bytes as vector_of

        vectors = np.vstack([vector_of(t.vector) for t in texts if t.vector is not None])
    found = Batch([sample(t) for t in texts], vectors=vectors)
    _BATCHES.append((key, found))
    return found


Probabilities = tuple[list[str], list[float]]  # a head's classes, and one text's probabilities rounded to 4 places


def _probabilities(task: str, texts: Sequence[Text]) -> list[Probabilities]:
    """Per text, the classes of the head that read it (the workspace's tuned one, or the shipped one)."""
    return _by_model(texts, partial(_predict, task))


def _by_model(texts: Sequence[Text], run: Callable[[Head | None, Sequence[Text]], list[T]]) -> list[T]:
    """`run(tuned head or None, texts)` once per head the texts are read with, results in the texts' order."""
    if not texts:
        return []
    models = {id(t.tuned): t.tuned for t in texts}
    if len(models) == 1:  # one model for the whole batch: the usual case
        return run(next(iter(models.values())), texts)
    found: dict[int, T] = {}
    for key, tuned in models.items():
        positions = [i for i, t in enumerate(texts) if id(t.tuned) == key]
        found.update(zip(positions, run(tuned, [texts[i] for i in positions]), strict=True))
    return [found[i] for i in range(len(texts))]


def _predict(task: str, tuned: Head | None, texts: Sequence[Text]) -> list[Probabilities]:
    model = tuned if isinstance(tuned, Head) else head(task)
    names = [str(c) for c in model.classes]
    return [(names, row) for row in np.round(model.predict_proba(batch(texts)), 4).tolist()]


def _best(names: list[str], probabilities: list[float]) -> tuple[str, float]:
    """The most probable class (the first one on a tie) and its probability."""
    score = max(probabilities)
    return names[probabilities.index(score)], score


def _sentiment(texts: Sequence[Text]) -> list[Result]:
    results = []
    for names, probabilities in _probabilities("sentiment", texts):
        label, score = _best(names, probabilities)
        every = dict(zip(names, probabilities, strict=True))
        results.append({"sentiment": label, "sentiment_score": score, "probabilities": every})
    return results


def _spam(texts: Sequence[Text]) -> list[Result]:
    return _by_model(texts, _judge)


def _judge(tuned: Head | None, texts: Sequence[Text]) -> list[Result]:
    """The head's probability with the spam rules, and the reasons (see `spam.py`)."""
    model = tuned if isinstance(tuned, Head) else head("spam")
    return [j.result() for j in spam.judge(model, batch(texts), [t.team for t in texts], [t.history for t in texts])]


def _toxicity(texts: Sequence[Text]) -> list[Result]:
    return [{"toxicity_probability": p[names.index("toxic")]} for names, p in _probabilities("toxicity", texts)]


def _intent(texts: Sequence[Text]) -> list[Result]:
    found = _probabilities("intent", texts)
    return [{"intent": _best(names, p)[0], "probabilities": dict(zip(names, p, strict=True))} for names, p in found]


def prepare(task: str, conn: Any, texts: Sequence[Text]) -> Sequence[Text]:
    """Attach what the heads read beyond the text: workspace, parent post, cached vector, tuned head."""
    return with_tuned(task, conn, context(conn, texts))


def context(conn: Any, texts: Sequence[Text]) -> list[Text]:
    """The texts with their workspace, parent post and cached vector: looked up once for the four heads."""
    from pilote.enrich.embeddings import MODEL

    sql = (
        "SELECT m.id, m.workspace_id, p.title, p.text, e.vector, t.author_id FROM message m"
        " LEFT JOIN message p ON p.id = m.parent_id"
        f" LEFT JOIN embedding e ON e.message_id = m.id AND e.model = {placeholder(conn)}"
        " LEFT JOIN team_account t ON t.author_id = m.author_id"
    )
    found = {row[0]: row[1:] for row in batches.of_ids(conn, sql, [t.id for t in texts], MODEL)}
    return [_with_context(t, found.get(t.id)) for t in texts]


def _with_context(t: Text, row: Any) -> Text:
    if row is None:
        return t
    workspace_id, title, body, vector, team = row
    parent = f"{title or ''} {body}".strip() if body is not None else None
    vector = bytes(vector) if vector is not None else None  # a driver may give a buffer
    return Text(t.id, t.kind, t.title, t.text, t.author, t.author_url, t.language, workspace_id, parent, vector,
                t.tuned, team is not None, t.history)  # fmt: skip


def with_tuned(task: str, conn: Any, texts: Sequence[Text]) -> Sequence[Text]:
    """The texts of workspaces with a fine-tuned head for the task carry it; without any, the texts as given."""
    tuned = {w: workspace_head(conn, w, task) for w in {t.workspace_id for t in texts if t.workspace_id is not None}}
    if all(model is None for model in tuned.values()):
        return texts
    return [replace(t, tuned=tuned[t.workspace_id]) if t.workspace_id in tuned else t for t in texts]


def workspace_head(conn: Any, workspace_id: int, task: str) -> Head | None:
    """The workspace's fine-tuned head for the task, if it has one (loaded once per training)."""
    query = select(WorkspaceModel.model, WorkspaceModel.trained_at).where(
        WorkspaceModel.workspace_id == workspace_id, WorkspaceModel.task == task
    )
    row = conn.execute(query).first()
    if row is None:
        _WORKSPACE_HEADS.pop((workspace_id, task), None)
        return None
    stamp = str(row[1])
    known = _WORKSPACE_HEADS.get((workspace_id, task))
    if known is None or known[0] != stamp:
        known = (stamp, from_bytes(row[0], f"workspace {workspace_id}'s {task} model"))
        _WORKSPACE_HEADS[(workspace_id, task)] = known
    return known[1]


def with_history(conn: Any, texts: Sequence[Text]) -> Sequence[Text]:
    """The texts with what the store held before each (`traces.history`), and the workspace's tuned spam head."""
    # A first comment only doubles the other rules: asked only where one of them may fire.
    may = [t.id for t in texts if spam.may_rule(t.author or "", t.author_url or "")]
    found = traces.history(conn, [t.id for t in texts], first=may)
    if found:  # most messages have none to tell: they stay as they are
        texts = [t if t.id not in found else _with_history(t, found[t.id]) for t in texts]
    return with_tuned("spam", conn, texts)


def _with_history(t: Text, history: traces.History) -> Text:
    return Text(t.id, t.kind, t.title, t.text, t.author, t.author_url, t.language, t.workspace_id, t.parent, t.vector,
                t.tuned, t.team, history)  # fmt: skip


def model_stamp(task: str) -> str:
    """A short digest of the task's model file: a retrained model re-analyses every message."""
    path = in_force(task)
    if not path.exists():
        return "untrained"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _analyzer(name: str, columns: tuple[str, ...], analyze: Callable[[Sequence[Text]], list[Result]]) -> Analyzer:
    return Analyzer(name=name, version=VERSION, columns=columns, analyze=analyze, stamp=partial(model_stamp, name),
                    context=context, prepare=partial(with_tuned, name))  # fmt: skip


SENTIMENT = _analyzer("sentiment", ("sentiment", "sentiment_score"), _sentiment)
SPAM = replace(_analyzer("spam", ("spam_probability",), _spam), version=SPAM_VERSION, prepare=with_history,
               reads_history=True)  # fmt: skip
TOXICITY = _analyzer("toxicity", ("toxicity_probability",), _toxicity)
INTENT = _analyzer("intent", ("intent",), _intent)
