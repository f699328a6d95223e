"""The catalogue: one entry per metric (name, unit, formula, purpose, pitfalls, compute), in one registry.

A metric is a function of a `Scope` (a period of a workspace, with what was read for it) registered with
`@metric(...)`: one decorator, and the CLI, the API and docs/metrics.md have it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection

from pilote.metrics.facts import EVERYTHING, Facts, Focus
from pilote.texts import N_


@dataclass(slots=True)
class Scope:
    """One period [since, until) of a workspace, with the facts read for it (and its neighbours)."""

    conn: Connection
    workspace_id: int
    facts: Facts
    since: float
    until: float
    focus: Focus = EVERYTHING
    settings: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def channel(self) -> str | None:
        """The one channel read, if the focus names one."""
        return self.focus.channel

    def remember(self, key: str, compute: Callable[[], Any]) -> Any:
        """A value several metrics share, computed once per period."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


# The notes metrics write, in English; a page finds their template again (`recognise`) to say them in its
# reader's language.
NOT_REACHED = N_(
    "not computed: no post of the period has a known reach, and no post of the team is on a channel whose followers "
    "are stored"
)
PER_REACH = N_("per reach (views) of %(reached)s of %(posts)s posts")
PER_FOLLOWER = N_(
    "per follower: the team's %(counted)s posts on channels with follower counts (of %(posts)s posts), over their "
    "channel's followers"
)
NO_FOLLOWERS = N_("followers: no source of this part of the workspace reports its own account's followers")
FOLLOWERS_SEEN = N_(
    "followers: the last count of the period, as the platforms reported it at Pilote's syncs (own accounts: "
    "%(accounts)s)"
)
NO_SETS = N_("not computed: no keyword sets (pilote metrics competitors set NAME KEYWORD...)")
VOICES = N_("messages: %(counts)s")
NOTES = (NOT_REACHED, PER_REACH, PER_FOLLOWER, NO_FOLLOWERS, FOLLOWERS_SEEN, NO_SETS, VOICES)


@dataclass(frozen=True, slots=True)
class Noted:
    """A value with a sentence saying how it was computed, or why it was not."""

    value: Any
    note: str


@dataclass(frozen=True, slots=True)
class Metric:
    """One entry of the catalogue."""

    name: str
    unit: str
    formula: str
    purpose: str
    pitfalls: str
    compute: Callable[[Scope], Any]
    better: str = "higher"  # which way is good for the community: higher, lower or neither
    title: str = ""  # how a page names it, in English (marked N_: said in the reader's language)


CATALOGUE: dict[str, Metric] = {}


def metric(
    name: str, *, title: str, unit: str, formula: str, purpose: str, pitfalls: str, better: str = "higher"
) -> Callable[[Callable[[Scope], Any]], Callable[[Scope], Any]]:
    """Register a metric's compute function under `name` with its documentation; `title` names it on a page."""

    def register(compute: Callable[[Scope], Any]) -> Callable[[Scope], Any]:
        if name in CATALOGUE:
            raise ValueError(f"metric {name!r} is registered twice")
        CATALOGUE[name] = Metric(name, unit, formula, purpose, pitfalls, compute, better, title)
        return compute

    return register


def markdown() -> str:
    """docs/metrics.md's catalogue section, written from the registry."""
    lines = ["| metric | shown as | unit | formula | purpose | pitfalls | good when |", "|---|---|---|---|---|---|---|"]
    for entry in CATALOGUE.values():
        cells = (f"`{entry.name}`", entry.title, entry.unit, entry.formula, entry.purpose, entry.pitfalls,
                 entry.better)  # fmt: skip
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"
