"""Stand-in roots at scale: comments whose posts are missing, then the posts, in a fresh SQLite store.

Imports N comments each naming a post that is not in the file (N stand-ins), times a relink with nothing new
(what every later import or sync of the source pays), then imports the N posts and times that import and the
hand-over inside it (`linking.hand_over`, wrapped). Prints one line of seconds.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python bench/stand_ins.py --threads 20000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from pilote import linking, workspaces
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.imports import import_file
from pilote.sources.base import ParseOptions


def jsonl(path: Path, rows: list[tuple[str, str | None, str]]) -> Path:
    lines = [json.dumps({"id": ref, "created_at": at, "text": f"message {ref}", "parent_id": parent,
                         "thread_id": parent}) for ref, parent, at in rows]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=20_000)
    n = parser.parse_args().threads
    folder = Path(tempfile.mkdtemp())
    engine = make_engine(get_settings(home=folder, database_url=None))
    migrate(engine)
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="w")
    options = ParseOptions(source_key="forum")
    day = [f"2026-03-{1 + i % 28:02d}T12:00:00+00:00" for i in range(n)]
    started = time.perf_counter()
    import_file(engine, jsonl(folder / "c.jsonl", [(f"c{i}", f"p{i}", day[i]) for i in range(n)]), workspace="w",
                options=options)  # fmt: skip
    comments = time.perf_counter() - started
    with engine.connect() as conn:
        source = conn.exec_driver_sql("SELECT max(id) FROM source").scalar_one()
    started = time.perf_counter()
    with engine.begin() as conn:
        linking.relink(conn, source_id=source)
    idle = time.perf_counter() - started
    spent: list[float] = []
    hand_over = linking.hand_over

    def timed(*args: Any) -> None:
        begun = time.perf_counter()
        hand_over(*args)
        spent.append(time.perf_counter() - begun)

    linking.hand_over = timed  # type: ignore[assignment]
    started = time.perf_counter()
    import_file(engine, jsonl(folder / "p.jsonl", [(f"p{i}", None, day[i].replace("T12", "T11")) for i in range(n)]),
                workspace="w", options=options)  # fmt: skip
    posts = time.perf_counter() - started
    print(f"{n:,} threads: comments imported in {comments:.2f} s; a relink with nothing new {idle:.3f} s; "
          f"the posts imported in {posts:.2f} s, of which handing the threads over {sum(spent):.2f} s; "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
