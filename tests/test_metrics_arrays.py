"""The metrics computed over the facts' arrays give what a plain walk over the messages gives, on random facts
with what a store of a million messages may lack: anonymous messages, the team, members merged, members seen
before, replies whose parent is missing or unknown, counts the platform does not give, empty periods."""

from __future__ import annotations

import math
import random
from array import array
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from pilote import audience, community
from pilote.inbox.figures import percentile
from pilote.metrics import conversation, engagement, health
from pilote.metrics.catalogue import Scope
from pilote.metrics.facts import (
    DAY,
    MONDAY,
    NO_PARENT,
    NOBODY,
    UNKNOWN_PARENT,
    WEEK,
    Columns,
    Facts,
    Msg,
    distinct_values,
    lookup,
)

START = 1_750_000_000.0
CHANNELS = ("blog", "forum", "social")
TEAM = {1, 2}  # author ids
MERGED = {3: 900, 4: 900, 5: 901}  # author → member


def random_facts(seed: int, count: int = 3000, days: int = 400) -> Facts:
    """Messages over `days` days by a few hundred authors, a few much more active than most (two of them the
    team, a few merged, some anonymous)."""
    rng = random.Random(seed)
    moments = sorted(round(START + rng.random() * days * DAY, 3) for _ in range(count))
    ids = rng.sample(range(10, 10 * count), count)  # not in time order
    messages: list[Msg] = []
    for ident, at in zip(ids, moments, strict=True):
        who = rng.random()
        author = rng.choice(sorted(TEAM)) if who < 0.15 else min(int(rng.expovariate(1 / 80)) + 3, 500)
        author = None if who > 0.95 else author
        member = None if author is None else MERGED.get(author, -author)
        earlier = [m.id for m in messages[-50:]]
        parent = rng.choice([UNKNOWN_PARENT, 7, *earlier]) if earlier and rng.random() > 0.3 else None  # 7: not read
        thread = rng.choice([0, *earlier[:3]]) if parent is not None and earlier else None
        messages.append(Msg(
            ident, at, author, member, author in TEAM, parent, thread or None, rng.choice(CHANNELS),
            _maybe(rng, 20), _maybe(rng, 5), _maybe(rng, 8), _maybe(rng, 1000),
            rng.choice([None, "positive", "negative", "neutral", "mixed"]),
            rng.choice([None, "question", "complaint", "praise", "answer"]), (at - MONDAY) // WEEK * WEEK + MONDAY,
        ))  # fmt: skip
    arrays = (array("q", [m.id for m in messages]), array("d", [m.at for m in messages]),
              array("d", [m.week for m in messages]), array("q", [m.member or NOBODY for m in messages]),
              array("b", [m.team for m in messages]),
              array("q", [NO_PARENT if m.parent_id is None else m.parent_id for m in messages]),
              array("q", [m.thread_id or 0 for m in messages]),
              array("q", [CHANNELS.index(m.channel) for m in messages]))  # fmt: skip
    parents: dict[int, int | None] = {m.id: m.parent_id for m in messages} | {UNKNOWN_PARENT: None}
    seen = {member for member in (-10, -11, 900) if rng.random() > 0.3}
    return Facts(START, START + days * DAY, messages, Columns.read(CHANNELS, *arrays), parents, seen, TEAM)


def _maybe(rng: random.Random, most: int) -> int | None:
    return None if rng.random() < 0.2 else rng.randrange(most)


def scopes(facts: Facts) -> list[Scope]:
    """Periods of several lengths, each with the one before it, and periods without messages."""
    found = []
    for length in (7, 30, 90, 200):
        until = facts.end - 3 * DAY
        for since, end in ((until - length * DAY, until), (until - 2 * length * DAY, until - length * DAY)):
            found.append(Scope(None, 1, facts, since, end))  # type: ignore[arg-type]
    found.append(Scope(None, 1, facts, facts.end + DAY, facts.end + 30 * DAY))  # type: ignore[arg-type]
    found.append(Scope(None, 1, facts, facts.start - 30 * DAY, facts.start))  # type: ignore[arg-type]
    return found


def _community(scope: Scope, since: float, until: float) -> list[Msg]:
    return [m for m in scope.facts.messages if since <= m.at < until and m.member is not None and not m.team]


def _firsts(facts: Facts) -> dict[int, float]:
    found: dict[int, float] = {}
    for m in facts.messages:
        if m.member is not None and not m.team and m.member not in found:
            found[m.member] = m.at
    return {member: at for member, at in found.items() if member not in facts.seen_before}


def _activity(scope: Scope, since: float) -> dict[int, tuple[int, float]]:
    weeks: dict[int, set[float]] = {}
    last: dict[int, float] = {}
    for m in _community(scope, since, scope.until):
        assert m.member is not None
        weeks.setdefault(m.member, set()).add(m.week)
        last[m.member] = max(last.get(m.member, -math.inf), m.at)
    return {member: (len(found), last[member]) for member, found in weeks.items()}


def _reach(scope: Scope, since: float) -> dict[int, int]:
    writers = {m.id: m.member for m in scope.facts.messages}
    answering: dict[int, set[int]] = {}
    for m in _community(scope, since, scope.until):
        answered = writers.get(m.parent_id) if m.parent_id is not None else None
        if answered is not None and answered != m.member:
            assert m.member is not None
            answering.setdefault(answered, set()).add(m.member)
    return {member: len(found) for member, found in answering.items()}


def _cohorts(scope: Scope) -> dict[str, dict[str, object]]:
    cohort = {m: (at - MONDAY) // WEEK * WEEK + MONDAY for m, at in _firsts(scope.facts).items()
              if scope.since <= at < scope.until}  # fmt: skip
    active: Counter[tuple[float, int]] = Counter()
    written = {(member, m.week) for m in scope.facts.messages if m.at < scope.until and (member := m.member)}
    for member, week in written:
        if member in cohort:
            active[(cohort[member], int((week - cohort[member]) // WEEK))] += 1
    table: dict[str, dict[str, object]] = {}
    for start, size in sorted(Counter(cohort.values()).items()):
        weeks = min(health.COHORT_WEEKS, int((scope.until - start) // WEEK))
        kept = [round(100.0 * active.get((start, k), 0) / size, 2) for k in range(1, weeks + 1)]
        table[datetime.fromtimestamp(start, UTC).date().isoformat()] = {"members": size, "retained": kept}
    return table


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_member_metrics_are_the_walk_s(seed: int) -> None:
    facts = random_facts(seed)
    for scope in scopes(facts):
        firsts = _firsts(facts)
        length = scope.until - scope.since
        assert health._new(scope) == sum(scope.since <= at < scope.until for at in firsts.values())
        before = {m.member for m in _community(scope, scope.since - length, scope.since)}
        now = {m.member for m in _community(scope, scope.since, scope.until)} - before
        expected = sum(1 for member in now if firsts.get(member, -math.inf) < scope.since - length)  # type: ignore[arg-type]
        assert health._reactivated(scope) == expected
        assert health._cohorts(scope) == _cohorts(scope)
        active = _activity(scope, scope.until - health.REGULARS)
        low, high = health.QUIET
        expected = sum(1 for weeks, last in active.values() if weeks >= 3 and low <= scope.until - last < high)
        assert health._regulars(scope) == expected
        active, reach = _activity(scope, scope.until - health.YEAR), _reach(scope, scope.until - health.YEAR)
        levels = Counter(health.level_of(weeks, (scope.until - last) / DAY, reach.get(member, 0))
                         for member, (weeks, last) in active.items())  # fmt: skip
        assert health._levels(scope) == {level: levels.get(level, 0) for level in ("1", "2", "3", "4")}


def test_levels_at_once_are_level_of_s() -> None:
    weeks, days, reach = (np.array(values) for values in zip(*[
        (w, d, r) for w in (0, 1, 2, 3, 4, 11, 12, 13) for d in (0.0, 29.5, 30.0, 30.5, 60.0, 61.0, 90.0, 90.5)
        for r in (0, 4, 5, 9)], strict=True))  # fmt: skip
    expected = [health.level_of(w, d, r) for w, d, r in zip(weeks.tolist(), days.tolist(), reach.tolist(), strict=True)]
    assert health.levels_of(weeks, days, reach).tolist() == expected


def test_activity_after_an_earlier_one_adds_its_weeks() -> None:
    """`Activity.after` merges the history's activity as `_activity` did member by member."""
    read = health.Activity(np.array([-3, 5, 8]), np.array([2, 1, 4]), np.array([30.0, 40.0, 50.0]))
    earlier: dict[int, tuple[int, float]] = {8: (3, 10.0), -7: (1, 5.0), 5: (2, 1.0)}
    found = read.after(earlier)
    merged = zip(found.member.tolist(), zip(found.weeks.tolist(), found.last.tolist(), strict=True), strict=True)
    assert dict(merged) == {-3: (2, 30.0), 5: (3, 40.0), 8: (7, 50.0), -7: (1, 5.0)}


def _replies(facts: Facts) -> dict[int, tuple[float, int]]:
    """The team's first direct reply to each message, as `facts.first_replies` reads it (among these messages)."""
    found: dict[int, tuple[float, int]] = {}
    for m in facts.messages:
        if (
            m.author_id in TEAM
            and m.parent_id is not None
            and (m.parent_id not in found or m.at < found[m.parent_id][0])
        ):
            found[m.parent_id] = (m.at, m.author_id)
    return found


def _response(asked: list[tuple[Msg, float | None, int | None]]) -> dict[str, Any]:
    times = [max(0.0, (at - m.at) / 3600) for m, at, _ in asked if at is not None]
    rate = round(100.0 * len(times) / len(asked), 4) if asked else None
    return {"asked": len(asked), "response_rate": rate, "median_hours": percentile(times, 0.5),
            "p90_hours": percentile(times, 0.9)}  # fmt: skip


def _balance(period: list[Msg]) -> float | None:
    found = [m.sentiment for m in period if m.member is not None and not m.team
             and m.sentiment in ("positive", "negative", "neutral")]  # fmt: skip
    if not found:
        return None
    return round(100.0 * (found.count("positive") - found.count("negative")) / len(found), 4)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_response_and_the_posts_metrics_are_the_walk_s(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    facts = random_facts(seed)
    replies = _replies(facts)
    monkeypatch.setattr(
        engagement, "first_replies", lambda conn, ids, team: {i: replies[i] for i in ids if i in replies}
    )
    series = {"forum": [audience.Series("forum", 1, "a", [START + DAY * n for n in range(0, 400, 9)],
                                        list(range(100, 1000, 20)))]}  # fmt: skip
    for scope, followed in zip(scopes(facts), [{}, series] * 5, strict=True):
        scope.cache |= {"inbox": None, "followed": followed}
        period = [m for m in facts.messages if scope.since <= m.at < scope.until]
        asked = [(m, *replies.get(m.id, (None, None))) for m in period
                 if community.owes_answer(m.intent, m.author_id, TEAM)]  # fmt: skip
        total = _response(asked)
        assert [engagement._response_rate(scope), engagement._median(scope), engagement._p90(scope)] == [
            total["response_rate"], total["median_hours"], total["p90_hours"]]  # fmt: skip
        channels = sorted({m.channel for m, *_ in asked})
        assert engagement._by_channel(scope) == {
            c: _response([a for a in asked if a[0].channel == c]) for c in channels
        }
        by: dict[str, list[float]] = {}
        for m, at, author in asked:
            if at is not None:
                by.setdefault(str(author), []).append(max(0.0, (at - m.at) / 3600))
        assert engagement._by_member(scope) == {
            name: {"answers": len(times), "median_hours": percentile(times, 0.5), "p90_hours": percentile(times, 0.9)}
            for name, times in sorted(by.items())}  # fmt: skip
        views = [m.views for m in period if m.views is not None]
        assert engagement._organic_reach(scope) == (sum(views) if views else None)
        assert conversation._balance(scope) == _balance(period)
        found = engagement.posts(scope)
        team = [(facts.messages[position], comments)
                for position, comments in zip(found.position.tolist(), found.comments.tolist(), strict=True)
                if facts.messages[position].team]  # fmt: skip
        drew = {m.id: (m.likes or 0) + (m.shares or 0) + comments for m, comments in team}
        based = [(m, sum(s.at(m.at) for s in followed[m.channel])) for m, _ in team if m.channel in followed]
        per_follower = engagement._per_follower(scope)
        if sum(base for _, base in based):
            rate = round(100.0 * sum(drew[m.id] for m, _ in based) / sum(base for _, base in based), 4)
            assert (per_follower.value, str(len(based))) == (rate, per_follower.note.split("team's ")[1].split()[0])
        else:
            assert per_follower.value is None
        table = engagement._vanity(scope).value
        for channel in CHANNELS:
            mine = [m for m, _ in team if m.channel == channel]
            row = table.get(channel, {"team_posts": 0, "team_interactions": 0})
            assert (row["team_posts"], row["team_interactions"]) == (len(mine), sum(drew[m.id] for m in mine))


def test_distinct_values_and_lookups_are_numpy_s_and_a_dict_s() -> None:
    rng = np.random.default_rng(3)
    values = rng.integers(-40, 40, 500)
    assert distinct_values(values).tolist() == np.unique(values).tolist()
    assert distinct_values(np.zeros(0, dtype=np.int64)).tolist() == []
    keys = distinct_values(values[:100])
    table = {key: 10 * key for key in keys.tolist()}
    found = lookup(keys, keys * 10, values, -1)
    assert found.tolist() == [table.get(value, -1) for value in values.tolist()]
    assert lookup(keys[:0], keys[:0], values[:3], -1).tolist() == [-1, -1, -1]
