"""VADER's scores: the package's `polarity_scores` against ours (`pilote.enrich.vader`), in turn, on the same texts.

Times the sentiment head's lexicon part (`features.lexicon_scores`: which texts VADER is asked about, then its
scores) over the demo store's messages (bench/enrich.py's store) and over the shared corpora's tweets and
comments, once with each implementation per round, and checks that both give the same scores. Prints
microseconds per message (medians of the rounds) and their ratio.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python bench/vader.py --rounds 5
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from pilote.enrich import features, vader

sys.path.insert(0, str(Path(__file__).resolve().parent))

import enrich  # the demo store, beside this file


def corpora(shared: Path) -> list[str]:
    texts: list[str] = []
    for language in ("english", "french"):
        texts += (shared / "sentiment_tweets" / language / "train_text.txt").read_text(encoding="utf-8").splitlines()
    for path in sorted((shared / "youtube_spam").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            texts += [row["CONTENT"] for row in csv.DictReader(handle)]
    with (shared / "reddit" / "announcements_n49rw_comments.csv").open(encoding="utf-8", newline="") as handle:
        texts += [row["body"] for row in csv.DictReader(handle)]
    return texts


def timed(texts: list[str], rounds: int) -> tuple[float, float]:
    """Median µs per message of the lexicon part with the package's VADER and with ours, in turn."""
    ours, package = vader.polarity_scores, vader.analyzer().polarity_scores
    times: dict[str, list[float]] = {"package": [], "ours": []}
    found: dict[str, np.ndarray] = {}
    for _ in range(rounds):
        for name, scores in (("package", package), ("ours", ours)):
            vader.polarity_scores = scores
            started = time.perf_counter()
            found[name] = features.lexicon_scores(texts)
            times[name].append((time.perf_counter() - started) / len(texts) * 1e6)
    vader.polarity_scores = ours
    assert (found["package"] == found["ours"]).all(), "the two implementations disagree"
    return statistics.median(times["package"]), statistics.median(times["ours"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    shared = Path(os.environ.get("PILOTE_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    with sqlite3.connect(enrich.store() / "pilote.db") as db:
        demo = [text or "" for (text,) in db.execute("SELECT text FROM message")]
    print("| texts | messages | package µs/message | ours µs/message | ratio |")
    print("|---|---:|---:|---:|---:|")
    for name, texts in (("demo store", demo), ("shared tweets, YouTube and Reddit comments", corpora(shared))):
        package, ours = timed(texts, args.rounds)
        print(f"| {name} | {len(texts):,} | {package:.1f} | {ours:.1f} | {package / ours:.2f} |")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
