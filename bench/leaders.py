"""Opinion leaders at scale: graph measures on 100,000 edges, and the whole computation from a store.

1. `measure` (PageRank, betweenness, Leiden communities) on a synthetic reply graph of `--edges` distinct
   weighted pairs: people write replies to earlier messages chosen uniformly, so that who writes much is
   answered much (preferential attachment, as in real threads), and how much each person writes is skewed
   (a few write most). `--runs` timings, median and best.
2. `leaders.leaders` from a fresh SQLite store holding such a community (bulk-inserted), for one period: reading
   the replies, measuring the graph, the period before, and the evidence of the people listed.

Prints Markdown for docs/benchmarks.md.

    .venv/bin/python bench/leaders.py                      # 100,000 edges, 5 runs, and the store
    .venv/bin/python bench/leaders.py --edges 20000 --runs 3 --no-store
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

from pilote import leaders, workspaces
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.leaders.scores import measure
from pilote.models import Author, Message, Source

START = datetime(2026, 3, 1, tzinfo=UTC)


def community(edges: int, seed: int = 1) -> tuple[int, list[tuple[int, int | None]]]:
    """(people, messages as (author, parent index or None)) with about `edges` distinct replying pairs."""
    rng = random.Random(seed)
    people = max(100, edges // 3)
    messages: list[tuple[int, int | None]] = []
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < edges:
        author = int(people * rng.random() ** 2)  # skewed: the first people write most
        if not messages or rng.random() < 0.1:
            messages.append((author, None))
            continue
        parent = rng.randrange(len(messages))
        messages.append((author, parent))
        if messages[parent][0] != author:
            pairs.add((author, messages[parent][0]))
    return people, messages


def weights(messages: list[tuple[int, int | None]]) -> Counter[tuple[int, int]]:
    found: Counter[tuple[int, int]] = Counter()
    for author, parent in messages:
        if parent is not None and messages[parent][0] != author:
            found[(author, messages[parent][0])] += 1
    return found


def time_measure(graph: Counter[tuple[int, int]], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds of each run (CPU time is what neighbours on a shared machine disturb less)."""
    seconds, cpu = [], []
    for _ in range(runs):
        started, used = time.perf_counter(), time.process_time()
        found = measure(graph)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    print(f"  {len(found.scores):,} people, {found.edges:,} edges, {len(found.community_sizes):,} communities, "
          f"betweenness sampled: {found.sampled}")  # fmt: skip
    return seconds, cpu


def fill(session: Session, people: int, messages: list[tuple[int, int | None]]) -> int:
    """A workspace "bench" of `people` forum members and these messages (author, parent) over 30 days from START."""
    workspace_id = workspaces.create(session, slug="bench").id
    source = Source(workspace_id=workspace_id, kind="bench", key="bench", name="bench", channel="forum")
    session.add(source)
    session.flush()
    session.execute(insert(Author), [{"id": p + 1, "workspace_id": workspace_id, "channel": "forum",
                    "key": f"user:p{p}", "handle": f"p{p}", "display_name": f"Person {p}"}
                    for p in range(people)])  # fmt: skip
    step = timedelta(days=30) / len(messages)
    session.execute(insert(Message), [
        {"id": i + 1, "workspace_id": workspace_id, "source_id": source.id, "external_id": str(i),
         "kind": "post" if parent is None else "reply", "parent_id": None if parent is None else parent + 1,
         "author_id": author + 1, "text": f"message {i}", "created_at": START + i * step, "raw": "",
         "raw_hash": ""} for i, (author, parent) in enumerate(messages)])  # fmt: skip
    return workspace_id


def time_store(people: int, messages: list[tuple[int, int | None]]) -> tuple[float, float, float, leaders.Leaders]:
    """Seconds to fill a SQLite store, and (wall, CPU) to compute the leaders of the 30 days it covers."""
    with tempfile.TemporaryDirectory(prefix="pilote-bench-") as home:
        engine = make_engine(get_settings(home=Path(home), database_url=None))
        migrate(engine)
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            workspace_id = fill(session, people, messages)
        filled = time.perf_counter() - started
        with Session(engine) as session:
            span = leaders.window(session, workspace_id, since=START, until=START + timedelta(days=30))
            started, used = time.perf_counter(), time.process_time()
            found = leaders.leaders(session, workspace_id, span)
            computed, cpu = time.perf_counter() - started, time.process_time() - used
        engine.dispose()
    return filled, computed, cpu, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-store", action="store_true", help="Only the graph measures.")
    args = parser.parse_args()
    people, messages = community(args.edges)
    graph = weights(messages)
    print(f"{platform.node()}, Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"community: {people:,} people, {len(messages):,} messages, {len(graph):,} distinct replying pairs")
    seconds, cpu = time_measure(graph, args.runs)
    print(f"\n| step | edges | wall, median of {args.runs} (s) | wall, best (s) | CPU, median (s) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| measure: PageRank, betweenness, Leiden | {len(graph):,} | {statistics.median(seconds):.2f} | "
          f"{min(seconds):.2f} | {statistics.median(cpu):.2f} |")  # fmt: skip
    if not args.no_store:
        filled, computed, used, found = time_store(people, messages)
        step = f"`leaders.leaders`, 30 days, from SQLite (store filled in {filled:.0f} s), once"
        print(f"| {step} | {len(graph):,} | {computed:.2f} | | {used:.2f} |")
        print(f"\n{found.people:,} people; lists: {len(found.ambassadors)} ambassadors, {len(found.bridges)} bridges, "
              f"{len(found.rising)} rising; {len(found.communities)} sub-communities")  # fmt: skip


if __name__ == "__main__":
    main()
