"""The Thread page: a post with its comment tree, one part at a time, and what else its authors wrote.

A thread may hold thousands of replies. Its shape (each message's id, parent and author, no text) is read whole
and put in reading order in memory; only one part of it — `PART` messages from a position — is read as cards.
A part that starts deep in the thread comes with the ancestors of its first message, so the tree stays readable.
docs/architecture.md, "Threads".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from pilote import community
from pilote.errors import Invalid, NotFound
from pilote.models import Author, Enrichment, Message
from pilote.rollups import parse_keyphrases
from pilote.texts import N_
from pilote.views.common import MessageCard, card_query, cards

PART = 50  # messages of the thread read and shown at once
MAX_PART = 500
MAX_MESSAGES = 20_000  # of a thread's shape read; a longer thread shows its first ones
AUTHORS = 20  # the most active authors of the thread, counted in the whole workspace
COUNTED = 1000  # an author's messages in the workspace are counted up to this; "1,000+" beyond


@dataclass(frozen=True, slots=True)
class Node:
    """A message's place in its thread, without its text."""

    id: int
    parent_id: int | None
    author_id: int | None


@dataclass(slots=True)
class Entry:
    """A message of the thread, at its depth (0 for the root), with its keyphrases; `context` when it is an
    ancestor shown above a part that starts deeper in the thread."""

    message: MessageCard
    depth: int
    keyphrases: list[str] = field(default_factory=list)
    context: bool = False


@dataclass(frozen=True, slots=True)
class AuthorActivity:
    """An author of the thread: how much they wrote here and in the whole workspace."""

    author_id: int
    handle: str
    name: str | None
    in_thread: int
    in_workspace: int
    team: bool
    more: bool = False  # wrote more than `in_workspace` (counted up to COUNTED)


@dataclass(slots=True)
class Thread:
    """One part of a conversation in reading order (each reply after its parent), and its authors.

    `start` is the reading position of the part's first message (0: the root), `next_start` that of the next
    part (None after the last one); `messages`, `depth` and `people` are the whole thread's."""

    root: MessageCard
    focus_id: int
    entries: list[Entry]
    authors: list[AuthorActivity]
    messages: int
    depth: int
    people: int
    start: int
    next_start: int | None
    truncated: bool
    post_missing: bool = False  # the root stands in for a post that is not in the store (linking.py)


def thread(session: Session, message_id: int, *, start: int | None = None, size: int = PART) -> Thread:
    """The part of a message's conversation from reading position `start`; by default the first part, or the
    part that starts at the message when it lies further."""
    if not 1 <= size <= MAX_PART:
        raise Invalid(N_("size=%(size)s: give a number from 1 to %(most)s"), size=size, most=MAX_PART)
    if start is not None and start < 0:
        raise Invalid(N_("start=%(start)s: give a position from 0"), start=start)
    found = session.execute(
        select(Message.source_id, Message.thread_id, Message.workspace_id).where(Message.id == message_id)
    ).one_or_none()
    if found is None:
        raise NotFound(N_("no message %(id)s"), id=message_id)
    source_id, thread_id, workspace_id = found
    root_id = thread_id or message_id
    nodes, truncated = _shape(session, source_id, root_id)
    order = reading_order(nodes, root_id)
    position = {node.id: n for n, (node, _) in enumerate(order)}
    if start is None:
        start = 0 if position.get(message_id, 0) < size else position[message_id]
    start = min(start, max(len(order) - 1, 0))
    part = order[start : start + size]
    ancestors = _ancestors(nodes, part[0][0], root_id) if start else []
    entries = _entries(session, ancestors, part)
    return Thread(
        root=next(entry.message for entry in entries if entry.message.id == root_id),
        focus_id=message_id,
        entries=entries,
        authors=_authors(session, workspace_id, order),
        messages=len(order),
        depth=max(depth for _, depth in order),
        people=len({node.author_id for node, _ in order if node.author_id is not None}),
        start=start,
        next_start=start + size if start + size < len(order) else None,
        truncated=truncated,
        post_missing=_stands_in(session, root_id),
    )


def _stands_in(session: Session, root_id: int) -> bool:
    """Whether the thread's root is a stand-in: the first message of a thread whose post is not in the store."""
    named, own = session.execute(
        select(Message.thread_external_id, Message.external_id).where(Message.id == root_id)
    ).one()
    return named is not None and named != own


def _shape(session: Session, source_id: int, root_id: int) -> tuple[dict[int, Node], bool]:
    """The thread's messages as nodes, oldest first (the root included even when it names no thread)."""
    query = (
        select(Message.id, Message.parent_id, Message.author_id)
        .where(Message.thread_id == root_id, Message.source_id == source_id)
        .order_by(Message.created_at, Message.id)
        .limit(MAX_MESSAGES + 1)
    )
    rows = session.execute(query).all()
    nodes = {row[0]: Node(*row) for row in rows[:MAX_MESSAGES]}
    if root_id not in nodes:
        root = session.execute(select(Message.id, Message.parent_id, Message.author_id).where(Message.id == root_id))
        nodes = {root_id: Node(*root.one()), **nodes}
    return nodes, len(rows) > MAX_MESSAGES


def reading_order(nodes: dict[int, Node], root_id: int) -> list[tuple[Node, int]]:
    """Depth-first from the root, siblings oldest first, each with its depth; a message whose parent is
    missing hangs under the root."""
    children: dict[int, list[Node]] = {}
    for node in nodes.values():
        if node.id != root_id:
            parent = node.parent_id if node.parent_id in nodes and node.parent_id != node.id else root_id
            children.setdefault(parent, []).append(node)
    order: list[tuple[Node, int]] = []
    stack = [(nodes[root_id], 0)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if node.id in seen:
            continue
        seen.add(node.id)
        order.append((node, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(node.id, [])))
    return order


def _ancestors(nodes: dict[int, Node], node: Node, root_id: int) -> list[tuple[Node, int]]:
    """The chain from the root down to a node's parent, each with its depth (as `reading_order` places them)."""
    chain: list[Node] = []
    seen = {node.id}
    current = node
    while current.id != root_id:
        parent_id = current.parent_id if current.parent_id in nodes else root_id
        if parent_id in seen:
            parent_id = root_id  # a cycle: reading_order hangs it under the root too
        current = nodes[parent_id]
        seen.add(current.id)
        chain.append(current)
    return [(ancestor, depth) for depth, ancestor in enumerate(reversed(chain))]


def _entries(session: Session, ancestors: list[tuple[Node, int]], part: list[tuple[Node, int]]) -> list[Entry]:
    """The cards of the ancestors (as context) and of the part, with their keyphrases."""
    ids = [node.id for node, _ in ancestors + part]
    found = {card.id: card for card in cards(session, session.execute(card_query().where(Message.id.in_(ids))).all())}
    phrases = _keyphrases(session, ids)
    listed = [(node, depth, True) for node, depth in ancestors] + [(node, depth, False) for node, depth in part]
    return [Entry(found[node.id], depth, phrases.get(node.id, []), context) for node, depth, context in listed]


def _keyphrases(session: Session, ids: list[int]) -> dict[int, list[str]]:
    query = select(Enrichment.message_id, Enrichment.value).where(Enrichment.message_id.in_(ids))
    return {message_id: parse_keyphrases(value) for message_id, value in session.execute(query)}


def _authors(session: Session, workspace_id: int, order: list[tuple[Node, int]]) -> list[AuthorActivity]:
    """The thread's `AUTHORS` most active authors, with how much each wrote in the whole workspace."""
    here: dict[int, int] = {}
    for node, _ in order:
        if node.author_id is not None:
            here[node.author_id] = here.get(node.author_id, 0) + 1
    most = sorted(here, key=lambda a: -here[a])[:AUTHORS]
    if not most:
        return []
    totals = _totals(session, most)
    team = community.team_ids(session, workspace_id)
    people = session.execute(select(Author.id, Author.handle, Author.display_name).where(Author.id.in_(most)))
    found = [
        AuthorActivity(a, h, n, here[a], min(totals.get(a, 0), COUNTED), a in team, totals.get(a, 0) > COUNTED)
        for a, h, n in people
    ]
    return sorted(found, key=lambda a: (-a.in_thread, a.handle))


def _totals(session: Session, authors: list[int]) -> dict[int, int]:
    """How many messages each author wrote, counted up to one past `COUNTED`: each count reads at most that many
    entries of the author index (a prolific author's whole count would read millions). An author belongs to one
    workspace, so their messages are that workspace's."""
    counts = [
        select(literal(author).label("author"), func.count().label("n")).select_from(
            select(Message.id).where(Message.author_id == author).limit(COUNTED + 1).subquery()
        )
        for author in authors
    ]
    return {author: n for author, n in session.execute(union_all(*counts)).all()}
