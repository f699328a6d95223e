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
    version are analysed again, and only those.
    """

    name: str
    version: str
    columns: tuple[str, ...]
    analyze: Callable[[Sequence[Text]], list[Result]]
