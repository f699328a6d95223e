"""Replies before their parents: the same exported file imported oldest first and newest first.

The demo community (`pilote simulate --days 90 --members 5000 --seed 1`) is exported to JSONL once
(`pilote export` writes newest first), and its oldest N messages are written in both orders. Each import
is a real `pilote import FILE --json --no-enrich` process into a fresh store, pinned to one core: the
import's own time (`seconds` in `--json`) and, on SQLite, its CPU time (`cpu_seconds`, which neighbours on a
shared machine disturb less; PostgreSQL works in its own processes). Prints Markdown tables for
docs/benchmarks.md.

    .venv/bin/python bench/linking.py                        # 29,000, 58,000 and all messages, 3 runs each
    .venv/bin/python bench/linking.py --sizes 5000 --repeat 1
    .venv/bin/python bench/linking.py --postgres             # into PostgreSQL too
    .venv/bin/python bench/linking.py --sizes --chains 10000 20000   # one conversation, each reply to the last
"""

from __future__ import annotations

import argparse
import json
import os
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


def chain(size: int) -> list[bytes]:
    """A post and `size` replies, each answering the one before: the deepest thread there is."""
    lines = [json.dumps({"id": "post", "created_at": "2026-03-01T00:00:00+00:00", "text": "A post", "parent_id": None})]
    for number in range(size):
        at = f"2026-03-01T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}+00:00"
        parent = f"reply-{number - 1}" if number else "post"
        lines.append(
            json.dumps({"id": f"reply-{number}", "created_at": at, "text": f"Reply {number}", "parent_id": parent})
        )
    return [line.encode() for line in lines]


def files(lines: list[bytes], size: int, name: str) -> dict[str, Path]:
    """The oldest `size` messages, oldest first and newest first."""
    chosen = lines[:size]
    paths = {"oldest first": OUT / f"{name}-oldest-{size}.jsonl", "newest first": OUT / f"{name}-newest-{size}.jsonl"}
    for order, path in paths.items():
        ordered = chosen if order == "oldest first" else chosen[::-1]
        path.write_bytes(b"\n".join(ordered) + b"\n")
    return paths


def run_import(path: Path, env: dict[str, str]) -> tuple[float, float]:
    """One `pilote import` pinned to one core: the import's own seconds, wall and CPU."""
    command = ["taskset", "-c", "0", str(PILOTE), "import", str(path), "--json", "--no-enrich"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    summary = json.loads(done.stdout)["imports"][0]
    assert summary["new"] > 0, summary
    return float(summary["seconds"]), float(summary["cpu_seconds"])


def sqlite_import(path: Path) -> tuple[float, float]:
    """Into a fresh embedded store."""
    with tempfile.TemporaryDirectory(prefix="pilote-bench-") as home:
        env = {**os.environ, "PILOTE_HOME": home}
        env.pop("PILOTE_DATABASE_URL", None)
        return run_import(path, env)


def postgres_import(path: Path, template: str, name: str) -> tuple[float, float]:
    """Into a fresh database of a local PostgreSQL server with durable settings."""
    url = pgserver.create_database(template, name)
    try:
        return run_import(path, {**os.environ, "PILOTE_DATABASE_URL": url})
    finally:
        pgserver.drop_database(template, name)


def measure(
    lines: list[bytes], sizes: list[int], repeat: int, template: str | None, name: str = "demo"
) -> list[dict[str, object]]:
    """Runs alternate between the two orders, so a noisy neighbour hurts both alike."""
    results = []
    for size in sizes:
        paths = files(lines, size, name)
        runs: dict[str, list[tuple[float, float]]] = {order: [] for order in paths}
        for number in range(repeat):
            for order, path in paths.items():
                if template is None:
                    runs[order].append(sqlite_import(path))
                else:
                    runs[order].append(postgres_import(path, template, f"bench_linking_{number}"))
        results.append({"file": f"{name}, {size:,}", "runs": runs})
    return results


def table(database: str, results: list[dict[str, object]]) -> str:
    """Markdown rows: messages, then for each order its runs and their median (wall, and CPU on SQLite), and
    the ratio of the medians, newest first over oldest first."""
    cpu = database == "SQLite"
    lines = [f"| {database}: file, messages | oldest first s (runs) | median | newest first s (runs) | median | ratio |"
             + (" CPU s oldest / newest (medians) | CPU ratio |" if cpu else ""),
             "|---:|---|---:|---|---:|---:|" + ("---:|---:|" if cpu else "")]  # fmt: skip
    for result in results:
        runs = result["runs"]
        assert isinstance(runs, dict)
        oldest, newest = runs["oldest first"], runs["newest first"]
        low, high = statistics.median(s for s, _ in oldest), statistics.median(s for s, _ in newest)
        line = (f"| {result['file']} | {' / '.join(f'{s:.2f}' for s, _ in oldest)} | {low:.2f} "
                f"| {' / '.join(f'{s:.2f}' for s, _ in newest)} | {high:.2f} | {high / low:.2f} |")  # fmt: skip
        if cpu:
            low_cpu, high_cpu = statistics.median(c for _, c in oldest), statistics.median(c for _, c in newest)
            line += f" {low_cpu:.2f} / {high_cpu:.2f} | {high_cpu / low_cpu:.2f} |"
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", help="demo messages per file (default: 29,000, 58,000, all)")
    parser.add_argument("--chains", type=int, nargs="*", default=[], help="replies in one chain, per file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", action="store_true", help="also import into PostgreSQL")
    args = parser.parse_args()
    lines = demo_export() if args.sizes != [] else []
    inputs = {
        "demo": (lines, [29_000, 58_000, len(lines)] if args.sizes is None else args.sizes),
        "chain": (chain(max(args.chains, default=0)), [1 + n for n in args.chains]),  # the post and its replies
    }

    def everything(template: str | None) -> list[dict[str, object]]:
        return [
            row for name, (got, sizes) in inputs.items() for row in measure(got, sizes, args.repeat, template, name)
        ]

    print(table("SQLite", everything(None)), flush=True)
    bin_dir = pgserver.find_bin()
    if args.postgres and bin_dir is not None:
        with pgserver.running(bin_dir, durable=True) as template:
            print(table("PostgreSQL", everything(template)))


if __name__ == "__main__":
    main()
