"""Metrics speed at scale: the whole catalogue (`pilote metrics`) of a large workspace, per period.

Builds (or reuses) the synthetic store of bench/cockpit.py (a year of a bilingual community written with the bulk
helpers), marks a few authors as the team, then times `metrics.report` for 7, 30 and 90 days and the whole
history, after one warm-up, with the months before the periods summed by the database (the default) and read
row by row (`summed=False`), alternately, so both see the same machine load. Then (`--refresh`) what the worker's
refresh of the kept reports computes: the four standard periods read once (`metrics.reports`), beside the four
computed one by one, alternately. Then (`--after-imports N`) the refresh a worker makes after an import of N new
messages, with the messages it held since the refresh before (`metrics.held`: only the hours that changed are read
again) beside a whole read, on the same store after each import. Prints Markdown tables.

    .venv/bin/python bench/metrics.py --messages 1000000           # SQLite, the store of cockpit.py under bench/out
    .venv/bin/python bench/metrics.py --messages 1000000 --reuse   # measure an existing store again
    .venv/bin/python bench/metrics.py --reuse --periods none --refresh   # the refresh alone
    .venv/bin/python bench/metrics.py --reuse --periods none --after-imports 10000   # the refresh after imports
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cockpit  # the store builder, beside this file
from pilote import community, metrics
from pilote.imports import import_file
from pilote.metrics import held, kept
from pilote.metrics.facts import load
from pilote.models import Message

PERIODS = ("7d", "30d", "90d", "all")


def timed_report(engine: Engine, workspace_id: int, period: str, runs: int) -> tuple[float, float, float, int]:
    """Median seconds of `runs` reports (after one warm-up) with the months before the periods summed by the
    database and read row by row, alternately (the same load on both), their ratio, and the period's messages."""
    times: dict[bool, list[float]] = {True: [], False: []}
    with Session(engine) as session:
        newest = session.scalar(select(func.max(Message.created_at)).where(Message.workspace_id == workspace_id))
        assert newest is not None
        until = newest + timedelta(seconds=1)
        since, until = metrics.span(session, workspace_id, period=period, until=until)
        count = session.scalar(
            select(func.count()).where(
                Message.workspace_id == workspace_id, Message.created_at >= since, Message.created_at < until
            )
        )
    for run in range(runs + 1):
        for summed in (True, False):
            with Session(engine) as session:
                started = time.perf_counter()
                metrics.report(session, workspace_id, since, until, summed=summed)
                if run:
                    times[summed].append(time.perf_counter() - started)
    fast, plain = statistics.median(times[True]), statistics.median(times[False])
    return fast, plain, plain / fast, int(count or 0)


def timed_refresh(engine: Engine, workspace_id: int, runs: int) -> tuple[float, float, int]:
    """Median seconds of the kept refresh's computation (the standard periods read once), and of the same reports
    computed one by one, alternately, after one warm-up of each; and the workspace's messages."""
    times: dict[bool, list[float]] = {True: [], False: []}
    with Session(engine) as session:
        newest = session.scalar(select(func.max(Message.created_at)).where(Message.workspace_id == workspace_id))
        assert newest is not None
        until = newest + timedelta(seconds=1)
        periods = [metrics.span(session, workspace_id, period=p, until=until) for p in kept.PERIODS]
        count = session.scalar(select(func.count()).where(Message.workspace_id == workspace_id))
    for run in range(runs + 1):
        for together in (True, False):
            with Session(engine) as session:
                started = time.perf_counter()
                if together:
                    metrics.reports(session, workspace_id, periods)
                else:
                    for since, until in periods:
                        metrics.report(session, workspace_id, since, until)
                if run:
                    times[together].append(time.perf_counter() - started)
    return statistics.median(times[True]), statistics.median(times[False]), int(count or 0)


def timed_after_imports(engine: Engine, workspace_id: int, size: int, runs: int) -> tuple[float, float, float, int]:
    """The kept refresh after each of `runs` imports of `size` new messages (the hour after the newest, half of
    them replies; `imports.import_file`, rollups recounted as an import does): median seconds with the messages held
    since the refresh before (`metrics.held`, the worker's way) and read whole, one after the other on the same
    store (the same load), checked equal; the import's median; and the workspace's messages at the end."""
    times: dict[str, list[float]] = {"held": [], "whole": [], "import": []}
    feed = Path(tempfile.mkdtemp()) / "feed.jsonl"
    latest = select(func.max(Message.created_at)).where(Message.workspace_id == workspace_id)
    for run in range(runs + 1):  # the first (its source new: a new channel is a whole read) is not timed
        with Session(engine) as session:
            newest = session.scalar(latest)
        assert newest is not None
        records = _new_messages(newest, f"{feed.parent.name}-{run}", size)  # ids new to the store
        feed.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
        started = time.perf_counter()
        import_file(engine, feed, workspace="bench")
        if run:
            times["import"].append(time.perf_counter() - started)
        with Session(engine) as session:
            newest = session.scalar(latest)
            assert newest is not None
            periods = [metrics.span(session, workspace_id, period=p, until=newest + timedelta(seconds=1))
                       for p in kept.PERIODS]  # fmt: skip
        reading = held.Reading()
        found: dict[str, list[str]] = {}
        for way in ("held", "whole"):
            with Session(engine) as session:
                started = time.perf_counter()
                reports = metrics.reports(session, workspace_id, periods, read=reading if way == "held" else load)
                if run:
                    times[way].append(time.perf_counter() - started)
            found[way] = [kept.dump(report) for report in reports]
        reading.keep()
        assert found["held"] == found["whole"], "the held facts gave other reports than a whole read"
        assert reading.whole == (run == 0), "the refresh after an import read everything again"
    shutil.rmtree(feed.parent)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).where(Message.workspace_id == workspace_id)).scalar_one()
    return (statistics.median(times["held"]), statistics.median(times["whole"]), statistics.median(times["import"]),
            int(total))  # fmt: skip


def _new_messages(after: datetime, tag: str, size: int) -> list[dict[str, object]]:
    """`size` comments of the hour after `after`, half of them replies to an earlier one of the same import."""
    rng = random.Random(tag)
    found: list[dict[str, object]] = []
    for index in range(size):
        record: dict[str, object] = {
            "id": f"{tag}-{index}", "created_at": (after + timedelta(seconds=1 + index * 3600 / size)).isoformat(),
            "author": f"reader{rng.randrange(5000)}", "text": f"Un avis de plus, numéro {index}.",
            "likes": rng.randrange(20),
        }  # fmt: skip
        if index and rng.random() < 0.5:
            record["parent_id"] = f"{tag}-{rng.randrange(index)}"
        found.append(record)
    return found


def mark_team(engine: Engine, workspace_id: int) -> None:
    """The five most active authors speak for the organisation (so questions can be answered)."""
    with engine.begin() as conn:
        busiest = conn.execute(
            select(Message.author_id).where(Message.workspace_id == workspace_id, Message.author_id.is_not(None))
            .group_by(Message.author_id).order_by(func.count().desc()).limit(5)
        ).scalars()  # fmt: skip
        community.mark_team(conn, workspace_id, [a for a in busiest if a is not None])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="measure the store built by an earlier run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--periods", default=",".join(PERIODS), help="which periods, e.g. 7d,30d (none: no period)")
    parser.add_argument("--refresh", action="store_true", help="also time the kept reports' refresh")
    parser.add_argument(
        "--after-imports",
        type=int,
        default=0,
        metavar="N",
        help="also time the kept refresh after imports of N messages (written into the store)",
    )
    args = parser.parse_args()
    args.postgres, args.rebuild = False, False
    with cockpit.store(args) as engine:
        with engine.connect() as conn:
            existing = conn.execute(select(func.count()).select_from(Message)).scalar_one()
        if not existing:
            started = time.perf_counter()
            cockpit.Builder(engine, args.messages).build()
            print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        with engine.connect() as conn:
            workspace_id = conn.execute(text("SELECT id FROM workspace WHERE slug = 'bench'")).scalar_one()
        mark_team(engine, workspace_id)
        periods = [p for p in args.periods.split(",") if p != "none"]
        rows = [(period, *timed_report(engine, workspace_id, period, args.runs)) for period in periods]
        refresh = timed_refresh(engine, workspace_id, args.runs) if args.refresh else None
        size = args.after_imports
        imports = timed_after_imports(engine, workspace_id, size, args.runs) if size else None
    print(f"\n{args.messages:,} messages in SQLite, {args.runs} runs per period after a warm-up, "
          f"{datetime.now(UTC):%Y-%m-%d}\n")  # fmt: skip
    print("| period | messages in the period | summed: median s | row by row: median s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for period, fast, plain, ratio, count in rows:
        print(f"| {period} | {count:,} | {fast:.2f} | {plain:.2f} | {ratio:.2f} |")
    if refresh is not None:
        together, alone, held = refresh
        print(f"\nThe kept refresh ({', '.join(kept.PERIODS)}) of {held:,} messages:\n")
        print("| read once (the worker): median s | one by one: median s | ratio |\n|---:|---:|---:|")
        print(f"| {together:.2f} | {alone:.2f} | {alone / together:.2f} |")
    if imports is not None:
        kept_facts, whole, imported, total = imports
        print(f"\nThe kept refresh after each of {args.runs} imports of {args.after_imports:,} messages "
              f"({total:,} messages at the end; the import: {imported:.2f} s):\n")  # fmt: skip
        print("| facts held since the refresh before: median s | read whole: median s | ratio |\n|---:|---:|---:|")
        print(f"| {kept_facts:.2f} | {whole:.2f} | {whole / kept_facts:.2f} |")


if __name__ == "__main__":
    main()
