"""Enrichment benchmarks on the demo community: each analyzer alone, the default pipeline, all together.

    .venv/bin/python bench/enrich.py                 # full run, prints a Markdown table
    .venv/bin/python bench/enrich.py --only language --only keyphrases --workers 2

The store is filled once by `pilote simulate --workspace demo` (58,379 messages) and kept in
bench/out/enrich/. Before each run every enrichment is wiped (side table and hot columns), so each run
analyses every message as if it were new; the run itself is a real `pilote enrich --analyzer ... --json`
process under /usr/bin/time -v. "rate" divides the messages by the pipeline's own elapsed time (without
interpreter start-up); "per CPU-s" divides them by the user + system CPU seconds of the command and its
workers after the imports, which the neighbours on a shared machine disturb less than the wall clock.
Peak memory: the largest process's RSS (time -v), and the sum of the proportional set sizes (PSS) of
the parent and its workers, sampled from /proc every 500 ms (pages the workers share with the parent, such
as the models loaded before forking, count once): the machine's real memory use.
By default the rollup hooks that the dashboards add (each chunk notes its hours, the run recounts them once
at the end) are left out (`--with-rollups` keeps them): their cost is the dashboards', measured separately.
`--history-ratio` runs each row twice in turn, with and without the spam judgement's look-ups of the store's
history (`pilote.traces`: a first comment, bursts), and prints the ratio of the median rates.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pilote import enrich

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "enrich"
PYTHON = sys.executable
# Reading /proc/*/smaps_rollup walks each process's page tables: every 50 ms it slowed the measured run by
# ~15 % (993 against 1,155 messages/s with embeddings, same peak). Memory plateaus once the models are in.
PSS_EVERY = 0.5
HOT = ("language", "sentiment", "sentiment_score", "spam_probability", "toxicity_probability", "intent")
RUNS = {
    "language": ["language"],
    "keyphrases": ["keyphrases"],
    "sentiment": ["sentiment"],
    "spam": ["spam"],
    "toxicity": ["toxicity"],
    "intent": ["intent"],
    "embeddings": ["embeddings"],
    "default (language + keyphrases)": ["language", "keyphrases"],
    "all without embeddings": ["language", "keyphrases", "sentiment", "spam", "toxicity", "intent"],
    "all with embeddings": ["language", "keyphrases", "embeddings", "sentiment", "spam", "toxicity", "intent"],
}
CHILD = """
import resource, sys
from pilote import rollups
from pilote.cli import app

def cpu():
    mine, workers = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + workers.ru_utime + workers.ru_stime

hooks = sys.argv[1].split("+")
if "no-rollups" in hooks:
    rollups.mark = rollups.mark_hours = lambda conn, ids: None
    rollups.refresh_dirty = lambda conn: 0
if "no-history" in hooks:  # the spam analyzer as before the store's history (pilote.traces): its cost, compared
    from dataclasses import replace
    from functools import partial
    from pilote import enrich
    from pilote.enrich import classifiers
    before = partial(classifiers.with_tuned, "spam")
    enrich.ANALYZERS = tuple(replace(a, prepare=before) if a.name == "spam" else a for a in enrich.ANALYZERS)
started = cpu()
try:
    app(sys.argv[2:], prog_name="pilote")
finally:
    print(f"enrich CPU seconds: {cpu() - started:.3f}", file=sys.stderr)
"""


def store() -> Path:
    """The demo store, simulated once."""
    home = OUT / "home"
    if not (home / "pilote.db").exists():
        OUT.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PILOTE_HOME": str(home)}
        subprocess.run([PYTHON, "-m", "pilote", "simulate", "--workspace", "demo"], env=env, check=True)
    return home


def wipe(home: Path) -> None:
    """Forget every analysis, so that the next run analyses every message."""
    with sqlite3.connect(home / "pilote.db") as db:
        db.execute("DELETE FROM enrichment")
        db.execute(f"UPDATE message SET {', '.join(f'{c} = NULL' for c in HOT)}")
        for table in ("embedding",):
            if db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone():
                db.execute(f"DELETE FROM {table}")


def _tree_pss_kb(pid: int) -> int:
    """Proportional memory of a process and its descendants, in KB, from /proc: shared pages count once."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text()
            total += int(re.search(r"^Pss:\s+(\d+)", rollup, re.MULTILINE).group(1))  # type: ignore[union-attr]
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, AttributeError):
            continue
    return total


def run(home: Path, analyzers: list[str], workers: int, rollups: bool, history: bool = True) -> dict[str, float]:
    wipe(home)
    # The heads read the vectors where the run computes them, and only there (the `embeddings` setting).
    env = {**os.environ, "PILOTE_HOME": str(home), "PILOTE_EMBEDDINGS": str("embeddings" in analyzers).lower()}
    hook = ("rollups" if rollups else "no-rollups") + ("" if history else "+no-history")
    command = ["/usr/bin/time", "-v", PYTHON, "-c", CHILD, hook, "enrich", "--json", "--workers", str(workers)]
    command += [a for name in analyzers for a in ("--analyzer", name)]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_pss_kb(process.pid))
        time.sleep(PSS_EVERY)
    out, err = process.communicate()
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(analyzers)} failed:\n{err[-3000:]}")
    summary = json.loads(out)
    messages = max(summary["analysed"].values())
    cpu = _field(err, "enrich CPU seconds")
    return {
        "messages": messages, "elapsed": summary["elapsed"], "wall": wall, "cpu": cpu,
        "rate": messages / summary["elapsed"], "per_cpu": messages / cpu,
        "rss": _field(err, "Maximum resident set size") / 1024, "tree": peak / 1024,
    }  # fmt: skip


def _field(report: str, name: str) -> float:
    found = re.search(rf"{re.escape(name)}[^:]*: ([\d.]+)", report)
    return float(found.group(1)) if found else 0.0


def _line(name: str, workers: int, r: dict[str, float]) -> str:
    return (f"| {name} | {workers} | {r['messages']:,.0f} | {r['rate']:,.0f} | {r['per_cpu']:,.0f} | "
            f"{r['elapsed']:.1f} | {r['wall']:.1f} | {r['rss']:.0f} / {r['tree']:.0f} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only these rows (repeatable)")
    parser.add_argument("--workers", type=int, action="append", help="worker counts to try (default 1 and 2)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row (the median is shown)")
    parser.add_argument("--with-rollups", action="store_true", help="keep the dashboards' rollup hook")
    parser.add_argument("--history-ratio", action="store_true", help="with and without the spam history, in turn")
    args = parser.parse_args()
    home = store()
    registered = {analyzer.name for analyzer in enrich.ANALYZERS}
    columns = "run | workers | messages | rate (msg/s) | per CPU-s | elapsed s | command s | peak MB (RSS max/PSS sum)"
    print(f"| {columns} |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, analyzers in RUNS.items():
        if (args.only and label not in args.only) or not set(analyzers) <= registered:
            continue
        for workers in args.workers or [1, 2]:
            kinds = (True, False) if args.history_ratio else (True,)
            results: dict[bool, list[dict[str, float]]] = {kind: [] for kind in kinds}
            for _ in range(args.repeat):
                for kind in kinds:  # in turn: a neighbour's load falls on both alike
                    results[kind].append(run(home, analyzers, workers, args.with_rollups, kind))
            rates = {}
            for kind, found in results.items():
                r = {key: statistics.median(x[key] for x in found) for key in found[0]}
                rates[kind] = r["rate"]
                name = label if not args.history_ratio else f"{label} ({'with' if kind else 'without'} history)"
                print(_line(name, workers, r), flush=True)
            if args.history_ratio:
                print(f"ratio with / without history, {label}, {workers} workers: {rates[True] / rates[False]:.3f}")


if __name__ == "__main__":
    main()
