"""The Members page and a member's page on a large store: what each step costs, and the pages end to end.

Measures, on a store built by bench/load.py (PostgreSQL, or `--sqlite`), for windows ending at the store's last
day (bench/cockpit.py's END; the pages' periods end now, after it):

- the opinion leaders of 7, 30 and 90 days computed on request (`leaders.leaders`), and its parts: reading the
  interactions, measuring the graph (igraph), the previous period, the evidence of the people listed;
- the merge suggestions (`merges.suggest`), run in a child process given `--limit` seconds;
- the kept lists computed as a worker does (`leaders.kept.refresh`), then read back (`leaders.kept.leaders_of`);
- a member's figures (`views.members.member`) for the busiest author and a typical one;
- the pages `/w/bench/members` and `/w/bench/members/{id}` through the in-process HTTP client.

Prints Markdown for docs/benchmarks.md.

    .venv/bin/python bench/members_page.py --reuse /var/tmp/pilote-2m              # PostgreSQL
    .venv/bin/python bench/members_page.py --reuse /var/tmp/pilote-sqlite-1m --sqlite
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cockpit  # the store's END and the bench account
import load  # the PostgreSQL server of a --reuse folder
from pilote import leaders, merges
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.leaders import graph, scores
from pilote.models import Message, Workspace
from pilote.views.members import member

try:
    from pilote.db import without_jit
except ImportError:  # the code before it, measured for comparison
    without_jit = None  # type: ignore[assignment]

PERIODS = {"7d": 7, "30d": 30, "90d": 90}


@contextmanager
def store(folder: Path, sqlite: bool) -> Iterator[Engine]:
    """The engine of a store bench/load.py built in `folder`."""
    home = folder / "home"
    if sqlite:
        engine = make_engine(get_settings(home=home, database_url=None))
        migrate(engine)
        yield engine
        engine.dispose()
        return
    with load.postgres(folder) as url:
        engine = make_engine(get_settings(home=home, database_url=url))
        migrate(engine)
        yield engine
        engine.dispose()


def timed(call: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds of `runs` calls (the first one included: a page is often read cold), and the last result."""
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def _suggest(url: str | None, home: str, workspace_id: int) -> None:
    engine = make_engine(get_settings(home=Path(home), database_url=url))
    with Session(engine) as session:
        merges.suggest(session, workspace_id, limit=20)


def suggest_within(engine: Engine, home: Path, workspace_id: int, limit: float) -> float | None:
    """Seconds `merges.suggest` takes in a child process, or None when it gave no answer in `limit` seconds."""
    url = None if engine.dialect.name == "sqlite" else engine.url.render_as_string(hide_password=False)
    child = multiprocessing.get_context("spawn").Process(target=_suggest, args=(url, str(home), workspace_id))
    started = time.perf_counter()
    child.start()
    child.join(limit)
    if child.is_alive():
        child.kill()
        child.join()
        return None
    return time.perf_counter() - started


def leaders_steps(engine: Engine, workspace_id: int, days: int, runs: int) -> dict[str, float]:
    """Seconds of each step of the leaders of a period ending at the store's last day."""
    end = cockpit.END
    found: dict[str, float] = {}
    with Session(engine) as session:
        if without_jit is not None:  # as `leaders.leaders` runs them (the steps alone would pay PostgreSQL's JIT)
            without_jit(session)
        span = leaders.window(session, workspace_id, since=end - timedelta(days=days), until=end)
        found["interactions"], edges = timed(lambda: graph.interactions(session, workspace_id, span.since, end), runs)
        weights = edges.weights()
        found["edges"], found["people"] = len(weights), len({n for pair in weights for n in pair})
        found["measure"], _ = timed(lambda: scores.measure(weights), runs)
        found["whole"], _ = timed(lambda: leaders.leaders(session, workspace_id, span, limit=20), runs)
        found["messages"] = (
            session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.workspace_id == workspace_id, Message.created_at >= span.since, Message.created_at < end)
            )
            or 0
        )
    return found  # fmt: skip


def member_steps(engine: Engine, workspace_id: int, runs: int) -> list[tuple[str, int, float]]:
    """(which, messages, seconds) of a member's figures: the busiest author and a typical one."""
    with Session(engine) as session:
        counts = (
            select(Message.author_id, func.count().label("n"))
            .where(Message.workspace_id == workspace_id, Message.author_id.in_([1, 2, 500, 5000]))
            .group_by(Message.author_id)
        )
        rows = {author: n for author, n in session.execute(counts)}
        found = []
        for name, author in (("busiest author", 1), ("a typical author", 5000)):
            seconds, _ = timed(lambda a=author: member(session, a), runs)
            found.append((name, rows.get(author, 0), seconds))
    return found


def pages(engine: Engine, runs: int, author: int) -> list[tuple[str, float, int]]:
    """(path, median seconds, status) of the pages, read by a signed-in admin through the in-process client."""
    from fastapi.testclient import TestClient

    from pilote.web.app import create_app

    settings = get_settings(allowed_hosts="testserver")
    found = []
    with TestClient(create_app(settings, engine)) as client:
        signed = client.post("/login", data={"email": cockpit.BENCH_USER, "password": cockpit.BENCH_PASSWORD},
                             follow_redirects=False)  # fmt: skip
        assert signed.status_code == 303, signed.text
        for path in ("/w/bench/members?period=30d", "/w/bench/members?period=90d", f"/w/bench/members/{author}"):
            seconds, response = timed(lambda p=path: client.get(p), runs)
            found.append((path, seconds, response.status_code))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", type=Path, required=True, help="a store's folder built by bench/load.py")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--limit", type=float, default=120, help="seconds given to the merge suggestions")
    parser.add_argument("--periods", default="7d,30d,90d")
    parser.add_argument("--no-pages", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(f"{platform.node()}, Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    with store(args.reuse.resolve(), args.sqlite) as engine:
        with Session(engine) as session:
            workspace_id = session.scalar(select(Workspace.id).where(Workspace.slug == "bench"))
            total = session.scalar(select(func.count()).select_from(Message)) or 0
        assert workspace_id is not None, "no bench workspace: build the store with bench/load.py"
        print(f"{total:,} messages ({engine.dialect.name}); medians of {args.runs} runs\n")
        print("| leaders, period ending at the store's last day | messages | people | edges | interactions s "
              "| measure s | whole s |\n|---|---:|---:|---:|---:|---:|---:|")  # fmt: skip
        for name in args.periods.split(","):
            s = leaders_steps(engine, workspace_id, PERIODS[name], args.runs)
            print(f"| {name} | {s['messages']:,.0f} | {s['people']:,.0f} | {s['edges']:,.0f} | "
                  f"{s['interactions']:.2f} | {s['measure']:.2f} | {s['whole']:.2f} |")  # fmt: skip
        refresh_and_read(engine, workspace_id, args.runs)
        seconds = suggest_within(engine, args.reuse.resolve() / "home", workspace_id, args.limit)
        shown = f"{seconds:.2f} s" if seconds is not None else f"no answer in {args.limit:.0f} s"
        print(f"\nmerges.suggest (20): {shown}\n")
        print("| a member's figures | messages | s |\n|---|---:|---:|")
        for name, count, took in member_steps(engine, workspace_id, args.runs):
            print(f"| {name} | {count:,} | {took:.2f} |")
        if not args.no_pages:
            print("\n| page | s | status |\n|---|---:|---:|")
            for path, took, status in pages(engine, args.runs, 1):
                print(f"| `{path}` | {took:.2f} | {status} |")


def refresh_and_read(engine: Engine, workspace_id: int, runs: int) -> None:
    """The clock's refresh of the stored lists (as of the store's last day), then a page's read of them."""
    try:
        from pilote.leaders import kept
    except ImportError:  # before the lists were kept
        return
    started = time.perf_counter()
    kept.refresh(engine, workspace_id, now=cockpit.END, force=True)
    refreshed = time.perf_counter() - started
    with Session(engine) as session:
        seconds, _ = timed(lambda: kept.leaders_of(session, workspace_id, "30d"), runs)
    print(f"\nkept lists: computed (7d, 30d, 90d and the suggestions) in {refreshed:.2f} s; read in "
          f"{seconds * 1000:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
