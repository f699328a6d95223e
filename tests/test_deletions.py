"""Deleting a source or a workspace: everything it holds goes, in one transaction, and a record stays."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from pilote import deletions, enrich, rollups, workspaces
from pilote.accounts import audit
from pilote.config import Settings
from pilote.enrich.pipeline import run as enrich_run
from pilote.errors import Invalid, NotFound
from pilote.imports import import_file
from pilote.models import (
    Author,
    Base,
    Deletion,
    Embedding,
    Engagement,
    Enrichment,
    ImportRun,
    Label,
    Message,
    RadarCursor,
    Rollup,
    RollupDirty,
    Source,
    TeamAccount,
    Workspace,
)
from pilote.radar.watch import tick
from pilote.samples import write_wxr
from pilote.views import overview
from pilote.views.explorer import ExplorerQuery, label, search

T0 = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
SPAN = overview.period(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC))
# Tables whose rows belong to a message (through message_id) or to a workspace (through workspace_id).
BY_MESSAGE = (Label, Engagement, Enrichment, Embedding)


def forum(path: Path, count: int, likes: int = 1, first: int = 0) -> Path:
    """A forum's JSON Lines export: its own words, so that a search tells it from the blog."""
    rows = [
        {"id": f"f{n}", "created_at": (T0 + timedelta(hours=n)).isoformat(), "author": f"rider{n % 3}",
         "text": f"Trottinette numéro {n}", "likes": likes, **({"parent_id": f"f{n - 1}"} if n % 2 else {})}
        for n in range(first, first + count)
    ]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def space_id(engine: Engine, slug: str) -> int:
    with Session(engine) as session:
        return workspaces.get(session, slug=slug).id


def source_id(engine: Engine, slug: str, kind: str) -> int:
    with Session(engine) as session:
        query = select(Source.id).join(Workspace).where(Workspace.slug == slug, Source.kind == kind)
        return session.scalars(query).one()


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    """Two workspaces: `acme` with a blog (WXR) and a forum (JSONL), `beta` with a forum; each analysed, with
    engagement history, a person's label, sentence vectors, rollups and the radar's state."""
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="acme")
        workspaces.create(session, slug="beta")
    import_file(engine, forum(tmp_path / "forum.jsonl", 6), workspace="beta")
    import_file(engine, forum(tmp_path / "forum.jsonl", 6, likes=4), workspace="beta")  # engagement snapshots
    import_file(engine, forum(tmp_path / "forum.jsonl", 6), workspace="acme")
    import_file(engine, forum(tmp_path / "forum.jsonl", 6, likes=4), workspace="acme")
    blog = write_wxr(tmp_path / "blog.xml", posts=3, comments_per_post=4)
    import_file(engine, blog, workspace="acme")
    import_file(engine, blog.with_name("blog.xml"), workspace="acme")  # a second run of the same file
    for slug in ("acme", "beta"):
        enrich_run(engine, enrich.get(None), workspace_id=space_id(engine, slug), workers=1)
    with Session(engine) as session, session.begin():
        for message_id in session.scalars(select(Message.id)):
            session.add(Embedding(message_id=message_id, model="test", vector=b"\x00\x01" * 4))
        posts = session.scalars(select(Message.id).where(Message.kind == "post").order_by(Message.id)).all()
        session.add_all(Engagement(message_id=post, captured_at=T0, likes=2) for post in posts)  # a blog has none
        label(session, posts[0], "sentiment", "negative")
    return engine


def count(engine: Engine, table: Any, *where: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def held(engine: Engine, workspace_id: int, source: int | None = None) -> dict[str, int]:
    """How many rows of each kind a workspace (or one of its sources) holds."""
    mine = Message.workspace_id == workspace_id if source is None else Message.source_id == source
    ids = select(Message.id).where(mine)
    found = {table.__tablename__: count(engine, table, table.message_id.in_(ids)) for table in BY_MESSAGE}
    found["message"] = count(engine, Message, mine)
    found["import_run"] = count(
        engine, ImportRun, ImportRun.workspace_id == workspace_id if source is None else ImportRun.source_id == source
    )
    if source is None:
        for table in (Author, Source, Rollup, RadarCursor, TeamAccount):
            found[table.__tablename__] = count(engine, table, table.workspace_id == workspace_id)
    return found


def rows(engine: Engine, workspace_id: int, source: int | None = None) -> list[tuple[Any, ...]]:
    """Every row a workspace (or a source) holds, to check that a deletion elsewhere left it alone."""
    mine = Message.workspace_id == workspace_id if source is None else Message.source_id == source
    ids = select(Message.id).where(mine)
    found: list[tuple[Any, ...]] = []
    with engine.connect() as conn:
        found += [tuple(r) for r in conn.execute(select(Message.__table__).where(mine).order_by(Message.id))]
        for table in BY_MESSAGE:
            found += sorted(tuple(r) for r in conn.execute(select(table.__table__).where(table.message_id.in_(ids))))
        if source is None:
            for other in (Author, Source, Rollup, ImportRun, RadarCursor):
                found += sorted(tuple(r) for r in conn.execute(select(other.__table__).where(
                    other.workspace_id == workspace_id)))  # fmt: skip
    return found


def figure(engine: Engine, workspace_id: int) -> float:
    with Session(engine) as session:
        return overview.figures(session, workspace_id, SPAN)["messages"].value


def rollups_are_a_full_recount(engine: Engine) -> None:
    with engine.connect() as conn:
        kept = sorted(tuple(r) for r in conn.execute(select(Rollup.__table__)))
    with engine.begin() as conn:
        for workspace_id in conn.scalars(select(Workspace.id)):
            rollups.rebuild(conn, workspace_id)
        assert sorted(tuple(r) for r in conn.execute(select(Rollup.__table__))) == kept


def test_deleting_a_source_removes_everything_it_holds_and_nothing_else(store: Engine) -> None:
    acme, beta = space_id(store, "acme"), space_id(store, "beta")
    blog, own_forum = source_id(store, "acme", "wxr"), source_id(store, "acme", "jsonl")
    before = held(store, acme, blog)
    untouched = rows(store, beta), rows(store, acme, own_forum)
    shown = figure(store, acme)
    writers = count(store, Author, Author.channel == "blog:blog.example.org")
    assert all(before.values()), before  # the blog holds rows of every kind
    with Session(store, expire_on_commit=False) as session, session.begin():
        done = deletions.delete_source(session, workspace_id=acme, source_id=blog, by=audit.CLI)
    assert set(held(store, acme, blog).values()) == {0}
    assert count(store, Source, Source.id == blog) == 0
    assert (rows(store, beta), rows(store, acme, own_forum)) == untouched
    assert count(store, Author, Author.workspace_id == acme, Author.channel.like("blog:%")) == 0  # wrote only there
    assert count(store, Author, Author.workspace_id == acme) == 3  # the forum's riders stay
    assert figure(store, acme) == shown - before["message"]  # the Overview's count drops at once
    assert count(store, RollupDirty) == 0
    rollups_are_a_full_recount(store)
    assert (done.kind, done.workspace, done.name, done.key, done.deleted_by) == (
        "source", "acme", "Le blog de test", "wxr:blog.example.org", "command line",
    )  # fmt: skip
    assert done.messages == before["message"] == 15
    assert deletions.counts(done) == {
        "messages": 15, "labels": before["label"], "engagement": before["engagement"], "enrichment": 15,
        "embeddings": 15, "authors": writers, "import_runs": 2,
    }  # fmt: skip


def test_the_search_index_forgets_a_deleted_source(store: Engine) -> None:
    acme = space_id(store, "acme")
    with Session(store) as session:
        assert search(session, ExplorerQuery(acme, text="vélo")).items
    with Session(store, expire_on_commit=False) as session, session.begin():
        blog = source_id(store, "acme", "wxr")
        deletions.delete_source(session, workspace_id=acme, source_id=blog, by=audit.Actor("web@example.org"))
    with Session(store) as session:
        assert search(session, ExplorerQuery(acme, text="vélo")).items == []
        assert len(search(session, ExplorerQuery(acme, text="trottinette")).items) == 6
    if store.dialect.name == "sqlite":
        with store.begin() as conn:  # raises if the index holds a row the table does not
            conn.execute(text("INSERT INTO message_fts(message_fts, rank) VALUES ('integrity-check', 1)"))


def test_deleting_a_workspace_removes_everything_and_its_record_stays(store: Engine) -> None:
    acme, beta = space_id(store, "acme"), space_id(store, "beta")
    untouched = rows(store, beta)
    before = held(store, acme)
    with Session(store, expire_on_commit=False) as session, session.begin():
        blog = source_id(store, "acme", "wxr")
        first = deletions.delete_source(session, workspace_id=acme, source_id=blog, by=audit.CLI)
        done = workspaces.delete(session, slug="acme", by=audit.CLI)
    assert set(held(store, acme).values()) == {0}
    with Session(store) as session:
        assert workspaces.get_all(session)[0].slug == "beta"
        assert [d.id for d in deletions.get_all(session)] == [done.id, first.id]
    assert rows(store, beta) == untouched
    assert count(store, RollupDirty, RollupDirty.workspace_id == acme) == 0
    for table in Base.metadata.sorted_tables:  # nothing anywhere still names the workspace
        if "workspace_id" in table.c:
            assert count(store, table, table.c.workspace_id == acme) == 0, table.name
    assert (done.kind, done.name, done.messages) == ("workspace", "acme", 6)
    assert deletions.counts(done)["sources"] == 1
    assert deletions.counts(done)["import_runs"] == before["import_run"] - 2


def test_the_radar_reads_what_comes_after_the_newest_messages_were_deleted(
    store: Engine, settings: Settings, tmp_path: Path
) -> None:
    acme = space_id(store, "acme")
    tick(store, settings, settle=timedelta(0))
    with Session(store, expire_on_commit=False) as session, session.begin():  # the blog holds acme's newest ids
        deletions.delete_source(session, workspace_id=acme, source_id=source_id(store, "acme", "wxr"), by=audit.CLI)
    import_file(store, forum(tmp_path / "forum.jsonl", 4, first=6), workspace="acme")
    report = tick(store, settings, settle=timedelta(0))
    assert report.messages == 4


def test_a_source_of_another_workspace_or_none_is_not_found(store: Engine) -> None:
    beta_forum = source_id(store, "beta", "jsonl")
    with Session(store) as session, pytest.raises(NotFound, match=f"no source {beta_forum} in this workspace"):
        deletions.delete_source(session, workspace_id=space_id(store, "acme"), source_id=beta_forum, by=audit.CLI)
    with Session(store) as session, pytest.raises(NotFound, match="no workspace 'gamma'"):
        workspaces.delete(session, slug="gamma", by=audit.CLI)
    assert count(store, Deletion) == 0


def test_a_deletion_is_confirmed_by_typing_the_exact_name() -> None:
    deletions.check_confirmation("  Le blog de test ", "Le blog de test", "this source")
    with pytest.raises(Invalid, match="type its name exactly: 'Le blog de test'; nothing was deleted"):
        deletions.check_confirmation("le blog de test", "Le blog de test", "this source")
    with pytest.raises(Invalid):
        deletions.check_confirmation(None, "acme", "this workspace")
