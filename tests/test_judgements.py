"""Badges that say how sure they are: each judgement's confidence and who made it, in the cockpit and the API;
the spam analyzer's reasons beside the spam badge."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import html
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from accounts_support import sign_in
from factories import item, target
from pilote import tokens, workspaces
from pilote.config import Settings
from pilote.ingest import write_batch
from pilote.models import Enrichment, Label, Message
from pilote.views import judgements
from pilote.web.app import create_app

HOSTILE = "<img src=x onerror=alert(1)>"
REASONS = [["name_commerce", 2.5], ["links", 1.25], [HOSTILE, 0.5], ["copies", 0.25]]


def _analysed(engine: Engine, external_id: str, columns: dict[str, Any], extras: dict[str, Any]) -> int:
    """Give a written message the columns and extras an analysis would have stored."""
    with Session(engine) as session, session.begin():
        message_id = session.query(Message.id).filter(Message.external_id == external_id).scalar()
        session.execute(update(Message).where(Message.id == message_id).values(**columns))
        session.add(Enrichment(message_id=message_id, versions="{}", value=json.dumps(extras)))
    return int(message_id)


@pytest.fixture
def store(engine: Engine) -> dict[str, int]:
    """A spam message with reasons, a member's message the model is unsure of, one a person labelled."""
    into = target(engine)
    with engine.begin() as conn:
        write_batch(conn, into, [item("spam", "Cheap stoves here"), item("unsure", "Bof, le vélo"),
                                 item("labelled", "Merci !")])  # fmt: skip
    spam = _analysed(
        engine, "spam",
        {"language": "en", "sentiment": "neutral", "sentiment_score": 0.7, "spam_probability": 0.92,
         "toxicity_probability": 0.03, "intent": "other"},
        {"sentiment": {"probabilities": {"negative": 0.1, "neutral": 0.7, "positive": 0.2}},
         "intent": {"probabilities": {"other": 0.81, "question": 0.19}}, "spam": {"reasons": REASONS}},
    )  # fmt: skip
    unsure = _analysed(
        engine, "unsure",
        {"language": "fr", "sentiment": "negative", "sentiment_score": 0.55, "spam_probability": 0.2,
         "toxicity_probability": 0.71, "intent": "complaint"},
        {"intent": {"probabilities": {"complaint": 0.4, "praise": 0.35, "question": 0.25}}},
    )  # fmt: skip
    labelled = _analysed(engine, "labelled", {"sentiment": "negative", "sentiment_score": 0.9,
                                              "spam_probability": 0.8}, {})  # fmt: skip
    with Session(engine) as session, session.begin():
        session.add_all([Label(message_id=labelled, name="sentiment", value="positive", origin="user"),
                         Label(message_id=labelled, name="spam", value="ham", origin="import")])  # fmt: skip
    return {"spam": spam, "unsure": unsure, "labelled": labelled}


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as client:
        yield sign_in(client)


def _api(engine: Engine, client: TestClient, message_id: int) -> dict[str, Any]:
    with Session(engine) as session, session.begin():
        token, _ = tokens.create(session, workspace=workspaces.get(session, slug="acme"), name="tests")
    response = client.get(f"/api/v1/messages/{message_id}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_the_api_gives_each_judgement_its_value_confidence_and_source(
    engine: Engine, client: TestClient, store: dict[str, int]
) -> None:
    card = _api(engine, client, store["spam"])
    assert card["judgements"] == {
        "language": {"value": "en", "confidence": None, "source": "model", "reasons": []},
        "sentiment": {"value": "neutral", "confidence": 0.7, "source": "model", "reasons": []},
        "intent": {"value": "other", "confidence": 0.81, "source": "model", "reasons": []},
        "spam": {"value": True, "confidence": 0.92, "source": "model", "reasons": [
            {"code": "name_commerce", "weight": 2.5}, {"code": "links", "weight": 1.25},
            {"code": HOSTILE, "weight": 0.5}]},
        "toxicity": {"value": False, "confidence": 0.97, "source": "model", "reasons": []},
    }  # fmt: skip
    assert (card["spam"], card["spam_probability"], card["sentiment"]) == (True, 0.92, "neutral")  # kept as they were


def test_a_persons_label_is_the_judgement_with_no_model_confidence(
    engine: Engine, client: TestClient, store: dict[str, int]
) -> None:
    judged = _api(engine, client, store["labelled"])["judgements"]
    assert judged["sentiment"] == {"value": "positive", "confidence": None, "source": "person", "reasons": []}
    assert judged["spam"] == {"value": False, "confidence": None, "source": "person", "reasons": []}
    assert "intent" not in judged
    assert "toxicity" not in judged


def test_the_model_says_how_sure_it_is_of_the_value_it_shows(
    engine: Engine, client: TestClient, store: dict[str, int]
) -> None:
    judged = _api(engine, client, store["unsure"])["judgements"]
    assert judged["spam"] == {"value": False, "confidence": 0.8, "source": "model", "reasons": []}
    assert judged["toxicity"]["value"] is True
    assert judged["toxicity"]["confidence"] == 0.71
    assert judged["sentiment"]["confidence"] == 0.55  # no stored probabilities: the column's score
    assert judged["intent"]["confidence"] == 0.4


def _badges(client: TestClient, message_id: int, language: str) -> html.HtmlElement:
    client.cookies.set("pilote_lang", language)
    page = client.get(f"/w/acme/threads/{message_id}")
    assert page.status_code == 200
    [article] = html.fromstring(page.text).xpath("//article[@data-message=$id]", id=str(message_id))
    return article


def _text(element: html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def test_badges_show_the_confidence_in_english_and_french(client: TestClient, store: dict[str, int]) -> None:
    english = _badges(client, store["spam"], "en")
    [spam] = english.xpath(".//span[contains(@class, 'badge spam')]")
    assert _text(spam) == "spam · 92%"
    assert spam.get("title") == "the model is 92% sure"
    [sentiment] = english.xpath(".//span[contains(@class, 'badge neutral')]")
    assert (_text(sentiment), sentiment.get("title")) == ("sentiment: neutral · 70%", "the model is 70% sure")
    french = _badges(client, store["spam"], "fr")
    [spam] = french.xpath(".//span[contains(@class, 'badge spam')]")
    assert _text(spam) == "spam · 92 %"
    [intent] = french.xpath(".//span[contains(@class, 'badge other')]")
    assert _text(intent) == "intention: autre · 81 %"
    assert intent.get("title") == "le modèle en est sûr à 81\u00a0%"


def test_a_badge_the_model_is_unsure_of_says_so(client: TestClient, store: dict[str, int]) -> None:
    english = _badges(client, store["unsure"], "en")
    [sentiment] = english.xpath(".//span[contains(@class, 'badge negative')]")
    assert "unsure" in sentiment.get("class").split()
    assert _text(sentiment) == "sentiment: negative · 55% · unsure"
    assert sentiment.get("title") == "the model is 55% sure"
    [toxic] = english.xpath(".//span[contains(@class, 'badge toxic')]")
    assert "unsure" not in toxic.get("class").split()
    assert english.xpath(".//span[contains(@class, 'badge spam')]") == []  # 20 %: not called spam
    french = _badges(client, store["unsure"], "fr")
    assert _text(french.xpath(".//span[contains(@class, 'badge negative')]")[0]).endswith("55 % · incertain")


def test_a_persons_label_shows_without_a_percentage(client: TestClient, store: dict[str, int]) -> None:
    article = _badges(client, store["labelled"], "en")
    [sentiment] = article.xpath(".//span[contains(@class, 'badge positive')]")
    assert _text(sentiment) == "sentiment: positive"
    assert sentiment.get("title") == "set by a person or the source"
    assert article.xpath(".//span[contains(@class, 'badge spam')]") == []


def test_spam_shows_its_three_strongest_reasons_escaped_and_unknown_codes_as_they_are(
    client: TestClient, store: dict[str, int]
) -> None:
    page = client.get(f"/w/acme/threads/{store['spam']}").text
    assert HOSTILE not in page
    article = _badges(client, store["spam"], "en")
    reasons = article.xpath(".//span[@class='reasons']/span[@class='reason']")
    assert [_text(r) for r in reasons] == ["the author's name is made of shopping words", "links in the text", HOSTILE]
    assert reasons[0].get("title") == "weight 2.5"
    assert _text(article.xpath(".//span[@class='reasons']")[0]).startswith("why:")


def test_reasons_read_their_phrase_when_the_code_is_known(client: TestClient, store: dict[str, int]) -> None:
    english = _badges(client, store["spam"], "en")
    french = _badges(client, store["spam"], "fr")
    assert [_text(r) for r in english.xpath(".//span[@class='reason']")][1] == "links in the text"
    assert [_text(r) for r in french.xpath(".//span[@class='reason']")][1] == "des liens dans le texte"


def test_reasons_absent_or_unreadable_show_nothing() -> None:
    assert judgements.reasons(None) == []
    assert judgements.reasons(json.dumps({"spam": {"reasons": "link"}})) == []
    mixed = {"spam": {"reasons": [["link", 1], ["bad"], [3, 1.0], ["flag", True], ["burst", 0.5]]}}
    assert judgements.reasons(json.dumps(mixed)) == [judgements.Reason("link", 1.0), judgements.Reason("burst", 0.5)]
