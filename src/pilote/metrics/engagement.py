"""Engagement per post and the team's response: what the audience does with what is published (beside the
followers of the workspace's own accounts, see audience.py), and how fast the team answers (from the team inbox's
records where it has them, see inbox/figures.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from pilote import audience
from pilote.errors import fill
from pilote.inbox import figures
from pilote.inbox.figures import percentile
from pilote.metrics.catalogue import (
    FOLLOWERS_SEEN,
    NO_FOLLOWERS,
    NOT_REACHED,
    PER_FOLLOWER,
    PER_REACH,
    Noted,
    Scope,
    metric,
)
from pilote.metrics.facts import (
    EVERYTHING,
    NO_PARENT,
    POSTS,
    Facts,
    Msg,
    distinct,
    distinct_values,
    find,
    first_replies,
    judged,
    lookup,
    numbers,
)
from pilote.texts import N_

HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Posts:
    """The period's top-level messages (no parent) as arrays, in time order, with what they drew (likes, shares
    and views read as 0 where the platform gives none)."""

    position: np.ndarray  # in the facts' messages
    likes: np.ndarray
    shares: np.ndarray
    views: np.ndarray
    team: np.ndarray  # bool
    comments: np.ndarray  # the platform's reply count when it gives one, else the comments stored

    def __len__(self) -> int:
        return len(self.position)

    @property
    def interactions(self) -> np.ndarray:
        found: np.ndarray = self.likes + self.shares + self.comments
        return found

    def part(self, first: int, last: int) -> Posts:
        """The posts of messages first to last, their positions counted from first (`Facts.narrowed`)."""
        inside = slice(*np.searchsorted(self.position, [first, last]).tolist())
        return Posts(self.position[inside] - first, self.likes[inside], self.shares[inside], self.views[inside],
                     self.team[inside], self.comments[inside])  # fmt: skip

    def mean(self, values: np.ndarray) -> float | None:
        """A count per post, as the catalogue rounds it."""
        return round(int(values.sum()) / len(self), 4) if len(self) else None


def _counts(messages: list[Msg], name: str) -> np.ndarray:
    return numbers([getattr(m, name) for m in messages], 0)


def every_post(facts: Facts) -> Posts:
    """The facts' posts (kept with them for both periods, and with the narrower facts made of them)."""

    def build() -> Posts:
        position = np.flatnonzero(facts.columns.parent == NO_PARENT)
        tops = [facts.messages[i] for i in position.tolist()]
        replies = _counts(tops, "replies")
        team = facts.columns.team[position]
        return Posts(position, _counts(tops, "likes"), _counts(tops, "shares"), _counts(tops, "views"), team, replies)

    found: Posts = facts.shared(POSTS, build)
    return found


def posts(scope: Scope) -> Posts:
    """The period's top-level messages (no parent), each with its comments."""

    def build() -> Posts:
        columns, found = scope.facts.columns, every_post(scope.facts)
        part = columns.span(scope.since, scope.until)
        inside = slice(*np.searchsorted(found.position, [part.start, part.stop]).tolist())
        end = part.stop  # comments written up to the period's end
        commented = (columns.parent[:end] != NO_PARENT) & (columns.thread[:end] != 0)
        threads, counts = np.unique(columns.thread[:end][commented], return_counts=True)
        ids = columns.id[found.position[inside]]
        where, hit = find(threads, ids)
        stored = np.zeros(len(ids), dtype=np.int64)
        stored[hit] = counts[where[hit]]
        return Posts(found.position[inside], found.likes[inside], found.shares[inside], found.views[inside],
                     found.team[inside], np.maximum(found.comments[inside], stored))  # fmt: skip

    period: Posts = scope.remember("posts", build)
    return period


@metric(
    "posts", unit=N_("messages"), formula=N_("top-level messages (no parent) written in the period"),
    purpose="what the per-post figures divide by", pitfalls="a mention or a review is top-level too; a comment "
    "whose post was never imported is a comment, not a post (a Reddit export of a thread's comments holds no post)",
    better="neither",
    title=N_("Posts"),
)  # fmt: skip
def _posts(scope: Scope) -> int:
    return len(posts(scope))


@metric(
    "engagement_rate", unit="%",
    formula=N_("(likes + shares + comments) of the period's posts whose reach (views) is known, over their "
    "views, x100; when no post has a known reach: (likes + shares + comments) of the team's posts on channels whose "
    "followers are stored, over their channel's followers when each was written (the nearest count), x100; else not "
    "computed"),
    purpose="whether what is published makes people act, independent of audience size",
    pitfalls="platforms count views differently; the note says which base was used (views or followers); follower "
    "counts are the platforms' own, kept at each sync; only the workspace's own accounts' followers are known, so "
    "others' posts are left out of the per-follower base",
    title=N_("Engagement rate"),
)  # fmt: skip
def _engagement_rate(scope: Scope) -> Noted:
    found = posts(scope)
    reached = found.views != 0
    if not reached.any():
        return _per_follower(scope)
    rate = round(100.0 * int(found.interactions[reached].sum()) / int(found.views[reached].sum()), 4)
    return Noted(rate, fill(PER_REACH, {"reached": int(reached.sum()), "posts": len(found)}))


def followed(scope: Scope) -> dict[str, list[audience.Series]]:
    """The follower counts of the workspace's own accounts in the period (and the last one before it), by
    channel, for the part of the workspace in focus (its channel and sources; an account's followers are the same
    whatever the language or topic)."""

    def build() -> dict[str, list[audience.Series]]:
        since, until = (datetime.fromtimestamp(moment, UTC) for moment in (scope.since, scope.until))
        found: dict[str, list[audience.Series]] = defaultdict(list)
        for series in audience.read(scope.conn, scope.workspace_id, since, until, channel=scope.focus.channel,
                                    sources=scope.focus.sources):  # fmt: skip
            found[series.channel].append(series)
        return dict(found)

    found: dict[str, list[audience.Series]] = scope.remember("followed", build)
    return found


def _per_follower(scope: Scope) -> Noted:
    """The team's posts' interactions over their channel's followers when each was written."""
    channels, found, columns = followed(scope), posts(scope), scope.facts.columns
    names = columns.channels
    counted = found.team & np.isin(columns.channel[found.position], [names.index(name) for name in channels
                                                                     if name in names])  # fmt: skip
    based = [sum(s.at(at) for s in channels[names[place]]) for at, place
             in zip(columns.at[found.position[counted]].tolist(), columns.channel[found.position[counted]].tolist(),
                    strict=True)]  # fmt: skip
    followers = sum(based)
    if not followers:
        return Noted(None, NOT_REACHED)
    rate = round(100.0 * int(found.interactions[counted].sum()) / followers, 4)
    return Noted(rate, fill(PER_FOLLOWER, {"counted": len(based), "posts": len(found)}))


@metric(
    "comments_per_post", unit=N_("comments/post"),
    formula=N_("comments on the period's posts (the platform's count, else the stored comments) / posts"),
    purpose="conversation rate: whether posts start conversations",
    pitfalls="comments written after the period's end are not counted yet; spam and deleted comments are not",
    title=N_("Comments per post"),
)  # fmt: skip
def _comments_per_post(scope: Scope) -> float | None:
    found = posts(scope)
    return found.mean(found.comments)


@metric(
    "amplification", unit=N_("shares/post"),
    formula=N_("shares (reposts, boosts, retweets) of the period's posts / posts"),
    purpose="whether the audience carries posts to its own audience", pitfalls="blogs and forums give no shares",
    title=N_("Amplification (shares per post)"),
)  # fmt: skip
def _amplification(scope: Scope) -> float | None:
    found = posts(scope)
    return found.mean(found.shares)


@metric(
    "applause", unit=N_("likes/post"), formula=N_("likes (favourites, upvotes) of the period's posts / posts"),
    purpose="quiet approval", pitfalls="the latest count seen, not the count at the period's end",
    title=N_("Applause (likes per post)"),
)  # fmt: skip
def _applause(scope: Scope) -> float | None:
    found = posts(scope)
    return found.mean(found.likes)


@metric(
    "organic_reach", unit=N_("views"), formula=N_("views of the period's messages where the platform gives them"),
    purpose="the organic reach trend, beside the previous period", pitfalls="only sources that report views count",
    title=N_("Organic reach"),
)  # fmt: skip
def _organic_reach(scope: Scope) -> int | None:
    views = judged(scope.facts).views[scope.facts.columns.span(scope.since, scope.until)]
    known = views[~np.isnan(views)]
    return int(known.astype(np.int64).sum()) if len(known) else None


@metric(
    "vanity_vs_engagement", unit=N_("table"),
    formula=N_("per channel: followers of the workspace's own accounts (their last count in the period, summed) and "
    "their change (from the last count before the period, else the first in it), beside the team's posts of the "
    "period, their interactions (likes + shares + comments), the engaged members (people outside the team who "
    "wrote on the channel in the period) and the interactions per 1,000 followers"),
    purpose="shows fan counts beside what they bring",
    pitfalls="follower counts are the platforms' own, kept at each sync (nothing between syncs, nothing before the "
    "first); likes and shares are counts without names, so engaged members are those who wrote; blogs and forums "
    "have no followers",
    better="neither",
    title=N_("Fans beside engagement"),
)  # fmt: skip
def _vanity(scope: Scope) -> Noted:
    table: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "followers": None, "followers_change": None, "team_posts": 0, "team_interactions": 0, "engaged_members": 0,
        "per_1000_followers": None})  # fmt: skip
    accounts = 0
    for channel, found in sorted(followed(scope).items()):
        for series in found:
            inside = series.within(scope.since, scope.until)
            if not inside:
                continue
            accounts += 1
            start = series.before(scope.since)
            start = inside[0] if start is None else start
            row = table[channel]
            row["followers"] = (row["followers"] or 0) + inside[-1]
            row["followers_change"] = (row["followers_change"] or 0) + inside[-1] - start
    period, columns = posts(scope), scope.facts.columns
    places, interactions = columns.channel[period.position[period.team]], period.interactions[period.team]
    for place in distinct_values(places).tolist():
        row, mine = table[columns.channels[place]], places == place
        row["team_posts"], row["team_interactions"] = int(mine.sum()), int(interactions[mine].sum())
    part = columns.span(scope.since, scope.until)
    kept = columns.community[part]
    order, new = distinct(columns.channel[part][kept], columns.member[part][kept])
    for place, members in zip(*np.unique(columns.channel[part][kept][order][new], return_counts=True), strict=True):
        table[columns.channels[place]]["engaged_members"] = int(members)
    for row in table.values():
        if row["followers"]:
            row["per_1000_followers"] = round(1000.0 * row["team_interactions"] / row["followers"], 2)
    note = fill(FOLLOWERS_SEEN, {"accounts": accounts}) if accounts else NO_FOLLOWERS
    return Noted({channel: table[channel] for channel in sorted(table)}, note)


# --- the team's response ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asks:
    """Questions and complaints with the team's first answers, as arrays in time order."""

    at: np.ndarray  # float64
    channel: np.ndarray  # int64: the channel's place in the columns' channels
    answered_at: np.ndarray  # float64, NaN when not answered
    by: np.ndarray  # int64: who answered first (a team author's id), 0 when nobody did

    def __len__(self) -> int:
        return len(self.at)

    @property
    def answered(self) -> np.ndarray:
        found: np.ndarray = ~np.isnan(self.answered_at)
        return found

    @property
    def hours(self) -> np.ndarray:
        """How long the answered ones waited (never less than 0: clocks differ between platforms)."""
        answered = self.answered
        found: np.ndarray = np.maximum(0.0, (self.answered_at[answered] - self.at[answered]) / HOUR)
        return found

    def where(self, kept: np.ndarray) -> Asks:
        """The asks a mask keeps."""
        return Asks(self.at[kept], self.channel[kept], self.answered_at[kept], self.by[kept])


def asks(scope: Scope) -> Asks:
    """The period's questions and complaints to the team, as `community` decides them, with first answers."""

    def build() -> Asks:
        columns = scope.facts.columns
        part = columns.span(scope.since, scope.until)
        # `community.owes_answer` over the arrays: a question or a complaint, not by the team
        owed = np.flatnonzero(judged(scope.facts).asking[part] & ~columns.team[part]) + part.start
        ids = columns.id[owed]
        replies = first_replies(scope.conn, ids.tolist(), scope.facts.team)
        answered = np.fromiter(replies, dtype=np.int64, count=len(replies))
        order = np.argsort(answered)
        moments = np.fromiter((at for at, _ in replies.values()), dtype=np.float64, count=len(replies))[order]
        by = np.fromiter((by for _, by in replies.values()), dtype=np.int64, count=len(replies))[order]
        return Asks(columns.at[owed], columns.channel[owed], lookup(answered[order], moments, ids, np.nan),
                    lookup(answered[order], by, ids, 0))  # fmt: skip

    found: Asks = scope.remember("asks", build)
    return found


def inbox(scope: Scope) -> figures.Asked | None:
    """The period's items of the team inbox (docs/inbox.md, Team figures), when the inbox has records up to the
    period's end; None: it has none (it never ran, or it started later), and the messages answer instead."""

    def build() -> figures.Asked | None:
        since, until = (datetime.fromtimestamp(moment, UTC) for moment in (scope.since, scope.until))
        first = figures.start(scope.conn, scope.workspace_id)
        if first is None or first >= until or replace(scope.focus, channel=None) != EVERYTHING:
            return None  # the inbox's items know their channel, not a source, language or topic
        return figures.read_asked(scope.conn, scope.workspace_id, since, until, channel=scope.channel)

    found: figures.Asked | None = scope.remember("inbox", build)
    return found


def _inbox_note(found: figures.Asked, scope: Scope) -> str:
    note = f"from the team inbox: {found.total.asked:,} items opened in the period"
    if found.start is not None and found.start.timestamp() > scope.since:
        note += f" (its records start on {found.start:%Y-%m-%d})"
    return note


def _from_inbox(row: figures.Row) -> dict[str, Any]:
    times = row.first_response
    return {"asked": row.asked, "response_rate": row.response_rate, "median_hours": times.median_hours,
            "p90_hours": times.p90_hours}  # fmt: skip


def _response(found: Asks) -> dict[str, Any]:
    times = found.hours.tolist()
    rate = round(100.0 * len(times) / len(found), 4) if found else None
    return {"asked": len(found), "response_rate": rate, "median_hours": percentile(times, 0.5),
            "p90_hours": percentile(times, 0.9)}  # fmt: skip


def _total(scope: Scope, name: str) -> Noted | float | None:
    """One figure of the whole period: from the inbox's items when it has them, else from the messages."""
    found = inbox(scope)
    if found is not None:
        return Noted(_from_inbox(found.total)[name], _inbox_note(found, scope))
    return _response(asks(scope))[name]  # type: ignore[no-any-return]


@metric(
    "response_rate", unit="%",
    formula=N_("where the team inbox has records up to the period's end: its items opened in the period and owed "
    "an answer (not hidden, spam or ignored) with a first response by the team, at any time, / all of them, x100 (the "
    "team figures' response rate, docs/inbox.md); else questions and complaints of the period (intent as decided: "
    "a label over the model) from outside the team with a direct reply by the team / all of them, x100"),
    purpose="whether the team answers those who ask",
    pitfalls="recent items may still get an answer; the note says which records were read",
    title=N_("Response rate"),
)  # fmt: skip
def _response_rate(scope: Scope) -> Noted | float | None:
    return _total(scope, "response_rate")


@metric(
    "first_response_median", unit=N_("hours"), formula=N_("median time from an inbox item's first message to the "
    "team's first response (on the platform or from Pilote), over the period's answered items; without inbox records, "
    "from a question or complaint to the team's first direct reply"), purpose="how long people usually wait",
    pitfalls="unanswered questions are not in it: read it beside response_rate", better="lower",
    title=N_("First response, median time"),
)  # fmt: skip
def _median(scope: Scope) -> Noted | float | None:
    return _total(scope, "median_hours")


@metric(
    "first_response_p90", unit=N_("hours"), formula=N_("90th percentile of the same times"),
    purpose="how long the slowest tenth wait", pitfalls="few questions make it jumpy", better="lower",
    title=N_("First response, 90th percentile"),
)  # fmt: skip
def _p90(scope: Scope) -> Noted | float | None:
    return _total(scope, "p90_hours")


@metric(
    "response_by_channel", unit=N_("table"),
    formula=N_("asked, response_rate, median_hours and p90_hours per channel (of the same records)"),
    purpose="where people wait", pitfalls="a channel with few questions swings", better="neither",
    title=N_("Response by channel"),
)  # fmt: skip
def _by_channel(scope: Scope) -> Noted | dict[str, Any]:
    found = inbox(scope)
    if found is not None:
        return Noted({row.key: _from_inbox(row) for row in found.channels}, _inbox_note(found, scope))
    asked, names = asks(scope), scope.facts.columns.channels
    places = sorted(distinct_values(asked.channel).tolist(), key=names.__getitem__)
    return {names[place]: _response(asked.where(asked.channel == place)) for place in places}


@metric(
    "response_by_member", unit=N_("table"),
    formula=N_("per person: first answers given, and their median and p90 time, in hours; from the inbox, per "
    "account (answers on the platform are the team's, 'the team (on the platform)'), else per team account"),
    purpose="who carries the answering", pitfalls="only first answers count, not follow-ups", better="neither",
    title=N_("Response by team member"),
)  # fmt: skip
def _by_member(scope: Scope) -> Noted | dict[str, Any]:
    found = inbox(scope)
    if found is not None:
        shown = {row.key: {"answers": row.first_response.count, "median_hours": row.first_response.median_hours,
                           "p90_hours": row.first_response.p90_hours}
                 for row in sorted(found.people, key=lambda r: r.key)}  # fmt: skip
        return Noted(shown, _inbox_note(found, scope))
    grouped: dict[str, list[float]] = defaultdict(list)
    asked = asks(scope)
    for by, hours in zip(asked.by[asked.answered].tolist(), asked.hours.tolist(), strict=True):
        grouped[scope.facts.names.get(by, str(by))].append(hours)
    return {name: {"answers": len(times), "median_hours": percentile(times, 0.5), "p90_hours": percentile(times, 0.9)}
            for name, times in sorted(grouped.items())}  # fmt: skip
