"""Recounting the dashboards' rollups after an enrichment run: every hour of an enriched store dirty.

What `pilote enrich` (and an import followed by its enrichment) does once at the end of a run that touched
every message: `rollups.refresh_dirty`. Each run works on a fresh copy of the store (migrated first), marks
every hour of its messages dirty, and times the recount alone in this process (wall and CPU).

    .venv/bin/python bench/enrich.py --only "all without embeddings" --workers 2   # builds an enriched store
    .venv/bin/python bench/rollups.py --store bench/out/enrich/home/pilote.db --repeat 5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select, text

from pilote import rollups
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.models import Message, Rollup

DIRTY = (
    "INSERT OR IGNORE INTO rollup_dirty SELECT DISTINCT workspace_id, "
    "CAST(strftime('%s', created_at) AS INTEGER) / 3600 FROM message"
)


def once(store: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        shutil.copy(store, Path(home) / "pilote.db")
        engine = make_engine(get_settings(home=Path(home)))
        migrate(engine)
        with engine.begin() as conn:
            conn.execute(text(DIRTY))
            messages = conn.execute(select(func.count()).select_from(Message)).scalar_one()
        wall, cpu = time.perf_counter(), time.process_time()
        with engine.begin() as conn:
            hours = rollups.refresh_dirty(conn)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(Rollup)).scalar_one()
        engine.dispose()
    return {"messages": messages, "hours": hours, "rows": rows, "wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="an enriched SQLite store (left untouched)")
    parser.add_argument("--repeat", type=int, default=5, help="runs (the median is shown)")
    args = parser.parse_args()
    runs = [once(args.store) for _ in range(args.repeat)]
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    print("| messages | hours | rollup rows | recount s (median) | CPU s | µs per message |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {median['messages']:,.0f} | {median['hours']:,.0f} | {median['rows']:,.0f} | {median['wall']:.2f} | "
          f"{median['cpu']:.2f} | {median['wall'] / median['messages'] * 1e6:.0f} |")  # fmt: skip
    print("runs (s):", ", ".join(f"{run['wall']:.2f}" for run in runs))


if __name__ == "__main__":
    main()
