from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sqlalchemy import Engine, insert, select
from typer.testing import CliRunner

from pilote import enrich
from pilote.cli import app
from pilote.enrich import classifiers, finetune
from pilote.enrich.heads import Head
from pilote.enrich.pipeline import run
from pilote.errors import Invalid
from pilote.imports import import_file
from pilote.models import Label, Message, Workspace, WorkspaceModel
from pilote.simulate import simulate

END = datetime(2026, 6, 1, tzinfo=UTC)
SEED = 7


def community(engine: Engine, slug: str = "velo") -> tuple[int, list[tuple[int, dict[str, Any]]]]:
    """A small simulated community: its id and each message's id with its ground truth, in a fixed order."""
    simulate(engine, workspace=slug, days=21, members=300, seed=SEED, end=END)
    with engine.connect() as conn:
        workspace_id = conn.execute(select(Workspace.id).where(Workspace.slug == slug)).scalar_one()
        rows = conn.execute(select(Message.id, Message.raw).where(Message.workspace_id == workspace_id)).all()
    truths = sorted((row[0], json.loads(row[1])["truth"]) for row in rows)
    return workspace_id, truths


def label(engine: Engine, pairs: list[tuple[int, str]], name: str = "sentiment") -> None:
    with engine.begin() as conn:
        conn.execute(insert(Label), [{"message_id": i, "name": name, "value": v, "origin": "user",
                                                 "created_at": END} for i, v in pairs])  # fmt: skip


def sentiments(engine: Engine, ids: list[int]) -> list[str | None]:
    with engine.connect() as conn:
        found = dict(conn.execute(select(Message.id, Message.sentiment).where(Message.id.in_(ids))).all())
    return [found[i] for i in ids]


def test_labels_of_the_team_improve_its_held_out_sentiment_by_a_clear_margin(sqlite_engine: Engine) -> None:
    workspace_id, truths = community(sqlite_engine)
    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(truths))
    taught = [truths[i] for i in order[:400]]
    held = [truths[i] for i in order[400:]]
    heads = enrich.get(["sentiment"])
    run(sqlite_engine, heads, workspace_id=workspace_id)
    expected = [t["sentiment"] for _, t in held]
    before = f1_score(expected, sentiments(sqlite_engine, [i for i, _ in held]), average="macro")

    label(sqlite_engine, [(i, t["sentiment"]) for i, t in taught])
    with sqlite_engine.begin() as conn:
        tuned = finetune.train_workspace(conn, workspace_id, "sentiment", classifiers.head("sentiment"))
    run(sqlite_engine, heads, workspace_id=workspace_id, force=True)
    after = f1_score(expected, sentiments(sqlite_engine, [i for i, _ in held]), average="macro")

    assert tuned.labels == 400
    assert len(held) > 300
    assert after >= before + 0.10, (before, after)


def test_a_tuned_head_serves_its_workspace_only(sqlite_engine: Engine) -> None:
    workspace_id, truths = community(sqlite_engine)
    other_id, _ = community(sqlite_engine, "other")
    label(sqlite_engine, [(i, "spam" if t["spam"] else "ham") for i, t in truths[:300]], "spam")
    with sqlite_engine.begin() as conn:
        finetune.train_workspace(conn, workspace_id, "spam", classifiers.head("spam"))
        stored = conn.execute(select(WorkspaceModel.workspace_id, WorkspaceModel.task, WorkspaceModel.labels)).all()
        ids = [i for i, _ in truths[:3]]
        texts = classifiers.prepare("spam", conn, [classifiers_text(i) for i in ids])
        other = conn.execute(select(Message.id).where(Message.workspace_id == other_id).limit(3)).scalars().all()
        others = classifiers.prepare("spam", conn, [classifiers_text(i) for i in other])
    assert stored == [(workspace_id, "spam", 300)]
    assert all(isinstance(t.tuned, Head) and t.tuned.meta["tuned"]["labels"] == 300 for t in texts)
    assert all(t.tuned is None for t in others)


def classifiers_text(message_id: int) -> enrich.base.Text:
    return enrich.base.Text(id=message_id, kind="comment", title=None, text="")


def test_too_few_labels_are_refused_with_what_to_do(sqlite_engine: Engine) -> None:
    workspace_id, truths = community(sqlite_engine)
    label(sqlite_engine, [(truths[0][0], "positive"), (truths[1][0], "negative")])
    with sqlite_engine.begin() as conn, pytest.raises(Invalid, match=r"at least 2 labels of each class.*neutral"):
        finetune.train_workspace(conn, workspace_id, "sentiment", classifiers.head("sentiment"))
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(WorkspaceModel)).all() == []


def test_the_cli_fine_tunes_a_workspace_and_says_what_it_skipped(
    sqlite_engine: Engine, env_for: Any, sqlite_settings: Any, tmp_path: Path
) -> None:
    _, truths = community(sqlite_engine)
    label(sqlite_engine, [(i, "spam" if t["spam"] else "ham") for i, t in truths[:200]], "spam")
    env_for(sqlite_settings)
    result = CliRunner().invoke(app, ["models", "train", "--workspace", "velo"])
    assert result.exit_code == 0, result.output
    assert "spam fine-tuned for velo on 200 labels" in result.stdout
    assert "sentiment: skipped" in result.stderr
    alone = CliRunner().invoke(app, ["models", "train", "--workspace", "velo", "--task", "intent"])
    assert alone.exit_code == 1
    assert "label more in the cockpit" in alone.output


def test_a_blog_s_moderation_history_teaches_spam_and_a_person_s_label_wins_over_it(sqlite_engine: Engine) -> None:
    blogs = Path(__file__).parent / "data" / "blogs"
    for blog in sorted(blogs.glob("*.xml")):
        import_file(sqlite_engine, blog)
    with sqlite_engine.connect() as conn:
        workspace_id = conn.execute(select(Workspace.id)).scalar_one()
        ids, _, labels = finetune.labelled(conn, workspace_id, "spam")
        statuses = dict(conn.execute(select(Label.message_id, Label.value).where(Label.name == "status")).all())
    assert {statuses[i] for i, v in zip(ids, labels, strict=True) if v == "spam"} == {"spam"}
    assert {statuses[i] for i, v in zip(ids, labels, strict=True) if v == "ham"} == {"approved"}
    assert "trash" in statuses.values()
    assert not any(statuses.get(i) == "trash" for i in ids)  # trash is not spam, nor does it teach ham
    spam_id = next(i for i, v in zip(ids, labels, strict=True) if v == "spam")
    label(sqlite_engine, [(spam_id, "ham")], "spam")
    with sqlite_engine.begin() as conn:
        again = dict(zip(*finetune.labelled(conn, workspace_id, "spam")[::2], strict=True))
        done = finetune.train_workspace(conn, workspace_id, "spam", classifiers.head("spam"))
    assert again[spam_id] == "ham"
    assert done.per_class == {"ham": labels.count("ham") + 1, "spam": labels.count("spam") - 1}
