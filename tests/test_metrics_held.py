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
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.orm import Session

from pilote import community, deletions, intake, metrics, rollups, workspaces
from pilote.accounts import audit
from pilote.imports import import_file
from pilote.metrics import held, kept
from pilote.metrics.facts import Columns
from pilote.models import Message, Source, Workspace
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
    assert reading.read is not None
    kept_now = reading.read[2]
    assert (kept_now.facts.start, kept_now.facts.end) == tuple(moment.timestamp() for moment in kept_now.window)
    reading.keep()
    return reading


def imported(engine: Engine, path: Path, records: list[dict[str, Any]]) -> int:
    """Import these records into the workspace "demo" (made if need be); its id."""
    with Session(engine) as session, session.begin():
        if session.scalar(select(Workspace.id).where(Workspace.slug == "demo")) is None:
            workspaces.create(session, slug="demo")
    path.write_bytes(b"".join(orjson.dumps(record) + b"\n" for record in records))
    import_file(engine, path, workspace="demo")
    with Session(engine) as session:
        found = session.scalar(select(Workspace.id).where(Workspace.slug == "demo"))
    assert found is not None
    return found


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


def day_of(engine: Engine, tmp_path: Path, hour: datetime, last: dict[str, Any]) -> int:
    """A day of comments around `hour`, and `last` among them; the first refresh (a whole read) made."""
    records = [comment(f"x{n}", hour - timedelta(hours=8) + timedelta(minutes=37 * n), f"u{n % 4}") for n in range(30)]
    workspace_id = imported(engine, tmp_path / "feed.jsonl", [*records, last])
    assert refreshed(engine, workspace_id, END).whole
    return workspace_id


@pytest.mark.parametrize("moved", [timedelta(days=-2, hours=-5), timedelta(days=2, hours=5, minutes=30)])
@pytest.mark.parametrize("off", [timedelta(0), timedelta(microseconds=-1000), timedelta(microseconds=-400)])
def test_a_message_at_an_hour_s_edge_moved_far_is_held_once(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moved: timedelta, off: timedelta
) -> None:
    """A message written on an hour's edge (or a millisecond before it, or in its last half millisecond: its time
    is held rounded) moved a day or more away is read again with its hour, not held twice nor left behind."""
    monkeypatch.setattr(held, "SLACK", timedelta(0))
    edge = END - timedelta(days=3) + timedelta(hours=10)
    workspace_id = day_of(engine, tmp_path, edge, comment("m", edge + off, "mover"))
    imported(engine, tmp_path / "feed.jsonl", [comment("m", edge + moved, "mover")])
    assert not refreshed(engine, workspace_id, END).whole
    with Session(engine) as session:
        moved_id = session.scalar(select(Message.id).where(Message.external_id == "m"))
    assert held._held[engine][workspace_id].facts.every[0].tolist().count(moved_id) == 1


@pytest.mark.parametrize("change", ["label", "delete"])
def test_a_message_in_an_hour_s_last_half_millisecond_is_read_again_with_its_hour(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    """Its time is held rounded to the next hour, and SQLite notes the next hour too: it is read again anyway."""
    monkeypatch.setattr(held, "SLACK", timedelta(0))
    edge = END - timedelta(days=3) + timedelta(hours=10) - timedelta(microseconds=400)
    workspace_id = day_of(engine, tmp_path, edge, comment("m", edge, "edgy"))
    with Session(engine) as session, session.begin():
        message_id = session.scalar(select(Message.id).where(Message.external_id == "m"))
        assert message_id is not None
        if change == "label":
            explorer.label(session, message_id, "spam", "spam")
        else:
            deletions.delete_messages(session.connection(), Message.id == message_id)
    assert not refreshed(engine, workspace_id, END).whole


def test_replies_whose_parent_is_erased_are_read_again(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Erasing a message (retention, a person's erasure) leaves its replies without parent nor thread (the
    database sets them to none): their hours are noted, and read again."""
    monkeypatch.setattr(held, "SLACK", timedelta(0))
    day = END - timedelta(days=3)
    chain = [comment("p", day, "poster"), comment("r1", day + timedelta(hours=2), "alice", "p"),
             comment("r1a", day + timedelta(hours=4), "bob", "r1"),
             comment("r1b", day + timedelta(hours=6), "carol", "r1a"),
             comment("r2", day + timedelta(hours=8), "dave", "p"), comment("q", day + timedelta(hours=1), "poster"),
             comment("q1", day + timedelta(hours=3), "erin", "q")]  # fmt: skip
    workspace_id = imported(engine, tmp_path / "feed.jsonl", chain)
    assert refreshed(engine, workspace_id, END).whole
    with engine.begin() as conn:
        deletions.delete_messages(conn, Message.external_id == "p")
    with Session(engine) as session:
        assert session.scalar(select(Message.thread_id).where(Message.external_id == "r1b")) is None
    assert not refreshed(engine, workspace_id, END).whole


def test_a_source_added_while_the_hours_are_read_again_makes_it_a_whole_read(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The windows read again would number the channels otherwise than the held facts."""
    monkeypatch.setattr(held, "SLACK", timedelta(0))
    day = END - timedelta(days=3)
    feed = tmp_path / "feed.jsonl"
    workspace_id = imported(engine, feed, [comment(f"a{n}", day + timedelta(hours=n), f"u{n % 3}") for n in range(10)])
    assert refreshed(engine, workspace_id, END).whole
    imported(engine, feed, [comment(f"b{n}", day + timedelta(hours=n, minutes=5), f"v{n % 3}") for n in range(10)])
    again = held._again

    def added_meanwhile(conn: Connection, *arguments: Any) -> Any:
        with engine.begin() as other:
            other.execute(insert(Source).values(workspace_id=workspace_id, kind="rss", key="k", name="new",
                                                channel="aaa", status="active", created_at=END))  # fmt: skip
        return again(conn, *arguments)

    monkeypatch.setattr(held, "_again", added_meanwhile)
    assert refreshed(engine, workspace_id, END).whole


def test_a_workspace_made_again_is_read_whole(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite gives a workspace made again the id of the one deleted: its held facts are not those."""
    monkeypatch.setattr(held, "SLACK", timedelta(0))
    feed = tmp_path / "feed.jsonl"
    day = END - timedelta(days=10)
    workspace_id = imported(engine, feed, [comment(f"a{n}", day + timedelta(hours=5 * n), f"u{n % 3}")
                                           for n in range(30)])  # fmt: skip
    assert refreshed(engine, workspace_id, END).whole
    with Session(engine) as session, session.begin():
        deletions.delete_workspace(session, workspace_id=workspace_id, by=audit.CLI)
    again = imported(engine, feed, [comment(f"b{n}", END - timedelta(days=1) + timedelta(hours=n), f"v{n % 3}")
                                    for n in range(5)])  # fmt: skip
    assert refreshed(engine, again, END).whole


def test_an_empty_workspace_then_imports_old_and_older(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(held, "SLACK", timedelta(0))
    with Session(engine) as session, session.begin():
        workspace_id = workspaces.create(session, slug="demo").id
    assert refreshed(engine, workspace_id, END).whole
    assert not refreshed(engine, workspace_id, END).whole
    feed = tmp_path / "feed.jsonl"
    imported(engine, feed, [comment(f"a{n}", END - timedelta(days=400 - 13 * n), f"u{n % 3}") for n in range(40)])
    refreshed(engine, workspace_id, END)  # a new source: a whole read
    imported(engine, feed, [comment("older", END - timedelta(days=900), "old")])
    assert not refreshed(engine, workspace_id, END + timedelta(hours=3)).whole


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
