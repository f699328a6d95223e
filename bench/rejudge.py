"""What judging again costs: a real thread brought in time order, then newest first, in successive syncs.

The Reddit thread of ../shared/data (1,428 comments) is read by Pilote's CSV importer, sorted by time, and brought
into a fresh SQLite store in batches of BATCH through the intake, each batch analysed as a sync's job does
(`pipeline.run` with the default analyzers, one process), once oldest batch first and once newest batch first.
In time order no arrival is older than what is stored, so nothing is judged again; newest first, every batch is
older than the ones before it and the messages whose history it changes are judged again (and, as before, the
replies stored before their parent are analysed again once it arrives: the third row, without judging again).
Prints, per order, the analyses' seconds (median of RUNS), the spam judgements made and the messages judged again.

    PYTHONPATH=src python bench/rejudge.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy.orm import Session

from pilote import enrich, intake
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.enrich.datasets import shared_folder
from pilote.enrich.pipeline import run
from pilote.ingest import Target
from pilote.intake import open_source
from pilote.sources import detect
from pilote.sources.base import Item, ParseOptions, SourceInfo
from pilote.workspaces import create
from protocol import record

BATCH = 100
RUNS = 5


def items(path: Path) -> tuple[list[Item], SourceInfo]:
    form = detect(path)
    found = [i for i in form.parse(path, ParseOptions()) if isinstance(i, Item)]
    return sorted(found, key=lambda i: (i.created_at, i.external_id)), form.describe(path, ParseOptions())


def once(batches: list[list[Item]], info: SourceInfo, again: bool = True) -> tuple[float, float, int, int]:
    """Seconds of analysis, of them those spent judging again, spam judgements, messages judged again (`again`: as
    shipped; else no analyzer says it reads the store's history, as before)."""
    with tempfile.TemporaryDirectory() as home:
        engine = make_engine(get_settings(home=Path(home), database_url=None))
        migrate(engine)
        with Session(engine) as session, session.begin():
            space = create(session, slug="bench")
            source = open_source(session, space.id, info)
            t = Target(workspace_id=space.id, source_id=source.id, channel=source.channel)
        analyzers = [a if again else replace(a, reads_history=False) for a in enrich.get(None, vectors=False)]
        seconds, rejudging, judged, rejudged = 0.0, 0.0, 0, 0
        for batch in batches:
            intake.write(engine, t, batch, batch_size=1000)
            intake.finish(engine, workspace_id=t.workspace_id, source_id=t.source_id, changed=True)
            report = run(engine, analyzers, workspace_id=t.workspace_id, workers=1, new_only=True)
            seconds, rejudging = seconds + report.elapsed, rejudging + report.rejudging
            judged, rejudged = judged + report.analysed["spam"], rejudged + len(report.rejudged)
        engine.dispose()
    return seconds, rejudging, judged, rejudged


def main() -> None:
    found, info = items(shared_folder() / "reddit" / "announcements_n49rw_comments.csv")
    batches = [found[start : start + BATCH] for start in range(0, len(found), BATCH)]
    orders = {"in time order": (batches, True), "newest first": (batches[::-1], True),
              "newest first, nothing judged again (as before)": (batches[::-1], False)}  # fmt: skip
    once(batches[:2], info)  # load the models
    runs: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in orders}
    for _ in range(RUNS):  # the orders in turn, so that the machine's load weighs on each alike
        for name, (order, again) in orders.items():
            runs[name].append(once(order, info, again))
    lines = []
    for name, found_runs in runs.items():
        seconds = statistics.median(r[0] for r in found_runs)
        share = statistics.median(r[1] / r[0] for r in found_runs)
        _, _, judged, rejudged = found_runs[0]
        lines.append(f"- {name}: analysis {seconds:.2f} s, of which judging again {share:.1%} (medians of {RUNS});"
                     f" {judged} spam judgements, {rejudged} judged again")  # fmt: skip
    lines.append(f"- load average {os.getloadavg()[0]:.2f} at the end")
    print(record(f"Judging again: {len(found)} comments in {len(batches)} syncs of {BATCH}", lines))


if __name__ == "__main__":
    main()
