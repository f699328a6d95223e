"""The Members graph at scale: what the graph route costs on a period of about 100,000 edges.

bench/leaders.py's synthetic community (replies to earlier messages chosen uniformly, authors skewed) in a fresh
SQLite store, one period of 30 days. Timed, `--runs` times each, alternately:

1. computed on request (`leaders.picture.picture`: what GET /api/v1/leaders/graph does), split into reading and
   measuring the period (interactions, measure, lists) and drawing it (`drawn`: layout, names, message counts);
2. the layout alone (`_layout`: seeded Fruchterman-Reingold on the MAX_NODES most influential people);
3. served from the kept picture (what GET /w/{slug}/members/graph.json does once a worker kept it: the stored
   JSON read, checked, cut to the nodes asked for, written), for MAX_NODES and 500 nodes.

Prints Markdown for docs/benchmarks.md.

    .venv/bin/python bench/members_graph.py                 # 100,000 edges, 3 runs
    .venv/bin/python bench/members_graph.py --edges 20000 --runs 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter
from sqlalchemy.orm import Session

from leaders import START, community, fill
from pilote import leaders
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.leaders.graph import interactions
from pilote.leaders.lists import listed
from pilote.leaders.picture import MAX_NODES, Picture, _layout, drawn, picture, top
from pilote.leaders.scores import measure

T = TypeVar("T")
PICTURE = TypeAdapter(Picture)


def timed(work: Callable[..., T], *args: Any) -> tuple[float, float, T]:
    started, used = time.perf_counter(), time.process_time()
    found = work(*args)
    return time.perf_counter() - started, time.process_time() - used, found


def served_json(blob: bytes, nodes: int) -> bytes:
    """What the page's route does with a kept picture: read, checked, cut, written."""
    return PICTURE.dump_json(top(PICTURE.validate_json(blob), nodes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    people, messages = community(args.edges)
    rows: dict[str, list[tuple[float, float]]] = {}

    def note(step: str, wall: float, cpu: float) -> None:
        rows.setdefault(step, []).append((wall, cpu))

    with tempfile.TemporaryDirectory(prefix="pilote-bench-") as home:
        engine = make_engine(get_settings(home=Path(home), database_url=None))
        migrate(engine)
        with Session(engine) as session, session.begin():
            workspace_id = fill(session, people, messages)
        with Session(engine) as session:
            span = leaders.window(session, workspace_id, since=START, until=START + timedelta(days=30))
            for _ in range(args.runs):
                wall, cpu, whole = timed(picture, session, workspace_id, span)
                note("computed on request (`picture`, the API route)", wall, cpu)
                found = interactions(session, workspace_id, span.since, span.until)
                weights = found.weights()
                measured = measure(weights)
                lists = listed(session, workspace_id, span, found, measured, limit=20)
                wall, cpu, _ = timed(drawn, session, workspace_id, span, found, measured, lists)
                note("of which drawing (`drawn`: layout, names, counts)", wall, cpu)
                shown = [n.id for n in whole.nodes]
                wall, cpu, _ = timed(_layout, shown, weights)
                note(f"of which the layout alone ({len(shown):,} people)", wall, cpu)
                blob = PICTURE.dump_json(whole)
                for nodes in (MAX_NODES, 500):
                    wall, cpu, served = timed(served_json, blob, nodes)
                    note(f"served from the kept picture, {nodes:,} nodes ({len(served) / 1e6:.2f} MB of JSON)",
                         wall, cpu)  # fmt: skip
        engine.dispose()
    load = os.getloadavg()
    print(f"{platform.node()}, Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")  # fmt: skip
    print(f"community: {people:,} people, {len(messages):,} messages; the period's graph: {whole.people:,} people, "
          f"{whole.pairs:,} pairs; shown: {len(whole.nodes):,} nodes, {len(whole.edges):,} edges")  # fmt: skip
    print(f"\n| step | wall, median of {args.runs} (s) | CPU, median (s) |")
    print("|---|---:|---:|")
    for step, timings in rows.items():
        print(f"| {step} | {statistics.median(w for w, _ in timings):.3f} | "
              f"{statistics.median(c for _, c in timings):.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
