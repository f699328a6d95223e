"""Classifier heads: the cost of each part per message, on one core, in chunks of 2,000 demo messages.

Shared featurisation (text block, author block), then each head's products on the shared features, text
only and with sentence vectors (VADER's lexicon scores, which the sentiment head reads, computed beforehand and
measured on their own); the sentence encoder alone. Medians of several repetitions; prints a
Markdown table for docs/benchmarks.md.

    .venv/bin/python bench/models.py            # 4,000 messages, 5 repetitions
    .venv/bin/python bench/models.py --quick    # 2,000 messages, 3 repetitions
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, select
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from pilote.db import migrate
from pilote.enrich.classifiers import head
from pilote.enrich.embeddings import embed
from pilote.enrich.features import Batch, Sample
from pilote.models import Author, Message
from pilote.simulate import simulate

CHUNK = 2000
TASKS = ("sentiment", "spam", "toxicity", "intent")


def demo_samples(count: int) -> list[Sample]:
    """Messages of the simulated demo community, as the heads read them."""
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        migrate(engine)
        simulate(engine, workspace="bench", days=60, members=2000, seed=1, end=datetime(2026, 6, 1, tzinfo=UTC))
        query = (
            select(Message.title, Message.text, Author.display_name, Author.profile_url)
            .outerjoin(Author, Author.id == Message.author_id)
            .order_by(Message.id)
            .limit(count)
        )
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        engine.dispose()
    return [Sample(f"{r[0] or ''} {r[1]}".strip(), r[2] or "", r[3] or "") for r in rows]


def per_message(action: Callable[[list[Sample]], object], samples: list[Sample], repeats: int) -> float:
    """Median microseconds per message of `action` over chunks of CHUNK samples."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        for start in range(0, len(samples), CHUNK):
            action(samples[start : start + CHUNK])
        timings.append((time.perf_counter() - started) / len(samples) * 1e6)
    return statistics.median(timings)


def shared(chunk: list[Sample]) -> Batch:
    """Both feature blocks of a chunk, as the four heads share them."""
    batch = Batch(chunk)
    _ = batch.text, batch.author
    return batch


def head_alone(task: str, samples: list[Sample], vectors: np.ndarray | None, repeats: int) -> float:
    """Median microseconds per message of one head's products, the shared features being ready."""
    model = head(task)
    timings = []
    for _ in range(repeats):
        spent = 0.0
        for start in range(0, len(samples), CHUNK):
            batch = shared(samples[start : start + CHUNK])
            batch.vectors = None if vectors is None else vectors[start : start + CHUNK]
            _ = batch.lexicon if model.text_lexicon or (vectors is not None and model.lexicon) else None
            began = time.perf_counter()
            model.predict_proba(batch)
            spent += time.perf_counter() - began
        timings.append(spent / len(samples) * 1e6)
    return statistics.median(timings)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    samples, repeats = demo_samples(2000 if quick else 4000), 3 if quick else 5
    vectors = embed([s.text for s in samples])
    rows = [("features shared by the four heads (text + author blocks)", per_message(shared, samples, repeats))]
    rows += [(f"{task} head on the shared features", head_alone(task, samples, None, repeats)) for task in TASKS]
    rows += [(f"{task} head, + vectors", head_alone(task, samples, vectors, repeats)) for task in TASKS]
    rows.append(("VADER lexicon scores (sentiment)", per_message(lambda c: Batch(c).lexicon, samples, 1)))
    rows.append(("sentence encoder (USE, 1 thread)", per_message(lambda c: embed([s.text for s in c]), samples, 1)))
    print(f"{len(samples):,} demo messages, chunks of {CHUNK:,}, one core\n")
    print("| part | µs per message | messages/s |\n|---|---:|---:|")
    for label, micro in rows:
        print(f"| {label} | {micro:,.1f} | {1e6 / micro:,.0f} |")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()
