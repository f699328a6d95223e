"""The inbox's read model beyond the queue: an item's conversation with its context, its notes, the people who can
take it, and the live feed (what changed since an event, who else has the item open). The state is in the
database, so that every server process answers the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pilote import community
from pilote.inbox import TODO, items
from pilote.models import InboxEvent, InboxItem, InboxNote, Membership, Message, Source, User
from pilote.views.common import MessageCard, card_query, cards

MAX_CHANGES = 200  # a poll reads at most this many events; the next poll takes the rest
ACTING = ("moderator", "manager", "admin")  # the roles that take items
Role = Literal["item", "context", "team"]


@dataclass(frozen=True, slots=True)
class Entry:
    """A message of the conversation: the item's own (`item`), what it answers (`context`), the team's replies."""

    message: MessageCard
    role: Role


@dataclass(frozen=True, slots=True)
class Note:
    """An internal note, with its writer's name (none: the command line)."""

    id: int
    text: str
    by: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who can take items."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class Change:
    """An item that changed: its version now, its status, and who made its latest change (none: Pilote)."""

    item_id: int
    version: int
    status: str
    kind: str
    by: str | None
    by_id: int | None


@dataclass(frozen=True, slots=True)
class Changes:
    """The items changed since an event, and the latest event read (the next poll's `since`)."""

    last: int
    items: list[Change]


def conversation(session: Session, item: InboxItem) -> list[Entry]:
    """The item's messages, the post they answer and the team's replies to them, oldest first."""
    own = items.messages_of(session, item)
    first = session.get_one(Message, item.first_message_id)
    context = {first.thread_id, first.parent_id} - {None, *own}
    team = community.team_ids(session, item.workspace_id)
    replies: set[int] = set()
    if team:
        query = select(Message.id).where(Message.parent_id.in_(own), Message.author_id.in_(team),
                                         Message.workspace_id == item.workspace_id)  # fmt: skip
        replies = set(session.scalars(query))
    wanted = sorted({*own, *replies, *(i for i in context if i is not None)})
    rows = session.execute(card_query().where(Message.id.in_(wanted)).order_by(Message.created_at, Message.id)).all()
    mine = set(own)
    return [
        Entry(card, "item" if card.id in mine else "team" if card.id in replies else "context")
        for card in cards(session, rows)
    ]


def notes(session: Session, item_id: int) -> list[Note]:
    """The item's internal notes, oldest first."""
    rows = session.execute(
        select(InboxNote.id, InboxNote.text, User.display_name, InboxNote.created_at)
        .outerjoin(User, User.id == InboxNote.user_id).where(InboxNote.item_id == item_id).order_by(InboxNote.id)
    )  # fmt: skip
    return [Note(*row) for row in rows]


def teammates(session: Session, workspace_id: int) -> list[Person]:
    """The people who can take items here: moderators and up, and the instance's admins; by name."""
    member = select(Membership.user_id).where(Membership.workspace_id == workspace_id, Membership.role.in_(ACTING))
    rows = session.execute(
        select(User.id, User.display_name).where(User.disabled_at.is_(None),
                                                 or_(User.id.in_(member), User.instance_admin.is_(True)))
        .order_by(User.display_name, User.id)
    )  # fmt: skip
    return [Person(*row) for row in rows]


def waiting(session: Session, workspace_id: int, cap: int = 100) -> int:
    """How many items wait for a first move (new or open), counted up to `cap` (the menu shows "99+")."""
    query = select(InboxItem.id).where(InboxItem.workspace_id == workspace_id, InboxItem.status.in_(TODO),
                                       InboxItem.hidden.is_(False)).limit(cap)  # fmt: skip
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


def has_items(session: Session, workspace_id: int) -> bool:
    """Whether the workspace's inbox ever had an item (a fresh one explains how items arrive)."""
    return session.scalar(select(InboxItem.id).where(InboxItem.workspace_id == workspace_id).limit(1)) is not None


def sources(session: Session, workspace_id: int) -> list[tuple[int, str, str]]:
    """The workspace's sources (id, name, channel), for the filters."""
    rows = select(Source.id, Source.name, Source.channel).where(Source.workspace_id == workspace_id)
    return [(i, name, channel) for i, name, channel in session.execute(rows.order_by(Source.name))]


def names(session: Session, ids: list[int]) -> dict[int, str]:
    """Accounts' display names."""
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def last_event(session: Session, workspace_id: int) -> int:
    """The workspace's latest inbox event (where a page's live updates start)."""
    return session.scalar(select(func.max(InboxEvent.id)).where(InboxEvent.workspace_id == workspace_id)) or 0


def changes(session: Session, workspace_id: int, since: int, limit: int = MAX_CHANGES) -> Changes:
    """The items changed after event `since`, each once, with the latest change's author."""
    rows = session.execute(
        select(InboxEvent.id, InboxEvent.item_id, InboxEvent.kind, InboxEvent.user_id, User.display_name,
               InboxItem.version, InboxItem.status)
        .join(InboxItem, InboxItem.id == InboxEvent.item_id).outerjoin(User, User.id == InboxEvent.user_id)
        .where(InboxEvent.workspace_id == workspace_id, InboxEvent.id > since)
        .order_by(InboxEvent.id).limit(limit)
    ).all()  # fmt: skip
    found = {row.item_id: Change(row.item_id, row.version, row.status, row.kind, row.display_name, row.user_id)
             for row in rows}  # fmt: skip
    return Changes(rows[-1].id if rows else since, list(found.values()))


def last_changer(session: Session, item_id: int) -> str | None:
    """Who made the item's latest change (none: Pilote, or nobody yet)."""
    return session.scalar(
        select(User.display_name).join(InboxEvent, InboxEvent.user_id == User.id)
        .where(InboxEvent.item_id == item_id).order_by(InboxEvent.id.desc()).limit(1)
    )  # fmt: skip


def others_on(session: Session, item: InboxItem, user_id: int | None) -> list[str]:
    """Note that the person has the item open; the names of the others who have it open too."""
    if user_id is None:
        return []
    others = items.seen(session, item, user_id)
    return sorted(names(session, others).values())
