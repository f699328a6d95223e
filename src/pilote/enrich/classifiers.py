"""The trained heads as analyzers: sentiment, spam, toxicity and intent (models in enrich/models/*.npz)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import cache, partial

from pilote.enrich.base import Analyzer, Result, Text
from pilote.enrich.heads import Head, load, path_of


@cache
def head(task: str) -> Head:
    """The shipped head of a task, loaded once; a clear Invalid if it was never trained."""
    return load(path_of(task))


def _content(t: Text) -> str:
    return f"{t.title or ''} {t.text}".strip()


def _probabilities(task: str, texts: list[str]) -> list[dict[str, float]]:
    model = head(task)
    if not texts:
        return []
    rows = model.predict_proba(texts)
    return [{str(c): round(float(p), 4) for c, p in zip(model.classes, row, strict=True)} for row in rows]


def _sentiment(texts: Sequence[Text]) -> list[Result]:
    results = []
    for probabilities in _probabilities("sentiment", [_content(t) for t in texts]):
        label = max(probabilities, key=probabilities.__getitem__)
        results.append({"sentiment": label, "sentiment_score": probabilities[label], "probabilities": probabilities})
    return results


def _spam(texts: Sequence[Text]) -> list[Result]:
    # Trained as "author url text": the author's name and site often give spam away.
    composed = [f"{t.author or ''} {t.author_url or ''} {_content(t)}" for t in texts]
    return [{"spam_probability": p["spam"]} for p in _probabilities("spam", composed)]


def _toxicity(texts: Sequence[Text]) -> list[Result]:
    return [{"toxicity_probability": p["toxic"]} for p in _probabilities("toxicity", [_content(t) for t in texts])]


def _intent(texts: Sequence[Text]) -> list[Result]:
    found = _probabilities("intent", [_content(t) for t in texts])
    return [{"intent": max(p, key=p.__getitem__), "probabilities": p} for p in found]


def model_stamp(task: str) -> str:
    """A short digest of the task's model file: a retrained model re-analyses every message."""
    path = path_of(task)
    if not path.exists():
        return "untrained"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _analyzer(name: str, columns: tuple[str, ...], analyze: Callable[[Sequence[Text]], list[Result]]) -> Analyzer:
    return Analyzer(name=name, version="1", columns=columns, analyze=analyze, stamp=partial(model_stamp, name))


SENTIMENT = _analyzer("sentiment", ("sentiment", "sentiment_score"), _sentiment)
SPAM = _analyzer("spam", ("spam_probability",), _spam)
TOXICITY = _analyzer("toxicity", ("toxicity_probability",), _toxicity)
INTENT = _analyzer("intent", ("intent",), _intent)
