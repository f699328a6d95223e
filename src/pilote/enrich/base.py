"""The contract of an analyzer: a named, versioned function over a batch of messages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Text:
    """What an analyzer may read of a message."""

    id: int
    kind: str
    title: str | None
    text: str
    author: str | None = None
    author_url: str | None = None


Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Analyzer:
    """`analyze` returns one result per text: message columns it owns (`columns`) and extra values.

    Bump `version` whenever the output for the same text may change: messages analysed by another
    version are analysed again, and only those. `stamp`, when given, identifies what the code depends on
    (a trained model's file), so retraining re-analyses without a code change.
    """

    name: str
    version: str
    columns: tuple[str, ...]
    analyze: Callable[[Sequence[Text]], list[Result]]
    stamp: Callable[[], str] | None = None

    def current_version(self) -> str:
        """The version recorded with each result: the code's, plus the stamp of its model if any."""
        return f"{self.version}+{self.stamp()}" if self.stamp is not None else self.version
