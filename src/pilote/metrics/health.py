"""Community health: who is active, who arrives, stays, comes back or goes quiet, how much each carries.

Members are people (identities merged into one member count once); the team and anonymous messages are
left out: they are not the community.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from pilote.metrics import history
from pilote.metrics.catalogue import Scope, metric
from pilote.metrics.facts import (
    DAY,
    NO_PARENT,
    NOBODY,
    WEEK,
    Columns,
    authors,
    distinct,
    distinct_values,
    find,
    lookup,
    runs,
)
from pilote.texts import N_

MONTH = 30 * DAY
YEAR = 365 * DAY
COHORT_WEEKS = 12
REGULAR_WEEKS = 3  # active in at least this many weeks of the 90 days before...
QUIET = (7 * DAY, 28 * DAY)  # ...and silent since between 7 and 28 days: a regular gone quiet
REGULARS = 90 * DAY
LOOK_BACKS = (YEAR, REGULARS)  # how far back from a period's end member activity is read


def _present(scope: Scope, since: float, until: float) -> set[int]:
    """The members (the team left out) with a counted message in [since, until)."""
    columns = scope.facts.columns
    part = columns.span(since, until)
    return set(distinct_values(columns.member[part][columns.community[part]]).tolist())


def _members(scope: Scope) -> set[int]:
    """The period's members (the team left out)."""
    found: set[int] = scope.remember("members", lambda: _present(scope, scope.since, scope.until))
    return found


@dataclass(frozen=True, slots=True)
class Firsts:
    """Each member's first counted message in the facts: the members (sorted), when, and the week holding it."""

    member: np.ndarray
    at: np.ndarray
    week: np.ndarray

    def within(self, since: float, until: float) -> np.ndarray:
        """Whether each member's first message falls in [since, until)."""
        found: np.ndarray = (self.at >= since) & (self.at < until)
        return found


def _first_times(scope: Scope) -> Firsts:
    """Each member's first counted message in the facts (members seen before them are left out)."""

    def build() -> Firsts:
        columns, before = scope.facts.columns, scope.facts.seen_before
        kept = np.flatnonzero(columns.community)
        if not len(kept):
            return Firsts(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
        order = np.argsort(columns.member[kept])  # not np.unique's first indices: its stable sort is slower
        starts = runs(columns.member[kept][order])
        first = kept[np.minimum.reduceat(order, starts)]  # the earliest of each, in time order
        found = columns.member[first]
        new = ~np.isin(found, np.fromiter(before, dtype=np.int64, count=len(before)))
        return Firsts(found[new], columns.at[first][new], columns.week[first][new])

    found: Firsts = scope.facts.shared("first", build)
    return found


def _mean_distinct(scope: Scope, size: float) -> float | None:
    """Mean number of distinct members per block of `size` seconds, blocks counted back from the period's end."""
    blocks = max(1, int((scope.until - scope.since) // size))
    columns = scope.facts.columns
    part = columns.span(scope.until - blocks * size, scope.until)
    kept = columns.community[part]
    block = np.floor_divide(scope.until - columns.at[part][kept], size)
    _, new = distinct(block, columns.member[part][kept])
    return round(int(new.sum()) / blocks, 4)


@metric(
    "active_members", unit=N_("members"), formula=N_("distinct members with a counted message in the period"),
    purpose="how many people take part", pitfalls="one person with two unmerged identities counts twice",
    title=N_("Active members"),
)  # fmt: skip
def _active(scope: Scope) -> int:
    return len(_members(scope))


@metric(
    "daily_active_members", unit=N_("members/day"),
    formula=N_("mean over the period's days of distinct active members"),
    purpose="the everyday pulse", pitfalls="weekends and holidays weigh on short periods",
    title=N_("Active members per day"),
)  # fmt: skip
def _daily(scope: Scope) -> float | None:
    return _mean_distinct(scope, DAY)


@metric(
    "weekly_active_members", unit=N_("members/week"),
    formula=N_("mean over the period's 7-day blocks (back from its end; the last 7 days if shorter) of distinct "
    "active members"), purpose="the weekly pulse", pitfalls="blocks reach before a period shorter than a week",
    title=N_("Active members per week"),
)  # fmt: skip
def _weekly(scope: Scope) -> float | None:
    return _mean_distinct(scope, WEEK)


@metric(
    "monthly_active_members", unit=N_("members/30 days"),
    formula=N_("mean over the period's 30-day blocks (back from its end; the last 30 days if shorter) of distinct "
    "active members"), purpose="the monthly pulse", pitfalls="blocks reach before a period shorter than 30 days",
    title=N_("Active members per 30 days"),
)  # fmt: skip
def _monthly(scope: Scope) -> float | None:
    return _mean_distinct(scope, MONTH)


@metric(
    "new_members", unit=N_("members"), formula=N_("members whose first counted message falls in the period"),
    purpose="arrivals", pitfalls="a first import makes everyone new: read it after history is imported",
    title=N_("New members"),
)  # fmt: skip
def _new(scope: Scope) -> int:
    return int(_first_times(scope).within(scope.since, scope.until).sum())


def _before(scope: Scope) -> set[int]:
    """The members active in the period of the same length before the scope's (from the history too, when it
    reaches into it: the report reads the period before the previous one summed)."""
    length = scope.until - scope.since
    found = _present(scope, scope.since - length, scope.since)
    if (history := scope.facts.history) is not None:
        found |= set(history.since(scope.since - length))
    return found


@metric(
    "returning_members", unit=N_("members"), formula=N_("members active in the period and in the period before it "
    "(same length)"), purpose="who stays", pitfalls="depends on the period's length",
    title=N_("Returning members"),
)  # fmt: skip
def _returning(scope: Scope) -> int:
    return len(_members(scope) & _before(scope))


@metric(
    "reactivated_members", unit=N_("members"),
    formula=N_("members active in the period, silent in the period before it, active earlier"),
    purpose="who comes back", pitfalls="earlier activity is looked for over the whole history",
    title=N_("Reactivated members"),
)  # fmt: skip
def _reactivated(scope: Scope) -> int:
    length = scope.until - scope.since
    now = _members(scope) - _before(scope)
    first = _first_times(scope)
    moments = lookup(first.member, first.at, np.fromiter(now, dtype=np.int64, count=len(now)), -math.inf)
    return int((moments < scope.since - length).sum())


@metric(
    "retention_cohorts", unit=N_("table"),
    formula="members grouped by the week (Monday, UTC) of their first counted message in the period; per cohort, "
    f"its size and the % of it active in each of the next {COHORT_WEEKS} weeks (up to the period's end)",
    purpose="whether newcomers stay", pitfalls="recent cohorts have few weeks to show", better="neither",
    title=N_("Retention of newcomers"),
)  # fmt: skip
def _cohorts(scope: Scope) -> dict[str, dict[str, object]]:
    first = _first_times(scope)
    new = first.within(scope.since, scope.until)
    members, cohorts = first.member[new], first.week[new]
    active = _returns(scope, members, cohorts)
    table: dict[str, dict[str, object]] = {}
    for start, size in zip(*(found.tolist() for found in np.unique(cohorts, return_counts=True)), strict=True):
        weeks = min(COHORT_WEEKS, int((scope.until - start) // WEEK))
        kept = [round(100.0 * active.get((start, k), 0) / size, 2) for k in range(1, weeks + 1)]
        table[datetime.fromtimestamp(start, UTC).date().isoformat()] = {"members": size, "retained": kept}
    return table


def _returns(scope: Scope, cohort: np.ndarray, weeks_of: np.ndarray) -> Counter[tuple[float, int]]:
    """Per cohort (its week) and week since it (0 is its own), how many of its members wrote (any message of
    theirs before the period's end, the team's identities of a member included); the cohort's members sorted,
    each with its week."""
    columns = scope.facts.columns
    end = columns.span(-math.inf, scope.until).stop
    members, weeks = columns.member[:end], columns.week[:end]
    if not len(cohort) or not end:
        return Counter()
    where, inside = find(cohort, members)
    start = weeks_of[where][inside]
    since = np.floor_divide(weeks[inside] - start, WEEK).astype(np.int64)
    rows, new = distinct(start, since, members[inside])
    return Counter(zip(start[rows][new].tolist(), since[rows][new].tolist(), strict=True))


@metric(
    "inactive_regulars", unit=N_("members"),
    formula=f"members active in {REGULAR_WEEKS}+ distinct weeks of the 90 days before the period's end whose last "
    "counted message is 7 to 28 days old at the period's end", purpose="regulars gone quiet: worth a word",
    pitfalls="a holiday looks the same", better="lower",
    title=N_("Regulars gone quiet"),
)  # fmt: skip
def _regulars(scope: Scope) -> int:
    low, high = QUIET
    active = _activity(scope, scope.until - REGULARS)
    quiet = scope.until - active.last
    return int(((active.weeks >= REGULAR_WEEKS) & (low <= quiet) & (quiet < high)).sum())


@dataclass(frozen=True, slots=True)
class Activity:
    """Per member (the team left out), how many weeks have a message from a moment on, and the last moment."""

    member: np.ndarray  # int64
    weeks: np.ndarray  # int64
    last: np.ndarray  # float64

    def after(self, earlier: dict[int, tuple[int, float]]) -> Activity:
        """This activity following an earlier one (per member: weeks, last) whose weeks it does not overlap: the
        weeks added up, the last moment this one's where it has one."""
        member = np.fromiter(earlier, dtype=np.int64, count=len(earlier))
        weeks = np.fromiter((weeks for weeks, _ in earlier.values()), dtype=np.int64, count=len(earlier))
        last = np.fromiter((last for _, last in earlier.values()), dtype=np.float64, count=len(earlier))
        everyone = np.union1d(self.member, member)
        found = Activity(everyone, np.zeros(len(everyone), dtype=np.int64), np.zeros(len(everyone)))
        for part in (Activity(member, weeks, last), self):  # the later one's last moment written over
            where = np.searchsorted(found.member, part.member)
            found.weeks[where] += part.weeks
            found.last[where] = part.last
        return found


def _activity(scope: Scope, since: float) -> Activity:
    """Per member (the team left out), how many weeks have a message in [since, the period's end), and the last
    moment; from the messages read, and before them from the history (their weeks do not overlap)."""
    columns = scope.facts.columns
    part = columns.span(since, scope.until)
    kept = columns.community[part]
    members, weeks, moments = columns.member[part][kept], columns.week[part][kept], columns.at[part][kept]
    found = Activity(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    if len(members):
        order, new = distinct(members, weeks)
        ordered = members[order]
        starts = runs(ordered)
        counts = np.add.reduceat(new.astype(np.int64), starts)
        found = Activity(ordered[starts], counts, np.maximum.reduceat(moments[order], starts))
    if (history := scope.facts.history) is not None and (earlier := history.since(since)):
        found = found.after(earlier)
    return found


LEVELS = (
    ("1", "core", 12, 30, 5),  # (level, name, active weeks at least, days since last at most, reach at least)
    ("2", "regular", 4, 60, 0),
    ("3", "participant", 2, 90, 0),
)
LOWEST = "4"  # the others'


def level_of(weeks: int, days: float, reach: int) -> str:
    """A member's level from frequency (active weeks of the year), recency (days since) and reach."""
    for level, _name, least_weeks, most_days, least_reach in LEVELS:
        if weeks >= least_weeks and days <= most_days and reach >= least_reach:
            return level
    return LOWEST


def levels_of(weeks: np.ndarray, days: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """`level_of` of many members at once."""
    found = np.full(len(weeks), LOWEST)
    for level, _name, least_weeks, most_days, least_reach in reversed(LEVELS):  # the highest one met written last
        found[(weeks >= least_weeks) & (days <= most_days) & (reach >= least_reach)] = level
    return found


@metric(
    "member_levels", unit=N_("members per level"),
    formula=N_("over the year before the period's end: frequency = weeks with a message, recency = days since the "
    "last, reach = distinct members who replied to them; level 1 (core): 12+ weeks, seen within 30 days, reach "
    "5+; 2 (regular): 4+ weeks within 60 days; 3 (participant): 2+ weeks within 90 days; 4: the others"),
    purpose="the Orbit model's levels of love, for a funnel", pitfalls="a new member needs weeks to move up",
    better="neither",
    title=N_("Member levels"),
)  # fmt: skip
def _levels(scope: Scope) -> dict[str, int]:
    active = _activity(scope, scope.until - YEAR)
    days = (scope.until - active.last) / DAY
    reach = _reach(scope, scope.until - YEAR, active, days)
    found = dict(zip(*(values.tolist() for values in np.unique(levels_of(active.weeks, days, reach),
                                                               return_counts=True)), strict=True))  # fmt: skip
    return {level: found.get(level, 0) for level in ("1", "2", "3", LOWEST)}


def _reach(scope: Scope, since: float, active: Activity, days: np.ndarray) -> np.ndarray:
    """Per active member (`days`: since their last message), how many other members (the team left out) answered
    them in [since, the period's end); with a history, only for members whom reach could lift to a higher level
    (0 for the others), and only as far as a level asks (REACH_NEEDED): the replies among the messages read
    already give it to most of them, and the database counts the year's replies for the others only."""
    facts = scope.facts
    seen = lookup(*_seen_reach(scope, since, scope.until), active.member, 0)
    if facts.history is None:
        return seen
    wanted = _could_use_reach(active.weeks, days)
    # The messages read are a part of the look-back's (counted, not spam, in focus, parents and replies
    # alike): who answered a member there answered them in the look-back, so REACH_NEEDED found there holds.
    enough = wanted & (seen >= REACH_NEEDED)
    rest = active.member[wanted & ~enough].tolist()
    span, parents = (_moment(since), _moment(scope.until)), (facts.history.start, _moment(facts.end))
    identities = authors(scope.conn, scope.workspace_id, set(rest)) if rest else {}
    counted = history.reach(scope.conn, identities, span, parents, scope.focus, facts.team)
    found = np.where(enough, seen, 0)
    found[wanted & ~enough] = [counted.get(member, 0) for member in rest]
    return found


def _seen_reach(scope: Scope, since: float, until: float) -> tuple[np.ndarray, np.ndarray]:
    """Per member (sorted), how many other members (the team left out) answered, among the messages read, a
    message of theirs with a message written in [since, until)."""
    columns = scope.facts.columns
    ids, writers = scope.facts.shared("by id", lambda: _by_id(columns))
    part = columns.span(since, until)
    replies = columns.community[part] & (columns.parent[part] != NO_PARENT)
    parents, members = columns.parent[part][replies], columns.member[part][replies]
    where, known = find(ids, parents)
    answered = writers[where]
    kept = known & (answered != NOBODY) & (answered != members)
    order, new = distinct(answered[kept], members[kept])
    found: tuple[np.ndarray, np.ndarray] = np.unique(answered[kept][order][new], return_counts=True)
    return found


def _by_id(columns: Columns) -> tuple[np.ndarray, np.ndarray]:
    """The messages' ids sorted, and their members in that order (to find who wrote a parent)."""
    order = np.argsort(columns.id)
    return columns.id[order], columns.member[order]


REACH_NEEDED = max(least_reach for *_, least_reach in LEVELS)  # more reach than this changes no level


def _could_use_reach(weeks: np.ndarray, days: np.ndarray) -> np.ndarray:
    """Whether reach could lift each member a level (a level that asks for reach takes their weeks and days)."""
    found = np.zeros(len(weeks), dtype=np.bool_)
    for _, _, least, most, least_reach in LEVELS:
        if least_reach > 0:
            found |= (weeks >= least) & (days <= most)
    return found


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def gini(values: list[int]) -> float | None:
    """The Gini coefficient of non-negative counts: 0 when all are equal, near 1 when one holds everything."""
    if not values or not sum(values):
        return None
    ordered = sorted(values)
    n, total = len(ordered), sum(ordered)
    weighted = sum((i + 1) * v for i, v in enumerate(ordered))
    return round((2 * weighted) / (n * total) - (n + 1) / n, 4)


def _counts(scope: Scope) -> list[int]:
    """Messages per member of the period (the team left out), most first."""

    def build() -> list[int]:
        columns = scope.facts.columns
        part = columns.span(scope.since, scope.until)
        _, counts = np.unique(columns.member[part][columns.community[part]], return_counts=True)
        return sorted(counts.tolist(), reverse=True)

    found: list[int] = scope.remember("counts", build)
    return found


def _top_share(counts: list[int], share: float) -> float | None:
    if not counts:
        return None
    return round(100.0 * sum(counts[: math.ceil(len(counts) * share)]) / sum(counts), 4)


@metric(
    "gini", unit="0-1", formula=N_("Gini coefficient of messages per active member in the period"),
    purpose="concentration: whether a few carry the community", pitfalls="grows with one-time visitors",
    better="lower",
    title=N_("Concentration (Gini)"),
)  # fmt: skip
def _gini(scope: Scope) -> float | None:
    return gini(_counts(scope))


@metric(
    "top1_share", unit="%", formula=N_("share of the period's member messages written by the most active hundredth "
    "of members (at least one member)"), purpose="concentration at the very top",
    pitfalls="small communities: 1 person", better="lower",
    title=N_("Share of the most active hundredth"),
)  # fmt: skip
def _top1(scope: Scope) -> float | None:
    return _top_share(_counts(scope), 0.01)


@metric(
    "top10_share", unit="%", formula=N_("share of the period's member messages written by the most active tenth of "
    "members"),
    purpose="concentration", pitfalls="read it beside active_members", better="lower",
    title=N_("Share of the most active tenth"),
)  # fmt: skip
def _top10(scope: Scope) -> float | None:
    return _top_share(_counts(scope), 0.1)
