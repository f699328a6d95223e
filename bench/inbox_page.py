"""The Inbox page at scale: server time of its pages on a store of many messages and open items.

Builds a SQLite store fast (bulk inserts: `--messages` messages, one item per `--every` of them, most still to do,
a few assigned and tagged), then measures through the in-process HTTP client, signed in: the queue's first page
(default tab, newest first, mine, a filter), the next page, an item's panel and the live feed. Median and worst of
`--runs`. Prints a Markdown table for docs/benchmarks.md.

    .venv/bin/python bench/inbox_page.py                                  # 1,000,000 messages, 100,000 items
    .venv/bin/python bench/inbox_page.py --messages 200000 --every 2
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.accounts import sessions, users
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.intake import open_source
from pilote.models import InboxItem, InboxTag, Message
from pilote.sources.base import SourceInfo
from pilote.web.app import create_app

NOW = datetime.now(UTC)
PASSWORD = "a long enough bench password"  # noqa: S105 (a throwaway store's account)
CHUNK = 20_000


def build(engine: Engine, messages: int, every: int, seed: int = 1) -> tuple[int, int]:
    """A workspace with `messages` messages and an item for every `every`-th; the admin's id and one item's id."""
    rng = random.Random(seed)
    with Session(engine) as session, session.begin():
        space = workspaces.create(session, slug="acme")
        source = open_source(session, space.id, SourceInfo(kind="test", key="blog", name="Blog", channel="blog:x"))
        admin = users.create(session, email="admin@example.org", password=PASSWORD)
        session.flush()
        ids = (space.id, source.id, admin.id)
    space_id, source_id, admin_id = ids
    with engine.begin() as conn:
        for start in range(0, messages, CHUNK):
            conn.execute(insert(Message), [
                {"id": n + 1, "workspace_id": space_id, "source_id": source_id, "external_id": f"m{n}",
                 "kind": "comment", "text": f"message {n}: quand est-ce livré ?", "raw": "{}", "raw_hash": f"h{n}",
                 "created_at": NOW - timedelta(minutes=messages - n)}
                for n in range(start, min(start + CHUNK, messages))
            ])  # fmt: skip
        numbers = list(range(0, messages, every))
        for start in range(0, len(numbers), CHUNK):
            rows = []
            for n in numbers[start : start + CHUNK]:
                at = NOW - timedelta(minutes=messages - n)
                status = rng.choices(("new", "open", "pending", "done"), (70, 20, 3, 7))[0]
                rows.append({
                    "id": n + 1, "workspace_id": space_id, "key": f"t{n}", "source_id": source_id,
                    "first_message_id": n + 1, "last_message_id": n + 1, "channel": "blog:x",
                    "reasons": rng.choice(("question", "complaint,negative", "comment", "mention")),
                    "status": status, "priority": rng.choice((0, 1, 1, 2, 3)),
                    "assignee_id": admin_id if status == "open" else None, "opened_at": at, "last_at": at,
                    "due_at": at + timedelta(hours=4) if status in ("new", "open") else None, "version": 1,
                })  # fmt: skip
            conn.execute(insert(InboxItem), rows)
            conn.execute(insert(InboxTag), [{"item_id": r["id"], "tag": "livraison"} for r in rows[::50]])
    return admin_id, numbers[len(numbers) // 2] + 1


def measure(client: TestClient, path: str, runs: int) -> tuple[float, float]:
    """Median and worst server time of a page, in ms (a next page is asked for as htmx does)."""
    headers = {"HX-Request": "true"} if "after=" in path else {}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        answer = client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--every", type=int, default=10, help="one item per this many messages")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pilote-inbox-bench-") as folder:
        run(Path(folder), args)


def run(home: Path, args: argparse.Namespace) -> None:
    """Build the store under `home` and print the timings."""
    settings = get_settings(home=home, database_url=None, allowed_hosts="testserver")
    engine = make_engine(settings)
    migrate(engine)
    started = time.perf_counter()
    _, item = build(engine, args.messages, args.every)
    print(f"store built in {time.perf_counter() - started:.0f} s: {args.messages:,} messages, "
          f"{len(range(0, args.messages, args.every)):,} items (SQLite)\n")  # fmt: skip
    with Session(engine) as session, session.begin():
        cookie = sessions.sign_in(session, sessions.Attempt("admin@example.org", PASSWORD, "127.0.0.1"))
    with TestClient(create_app(settings, engine)) as client:
        client.cookies.set(sessions.COOKIE, cookie or "")
        first = client.get("/w/acme/inbox?sort=newest").text
        after = first.split("after=", 1)[1].split('"', 1)[0]
        paths = {
            "queue, first page (to do, due first)": "/w/acme/inbox",
            "queue, newest first": "/w/acme/inbox?sort=newest",
            "queue, mine": "/w/acme/inbox?assignee=me",
            "queue, a tag, every status": "/w/acme/inbox?tag=livraison&status=new,open,pending,done&sort=newest",
            "queue, next page (htmx)": f"/w/acme/inbox?sort=newest&after={after}",
            "an item's panel": f"/w/acme/inbox/{item}",
            "live feed": f"/w/acme/inbox/changes?since=0&item={item}",
        }
        print("| page | median ms | worst ms |\n|---|---:|---:|")
        for name, path in paths.items():
            median, worst = measure(client, path, args.runs)
            print(f"| {name} | {median:.0f} | {worst:.0f} |")
    engine.dispose()


if __name__ == "__main__":
    main()
