"""What the simulation produces before it is stored: people, drafts of messages, their ground truth."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(slots=True, frozen=True)
class Person:
    """Someone who writes: a member, the brand, a spammer, an outsider drawn in by the bad buzz."""

    key: str
    name: str
    handle: str
    social: str
    language: str
    role: str = "member"
    email: str | None = None
    weight: float = 0.0
    joined: float = -math.inf
    left: float = math.inf
    home: str = "social"
    followers: int = 0

    def active(self, at: float) -> bool:
        """Whether the person is part of the community at `at` (hours since the window start)."""
        return self.joined <= at < self.left


@dataclass(slots=True, frozen=True)
class Topic:
    """What a thread is about, shared by its messages whatever their language."""

    product: int
    part: int


@dataclass(slots=True)
class Truth:
    """The ground truth a detector is measured against; stored under "truth" in the raw payload."""

    intent: str
    sentiment: str
    language: str
    member: str
    role: str
    scenario: str = "baseline"
    needs_answer: bool = False
    answered_after: int | None = None
    spam: bool = False
    toxic: bool = False
    trigger: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The truth as plain JSON-ready values."""
        return asdict(self)


@dataclass(slots=True)
class Draft:
    """One message to be: `at` is in hours since the window start; ids are stable for a seed."""

    source: str
    external_id: str
    kind: str
    at: float
    author: Person
    text: str
    truth: Truth
    topic: Topic
    title: str | None = None
    url: str | None = None
    html: str | None = None
    parent: Draft | None = None
    root: Draft | None = None
    depth: int = 0
    children: int = 0
    likes: int | None = None
    shares: int | None = None
    replies: int | None = None

    @property
    def thread(self) -> Draft:
        """The root of the thread this message belongs to (itself for a root)."""
        return self.root or self


@dataclass(slots=True, frozen=True)
class Episode:
    """A ground-truth anomaly: where it lies in time and what happened."""

    name: str
    kind: str
    start: datetime
    end: datetime
    description: str


def child_kind(parent: Draft) -> str:
    """Social answers are replies; elsewhere a root gets comments and comments get replies."""
    return "comment" if parent.root is None and parent.source != "social" else "reply"


def child(parent: Draft, *, at: float, author: Person, text: str, truth: Truth) -> Draft:
    """A message answering `parent`, with an id derived from the parent's (stable for a seed)."""
    parent.children += 1
    return Draft(
        source=parent.source,
        external_id=f"{parent.external_id}.{parent.children}",
        kind=child_kind(parent),
        at=at,
        author=author,
        text=text,
        truth=truth,
        topic=parent.topic,
        parent=parent,
        root=parent.thread,
        depth=parent.depth + 1,
    )
