"""Understanding each message, offline: analyzers registered here, run by `pipeline.run`."""

from __future__ import annotations

from pilote.enrich import classifiers, embeddings, keyphrases, language, transformers_backend
from pilote.enrich.base import Analyzer
from pilote.errors import Invalid

# One line per analyzer; order matters when an analyzer reads another's column.
ANALYZERS: tuple[Analyzer, ...] = (
    language.ANALYZER,
    keyphrases.ANALYZER,  # after language: it picks its stop words by the language found
    embeddings.ANALYZER,  # before the heads: they read the vector it finds (opt-in: ~600 messages/s per core)
    classifiers.SENTIMENT,
    classifiers.SPAM,
    classifiers.TOXICITY,
    classifiers.INTENT,
    transformers_backend.ANALYZER,  # optional extra pilote[transformers]; imports torch only when run
)

# What runs after every import and sync: everything but the sentence vectors, which cost ~1.5 ms a message
# (opt-in: `pilote enrich --analyzer embeddings`, after which the heads use them too). The four heads run by
# default since their shared features became cheap (docs/benchmarks.md): on the demo community's ground
# truth, 1-2 % of genuine messages are flagged as spam and 90 % of the spam is caught (docs/models.md).
DEFAULT: tuple[str, ...] = ("language", "keyphrases", "sentiment", "spam", "toxicity", "intent")


def get(names: list[str] | None = None) -> tuple[Analyzer, ...]:
    """The default analyzers, or those named (any registered one), in the registry's order."""
    known = {analyzer.name: analyzer for analyzer in ANALYZERS}
    wanted = names or list(DEFAULT)
    missing = [name for name in wanted if name not in known]
    if missing:
        raise Invalid(f"unknown analyzer {', '.join(missing)}: use one of {', '.join(known)}")
    return tuple(analyzer for analyzer in ANALYZERS if analyzer.name in wanted)
