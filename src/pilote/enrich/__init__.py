"""Understanding each message, offline: analyzers registered here, run by `pipeline.run`."""

from __future__ import annotations

from pilote.enrich import classifiers, language
from pilote.enrich.base import Analyzer

# One line per analyzer; order matters when an analyzer reads another's column.
ANALYZERS: tuple[Analyzer, ...] = (
    language.ANALYZER,
    classifiers.SENTIMENT,
    classifiers.SPAM,
    classifiers.TOXICITY,
    classifiers.INTENT,
)


def get(names: list[str] | None = None) -> tuple[Analyzer, ...]:
    """The registered analyzers, or those named."""
    if not names:
        return ANALYZERS
    known = {analyzer.name: analyzer for analyzer in ANALYZERS}
    from pilote.errors import Invalid

    missing = [name for name in names if name not in known]
    if missing:
        raise Invalid(f"unknown analyzer {', '.join(missing)}: use one of {', '.join(known)}")
    return tuple(known[name] for name in names)
