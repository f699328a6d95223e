"""The series the radar watches, built from new messages only, in five-minute buckets.

Per workspace and bucket: `mentions` (messages), `negative` (negative messages), `negative_share` (their
percentage), `reach` (engagement: views where the source gives them, else likes + shares + replies),
`newcomers` (percentage of messages by first-time authors), `newcomer_reach` (the reach of first-time
authors' messages) and, when the keyphrases analyzer ran, `keyphrase:<phrase>` (messages with that phrase).
Spam is left out of every series: a message labelled spam (by a person or the source's moderators), or
one whose model probability reaches the rule's `spam_threshold` when the team trusts the model. Drafts,
scheduled and private posts are not read at all (`community.is_counted`): a post scheduled for next year
would otherwise open next year's bucket and make every later message late.
Each message costs a fixed number of operations: one row read, a few look-ups batched per tick.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select

from pilote import community
from pilote.community import is_counted
from pilote.enrich import keyphrases
from pilote.enrich.keyphrases import fold_phrase
from pilote.models import Enrichment, Message, RadarAuthor

STEP = timedelta(minutes=5)
BASE_SERIES = ("mentions", "negative", "negative_share", "reach", "newcomers", "newcomer_reach")
SHARE_SERIES = ("negative_share", "newcomers")
REACH_SERIES = ("reach", "newcomer_reach")
KEYPHRASE = "keyphrase:"
CHUNK = 900  # ids per IN list: well under SQLite's parameter limit
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Seen:
    """One new message as the radar counts it."""

    id: int
    created_at: datetime
    author_id: int | None
    negative: bool
    spam: bool
    reach: float
    first_time: bool
    keyphrases: tuple[str, ...] = ()


@dataclass(slots=True)
class Bucket:
    """The five minutes being filled: counters only, whatever the number of messages."""

    start: datetime
    messages: int = 0
    negative: int = 0
    reach: float = 0.0
    newcomers: int = 0
    newcomer_reach: float = 0.0
    keyphrases: Counter[str] = field(default_factory=Counter)

    @property
    def end(self) -> datetime:
        """When the bucket closes."""
        return self.start + STEP

    def add(self, message: Seen) -> None:
        """Count one message (spam is not counted)."""
        if message.spam:
            return
        self.messages += 1
        self.negative += message.negative
        self.reach += message.reach
        if message.first_time:
            self.newcomers += 1
            self.newcomer_reach += message.reach
        self.keyphrases.update(set(message.keyphrases))

    def values(self) -> dict[str, float]:
        """Every series' value for this bucket (keyphrases only where present)."""
        total = max(self.messages, 1)
        found = {
            "mentions": float(self.messages),
            "negative": float(self.negative),
            "negative_share": 100.0 * self.negative / total if self.messages else 0.0,
            "reach": self.reach,
            "newcomers": 100.0 * self.newcomers / total if self.messages else 0.0,
            "newcomer_reach": self.newcomer_reach,
        }
        found.update({KEYPHRASE + phrase: float(count) for phrase, count in self.keyphrases.items()})
        return found

    def dump(self) -> str:
        """JSON, to persist the open bucket between ticks."""
        data: dict[str, Any] = {
            "start": self.start.isoformat(),
            "messages": self.messages,
            "negative": self.negative,
            "reach": self.reach,
            "newcomers": self.newcomers,
            "newcomer_reach": self.newcomer_reach,
            "keyphrases": dict(self.keyphrases),
        }
        return json.dumps(data)

    @classmethod
    def load(cls, text: str) -> Bucket:
        """The bucket `dump` wrote."""
        data = json.loads(text)
        return cls(
            start=datetime.fromisoformat(data["start"]),
            messages=data["messages"],
            negative=data["negative"],
            reach=data["reach"],
            newcomers=data["newcomers"],
            newcomer_reach=data["newcomer_reach"],
            keyphrases=Counter(data.get("keyphrases", {})),
        )


def bucket_start(moment: datetime) -> datetime:
    """The start of the five-minute bucket holding `moment` (UTC)."""
    seconds = (moment - _EPOCH).total_seconds()
    step = STEP.total_seconds()
    return _EPOCH + timedelta(seconds=seconds - seconds % step)


def is_known(name: str) -> bool:
    """Whether `name` is a series the radar computes."""
    return name in BASE_SERIES or (name.startswith(KEYPHRASE) and len(name) > len(KEYPHRASE))


@dataclass(frozen=True, slots=True)
class Pending:
    """Messages written since the last tick: their ids, and when the newest and oldest were written."""

    ids: list[int]
    newest_write: datetime | None
    oldest_write: datetime | None


def pending(conn: Connection, workspace_id: int, after_id: int, limit: int) -> Pending:
    """Ids of the workspace's messages after `after_id` (at most `limit`), with their write times."""
    query = (
        select(Message.id, Message.fetched_at)
        .where(Message.workspace_id == workspace_id, Message.id > after_id)
        .order_by(Message.id)
        .limit(limit)
    )
    rows = conn.execute(query).all()
    writes = [_aware(row[1]) for row in rows]
    return Pending([row[0] for row in rows], max(writes, default=None), min(writes, default=None))


def in_time_order(conn: Connection, workspace_id: int, ids: tuple[int, int], after: tuple[datetime, int] | None,
                  limit: int) -> list[tuple[int, datetime]]:  # fmt: skip
    """(id, created_at) of the workspace's messages with an id in (`ids[0]`, `ids[1]`], oldest first from just
    after (`created_at`, `id`) = `after`, at most `limit` (a chunk of a catch-up)."""
    query = select(Message.id, Message.created_at).where(
        Message.workspace_id == workspace_id, Message.id > ids[0], Message.id <= ids[1]
    )
    if after is not None:
        at, ident = after
        # `created_at >= at` on its own, so that the index (workspace, created_at, id) starts the scan there
        query = query.where(Message.created_at >= at, or_(Message.created_at > at, Message.id > ident))
    rows = conn.execute(query.order_by(Message.created_at, Message.id).limit(limit)).all()
    return [(row[0], _aware(row[1])) for row in rows]


def read(conn: Connection, ids: Sequence[int], spam_threshold: float | None) -> list[Seen]:
    """The messages with these ids as the radar counts them, oldest first (unpublished posts left out)."""
    rows: list[Any] = []
    for chunk in _chunks(ids):
        query = select(
            Message.id, Message.created_at, Message.author_id, Message.sentiment, Message.spam_probability,
            Message.likes, Message.shares, Message.replies, Message.views,
        ).where(Message.id.in_(chunk))  # fmt: skip
        rows.extend(conn.execute(query).all())
    labels = _labels(conn, ids)
    rows = [row for row in rows if is_counted(labels.get(row[0], {}))]
    phrases = _keyphrases(conn, ids)
    firsts = _first_times(conn, [(row[0], row[2], _aware(row[1])) for row in rows])
    seen = [
        Seen(
            id=row[0],
            created_at=_aware(row[1]),
            author_id=row[2],
            negative=community.decided(labels.get(row[0], {}), "sentiment", row[3]) == "negative",
            spam=community.spam(labels.get(row[0], {}), row[4], spam_threshold) is True,
            reach=_reach(row[5], row[6], row[7], row[8]),
            first_time=row[0] in firsts,
            keyphrases=phrases.get(row[0], ()),
        )
        for row in rows
    ]
    return sorted(seen, key=lambda m: (m.created_at, m.id))


def _reach(likes: int | None, shares: int | None, replies: int | None, views: int | None) -> float:
    """Views where the source gives them, else the engagement the message drew."""
    if views is not None:
        return float(views)
    return float((likes or 0) + (shares or 0) + (replies or 0))


def _labels(conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Spam, moderation status and sentiment labels as they decide (`community.labels_of`)."""
    return community.labels_of(conn, ids, ("spam", "status", "sentiment"))


def _keyphrases(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    """The keyphrases analyzer's phrases per message, where it ran (nothing otherwise)."""
    found: dict[int, tuple[str, ...]] = {}
    for chunk in _chunks(ids):
        query = select(Enrichment.message_id, Enrichment.value).where(Enrichment.message_id.in_(chunk))
        for message_id, value in conn.execute(query):
            found[message_id] = tuple(parse_keyphrases(value))
    return found


def parse_keyphrases(value: str | None) -> list[str]:
    """The keyphrases analyzer's first ten phrases in an enrichment value, plurals folded: singular and plural
    are one series ("vélos" counts for "vélo"), as on the Overview."""
    return list(dict.fromkeys(fold_phrase(phrase) for phrase in keyphrases.stored(value)))[:10]


def _first_times(conn: Connection, rows: Iterable[tuple[int, int | None, datetime]]) -> set[int]:
    """Messages that are their author's first, as far as the radar has seen; remembers the new authors."""
    earliest: dict[int, tuple[datetime, int]] = {}
    for message_id, author_id, created in rows:
        if author_id is not None and (author_id not in earliest or (created, message_id) < earliest[author_id]):
            earliest[author_id] = (created, message_id)
    known: set[int] = set()
    authors = list(earliest)
    for chunk in _chunks(authors):
        known.update(conn.execute(select(RadarAuthor.author_id).where(RadarAuthor.author_id.in_(chunk))).scalars())
    new = {author: first for author, first in earliest.items() if author not in known}
    if new:
        register = [{"author_id": author, "first_at": first[0]} for author, first in new.items()]
        conn.execute(insert(RadarAuthor), register)
    return {message_id for _created, message_id in new.values()}


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _aware(moment: datetime) -> datetime:
    """Aware UTC (the column type already returns it; kept for values computed by the database)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
