"""The trained heads as analyzers: sentiment, spam, toxicity and intent (models in enrich/models/*.npz).

Features are computed once per batch and shared by the four heads (the last few batches are kept), so each
head costs one sparse product. A workspace with a fine-tuned head (`pilote models train --workspace`) is
analysed with it; sentence vectors are used when the embeddings analyzer has cached them, otherwise the
text part answers alone.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import cache, partial
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import aliased

from pilote.enrich.base import Analyzer, Result, Text
from pilote.enrich.features import Batch, Sample
from pilote.enrich.heads import Head, from_bytes, load, path_of
from pilote.models import Message, WorkspaceModel

VERSION = "2"
_BATCHES: OrderedDict[tuple[Text, ...], Batch] = OrderedDict()
_KEPT_BATCHES = 4
# Fine-tuned heads by (workspace, task), with the time they were trained, loaded by `prepare`.
_WORKSPACE_HEADS: dict[tuple[int, str], tuple[str, Head]] = {}


@cache
def head(task: str) -> Head:
    """The shipped head of a task, loaded once; a clear Invalid if it was never trained."""
    return load(path_of(task))


def content(t: Text) -> str:
    """The text a head reads: title and body."""
    return f"{t.title or ''} {t.text}".strip()


def sample(t: Text) -> Sample:
    """A message as the heads see it."""
    return Sample(content(t), t.author or "", t.author_url or "", t.parent)


def batch(texts: Sequence[Text]) -> Batch:
    """The features of these texts, computed once for all the heads that read them."""
    key = tuple(texts)
    found = _BATCHES.get(key)
    if found is None:
        vectors = None
        if texts and all(t.vector is not None for t in texts):
            from pilote.enrich.embeddings import from_bytes as vector_of

            vectors = np.vstack([vector_of(t.vector) for t in texts if t.vector is not None])
        found = _BATCHES[key] = Batch([sample(t) for t in texts], vectors=vectors)
        while len(_BATCHES) > _KEPT_BATCHES:
            _BATCHES.popitem(last=False)
    return found


def _probabilities(task: str, texts: Sequence[Text]) -> list[dict[str, float]]:
    if not texts:
        return []
    found: list[dict[str, float]] = [{} for _ in texts]
    models = {id(t.tuned): t.tuned for t in texts}
    for key, tuned in models.items():
        positions = [i for i, t in enumerate(texts) if id(t.tuned) == key]
        model = tuned if isinstance(tuned, Head) else head(task)
        rows = model.predict_proba(batch([texts[i] for i in positions]))
        for i, row in zip(positions, rows, strict=True):
            found[i] = {str(c): round(float(p), 4) for c, p in zip(model.classes, row, strict=True)}
    return found


def _sentiment(texts: Sequence[Text]) -> list[Result]:
    results = []
    for probabilities in _probabilities("sentiment", texts):
        label = max(probabilities, key=probabilities.__getitem__)
        results.append({"sentiment": label, "sentiment_score": probabilities[label], "probabilities": probabilities})
    return results


def _spam(texts: Sequence[Text]) -> list[Result]:
    return [{"spam_probability": p["spam"]} for p in _probabilities("spam", texts)]


def _toxicity(texts: Sequence[Text]) -> list[Result]:
    return [{"toxicity_probability": p["toxic"]} for p in _probabilities("toxicity", texts)]


def _intent(texts: Sequence[Text]) -> list[Result]:
    found = _probabilities("intent", texts)
    return [{"intent": max(p, key=p.__getitem__), "probabilities": p} for p in found]


def prepare(task: str, conn: Any, texts: Sequence[Text]) -> list[Text]:
    """Attach what the heads read beyond the text: workspace, parent post, cached vector; load tuned heads."""
    from pilote.enrich.embeddings import MODEL, embedding_t

    ids = [t.id for t in texts]
    parent = aliased(Message)
    query = (
        select(Message.id, Message.workspace_id, parent.title, parent.text, embedding_t.c.vector)
        .outerjoin(parent, parent.id == Message.parent_id)
        .outerjoin(embedding_t, (embedding_t.c.message_id == Message.id) & (embedding_t.c.model == MODEL))
        .where(Message.id.in_(ids))
    )
    context = {row[0]: row[1:] for row in conn.execute(query)}
    tuned = {w: workspace_head(conn, w, task) for w in {row[0] for row in context.values()}}
    return [_with_context(t, context.get(t.id), tuned) for t in texts]


def _with_context(text: Text, row: Any, tuned: dict[int, Head | None]) -> Text:
    if row is None:
        return text
    workspace_id, title, body, vector = row
    parent = f"{title or ''} {body}".strip() if body is not None else None
    return replace(text, workspace_id=workspace_id, parent=parent, vector=vector, tuned=tuned[workspace_id])


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


def model_stamp(task: str) -> str:
    """A short digest of the task's model file: a retrained model re-analyses every message."""
    path = path_of(task)
    if not path.exists():
        return "untrained"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _analyzer(name: str, columns: tuple[str, ...], analyze: Callable[[Sequence[Text]], list[Result]]) -> Analyzer:
    return Analyzer(name=name, version=VERSION, columns=columns, analyze=analyze, stamp=partial(model_stamp, name),
                    prepare=partial(prepare, name))  # fmt: skip


SENTIMENT = _analyzer("sentiment", ("sentiment", "sentiment_score"), _sentiment)
SPAM = _analyzer("spam", ("spam_probability",), _spam)
TOXICITY = _analyzer("toxicity", ("toxicity_probability",), _toxicity)
INTENT = _analyzer("intent", ("intent",), _intent)
