"""The Thread page: a post with its comment tree, reply depths, and what else its authors wrote."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pilote import community
from pilote.errors import NotFound
from pilote.models import Author, Enrichment, Message
from pilote.rollups import parse_keyphrases
from pilote.texts import N_
from pilote.views.common import MessageCard, card_query, cards

MAX_MESSAGES = 5000


@dataclass(slots=True)
class Entry:
    """A message of the thread, at its depth (0 for the root), with its keyphrases."""

    message: MessageCard
    depth: int
    keyphrases: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class AuthorActivity:
    """An author of the thread: how much they wrote here and in the whole workspace."""

    author_id: int
    handle: str
    name: str | None
    in_thread: int
    in_workspace: int
    team: bool


@dataclass(slots=True)
class Thread:
    """A conversation in reading order (each reply after its parent), and its authors."""

    root: MessageCard
    focus_id: int
    entries: list[Entry]
    authors: list[AuthorActivity]
    depth: int
    truncated: bool


def thread(session: Session, message_id: int) -> Thread:
    """The conversation a message belongs to, from its root."""
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(N_("no message %(id)s"), id=message_id)
    root_id = message.thread_id or message.id
    query = card_query().where(Message.source_id == message.source_id, Message.thread_id == root_id)
    rows = session.execute(query.order_by(Message.created_at, Message.id).limit(MAX_MESSAGES + 1)).all()
    found = cards(session, rows[:MAX_MESSAGES])
    if not any(card.id == root_id for card in found):
        found = cards(session, session.execute(card_query().where(Message.id == root_id)).all()) + found
    entries = _tree(found, root_id)
    phrases = _keyphrases(session, [entry.message.id for entry in entries])
    for entry in entries:
        entry.keyphrases = phrases.get(entry.message.id, [])
    return Thread(
        root=entries[0].message,
        focus_id=message_id,
        entries=entries,
        authors=_authors(session, message.workspace_id, [entry.message for entry in entries]),
        depth=max(entry.depth for entry in entries),
        truncated=len(rows) > MAX_MESSAGES,
    )


def _tree(found: list[MessageCard], root_id: int) -> list[Entry]:
    """Depth-first order from the root; messages whose parent is missing hang under the root."""
    children: dict[int, list[MessageCard]] = {}
    root = next(card for card in found if card.id == root_id)
    ids = {card.id for card in found}
    for card in found:
        if card.id != root_id:
            parent = card.parent_id if card.parent_id in ids and card.parent_id != card.id else root_id
            children.setdefault(parent, []).append(card)
    entries: list[Entry] = []
    stack = [(root, 0)]
    seen: set[int] = set()
    while stack:
        card, depth = stack.pop()
        if card.id in seen:
            continue
        seen.add(card.id)
        entries.append(Entry(card, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(card.id, [])))
    return entries


def _keyphrases(session: Session, ids: list[int]) -> dict[int, list[str]]:
    query = select(Enrichment.message_id, Enrichment.value).where(Enrichment.message_id.in_(ids))
    return {message_id: parse_keyphrases(value) for message_id, value in session.execute(query)}


def _authors(session: Session, workspace_id: int, messages: list[MessageCard]) -> list[AuthorActivity]:
    here: dict[int, int] = {}
    for card in messages:
        if card.author_id is not None:
            here[card.author_id] = here.get(card.author_id, 0) + 1
    if not here:
        return []
    totals = dict(
        session.execute(
            select(Message.author_id, func.count())
            .where(Message.author_id.in_(here), Message.workspace_id == workspace_id)
            .group_by(Message.author_id)
        ).all()
    )
    team = community.team_ids(session, workspace_id)
    people = session.execute(select(Author.id, Author.handle, Author.display_name).where(Author.id.in_(here)))
    found = [AuthorActivity(a, h, n, here[a], int(totals.get(a, 0)), a in team) for a, h, n in people]
    return sorted(found, key=lambda a: (-a.in_thread, a.handle))
