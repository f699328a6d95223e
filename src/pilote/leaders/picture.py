"""The graph of a period as the Members page draws it: the most influential people, the edges among them, and
where each sits (docs/leaders.md, "The graph on the page").

The people shown are the first `MAX_NODES` by influence (PageRank); the edges are every ordered pair among them
with its weight (replies, mentions and quotes summed), the heaviest `MAX_EDGES` kept. Places are computed here,
once, by igraph's Fruchterman-Reingold layout on the undirected graph of the people shown (weights summed both
ways, attraction on their logarithm, so that one chatty pair does not crush the picture), with the seeded
generator: the same store gives the same picture, reload after reload. The browser only draws.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

import igraph
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pilote.leaders.graph import CHUNK, Interactions, in_period, interactions, node_key
from pilote.leaders.lists import Leaders, listed
from pilote.leaders.scores import Measured, measure, seeded
from pilote.leaders.window import Window
from pilote.models import Author, Member, Message

MAX_NODES = 2_000  # the hard cap: beyond, a picture of the whole is a blur on a screen, and its layout costs more
MAX_EDGES = 20_000  # the heaviest pairs among the people shown; more lines than pixels help nobody
SIZE = 1_000.0  # places fit a square of this side, whatever the graph; the browser scales it
LISTS = ("ambassadors", "detractors", "bridges", "rising")


@dataclass(frozen=True, slots=True)
class Node:
    """A person as drawn: where, how big (influence), which colour (community), and in which lists."""

    id: int  # the member's id, or minus the author's id for an identity not merged (as in the lists)
    author_id: int  # the Member page of this person
    name: str  # as the person wrote it: text, never markup
    x: float
    y: float
    influence: float
    community: int  # numbered by size over the whole period's graph, 0 the largest
    messages: int  # in the period, counted as the figures count them
    team: bool
    lists: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Edge:
    """Who addressed whom (replies, mentions and quotes summed) and how many times."""

    source: int
    target: int
    weight: int


@dataclass(frozen=True, slots=True)
class Picture:
    """The people shown (most influential first), the edges among them, and the size of what they come from."""

    since: datetime
    until: datetime
    people: int  # in the whole period's graph
    pairs: int  # ordered pairs of people in the whole period's graph
    communities: list[int]  # sizes of the sub-communities of the whole graph, largest first
    nodes: list[Node]
    edges: list[Edge]
    computed_at: datetime | None = None  # when a worker kept it; None: computed on request


def picture(session: Session, workspace_id: int, span: Window) -> Picture:
    """The graph of a period, computed now (the API; the page reads the one a worker kept)."""
    found = interactions(session, workspace_id, span.since, span.until)
    measured = measure(found.weights())
    return drawn(session, workspace_id, span, found, measured, listed(session, workspace_id, span, found, measured,
                                                                       limit=20))  # fmt: skip


def drawn(session: Session, workspace_id: int, span: Window, found: Interactions, measured: Measured,
          lists: Leaders) -> Picture:  # fmt: skip
    """The picture of a period's interactions, measured, with the lists drawn from them."""
    scores = measured.scores
    shown = sorted(scores, key=lambda n: (-scores[n].influence, n))[:MAX_NODES]
    weights = found.weights()
    places = _layout(shown, weights)
    people, node_of = _people(session, workspace_id, shown)
    messages = _messages(session, workspace_id, span, node_of)
    listed_in = {name: {p.id for p in getattr(lists, name)} for name in LISTS}
    nodes = [Node(id=node, author_id=people[node][0] if node in people else -node,
                  name=people[node][1] if node in people else "", x=x, y=y,
                  influence=round(scores[node].influence, 4), community=scores[node].community,
                  messages=messages[node], team=node in found.team,
                  lists=[name for name in LISTS if node in listed_in[name]])
             for node, (x, y) in zip(shown, places, strict=True)]  # fmt: skip
    kept = set(shown)
    among = sorted(((a, b) for a, b in weights if a in kept and b in kept), key=lambda p: (-weights[p], p))
    return Picture(since=span.since, until=span.until, people=len(scores), pairs=len(weights),
                   communities=list(measured.community_sizes), nodes=nodes,
                   edges=[Edge(a, b, weights[(a, b)]) for a, b in among[:MAX_EDGES]])  # fmt: skip


def top(shown: Picture, nodes: int) -> Picture:
    """The first `nodes` people of a picture (the most influential), in their places, and the edges among them."""
    if nodes >= len(shown.nodes):
        return shown
    kept = shown.nodes[:nodes]
    ids = {n.id for n in kept}
    return replace(shown, nodes=kept, edges=[e for e in shown.edges if e.source in ids and e.target in ids])


def _layout(shown: list[int], weights: Counter[tuple[int, int]]) -> list[tuple[float, float]]:
    """Each person's place, seeded Fruchterman-Reingold on the undirected graph of the people shown, fitted to a
    square of side SIZE."""
    if not shown:
        return []
    index = {node: i for i, node in enumerate(shown)}
    both: Counter[tuple[int, int]] = Counter()
    for (a, b), weight in weights.items():
        if a in index and b in index:
            i, j = sorted((index[a], index[b]))
            both[(i, j)] += weight
    pairs = sorted(both)
    graph = igraph.Graph(n=len(shown), edges=pairs, directed=False)
    with seeded():
        places = graph.layout_fruchterman_reingold(weights=[1.0 + math.log(both[p]) for p in pairs] or None)
    return _fitted([(float(x), float(y)) for x, y in places.coords])


def _fitted(places: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Places moved and scaled into [0, SIZE] (one scale for both axes, so that distances keep their meaning)."""
    xs, ys = [x for x, _ in places], [y for _, y in places]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    scale = SIZE / span
    return [(round((x - min(xs)) * scale, 1), round((y - min(ys)) * scale, 1)) for x, y in places]


def _people(session: Session, workspace_id: int, shown: list[int]
            ) -> tuple[dict[int, tuple[int, str]], dict[int, int]]:  # fmt: skip
    """Each node's first identity (its Member page) and name (the member's, else the identity's), and the node of
    each identity."""
    found: dict[int, tuple[int, str]] = {}
    node_of: dict[int, int] = {}
    for start in range(0, len(shown), CHUNK):
        part = shown[start : start + CHUNK]
        members, alone = [n for n in part if n > 0], [-n for n in part if n < 0]
        query = select(Author.id, Author.member_id, Author.display_name, Author.handle).where(
            Author.workspace_id == workspace_id, or_(Author.member_id.in_(members), Author.id.in_(alone))
        )
        for author_id, member_id, display, handle in session.execute(query.order_by(Author.id)):
            node = node_of[author_id] = node_key(member_id, author_id)
            first, name = found.get(node, (author_id, ""))
            found[node] = (first, name or display or handle or "")
        for member_id, name in session.execute(select(Member.id, Member.display_name).where(Member.id.in_(members))):
            if member_id in found:
                found[member_id] = (found[member_id][0], name)
    return found, node_of


def _messages(session: Session, workspace_id: int, span: Window, node_of: dict[int, int]) -> Counter[int]:
    """Each person's messages of the period that count (all their identities), counted by the database."""
    counts: Counter[int] = Counter()
    ids = sorted(node_of)
    for start in range(0, len(ids), CHUNK):
        query = (
            select(Message.author_id, func.count())
            .where(in_period(workspace_id, span.since, span.until), Message.author_id.in_(ids[start : start + CHUNK]))
            .group_by(Message.author_id)
        )
        for author_id, count in session.execute(query):
            if author_id is not None:
                counts[node_of[author_id]] += count
    return counts
