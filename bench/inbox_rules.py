"""Inbox rules at scale: 50 rules evaluated on new messages, and a rule's 30-day preview on 1,000,000 messages.

Uses the synthetic year of bench/cockpit.py (bulk-written, 1M messages by default, built once under bench/out).

1. Evaluation: the intake (`inbox.intake.take_new`) walks the last 14 days of the store (about 38,000 messages at
   1M) with 50 rules (keywords, author levels, reasons, judgements; no `stop`, so every rule is tried on every
   arrival); the time spent in the rules' hook (reading texts and author levels for each batch, compiling, testing,
   acting) gives messages per second. The same walk without rules is timed too. The inbox is emptied between runs.
2. Preview: `inbox.rules.preview` over the last 30 days for a few rules, median of `--runs`.

    .venv/bin/python bench/inbox_rules.py                   # 1M messages, 5 runs
    .venv/bin/python bench/inbox_rules.py --messages 100000 --runs 3
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cockpit import END, OUT, WORDS_EN, WORDS_FR, Builder
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.inbox import conditions, effects, intake, rules, sla
from pilote.inbox.items import COMMAND_LINE
from pilote.models import InboxItem, InboxRule, Message, WorkspaceSetting


def fifty_rules() -> list[dict[str, Any]]:
    """50 rules as a team would write them: a quarter on keywords, some on authors, the rest on judgements."""
    found: list[dict[str, Any]] = []
    for n in range(50):
        words = [WORDS_FR[n % len(WORDS_FR)], WORDS_EN[n % len(WORDS_EN)], WORDS_FR[(n * 7) % len(WORDS_FR)]]
        conditions: list[dict[str, Any]] = [
            [{"key": "keywords", "any": words}],
            [{"key": "intent", "in": ["complaint", "question"]}, {"key": "sentiment", "in": ["negative"]}],
            [{"key": "author", "in": ["new"]}, {"key": "language", "in": ["fr"]}],
            [{"key": "spam", "min": 0.3}, {"key": "kind", "in": ["mention", "comment"]}],
            [{"any": [{"key": "toxicity", "min": 0.2}, {"key": "reason", "in": ["complaint"]}]},
             {"key": "channel", "in": ["social"], "not": True}],
        ][n % 5]  # fmt: skip
        actions = [{"type": "tag", "tags": [f"rule-{n}"]}, {"type": "priority", "priority": ("low", "high")[n % 2]}]
        found.append({"name": f"Rule {n}", "conditions": conditions, "actions": actions})
    return found


def store(messages: int) -> tuple[Engine, int]:
    home = OUT / f"rules-sqlite-{messages}"
    home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(get_settings(home=home, database_url=None))
    migrate(engine)
    with engine.connect() as conn:
        existing = conn.execute(select(func.count()).select_from(Message)).scalar_one()
    if not existing:
        Builder(engine, messages).build()
    with engine.connect() as conn:
        workspace_id = conn.execute(text("SELECT id FROM workspace WHERE slug = 'bench'")).scalar_one()
    return engine, workspace_id


def reset(engine: Engine, workspace_id: int) -> None:
    """An empty inbox whose walk starts again at the beginning."""
    with engine.begin() as conn:
        conn.execute(delete(InboxItem).where(InboxItem.workspace_id == workspace_id))
        conn.execute(delete(WorkspaceSetting).where(WorkspaceSetting.workspace_id == workspace_id,
                                                    WorkspaceSetting.name == intake.CURSOR))  # fmt: skip


def evaluation(engine: Engine, workspace_id: int, runs: int) -> None:
    with Session(engine) as session, session.begin():
        session.execute(delete(InboxRule).where(InboxRule.workspace_id == workspace_id))
        for spec in fifty_rules():
            rules.create(session, workspace_id, spec, COMMAND_LINE)
    spent: list[float] = []
    writes: list[float] = []
    arrivals = [0]

    def timed(conn: Connection, space: int, batch: list[intake.Arrival]) -> Callable[[], None] | None:
        started = time.perf_counter()
        after = rules.apply(conn, space, batch)
        arrivals[0] += len(batch)
        spent[-1] += time.perf_counter() - started
        if after is None:
            return None

        def then() -> None:
            begun = time.perf_counter()
            after()
            writes[-1] += time.perf_counter() - begun

        return then

    captured: list[list[tuple[Any, dict[str, Any]]]] = []

    def capture(conn: Connection, space: int, batch: list[intake.Arrival]) -> None:
        captured.append([(a.message, dict(a.item)) for a in batch])

    rates, walks, bare, pure = [], [], [], []
    for _ in range(runs):
        reset(engine, workspace_id)
        spent.append(0.0)
        writes.append(0.0)
        arrivals[0] = 0
        started = time.perf_counter()
        report = intake.take_new(engine, workspace_id, now=END, hook=timed)
        walks.append(time.perf_counter() - started)
        rates.append(arrivals[0] / spent[-1])
        reset(engine, workspace_id)
        captured.clear()
        started = time.perf_counter()
        intake.take_new(engine, workspace_id, now=END, hook=capture)
        bare.append(time.perf_counter() - started)
        pure.append(replay(engine, workspace_id, captured))
    counted = f"{report.read:,} messages read, {arrivals[0]:,} arrivals"
    print(f"\n## Rules on new messages: 50 rules, {counted}, {runs} runs\n")
    print("| measure | median | runs |\n|---|---:|---|")
    rows = (
        ("rules' hook (reads, compiling, tests, actions), arrivals/s", rates, ",.0f"),
        ("the rules alone (compiling, tests, actions), arrivals/s", pure, ",.0f"),
        ("the rules' writes after the items (tags, events), s", writes, ".2f"),
        ("intake walk with the rules, s", walks, ".2f"),
        ("intake walk without rules, s", bare, ".2f"),
    )
    for name, found, shape in rows:
        print(f"| {name} | {statistics.median(found):{shape}} | {', '.join(format(v, shape) for v in found)} |")
    reset(engine, workspace_id)


def replay(engine: Engine, workspace_id: int, batches: list[list[tuple[Any, dict[str, Any]]]]) -> float:
    """Arrivals per second of the rules alone on the captured batches: compiled once per batch, every rule tried
    on every arrival, the actions done to copies of the items; the batch's reads are done before the clock."""
    count, spent = 0, 0.0
    with engine.connect() as conn:
        policy = sla.get(conn, workspace_id)
        for batch in batches:
            rows = [row for row, _ in batch]
            specs, _ = rules.load(conn, workspace_id)
            text = effects.texts(conn, [r.id for r in rows])
            known = effects.levels(conn, rows, top=conditions.asks_top(specs))
            takers = effects.Takers.read(conn, workspace_id, set())
            started = time.perf_counter()
            compiled = [(i, conditions.compile_rule(spec), spec) for i, spec in enumerate(specs)]
            for row, item in batch:
                reasons = frozenset(r for r in item["reasons"].split(",") if r)
                facts = effects.facts_of(row, reasons, text.get(row.id, ""), effects.level_of(row, known))
                done = effects.Effects(dict(item), row.id)
                for number, test, spec in compiled:
                    if test(facts):
                        for action in spec.actions:
                            effects.act(action, done, number, takers=takers, policy=policy, now=END)
            spent += time.perf_counter() - started
            count += len(batch)
    return count / spent


PREVIEWS: dict[str, dict[str, Any]] = {
    "complaints about a refund (intent in SQL, keywords in Python)": {
        "conditions": [{"key": "intent", "in": ["complaint"]}, {"key": "keywords", "any": ["remboursement", "refund"]}],
    },
    "negative French messages from new authors": {
        "conditions": [
            {"key": "sentiment", "in": ["negative"]},
            {"key": "language", "in": ["fr"]},
            {"key": "author", "in": ["new"]},
        ],
    },
    "likely spam (probability in SQL)": {"conditions": [{"key": "spam", "min": 0.5}]},
    "keywords only (every message of the period read in Python)": {
        "conditions": [{"key": "keywords", "any": ["livraison", "delivery", "retard", "late"]}],
    },
}


def preview(engine: Engine, workspace_id: int, runs: int) -> None:
    with engine.connect() as conn:
        period = conn.execute(select(func.count()).select_from(Message).where(
            Message.workspace_id == workspace_id, Message.created_at >= END - timedelta(days=30)
        )).scalar_one()  # fmt: skip
    print(f"\n## Preview of a rule over 30 days ({period:,} messages in the period), median of {runs} runs\n")
    print("| rule | matched | tried in Python | median s | runs |\n|---|---:|---:|---:|---|")
    for name, given in PREVIEWS.items():
        spec = {"name": name, "actions": [{"type": "tag", "tags": ["x"]}, {"type": "priority", "priority": "high"}]}
        times = []
        for _ in range(runs):
            with Session(engine) as session:
                started = time.perf_counter()
                shown = rules.preview(session, workspace_id, spec | given, days=30, now=END)
                times.append(time.perf_counter() - started)
        print(f"| {name} | {shown.matched:,} | {shown.read:,} | {statistics.median(times):.2f} | "
              f"{', '.join(f'{t:.2f}' for t in times)} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine, workspace_id = store(args.messages)
    print(f"{args.messages:,} messages in SQLite; Python {platform.python_version()}, {platform.machine()}")
    evaluation(engine, workspace_id, args.runs)
    preview(engine, workspace_id, args.runs)
    engine.dispose()


if __name__ == "__main__":
    main()
