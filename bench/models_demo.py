"""The heads on the demo community's ground truth (messages' raw["truth"], never used for training).

Simulates the demo (seed 1, 90 days, 5,000 members) into a temporary store, runs the four heads (first
text only, then after the embeddings analyzer) and compares each column with the simulator's truth.

    .venv/bin/python bench/models_demo.py            # the full demo (58,379 messages)
    .venv/bin/python bench/models_demo.py --quick    # 30 days, 1,000 members
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score
from sqlalchemy import Engine, create_engine, select

from pilote import enrich
from pilote.db import migrate
from pilote.enrich.pipeline import run
from pilote.models import Message, Workspace
from pilote.simulate import simulate

HEADS = ["sentiment", "spam", "toxicity", "intent"]
# The demo's finer intents, mapped to the heads' five (its "answer" and "rude" have no counterpart).
INTENTS = {"question": "question", "complaint": "complaint", "praise": "praise", "suggestion": "suggestion",
           "criticism": "complaint", "same_problem": "complaint", "thanks": "praise", "chitchat": "other",
           "agree": "other", "announcement": "other"}  # fmt: skip
# Rude demo messages that call people names: toxic by data/README.md's definition (the rest is criticism).
NAME_CALLING = re.compile(r"pathéti|pathetic|guignol|clown", re.IGNORECASE)


def scores(engine: Engine) -> dict[str, float]:
    """Macro-F1 and flag rates of the stored columns against the truth, in percent."""
    query = select(Message.raw, Message.text, Message.sentiment, Message.spam_probability,
                   Message.toxicity_probability, Message.intent)  # fmt: skip
    with engine.connect() as conn:
        rows = [(json.loads(r[0])["truth"], r[1], r[2], r[3] or 0.0, r[4] or 0.0, r[5]) for r in conn.execute(query)]
    truth_spam, said_spam = [r[0]["spam"] for r in rows], [r[3] >= 0.5 for r in rows]
    toxic = [r for r in rows if r[0]["toxic"]]
    calling = [r for r in toxic if NAME_CALLING.search(r[1])]
    intents = [(INTENTS[r[0]["intent"]], r[5]) for r in rows if r[0]["intent"] in INTENTS]
    return {
        "sentiment macro-F1": _f1([r[0]["sentiment"] for r in rows], [r[2] for r in rows]),
        "sentiment accuracy %": _rate([r[0]["sentiment"] == r[2] for r in rows]),
        "spam macro-F1": _f1(truth_spam, said_spam),
        "genuine messages flagged as spam %": _rate([s for t, s in zip(truth_spam, said_spam, strict=True) if not t]),
        "spam caught %": _rate([s for t, s in zip(truth_spam, said_spam, strict=True) if t]),
        "toxicity macro-F1": _f1([r[0]["toxic"] for r in rows], [r[4] >= 0.5 for r in rows]),
        "non-toxic messages flagged %": _rate([r[4] >= 0.5 for r in rows if not r[0]["toxic"]]),
        "rude messages flagged %": _rate([r[4] >= 0.5 for r in toxic]),
        "name-calling messages flagged %": _rate([r[4] >= 0.5 for r in calling]),
        "intent macro-F1 (mapped)": _f1([a for a, _ in intents], [b for _, b in intents]),
    }


def _f1(truth: list[Any], said: list[Any]) -> float:
    return round(100 * float(f1_score(truth, said, average="macro")), 1)


def _rate(flags: list[bool]) -> float:
    return round(100 * sum(flags) / max(1, len(flags)), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    days, members = (30, 1000) if quick else (90, 5000)
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'demo.db'}")
        migrate(engine)
        simulate(engine, workspace="demo", days=days, members=members, seed=1, end=datetime(2026, 6, 1, tzinfo=UTC))
        with engine.connect() as conn:
            workspace_id = conn.execute(select(Workspace.id)).scalar_one()
        results = {}
        for label, names in (("text only", HEADS), ("with embeddings", ["embeddings", *HEADS])):
            report = run(engine, enrich.get(names, vectors="embeddings" in names), workspace_id=workspace_id,
                         force=True)  # fmt: skip
            results[label] = scores(engine)
            speed = {k: round(report.analysed[k] / report.seconds[k]) for k in report.analysed if report.seconds[k]}
            print(f"{label}: {sum(report.analysed.values()) // len(names):,} messages, {report.elapsed:.1f}s, "
                  f"messages/s of each analyzer's own time: {speed}")  # fmt: skip
        engine.dispose()
    print(f"\ndemo seed 1, {days} days, {members:,} members\n")
    print("| measure | text only | with embeddings |\n|---|---:|---:|")
    for measure in results["text only"]:
        print(f"| {measure} | {results['text only'][measure]} | {results['with embeddings'][measure]} |")


if __name__ == "__main__":
    main()
