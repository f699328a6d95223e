"""The interaction graph of a workspace over a period: who answered, mentioned or quoted whom, how often.

A node is a person: identities merged into one member (`author.member_id`) are one node, keyed by the member's
id; an identity not merged is keyed by minus its author id. An edge goes from the one who acts (writes the reply,
the mention, the quote) to the one addressed, weighted by how many times. Only messages that count in figures
(`messages.counted`) and that are not decided spam take part: a spammer's replies are not influence. Talking to
oneself (a reply to one's own message, a mention of oneself) is no edge. A reply that also names the person it
answers is one interaction, not two.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from pilote.community import counted, not_spam
from pilote.leaders.mentions import MAYBE_NAMES, named
from pilote.models import Author, Message, TeamAccount

KINDS = ("reply", "mention", "quote")
CHUNK = 500


@dataclass(slots=True)
class Interactions:
    """Edges (from, to) → count per kind, the people in them, and which of those speak for the organisation."""

    edges: dict[str, Counter[tuple[int, int]]] = field(default_factory=lambda: {kind: Counter() for kind in KINDS})
    team: set[int] = field(default_factory=set)

    def weights(self) -> Counter[tuple[int, int]]:
        """Every kind of interaction summed per ordered pair."""
        total: Counter[tuple[int, int]] = Counter()
        for counts in self.edges.values():
            total.update(counts)
        return total

    def add(self, kind: str, source: int, target: int, count: int = 1) -> None:
        if source != target:
            self.edges[kind][(source, target)] += count


def node_key(member_id: int | None, author_id: int) -> int:
    """One person: their member's id, or minus the author's id while the identity stands alone."""
    return member_id if member_id is not None else -author_id


def in_period(workspace_id: int, since: datetime, until: datetime) -> ColumnElement[bool]:
    """SQL: the workspace's messages of [since, until) that count and are not spam."""
    return and_(Message.workspace_id == workspace_id, Message.created_at >= since, Message.created_at < until,
                counted(), not_spam())  # fmt: skip


def interactions(session: Session, workspace_id: int, since: datetime, until: datetime) -> Interactions:
    """Replies, mentions and quotes written in [since, until), between people."""
    found = Interactions()
    _replies(session, workspace_id, since, until, found)
    _mentions(session, workspace_id, since, until, found)
    found.team = _team(session, workspace_id)
    return found


def _replies(session: Session, workspace_id: int, since: datetime, until: datetime, found: Interactions) -> None:
    """Reply edges, counted by the database per (writer, addressee) identity: one row per pair, not per reply. The
    addressee is read through the parent's primary key, reply by reply: the cost follows the period, not the
    store (a join lets the planner read every message to hash the parents)."""
    parent = aliased(Message)
    addressee = select(parent.author_id).where(parent.id == Message.parent_id).scalar_subquery()
    replies = (
        select(Message.author_id.label("writer"), addressee.label("addressee"))
        .where(in_period(workspace_id, since, until), Message.parent_id.is_not(None))
        .subquery()
    )
    pairs = (
        select(replies.c.writer, replies.c.addressee, func.count().label("n"))
        .where(replies.c.addressee.is_not(None))
        .group_by(replies.c.writer, replies.c.addressee)
        .subquery()
    )
    writer, addressed = aliased(Author), aliased(Author)
    query = (
        select(writer.member_id, writer.id, addressed.member_id, addressed.id, pairs.c.n)
        .join(writer, writer.id == pairs.c.writer)
        .join(addressed, addressed.id == pairs.c.addressee)
    )
    for member, author, to_member, to_author, count in session.execute(query):
        found.add("reply", node_key(member, author), node_key(to_member, to_author), count)


def _mentions(session: Session, workspace_id: int, since: datetime, until: datetime, found: Interactions) -> None:
    """Mention and quote edges, from the messages that may name someone (a share, or an @ or u/ in the text);
    naming the person a reply answers is no mention (the reply is the interaction)."""
    maybe = or_(Message.kind == "share", *(Message.text.contains(mark, autoescape=True) for mark in MAYBE_NAMES))
    parent, addressee = aliased(Message), aliased(Author)
    query = (
        select(Message.id, Author.member_id, Author.id, Author.channel, Message.kind, Message.text, Message.raw,
               addressee.member_id, addressee.id)
        .join(Author, Author.id == Message.author_id)
        .outerjoin(parent, parent.id == Message.parent_id)
        .outerjoin(addressee, addressee.id == parent.author_id)
        .where(in_period(workspace_id, since, until), maybe)
        .execution_options(yield_per=CHUNK)
    )  # fmt: skip
    pending: list[tuple[int, int, str, str, str]] = []  # message, writer, channel, kind, key
    answered: dict[int, int] = {}  # message → the person it answers
    for message_id, member, author, channel, kind, text, raw, to_member, to_author in session.execute(query):
        names = named(text, raw, kind)
        writer = node_key(member, author)
        if to_author is not None:
            answered[message_id] = node_key(to_member, to_author)
        pending += [(message_id, writer, channel, "mention", key) for key in names.mentioned]
        pending += [(message_id, writer, channel, "quote", key) for key in names.quoted]
    people = _people(session, workspace_id, {(channel, key) for _, _, channel, _, key in pending})
    seen: set[tuple[int, str, int]] = set()
    for message_id, writer, channel, kind, key in pending:
        target = people.get((channel, key))
        if target is None or (kind == "mention" and answered.get(message_id) == target):
            continue
        if (message_id, kind, target) not in seen:  # two names of one person in one message: one mention
            seen.add((message_id, kind, target))
            found.add(kind, writer, target)


def _people(session: Session, workspace_id: int, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The node of each (channel, author key) the store knows."""
    by_key: dict[str, set[str]] = defaultdict(set)
    for channel, key in wanted:
        by_key[key].add(channel)
    keys = sorted(by_key)
    people: dict[tuple[str, str], int] = {}
    for start in range(0, len(keys), CHUNK):
        query = select(Author.channel, Author.key, Author.member_id, Author.id).where(
            Author.workspace_id == workspace_id, Author.key.in_(keys[start : start + CHUNK])
        )
        for channel, key, member, author in session.execute(query):
            if channel in by_key[key]:
                people[(channel, key)] = node_key(member, author)
    return people


def _team(session: Session, workspace_id: int) -> set[int]:
    """The nodes of the people who speak for the organisation (one team identity makes the member team)."""
    query = select(Author.member_id, Author.id).join(TeamAccount, TeamAccount.author_id == Author.id)
    return {node_key(member, author) for member, author in session.execute(query.where(
        TeamAccount.workspace_id == workspace_id))}  # fmt: skip
