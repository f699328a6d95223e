"""What the metrics read: a workspace's messages over a window, once, as the community's rules decide them.

One read serves every metric of a period and of the period before it. Messages that do not count (drafts,
withdrawn) and spam are left out of `messages`, but stay in the reply tree (`parents`): a reply under a
deleted comment is still two levels deep.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import orjson
from sqlalchemy import Connection, TextClause, select, text

from pilote import community
from pilote.bulk import db_time, placeholder, seconds_sql
from pilote.models import Author, Label, Message, Source

DAY = 86400.0
WEEK = 7 * DAY
MONDAY = 4 * DAY  # 1970-01-05, the first Monday after the epoch
CHUNK = 900


@dataclass(frozen=True, slots=True)
class Focus:
    """The part of a workspace the metrics read: one channel, some sources, one language, one topic (a keyphrase,
    or words that keyphrases hold whole); None reads them all. Each is a condition on the messages read, in the
    period and in the months before it alike."""

    channel: str | None = None
    sources: tuple[int, ...] | None = None  # source ids (`metrics.narrow` finds them from a name, key or id)
    language: str | None = None
    topic: str | None = None  # lower case, single spaces

    def where(self, table: str) -> list[tuple[str, dict[str, Any]]]:
        """SQL conditions on a table of messages (its name or alias), each with its values, named `:focus_...`."""
        found: list[tuple[str, dict[str, Any]]] = []
        if self.channel is not None:
            found.append((f"{table}.source_id IN (SELECT id FROM source WHERE channel = :focus_channel)",
                          {"focus_channel": self.channel}))  # fmt: skip
        if self.sources is not None:
            found.append((f"{table}.source_id IN ({', '.join(str(int(i)) for i in self.sources) or 'NULL'})", {}))
        if self.language is not None:
            found.append((f"{table}.language = :focus_language", {"focus_language": self.language}))
        if self.topic is not None:
            patterns = {f"focus_topic{n}": pattern for n, pattern in enumerate(topic_patterns(self.topic))}
            likes = " OR ".join(f"fe.value LIKE :{name} ESCAPE '!'" for name in patterns)
            found.append((f"EXISTS (SELECT 1 FROM enrichment fe WHERE fe.message_id = {table}.id AND ({likes}))",
                          patterns))  # fmt: skip
        return found

    def clauses(self, table: str) -> list[TextClause]:
        """The conditions as SQLAlchemy clauses."""
        return [text(sql).bindparams(**values) for sql, values in self.where(table)]

    def positional(self, table: str, mark: str) -> tuple[str, tuple[Any, ...]]:
        """The conditions as " AND ..." SQL for a DB-API cursor (`mark`: its placeholder), and their values."""
        values: list[Any] = []
        sql = ""
        for condition, named in self.where(table):
            values += [named[name] for name in _NAMED.findall(condition)]
            sql += " AND " + _NAMED.sub(mark, condition)
        return sql, tuple(values)


_NAMED = re.compile(r":(focus_\w+)")
EVERYTHING = Focus()


def topic_patterns(topic: str) -> list[str]:
    """LIKE patterns that find a topic in an enrichment value: a stored keyphrase that is the topic, or that holds
    it as whole words (stored phrases are lower case, JSON strings; `!` escapes LIKE's wildcards)."""
    quoted = orjson.dumps(" ".join(topic.lower().split())).decode()[1:-1]
    bare = quoted.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return [f'%"{bare}"%', f'%"{bare} %', f'% {bare}"%', f"% {bare} %"]


@dataclass(slots=True)
class Msg:
    """One counted message, as the metrics need it (times in seconds since 1970, UTC)."""

    id: int
    at: float
    author_id: int | None
    member: int | None  # the person: `author.member_id` when merged, else minus the author's id
    team: bool
    parent_id: int | None  # UNKNOWN_PARENT when it names a parent that is not in the store
    thread_id: int | None
    channel: str
    likes: int | None
    shares: int | None
    replies: int | None
    views: int | None
    sentiment: str | None
    intent: str | None
    week: float = 0.0  # when the week holding it starts (Monday 00:00 UTC)


@dataclass(slots=True)
class History:
    """Members' activity in [start, end), the months before the messages read row by row (history.py)."""

    start: datetime
    end: datetime
    activity: dict[float, dict[int, tuple[int, float]]]  # from a moment on: member → (weeks with a message, last)

    def since(self, moment: float) -> dict[int, tuple[int, float]]:
        """Per member active from `moment` (one of the look-backs asked for) to the history's end: weeks, last."""
        return self.activity.get(round(moment, 3), {})

    @property
    def members(self) -> set[int]:
        """The members active in it (in its first look-back, the longest)."""
        return set(self.activity[min(self.activity)]) if self.activity else set()


CUT_SLACK = 0.002  # seconds: `Msg.at` is within a millisecond of the stored time (rounded, and SQLite's julianday)
POSTS = "posts"  # `Facts.cache`'s key for the posts and what they drew (engagement.py), by position
JUDGED = "judged"  # `Facts.cache`'s key for the messages' sentiments, intents and views (`Judged`), by position
DEPTHS = "depths"  # `Facts.cache`'s key for the reply tree's depths (conversation.py), of single messages
KINDS = {"q": np.int64, "d": np.float64, "b": np.int8}  # array's type codes as numpy's
NOBODY = 0  # in `Columns.member`: an anonymous message (no member id is 0: members are > 0, authors' ids < 0)
NO_PARENT = -1  # in `Columns.parent`: a top-level message (UNKNOWN_PARENT, 0, stays itself)


@dataclass(frozen=True, slots=True)
class Columns:
    """The counted messages of a `Facts` as arrays, in the same (time) order: what the metrics that count members
    over many messages read, in one pass of numpy rather than one of Python per metric and period."""

    id: np.ndarray  # int64
    at: np.ndarray  # float64, as `Msg.at`
    week: np.ndarray  # float64, as `Msg.week`
    member: np.ndarray  # int64, NOBODY for an anonymous message
    team: np.ndarray  # bool: by the team
    community: np.ndarray  # bool: by a member outside the team (what the member metrics count)
    parent: np.ndarray  # int64, NO_PARENT for a top-level message
    thread: np.ndarray  # int64, 0 when the message names no thread
    channel: np.ndarray  # int64: the channel's place in `channels`
    channels: tuple[str, ...]

    @classmethod
    def read(cls, channels: tuple[str, ...], *values: array[Any]) -> Columns:
        """The arrays of the values `load` read (NOBODY, NO_PARENT and 0 already in place of None): id, at, week,
        member, team, parent, thread, channel."""
        ids, at, week, member, team, parent, thread, channel = (np.frombuffer(v, dtype=KINDS[v.typecode])
                                                                for v in values)  # fmt: skip
        ours = team.astype(np.bool_)
        return cls(ids, at, week, member, ours, (member != NOBODY) & ~ours, parent, thread, channel, channels)

    @classmethod
    def joined(cls, parts: Sequence[Columns]) -> Columns:
        """The rows of these parts one after the other (of one workspace's read: the same channels)."""

        def joined(name: str) -> np.ndarray:
            return np.concatenate([getattr(part, name) for part in parts])

        return cls(joined("id"), joined("at"), joined("week"), joined("member"), joined("team"), joined("community"),
                   joined("parent"), joined("thread"), joined("channel"), parts[0].channels)  # fmt: skip

    def part(self, first: int, last: int) -> Columns:
        """The rows first to last (views, not copies)."""
        return Columns(self.id[first:last], self.at[first:last], self.week[first:last], self.member[first:last],
                       self.team[first:last], self.community[first:last], self.parent[first:last],
                       self.thread[first:last], self.channel[first:last], self.channels)  # fmt: skip

    def span(self, since: float, until: float) -> slice:
        """The positions of the messages written in [since, until)."""
        return slice(int(np.searchsorted(self.at, since, "left")), int(np.searchsorted(self.at, until, "left")))


SENTIMENTS = ("positive", "negative", "neutral")  # the sentiments `Judged` tells apart


@dataclass(frozen=True, slots=True)
class Judged:
    """How the counted messages were judged (sentiment, intent) and what they drew (views), as arrays in the
    columns' order: read from the messages once, when a metric first asks (`judged`), not by `load`."""

    sentiment: np.ndarray  # int8: 1 + the sentiment's place in SENTIMENTS, 0 for another or none
    asking: np.ndarray  # bool: a question or a complaint (`community.NEEDS_ANSWER`)
    views: np.ndarray  # float64, NaN where the platform gives none

    @classmethod
    def of(cls, messages: Sequence[Msg]) -> Judged:
        places: dict[str | None, int] = {sentiment: place for place, sentiment in enumerate(SENTIMENTS, 1)}
        asking = frozenset(community.NEEDS_ANSWER)
        return cls(np.fromiter((places.get(m.sentiment, 0) for m in messages), dtype=np.int8, count=len(messages)),
                   np.fromiter((m.intent in asking for m in messages), dtype=np.bool_, count=len(messages)),
                   np.array([m.views for m in messages], dtype=np.float64))  # fmt: skip

    def part(self, first: int, last: int) -> Judged:
        """The rows first to last (views, not copies)."""
        return Judged(self.sentiment[first:last], self.asking[first:last], self.views[first:last])


def judged(facts: Facts) -> Judged:
    """The facts' `Judged` (kept with them for both periods, and with the narrower facts made of them)."""
    found: Judged = facts.shared(JUDGED, lambda: Judged.of(facts.messages))
    return found


def distinct(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of these equal-length columns sorted together (the first column slowest): the order (positions),
    and a mask over it, True where a row differs from the one before (the first of each distinct row; equal rows
    come in no particular order). Whole numbers (ids, weeks, blocks) are sorted as one 64-bit key when they fit in
    one (by numpy's fastest sort, not a stable one: several times faster), else column by column."""
    if not len(keys[0]):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
    whole = _one_key(keys)
    order = np.argsort(whole) if whole is not None else np.lexsort(keys[::-1])
    new = np.ones(len(order), dtype=np.bool_)
    if whole is not None:
        ordered = whole[order]
        new[1:] = ordered[1:] != ordered[:-1]
        return order, new
    differs = np.zeros(len(order) - 1, dtype=np.bool_)
    for key in keys:
        ordered = key[order]
        differs |= ordered[1:] != ordered[:-1]
    new[1:] = differs
    return order, new


def find(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each value is in the sorted `keys`, and whether it is there at all (a place counts only where it is)."""
    if not len(keys):
        return np.zeros(len(values), dtype=np.int64), np.zeros(len(values), dtype=np.bool_)
    where = np.minimum(np.searchsorted(keys, values), len(keys) - 1)
    return where, keys[where] == values


def lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray, missing: Any) -> np.ndarray:
    """The value of each wanted key (`values` in the sorted `keys`' order), or `missing` where it is not there."""
    where, there = find(keys, wanted)
    found = np.full(len(wanted), missing, dtype=values.dtype)
    found[there] = values[where[there]]
    return found


def distinct_values(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted (as np.unique gives them, which hashes them first in numpy 2: several times
    slower over a million)."""
    ordered = np.sort(values)
    return ordered[runs(ordered)] if len(ordered) else ordered


def runs(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted, non-empty array starts."""
    return np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))


def numbers(values: Sequence[Any], empty: int) -> np.ndarray:
    """Whole numbers, or None read as `empty`, as int64 (through float64: exact below 2**53)."""
    found = np.array(values, dtype=np.float64)  # None reads as NaN
    return np.where(np.isnan(found), empty, found).astype(np.int64)


def _one_key(keys: Sequence[np.ndarray]) -> np.ndarray | None:
    """One int64 per row that sorts as the rows do, if every column holds whole numbers and their ranges fit."""
    found: np.ndarray | None = None
    room = 1
    for key in keys:
        low, high = key.min(), key.max()
        if not (np.isfinite(low) and np.isfinite(high)) or not -(2**62) < low <= high < 2**62:
            return None
        codes = key.astype(np.int64)
        if key.dtype.kind == "f" and not np.array_equal(codes, key):
            return None
        span = int(high) - int(low) + 1
        room *= span
        if room >= 2**62:
            return None
        codes = codes - int(low)
        found = codes if found is None else found * span + codes
    return found


@dataclass(slots=True)
class Facts:
    """A window of a workspace's messages: the counted ones in time order, and the reply tree."""

    start: float
    end: float
    messages: list[Msg]
    columns: Columns  # the same messages as arrays, filled as they are read
    parents: dict[int, int | None]  # every message of the window (counted or not) and the ancestors read
    seen_before: set[int]  # members who contributed before the window
    team: set[int]
    names: dict[int, str] = field(default_factory=dict)  # author id → how the team member is shown
    history: History | None = None  # the members' activity before `start`, when read apart (history.py)
    cache: dict[str, Any] = field(default_factory=dict)  # values both periods of a report share (`shared`)
    # Every message of the window (counted or not), in time order: ids and `Msg.at` (`replaced` cuts them).
    every: tuple[np.ndarray, np.ndarray] = (np.zeros(0, dtype=np.int64), np.zeros(0))
    outside: set[int] = field(default_factory=set)  # the keys of `parents` `ancestors` read (outside the window)

    def shared(self, key: str, compute: Any) -> Any:
        """A value of the facts themselves (not of one period), computed once for the report."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def narrowed(self, conn: Connection, start: datetime, end: datetime) -> Facts:
        """The facts of [start, end) inside these: the messages a read of that window gives (the facts of several
        periods are read once, `metrics.reports`); the reply tree stays whole (a wider one gives the same depths:
        `ancestors` reads the rest). Who wrote before `start` is for the caller to say."""
        first, last = self._cut(conn, start), self._cut(conn, end)
        found = Facts(start.timestamp(), end.timestamp(), self.messages[first:last], self.columns.part(first, last),
                      self.parents, set(), self.team, self.names, outside=self.outside)  # fmt: skip
        if DEPTHS in self.cache:  # of every message these facts hold: of those it holds too
            found.cache[DEPTHS] = self.cache[DEPTHS]
        for positional in (POSTS, JUDGED):  # engagement.Posts and Judged, by position
            if positional in self.cache:
                found.cache[positional] = self.cache[positional].part(first, last)
        return found

    def _cut(self, conn: Connection, moment: datetime) -> int:
        """The place of the first counted message written at `moment` or later, as the database compares times."""
        return cut(conn, self.columns.id, self.columns.at, moment)

    def replaced(self, conn: Connection, start: datetime, end: datetime, pieces: Sequence[Piece]) -> Facts:
        """These facts with the messages of each window replaced by a read of it now (`pieces`: start, end and what
        `load` read there, or None to leave the window empty; in time order, apart): what a read of the whole
        window would give where only those windows changed (`metrics.held`, which reads whole when the team
        changed). The team's names are read again; the keys `ancestors` added are dropped (the reports read them
        again)."""
        for key in self.outside:
            self.parents.pop(key, None)
        self.outside.clear()
        messages: list[Msg] = []
        columns: list[Columns] = []
        every: list[tuple[np.ndarray, np.ndarray]] = []
        gone: list[np.ndarray] = []
        counted = kept = 0  # where the part of these facts not yet copied starts: counted messages, every one
        for since, until, fresh in pieces:
            first, last = self._cut(conn, since), self._cut(conn, until)
            low, high = cut(conn, *self.every, since), cut(conn, *self.every, until)
            messages += self.messages[counted:first]
            columns.append(self.columns.part(counted, first))
            every.append((self.every[0][kept:low], self.every[1][kept:low]))
            gone.append(self.every[0][low:high])
            if fresh is not None:
                messages += fresh.messages
                columns.append(fresh.columns)
                every.append(fresh.every)
            counted, kept = last, high
        messages += self.messages[counted:]
        columns.append(self.columns.part(counted, len(self.messages)))
        every.append((self.every[0][kept:], self.every[1][kept:]))
        for key in np.concatenate(gone).tolist() if gone else ():  # all first: a moved message is in two windows
            self.parents.pop(key, None)
        for _, _, fresh in pieces:
            if fresh is not None:
                self.parents.update(fresh.parents)
        self.parents[UNKNOWN_PARENT] = None
        ids, moments = (np.concatenate([part[n] for part in every]) for n in (0, 1))
        return Facts(start.timestamp(), end.timestamp(), messages, Columns.joined(columns), self.parents, set(),
                     self.team, _team_names(conn, self.team), every=(ids, moments))  # fmt: skip


def cut(conn: Connection, ids: np.ndarray, at: np.ndarray, moment: datetime) -> int:
    """The place of the first of these messages (their ids and `Msg.at`, in time order) written at `moment` or
    later, as the database compares times: `at` is rounded to the millisecond, so the few messages within a
    millisecond or two of it are asked about (one no longer in the store is placed by its `at`)."""
    seconds = moment.timestamp()
    low = int(np.searchsorted(at, seconds - CUT_SLACK, "left"))
    high = int(np.searchsorted(at, seconds + CUT_SLACK, "left"))
    if low == high:
        return low
    near = ids[low:high].tolist()
    later: dict[int, bool] = {}
    for chunk in _chunks(near):
        query = select(Message.id, Message.created_at >= moment).where(Message.id.in_(chunk))
        later.update((ident, bool(after)) for ident, after in conn.execute(query))
    stored = at[low:high].tolist()
    # in time order: the earlier ones first
    return low + sum(1 for ident, moment_at in zip(near, stored, strict=True)
                     if not later.get(ident, moment_at >= seconds))  # fmt: skip


Piece = tuple[datetime, datetime, Facts | None]  # a window of `Facts.replaced`, and what was read there


# The parent of a reply whose parent is not in the store (`community.reply_sql`: still a comment, not a post):
# a chain reaching it ends there, one level above the reply (no message has this id).
UNKNOWN_PARENT = 0

# The message table alone: channels and merged identities, a few rows, are looked up in memory (`people`).
SQL = (
    "SELECT m.id, {seconds}, m.author_id, m.source_id, "
    "COALESCE(m.parent_id, CASE WHEN m.parent_external_id IS NOT NULL THEN " + str(UNKNOWN_PARENT) + " END), "
    "m.thread_id, m.likes, m.shares, m.replies, m.views, m.sentiment, m.intent, m.spam_probability "
    "FROM message m "
)


def load(conn: Connection, workspace_id: int, start: datetime, end: datetime, focus: Focus = EVERYTHING) -> Facts:
    """The workspace's messages written in [start, end) (of the focus only); who wrote before is for the caller to
    say (`seen_before`, or the history's)."""
    team = community.team_ids(conn, workspace_id)
    labels = _labels(conn, workspace_id, start, end)
    messages: list[Msg] = []
    parents: dict[int, int | None] = {}
    threshold = community.SPAM_THRESHOLD
    channels, merges = people(conn, workspace_id)
    # `Columns`' values (but `community`) as they are read: 8 bytes each, and numpy's arrays without a copy
    read_ids, read_at, read_weeks, read_members, read_team, read_parents, read_threads, read_channels = arrays = (
        array("q"), array("d"), array("d"), array("q"), array("b"), array("q"), array("q"), array("q"))  # fmt: skip
    ids, moments, weeks, persons = read_ids.append, read_at.append, read_weeks.append, read_members.append
    ours, ups, threads, places = read_team.append, read_parents.append, read_threads.append, read_channels.append
    names = tuple(sorted(set(channels.values())))
    place = {source: names.index(channel) for source, channel in channels.items()}
    every_ids, every_at = array("q"), array("d")
    listed, timed = every_ids.append, every_at.append
    for ident, at, author, source, parent, thread, likes, shares, replies, views, feel, intent, spam in _rows(
        conn, workspace_id, start, end, focus
    ):
        parents[ident] = parent
        at = round(at, 3)  # a float on both databases (`seconds_sql`)
        listed(ident), timed(at)
        mine = labels.get(ident)
        if mine is None:  # most messages: no label, so the model decides (the same rule, without the calls)
            if spam is not None and spam >= threshold:
                continue
        elif not community.is_counted(mine) or community.spam(mine, spam) is True:
            continue
        else:
            feel, intent = community.decided(mine, "sentiment", feel), community.decided(mine, "intent", intent)
        merged = merges.get(author)
        member = merged if merged is not None else (-author if author is not None else None)
        week = (at - MONDAY) // WEEK * WEEK + MONDAY
        mine_too = author in team
        messages.append(Msg(ident, at, author, member, mine_too, parent, thread, channels[source], likes, shares,
                            replies, views, feel, intent, week))  # fmt: skip
        ids(ident), moments(at), weeks(week), persons(NOBODY if member is None else member), ours(mine_too)
        ups(NO_PARENT if parent is None else parent), threads(thread or 0), places(place[source])
    parents[UNKNOWN_PARENT] = None
    every = (np.frombuffer(every_ids, dtype=np.int64), np.frombuffer(every_at, dtype=np.float64))
    return Facts(start.timestamp(), end.timestamp(), messages, Columns.read(names, *arrays), parents, set(), team,
                 _team_names(conn, team), every=every)  # fmt: skip


def people(conn: Connection, workspace_id: int) -> tuple[dict[int, str], dict[int | None, int]]:
    """The workspace's sources' channels, and the person each merged author is (`author.member_id`)."""
    channels = dict(conn.execute(select(Source.id, Source.channel).where(Source.workspace_id == workspace_id)).all())
    merged = select(Author.id, Author.member_id).where(Author.workspace_id == workspace_id,
                                                       Author.member_id.is_not(None))  # fmt: skip
    return channels, {author: member for author, member in conn.execute(merged) if member is not None}


def _rows(conn: Connection, workspace_id: int, start: datetime, end: datetime, focus: Focus) -> Iterator[Any]:
    to_db, q = db_time(conn), placeholder(conn)
    where = f"WHERE m.workspace_id = {q} AND m.created_at >= {q} AND m.created_at < {q}"
    sql = SQL.format(seconds=seconds_sql(conn, "m.created_at")) + where
    parameters: tuple[Any, ...] = (workspace_id, to_db(start), to_db(end))
    focused, values = focus.positional("m", q)
    sql += focused + " ORDER BY m.created_at, m.id"
    parameters += values
    cursor = conn.connection.cursor()
    try:
        cursor.execute(sql, parameters)
        while part := cursor.fetchmany(5000):
            yield from part
    finally:
        cursor.close()


def _labels(conn: Connection, workspace_id: int, start: datetime, end: datetime) -> dict[int, dict[str, str]]:
    query = (
        select(Label.message_id, Label.name, Label.value, Label.origin)
        .join(Message, Message.id == Label.message_id)
        .where(Message.workspace_id == workspace_id, Message.created_at >= start, Message.created_at < end)
        .where(Label.name.in_(community.DECIDED))
    )
    return community.winning(conn.execute(query))


def seen_before(conn: Connection, workspace_id: int, start: datetime, members: set[int]) -> set[int]:
    """Which of these members wrote a counted message before `start` (spam is not told apart there)."""
    earlier = select(Message.id).where(Message.workspace_id == workspace_id, Message.created_at < start,
                                       community.counted()).limit(1)  # fmt: skip
    if not members or conn.scalar(earlier) is None:  # nobody did (a read from the workspace's start): no look-up
        return set()
    authors_of = authors(conn, workspace_id, members)
    found: set[int] = set()
    for chunk in _chunks(list(authors_of)):
        query = (
            select(Message.author_id)
            .where(Message.author_id.in_(chunk), Message.created_at < start, community.counted())
            .distinct()
        )
        found.update(authors_of[a] for a in conn.scalars(query) if a is not None)
    return found


def authors(conn: Connection, workspace_id: int, members: set[int]) -> dict[int, int]:
    """The identities (author ids) of these members: author id → member."""
    key = select(Author.id, Author.member_id).where(Author.workspace_id == workspace_id)
    found: dict[int, int] = {}
    for author_id, member_id in conn.execute(key):
        member = member_id if member_id is not None else -author_id
        if member in members:
            found[author_id] = member
    return found


def _team_names(conn: Connection, team: set[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for chunk in _chunks(sorted(team)):
        for author_id, handle, name in conn.execute(
            select(Author.id, Author.handle, Author.display_name).where(Author.id.in_(chunk))
        ):
            names[author_id] = name or handle
    return names


def ancestors(conn: Connection, facts: Facts, above: Sequence[int]) -> None:
    """Read the messages above the window's (the parents they name) that lie outside the window, and their
    parents, until every chain reaches a root."""
    missing = {p for p in above if p not in facts.parents}
    while missing:
        found: set[int | None] = set()
        for chunk in _chunks(sorted(missing)):
            for message_id, parent_id, named in conn.execute(
                select(Message.id, Message.parent_id, Message.parent_external_id).where(Message.id.in_(chunk))
            ):
                if parent_id is None and named is not None:
                    parent_id = UNKNOWN_PARENT
                facts.parents[message_id] = parent_id
                facts.outside.add(message_id)
                found.add(parent_id)
        for lost in missing - facts.parents.keys():
            if lost is not None:
                facts.parents[lost] = None  # deleted from the store: the chain ends there
                facts.outside.add(lost)
        missing = {p for p in found if p is not None} - facts.parents.keys()


def first_replies(conn: Connection, ids: Sequence[int], team: set[int]) -> dict[int, tuple[float, int]]:
    """Per message, the time and author of the team's first direct reply (what `community.answered` counts)."""
    found: dict[int, tuple[float, int]] = {}
    if not team:
        return found
    q = placeholder(conn)
    members = ", ".join(str(int(author)) for author in sorted(team))  # `+`: find replies by their parent first
    for chunk in _chunks(list(ids)):
        sql = (
            f"SELECT m.parent_id, {seconds_sql(conn, 'm.created_at')}, m.author_id FROM message m "
            f"WHERE m.parent_id IN ({', '.join([q] * len(chunk))}) AND +m.author_id IN ({members})"
        )
        for parent_id, moment, author_id in conn.exec_driver_sql(sql, tuple(chunk)).fetchall():
            moment = round(float(moment), 3)
            if parent_id not in found or moment < found[parent_id][0]:
                found[parent_id] = (moment, author_id)
    return found


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
