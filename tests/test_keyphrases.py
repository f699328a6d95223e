from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from factories import T0, item, target
from pilote import enrich
from pilote.cli import app
from pilote.config import Settings
from pilote.enrich import stopwords
from pilote.enrich.base import Text
from pilote.enrich.keyphrases import ANALYZER, extract, top_keyphrases
from pilote.enrich.pipeline import run
from pilote.ingest import write_batch
from pilote.models import Enrichment, Message, Workspace
from pilote.simulate import simulate
from pilote.views import overview
from pilote.views.common import period


def test_french_phrases_stop_at_stop_words_punctuation_and_elisions() -> None:
    text = "Le changement de batterie du vélo électrique a pris trois semaines. L'application ne marche plus !"
    assert extract(text, "fr") == ["vélo électrique", "changement", "batterie", "application", "marche"]


def test_english_phrases_leave_out_chatter_and_vague_praise() -> None:
    text = "Thanks so much!! The battery charger stopped working after the firmware update, lol. Great bike though"
    assert extract(text, "en") == ["battery charger stopped", "firmware update", "working", "bike"]


def test_words_repeated_in_a_message_lift_their_phrases() -> None:
    text = "Service client ? Remboursement demandé le 3 mars : toujours pas de remboursement !"
    assert extract(text, "fr") == ["remboursement demandé", "service client", "remboursement"]


def test_links_mentions_numbers_and_emoji_are_never_part_of_a_phrase() -> None:
    text = "@zoe regarde https://shop.example/velo?id=3 le casque 2024 😍 casque rouge #promo"
    assert extract(text, "fr") == ["casque rouge", "casque"]


def test_languages_without_a_stop_word_list_get_no_keyphrases() -> None:
    assert extract("Der neue Sattel ist wirklich bequem, danke für den Tipp", "de") == []
    assert extract("Selle confortable, thanks for the advice", "und") == ["selle confortable", "advice"]


def test_the_stop_word_lists_are_lower_case_and_cover_grammar_words() -> None:
    for words in (stopwords.FRENCH, stopwords.ENGLISH):
        assert all(word == word.lower() and " " not in word for word in words)
    assert {"le", "la", "les", "de", "des", "est", "pas", "que", "qui", "nous"} <= stopwords.FRENCH
    assert {"the", "a", "of", "is", "not", "that", "which", "we", "you", "they're"} <= stopwords.ENGLISH


def test_time_words_numbers_and_units_never_make_a_keyphrase() -> None:
    french = (
        "Depuis trois semaines, deux jours par semaine, 40 km aller-retour pour 12 euros : la selle "
        "tient, hier soir comme aujourd'hui. Rendez-vous dimanche matin en janvier, dans un mois ou un an."
    )
    assert extract(french, "fr", limit=20) == ["selle tient", "aller-retour", "rendez-vous"]
    english = (
        "Two weeks ago, then yesterday and today: the saddle bag tore after 300 miles. "
        "Every day this month, three times a week, the same time every year."
    )
    assert extract(english, "en", limit=20) == ["saddle bag tore"]


def test_generic_verbs_adverbs_and_plurals_of_stop_words_never_make_a_keyphrase() -> None:
    assert extract("Franchement, j'utilise le porte-bagages tous les jours, pareil pour mes collègues", "fr") == [
        "porte-bagages", "collègues"
    ]  # fmt: skip
    assert extract("Bonnes choses, supers trucs, les nouveaux freins", "fr") == ["freins"]
    assert extract("Honestly the things I bought: good goods, mostly news", "en") == ["goods", "news"]


def test_the_plural_and_the_singular_are_one_keyphrase() -> None:
    text = "Une batterie ? Les batteries lâchent : ma batterie a lâché, celle de ma fille aussi"
    assert extract(text, "fr") == ["batteries lâchent", "batterie", "lâché", "fille"]  # "batterie" once, lifted
    assert extract("Jeux de lumière, un jeu de lumières", "fr") == ["jeux", "lumière"]


def test_the_stop_word_lists_hold_time_words_in_both_languages() -> None:
    french = {"jour", "jours", "semaine", "semaines", "mois", "an", "ans", "année", "années", "heure", "minutes",
              "fois", "hier", "demain", "aujourd'hui", "dimanche", "janvier"}  # fmt: skip
    english = {"day", "days", "week", "weeks", "month", "year", "time", "today", "yesterday", "tomorrow", "monday"}
    assert french <= stopwords.FRENCH_ALL
    assert english <= stopwords.ENGLISH_ALL
    assert {"bonnes", "choses", "trucs"} <= stopwords.FRENCH_ALL
    assert {"things", "thanks"} <= stopwords.ENGLISH_ALL
    assert {"news", "goods"}.isdisjoint(stopwords.ENGLISH_ALL)


def test_the_analyzer_uses_the_language_of_each_message() -> None:
    texts = [
        Text(id=1, kind="comment", title=None, text="La livraison est arrivée en retard", language="fr"),
        Text(id=2, kind="comment", title=None, text="Die Lieferung kam zu spät", language="de"),
    ]
    assert ANALYZER.analyze(texts) == [{"keyphrases": ["livraison", "retard"]}, {"keyphrases": []}]


def _seed(engine: Engine) -> int:
    """Two weeks of talk about deliveries, then one week where a battery problem appears."""
    t = target(engine)
    items = [item(f"old{i}", f"Livraison rapide, merci pour le colis numéro {i}", minutes=60 * i) for i in range(40)]
    items += [item(f"new{i}", "Batterie défectueuse après la mise à jour", minutes=60 * (400 + i)) for i in range(6)]
    items += [item(f"del{i}", "Livraison rapide comme toujours", minutes=60 * (410 + i)) for i in range(8)]
    with engine.begin() as conn:
        write_batch(conn, t, items)
    run(engine, enrich.get(["language", "keyphrases"]), workspace_id=t.workspace_id)
    return t.workspace_id


def test_a_period_ranks_what_is_new_above_what_is_always_said(engine: Engine) -> None:
    workspace_id = _seed(engine)
    start = T0 + timedelta(hours=400)
    with Session(engine) as session:
        top = top_keyphrases(session, workspace_id, start, start + timedelta(days=1), limit=5)
        everything = top_keyphrases(session, workspace_id, T0, T0 + timedelta(days=30), limit=50)
    assert top[0].phrase == "batterie défectueuse"
    assert top[0].messages == 6
    phrases = [k.phrase for k in top]
    assert phrases.index("livraison rapide") > phrases.index("mise") > 0  # 8 messages, but usual
    assert {k.phrase: k.messages for k in everything}["livraison rapide"] == 48


def test_a_period_without_analysed_messages_has_no_keyphrases(engine: Engine) -> None:
    workspace_id = _seed(engine)
    with Session(engine) as session:
        assert top_keyphrases(session, workspace_id, T0 - timedelta(days=9), T0 - timedelta(days=8)) == []


@pytest.fixture
def cli(settings: Settings, env_for: Callable[[Settings], None]) -> Callable[..., object]:
    env_for(settings)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def test_keyphrases_appear_in_listings_and_exports(cli: Callable[..., object], tmp_path: Path) -> None:
    data = tmp_path / "comments.jsonl"
    data.write_text(json.dumps({"id": "1", "text": "Le guidon carbone craque en montée", "created_at": "2026-03-01"}))
    cli("init")
    cli("import", str(data))
    listed = cli("messages", "--json")
    assert json.loads(listed.stdout)[0]["keyphrases"] == ["guidon carbone craque", "montée"]  # type: ignore[attr-defined]
    out = tmp_path / "all.csv"
    cli("export", "--format", "csv", "--out", str(out))
    header, row = out.read_text(encoding="utf-8").splitlines()
    assert "keyphrases" in header.split(",")
    assert '"[""guidon carbone craque"",""montée""]"' in row


def test_a_period_counts_the_plural_and_the_singular_as_one_phrase(engine: Engine) -> None:
    t = target(engine)
    items = [item(f"s{i}", "Batterie défectueuse, encore", minutes=i) for i in range(3)]
    items += [item(f"p{i}", "Batteries défectueuses, encore", minutes=10 + i) for i in range(2)]
    with engine.begin() as conn:
        write_batch(conn, t, items)
    run(engine, enrich.get(["language", "keyphrases"]), workspace_id=t.workspace_id)
    with Session(engine) as session:
        top = top_keyphrases(session, t.workspace_id, T0, T0 + timedelta(hours=1))
    assert [(k.phrase, k.messages) for k in top] == [("batterie défectueuse", 5)]
    with Session(engine) as session:  # the Overview, read from the daily rollups
        shown = overview.keyphrases(session, t.workspace_id, period(T0, T0 + timedelta(days=1)))
    assert [(k.phrase, k.count) for k in shown] == [("batterie défectueuse", 5)]


def test_messages_read_by_the_previous_keyphrases_are_read_again(engine: Engine) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item("a", "Trois semaines pour une selle"), item("b", "Le guidon grince")])
    analyzers = enrich.get(["language", "keyphrases"])
    run(engine, analyzers, workspace_id=t.workspace_id)
    with engine.begin() as conn:  # as the first version of the analyzer left them
        for message_id, versions in conn.execute(select(Enrichment.message_id, Enrichment.versions)).all():
            older = {**json.loads(versions), "keyphrases": "1+" + ANALYZER.current_version().split("+")[1]}
            conn.execute(
                update(Enrichment).where(Enrichment.message_id == message_id).values(versions=json.dumps(older))
            )
    again = run(engine, analyzers, workspace_id=t.workspace_id)
    assert again.analysed == {"language": 0, "keyphrases": 2}


def test_the_demo_communitys_top_keyphrases_name_topics_not_times(engine: Engine) -> None:
    simulate(engine, workspace="demo", days=7, members=50, seed=3)
    with Session(engine) as session:
        space = session.scalars(select(Workspace).where(Workspace.slug == "demo")).one()
        first, last = session.execute(
            select(func.min(Message.created_at), func.max(Message.created_at)).where(Message.workspace_id == space.id)
        ).one()
    run(engine, enrich.get(["language", "keyphrases"]), workspace_id=space.id)
    with Session(engine) as session:
        top = [k.phrase for k in top_keyphrases(session, space.id, first, last + timedelta(seconds=1), limit=15)]
    words = {word for phrase in top for word in phrase.split()}
    assert words.isdisjoint(stopwords.plurals(stopwords.FRENCH_TIME | stopwords.ENGLISH_TIME))
    assert [phrase for phrase in top if phrase.startswith("lumen ")]  # the products
