"""Understanding each message, offline: analyzers registered here, run by `pipeline.run`."""

from __future__ import annotations

from pilote.enrich import classifiers, language
from pilote.enrich.base import Analyzer
from pilote.errors import Invalid

# One line per analyzer; order matters when an analyzer reads another's column.
ANALYZERS: tuple[Analyzer, ...] = (
    language.ANALYZER,
    classifiers.SENTIMENT,
    classifiers.SPAM,
    classifiers.TOXICITY,
    classifiers.INTENT,
)

# What runs after every import. The four heads stay opt-in (`pilote enrich --analyzer sentiment`) until
# they hold up on community text: on the demo community's ground truth they score far below their
# held-out figures (docs/models.md), and wrong spam or sentiment flags would mislead a team.
DEFAULT: tuple[str, ...] = ("language",)


def get(names: list[str] | None = None) -> tuple[Analyzer, ...]:
    """The default analyzers, or those named (any registered one)."""
    known = {analyzer.name: analyzer for analyzer in ANALYZERS}
    wanted = names or list(DEFAULT)
    missing = [name for name in wanted if name not in known]
    if missing:
        raise Invalid(f"unknown analyzer {', '.join(missing)}: use one of {', '.join(known)}")
    return tuple(known[name] for name in wanted)
