"""The radar's tick on the demo community: the whole 90-day history at once, then live-sized increments.

    .venv/bin/python bench/radar_tick.py              # SQLite in a temporary folder, 3 repeats (median)
    .venv/bin/python bench/radar_tick.py --repeats 1  # quicker

Writes the demo (seed 1, 90 days, 5,000 members) with the analyzers `pilote simulate` runs, then times
`tick` over the whole history (radar tables emptied between repeats), a tick with nothing new, and a
tick after 1,000 new messages written into the open bucket's neighbourhood.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from pilote import enrich
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.enrich.pipeline import run as run_enrichment
from pilote.ingest import Target, write_batch
from pilote.intake import open_source as ensure_source
from pilote.models import Workspace, utcnow
from pilote.radar.watch import tick
from pilote.simulate import simulate
from pilote.sources.base import AuthorRef, Item, SourceInfo

RADAR_TABLES = ("radar_point", "radar_series", "radar_cursor", "radar_author", "alert", "incident_event",
                "delivery", "incident")  # fmt: skip


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in RADAR_TABLES:
            conn.execute(text(f"DELETE FROM {table}"))


def _live_batch(engine: Engine, workspace_id: int, count: int, number: int) -> None:
    with Session(engine, expire_on_commit=False) as session, session.begin():
        source = ensure_source(session, workspace_id, SourceInfo("bench", "live", "live", "social"))
    into = Target(workspace_id=workspace_id, source_id=source.id, channel="social")
    now = utcnow()
    items = [
        Item(external_id=f"live-{number}-{k}", kind="mention", created_at=now - timedelta(seconds=k % 240),
             raw=f"live-{number}-{k}", text="live message", author=AuthorRef(key=f"user:{k % 300}", handle=f"u{k}"))
        for k in range(count)
    ]  # fmt: skip
    with engine.begin() as conn:
        write_batch(conn, into, items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    folder = Path(tempfile.mkdtemp(prefix="pilote-radar-bench-"))
    settings = get_settings(home=folder, database_url=None)
    engine = make_engine(settings)
    migrate(engine)
    simulate(engine, workspace="demo", end=datetime(2026, 11, 1, tzinfo=UTC))
    with Session(engine) as session:
        workspace_id = session.scalars(select(Workspace.id)).one()
    run_enrichment(engine, enrich.get(vectors=False), workspace_id=workspace_id)
    print("| tick | median seconds | messages per second |", flush=True)
    print("|---|---:|---:|", flush=True)
    whole = []
    for _ in range(repeats):
        _reset(engine)
        started = time.perf_counter()
        report = tick(engine, settings, settle=timedelta(0))
        whole.append(time.perf_counter() - started)
    print(f"| whole history ({report.messages:,} messages) | {statistics.median(whole):.2f} | "
          f"{report.messages / statistics.median(whole):,.0f} |", flush=True)  # fmt: skip
    empty, live = [], []
    for number in range(repeats):
        started = time.perf_counter()
        tick(engine, settings, settle=timedelta(0))
        empty.append(time.perf_counter() - started)
        _live_batch(engine, workspace_id, 1000, number)
        started = time.perf_counter()
        tick(engine, settings, settle=timedelta(0))
        live.append(time.perf_counter() - started)
    print(f"| nothing new | {statistics.median(empty):.3f} | – |")
    print(f"| 1,000 new messages | {statistics.median(live):.3f} | {1000 / statistics.median(live):,.0f} |")
    engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
