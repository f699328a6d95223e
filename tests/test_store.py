from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from factories import item, target
from pilote import enrich
from pilote.config import get_settings
from pilote.db import alembic_config, is_current, make_engine, migrate
from pilote.enrich.pipeline import _stale_by_analyzer
from pilote.ingest import write_batch
from pilote.linking import relink


def test_migrations_create_every_table_and_are_idempotent(engine: Engine) -> None:
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"workspace", "source", "author", "member", "message", "engagement", "label", "import_run"} <= tables
    assert is_current(engine)


def test_the_models_and_the_migrations_describe_the_same_schema(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)  # raises when a model change has no migration


def test_the_enrichment_rows_of_a_message_become_one_and_back(engine: Engine) -> None:
    """Migration 0007 folds the per-analyzer rows into one per message, and its downgrade unfolds them."""
    t = target(engine)  # with the current schema: the ORM names every column of today's source table
    t.erased = frozenset()  # read now: the schema it goes back to has no erased identities
    _move(engine, command.downgrade, "0006")
    with engine.begin() as conn:
        write_batch(conn, t, [item("a", "Bonjour à tous"), item("b", "Hello there"), item("c", "Pas analysé")])
        ids = dict(conn.execute(text("SELECT external_id, id FROM message")).all())
        at = "2099-01-01 00:00:00.000000"  # after the messages were fetched: the rows still hold
        rows = [
            (ids["a"], "language", "2", None),
            (ids["a"], "keyphrases", "1+ab", '{"keyphrases": ["bonjour"]}'),
            (ids["a"], "sentiment", "4+cd", '{"probabilities": {"negative": 0.1, "positive": 0.9}}'),
            (ids["b"], "language", "2", None),
        ]
        out_of_date = (ids["c"], "language", "2", None)  # written before the message was fetched again
        for row, when in [*((row, at) for row in rows), (out_of_date, "2000-01-01 00:00:00.000000")]:
            conn.execute(
                text("INSERT INTO enrichment (message_id, analyzer, version, value, updated_at)"
                     " VALUES (:m, :a, :v, :x, :t)"),
                {"m": row[0], "a": row[1], "v": row[2], "x": row[3], "t": when},
            )  # fmt: skip
    _move(engine, command.upgrade, "head")
    with engine.connect() as conn:
        folded = {m: (json.loads(v), json.loads(x) if x else None) for m, v, x in
                  conn.execute(text("SELECT message_id, versions, value FROM enrichment"))}  # fmt: skip
    sentiment = {"probabilities": {"negative": 0.1, "positive": 0.9}}
    assert folded == {
        ids["a"]: (
            {"language": "2", "keyphrases": "1+ab", "sentiment": "4+cd"},
            {"keyphrases": {"keyphrases": ["bonjour"]}, "sentiment": sentiment},
        ),
        ids["b"]: ({"language": "2"}, None),
    }
    with engine.connect() as conn:  # the pipeline reads them as its own: only "c" is to analyse again
        language = {a.name: a for a in enrich.ANALYZERS}["language"]
        stale, _ = _stale_by_analyzer(conn, [language], {"language": "2"}, t.workspace_id, None, False)
    assert stale["language"].tolist() == [ids["c"]]
    _move(engine, command.downgrade, "0006")
    with engine.connect() as conn:
        unfolded = conn.execute(text("SELECT message_id, analyzer, version, value FROM enrichment")).all()
    assert sorted((m, a, v, _parsed(x)) for m, a, v, x in unfolded) == sorted(
        (m, a, v, _parsed(x)) for m, a, v, x in rows
    )
    _move(engine, command.upgrade, "head")


def _move(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """Upgrade or downgrade to a revision on the engine's own connection."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        step(config, revision)


def _parsed(value: str | None) -> str | None:
    """A JSON text in one spelling, whatever spaces and key order a database gave it."""
    return None if value is None else json.dumps(json.loads(value), sort_keys=True)


def test_the_hourly_conversation_and_keyphrase_rows_go_and_come_back(engine: Engine) -> None:
    """Migration 0008 drops the hourly rows of the daily-only series; its downgrade counts them again."""
    from pilote import rollups
    from pilote.enrich import pipeline

    t = target(engine)
    with engine.begin() as conn:
        items = [item("p", "Nouvelle selle"), *(item(f"r{i}", "Batterie neuve", parent="p", minutes=70 * i, likes=i)
                                               for i in range(3))]  # fmt: skip
        write_batch(conn, t, items)
    pipeline.run(engine, enrich.get(["language", "keyphrases"]), workspace_id=t.workspace_id, workers=0)
    with engine.begin() as conn:
        rollups.rebuild(conn, t.workspace_id)
    series = "SELECT series, hour, key, count, engagement FROM rollup WHERE series IN ('keyphrase', 'thread')"
    daily = "SELECT series, key, count, engagement FROM rollup WHERE series IN ('keyphrase@day', 'thread@day')"
    with engine.connect() as conn:
        assert conn.execute(text(series)).all() == []
        days = sorted(tuple(r) for r in conn.execute(text(daily)))
        post = conn.execute(text("SELECT id FROM message WHERE external_id = 'p'")).scalar_one()
    assert [(s, k, n) for s, k, n, _ in days] == [("keyphrase@day", "batterie neuve", 3), ("thread@day", str(post), 3)]
    _move(engine, command.downgrade, "0007")
    with engine.connect() as conn:
        hourly = conn.execute(text(series)).all()
    assert len({h for _, h, *_ in hourly}) == 3  # one reply an hour
    for name, key, count, engagement in days:
        kept = [(n, e) for s, _, k, n, e in hourly if s + "@day" == name and k == key]
        assert (sum(n for n, _ in kept), sum(e for _, e in kept)) == (count, engagement) == (3, 3)
    _move(engine, command.upgrade, "head")
    with engine.connect() as conn:
        assert conn.execute(text(series)).all() == []


def test_a_feed_s_state_moves_from_its_settings_to_its_own_column_and_back(engine: Engine) -> None:
    """Migration 0011 gives the last sync's state a column; its downgrade puts it back under settings.feed."""
    t = target(engine)
    _move(engine, command.downgrade, "0008")
    with engine.begin() as conn:
        old = '{"feed": {"etag": "W/1", "outcome": "imported"}, "other": 1}'
        conn.execute(text("UPDATE source SET settings = :s WHERE id = :i"), {"s": old, "i": t.source_id})
    _move(engine, command.upgrade, "head")
    with engine.connect() as conn:
        settings, state = conn.execute(text("SELECT settings, state FROM source")).one()
    assert (json.loads(settings), json.loads(state)) == ({"other": 1}, {"etag": "W/1", "outcome": "imported"})
    _move(engine, command.downgrade, "0008")
    with engine.connect() as conn:
        [settings] = conn.execute(text("SELECT settings FROM source")).one()
    assert json.loads(settings) == {"feed": {"etag": "W/1", "outcome": "imported"}, "other": 1}


def test_the_thread_index_leads_with_the_thread_and_comes_back_on_downgrade(engine: Engine) -> None:
    """Migration 0009: the database looks messages up by thread_id alone (the self-reference's checks)."""

    def thread_indexes() -> dict[str, list[str | None]]:
        found = inspect(engine).get_indexes("message")
        return {index["name"]: index["column_names"] for index in found if "thread_id" in index["column_names"]}

    assert thread_indexes() == {"ix_message_thread_source": ["thread_id", "source_id"]}
    _move(engine, command.downgrade, "0008")
    assert thread_indexes() == {"ix_message_source_thread": ["source_id", "thread_id"]}
    _move(engine, command.upgrade, "head")
    assert thread_indexes() == {"ix_message_thread_source": ["thread_id", "source_id"]}


def test_a_store_of_every_earlier_schema_upgrades_with_its_messages(engine: Engine) -> None:
    """Each revision since the first is a schema a release may have left: a store holding messages, brought
    down to it, comes back up to the current schema one migration at a time, every message kept."""
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"m{i}", f"Message {i}, bonjour") for i in range(12)])
    script = ScriptDirectory.from_config(alembic_config(engine))
    chain = [revision.revision for revision in reversed(list(script.walk_revisions()))]  # oldest first
    assert chain[0] == "0001"
    assert len(chain) == len(set(chain))  # one line of history, no branch
    for older in reversed(chain[:-1]):
        _move(engine, command.downgrade, older)
    for newer in chain[1:]:
        _move(engine, command.upgrade, newer)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM message")).scalar_one() == 12, newer
    assert is_current(engine)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)


@pytest.mark.postgres
def test_pilote_s_connections_to_postgresql_compile_no_query(postgres_url: str, tmp_path: Path) -> None:
    """JIT compiling costs ~1.5 s per heavy query on 2 cores, for queries that then run in less."""
    engine = make_engine(get_settings(home=tmp_path, database_url=postgres_url.format("pilote_template")))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SHOW jit")).scalar() == "off"
    finally:
        engine.dispose()


def test_a_store_with_statistics_gets_the_new_index_s_too(sqlite_engine: Engine) -> None:
    """SQLite takes an index it has no statistics for as very selective: after migration 0025 on a store that had
    some, it walked the engagement index for the Explorer's newest messages and sorted them all."""
    t = target(sqlite_engine)
    with sqlite_engine.begin() as conn:
        write_batch(conn, t, [item(f"m{n}", f"message {n}") for n in range(300)])
    _move(sqlite_engine, command.downgrade, "0024")
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    _move(sqlite_engine, command.upgrade, "head")
    newest = (
        "EXPLAIN QUERY PLAN SELECT id FROM message WHERE workspace_id = 1 ORDER BY created_at DESC, id DESC LIMIT 51"
    )
    with sqlite_engine.connect() as conn:
        plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(newest))
    assert "ix_message_workspace_engagement" not in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_threads_left_without_their_root_get_their_stand_ins_and_their_hours_recounted(engine: Engine) -> None:
    """Migration 0028, on both databases: a named thread whose root never arrived, left unthreaded by the code before
    it, is led by its first message written; the hours of those messages and of comments whose parent is missing
    are noted for the dashboards' recount."""
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("late", parent="post", thread="post", minutes=30),
                              item("early", parent="post", thread="post", minutes=10),
                              item("reply", parent="early", thread="post", minutes=40),
                              item("lost", parent="gone", minutes=200), item("alone", minutes=300)])  # fmt: skip
        relink(conn, source_id=t.source_id)
    _move(engine, command.downgrade, "0027")
    with engine.begin() as conn:  # as the code before 0028 left them: a named thread without its root, unthreaded
        conn.execute(text("UPDATE message SET thread_id = NULL WHERE thread_external_id IS NOT NULL"))
        conn.execute(text("DELETE FROM rollup_dirty"))
    _move(engine, command.upgrade, "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT m.external_id, t.external_id, m.created_at FROM message m "
                                 "LEFT JOIN message t ON t.id = m.thread_id")).all()  # fmt: skip
        dirty = {int(hour) for (hour,) in conn.execute(text("SELECT hour FROM rollup_dirty"))}
    threads = {ref: thread for ref, thread, _ in rows}
    assert threads == {"late": "early", "early": "early", "reply": "early", "lost": "lost", "alone": "alone"}
    hours = {ref: int(_utc(at).timestamp()) // 3600 for ref, _, at in rows}
    assert {hours[ref] for ref in ("late", "early", "reply", "lost")} == dirty  # not "alone"'s
    assert hours["alone"] not in dirty


def _utc(moment: datetime | str) -> datetime:
    """A time read by raw SQL: a string on SQLite, a datetime on PostgreSQL."""
    found = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return found if found.tzinfo else found.replace(tzinfo=UTC)
