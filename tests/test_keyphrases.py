from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine
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


def test_french_phrases_stop_at_stop_words_punctuation_and_elisions() -> None:
    text = "Le changement de batterie du vélo électrique a pris trois semaines. L'application ne marche plus !"
    assert extract(text, "fr") == ["vélo électrique", "trois semaines", "changement", "batterie", "application"]


def test_english_phrases_leave_out_chatter_and_vague_praise() -> None:
    text = "Thanks so much!! The battery charger stopped working after the firmware update, lol. Great bike though"
    assert extract(text, "en") == ["battery charger stopped", "firmware update", "working", "bike"]


def test_words_repeated_in_a_message_lift_their_phrases() -> None:
    text = "Service client ? Remboursement demandé le 3 mars : toujours pas de remboursement !"
    assert extract(text, "fr") == ["remboursement demandé", "service client", "remboursement", "mars"]


def test_links_mentions_numbers_and_emoji_are_never_part_of_a_phrase() -> None:
    text = "@zoe regarde https://shop.example/velo?id=3 le casque 2024 😍 casque rouge #promo"
    assert extract(text, "fr") == ["casque rouge", "casque", "regarde"]


def test_languages_without_a_stop_word_list_get_no_keyphrases() -> None:
    assert extract("Der neue Sattel ist wirklich bequem, danke für den Tipp", "de") == []
    assert extract("Selle confortable, thanks for the advice", "und") == ["selle confortable", "advice"]


def test_the_stop_word_lists_are_lower_case_and_cover_grammar_words() -> None:
    for words in (stopwords.FRENCH, stopwords.ENGLISH):
        assert all(word == word.lower() and " " not in word for word in words)
    assert {"le", "la", "les", "de", "des", "est", "pas", "que", "qui", "nous"} <= stopwords.FRENCH
    assert {"the", "a", "of", "is", "not", "that", "which", "we", "you", "they're"} <= stopwords.ENGLISH


def test_the_analyzer_uses_the_language_of_each_message() -> None:
    texts = [
        Text(id=1, kind="comment", title=None, text="La livraison est arrivée en retard", language="fr"),
        Text(id=2, kind="comment", title=None, text="Die Lieferung kam zu spät", language="de"),
    ]
    assert ANALYZER.analyze(texts) == [{"keyphrases": ["livraison", "arrivée", "retard"]}, {"keyphrases": []}]


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
