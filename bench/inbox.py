"""Inbox speed at scale: the queue's first page and each filter, the team figures, and the intake's throughput.

Builds (or reuses) a store of `--messages` synthetic messages with the builder of bench/cockpit.py, then writes
inbox items straight into it (bulk inserts, not through the intake): `--open` items owed or waiting (new, open,
pending, snoozed) and as many closed ones (done, spam, ignored) on the newest messages, with
assignees, tags, priorities, due times, first responses and the events of who closed what (open and closed
items alternate over the same weeks, so the backlog holds old items too). Then measures, after
a warm-up, p50/p95 of `queue.page` with its tab counts (what the inbox page calls) for the first page of each
filter and sort, of `figures.team` for 7, 30 and 90 days, and of `intake.take_new` on a batch of new messages
(messages/s). Prints Markdown tables for docs/benchmarks.md.

    .venv/bin/python bench/inbox.py --messages 1000000 --open 100000            # SQLite under bench/out
    .venv/bin/python bench/inbox.py --messages 1000000 --open 100000 --reuse    # measure an existing store again
    .venv/bin/python bench/inbox.py --messages 1000000 --open 100000 --postgres # a throwaway PostgreSQL server
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cockpit  # the message builder, beside this file
from pilote import community, pgserver
from pilote.bulk import allocate_ids, db_time, index_new, insert_rows
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.inbox import figures, intake, queue, sla
from pilote.models import InboxItem, Message

NOW = cockpit.END  # the builder's messages end here: the queue is read as of this moment
PEOPLE = 6
TAGS = ("billing", "delivery", "bug", "vip", "press")
STATUSES_OPEN = (("new", 0.55), ("open", 0.35), ("pending", 0.05), ("snoozed", 0.05))
STATUSES_CLOSED = (("done", 0.8), ("spam", 0.1), ("ignored", 0.1))
REASONS = (("question", 0.3), ("complaint", 0.15), ("negative", 0.2), ("comment", 0.25), ("mention", 0.1))
ITEM_COLUMNS = (
    "id", "workspace_id", "key", "source_id", "first_message_id", "last_message_id", "author_id", "channel",
    "reasons", "language", "sentiment", "intent", "spam_probability", "toxicity_probability", "status",
    "snoozed_until", "until_reply", "hidden", "priority", "assignee_id", "message_count", "opened_at", "last_at",
    "due_at", "responded_at", "responder_id", "resolved_at", "version", "updated_at",
)  # fmt: skip


@contextmanager
def store(args: argparse.Namespace) -> Iterator[Engine]:
    if not args.postgres:
        home = cockpit.OUT / f"inbox-sqlite-{args.messages}"
        home.mkdir(parents=True, exist_ok=True)
        engine = make_engine(get_settings(home=home, database_url=None))
        migrate(engine)
        yield engine
        engine.dispose()
        return
    bin_dir = pgserver.find_bin()
    assert bin_dir is not None, "PostgreSQL binaries not found"
    with pgserver.running(bin_dir) as template:
        engine = make_engine(get_settings(database_url=pgserver.create_database(template, "bench")))
        migrate(engine)
        yield engine
        engine.dispose()


def people(conn: Connection, workspace_id: int) -> list[int]:
    """A few accounts of the team, with a role in the workspace (the first one is "me")."""
    to_db = db_time(conn)
    ids = allocate_ids(conn, "user_account", PEOPLE)
    insert_rows(conn, "user_account", ("id", "email", "display_name", "password_hash", "instance_admin", "created_at",
                                       "password_changed_at"),
                [(i, f"cm{n}@bench.example", f"CM {n}", "x", False, to_db(NOW), to_db(NOW))
                 for n, i in enumerate(ids)])  # fmt: skip
    insert_rows(conn, "membership", ("user_id", "workspace_id", "role"), [(i, workspace_id, "moderator") for i in ids])
    return ids


def write_items(engine: Engine, workspace_id: int, open_count: int, seed: int = 7) -> None:
    """`open_count` items still in the queue and as many closed ones, side by side on the newest messages."""
    rng = random.Random(seed)
    with engine.begin() as conn:
        accounts = people(conn, workspace_id)
        channels = dict(conn.execute(text("SELECT id, channel FROM source")).all())
        newest = conn.execute(
            select(Message.id, Message.source_id, Message.author_id, Message.thread_id, Message.created_at,
                   Message.language, Message.sentiment, Message.intent)
            .where(Message.workspace_id == workspace_id).order_by(Message.id.desc()).limit(2 * open_count)
        ).all()  # fmt: skip
        reserved = allocate_ids(conn, "inbox_item", len(newest))
    policy = sla.Policy()
    rows, events, tags = [], [], []
    ids = iter(reserved)
    for rank, m in enumerate(newest):
        still_open = rank % 2 == 0  # open and closed items side by side over the same weeks
        status = cockpit.pick(rng, STATUSES_OPEN if still_open else STATUSES_CLOSED)
        reasons = cockpit.pick(rng, REASONS)
        priority = _priority(reasons, rng)
        opened = m.created_at
        due = policy.due(channels[m.source_id], priority, opened)
        assignee = rng.choice(accounts) if status != "new" and rng.random() < 0.7 else None
        responded = responder = resolved = None
        if not still_open or status == "pending":
            if status == "done" or status == "pending":
                responded = opened + timedelta(hours=rng.expovariate(1 / 6))
                responder = assignee if rng.random() < 0.6 else None
            if status in ("done", "spam", "ignored"):
                resolved = (responded or opened) + timedelta(hours=rng.expovariate(1 / 12))
        ident = next(ids)
        rows.append((
            ident, workspace_id, f"{m.thread_id or m.id}:m{m.id}", m.source_id, m.id, m.id, m.author_id,
            channels[m.source_id], reasons, m.language, m.sentiment, m.intent, round(rng.random() ** 6, 3),
            round(rng.random() ** 8, 3), status, NOW + timedelta(days=2) if status == "snoozed" else None, False,
            rng.random() < 0.02, priority, assignee, 1, opened, opened,
            due if status in ("new", "open") else None, responded, responder, resolved, 2, NOW,
        ))  # fmt: skip
        events.append((workspace_id, ident, None, "opened", None, orjson.dumps({"message_id": m.id}).decode(), opened))
        if resolved is not None:
            closer = responder if responder is not None else (assignee if rng.random() < 0.5 else None)
            after = orjson.dumps({"status": status}).decode()
            events.append((workspace_id, ident, closer, "status", '{"status":"open"}', after, resolved))
        if rng.random() < 0.1:
            tags.append((ident, rng.choice(TAGS)))
    with engine.begin() as conn:
        to_db = db_time(conn)
        times = (21, 22, 23, 24, 26, 28)  # the columns holding times
        shaped = [tuple(to_db(v) if i in times or i == 15 else v for i, v in enumerate(r)) for r in rows]
        for start in range(0, len(shaped), 50_000):
            insert_rows(conn, "inbox_item", ITEM_COLUMNS, shaped[start : start + 50_000])
        insert_rows(conn, "inbox_event", ("workspace_id", "item_id", "user_id", "kind", "before", "after", "at"),
                    [(*e[:6], to_db(e[6])) for e in events])  # fmt: skip
        insert_rows(conn, "inbox_tag", ("item_id", "tag"), sorted(set(tags)))
    analyse(engine)


def _priority(reasons: str, rng: random.Random) -> int:
    if reasons == "complaint" and rng.random() < 0.3:
        return 3
    return 2 if reasons in ("question", "complaint", "negative") else 1


def analyse(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """p50 and p95 in milliseconds over `runs` calls after one warm-up, and the warm-up's result."""
    result = call()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], result


def queue_cases(me: int) -> dict[str, dict[str, Any]]:
    """The inbox's first page as the page asks for it: the default view, each filter, each sort."""
    return {
        "first page (new + open, by due time)": {},
        "channel": {"channel": "forum:bench.example"},
        "assignee me": {"assignee": "me"},
        "unassigned": {"assignee": "none"},
        "intent question": {"intent": "question"},
        "tag billing": {"tag": "billing"},
        "overdue": {"overdue": "true"},
        "priority ≥ high": {"priority": "high"},
        "sort newest": {"sort": "newest"},
        "sort oldest": {"sort": "oldest"},
        "pending tab": {"status": "pending"},
        "all open tabs, newest": {"status": "new,open,pending,snoozed", "sort": "newest"},
        "done (history), newest": {"status": "done", "sort": "newest"},
    }


def measure_queue(engine: Engine, workspace_id: int, me: int, runs: int) -> list[tuple[str, float, float, int]]:
    found = []
    for name, params in queue_cases(me).items():
        query = queue.parse(params)

        def call(q: queue.Query = query) -> queue.Page:
            with Session(engine) as session:
                return queue.page(session, workspace_id, q, user_id=me, now=NOW)

        p50, p95, page = timed(call, runs)
        found.append((name, p50, p95, len(page.rows)))
        print(f"  {name}: p95 {p95:.0f} ms", file=sys.stderr)
        after = page.after
        if name.startswith("first page") and after:

            def second(q: queue.Query = query, cursor: str = after) -> queue.Page:
                with Session(engine) as session:
                    return queue.page(session, workspace_id, q, user_id=me, now=NOW, after=cursor)

            p50, p95, page = timed(second, runs)
            found.append(("second page (cursor)", p50, p95, len(page.rows)))
    return found


def measure_figures(engine: Engine, workspace_id: int, runs: int) -> list[tuple[str, float, float, int]]:
    found = []
    for days in (7, 30, 90):

        def call(d: int = days) -> figures.Figures:
            with engine.connect() as conn:
                return figures.team(conn, workspace_id, NOW - timedelta(days=d), NOW, now=NOW)

        p50, p95, result = timed(call, max(3, runs // 4))
        print(f"  team figures {days} days: p50 {p50:.0f} ms", file=sys.stderr)
        found.append((f"team figures, {days} days", p50, p95, result.total.asked + result.total.handled))
    return found


def measure_intake(engine: Engine, workspace_id: int, count: int) -> tuple[float, int, intake.TakeReport]:
    """Seconds to bring `count` new analysed messages into the inbox (one walk), and their number."""
    with engine.begin() as conn:
        source_ids = [r[0] for r in conn.execute(text("SELECT id FROM source ORDER BY id"))]
        authors = [r[0] for r in conn.execute(text("SELECT id FROM author ORDER BY id"))]
        top = conn.execute(select(func.max(Message.id))).scalar_one()
        intake._set_cursor(conn, workspace_id, top)
        busiest = authors[:3]
        community.mark_team(conn, workspace_id, busiest)
        builder = cockpit.Builder(engine, count, seed=int(top))
        rng = random.Random(top)
        recent: dict[int, list[tuple[int, int]]] = {s: [] for s in source_ids}
        if conn.dialect.name == "postgresql":  # the builder wrote its ids itself: the sequence starts after them
            top_sql = "SELECT setval(pg_get_serial_sequence('message', 'id'), (SELECT max(id) FROM message))"
            conn.exec_driver_sql(top_sql)
        first = allocate_ids(conn, "message", count)[0]
        moment = NOW + timedelta(minutes=1)
        rows = [builder._row(rng, first + i, workspace_id, source_ids, authors, recent,
                             moment + timedelta(seconds=i)) for i in range(count)]  # fmt: skip
        to_db = db_time(conn)
        insert_rows(conn, "message", cockpit.COLUMNS, [(*r[:15], to_db(r[15]), to_db(r[16]), *r[17:]) for r in rows])
        index_new(conn, [r[0] for r in rows])
        insert_rows(conn, "enrichment", ("message_id", "versions", "value", "updated_at"),
                    [(r[0], "{}", None, to_db(moment)) for r in rows])  # fmt: skip
    started = time.perf_counter()
    report = intake.take_new(engine, workspace_id, now=moment + timedelta(seconds=count + 60))
    return time.perf_counter() - started, count, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000, help="items still in the queue (as many closed)")
    parser.add_argument("--reuse", action="store_true", help="measure the store built by an earlier run")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--take", type=int, default=10_000, help="new messages for the intake's throughput")
    args = parser.parse_args()
    with store(args) as engine:
        with engine.connect() as conn:
            existing = conn.execute(select(func.count()).select_from(Message)).scalar_one()
        if not existing:
            started = time.perf_counter()
            cockpit.Builder(engine, args.messages).build()
            print(f"messages built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        with engine.connect() as conn:
            workspace_id = conn.execute(text("SELECT id FROM workspace WHERE slug = 'bench'")).scalar_one()
            items = conn.execute(select(func.count()).select_from(InboxItem)).scalar_one()
        if not items:
            started = time.perf_counter()
            write_items(engine, workspace_id, args.open)
            print(f"items written in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        with engine.connect() as conn:
            me = conn.execute(text("SELECT min(id) FROM user_account")).scalar_one()
            held = dict(conn.execute(select(InboxItem.status, func.count()).group_by(InboxItem.status)).all())
        rows = measure_queue(engine, workspace_id, me, args.runs) + measure_figures(engine, workspace_id, args.runs)
        kind = "PostgreSQL" if args.postgres else "SQLite"
        print(f"\n{args.messages:,} messages in {kind}, items by status {held}, {args.runs} runs per case after a "
              f"warm-up, {datetime.now(UTC):%Y-%m-%d}\n")  # fmt: skip
        print("| case | p50 ms | p95 ms | rows |\n|---|---:|---:|---:|")
        for name, p50, p95, size in rows:
            print(f"| {name} | {p50:.1f} | {p95:.1f} | {size:,} |", flush=True)
        seconds, count, report = measure_intake(engine, workspace_id, args.take)
    print(f"\ntake_new: {count:,} new messages in {seconds:.2f} s = {count / seconds:,.0f} messages/s "
          f"(opened {report.opened:,}, joined {report.joined:,}, answered {report.answered:,})")  # fmt: skip


if __name__ == "__main__":
    main()
