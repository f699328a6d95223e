"""The default analyzers' outputs on a fixed set of messages, against digests recorded once: a change that only
makes the pipeline faster must leave every label, score and reason as it was.

The messages are the team's own: a simulated demo community (fixed seed and window) and the blog exports
in tests/data/blogs. Each analyzer's outputs (its columns and its part of the enrichment row, every message in
id order) hash to one digest, recorded in tests/data/enrich_golden.json with the analyzers' versions. A change
of version is a change of judgement on purpose (and a change of the simulator or of the blogs, a change of the
messages): then record the digests again with
`PILOTE_RECORD_GOLDEN=1 pytest tests/test_enrich_golden.py -k sqlite`, and say why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote import enrich
from pilote.enrich.pipeline import run
from pilote.imports import import_file
from pilote.models import Enrichment, Message, Workspace, json_object
from pilote.simulate import simulate

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "enrich_golden.json"
END = datetime(2026, 3, 1, tzinfo=UTC)
# Each analyzer's message columns; its extras are its key in the enrichment row's value.
COLUMNS = {
    "language": ("language",),
    "keyphrases": (),
    "sentiment": ("sentiment", "sentiment_score"),
    "spam": ("spam_probability",),
    "toxicity": ("toxicity_probability",),
    "intent": ("intent",),
}


def analysed(engine: Engine, workers: int) -> tuple[dict[str, str], dict[str, str], int]:
    """Every default analyzer run again on every message: the versions, a digest per analyzer, how many messages."""
    analyzers = enrich.get(None)
    with Session(engine) as session:
        spaces = session.scalars(select(Workspace.id).order_by(Workspace.id)).all()
    for space in spaces:
        run(engine, analyzers, workspace_id=space, force=True, workers=workers)
    names = [c for columns in COLUMNS.values() for c in columns]
    query = (
        select(Message.id, Enrichment.value, *(getattr(Message, c) for c in names))
        .join(Enrichment, Enrichment.message_id == Message.id)
        .order_by(Message.id)
    )
    outputs: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    with Session(engine) as session:
        rows = session.execute(query).all()
    for message_id, value, *values in rows:
        extras, by_column = json_object(value), dict(zip(names, values, strict=True))
        for name, columns in COLUMNS.items():
            outputs[name].append([message_id, [by_column[c] for c in columns], extras.get(name)])
    digests = {
        name: hashlib.sha256(orjson.dumps(found, option=orjson.OPT_SORT_KEYS)).hexdigest()
        for name, found in outputs.items()
    }
    return {a.name: a.current_version() for a in analyzers}, digests, len(rows)


@pytest.fixture
def community(engine: Engine) -> Engine:
    """The demo (fixed seed and window) and, beside it, the team's blogs."""
    simulate(engine, workspace="demo", days=21, members=2000, seed=7, end=END)
    for path in sorted((DATA / "blogs").glob("*.xml")):
        import_file(engine, path, workspace="demo", analyse=lambda _: None)
    return engine


def test_the_analyzers_judge_the_team_s_messages_as_recorded(community: Engine) -> None:
    versions, digests, messages = analysed(community, workers=1)
    if os.environ.get("PILOTE_RECORD_GOLDEN"):
        recorded = {"versions": versions, "messages": messages, "digests": digests}
        GOLDEN.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    assert versions == golden["versions"], "an analyzer's version changed: record the digests again (docstring)"
    assert messages == golden["messages"]
    changed = [name for name in COLUMNS if digests[name] != golden["digests"][name]]
    assert not changed, f"outputs changed for {changed} with the same versions"
