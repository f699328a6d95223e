"""The Member page: one person across channels (their identities), what they wrote and when."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, func, literal_column, select
from sqlalchemy.orm import Session

from pilote import rollups
from pilote.accounts import audit
from pilote.community import counted
from pilote.errors import NotFound
from pilote.models import Author, Member, Message, TeamAccount
from pilote.texts import N_
from pilote.views.common import MessageCard, bucket_start, card_query, cards, decided

RECENT = 50
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class Identity:
    """One of the person's authors: a handle on one channel."""

    author_id: int
    channel: str
    handle: str
    name: str | None
    profile_url: str | None
    messages: int


@dataclass(slots=True)
class MemberProfile:
    """A person: identities, counts, first and last seen, weekly activity, sentiment mix, recent messages."""

    author_id: int
    member_id: int | None
    name: str
    team: bool
    identities: list[Identity]
    messages: int
    first_seen: datetime | None
    last_seen: datetime | None
    by_channel: dict[str, int]
    by_kind: dict[str, int]
    sentiment: dict[str, int]
    activity: list[tuple[datetime, int]]
    recent: list[MessageCard]


def member(session: Session, author_id: int, *, counts: Tally | None = None) -> MemberProfile:
    """The person behind an author: every identity merged into the same member, or the author alone. `counts`:
    their messages counted earlier (`leaders.kept` keeps those of the busiest people), else counted now."""
    author = session.get(Author, author_id)
    if author is None:
        raise NotFound(N_("no author %(id)s"), id=author_id)
    people = identities(session, author)
    mine = and_(Message.author_id.in_([a.id for a in people]), counted())
    found = counts if counts is not None else tally(session, [a.id for a in people])
    channel_of = {a.id: a.channel for a in people}
    recent = session.execute(card_query().where(mine).order_by(Message.created_at.desc()).limit(RECENT)).all()
    return MemberProfile(
        author_id=author.id, member_id=author.member_id, name=_name(session, author),
        team=_team(session, list(channel_of)),
        identities=[Identity(a.id, a.channel, a.handle, a.display_name, a.profile_url, found.per_author.get(a.id, 0))
                    for a in people],
        messages=found.messages, first_seen=found.first, last_seen=found.last,
        by_channel=dict(_channels(found, channel_of).most_common()),
        by_kind=dict(Counter(found.kinds).most_common()), sentiment=dict(Counter(found.feelings).most_common()),
        activity=sorted(found.weeks.items()), recent=cards(session, recent),
    )  # fmt: skip


def identities(session: Session, author: Author) -> list[Author]:
    """Every identity of the person an author is: those merged into the same member, or the author alone."""
    same = Author.member_id == author.member_id if author.member_id is not None else Author.id == author.id
    return list(session.scalars(select(Author).where(same, Author.workspace_id == author.workspace_id)))


@dataclass(slots=True)
class Tally:
    """A person's messages that count, counted by the database: per identity, kind, feeling and week."""

    messages: int = 0
    first: datetime | None = None
    last: datetime | None = None
    per_author: dict[int, int] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    feelings: dict[str, int] = field(default_factory=dict)
    weeks: dict[datetime, int] = field(default_factory=dict)


def tally(session: Session, author_ids: list[int]) -> Tally:
    """One grouped query over the person's own messages (found by the author index), a few rows per day."""
    mine = and_(Message.author_id.in_(author_ids), counted())
    day = _day(session)
    rows = (
        select(
            Message.author_id.label("author"),
            Message.kind.label("kind"),
            Message.created_at.label("at"),
            decided("sentiment", Message.sentiment).label("feeling"),
            day.label("day"),
        )
        .where(mine)
        .subquery()
    )
    query = select(rows.c.author, rows.c.kind, rows.c.feeling, rows.c.day, func.count(), func.min(rows.c.at),
                   func.max(rows.c.at)).group_by(rows.c.author, rows.c.kind, rows.c.feeling, rows.c.day)  # fmt: skip
    found = Tally()
    for author_id, kind, feeling, days, count, first, last in session.execute(query):
        found.messages += count
        found.first = first if found.first is None else min(found.first, first)
        found.last = last if found.last is None else max(found.last, last)
        _add(found.per_author, author_id, count)
        _add(found.kinds, kind, count)
        _add(found.feelings, feeling or rollups.UNKNOWN, count)
        _add(found.weeks, bucket_start(int(days) * 24, "week"), count)
    return found


def _add(counts: dict[K, int], key: K, count: int) -> None:
    counts[key] = counts.get(key, 0) + count


def _day(session: Session) -> ColumnElement[Any]:
    """SQL: the day of a message, in days since 1970-01-01 UTC (`rollups.hour_of` // 24)."""
    if session.get_bind().dialect.name == "sqlite":
        return literal_column("CAST(strftime('%s', substr(message.created_at, 1, 19)) AS INTEGER) / 86400")
    return literal_column("floor(extract(epoch FROM message.created_at) / 86400)::bigint")


def _channels(found: Tally, channel_of: dict[int, str]) -> Counter[str]:
    channels: Counter[str] = Counter()
    for author_id, count in found.per_author.items():
        if author_id in channel_of:  # counted before an identity left the member: not theirs any more
            channels[channel_of[author_id]] += count
    return channels


def _name(session: Session, author: Author) -> str:
    if author.member_id is not None:
        person = session.get(Member, author.member_id)
        if person is not None:
            return person.display_name
    return author.display_name or author.handle


def _team(session: Session, ids: list[int]) -> bool:
    return session.scalar(select(func.count()).where(TeamAccount.author_id.in_(ids))) != 0


def set_team(session: Session, author_id: int, *, team: bool, by: audit.Actor = audit.CLI) -> None:
    """Count an author as speaking for the organisation (or not); the rollups' unanswered counts follow."""
    author = session.get(Author, author_id)
    if author is None:
        raise NotFound(N_("no author %(id)s"), id=author_id)
    found = session.get(TeamAccount, author_id)
    audit.record(session, actor=by, action="team account marked" if team else "team account unmarked",
                 target=f"author {author_id}", workspace_id=author.workspace_id,
                 before={"team": found is not None}, after={"team": team})  # fmt: skip
    if team and found is None:
        session.add(TeamAccount(author_id=author_id, workspace_id=author.workspace_id, origin="user"))
    elif not team and found is not None:
        session.delete(found)
    session.flush()
    parents = select(Message.parent_id).where(Message.author_id == author_id, Message.parent_id.is_not(None))
    ids = list(session.scalars(select(Message.id).where(Message.id.in_(parents))))
    rollups.refresh(session.connection(), ids, tops=False)
