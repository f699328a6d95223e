"""Load test of the larger shape: PostgreSQL, Redis, servers and workers on loopback, many readers, arrivals.

Starts a PostgreSQL server (its files kept in `--reuse DIR`, so the store is built once) and a Redis server of
its own, builds the store fast when it is empty (the synthetic messages of bench/cockpit.py written with bulk
COPY, marked analysed, the inbox items of bench/inbox.py, the rollups), then starts `--servers` processes of
`pilote serve --no-jobs` and `--workers` processes of `pilote worker`, exactly as docs/deploy.md runs them.
For `--seconds`, `--readers` concurrent readers (asyncio + httpx, one signed-in session cookie for the pages
and an API token for the API) read the cockpit's pages and the API, spread over the servers in turn as a
round-robin proxy would, while another process writes `--arrivals` new messages through the intake in
batches and queues their analysis for the workers. A watcher polls the radar tick's lease in Redis to see
when each tick started and how long it ran. Prints requests/s, p50/p95/p99 per request kind, the errors
(with a sample), the ticks, and what the arrivals became (stored, analysed, in the inbox).

    .venv/bin/python bench/load.py --messages 1000000 --reuse bench/out/load-1m           # build, then measure
    .venv/bin/python bench/load.py --messages 1000000 --reuse bench/out/load-1m --servers 1
    .venv/bin/python bench/load.py --messages 10000000 --reuse /var/tmp/pilote-load-10m    # ~15 min, ~9 GB
    .venv/bin/python bench/load.py --messages 1000000 --reuse bench/out/load-1m --servers 1 --workers 0 --alone 9
    .venv/bin/python bench/load.py --messages 1000000 --reuse bench/out/load-1m --servers 1 --workers 0 --alone 9 \
        --keep-reports    # the metrics reports kept first, as the job metrics.reports does
    /usr/bin/time -v .venv/bin/python bench/load.py --messages 10000000 --reuse /var/tmp/pilote-load-10m \
        --reports-only    # the kept reports' refresh alone: its seconds, and its peak memory from time

Loopback only: every server listens on 127.0.0.1 (PostgreSQL on a Unix socket). Bounded: the readers stop
after `--seconds`, then the run waits at most `--settle` seconds for the workers to analyse the arrivals.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2 as httpx
import redis
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cockpit  # the message builder, beside this file
import inbox as inbox_bench  # the inbox items' builder
from pilote import enrich, intake, pgserver, tokens, workspaces
from pilote.accounts import users
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.ingest import Target
from pilote.jobs import TICK, make_queue
from pilote.leases import PREFIX, DatabaseLeases
from pilote.metrics import kept as kept_reports
from pilote.models import Enrichment, InboxItem, Message, Source, User
from pilote.sources.base import AuthorRef, Item, SourceInfo

PYTHON = sys.executable
REDIS_SERVER = os.environ.get("PILOTE_REDIS_SERVER", "/usr/bin/redis-server")
USER, PASSWORD = cockpit.BENCH_USER, cockpit.BENCH_PASSWORD
BYTES_PER_MESSAGE = 900  # the store on disk, indexes included, measured at 1M and 2M; with room to spare
ARRIVALS = SourceInfo(kind="bench", key="arrivals", name="Arrivals", channel="forum:arrivals.example")


# --- the store ------------------------------------------------------------------------------------------------


def build(engine: Engine, messages: int, open_items: int) -> dict[str, float]:
    """An empty store filled fast: messages, marked analysed by every analyzer's current version (so the workers
    analyse only what arrives), inbox items, rollups, statistics, and the account the readers sign in with."""
    spent: dict[str, float] = {}
    started = time.perf_counter()
    workspace_id = cockpit.Builder(engine, messages).build()
    spent["messages"] = time.perf_counter() - started
    started = time.perf_counter()
    versions = json.dumps({a.name: a.current_version() for a in enrich.get(None, vectors=False)}, separators=(",", ":"))
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO enrichment (message_id, versions, updated_at) SELECT id, :v, :t FROM message"),
            {"v": versions, "t": cockpit.END},
        )
    spent["marked analysed"] = time.perf_counter() - started
    started = time.perf_counter()
    inbox_bench.write_items(engine, workspace_id, open_items)
    spent["inbox items"] = time.perf_counter() - started
    with engine.begin() as conn:  # the builder chose the ids: the sequences follow, for the intake's inserts
        for table in ("author", "message", "label") if engine.dialect.name == "postgresql" else ():
            conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}")
    spent["rollups and statistics"] = cockpit.rebuild(engine, workspace_id)
    with Session(engine) as session, session.begin():
        users.create(session, email=USER, password=PASSWORD, role="admin", workspace=None)
    return spent


@contextmanager
def postgres(folder: Path) -> Iterator[str]:
    """PostgreSQL with its files in `folder` (kept): yields the URL of the `bench` database, created if absent."""
    bin_dir = pgserver.find_bin()
    if bin_dir is None:
        raise SystemExit("PostgreSQL's programs not found (apt-get install postgresql, or set PILOTE_PG_BIN)")
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # the server runs as `postgres`, which must reach its folder
        for part in (folder, *folder.parents):
            if part.stat().st_mode & 0o005 != 0o005:
                part.chmod(part.stat().st_mode | 0o005)
    with pgserver.running(bin_dir, root=folder / "pg") as template:
        admin = create_engine(template.format("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'bench'")).scalar()
            conn.exec_driver_sql("ALTER SYSTEM SET max_connections = 200")  # taken at the next start
        admin.dispose()
        yield template.format("bench") if exists else pgserver.create_database(template, "bench")


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A Redis server of our own on a free loopback port, without persistence (as docs/deploy.md advises)."""
    port = pgserver.free_port()
    folder.mkdir(parents=True, exist_ok=True)
    command = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", str(folder)]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            raise SystemExit("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


# --- the processes --------------------------------------------------------------------------------------------


def environment(home: Path, database_url: str | None, redis_url: str | None, radar_interval: float) -> dict[str, str]:
    """What every process of the deployment shares (docs/deploy.md's /etc/pilote/pilote.env); without a database
    URL, the single host's shape: SQLite and its queue in PILOTE_HOME."""
    source = str(Path(__file__).resolve().parents[1] / "src")
    larger = {"PILOTE_DATABASE_URL": database_url, "PILOTE_REDIS_URL": redis_url} if database_url and redis_url else {}
    env = {k: v for k, v in os.environ.items() if k not in ("PILOTE_DATABASE_URL", "PILOTE_REDIS_URL")}
    return {
        **env,
        **larger,
        "PYTHONPATH": source + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "OMP_NUM_THREADS": "1",
        "PILOTE_HOME": str(home),
        "PILOTE_SECRET_KEY": Fernet.generate_key().decode(),  # the same for every process of a run
        "PILOTE_ALLOWED_HOSTS": "127.0.0.1",
        "PILOTE_RADAR_INTERVAL": str(radar_interval),
        "PILOTE_EMBEDDINGS": "false",  # the store is judged text only (`load`): the workers must not judge it again
    }


@contextmanager
def processes(env: dict[str, str], servers: int, workers: int, logs: Path, jobs: bool) -> Iterator[list[str]]:
    """`servers` × `pilote serve --no-jobs` (`pilote serve` with `jobs`) and `workers` × `pilote worker`; yields
    the servers' base URLs once each answers /ready. Stopped with SIGTERM (running jobs finish), then killed
    past 60 s."""
    logs.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen[bytes]] = []
    urls = []
    try:
        for n in range(servers):
            port = pgserver.free_port()
            log = (logs / f"serve-{n}.log").open("wb")
            serve = [PYTHON, "-m", "pilote", "serve", "--port", str(port), *([] if jobs else ["--no-jobs"])]
            started.append(subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT))
            urls.append(f"http://127.0.0.1:{port}")
        for n in range(workers):
            log = (logs / f"worker-{n}.log").open("wb")
            started.append(subprocess.Popen([PYTHON, "-m", "pilote", "worker", "--threads", "2"], env=env,
                                            stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
        deadline = time.monotonic() + 120
        for url in urls:
            while True:
                try:
                    if httpx.get(url + "/ready", timeout=5).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                    raise SystemExit(f"{url} is not ready: see {logs}")
                time.sleep(0.2)
        yield urls
    finally:
        for process in started:
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


# --- the arrivals ---------------------------------------------------------------------------------------------


def arrive(database_url: str | None, redis_url: str | None, home: str, count: int, batch: int, seconds: float) -> None:
    """In its own process: `count` new messages through the intake, `batch` at a time spread over `seconds`,
    each batch's analysis queued for the workers (what a sync does)."""
    settings = get_settings(home=Path(home), database_url=database_url, redis_url=redis_url)
    engine = make_engine(settings)
    queue = make_queue(settings, engine)
    with Session(engine) as session, session.begin():
        workspace = workspaces.get(session, slug="bench")
        source = intake.open_source(session, workspace.id, ARRIVALS)
        target = Target(workspace.id, source.id, ARRIVALS.channel)
        already = session.scalar(select(func.count()).select_from(Message).where(Message.source_id == source.id))
    rng = random.Random(already)
    started = time.monotonic()
    for first in range(0, count, batch):
        now = datetime.now(UTC)
        items = []
        for n in range(first, min(first + batch, count)):
            ident = (already or 0) + n
            words = " ".join(rng.choice(cockpit.WORDS_FR + cockpit.WORDS_EN) for _ in range(12))
            parent = f"a{ident - rng.randrange(1, 50)}" if n > first and rng.random() < 0.5 else None
            author = AuthorRef(key=f"arrival:{ident % 500}", handle=f"arrival{ident % 500}")
            items.append(Item(external_id=f"a{ident}", kind="reply" if parent else "post", created_at=now,
                              raw="{}", text=words + "?" * (ident % 3 == 0), parent_external_id=parent,
                              author=author))  # fmt: skip
        intake.write(engine, target, items, batch_size=batch)
        intake.finish(engine, workspace_id=target.workspace_id, source_id=target.source_id, changed=True,
                      analyse=queue.analyse)  # fmt: skip
        ahead = started + seconds * min(first + batch, count) / count - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
    engine.dispose()


# --- the readers ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)  # left out: too slow alone


def requests(engine: Engine) -> dict[str, tuple[str, list[str]]]:
    """What the readers ask for, by kind: (`page` or `api`, the paths to pick from)."""
    with Session(engine) as session:
        threads = session.scalars(select(Message.thread_id).where(Message.id % 997 == 1).limit(200)).all()
        authors = session.scalars(select(Message.author_id).where(Message.id % 991 == 1).limit(200)).all()
        items = session.scalars(select(InboxItem.id).where(InboxItem.id % 97 == 1).limit(200)).all()
    end = cockpit.END.date()
    month, quarter = f"start={end - timedelta(days=30)}&end={end}", f"start={end - timedelta(days=90)}&end={end}"
    w = "/w/bench"
    return {
        "page: Overview, 30 days": ("page", [f"{w}/?period=custom&{month}"]),
        "page: Overview, 90 days": ("page", [f"{w}/?period=custom&{quarter}"]),
        "page: Explorer, newest": ("page", [f"{w}/explorer"]),
        "page: Explorer, filters": ("page", [f"{w}/explorer?intent=question&spam=no",
                                             f"{w}/explorer?sentiment=negative&language=en"]),
        "page: Explorer, words": ("page", [f"{w}/explorer?q=batterie&channel=social", f"{w}/explorer?q=refund+late"]),
        "page: a thread": ("page", [f"{w}/threads/{t}" for t in threads]),
        "page: Members": ("page", [f"{w}/members"]),
        "page: a member": ("page", [f"{w}/members/{a}" for a in authors]),
        "page: Health": ("page", [f"{w}/health"]),
        "page: Health, days chosen": ("page", [f"{w}/health?since={end - timedelta(days=30)}&until={end}"]),
        "page: Inbox": ("page", [f"{w}/inbox"]),
        "page: an inbox item": ("page", [f"{w}/inbox/{i}" for i in items]),
        "api: messages": ("api", ["/api/v1/messages?intent=question&spam=false", "/api/v1/messages?q=batterie"]),
        "api: overview": ("api", [f"/api/v1/overview?period=30d&end={end}T00:00:00Z"]),
        "api: metrics": ("api", [f"/api/v1/metrics?since={end - timedelta(days=30)}T00:00:00Z&until={end}T00:00:00Z"]),
        "api: metrics, 30 days": ("api", ["/api/v1/metrics?period=30d"]),
        "api: inbox": ("api", ["/api/v1/inbox"]),
    }  # fmt: skip


def keep_reports(engine: Engine) -> None:
    """Compute the bench workspace's kept metrics reports as the job `metrics.reports` does; print how long."""
    with Session(engine) as session:
        workspace_id = workspaces.get(session, slug="bench").id
    started = time.perf_counter()
    kept_reports.refresh(engine, workspace_id, force=True)
    print(f"kept metrics reports (7d, 30d, 90d, all): {time.perf_counter() - started:.0f} s", file=sys.stderr)


def api_token(engine: Engine) -> dict[str, str]:
    """The headers of a new API token of the bench workspace (made before the servers start)."""
    with Session(engine) as session, session.begin():
        token, _ = tokens.create(session, workspace=workspaces.get(session, slug="bench"), name="load")
    return {"Authorization": f"Bearer {token}"}


def sign_in(url: str) -> dict[str, str]:
    """The session cookies of one sign-in (every server reads sessions from the store). On SQLite the server's
    first clock turn may be catching the radar up: the sign-in's write waits for the lock between two chunks."""
    signed = httpx.post(url + "/login", data={"email": USER, "password": PASSWORD}, follow_redirects=False,
                        timeout=120)  # fmt: skip
    if signed.status_code != 303:
        raise SystemExit(f"cannot sign in: {signed.status_code} {signed.text[:200]}")
    return dict(signed.cookies)


async def read(urls: list[str], asked: dict[str, tuple[str, list[str]]], readers: int, seconds: float,
               cookies: dict[str, str], headers: dict[str, str], too_slow: float,
               seed: int = 3) -> tuple[Tally, float]:  # fmt: skip
    """`readers` readers for `seconds`, each asking for one request after the other, kinds drawn evenly; the
    base URL turns round the servers as a round-robin proxy would. A kind whose warm-up takes more than
    `too_slow` seconds alone is left out of the run (and reported)."""
    tally = Tally({name: [] for name in asked}, dict.fromkeys(asked, 0))
    asked = dict(asked)
    turn = itertools.cycle(urls)
    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=readers * 2, max_keepalive_connections=readers * 2)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        for url in urls:  # a warm-up, not counted: each kind once on each server, its time shown
            for name, (kind, paths) in list(asked.items()):
                started = time.perf_counter()
                try:
                    answer = await client.get(url + paths[0], cookies=cookies if kind == "page" else None,
                                              headers=headers if kind == "api" else None, timeout=too_slow)  # fmt: skip
                    outcome = str(answer.status_code)
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                    del asked[name]
                    tally.slow.append(f"{name} ({paths[0]}): no answer within {too_slow:g} s alone")
                print(f"  warm-up {url} {name}: {outcome} in {time.perf_counter() - started:.2f} s", file=sys.stderr)
        names, stop = list(asked), time.monotonic() + seconds

        async def reader() -> None:
            while time.monotonic() < stop:
                name = rng.choice(names)
                kind, paths = asked[name]
                path = rng.choice(paths)
                started = time.perf_counter()
                try:
                    response = await client.get(next(turn) + path, cookies=cookies if kind == "page" else None,
                                                headers=headers if kind == "api" else None)  # fmt: skip
                    failed = None if response.status_code == 200 else f"{response.status_code} {path}"
                except httpx.HTTPError as error:
                    failed = f"{type(error).__name__} {path}"
                if failed is None:
                    tally.times[name].append((time.perf_counter() - started) * 1000)
                else:
                    tally.errors[name] += 1
                    if len(tally.samples) < 10:
                        tally.samples.append(failed)

        begun = time.perf_counter()
        await asyncio.gather(*(reader() for _ in range(readers)))
        return tally, time.perf_counter() - begun


def alone(url: str, asked: dict[str, tuple[str, list[str]]], cookies: dict[str, str], headers: dict[str, str],
          runs: int, too_slow: float) -> None:  # fmt: skip
    """Each kind of request alone, one at a time on one server, `runs` times (its paths in turn) after one
    warm-up: prints the median and the slowest, in milliseconds, and the statuses other than 200. A kind that
    takes more than `too_slow` seconds is tried no more (the server finishes it before the next kind)."""
    print("| request | runs | p50 ms | max ms | not 200 |\n|---|---:|---:|---:|---|")
    with httpx.Client(base_url=url, timeout=too_slow) as client:
        for name, (kind, paths) in asked.items():
            times, failed = [], []
            for n in range(runs + 1):
                path = paths[n % len(paths)]
                started = time.perf_counter()
                try:
                    answer = client.get(path, cookies=cookies if kind == "page" else None,
                                        headers=headers if kind == "api" else None)  # fmt: skip
                except httpx.TimeoutException:
                    failed.append(f"no answer in {too_slow:g} s")
                    break
                if n:
                    times.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    failed.append(f"{answer.status_code} {path}")
            p50, most = (statistics.median(times), max(times)) if times else (float("nan"), float("nan"))
            print(f"| {name} | {len(times)} | {p50:.0f} | {most:.0f} | {', '.join(failed[:2])} |", flush=True)


# --- the radar's ticks ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Ticks:
    spans: list[tuple[float, float]] = field(default_factory=list)  # (start, end), monotonic seconds
    stop: threading.Event = field(default_factory=threading.Event)

    def watch(self, url: str | None, engine: Engine, every: float = 0.05) -> None:
        """Poll the tick's lease (in Redis, else in the store): held while a clock runs its turn (requeue, due
        syncs, the radar…)."""
        client, key, since = redis.Redis.from_url(url) if url else None, PREFIX + TICK, None
        leases = DatabaseLeases(engine)
        while not self.stop.is_set():
            held = bool(client.exists(key)) if client is not None else leases.held(TICK)
            now = time.monotonic()
            if held and since is None:
                since = now
            elif not held and since is not None:
                self.spans.append((since, now))
                since = None
            self.stop.wait(every)
        if client is not None:
            client.close()


# --- the run --------------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else float("nan")


def free_disk(folder: Path, messages: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    needed, free = messages * BYTES_PER_MESSAGE, shutil.disk_usage(folder).free
    if free < needed * 1.2:
        raise SystemExit(f"{folder}: {free / 1e9:.1f} GB free, the store needs about {needed / 1e9:.1f} GB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--open", type=int, default=0, help="open inbox items (as many closed); default messages/100")
    parser.add_argument("--reuse", type=Path, help="the folder of the store, built there once and kept")
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--arrivals", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500, help="messages per intake batch")
    parser.add_argument("--radar-interval", type=float, default=5.0)
    parser.add_argument("--settle", type=float, default=300, help="seconds to wait for the arrivals' analysis")
    parser.add_argument("--too-slow", type=float, default=30, help="a request kind slower alone is left out")
    parser.add_argument("--without", action="append", default=[], help="leave out the requests named so (repeat)")
    parser.add_argument("--sqlite", action="store_true", help="the single host: SQLite, one `pilote serve` with jobs")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--keep-reports", action="store_true", help="first keep the metrics reports (metrics.kept)")
    parser.add_argument("--reports-only", action="store_true", help="keep the metrics reports, say how long, stop")
    parser.add_argument("--alone", type=int, metavar="RUNS", help="time each request alone RUNS times, then stop")
    args = parser.parse_args()
    folder = (args.reuse or cockpit.OUT / f"load-{'sqlite-' if args.sqlite else ''}{args.messages}").resolve()
    home = folder / "home"
    with ExitStack() as stack:
        if not (folder / "pg" / "data").exists() and not (home / "pilote.db").exists():
            free_disk(folder, args.messages)
        database_url = None if args.sqlite else stack.enter_context(postgres(folder))
        home.mkdir(parents=True, exist_ok=True)
        engine = make_engine(get_settings(home=home, database_url=database_url))
        migrate(engine)
        with Session(engine) as session:
            built = session.scalar(select(func.count()).select_from(User).where(User.email == USER))
        if not built:
            with Session(engine) as session:
                if session.scalar(select(Message.id).limit(1)) is not None:
                    raise SystemExit(f"{folder}: a store half built; remove the folder and build again")
            print(f"building {args.messages:,} messages in {folder}", file=sys.stderr)
            spent = build(engine, args.messages, args.open or args.messages // 100)
            print("built: " + ", ".join(f"{k} {v:.0f} s" for k, v in spent.items()), file=sys.stderr)
        if args.build_only:
            return
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(Message)).scalar_one()
            size = (home / "pilote.db").stat().st_size if args.sqlite else conn.execute(
                text("SELECT pg_database_size('bench')")).scalar_one()  # fmt: skip
        if args.keep_reports or args.reports_only:
            keep_reports(engine)
        if args.reports_only:
            return
        headers = api_token(engine)
        redis_url = None if args.sqlite else stack.enter_context(redis_server(folder / "redis"))
        env = environment(home, database_url, redis_url, args.radar_interval)
        urls = stack.enter_context(processes(env, args.servers, args.workers, folder / "logs", args.sqlite))
        cookies = sign_in(urls[0])
        asked = {name: paths for name, paths in requests(engine).items() if name not in args.without}
        if args.alone:
            alone(urls[0], asked, cookies, headers, args.alone, args.too_slow)
            return
        with Session(engine) as session:  # where this run's arrivals start (a reused store keeps earlier runs')
            before = (session.scalar(select(func.max(Message.id))) or 0,
                      session.scalar(select(func.max(InboxItem.id))) or 0)  # fmt: skip
        ticks = Ticks()
        watcher = threading.Thread(target=ticks.watch, args=(redis_url, engine), daemon=True)
        watcher.start()
        writer = multiprocessing.get_context("spawn").Process(
            target=arrive,
            args=(database_url, redis_url, str(home), args.arrivals, args.batch, args.seconds * 0.8),
        )
        load_started = time.monotonic()
        writer.start()
        tally, elapsed = asyncio.run(read(urls, asked, args.readers, args.seconds, cookies, headers, args.too_slow))
        writer.join(timeout=args.settle)
        wrote = time.monotonic() - load_started
        settled = analysed_arrivals(engine, before, args.arrivals, args.settle, load_started)
        ticks.stop.set()
        watcher.join()
        report(args, stored, size, tally, elapsed, ticks, load_started, wrote, settled)
        engine.dispose()


def analysed_arrivals(
    engine: Engine, before: tuple[int, int], expected: int, settle: float, since: float
) -> tuple[int, int, int, float]:
    """Wait until this run's arrivals (messages and items after the ids `before`) are all analysed (or `settle`
    s): (stored, analysed, in the inbox, seconds)."""
    deadline = time.monotonic() + settle
    while True:
        with Session(engine) as session:
            source = session.scalar(select(Source.id).where(Source.key == ARRIVALS.key))
            mine = select(Message.id).where(Message.source_id == source, Message.id > before[0])
            stored = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
            analysed = (
                session.scalar(select(func.count()).select_from(Enrichment).where(Enrichment.message_id.in_(mine))) or 0
            )
            items = session.scalar(select(func.count()).select_from(InboxItem).where(
                InboxItem.source_id == source, InboxItem.id > before[1])) or 0  # fmt: skip
        if (stored >= expected and analysed >= stored) or time.monotonic() > deadline:
            return stored, analysed, items, time.monotonic() - since
        time.sleep(1)


def report(args: argparse.Namespace, stored: int, size: int, tally: Tally, elapsed: float, ticks: Ticks,
           started: float, wrote: float, settled: tuple[int, int, int, float]) -> None:  # fmt: skip
    done = sum(len(t) for t in tally.times.values())
    errors = sum(tally.errors.values())
    load = os.getloadavg()
    store = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"\n{stored:,} messages in {store} ({size / 1e9:.1f} GB), {args.servers} servers, {args.workers} "
          f"workers, {args.readers} readers for {elapsed:.0f} s, {args.arrivals:,} arrivals; "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {load[0]:.1f} at the end\n")  # fmt: skip
    print(f"{done:,} requests, {done / elapsed:.1f} requests/s, {errors} errors\n")
    print("| request | count | p50 ms | p95 ms | p99 ms | errors |\n|---|---:|---:|---:|---:|---:|")
    everything: list[float] = []
    for name, times in tally.times.items():
        if not times and not tally.errors[name]:
            continue
        everything += times
        print(f"| {name} | {len(times):,} | {statistics.median(times) if times else float('nan'):.0f} | "
              f"{percentile(times, 0.95):.0f} | {percentile(times, 0.99):.0f} | {tally.errors[name]} |")  # fmt: skip
    print(f"| all | {len(everything):,} | {statistics.median(everything) if everything else float('nan'):.0f} | "
          f"{percentile(everything, 0.95):.0f} | {percentile(everything, 0.99):.0f} | {errors} |")  # fmt: skip
    for sample in tally.samples:
        print(f"  error: {sample}")
    for slow in tally.slow:
        print(f"  left out: {slow}")
    during = [(a, b) for a, b in ticks.spans if a >= started]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(during)]
    lengths = [b - a for a, b in during]
    if during:
        print(f"\nradar ticks (every {args.radar_interval:g} s asked): {len(during)} started; between starts "
              f"median {statistics.median(gaps) if gaps else float('nan'):.1f} s, max {max(gaps, default=0):.1f} s; "
              f"a tick ran median {statistics.median(lengths):.2f} s, max {max(lengths):.2f} s")  # fmt: skip
    else:
        print("\nradar ticks: none seen")
    stored_new, analysed, items, seconds = settled
    print(f"arrivals: written in {wrote:.0f} s; {stored_new:,} stored, {analysed:,} analysed, {items:,} inbox items "
          f"from them, all analysed {seconds:.0f} s after the start")  # fmt: skip


if __name__ == "__main__":
    main()
