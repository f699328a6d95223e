"""Graph measures of each person (python-igraph): influence (PageRank), betweenness, community.

- influence: weighted, directed PageRank (damping 0.85, the usual value) times the number of people, so that 1.0
  is the average person whatever the graph's size, and periods of different sizes compare;
- betweenness: on the undirected, unweighted graph (a bridge joins groups whoever spoke first), as the share of
  the shortest paths between other people that go through the person (0 to 1). Exact while the work stays small
  (`WORK`), else estimated from a seeded sample of source people and scaled up (Brandes and Pich, 2007);
- community: Leiden on modularity over the undirected graph weighted by interactions, seeded: the same store
  gives the same communities. Numbered by size, largest first.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import igraph

DAMPING = 0.85
SEED = 15
WORK = 5_000_000  # sources × (people + edges) for betweenness: about half a second on a 2-core machine
MIN_SOURCES = 32
_RANDOM = threading.Lock()  # the generator is the process's: one seeded computation at a time (the API's threads)


@dataclass(frozen=True, slots=True)
class Scores:
    """One person's place in the graph."""

    influence: float
    betweenness: float
    community: int
    reached_by: int  # how many different people answered, mentioned or quoted them
    reaches: int  # how many different people they answered, mentioned or quoted


@dataclass(frozen=True, slots=True)
class Measured:
    """Every person's scores, the size of each community, and whether betweenness was sampled."""

    scores: dict[int, Scores]
    community_sizes: list[int]
    edges: int
    sampled: bool


def measure(weights: Counter[tuple[int, int]]) -> Measured:
    """The measures of a graph given as (from, to) → weight."""
    people = sorted({node for pair in weights for node in pair})
    if not people:
        return Measured({}, [], 0, sampled=False)
    index = {node: i for i, node in enumerate(people)}
    pairs = sorted(weights)
    graph = igraph.Graph(n=len(people), edges=[(index[a], index[b]) for a, b in pairs], directed=True)
    graph.es["weight"] = [weights[pair] for pair in pairs]
    influence = graph.pagerank(weights="weight", damping=DAMPING)
    undirected = graph.as_undirected(combine_edges={"weight": "sum"})
    between, sampled = _betweenness(undirected)
    membership, sizes = _communities(undirected)
    reached_by = graph.indegree()
    reaches = graph.outdegree()
    n = len(people)
    scores = {node: Scores(influence[i] * n, between[i], membership[i], reached_by[i], reaches[i])
              for node, i in index.items()}  # fmt: skip
    return Measured(scores, sizes, len(pairs), sampled)


def _betweenness(graph: igraph.Graph) -> tuple[list[float], bool]:
    """Shares of shortest paths through each person: exact, or from sampled sources when the graph is large."""
    n = graph.vcount()
    pairs = (n - 1) * (n - 2) / 2
    if pairs <= 0:
        return [0.0] * n, False
    sources = max(MIN_SOURCES, WORK // (n + graph.ecount()))
    if sources >= n:
        return [b / pairs for b in graph.betweenness(directed=False)], False
    chosen = random.Random(SEED).sample(range(n), sources)
    scale = n / sources  # each source stands for n / k of them
    return [min(1.0, b * scale / pairs) for b in graph.betweenness(directed=False, sources=chosen)], True


def _communities(graph: igraph.Graph) -> tuple[list[int], list[int]]:
    """Each person's community, numbered by size (0 the largest), and the sizes."""
    with seeded():
        found = graph.community_leiden(objective_function="modularity", weights="weight", n_iterations=2)
    sizes = Counter(found.membership)
    order = {label: rank for rank, (label, _) in enumerate(sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])))}
    ranked = sorted(order, key=lambda label: order[label])
    return [order[label] for label in found.membership], [sizes[label] for label in ranked]


@contextmanager
def seeded() -> Iterator[None]:
    """igraph draws from one process-wide generator: seed it for one computation, then give it back."""
    with _RANDOM:
        igraph.set_random_number_generator(random.Random(SEED))
        try:
            yield
        finally:
            igraph.set_random_number_generator(random)
