from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import item, target
from pilote import enrich
from pilote.enrich.base import Analyzer, Result, Text
from pilote.enrich.language import detect
from pilote.enrich.pipeline import run
from pilote.errors import Invalid
from pilote.ingest import write_batch
from pilote.messages import MessageFilter, get_all
from pilote.models import Enrichment, Label, Message


@pytest.mark.parametrize(("text", "language"), [
    ("Bonjour à tous, la nouvelle selle est vraiment confortable", "fr"),
    ("The new saddle is really comfortable, thanks for the advice", "en"),
    ("El nuevo sillín es muy cómodo, gracias por el consejo", "es"),
    ("Der neue Sattel ist wirklich bequem, danke für den Tipp", "de"),
    ("La nuova sella è davvero comoda, grazie per il consiglio", "it"),
    ("O novo selim é muito confortável, obrigado pela dica", "pt"),
    ("Het nieuwe zadel is echt comfortabel, bedankt voor de tip", "nl"),
])  # fmt: skip
def test_the_seven_first_languages_are_recognised(text: str, language: str) -> None:
    assert detect(text) == language


@pytest.mark.parametrize("text", ["ok", "merci", "lol", "", "👍👍", "@velo https://example.org #promo", "12 345"])
def test_texts_too_short_or_without_words_are_undetermined_rather_than_guessed(text: str) -> None:
    assert detect(text) == "und"


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
    assert values == {'{"detail": 16}'}


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
        conn.execute(Message.__table__.update().values(spam_probability=0.9))
    with Session(engine) as session, session.begin():
        message = session.scalars(select(Message).where(Message.external_id == "a")).one()
        session.add(Label(message_id=message.id, name="spam", value="ham", origin="user"))
    with Session(engine) as session:
        records = {r["external_id"]: r for r in get_all(session, MessageFilter(workspace_id=t.workspace_id))}
    assert records["a"]["spam"] is False
    assert records["b"]["spam"] is True


def test_only_the_language_analyzer_runs_by_default_and_the_heads_on_demand() -> None:
    assert [a.name for a in enrich.get()] == ["language"]
    assert [a.name for a in enrich.get(["sentiment", "spam"])] == ["sentiment", "spam"]


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
