"""Cockpit speed at scale: server time of the Overview and of Explorer searches on a large store.

Builds a synthetic store fast (rows written with the bulk helpers, not through the importer: a year of a
bilingual community with threads, authors, enrichment columns and a few labels), rebuilds its rollups,
then measures p50/p95 of the view functions and of the HTTP endpoints (in-process ASGI client), and the
page weights when the pages exist. Prints a Markdown table for docs/benchmarks.md.

    .venv/bin/python bench/cockpit.py --messages 1000000                 # SQLite, store under bench/out
    .venv/bin/python bench/cockpit.py --messages 2000000 --postgres      # a throwaway PostgreSQL server
    .venv/bin/python bench/cockpit.py --messages 1000000 --reuse         # measure an existing store again
    .venv/bin/python bench/cockpit.py --import-overhead bench/out/messages-100000.jsonl   # cost of the hook
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session

from pilote import pgserver, rollups, tokens, workspaces
from pilote.accounts import users
from pilote.bulk import db_time, index_new, insert_rows
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.models import Message, User
from pilote.views import explorer, overview
from pilote.views.explorer import ExplorerQuery

OUT = Path(__file__).resolve().parent / "out"
END = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 365
CHUNK = 50_000
WORDS_FR = [
    "vélo",
    "batterie",
    "selle",
    "frein",
    "livraison",
    "commande",
    "roue",
    "chaîne",
    "moteur",
    "garantie",
    "service",
    "client",
    "réparation",
    "magasin",
    "prix",
    "autonomie",
    "recharge",
    "pédale",
    "guidon",
    "lumière",
    "casque",
    "antivol",
    "cadre",
    "pneu",
    "crevaison",
    "atelier",
    "problème",
    "rapide",
    "lent",
    "cher",
    "génial",
    "déçu",
    "content",
    "remboursement",
    "retard",
]
WORDS_EN = [
    "bike",
    "battery",
    "saddle",
    "brake",
    "delivery",
    "order",
    "wheel",
    "chain",
    "motor",
    "warranty",
    "support",
    "repair",
    "store",
    "price",
    "range",
    "charge",
    "pedal",
    "handlebar",
    "light",
    "helmet",
    "lock",
    "frame",
    "tyre",
    "puncture",
    "workshop",
    "problem",
    "fast",
    "slow",
    "expensive",
    "great",
    "awful",
    "amazing",
    "disappointed",
    "happy",
    "refund",
    "late",
]
# Word ranks follow Zipf's law over 5,000 words: the most frequent are filler (stop) words, and the topical words
# sit from rank 40 on, so a topical word is in a few percent of messages, as in real community text.
VOCABULARY = 5000
TOPICAL_RANK = 40
KINDS = (("mention", 0.35), ("comment", 0.3), ("reply", 0.25), ("post", 0.1))
INTENTS = (("chitchat", 0.3), ("praise", 0.2), ("question", 0.15), ("complaint", 0.1), ("answer", 0.15),
           ("suggestion", 0.1))  # fmt: skip
SOURCES = (("blog", "blog:bench.example"), ("forum", "forum:bench.example"), ("social", "social"))


def _vocabulary(topical: list[str], prefix: str) -> list[str]:
    filler = [f"{prefix}{rank:04d}" for rank in range(VOCABULARY)]
    return filler[:TOPICAL_RANK] + topical + filler[TOPICAL_RANK + len(topical) :]


def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    roll, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if roll < total:
            return value
    return weighted[-1][0]


@dataclass(slots=True)
class Builder:
    """Writes `messages` synthetic messages into one workspace with the bulk helpers."""

    engine: Engine
    messages: int
    seed: int = 1
    zipf: list[float] = field(default_factory=list)
    french: list[str] = field(default_factory=list)
    english: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.zipf = list(itertools.accumulate(1 / rank for rank in range(1, VOCABULARY + 1)))
        self.french, self.english = _vocabulary(WORDS_FR, "fr"), _vocabulary(WORDS_EN, "en")

    def build(self) -> int:
        rng = random.Random(self.seed)
        with self.engine.begin() as conn:
            workspace_id, source_ids = self._workspace(conn)
            authors = self._authors(conn, workspace_id, max(1000, self.messages // 20))
            deferred = _drop_indexes(conn)
        recent: dict[int, list[tuple[int, int]]] = {s: [] for s in source_ids}

        def chunk(first: int) -> list[tuple[Any, ...]]:
            return [
                self._row(rng, index + 1, workspace_id, source_ids, authors, recent, self._moment(rng, index))
                for index in range(first, min(first + CHUNK, self.messages))
            ]

        started, waited = time.perf_counter(), 0.0
        # The next chunk is drawn in a thread while the database writes this one (the driver waits without the GIL).
        with ThreadPoolExecutor(1) as drawing:
            upcoming = drawing.submit(chunk, 0)
            for first in range(0, self.messages, CHUNK):
                before = time.perf_counter()
                rows = upcoming.result()
                waited += time.perf_counter() - before
                if first + CHUNK < self.messages:
                    upcoming = drawing.submit(chunk, first + CHUNK)
                self._write(rows)
                print(f"  {min(first + CHUNK, self.messages):,} messages", file=sys.stderr)
        print(
            f"  rows written in {time.perf_counter() - started:.0f} s ({waited:.0f} s waiting for rows)",
            file=sys.stderr,
        )
        if deferred:
            before = time.perf_counter()
            _restore_indexes(self.engine, deferred)
            print(f"  {len(deferred)} indexes built in {time.perf_counter() - before:.0f} s", file=sys.stderr)
        return workspace_id

    def _moment(self, rng: random.Random, index: int) -> datetime:
        step = DAYS * 86400 / self.messages
        return END - timedelta(days=DAYS) + timedelta(seconds=index * step + rng.random() * step)

    def _write(self, rows: list[tuple[Any, ...]]) -> None:
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # foreign keys are not checked row by row: the rows are built right
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            to_db = db_time(conn)
            insert_rows(conn, "message", COLUMNS, [(*r[:15], to_db(r[15]), to_db(r[16]), *r[17:]) for r in rows])
            index_new(conn, [r[0] for r in rows])
            labels = [(r[0], "spam", "ham", "user", to_db(END)) for r in rows if r[0] % 997 == 0]
            insert_rows(conn, "label", ("message_id", "name", "value", "origin", "created_at"), labels)

    def _workspace(self, conn: Connection) -> tuple[int, list[int]]:
        conn.execute(text("INSERT INTO workspace (slug, name, created_at) VALUES ('bench', 'Bench', :t)"), {"t": END})
        workspace_id = conn.execute(text("SELECT id FROM workspace WHERE slug = 'bench'")).scalar_one()
        ids = []
        for key, channel in SOURCES:
            conn.execute(
                text("INSERT INTO source (workspace_id, kind, key, name, channel, status, created_at) "
                     "VALUES (:w, 'bench', :k, :k, :c, 'active', :t)"),
                {"w": workspace_id, "k": key, "c": channel, "t": END},
            )  # fmt: skip
            ids.append(conn.execute(text("SELECT max(id) FROM source")).scalar_one())
        return workspace_id, ids

    def _authors(self, conn: Connection, workspace_id: int, count: int) -> list[int]:
        to_db = db_time(conn)
        rows = [(i + 1, workspace_id, "social", f"user:{i}", f"user{i}", f"User {i}", to_db(END)) for i in range(count)]
        insert_rows(
            conn, "author", ("id", "workspace_id", "channel", "key", "handle", "display_name", "created_at"), rows
        )
        return [row[0] for row in rows]

    def _row(
        self,
        rng: random.Random,
        ident: int,
        workspace_id: int,
        source_ids: list[int],
        authors: list[int],
        recent: dict[int, list[tuple[int, int]]],
        at: datetime,
    ) -> tuple[Any, ...]:
        source = rng.choice(source_ids)
        kind = pick(rng, KINDS)
        known = recent[source]
        parent = thread = None
        if kind in ("comment", "reply") and known:
            parent, thread = known[-1 - int(rng.random() ** 3 * (len(known) - 1))]
        else:
            kind = kind if kind in ("post", "mention") else "post"
        thread = thread or ident
        known.append((ident, thread))
        del known[:-200]
        french = rng.random() < 0.62
        vocabulary = self.french if french else self.english
        words = " ".join(vocabulary[i] for i in rng.choices(range(VOCABULARY), cum_weights=self.zipf, k=12))
        author = (
            authors[min(int(rng.paretovariate(1.2)) - 1, len(authors) - 1)]
            if rng.random() < 0.5
            else rng.choice(authors)
        )
        sentiment = rng.choice(("positive", "neutral", "neutral", "negative"))
        likes = int(rng.paretovariate(1.5)) - 1
        return (
            ident, workspace_id, source, f"b{ident}", kind, None if parent is None else f"b{parent}", f"b{thread}",
            parent, thread, author, None, words, "fr" if french else "en", sentiment, round(rng.random(), 3), at, at,
            likes, likes // 5, rng.randrange(4), round(rng.random() ** 6, 3), round(rng.random() ** 8, 3),
            pick(rng, INTENTS), "{}", f"{ident:032x}",
        )  # fmt: skip


COLUMNS = (
    "id", "workspace_id", "source_id", "external_id", "kind", "parent_external_id", "thread_external_id",
    "parent_id", "thread_id", "author_id", "title", "text", "language", "sentiment", "sentiment_score",
    "created_at", "fetched_at", "likes", "shares", "replies", "spam_probability", "toxicity_probability", "intent",
    "raw", "raw_hash",
)  # fmt: skip


def _drop_indexes(conn: Connection) -> list[str]:
    """On PostgreSQL, the message and label indexes that back no constraint are dropped before loading and built
    once afterwards (a GIN index built in one pass is several times faster than one grown row by row)."""
    if conn.dialect.name != "postgresql":
        return []
    found = conn.execute(
        text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('message', 'label') "
             "AND indexname NOT IN (SELECT conname FROM pg_constraint)")
    ).all()  # fmt: skip
    for name, _ in found:
        conn.exec_driver_sql(f"DROP INDEX {name}")
    return [definition for _, definition in found]


def _restore_indexes(engine: Engine, definitions: list[str]) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '2GB'")
        conn.exec_driver_sql("SET LOCAL max_parallel_maintenance_workers = 1")
        for definition in definitions:
            conn.exec_driver_sql(definition)


def rebuild(engine: Engine, workspace_id: int) -> float:
    started = time.perf_counter()
    with engine.begin() as conn:
        rollups.rebuild(conn, workspace_id)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


def timed(call: Callable[[], Any], runs: int) -> tuple[float, float, int]:
    """p50 and p95 in milliseconds over `runs` calls (after one warm-up), and the calls' item count."""
    size = _size(call())
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))], size


def _size(result: Any) -> int:
    if isinstance(result, explorer.Page):
        return len(result.items)
    if isinstance(result, overview.Overview):
        return int(result.figures["messages"].value)
    if isinstance(result, dict):
        return len(result.get("items", [])) or int(result.get("figures", {}).get("messages", {}).get("value", 0))
    return 0


def cases(workspace_id: int) -> dict[str, dict[str, Any]]:
    """The Explorer searches measured: each with filters, as a person would combine them."""
    week = END - timedelta(days=7)
    return {
        "newest, no filter": {},
        "kind + language": {"kind": "comment", "language": "en"},
        "sentiment negative, not spam": {"sentiment": "negative", "spam": False},
        "intent complaint, last 30 days": {"intent": "complaint", "since": END - timedelta(days=30)},
        "toxic": {"toxic": True},
        "words (common) + channel": {"text": "batterie", "channel": "forum:bench.example"},
        "words (two) + since 7 days": {"text": "livraison retard", "since": week},
        "words, by relevance": {"text": "refund late", "sort": "relevance"},
        "author": {"author": "user3"},
        "most engaged, last 7 days": {"sort": "engaged", "since": week},
        "oldest, source blog": {"sort": "oldest", "source": "blog"},
    }


def measure_views(engine: Engine, workspace_id: int, runs: int) -> list[tuple[str, float, float, int]]:
    found = []
    with Session(engine) as session:
        for days in (1, 7, 30, 90):
            bucket = "hour" if days == 1 else "day"
            start = END - timedelta(days=days)
            p50, p95, size = timed(lambda s=start, b=bucket: overview.overview(session, workspace_id, s, END, b), runs)
            found.append((f"Overview, {days} days ({bucket})", p50, p95, size))
        for name, filters in cases(workspace_id).items():
            query = ExplorerQuery(workspace_id, **filters)
            p50, p95, size = timed(lambda q=query: explorer.search(session, q), runs)
            found.append((f"Explorer: {name}", p50, p95, size))
        first = explorer.search(session, ExplorerQuery(workspace_id, kind="reply"))
        second = ExplorerQuery(workspace_id, kind="reply", cursor=first.next_cursor)
        p50, p95, size = timed(lambda: explorer.search(session, second), runs)
        found.append(("Explorer: page 2 by cursor (kind reply)", p50, p95, size))
    return found


BENCH_USER, BENCH_PASSWORD = "bench@example.org", "a long enough bench password"


def measure_http(engine: Engine, workspace_id: int, runs: int) -> list[tuple[str, float, float, int]]:
    from fastapi.testclient import TestClient

    from pilote.web.app import create_app

    with Session(engine) as session, session.begin():
        token, _ = tokens.create(session, workspace=workspaces.get(session, slug="bench"), name="bench")
        if session.scalar(select(User.id).where(User.email == BENCH_USER)) is None:  # --reuse keeps it
            users.create(session, email=BENCH_USER, password=BENCH_PASSWORD, role="admin", workspace=None)
    headers = {"Authorization": f"Bearer {token}"}  # the API's; the pages read the session cookie of a sign-in
    settings = get_settings(allowed_hosts="testserver")  # the in-process client names its host so
    found = []
    with TestClient(create_app(settings, engine)) as client:
        signed = client.post("/login", data={"email": BENCH_USER, "password": BENCH_PASSWORD}, follow_redirects=False)
        assert signed.status_code == 303, signed.text
        requests = {
            "GET /api/v1/overview?period=30d": ("/api/v1/overview", {"period": "30d", "end": END.isoformat()}),
            "GET /api/v1/messages (intent, spam=false)": ("/api/v1/messages", {"intent": "question", "spam": "false"}),
            "GET /api/v1/messages (q + channel)": ("/api/v1/messages", {"q": "batterie", "channel": "social"}),
            "GET /api/v1/timeseries (90 d by channel)": (
                "/api/v1/timeseries", {"period": "90d", "end": END.isoformat(), "group_by": "channel"}),
            "page: Overview, 30 days": ("/w/bench/", {"period": "custom", "start": "2026-10-02", "end": "2026-10-31"}),
            "page: Overview, 90 days": ("/w/bench/", {"period": "custom", "start": "2026-08-03", "end": "2026-10-31"}),
            "page: Explorer (intent, spam=false)": ("/w/bench/explorer", {"intent": "question", "spam": "no"}),
            "page: Explorer (words + channel)": ("/w/bench/explorer", {"q": "batterie", "channel": "social"}),
        }  # fmt: skip
        for name, (path, params) in requests.items():

            def call(p: str = path, q: dict[str, Any] = params) -> Any:
                response = client.get(p, params=q, headers=headers)
                assert response.status_code == 200, response.text
                return response.json() if p.startswith("/api/") else {}

            p50, p95, size = timed(call, runs)
            found.append((name, p50, p95, size))
        found += page_weights(client, workspace_id)
    return found


def page_weights(client: Any, workspace_id: int) -> list[tuple[str, float, float, int]]:
    """Bytes transferred (gzip, as served) for each page with its scripts, styles and images, cold cache."""
    import re

    with Session(client.app.state.engine) as session:
        message = session.scalar(select(Message.id).where(Message.workspace_id == workspace_id).limit(1))
        author = session.scalar(select(Message.author_id).where(Message.id == message))
    found = []
    overview_30 = "/w/bench/?period=custom&start=2026-10-02&end=2026-10-31"
    for path in (overview_30, "/w/bench/explorer", "/w/bench/sources", f"/w/bench/threads/{message}",
                 f"/w/bench/members/{author}"):  # fmt: skip
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        if response.status_code != 200 or "html" not in response.headers.get("content-type", ""):
            continue
        total = response.num_bytes_downloaded
        for asset in sorted(set(re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text))):
            total += client.get(asset, headers={"Accept-Encoding": "gzip"}).num_bytes_downloaded
        found.append((f"page weight {path} (KB, cold cache)", total / 1024, total / 1024, 0))
    return found


@contextmanager
def store(args: argparse.Namespace) -> Iterator[Engine]:
    if not args.postgres:
        home = OUT / f"cockpit-sqlite-{args.messages}"
        if not args.reuse and home.exists():
            for path in home.iterdir():
                path.unlink()
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


def import_overhead(path: Path, runs: int) -> None:
    """Import one file into a fresh SQLite store with and without the rollup hook, alternately."""
    import shutil
    import tempfile

    from pilote.imports import import_file

    hooks = (rollups.mark_written, rollups.refresh_dirty)
    times: dict[str, list[float]] = {"without rollups": [], "with rollups": []}
    for _ in range(runs):
        for name, on in (("without rollups", False), ("with rollups", True)):
            rollups.mark_written = hooks[0] if on else (lambda *args: None)  # type: ignore[assignment]
            rollups.refresh_dirty = hooks[1] if on else (lambda *args: 0)  # type: ignore[assignment]
            home = Path(tempfile.mkdtemp())
            engine = make_engine(get_settings(home=home, database_url=None))
            migrate(engine)
            started = time.perf_counter()
            import_file(engine, path)
            times[name].append(time.perf_counter() - started)
            engine.dispose()
            shutil.rmtree(home)
    rollups.mark_written, rollups.refresh_dirty = hooks  # type: ignore[method-assign]
    for name, found in times.items():
        print(f"{name}: median {statistics.median(found):.2f} s ({', '.join(f'{t:.2f}' for t in found)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="measure the store built by an earlier run")
    parser.add_argument("--rebuild", action="store_true", help="with --reuse: rebuild the rollups first")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--import-overhead", type=Path, help="only time importing this file with and without rollups")
    args = parser.parse_args()
    if args.import_overhead:
        import_overhead(args.import_overhead, 3)
        return
    with store(args) as engine:
        with engine.connect() as conn:
            existing = conn.execute(select(func.count()).select_from(Message)).scalar_one()
        built = rebuilt = 0.0
        if not existing:
            started = time.perf_counter()
            Builder(engine, args.messages).build()
            built = time.perf_counter() - started
        if not existing or args.rebuild:
            with engine.connect() as conn:
                workspace_id = conn.execute(text("SELECT id FROM workspace WHERE slug = 'bench'")).scalar_one()
            rebuilt = rebuild(engine, workspace_id)
        with engine.connect() as conn:
            workspace_id = conn.execute(text("SELECT id FROM workspace WHERE slug = 'bench'")).scalar_one()
            rows = conn.execute(text("SELECT count(*) FROM rollup")).scalar_one()
        results = measure_views(engine, workspace_id, args.runs) + measure_http(engine, workspace_id, args.runs)
    database = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\n{args.messages:,} messages in {database}: built in {built:.0f} s, rollups rebuilt in {rebuilt:.0f} s "
          f"({rows:,} rollup rows); {args.runs} runs per case\n")  # fmt: skip
    print("| case | p50 ms | p95 ms | items |\n|---|---:|---:|---:|")
    for name, p50, p95, size in results:
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {size:,} |")
    (OUT / f"cockpit-{database.lower()}-{args.messages}.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
