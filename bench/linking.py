"""Replies before their parents: the same exported file imported oldest first and newest first.

The demo community (`pilote simulate --days 90 --members 5000 --seed 1`) is exported to JSONL once
(`pilote export` writes newest first), and its oldest N messages are written in both orders. Each import
is a real `pilote import FILE --json --no-enrich` process into a fresh store, pinned to one core; the
figure is the import's own time (`seconds` in `--json`). Prints a Markdown table for docs/benchmarks.md.

    .venv/bin/python bench/linking.py                        # 29,000, 58,000 and all messages, 3 runs each
    .venv/bin/python bench/linking.py --sizes 5000 --repeat 1
    .venv/bin/python bench/linking.py --postgres             # into PostgreSQL too
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pilote import pgserver

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "linking"
PILOTE = Path(sys.executable).with_name("pilote")
DEMO = ("simulate", "--workspace", "demo", "--days", "90", "--members", "5000", "--seed", "1")


def demo_export() -> list[bytes]:
    """The demo community's JSONL export, oldest message first (made once, then reused)."""
    path = OUT / "demo.jsonl"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="pilote-bench-") as home:
            env = {**os.environ, "PILOTE_HOME": home}
            env.pop("PILOTE_DATABASE_URL", None)
            for command in (("init",), DEMO, ("export", "-f", "jsonl", "-w", "demo", "-o", str(path))):
                subprocess.run([str(PILOTE), *command], env=env, check=True, capture_output=True)
    return path.read_bytes().splitlines()[::-1]


def files(lines: list[bytes], size: int) -> dict[str, Path]:
    """The oldest `size` messages, oldest first and newest first."""
    chosen = lines[:size]
    paths = {"oldest first": OUT / f"oldest-{size}.jsonl", "newest first": OUT / f"newest-{size}.jsonl"}
    for order, path in paths.items():
        ordered = chosen if order == "oldest first" else chosen[::-1]
        path.write_bytes(b"\n".join(ordered) + b"\n")
    return paths


def run_import(path: Path, env: dict[str, str]) -> float:
    """One `pilote import` pinned to one core: the import's own seconds."""
    command = ["taskset", "-c", "0", str(PILOTE), "import", str(path), "--json", "--no-enrich"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)["imports"][0]
    assert summary["new"] > 0, summary
    return float(summary["seconds"])


def sqlite_import(path: Path) -> float:
    """Into a fresh embedded store."""
    with tempfile.TemporaryDirectory(prefix="pilote-bench-") as home:
        env = {**os.environ, "PILOTE_HOME": home}
        env.pop("PILOTE_DATABASE_URL", None)
        return run_import(path, env)


def postgres_import(path: Path, template: str, name: str) -> float:
    """Into a fresh database of a local PostgreSQL server with durable settings."""
    url = pgserver.create_database(template, name)
    try:
        return run_import(path, {**os.environ, "PILOTE_DATABASE_URL": url})
    finally:
        pgserver.drop_database(template, name)


def measure(lines: list[bytes], sizes: list[int], repeat: int, template: str | None) -> list[dict[str, object]]:
    """Runs alternate between the two orders, so a noisy neighbour hurts both alike."""
    results = []
    for size in sizes:
        paths = files(lines, size)
        runs: dict[str, list[float]] = {order: [] for order in paths}
        for number in range(repeat):
            for order, path in paths.items():
                if template is None:
                    runs[order].append(sqlite_import(path))
                else:
                    runs[order].append(postgres_import(path, template, f"bench_linking_{number}"))
        results.append({"size": size, "runs": runs})
    return results


def table(database: str, results: list[dict[str, object]]) -> str:
    """Markdown rows: database, messages, each order's runs and median, and the ratio of the medians."""
    lines = ["| database | messages | oldest first s (runs) | median | newest first s (runs) | median | ratio |",
             "|---|---:|---|---:|---|---:|---:|"]  # fmt: skip
    for result in results:
        runs = result["runs"]
        assert isinstance(runs, dict)
        oldest, newest = runs["oldest first"], runs["newest first"]
        low, high = statistics.median(oldest), statistics.median(newest)
        lines.append(f"| {database} | {result['size']:,} | {' / '.join(f'{s:.2f}' for s in oldest)} | {low:.2f} "
                     f"| {' / '.join(f'{s:.2f}' for s in newest)} | {high:.2f} | {high / low:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", help="messages per file (default: 29,000, 58,000, all)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also import into PostgreSQL")
    args = parser.parse_args()
    lines = demo_export()
    sizes = args.sizes or [29_000, 58_000, len(lines)]
    print(table("SQLite", measure(lines, sizes, args.repeat, None)), flush=True)
    bin_dir = pgserver.find_bin()
    if args.postgres and bin_dir is not None:
        with pgserver.running(bin_dir, durable=True) as template:
            print(table("PostgreSQL", measure(lines, sizes, args.repeat, template)))


if __name__ == "__main__":
    main()
