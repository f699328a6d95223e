"""The facts a worker holds between refreshes of the kept reports (metrics.held), read again only where the store
changed, give the reports a whole read gives: after imports, a reply linked to a parent that came later, a
person's decision, a deletion, a moved date, messages older than the first; and a whole read where the rollups
cannot say what changed (another team)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from pilote import community, deletions, intake, metrics, rollups
from pilote.imports import import_file
from pilote.metrics import held, kept
from pilote.metrics.facts import Columns
from pilote.models import Message, Workspace
from pilote.simulate import simulate
from pilote.views import explorer

END = datetime(2026, 6, 1, tzinfo=UTC)


def refreshed(engine: Engine, workspace_id: int, until: datetime) -> held.Reading:
    """The kept periods' reports from the held facts, checked against a whole read of the store."""
    with Session(engine) as session:
        windows = [metrics.span(session, workspace_id, period=period, until=until) for period in kept.PERIODS]
        reading = held.Reading()
        found = [report.as_json() for report in metrics.reports(session, workspace_id, windows, read=reading)]
        whole = [report.as_json() for report in metrics.reports(session, workspace_id, windows)]
    assert found == whole
    reading.keep()
    return reading


def imported(engine: Engine, path: Path, records: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    import_file(engine, path, workspace="demo")


def comment(key: str, at: datetime, author: str, parent: str | None = None, likes: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = {"id": key, "created_at": at.isoformat(), "author": author, "likes": likes,
                             "text": f"Un avis sur le vélo {key}, merci pour la réponse."}  # fmt: skip
    if parent is not None:
        found["parent_id"] = parent
    return found


def test_held_facts_read_again_where_the_store_changed_give_a_whole_read_s_reports(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only what changed after a read is read again (no slack): each step's own notes are what is tested.
    monkeypatch.setattr(held, "SLACK", timedelta(0))
    simulate(engine, workspace="demo", days=120, members=60, seed=3, end=END)
    feed = tmp_path / "feed.jsonl"
    early = END - timedelta(days=40)
    # The source is there before the first refresh (a new source's channel is a whole read).
    imported(engine, feed, [comment(f"a{n}", early + timedelta(hours=n), f"reader{n % 5}") for n in range(12)])
    with Session(engine) as session:
        workspace_id = session.scalar(select(Workspace.id).where(Workspace.slug == "demo"))
        assert workspace_id is not None
    assert refreshed(engine, workspace_id, END).whole

    # Today's comments and replies, one of them to an old comment, one to a parent not imported yet.
    new = [comment(f"b{n}", END + timedelta(minutes=5 * n), f"reader{n % 7}", parent=f"a{n % 12}", likes=n)
           for n in range(20)]  # fmt: skip
    new.append(comment("orphan", END + timedelta(minutes=7), "reader2", parent="late"))
    imported(engine, feed, new)
    later = END + timedelta(hours=3)
    assert not refreshed(engine, workspace_id, later).whole

    # The parent arrives, a reply written long before: the old reply takes it, a level deeper.
    imported(engine, feed, [comment("late", early + timedelta(minutes=30), "reader4", parent="a0"),
                            comment("c1", END + timedelta(minutes=90), "reader1", parent="orphan")])  # fmt: skip
    assert not refreshed(engine, workspace_id, later).whole
    with Session(engine) as session:
        orphan = session.scalar(select(Message).where(Message.external_id == "orphan"))
        assert orphan is not None
        assert orphan.parent_id is not None

    with Session(engine) as session:
        old = session.scalars(
            select(Message.id).where(Message.workspace_id == workspace_id, Message.author_id.is_not(None))
            .order_by(Message.created_at).limit(60)
        ).all()  # fmt: skip
        # A person's decisions on old messages: spam, a complaint, a feeling.
        explorer.label(session, old[3], "spam", "spam")
        explorer.label(session, old[10], "intent", "complaint")
        explorer.label(session, old[20], "sentiment", "positive")
        session.commit()
    assert not refreshed(engine, workspace_id, later).whole

    with Session(engine) as session, session.begin():
        conn = session.connection()
        feed_source = session.scalar(select(Message.source_id).where(Message.external_id == "b3"))
        assert feed_source is not None
        intake.mark_deleted(conn, feed_source, ["b3", "a5"])  # gone from the platform
    assert not refreshed(engine, workspace_id, later).whole
    # A date moved on the platform (imported again): the database's trigger notes the hour it leaves.
    imported(engine, feed, [comment("a3", END - timedelta(days=2), "reader3")])
    with Session(engine) as session:
        assert session.scalar(select(Message.created_at).where(Message.external_id == "a3")) == END - timedelta(days=2)
    assert not refreshed(engine, workspace_id, later).whole
    with engine.begin() as conn:  # a message removed from the store
        deletions.delete_messages(conn, Message.external_id == "b7")
    assert not refreshed(engine, workspace_id, later).whole

    # An analysis changed a judgement: its hour waits for the recount, and is read again already.
    with Session(engine) as session, session.begin():
        conn = session.connection()
        conn.execute(update(Message).where(Message.id == old[50]).values(spam_probability=0.99, sentiment="negative"))
        rollups.mark(conn, [old[50]])
    assert not refreshed(engine, workspace_id, later).whole

    # The hour moved on and nothing changed: the periods' ends moved, the facts did not.
    assert not refreshed(engine, workspace_id, later + timedelta(hours=2)).whole

    # Another team: every message may count otherwise, read whole.
    with Session(engine) as session, session.begin():
        author = session.scalar(select(Message.author_id).where(Message.id == old[1]))
        assert author is not None
        community.mark_team(session.connection(), workspace_id, [author])
    assert refreshed(engine, workspace_id, later + timedelta(hours=2)).whole


def test_what_the_notes_cannot_answer_is_read_whole(engine: Engine) -> None:
    """A held read older than the recounts' notes, or older than `WHOLE_EVERY`, is read whole."""
    simulate(engine, workspace="demo", days=30, members=60, seed=4, end=END)
    with Session(engine) as session:
        workspace_id = session.scalar(select(Workspace.id).where(Workspace.slug == "demo"))
        assert workspace_id is not None
    assert refreshed(engine, workspace_id, END).whole
    assert not refreshed(engine, workspace_id, END).whole
    for store in held._held.values():
        for kept_facts in store.values():
            kept_facts.whole_at -= held.WHOLE_EVERY
    assert refreshed(engine, workspace_id, END).whole
    for store in held._held.values():
        for kept_facts in store.values():
            kept_facts.read_at -= rollups.RECOUNTED_FOR
    assert refreshed(engine, workspace_id, END).whole


def test_joined_columns_are_their_parts_one_after_the_other() -> None:
    """Every array of `Columns` is joined (a column added later and left out would be caught here)."""
    rng = np.random.default_rng(3)
    size = 9
    whole = Columns(np.arange(size), rng.random(size), rng.random(size), rng.integers(-5, 5, size),
                    rng.random(size) < 0.3, rng.random(size) < 0.6, rng.integers(-1, 9, size),
                    rng.integers(0, 4, size), rng.integers(0, 2, size), ("blog", "forum"))  # fmt: skip
    joined = Columns.joined([whole.part(0, 2), whole.part(2, 2), whole.part(2, size)])
    for column in dataclasses.fields(Columns):
        assert np.array_equal(getattr(joined, column.name), getattr(whole, column.name)), column.name
