"""Opinion leaders: ambassadors, detractors, bridges and rising members, each with its evidence.

The definitions and the reasons for each threshold are in docs/leaders.md; in short:

- influential: influence (PageRank, 1.0 = the average person) of at least `INFLUENTIAL`, reached by at least
  `MIN_REACHED_BY` different people;
- ambassador / detractor: influential, and their messages of the period lean positive / negative: more
  positive than negative messages (or the reverse), with at least `MIN_LEANING` on that side;
- bridge: on some shortest paths (betweenness above 0) and in touch with at least two sub-communities of at
  least `MIN_COMMUNITY` people (their own counts);
- rising: influential now, and at least `RISE` times as influential as in the period before (absent then: 0).

Sentiment is as decided: a person's label over the model's. The team stays in the graph (answering is part of
the conversation) but is in no list: its accounts are not community leaders.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from pilote import rollups
from pilote.leaders.graph import Interactions, in_period, interactions, node_key
from pilote.leaders.scores import Measured, Scores, measure
from pilote.leaders.window import Window
from pilote.models import Author, Member, Message
from pilote.views.common import decided

INFLUENTIAL = 1.0
MIN_REACHED_BY = 2
MIN_LEANING = 2
MIN_COMMUNITY = 3
RISE = 2.0
TOP_MESSAGES = 3
EXCERPT = 280


@dataclass(frozen=True, slots=True)
class Evidence:
    """One of the person's most engaged messages of the period."""

    id: int
    created_at: datetime
    text: str
    url: str | None
    engagement: int
    sentiment: str | None


@dataclass(slots=True)
class Leader:
    """A person in a list, with what puts them there."""

    id: int  # the member's id, or minus the author's id for an identity not merged
    author_id: int  # the Member page of this person
    name: str
    influence: float
    previous_influence: float | None
    betweenness: float
    community: int
    communities_reached: int
    reached_by: int
    reaches: int
    received: dict[str, int]  # replies, mentions and quotes addressed to them
    messages: int = 0
    engagement: int = 0
    sentiment: dict[str, int] = field(default_factory=dict)
    top_messages: list[Evidence] = field(default_factory=list)


@dataclass(slots=True)
class Leaders:
    """The four lists of a period, and the size of the graph they come from."""

    since: datetime
    until: datetime
    previous_since: datetime | None
    previous_until: datetime | None
    people: int
    interactions: dict[str, int]
    communities: list[int]  # sizes of the sub-communities of at least MIN_COMMUNITY people, largest first
    betweenness_sampled: bool
    ambassadors: list[Leader]
    detractors: list[Leader]
    bridges: list[Leader]
    rising: list[Leader]
    computed_at: datetime | None = None  # when a worker computed the lists (leaders.kept); None: computed now


def leaders(session: Session, workspace_id: int, span: Window, *, limit: int = 20) -> Leaders:
    """The opinion leaders of a workspace over a period, at most `limit` per list."""
    found = interactions(session, workspace_id, span.since, span.until)
    return listed(session, workspace_id, span, found, measure(found.weights()), limit=limit)


def listed(session: Session, workspace_id: int, span: Window, found: Interactions, now: Measured, *, limit: int
           ) -> Leaders:  # fmt: skip
    """The lists drawn from a period's interactions and their measures (read and measured once by a caller that
    also draws the graph: leaders.picture)."""
    weights = found.weights()
    before = _before(session, workspace_id, span)
    candidates = {node: s for node, s in now.scores.items() if node not in found.team}
    reached = _communities_reached(weights, now)
    influential = [n for n, s in candidates.items() if s.influence >= INFLUENTIAL and s.reached_by >= MIN_REACHED_BY]
    by_influence = sorted(influential, key=lambda n: (-candidates[n].influence, n))
    bridges = sorted((n for n, s in candidates.items() if s.betweenness > 0 and reached[n] >= 2),
                     key=lambda n: (-candidates[n].betweenness, n))[:limit]  # fmt: skip
    rising = [] if before is None else sorted(
        (n for n in influential if candidates[n].influence >= RISE * before.get(n, 0.0)),
        key=lambda n: (-(candidates[n].influence - before.get(n, 0.0)), n))[:limit]  # fmt: skip
    received = _received(found.edges)
    people = {n: _leader(n, candidates[n], before, reached[n], received[n]) for n in {*by_influence, *bridges, *rising}}
    _describe(session, workspace_id, span, people)
    ambassadors = [people[n] for n in by_influence if _leans(people[n], "positive", "negative")][:limit]
    detractors = [people[n] for n in by_influence if _leans(people[n], "negative", "positive")][:limit]
    return Leaders(
        since=span.since, until=span.until, previous_since=span.previous[0] if span.previous else None,
        previous_until=span.previous[1] if span.previous else None, people=len(now.scores),
        interactions={kind: sum(counts.values()) for kind, counts in found.edges.items()},
        communities=[size for size in now.community_sizes if size >= MIN_COMMUNITY],
        betweenness_sampled=now.sampled, ambassadors=ambassadors, detractors=detractors,
        bridges=[people[n] for n in bridges], rising=[people[n] for n in rising],
    )  # fmt: skip


def _before(session: Session, workspace_id: int, span: Window) -> dict[int, float] | None:
    """Each person's influence in the period before (None when there is no such period)."""
    if span.previous is None:
        return None
    previous = measure(interactions(session, workspace_id, *span.previous).weights())
    return {node: s.influence for node, s in previous.scores.items()}


def _leans(person: Leader, side: str, other: str) -> bool:
    """Whether a person's messages lean to one side: more of them than of the other, and at least MIN_LEANING."""
    mine, theirs = person.sentiment.get(side, 0), person.sentiment.get(other, 0)
    return mine >= MIN_LEANING and mine > theirs


def _communities_reached(weights: Counter[tuple[int, int]], measured: Measured) -> dict[int, int]:
    """Per person, how many sub-communities of at least MIN_COMMUNITY people they are in touch with (their own
    included, when it is one)."""
    big = {rank for rank, size in enumerate(measured.community_sizes) if size >= MIN_COMMUNITY}
    touched: dict[int, set[int]] = defaultdict(set)
    for a, b in weights:
        for one, other in ((a, b), (b, a)):
            for community in (measured.scores[one].community, measured.scores[other].community):
                if community in big:
                    touched[one].add(community)
    return {node: len(touched[node]) for node in measured.scores}


def _received(edges: dict[str, Counter[tuple[int, int]]]) -> dict[int, dict[str, int]]:
    received: dict[int, dict[str, int]] = defaultdict(dict)
    for kind, counts in edges.items():
        for (_, target), count in counts.items():
            received[target][kind] = received[target].get(kind, 0) + count
    return received


def _leader(node: int, scores: Scores, before: dict[int, float] | None, reached: int, received: dict[str, int]
            ) -> Leader:  # fmt: skip
    return Leader(
        id=node, author_id=-node if node < 0 else 0, name="", influence=round(scores.influence, 4),
        previous_influence=None if before is None else round(before.get(node, 0.0), 4),
        betweenness=round(scores.betweenness, 6), community=scores.community, communities_reached=reached,
        reached_by=scores.reached_by, reaches=scores.reaches, received=received,
    )  # fmt: skip


def _describe(session: Session, workspace_id: int, span: Window, people: dict[int, Leader]) -> None:
    """Names, message counts, engagement, sentiment mix and top messages of the people listed."""
    if not people:
        return
    members = [n for n in people if n > 0]
    alone = [-n for n in people if n < 0]
    authors = select(Author.id, Author.member_id, Author.display_name, Author.handle).where(
        Author.workspace_id == workspace_id, or_(Author.member_id.in_(members), Author.id.in_(alone))
    )
    node_of: dict[int, int] = {}
    for author_id, member_id, display, handle in session.execute(authors.order_by(Author.id)):
        node = node_key(member_id, author_id)
        node_of[author_id] = node
        person = people[node]
        person.author_id = person.author_id or author_id
        person.name = person.name or display or handle
    for member_id, name in session.execute(select(Member.id, Member.display_name).where(Member.id.in_(members))):
        people[member_id].name = name
    mine = and_(in_period(workspace_id, span.since, span.until), Message.author_id.in_(node_of))
    _tally(session, mine, node_of, people)
    _evidence(session, mine, node_of, people)


def _tally(session: Session, mine: ColumnElement[bool], node_of: dict[int, int], people: dict[int, Leader]) -> None:
    """Messages, engagement and sentiment mix of each person, counted by the database per identity and feeling."""
    rows = select(Message.author_id.label("author"), Message.engagement.label("engagement"),
                  decided("sentiment", Message.sentiment).label("feeling")).where(mine).subquery()  # fmt: skip
    query = select(rows.c.author, rows.c.feeling, func.count(), func.coalesce(func.sum(rows.c.engagement), 0))
    for author_id, feeling, count, engagement in session.execute(query.group_by(rows.c.author, rows.c.feeling)):
        person = people[node_of[author_id]]
        person.messages += count
        person.engagement += int(engagement)
        key = feeling or rollups.UNKNOWN
        person.sentiment[key] = person.sentiment.get(key, 0) + count


def _evidence(session: Session, mine: ColumnElement[bool], node_of: dict[int, int], people: dict[int, Leader]
              ) -> None:  # fmt: skip
    """Each person's most engaged messages: the first TOP_MESSAGES of each identity, ranked by the database."""
    engagement = func.coalesce(Message.engagement, 0)
    rank = func.row_number().over(partition_by=Message.author_id,
                                  order_by=(engagement.desc(), Message.created_at.desc(), Message.id))  # fmt: skip
    ranked = select(Message.id.label("id"), rank.label("rank")).where(mine).subquery()
    query = select(Message.id, Message.author_id, Message.created_at, Message.text, Message.url, engagement,
                   decided("sentiment", Message.sentiment)).join(ranked, ranked.c.id == Message.id).where(
                       ranked.c.rank <= TOP_MESSAGES)  # fmt: skip
    by_person: dict[int, list[Evidence]] = defaultdict(list)
    for message_id, author_id, created_at, text, url, engaged, feeling in session.execute(query):
        by_person[node_of[author_id]].append(Evidence(message_id, created_at, (text or "")[:EXCERPT], url, engaged,
                                                      feeling))  # fmt: skip
    for node, found in by_person.items():
        people[node].top_messages = sorted(found, key=lambda e: (-e.engagement, -e.created_at.timestamp(), e.id))[
            :TOP_MESSAGES
        ]
