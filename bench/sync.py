"""Syncing a platform: a WordPress blog's backfill, then an incremental sync of the comments written since,
through `platforms.sync_platform` with no analysis (what the intake writes before `analyse`).

The blog is generated and served by bench/wordpress_peer.py in a process of its own on 127.0.0.1, so that
the CPU seconds and the peak memory measured here are the syncing process's alone (its database work
included on SQLite; PostgreSQL's server works in processes of its own). Each run: a fresh peer and a fresh
store, a wordpress source added with `platforms.add` (the blog's address and an application password: the
connector sends one over http to this machine only), a first sync (the backfill: every post, then the
comments of the last 365 days), then the blog gains `--growth` comments (and a post per 100 of them, and
three edited posts) and the second sync is timed. Prints a Markdown table and the medians; writes the runs
to bench/out/sync-sqlite.json (or sync-postgres.json).

    .venv/bin/python bench/sync.py                               # SQLite, 3 runs (~1 minute)
    .venv/bin/python bench/sync.py --postgres                    # a throwaway PostgreSQL server
    .venv/bin/python bench/sync.py --profile bench/out/sync.prof # and a cProfile of the first timed sync
    .venv/bin/python bench/sync.py --backfill-only 50000         # memory: one backfill, peak RSS before/after
    .venv/bin/python bench/sync.py --backfill-only 50000 --trace --cache-mb 2   # what that memory is

(From a work tree whose package is not the one installed, run with PYTHONPATH=src.) The memory figure is
this process's own peak (`ru_maxrss` of RUSAGE_SELF), printed by the script: `/usr/bin/time -v` would report
the largest process of the tree it waits for, which can be the blog's.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import os
import pstats
import shutil
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from resource import RUSAGE_SELF, getrusage
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from pilote import pgserver, platforms
from pilote.config import Settings, get_settings
from pilote.db import make_engine, migrate
from pilote.sources import wordpress
from pilote.sync import SyncReport
from wordpress_peer import PASSWORD, USER, Shape, serve

OUT = Path(__file__).resolve().parent / "out"


@dataclass
class Peer:
    """The blog's process: its address, what each sync should bring, and a line to give it orders."""

    process: Any
    line: Any
    base: str
    expect: dict[str, dict[str, int]]

    def tell(self, command: str) -> dict[str, Any]:
        """Send "grow" or "usage"; the answer holds the peer's CPU seconds, peak RSS and requests served."""
        self.line.send(command)
        answer: dict[str, Any] = self.line.recv()
        return answer


@contextmanager
def peer(shape: Shape) -> Iterator[Peer]:
    """The blog in a fresh process (spawned: it shares no memory with this one), stopped afterwards."""
    context = multiprocessing.get_context("spawn")
    here, there = context.Pipe()
    process = context.Process(target=serve, args=(there, shape), daemon=True)
    process.start()
    try:
        deadline = time.monotonic() + 600
        while not here.poll(1):
            if not process.is_alive() or time.monotonic() > deadline:
                raise SystemExit("the blog's process stopped or did not start within 10 minutes: see above")
        ready = here.recv()
        yield Peer(process, here, f"http://127.0.0.1:{ready['port']}", ready["expect"])
    finally:
        if process.is_alive():
            here.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()


@contextmanager
def store(postgres: str | None, name: str, cache_mb: int | None = None) -> Iterator[tuple[Engine, Settings]]:
    """A fresh, migrated store: SQLite in a temporary folder (`cache_mb`: another page cache than Pilote's
    64 MiB per connection), or a new database on the PostgreSQL server."""
    home = Path(tempfile.mkdtemp(prefix="pilote-sync-"))
    try:
        url = pgserver.create_database(postgres, name) if postgres else None
        settings = get_settings(home=home, database_url=url, sync_private_addresses=True)
        engine = make_engine(settings)
        if cache_mb is not None and postgres is None:
            pragma = f"PRAGMA cache_size=-{cache_mb * 1024}"
            event.listen(engine, "connect", lambda connection, _record: connection.execute(pragma))
        migrate(engine)
        yield engine, settings
        engine.dispose()
    finally:
        if postgres:
            pgserver.drop_database(postgres, name)
        shutil.rmtree(home, ignore_errors=True)


@dataclass
class Clock:
    """Wall and CPU seconds spent in the connector's `fetch` (the HTTP request, JSON parsing, items)."""

    wall: float = 0.0
    cpu: float = 0.0
    pages: int = 0


@contextmanager
def clocked_fetch() -> Iterator[Clock]:
    """`wordpress.fetch` timed, for the share of a sync that is fetching and reading pages."""
    clock, original = Clock(), wordpress.fetch

    def fetch(*args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(*args)
        finally:
            clock.wall += time.perf_counter() - wall
            clock.cpu += time.process_time() - cpu
            clock.pages += 1

    wordpress.fetch = fetch  # type: ignore[assignment]
    try:
        yield clock
    finally:
        wordpress.fetch = original  # type: ignore[assignment]


@dataclass
class Timed:
    report: SyncReport
    wall: float
    cpu: float
    fetch: Clock = field(default_factory=Clock)


def timed_sync(engine: Engine, settings: Settings, source_id: int, profile: cProfile.Profile | None = None) -> Timed:
    """One `sync_platform` (no analysis), its wall and CPU seconds and those of its fetches."""
    with clocked_fetch() as clock:
        wall, cpu = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        report = platforms.sync_platform(engine, settings, source_id, analyse=None)
        if profile is not None:
            profile.disable()
        return Timed(report, time.perf_counter() - wall, time.process_time() - cpu, clock)


def add_source(engine: Engine, settings: Settings, base: str, viewer: str) -> int:
    """The blog as a wordpress source, as `pilote source add wordpress` would add it."""
    values = {"site": base} if viewer == "public" else {"site": base, "user": USER, "application_password": PASSWORD}
    with Session(engine) as session, session.begin():
        return platforms.add(session, settings, workspace=None, kind="wordpress", values=values).id


def check(report: SyncReport, expected: dict[str, int], what: str) -> None:
    """A sync that did not bring what the blog holds measures nothing: stop."""
    got = {"new": report.new, "updated": report.updated}
    if report.errors or any(got[key] != value for key, value in expected.items()):
        raise SystemExit(f"{what}: expected {expected}, the sync reported {got} and {report.errors} errors")


def one_run(args: argparse.Namespace, postgres: str | None, number: int,
            profile: cProfile.Profile | None) -> dict[str, float]:  # fmt: skip
    """Backfill, growth, the timed incremental sync; its figures."""
    shape = Shape(args.backfill, args.growth, args.viewer, seed=number + 1)
    with peer(shape) as blog, store(postgres, f"sync_{number}") as (engine, settings):
        source_id = add_source(engine, settings, blog.base, args.viewer)
        first = timed_sync(engine, settings, source_id)
        check(first.report, blog.expect["backfill"], "backfill")
        before = blog.tell("grow")
        second = timed_sync(engine, settings, source_id, profile)
        after = blog.tell("usage")
        check(second.report, blog.expect["growth"], "incremental sync")
    new = second.report.new
    return {"backfill_items": first.report.new, "backfill_s": first.wall, "new": new,
            "updated": second.report.updated, "unchanged": second.report.unchanged, "seconds": second.wall,
            "cpu": second.cpu, "rate": new / second.wall, "rate_cpu": new / second.cpu,
            "fetch_s": second.fetch.wall, "fetch_cpu": second.fetch.cpu, "pages": second.fetch.pages,
            "peer_cpu": after["cpu"] - before["cpu"], "requests": after["requests"] - before["requests"]}  # fmt: skip


def table(runs: list[dict[str, float]], database: str) -> str:
    """Markdown: one row per run, then the medians."""
    lines = ["| run | new items | wall s | items/s | CPU s | items/CPU s | in fetch: wall s / CPU s | peer CPU s |"
             " backfill: items, s |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, run in [*((str(i + 1), r) for i, r in enumerate(runs)), ("**median**", median_of(runs))]:
        lines.append(f"| {database} {name} | {run['new']:,.0f} | {run['seconds']:.2f} | {run['rate']:,.0f} "
                     f"| {run['cpu']:.2f} | {run['rate_cpu']:,.0f} | {run['fetch_s']:.2f} / {run['fetch_cpu']:.2f} "
                     f"| {run['peer_cpu']:.2f} | {run['backfill_items']:,.0f}, {run['backfill_s']:.1f} |")  # fmt: skip
    return "\n".join(lines)


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def rss_kb() -> int:
    """This process's resident set now (kB), from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def backfill_only(args: argparse.Namespace, postgres: str | None) -> dict[str, Any]:
    """One backfill of `args.backfill_only` comments: this process's memory before and after it, the store's
    size, and with `--trace` the Python objects' peak (tracemalloc: SQLite's own memory is not in it)."""
    shape = Shape(args.backfill_only, 0, args.viewer)
    with peer(shape) as blog, store(postgres, "sync_memory", args.cache_mb) as (engine, settings):
        source_id = add_source(engine, settings, blog.base, args.viewer)
        rss_before, peak_before = rss_kb(), getrusage(RUSAGE_SELF).ru_maxrss
        if args.trace:
            tracemalloc.start()
        done = timed_sync(engine, settings, source_id)
        traced = tracemalloc.get_traced_memory()[1] if args.trace else 0
        check(done.report, blog.expect["backfill"], "backfill")
        peer_usage = blog.tell("usage")
        files = settings.home.glob("pilote.db*") if postgres is None else []
        store_mb = sum(path.stat().st_size for path in files) / 2**20
    figures = {"comments": args.backfill_only, "items": done.report.new, "seconds": done.wall, "cpu": done.cpu,
               "rss_before_sync_mb": rss_before / 1024, "peak_before_sync_mb": peak_before / 1024,
               "peak_after_sync_mb": getrusage(RUSAGE_SELF).ru_maxrss / 1024, "store_mb": store_mb,
               "python_peak_mb": traced / 2**20, "peer_peak_mb": peer_usage["max_rss_kb"] / 1024}  # fmt: skip
    return {key: round(value, 1) if isinstance(value, float) else value for key, value in figures.items()}


@contextmanager
def database(use_postgres: bool) -> Iterator[str | None]:
    """None for SQLite; else the URL template of a throwaway PostgreSQL server with durable settings."""
    if not use_postgres:
        yield None
        return
    bin_dir = pgserver.find_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL server binaries not found (apt-get install postgresql-15, or set PILOTE_PG_BIN)")
    with pgserver.running(bin_dir, durable=True) as template:
        yield template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backfill", type=int, default=2000, help="comments on the blog before the first sync")
    parser.add_argument("--growth", type=int, default=10_000, help="comments written before the timed sync")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--viewer",
        choices=("moderator", "public"),
        default="moderator",
        help="with the application password (every status) or without (approved comments)",
    )
    parser.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server instead of SQLite")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the first timed sync there")
    parser.add_argument("--backfill-only", type=int, help="one backfill of this many comments; memory figures")
    parser.add_argument("--trace", action="store_true", help="with --backfill-only: the Python objects' peak too")
    parser.add_argument("--cache-mb", type=int, help="with --backfill-only: SQLite's page cache per connection")
    args = parser.parse_args()
    os.environ["no_proxy"] = os.environ["NO_PROXY"] = "127.0.0.1,localhost"  # the blog is on this machine
    with database(args.postgres) as postgres:
        if args.backfill_only:
            print(json.dumps(backfill_only(args, postgres)))
            return
        profile = cProfile.Profile() if args.profile else None
        runs = [one_run(args, postgres, n, profile if n == 0 else None) for n in range(args.repeat)]
    print(table(runs, "PostgreSQL" if args.postgres else "SQLite"))
    OUT.mkdir(exist_ok=True)
    (OUT / f"sync-{'postgres' if args.postgres else 'sqlite'}.json").write_text(json.dumps(runs, indent=2))
    if profile is not None:
        profile.dump_stats(args.profile)
        show: Callable[[str], Any] = pstats.Stats(str(args.profile)).sort_stats
        show("tottime").print_stats(25)
        show("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
