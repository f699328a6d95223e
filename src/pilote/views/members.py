"""The Member page: one person across channels (their identities), what they wrote and when."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from pilote import rollups
from pilote.accounts import audit
from pilote.community import counted
from pilote.errors import NotFound
from pilote.models import Author, Member, Message, TeamAccount
from pilote.texts import N_
from pilote.views.common import MessageCard, bucket_start, card_query, cards, decided

RECENT = 50


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


def member(session: Session, author_id: int) -> MemberProfile:
    """The person behind an author: every identity merged into the same member, or the author alone."""
    author = session.get(Author, author_id)
    if author is None:
        raise NotFound(N_("no author %(id)s"), id=author_id)
    same = Author.member_id == author.member_id if author.member_id is not None else Author.id == author.id
    people = list(session.scalars(select(Author).where(same, Author.workspace_id == author.workspace_id)))
    mine = and_(Message.author_id.in_([a.id for a in people]), counted())
    sentiment = decided("sentiment", Message.sentiment)
    rows = session.execute(select(Message.created_at, Message.kind, sentiment, Message.author_id).where(mine)).all()
    per_author = Counter(row[3] for row in rows)
    channel_of = {a.id: a.channel for a in people}
    recent = session.execute(card_query().where(mine).order_by(Message.created_at.desc()).limit(RECENT)).all()
    return MemberProfile(
        author_id=author.id, member_id=author.member_id, name=_name(session, author),
        team=_team(session, list(channel_of)),
        identities=[Identity(a.id, a.channel, a.handle, a.display_name, a.profile_url, per_author[a.id])
                    for a in people],
        messages=len(rows), first_seen=min((r[0] for r in rows), default=None),
        last_seen=max((r[0] for r in rows), default=None),
        by_channel=dict(Counter(channel_of[r[3]] for r in rows).most_common()),
        by_kind=dict(Counter(r[1] for r in rows).most_common()),
        sentiment=dict(Counter(r[2] or rollups.UNKNOWN for r in rows).most_common()),
        activity=sorted(Counter(bucket_start(rollups.hour_of(r[0]), "week") for r in rows).items()),
        recent=cards(session, recent),
    )  # fmt: skip


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
