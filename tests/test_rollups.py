"""Rollups stay equal to a full recount whatever happens to the messages, and cost only their hours."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select, text, update
from sqlalchemy.orm import Session

from pilote import community, enrich, rollups
from pilote.enrich import pipeline
from pilote.imports import import_file
from pilote.models import Author, Base, Message, Rollup, TeamAccount, Workspace
from pilote.samples import write_wxr
from pilote.views import explorer

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def row(ident: str, minutes: int, text_: str = "Bonjour à tous", **extra: Any) -> dict[str, Any]:
    moment = (T0 + timedelta(minutes=minutes)).isoformat()
    return {"id": ident, "created_at": moment, "text": text_, "author": f"user{len(ident)}", **extra}


def snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(Rollup.__table__)))


def assert_equal_to_a_full_recount(engine: Engine) -> list[tuple[Any, ...]]:
    kept = snapshot(engine)
    with engine.begin() as conn:
        for workspace_id in conn.scalars(select(Workspace.id)):
            rollups.rebuild(conn, workspace_id)
    assert snapshot(engine) == kept
    return kept


def series_totals(engine: Engine, series: str) -> dict[str, int]:
    with engine.connect() as conn:
        query = select(Rollup.key, func.sum(Rollup.count)).where(Rollup.series == series).group_by(Rollup.key)
        return {key: int(n) for key, n in conn.execute(query)}


def message_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(Message)).scalar_one())


def test_an_import_leaves_rollups_equal_to_a_full_recount(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, write_wxr(tmp_path / "blog.xml", posts=3, comments_per_post=4), batch_size=5)
    kept = assert_equal_to_a_full_recount(engine)
    assert kept
    assert series_totals(engine, "messages") == {"": message_count(engine)} == {"": 15}
    with engine.connect() as conn:
        kinds = dict(conn.execute(select(Message.kind, func.count()).group_by(Message.kind)).all())
    assert series_totals(engine, "kind") == kinds
    assert kinds["post"] == 3


def test_a_reimport_of_edited_messages_moves_them_between_hours_and_keys(engine: Engine, tmp_path: Path) -> None:
    first = [row("a", 0, kind="post"), row("b", 5, parent_id="a"), row("c", 130, kind="post", likes=3)]
    import_file(engine, jsonl(tmp_path / "one.jsonl", first))
    edited = [
        row("a", 0, kind="post"),
        row("b", 300, "edited later", parent_id="a"),
        row("c", 130, kind="post", likes=9),
    ]
    import_file(engine, jsonl(tmp_path / "one.jsonl", edited))
    assert_equal_to_a_full_recount(engine)
    hours = {h: n for _, s, h, _, n, _ in snapshot(engine) if s == "messages"}
    start = rollups.hour_of(T0)
    assert hours == {start: 1, start + 2: 1, start + 5: 1}  # b left the first hour for the fifth
    assert series_totals(engine, "kind") == {"post": 2, "comment": 1}
    with engine.connect() as conn:
        engagement = conn.execute(select(func.sum(Rollup.engagement)).where(Rollup.series == "messages")).scalar()
    assert engagement == 9


def test_enrichment_updates_the_language_series(engine: Engine, tmp_path: Path) -> None:
    texts = ["Bonjour, je cherche une batterie de rechange pour mon vélo électrique.",
             "Hello, where can I buy a spare battery for my electric bike?"]  # fmt: skip
    import_file(engine, jsonl(tmp_path / "m.jsonl", [row(f"m{i}", i, t) for i, t in enumerate(texts)]))
    assert series_totals(engine, "language") == {"unknown": 2}
    with Session(engine) as session:
        workspace_id = session.scalars(select(Workspace.id)).one()
    pipeline.run(engine, enrich.get(["language"]), workspace_id=workspace_id, workers=0)
    assert series_totals(engine, "language") == {"fr": 1, "en": 1}
    assert_equal_to_a_full_recount(engine)


def test_a_persons_label_moves_a_message_in_the_spam_and_intent_series(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, jsonl(tmp_path / "m.jsonl", [row("a", 0), row("b", 1)]))
    with Session(engine) as session, session.begin():
        first = session.scalars(select(Message.id).order_by(Message.id)).first()
        assert first is not None
        explorer.label(session, first, "spam", "spam", "camille")
        explorer.label(session, first, "intent", "question")
    assert series_totals(engine, "spam") == {"spam": 1, "unknown": 1}
    assert series_totals(engine, "intent") == {"question": 1, "unknown": 1}
    assert series_totals(engine, "unanswered") == {"question": 1}
    assert_equal_to_a_full_recount(engine)


def test_a_team_reply_answers_a_question_in_an_earlier_hour(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, jsonl(tmp_path / "q.jsonl", [row("q", 0, "Où trouver une batterie ?", author="zoe")]))
    with Session(engine) as session, session.begin():
        question = session.scalars(select(Message.id)).one()
        explorer.label(session, question, "intent", "complaint")
    assert series_totals(engine, "unanswered") == {"complaint": 1}
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO author (workspace_id, channel, key, handle, created_at) "
                          "SELECT workspace_id, channel, 'user:brand', 'brand', created_at FROM author"))  # fmt: skip
        brand = conn.scalars(select(Author.id).where(Author.handle == "brand")).one()
        workspace_id = conn.scalars(select(Workspace.id)).one()
        community.mark_team(conn, workspace_id, [brand])
    answer = row("r", 200, "Chez votre revendeur.", parent_id="q", author="brand")
    import_file(engine, jsonl(tmp_path / "q.jsonl", [answer]))
    assert series_totals(engine, "unanswered") == {}
    assert_equal_to_a_full_recount(engine)


def test_a_deleted_message_leaves_its_hour_at_the_next_batch(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, jsonl(tmp_path / "a.jsonl", [row("a", 0), row("b", 600)]))
    with engine.begin() as conn:
        conn.execute(delete(Message).where(Message.external_id == "a"))
        rollups.refresh(conn, [])
    assert series_totals(engine, "messages") == {"": 1}
    assert_equal_to_a_full_recount(engine)


def test_a_date_changed_in_place_is_recounted_from_both_hours(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, jsonl(tmp_path / "a.jsonl", [row("a", 0)]))
    with engine.begin() as conn:
        conn.execute(update(Message).values(created_at=T0 + timedelta(days=3)))
        rollups.refresh(conn, list(conn.scalars(select(Message.id))))
    hours = [h for _, s, h, *_ in snapshot(engine) if s == "messages"]
    assert hours == [rollups.hour_of(T0 + timedelta(days=3))]


@pytest.mark.parametrize("change", ["label", "delete", "move"])
def test_a_message_in_an_hour_s_last_half_millisecond_stays_in_that_hour(
    engine: Engine, tmp_path: Path, change: str
) -> None:
    """SQLite's `strftime('%s')` rounds fractions of a second: the hour is taken from the whole seconds."""
    edge = T0 + timedelta(hours=1) - timedelta(microseconds=400)
    import_file(engine, jsonl(tmp_path / "a.jsonl", [{**row("a", 0), "created_at": edge.isoformat()}, row("b", 5)]))
    hours = [h for _, s, h, *_ in assert_equal_to_a_full_recount(engine) if s == "messages"]
    assert hours == [rollups.hour_of(edge)]
    with engine.begin() as conn:
        message_id = conn.scalar(select(Message.id).where(Message.external_id == "a"))
        assert message_id is not None
        if change == "delete":
            conn.execute(delete(Message).where(Message.id == message_id))
        elif change == "move":
            conn.execute(update(Message).where(Message.id == message_id).values(created_at=T0 + timedelta(days=3)))
        rollups.refresh(conn, [] if change == "delete" else [message_id])
    if change == "label":
        with Session(engine) as session, session.begin():
            explorer.label(session, message_id, "spam", "spam")
    assert series_totals(engine, "messages") == {"": 1 if change == "delete" else 2}
    assert_equal_to_a_full_recount(engine)


def test_blog_post_writers_and_the_named_account_count_as_the_team(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, write_wxr(tmp_path / "blog.xml", posts=2, comments_per_post=2))
    with engine.connect() as conn:
        team = conn.execute(
            select(Author.handle).join(Message, Message.author_id == Author.id).where(
                Author.id.in_(select(TeamAccount.author_id)), Message.kind == "post"
            )
        ).all()  # fmt: skip
        team_ids = select(TeamAccount.author_id)
        commenters = conn.execute(
            select(func.count()).where(Message.author_id.in_(team_ids), Message.kind != "post")
        ).scalar_one()
    assert team
    assert commenters == 0
    assert community.speaks_for({"velolumen"}, "VeloLumen", None)
    assert community.speaks_for({"velolumen"}, "someone", "Vélo Lumen")
    assert not community.speaks_for({"velolumen"}, "velo", "Lumen fan")


def test_the_keyphrases_of_an_enrichment_value_are_read_in_any_shape() -> None:
    assert rollups.parse_keyphrases('{"keyphrases": {"keyphrases": ["Batterie", "selle"]}}') == ["batterie", "selle"]
    assert rollups.parse_keyphrases('{"keyphrases": {"keyphrases": [["batterie neuve", 0.1]]}}') == ["batterie neuve"]
    shared = '{"sentiment": {"probabilities": {"negative": 1.0}}, "keyphrases": {"keyphrases": ["selle"]}}'
    assert rollups.parse_keyphrases(shared) == ["selle"]  # the row holds every analyzer's values
    assert rollups.parse_keyphrases('{"sentiment": {"probabilities": {"negative": 1.0}}}') == []
    assert rollups.parse_keyphrases('{"keyphrases": {"keyphrases": "selle"}}') == []
    assert rollups.parse_keyphrases('["Batterie", "selle"]') == []  # not an enrichment row's shape
    assert rollups.parse_keyphrases("not json") == []
    assert rollups.parse_keyphrases(None) == []


def test_the_rollup_tables_match_the_migrations(engine: Engine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    mine = {"rollup", "rollup_dirty", "team_account", "api_token", "saved_search"}
    assert [d for d in diff if any(name in repr(d) for name in mine)] == []


def test_the_rebuild_command_repairs_lost_rollups(settings: Any, engine: Engine, env_for: Any, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pilote.cli import app as cli

    env_for(settings)
    import_file(engine, jsonl(tmp_path / "a.jsonl", [row("a", 0), row("b", 90)]))
    kept = snapshot(engine)
    with engine.begin() as conn:
        conn.execute(delete(Rollup))
    result = CliRunner().invoke(cli, ["rollups", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "rebuilt" in result.stdout
    assert snapshot(engine) == kept


def test_batches_only_note_their_hours_and_an_interrupted_import_is_caught_up_by_the_next_tick(
    settings: Any, engine: Engine, tmp_path: Path, monkeypatch: Any
) -> None:
    from pilote import jobs
    from pilote.models import RollupDirty

    def crash(conn: Any, progress: Any = None) -> int:
        raise KeyboardInterrupt  # the import dies after its last batch, before the recount

    monkeypatch.setattr(rollups, "refresh_dirty", crash)
    rows = [row(f"m{i}", minutes=50 * i) for i in range(12)]
    with pytest.raises(KeyboardInterrupt):
        import_file(engine, jsonl(tmp_path / "a.jsonl", rows), batch_size=5)
    monkeypatch.undo()
    with engine.connect() as conn:
        noted = {hour for (hour,) in conn.execute(select(RollupDirty.hour))}
    assert noted == {rollups.hour_of(T0 + timedelta(minutes=50 * i)) for i in range(12)}
    assert series_totals(engine, "messages") == {}  # nothing recounted per batch
    jobs.radar_tick(engine, settings)
    assert series_totals(engine, "messages") == {"": 12}
    assert_equal_to_a_full_recount(engine)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RollupDirty)).scalar_one() == 0


def test_recount_runs_join_close_hours_and_end_at_a_days_end_once_they_span_a_week() -> None:
    touched = {(1, h) for h in (0, 5, 30, 100)} | {(1, h) for h in range(200, 440)} | {(2, 0)}
    assert list(rollups._ranges(touched)) == [
        (1, 0, 5), (1, 30, 30), (1, 100, 100), (1, 200, 383), (1, 384, 439), (2, 0, 0),
    ]  # fmt: skip


def test_importing_the_same_file_again_recounts_no_hour(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = jsonl(tmp_path / "a.jsonl", [row(f"m{i}", minutes=90 * i) for i in range(6)])
    import_file(engine, path)
    kept = snapshot(engine)
    recounted: list[tuple[int, int]] = []
    real = rollups.recount

    def counting(conn: Any, workspace_id: int, first: int, last: int, *, tops: bool = True) -> None:
        recounted.append((first, last))
        real(conn, workspace_id, first, last, tops=tops)

    monkeypatch.setattr(rollups, "recount", counting)
    assert import_file(engine, path).counts.unchanged == 6
    assert recounted == []
    assert snapshot(engine) == kept


def test_an_import_that_enriches_recounts_its_hours_once(
    settings: Any, engine: Engine, env_for: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pilote.cli import app as cli

    env_for(settings)
    recounted: list[int] = []
    real = rollups.recount

    def counting(conn: Any, workspace_id: int, first: int, last: int, *, tops: bool = True) -> None:
        recounted.extend(range(first, last + 1))
        real(conn, workspace_id, first, last, tops=tops)

    monkeypatch.setattr(rollups, "recount", counting)
    path = jsonl(tmp_path / "a.jsonl", [row(f"m{i}", minutes=90 * i) for i in range(6)])
    result = CliRunner().invoke(cli, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert len(recounted) == len(set(recounted))  # by the enrichment that follows, not by the import too
    assert series_totals(engine, "messages") == {"": 6}
    assert series_totals(engine, "language")  # counted after the analysis
    assert_equal_to_a_full_recount(engine)


def test_conversations_and_keyphrases_are_kept_per_day_with_the_days_top_keys(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "DAILY_TOP", 2)
    day = 24 * 60
    rows = [
        row("p", 0, "Nouvelle selle", kind="post"),
        *(row(f"r{i}", 10 + 70 * i, "Batterie neuve, merci", parent_id="p", likes=i) for i in range(3)),  # 3 hours
        row("c1", 40, "Batterie neuve, vraiment"), row("c2", 50, "Guidon cassé"), row("c3", 60, "Guidon cassé"),
        row("c4", 65, "Sonnette rouillée"),  # once: under DAILY_MIN
        row("c5", day + 5, "Batterie neuve encore", parent_id="p"), row("c6", day + 6, "Batterie neuve"),
    ]  # fmt: skip
    import_file(engine, jsonl(tmp_path / "m.jsonl", rows))
    with Session(engine) as session:
        workspace_id = session.scalars(select(Workspace.id)).one()
    pipeline.run(engine, enrich.get(["language", "keyphrases"]), workspace_id=workspace_id, workers=0)
    kept = assert_equal_to_a_full_recount(engine)
    assert not [r for r in kept if r[1] in rollups.DAILY]  # no hourly rows for these series
    first = rollups.hour_of(T0) // 24 * 24
    with engine.connect() as conn:
        phrases = {(h - first) // 24: rollups.top(conn, workspace_id, "keyphrase@day", h, h + 23, 10)
                   for h in (first, first + 24)}  # fmt: skip
        threads = rollups.totals(conn, workspace_id, "thread@day", first, first + 47)
    assert phrases[0] == [("batterie neuve", 4), ("guidon cassé", 2)]  # the top 2 of the day; "merci" ties 3
    assert phrases[1] == [("batterie neuve", 2)]
    with Session(engine) as session:
        post = session.scalars(select(Message.id).where(Message.external_id == "p")).one()
    assert threads == {str(post): (3, 0 + 1 + 2)}  # the day after: 1 reply, under DAILY_MIN
    import_file(engine, jsonl(tmp_path / "m.jsonl", [*rows, row("r9", 200, "Guidon cassé aussi", parent_id="p")]))
    pipeline.run(engine, enrich.get(["language", "keyphrases"]), workspace_id=workspace_id, workers=0)
    assert_equal_to_a_full_recount(engine)  # one hour recounted: its whole day's top keys again
    with engine.connect() as conn:
        assert rollups.top(conn, workspace_id, "keyphrase@day", first, first + 23, 10)[1] == ("guidon cassé", 3)
        assert rollups.totals(conn, workspace_id, "thread@day", first, first + 23) == {str(post): (4, 3)}


def test_a_label_recounts_its_hour_but_keeps_the_days_conversations_and_keyphrases(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [row("p", 0, "Nouvelle selle", kind="post"),
            *(row(f"r{i}", 10 + i, "Batterie neuve", parent_id="p") for i in range(3))]  # fmt: skip
    import_file(engine, jsonl(tmp_path / "m.jsonl", rows))
    with Session(engine) as session:
        workspace_id = session.scalars(select(Workspace.id)).one()
    pipeline.run(engine, enrich.get(["language", "keyphrases"]), workspace_id=workspace_id, workers=0)
    before = snapshot(engine)
    counted: list[int] = []
    real = rollups._daily_tops

    def counting(conn: Any, workspace: int, first: int, last: int) -> list[tuple[Any, ...]]:
        counted.append(first)
        return real(conn, workspace, first, last)

    monkeypatch.setattr(rollups, "_daily_tops", counting)
    with Session(engine) as session, session.begin():
        reply = session.scalars(select(Message.id).where(Message.external_id == "r0")).one()
        explorer.label(session, reply, "sentiment", "negative")
    assert counted == []  # a label changes neither: the day's messages are not read again
    after = snapshot(engine)
    tops = [r for r in before if r[1] in ("keyphrase@day", "thread@day")]
    assert tops
    assert tops == [r for r in after if r[1] in ("keyphrase@day", "thread@day")]
    assert series_totals(engine, "sentiment")["negative"] == 1
    assert_equal_to_a_full_recount(engine)


def test_two_writers_recounting_the_same_hours_at_once_both_succeed(engine: Engine, tmp_path: Path) -> None:
    """An import's finish and a worker's analysis recount the same hours: on PostgreSQL the second waits for the
    first (both deleted nothing, both inserted: the second failed on the rollup's key before)."""
    import threading

    import_file(engine, write_wxr(tmp_path / "blog.xml", posts=2, comments_per_post=3), batch_size=5)
    with engine.connect() as conn:
        workspace_id = conn.scalars(select(Workspace.id)).one()
        hours = [rollups.hour_of(m) for m in conn.scalars(select(Message.created_at))]
        conn.execute(delete(Rollup))
        conn.commit()
    first, last = min(hours), max(hours)
    outcome: list[BaseException | None] = []
    started = threading.Event()

    def second() -> None:
        try:
            started.set()
            with engine.begin() as other:
                rollups.recount(other, workspace_id, first, last)
            outcome.append(None)
        except BaseException as error:
            outcome.append(error)

    thread: threading.Thread | None = None
    with engine.begin() as conn:
        rollups.recount(conn, workspace_id, first, last)
        if engine.dialect.name == "postgresql":  # SQLite has one writer at a time: nothing to race there
            thread = threading.Thread(target=second)
            thread.start()
            started.wait(10)
            thread.join(1.0)  # it waits for this transaction: still running
            assert thread.is_alive()
    if thread is not None:
        thread.join(30)
        assert outcome == [None]
    assert_equal_to_a_full_recount(engine)


def test_two_takers_of_the_dirty_hours_never_wait_for_each_other_nor_take_an_hour_twice(engine: Engine) -> None:
    # A person's decision takes every dirty hour while a tick takes the oldest: on PostgreSQL they deleted the
    # same rows in two orders and deadlocked. The second now skips what the first is recounting.
    with Session(engine) as session, session.begin():
        space = Workspace(slug="w", name="W")
        session.add(space)
        session.flush()
        workspace = space.id
    with engine.begin() as conn:
        rollups.mark_hours(conn, [(workspace, hour) for hour in range(1000, 1010)])
    first = engine.connect()
    first_taking = first.begin()
    try:
        assert rollups.refresh_dirty(first) == 10
        if engine.dialect.name == "postgresql":  # SQLite has one writer: the second could not start
            with engine.connect() as second, second.begin():
                second.execute(text("SET LOCAL lock_timeout = '2s'"))  # waiting would fail, not hang
                assert rollups.refresh_dirty(second, limit=4) == 0
                assert rollups.refresh_dirty(second) == 0
    finally:
        first_taking.commit()
        first.close()
    with engine.begin() as conn:
        rollups.mark_hours(conn, [(workspace, 1003)])
        assert rollups.refresh_dirty(conn, limit=4) == 1
        assert rollups.refresh_dirty(conn) == 0
