"""What comparing a running period like for like costs the Overview: `views.overview.overview` on a store's
workspace with `now` inside the period (the part-hours read from the messages: 59 minutes into the hour before
the present one, the demo's last full hour) against `now` after it (rollups only), alternated, medians of RUNS
each. Prints one line per period for docs/benchmarks.md.

    PILOTE_HOME=... .venv/bin/python bench/overview_running.py --workspace demo
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.config import get_settings
from pilote.db import make_engine
from pilote.models import Workspace
from pilote.views import overview

RUNS = 15
PERIODS = (("24h", timedelta(hours=24), "hour"), ("7d", timedelta(days=7), "day"), ("90d", timedelta(days=90), "week"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workspace", default="demo")
    slug = parser.parse_args().workspace
    engine = make_engine(get_settings())
    with Session(engine) as session:
        workspace_id = session.scalars(select(Workspace.id).where(Workspace.slug == slug)).one()
    until = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    now = until - timedelta(hours=2) + timedelta(minutes=59)
    for name, length, bucket in PERIODS:
        seconds: dict[str, list[float]] = {"running": [], "over": []}
        for _ in range(RUNS):
            for kind, moment in (("running", now), ("over", until + timedelta(days=1))):
                with Session(engine) as session:
                    started = time.perf_counter()
                    overview.overview(session, workspace_id, until - length, until, bucket, now=moment)
                    seconds[kind].append(time.perf_counter() - started)
        running, over = statistics.median(seconds["running"]), statistics.median(seconds["over"])
        print(f"| {name} | {running * 1000:.1f} ms | {over * 1000:.1f} ms | {running / over:.2f} |")


if __name__ == "__main__":
    main()
