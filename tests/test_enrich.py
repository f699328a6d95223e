from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from factories import item, target
from pilote import enrich
from pilote.cli import app
from pilote.config import Settings
from pilote.enrich import classifiers, pipeline
from pilote.enrich.base import Analyzer, Result, Text
from pilote.enrich.pipeline import run
from pilote.errors import Invalid
from pilote.ingest import write_batch
from pilote.messages import MessageFilter, get_all
from pilote.models import Enrichment, Label, Message, extras


def counting(name: str = "counter", version: str = "1") -> tuple[Analyzer, list[int]]:
    seen: list[int] = []

    def analyze(texts: Sequence[Text]) -> list[Result]:
        seen.extend(t.id for t in texts)
        return [{"intent": "other", "detail": len(t.text)} for t in texts]

    return Analyzer(name=name, version=version, columns=("intent",), analyze=analyze), seen


def seed(engine: Engine, count: int = 5) -> int:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"m{i}", f"message numéro {i}", minutes=i) for i in range(count)])
    return t.workspace_id


def test_only_new_messages_or_a_new_analyzer_version_are_analysed_again(engine: Engine) -> None:
    workspace_id = seed(engine)
    analyzer, seen = counting()
    assert run(engine, [analyzer], workspace_id=workspace_id).analysed == {"counter": 5}
    assert run(engine, [analyzer], workspace_id=workspace_id).analysed == {"counter": 0}
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("late", "un de plus", minutes=60)])
    assert run(engine, [analyzer], workspace_id=workspace_id).analysed == {"counter": 1}
    upgraded, _ = counting(version="2")
    assert run(engine, [upgraded], workspace_id=workspace_id).analysed == {"counter": 6}
    assert len(seen) == 6


def test_results_land_in_hot_columns_and_the_rest_in_the_side_table(engine: Engine) -> None:
    workspace_id = seed(engine, 2)
    analyzer, _ = counting()
    run(engine, [analyzer], workspace_id=workspace_id)
    with Session(engine) as session:
        intents = set(session.scalars(select(Message.intent)))
        values = set(session.scalars(select(Enrichment.value)))
    assert intents == {"other"}
    assert values == {'{"counter":{"detail":16}}'}  # per analyzer, the values it has no column for


def test_force_and_since_choose_what_is_analysed(engine: Engine) -> None:
    workspace_id = seed(engine, 4)
    analyzer, _ = counting()
    run(engine, [analyzer], workspace_id=workspace_id)
    assert run(engine, [analyzer], workspace_id=workspace_id, force=True).analysed == {"counter": 4}
    since = item("x", minutes=2).created_at
    assert run(engine, [analyzer], workspace_id=workspace_id, force=True, since=since).analysed == {"counter": 2}


def test_the_language_analyzer_fills_the_language_column(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("a", "Je voudrais savoir quand arrive ma commande de vélo"), item("b", "ok")])
    run(engine, enrich.get(["language"]), workspace_id=t.workspace_id)
    with Session(engine) as session:
        languages = dict(session.execute(select(Message.external_id, Message.language)).all())
    assert languages == {"a": "fr", "b": "und"}


def test_an_unknown_analyzer_is_refused_with_the_known_ones() -> None:
    with pytest.raises(Invalid, match="use one of language"):
        enrich.get(["horoscope"])


def test_a_human_spam_label_decides_over_the_model(engine: Engine, tmp_path: Path) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("a", "Achetez maintenant"), item("b", "Merci pour l'article")])
        conn.execute(update(Message).values(spam_probability=0.9))
    with Session(engine) as session, session.begin():
        message = session.scalars(select(Message).where(Message.external_id == "a")).one()
        session.add(Label(message_id=message.id, name="spam", value="ham", origin="user"))
    with Session(engine) as session:
        records = {r["external_id"]: r for r in get_all(session, MessageFilter(workspace_id=t.workspace_id))}
    assert records["a"]["spam"] is False
    assert records["b"]["spam"] is True


DEFAULT = ("language", "keyphrases", "sentiment", "spam", "toxicity", "intent")


def test_all_but_the_embeddings_run_by_default_and_any_on_demand_in_registry_order() -> None:
    assert [a.name for a in enrich.get()] == list(DEFAULT)
    assert [a.name for a in enrich.get(["sentiment", "embeddings"])] == ["embeddings", "sentiment"]
    assert [a.name for a in enrich.get(["spam", "sentiment"])] == ["sentiment", "spam"]
    assert [a.name for a in enrich.get(["keyphrases", "language"])] == ["language", "keyphrases"]


def test_a_model_stamp_is_part_of_the_version_so_retraining_reanalyses(engine: Engine) -> None:
    workspace_id = seed(engine, 3)
    analyzer, _ = counting()
    stamped = Analyzer(name="counter", version="1", columns=("intent",), analyze=analyzer.analyze,
                       stamp=lambda: "model-a")  # fmt: skip
    restamped = Analyzer(name="counter", version="1", columns=("intent",), analyze=analyzer.analyze,
                         stamp=lambda: "model-b")  # fmt: skip
    assert stamped.current_version() == "1+model-a"
    assert run(engine, [stamped], workspace_id=workspace_id).analysed == {"counter": 3}
    assert run(engine, [stamped], workspace_id=workspace_id).analysed == {"counter": 0}
    assert run(engine, [restamped], workspace_id=workspace_id).analysed == {"counter": 3}


def test_an_edited_message_is_analysed_again(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(
            conn, t, [item("a", "Je voudrais savoir quand arrive ma commande"), item("b", "Rien à signaler ici")]
        )
    assert run(engine, enrich.get(["language"]), workspace_id=t.workspace_id).analysed == {"language": 2}
    with engine.begin() as conn:
        write_batch(conn, t, [item("a", "I would like to know when my order is coming")])
    assert run(engine, enrich.get(["language"]), workspace_id=t.workspace_id).analysed == {"language": 1}
    with Session(engine) as session:
        languages = dict(session.execute(select(Message.external_id, Message.language)).all())
    assert languages == {"a": "en", "b": "fr"}


def test_analyzers_run_apart_share_the_message_row_and_an_edit_voids_it_for_all(engine: Engine) -> None:
    workspace_id = seed(engine, 3)
    first, _ = counting("first")
    second, seen = counting("second")
    run(engine, [first], workspace_id=workspace_id)
    run(engine, [second], workspace_id=workspace_id)  # keeps what `first` wrote in the same row
    with Session(engine) as session:
        rows = list(session.execute(select(Enrichment.versions, Enrichment.value)))
    assert {versions for versions, _ in rows} == {'{"first":"1","second":"1"}'}
    assert all(extras(value, "first") == extras(value, "second") == {"detail": 16} for _, value in rows)
    assert run(engine, [first, second], workspace_id=workspace_id).analysed == {"first": 0, "second": 0}
    with engine.begin() as conn:  # fetched again, with a new text
        write_batch(conn, target(engine), [item("m1", "un texte réécrit", minutes=1)])
    assert run(engine, [first], workspace_id=workspace_id).analysed == {"first": 1}
    # `first` saw the new text after the edit, `second` has not: its version in the row was dropped with it.
    assert run(engine, [first, second], workspace_id=workspace_id).analysed == {"first": 0, "second": 1}
    assert len(seen) == 4


def test_a_message_fetched_again_with_the_same_words_keeps_its_analyses_and_an_edited_one_loses_them(
    engine: Engine,
) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("a", "Bonjour à tous"), item("b", "Salut"), item("c", "Merci"), item("d", "Oui")])
    analyzer, seen = counting()
    run(engine, [analyzer], workspace_id=t.workspace_id)
    with engine.begin() as conn:  # a sync: "a" as it was, "b" edited, "c" with a new like count, "d" re-authored
        write_batch(conn, t, [item("a", "Bonjour à tous"), item("b", "Salut, édité"), item("c", "Merci", likes=3),
                              item("d", "Oui", author="bob")])  # fmt: skip
    with Session(engine) as session:
        kept = set(session.scalars(select(Message.external_id).join(Enrichment, Enrichment.message_id == Message.id)))
        likes = session.scalars(select(Message.likes).where(Message.external_id == "c")).one()
    assert kept == {"a", "c"}
    assert likes == 3
    assert run(engine, [analyzer], workspace_id=t.workspace_id).analysed == {"counter": 2}
    assert len(seen) == 6


def test_new_counters_keep_the_language_found(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("a", "Je voudrais savoir quand arrive ma commande", likes=1)])
    assert run(engine, enrich.get(["language"]), workspace_id=t.workspace_id).analysed == {"language": 1}
    with engine.begin() as conn:  # the source says nothing of the language: the import used to write None back
        write_batch(conn, t, [item("a", "Je voudrais savoir quand arrive ma commande", likes=7)])
    with Session(engine) as session:
        assert session.execute(select(Message.language, Message.likes)).one() == ("fr", 7)
    assert run(engine, enrich.get(["language"]), workspace_id=t.workspace_id).analysed == {"language": 0}


def test_a_language_the_source_gives_is_replaced_until_the_language_analyzer_has_said_its_own(
    engine: Engine,
) -> None:
    from dataclasses import replace

    t = target(engine)
    text = "Je voudrais savoir quand arrive ma commande"

    def sync(language: str, likes: int) -> None:
        with engine.begin() as conn:
            write_batch(conn, t, [replace(item("a", text, likes=likes), language=language)])

    def stored() -> str | None:
        with Session(engine) as session:
            return session.scalars(select(Message.language)).one()

    sync("de", 1)
    sync("it", 2)  # the source corrected itself; nothing analysed it yet
    assert stored() == "it"
    assert run(engine, enrich.get(["language"]), workspace_id=t.workspace_id).analysed == {"language": 1}
    sync("it", 3)  # new counters: the analyzer's answer stays
    assert stored() == "fr"


def test_a_reply_is_analysed_again_once_its_post_arrives_or_changes(engine: Engine) -> None:
    from pilote.linking import relink

    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("r", "Super article, merci", parent="p", thread="p", minutes=5)])
        relink(conn, source_id=t.source_id)
    analyzer, seen = counting()
    assert run(engine, [analyzer], workspace_id=t.workspace_id).analysed == {"counter": 1}
    with engine.begin() as conn:  # the post comes later: the reply was judged without it
        write_batch(conn, t, [item("p", "Nos nouveaux vélos cargo")])
        relink(conn, source_id=t.source_id)
    assert run(engine, [analyzer], workspace_id=t.workspace_id).analysed == {"counter": 2}
    with engine.begin() as conn:  # the post is edited: what the reply answers changed
        write_batch(conn, t, [item("p", "Nos nouveaux vélos cargo, en vente lundi")])
    assert run(engine, [analyzer], workspace_id=t.workspace_id).analysed == {"counter": 2}
    with engine.begin() as conn:  # new counters on the post: nothing to redo
        write_batch(conn, t, [item("p", "Nos nouveaux vélos cargo, en vente lundi", likes=4)])
    assert run(engine, [analyzer], workspace_id=t.workspace_id).analysed == {"counter": 0}
    assert len(seen) == 5


def test_a_message_fetched_again_while_it_is_analysed_keeps_no_result_of_its_old_text(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("a", "Bonjour à tous"), item("b", "Salut")])
    other, _ = counting("other")
    run(engine, [other], workspace_id=t.workspace_id)

    def edits_while_analysing(texts: Sequence[Text]) -> list[Result]:
        with engine.begin() as conn:  # a sync lands between the chunk's read and its write
            write_batch(conn, t, [item("a", "Bonjour à tous, texte corrigé")])
        return [{"intent": "question"} for _ in texts]

    mine = Analyzer(name="mine", version="1", columns=("intent",), analyze=edits_while_analysing)
    assert run(engine, [mine], workspace_id=t.workspace_id).analysed == {"mine": 2}
    with Session(engine) as session:
        intents = dict(session.execute(select(Message.external_id, Message.intent)).all())
    assert intents == {"a": "other", "b": "question"}  # "a" keeps what `other` found, as the import left it
    # Both analyzers see the corrected text; "b" needs neither.
    assert run(engine, [other, counting("mine")[0]], workspace_id=t.workspace_id).analysed == {"other": 1, "mine": 1}


def test_an_unreadable_enrichment_row_only_means_the_message_is_analysed_again(engine: Engine) -> None:
    workspace_id = seed(engine, 2)
    analyzer, _ = counting()
    run(engine, [analyzer], workspace_id=workspace_id)
    with engine.begin() as conn:  # a hand-edited store, say
        conn.execute(update(Enrichment).values(versions="not json", value="[1, 2"))
    assert run(engine, [analyzer], workspace_id=workspace_id).analysed == {"counter": 2}
    with Session(engine) as session:
        assert set(session.scalars(select(Enrichment.value))) == {'{"counter":{"detail":16}}'}


def test_keyphrases_see_the_language_found_earlier_in_the_same_run(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("de", "Die Lieferung kam leider viel zu spät an"),
                              item("fr", "La livraison est arrivée beaucoup trop tard")])  # fmt: skip
    run(engine, enrich.get(), workspace_id=t.workspace_id)
    with Session(engine) as session:
        records = {r["external_id"]: r for r in get_all(session, MessageFilter(workspace_id=t.workspace_id))}
    assert records["de"]["language"] == "de"
    assert records["de"]["keyphrases"] == []  # no German stop words: no keyphrases rather than wrong ones
    assert records["fr"]["keyphrases"] == ["livraison"]


def _snapshot(engine: Engine) -> set[tuple[object, ...]]:
    with Session(engine) as session:
        columns = (Message.external_id, Message.language, Enrichment.versions, Enrichment.value)
        query = select(*columns).join(Enrichment, Enrichment.message_id == Message.id)
        return {
            (external_id, language, analyzer, version, orjson.dumps(extras(value, analyzer)).decode())
            for external_id, language, versions, value in session.execute(query)
            for analyzer, version in orjson.loads(versions).items()
        }


TEXTS = [
    "Je voudrais savoir quand arrive ma commande de vélo", "The battery charger stopped working after the update",
    "El envío llegó roto y la caja estaba mojada", "ok", "Der Akku hält viel kürzer als versprochen",
    "Le service client ne répond jamais au téléphone", "Great ride this morning along the river with the club",
    "Il pacco è arrivato rotto e nessuno risponde", "merci !", "Wanneer komt de nieuwe fiets weer binnen?",
    "La selle carbone craque en montée depuis une semaine",
]  # fmt: skip


def test_worker_processes_give_the_same_results_as_one_process(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"m{i}", text, minutes=i) for i, text in enumerate(TEXTS)])
    analyzers = enrich.get()  # the heads too: their features are cached per batch, in each process
    run(engine, analyzers, workspace_id=t.workspace_id, workers=1)
    alone = _snapshot(engine)
    monkeypatch.setattr(pipeline, "CHUNK", 3)
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 1)
    report = run(engine, analyzers, workspace_id=t.workspace_id, force=True, workers=2)
    assert report.workers == 2  # forked: this process runs no other thread (browser tests run last)
    assert report.analysed == dict.fromkeys(DEFAULT, 11)
    assert {row[:3] + row[4:] for row in _snapshot(engine)} == {row[:3] + row[4:] for row in alone}
    assert len(alone) == len(DEFAULT) * 11


def test_a_forced_run_with_the_same_results_rewrites_no_message_row(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"m{i}", text) for i, text in enumerate(TEXTS)])
    run(engine, enrich.get(["language"]), workspace_id=t.workspace_id)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert run(engine, enrich.get(["language"]), workspace_id=t.workspace_id, force=True).analysed == {"language": 11}
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE MESSAGE")]
    assert [s for s in statements if "INSERT INTO enrichment" in s]  # the versions are stamped again


def test_prepare_and_keep_hooks_run_around_the_analysis_and_private_values_are_not_stored(engine: Engine) -> None:
    workspace_id = seed(engine, 3)
    kept: list[tuple[int, str]] = []

    def prepare(conn: object, texts: Sequence[Text]) -> list[Text]:
        return [Text(id=t.id, kind=t.kind, title="prepared", text=t.text) for t in texts]

    def analyze(texts: Sequence[Text]) -> list[Result]:
        return [{"intent": "other", "seen": t.title, "_private": f"secret {t.id}"} for t in texts]

    def keep(conn: object, texts: Sequence[Text], results: list[Result]) -> None:
        kept.extend((t.id, r["_private"]) for t, r in zip(texts, results, strict=True))

    hooked = Analyzer(name="hooked", version="1", columns=("intent",), analyze=analyze, prepare=prepare, keep=keep)
    run(engine, [hooked], workspace_id=workspace_id)
    with Session(engine) as session:
        values = set(session.scalars(select(Enrichment.value)))
    assert values == {'{"hooked":{"seen":"prepared"}}'}
    assert len(kept) == 3
    assert all(secret == f"secret {i}" for i, secret in kept)


def test_an_interrupted_run_keeps_its_committed_chunks_and_resumes_after_them(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id = seed(engine, 5)
    monkeypatch.setattr(pipeline, "CHUNK", 2)
    calls: list[int] = []

    def fragile(texts: Sequence[Text]) -> list[Result]:
        calls.append(len(texts))
        if len(calls) == 2:
            raise RuntimeError("the machine went down")
        return [{"intent": "other"} for _ in texts]

    analyzer = Analyzer(name="fragile", version="1", columns=("intent",), analyze=fragile)
    with pytest.raises(RuntimeError):
        run(engine, [analyzer], workspace_id=workspace_id, workers=1)
    assert run(engine, [analyzer], workspace_id=workspace_id, workers=1).analysed == {"fragile": 3}


@pytest.fixture
def cli(settings: Settings, env_for: Callable[[Settings], None]) -> Callable[..., Any]:
    env_for(settings)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_enrich_command_since_and_force_on_both_databases(cli: Callable[..., Any], tmp_path: Path) -> None:
    data = tmp_path / "comments.jsonl"
    lines = [{"id": str(day), "text": f"Sortie du club numéro {day} demain matin", "created_at": f"2026-03-{day:02d}"}
             for day in range(1, 7)]  # fmt: skip
    data.write_text("\n".join(json.dumps(line) for line in lines))
    cli("init")
    assert cli("import", str(data)).exit_code == 0  # enriches what it imported
    assert json.loads(cli("enrich", "--json").stdout)["analysed"] == dict.fromkeys(DEFAULT, 0)
    forced = json.loads(cli("enrich", "--force", "--since", "2026-03-04", "--json").stdout)
    assert forced["analysed"] == dict.fromkeys(DEFAULT, 3)
    assert json.loads(cli("enrich", "--force", "--json", "--analyzer", "language").stdout)["analysed"] == {
        "language": 6
    }
    refused = cli("enrich", "--since", "next tuesday")
    assert refused.exit_code == 1
    assert "--since 'next tuesday'" in refused.stderr


def test_the_enrich_command_forks_its_workers_beside_its_progress_bar(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "comments.jsonl"
    rows = [{"id": str(i), "text": text, "created_at": f"2026-03-{i + 1:02d}"} for i, text in enumerate(TEXTS)]
    data.write_text("\n".join(json.dumps(row) for row in rows))
    cli("init")
    assert cli("import", str(data), "--no-enrich").exit_code == 0
    monkeypatch.setattr(pipeline, "CHUNK", 3)
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", 1)
    done = json.loads(cli("enrich", "--workers", "2", "--json").stdout)
    assert done["workers"] == 2  # the bar redraws from the pipeline's calls: no thread to keep it from forking
    assert done["analysed"] == dict.fromkeys(DEFAULT, 11)


def test_text_and_number_columns_are_written_and_cleared_on_both_databases(engine: Engine) -> None:
    workspace_id = seed(engine, 3)

    def scores(value: float | None) -> Analyzer:
        def analyze(texts: Sequence[Text]) -> list[Result]:
            return [{"sentiment": None if value is None else "positive", "sentiment_score": value} for _ in texts]

        return Analyzer(name="scores", version=str(value), columns=("sentiment", "sentiment_score"), analyze=analyze)

    run(engine, [scores(0.75)], workspace_id=workspace_id)
    with Session(engine) as session:
        assert {tuple(r) for r in session.execute(select(Message.sentiment, Message.sentiment_score))} == {
            ("positive", 0.75)
        }
    run(engine, [scores(None)], workspace_id=workspace_id)
    with Session(engine) as session:
        assert {tuple(r) for r in session.execute(select(Message.sentiment, Message.sentiment_score))} == {(None, None)}


def test_a_vector_found_in_the_run_reaches_the_analyzers_after_it(engine: Engine) -> None:
    workspace_id = seed(engine, 2)

    def embed(texts: Sequence[Text]) -> list[Result]:
        return [{"_vector": f"v{t.id}".encode()} for t in texts]

    def read(texts: Sequence[Text]) -> list[Result]:
        return [{"intent": "other", "vector": (t.vector or b"none").decode()} for t in texts]

    first = Analyzer(name="embed", version="1", columns=(), analyze=embed, keep=lambda conn, texts, results: None)
    second = Analyzer(name="reader", version="1", columns=("intent",), analyze=read)
    run(engine, [first, second], workspace_id=workspace_id)
    with Session(engine) as session:
        rows = list(session.execute(select(Enrichment.message_id, Enrichment.value)))
    assert len(rows) == 2
    assert all(extras(value, "reader") == {"vector": f"v{message_id}"} for message_id, value in rows)


def test_the_changed_columns_of_all_analyzers_are_written_in_one_update_per_chunk(engine: Engine) -> None:
    workspace_id = seed(engine, 4)

    def fixed(name: str, values: Result) -> Analyzer:
        return Analyzer(name=name, version="1", columns=tuple(values), analyze=lambda texts: [values for _ in texts])

    first = fixed("first", {"sentiment": "positive", "sentiment_score": 0.5})
    second = fixed("second", {"spam_probability": 0.25})
    last = fixed("last", {"sentiment_score": 0.75})  # a later analyzer's value for the same column wins
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    run(engine, [first, second, last], workspace_id=workspace_id)
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE MESSAGE")]
    upserts = [s for s in statements if "INSERT INTO enrichment" in s]
    with Session(engine) as session:
        columns = (Message.sentiment, Message.sentiment_score, Message.spam_probability)
        stored = {tuple(row) for row in session.execute(select(*columns))}
        versions = set(session.scalars(select(Enrichment.versions)))
    assert stored == {("positive", 0.75, 0.25)}
    assert (len(updates), len(upserts)) == (1, 1)
    assert versions == {'{"first":"1","second":"1","last":"1"}'}  # one row per message, for all analyzers


def test_a_context_hook_shared_by_analyzers_runs_once_per_chunk_before_their_own_prepare(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id = seed(engine, 5)
    monkeypatch.setattr(pipeline, "CHUNK", 2)
    looked_up: list[list[int]] = []

    def context(conn: object, texts: Sequence[Text]) -> list[Text]:
        looked_up.append([t.id for t in texts])
        return [Text(id=t.id, kind=t.kind, title="shared", text=t.text) for t in texts]

    def reader(name: str, column: str) -> Analyzer:
        def prepare(conn: object, texts: Sequence[Text]) -> list[Text]:
            return [Text(id=t.id, kind=t.kind, title=f"{t.title} {name}", text=t.text) for t in texts]

        def analyze(texts: Sequence[Text]) -> list[Result]:
            return [{column: None, "seen": t.title} for t in texts]

        return Analyzer(name=name, version="1", columns=(column,), analyze=analyze, context=context, prepare=prepare)

    run(engine, [reader("one", "intent"), reader("two", "sentiment")], workspace_id=workspace_id)
    with Session(engine) as session:
        seen = set(session.scalars(select(Enrichment.value)))
    assert [len(ids) for ids in looked_up] == [2, 2, 1]  # once per chunk, not once per analyzer
    assert len({i for ids in looked_up for i in ids}) == 5
    assert seen == {'{"one":{"seen":"shared one"},"two":{"seen":"shared two"}}'}


def test_the_heads_read_the_workspace_and_the_parent_post_on_both_databases(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("post", "Comment régler un dérailleur", minutes=0),
                              item("reply", "Merci, très clair", parent="post", minutes=1)])  # fmt: skip
    with engine.connect() as conn:
        ids = {name: i for name, i in conn.execute(select(Message.external_id, Message.id))}
        texts = classifiers.context(conn, [Text(id=ids[name], kind="comment", title=None, text="") for name in ids])
    found = {text.id: (text.workspace_id, text.parent, text.vector) for text in texts}
    assert found == {ids["post"]: (t.workspace_id, None, None),
                     ids["reply"]: (t.workspace_id, "Comment régler un dérailleur", None)}  # fmt: skip
