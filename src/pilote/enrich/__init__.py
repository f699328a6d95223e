"""Understanding each message, offline: analyzers registered here, run by `pipeline.run`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from pilote.config import get_settings
from pilote.enrich import classifiers, embeddings, keyphrases, language, transformers_backend
from pilote.enrich.base import Analyzer, Result, Text
from pilote.errors import Invalid

# One line per analyzer; order matters when an analyzer reads another's column.
ANALYZERS: tuple[Analyzer, ...] = (
    language.ANALYZER,
    keyphrases.ANALYZER,  # after language: it picks its stop words by the language found
    embeddings.ANALYZER,  # before the heads: they read the vector it finds (~600 messages/s per core)
    classifiers.SENTIMENT,
    classifiers.SPAM,
    classifiers.TOXICITY,
    classifiers.INTENT,
    transformers_backend.ANALYZER,  # optional extra pilote[transformers]; imports torch only when run
)

# What runs after every import and sync: every analyzer but the optional transformers one. The sentence vectors
# cost ~1.5 ms a message and lift the heads (sentiment on tweets: 61 → 65 macro-F1, nested, docs/models.md); the
# `embeddings` setting (PILOTE_EMBEDDINGS, on by default) turns them off for an installation that wants the text
# part alone, ~8 times faster. The four heads run by default since their shared features became cheap
# (docs/benchmarks.md).
DEFAULT: tuple[str, ...] = ("language", "keyphrases", "sentiment", "spam", "toxicity", "intent")
HEADS: tuple[str, ...] = ("sentiment", "spam", "toxicity", "intent")  # the four that blend the vectors in
WITH_VECTORS = "v"  # a head's version ends with it when the pipeline gives it the sentence vectors


def get(names: list[str] | None = None, *, vectors: bool | None = None) -> tuple[Analyzer, ...]:
    """The default analyzers, or those named (any registered one), in the registry's order.

    With `vectors` (the installation's `embeddings` setting unless given), a head never runs without the
    embeddings analyzer before it, and its version says so: a store judged text only is judged again with the
    vectors when they are turned on (by the analysis jobs, newest first), and again text only when they are
    turned off."""
    known = {analyzer.name: analyzer for analyzer in ANALYZERS}
    wanted = list(names or DEFAULT)
    missing = [name for name in wanted if name not in known]
    if missing:
        raise Invalid(f"unknown analyzer {', '.join(missing)}: use one of {', '.join(known)}")
    if vectors is None:
        vectors = get_settings().embeddings
    if vectors and any(name in HEADS for name in wanted):
        wanted.append(embeddings.ANALYZER.name)
    chosen = tuple(analyzer for analyzer in ANALYZERS if analyzer.name in wanted)
    if not vectors:  # text only, even where vectors are cached or computed in the same run
        return tuple(replace(a, analyze=partial(_text_only, a.analyze)) if a.name in HEADS else a for a in chosen)
    return tuple(replace(a, version=a.version + WITH_VECTORS) if a.name in HEADS else a for a in chosen)


def _text_only(analyze: Callable[[Sequence[Text]], list[Result]], texts: Sequence[Text]) -> list[Result]:
    """A head's judgements of texts as if no sentence vector were known for them."""
    if any(t.vector is not None for t in texts):
        texts = [t if t.vector is None else replace(t, vector=None) for t in texts]
    return analyze(texts)
