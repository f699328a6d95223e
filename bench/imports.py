"""Import benchmarks: JSONL and WXR into SQLite (one core), 1M-message peak memory, PostgreSQL, and the
bare sqlite3 executemany floor for the same rows. Prints a Markdown table for docs/benchmarks.md.

    .venv/bin/python bench/imports.py            # full run (~10 minutes)
    .venv/bin/python bench/imports.py --quick    # smaller files, one repetition
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from pilote import pgserver
from pilote.samples import write_jsonl, write_wxr

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out"
PILOTE = Path(sys.executable).with_name("pilote")


def files(quick: bool) -> dict[str, Path]:
    """The synthetic exports, written once and reused."""
    OUT.mkdir(exist_ok=True)
    scale = 10 if quick else 1
    wanted = {
        "jsonl": (OUT / f"messages-{200_000 // scale}.jsonl", lambda p: write_jsonl(p, 200_000 // scale)),
        "wxr": (OUT / f"blog-{100_000 // scale}.xml", lambda p: write_wxr(p, 4000 // scale, 25)),
        "jsonl_1m": (OUT / f"messages-{1_000_000 // scale}.jsonl", lambda p: write_jsonl(p, 1_000_000 // scale)),
    }
    for path, make in wanted.values():
        if not path.exists():
            make(path)
    return {name: path for name, (path, _) in wanted.items()}


def run_import(path: Path, env: dict[str, str]) -> dict[str, float]:
    """One `pilote import`, pinned to one core, under /usr/bin/time -v: import seconds, wall, peak RSS."""
    command = ["taskset", "-c", "0", "/usr/bin/time", "-v", str(PILOTE), "import", str(path), "--json", "--no-enrich"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)["imports"][0]
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))  # type: ignore[union-attr]
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", done.stderr).group(1)  # type: ignore[union-attr]
    return {"seconds": summary["seconds"], "cpu": summary["cpu_seconds"], "total": summary["total"],
            "new": summary["new"], "wall": _seconds(wall), "rss_mb": rss_kb / 1024}  # fmt: skip


def _seconds(clock: str) -> float:
    parts = [float(p) for p in clock.split(":")]
    return sum(value * 60**power for power, value in enumerate(reversed(parts)))


def sqlite_import(path: Path) -> dict[str, float]:
    """Into a fresh embedded store."""
    home = Path(tempfile.mkdtemp(prefix="pilote-bench-"))
    try:
        env = {**os.environ, "PILOTE_HOME": str(home)}
        env.pop("PILOTE_DATABASE_URL", None)
        return run_import(path, env)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def postgres_import(path: Path, template: str, name: str) -> dict[str, float]:
    """Into a fresh database on a local PostgreSQL server with durable settings."""
    url = pgserver.create_database(template, name)
    try:
        return run_import(path, {**os.environ, "PILOTE_DATABASE_URL": url})
    finally:
        pgserver.drop_database(template, name)


def sqlite_floor(path: Path) -> dict[str, float]:
    """The physical reference: the same rows through bare sqlite3 executemany into an unindexed table."""
    rows = []
    for line in path.read_bytes().splitlines():
        record = orjson.loads(line)
        rows.append((record["id"], record["created_at"], record["author"], record["text"], record["likes"],
                     record.get("parent_id")))  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="pilote-floor-"))
    try:
        connection = sqlite3.connect(folder / "floor.db")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE message (id INTEGER PRIMARY KEY, external_id TEXT, created_at TEXT, "
                           "author TEXT, text TEXT, likes INTEGER, parent TEXT)")  # fmt: skip
        started, cpu_started = time.perf_counter(), time.process_time()
        connection.executemany("INSERT INTO message (external_id, created_at, author, text, likes, parent) "
                               "VALUES (?, ?, ?, ?, ?, ?)", rows)  # fmt: skip
        connection.commit()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        connection.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"seconds": seconds, "cpu": cpu, "total": len(rows), "new": len(rows), "wall": seconds, "rss_mb": 0.0}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each figure over the runs."""
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="files 10x smaller, one repetition")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    paths = files(args.quick)
    results: dict[str, dict[str, float]] = {}
    results["jsonl_sqlite"] = median_of([sqlite_import(paths["jsonl"]) for _ in range(repeat)])
    results["floor_sqlite3"] = median_of([sqlite_floor(paths["jsonl"]) for _ in range(repeat)])
    results["wxr_sqlite"] = median_of([sqlite_import(paths["wxr"]) for _ in range(repeat)])
    results["jsonl_1m_sqlite"] = sqlite_import(paths["jsonl_1m"])
    bin_dir = pgserver.find_bin()
    if bin_dir is not None:
        with pgserver.running(bin_dir, durable=True) as template:
            results["jsonl_postgres"] = median_of(
                [postgres_import(paths["jsonl"], template, f"bench_{i}") for i in range(repeat)]
            )
            results["jsonl_1m_postgres"] = postgres_import(paths["jsonl_1m"], template, "bench_1m")
    (OUT / "imports.json").write_text(json.dumps(results, indent=2))
    print(table(results, paths))


def table(results: dict[str, dict[str, float]], paths: dict[str, Path]) -> str:
    """Markdown rows: scenario, rows, import time, rates per wall and per CPU second, command wall, peak RSS.

    On a shared machine the wall-clock rate depends on the neighbours; the rate per CPU second of the
    pinned process is what one dedicated core gives (the import is CPU-bound: on an idle machine the two agree).
    """
    lines = ["| scenario | rows | import s | rate (rows/s, wall) | rate (rows/CPU s) | command wall s | peak RSS MB |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, figures in results.items():
        rows = figures["total"] if not name.startswith("wxr") else figures["total"] * 25 / 26  # comments only
        rate = rows / figures["seconds"]
        # PostgreSQL works in its own processes: the client's CPU time says nothing of the server's.
        cpu_rate = "n/a" if "postgres" in name else f"{rows / figures['cpu']:,.0f}"
        lines.append(f"| {name} | {int(rows):,} | {figures['seconds']:.2f} | {rate:,.0f} | {cpu_rate} "
                     f"| {figures['wall']:.2f} | {figures['rss_mb']:.0f} |")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    main()
