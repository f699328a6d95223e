"""The shape of one language's text material (see phrases_fr for what the slots mean)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

Templates = Sequence[str]


@dataclass(slots=True, frozen=True)
class Lexicon:
    """Templates by intent, slot values, and the forms of the parts of a bike, for one language."""

    language: str
    parts: tuple[tuple[str, str, str], ...]
    slots: Mapping[str, Templates]
    cores: Mapping[str, Templates]
    buzz: Mapping[str, Templates] = field(default_factory=dict)
    openers: Mapping[str, Templates] = field(default_factory=dict)
    details: Mapping[str, Templates] = field(default_factory=dict)
    closers: Mapping[str, Templates] = field(default_factory=dict)
    titles: Mapping[str, Templates] = field(default_factory=dict)
    paragraphs: Templates = ()


def words(text: str) -> tuple[str, ...]:
    """The space-separated words of `text` (lists of names are easier to read that way)."""
    return tuple(text.split())
