"""The Explorer read at a glance: how many messages match, the searched words marked, label controls folded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from accounts_support import sign_in
from factories import item, target
from pilote.config import Settings
from pilote.ingest import write_batch
from pilote.linking import relink
from pilote.models import Message
from pilote.views import explorer as views
from pilote.views import threads
from pilote.web import i18n
from pilote.web.app import create_app
from pilote.web.highlight import marked

HOSTILE = '<script>alert("vélo")</script> <b onclick="x()">Vélos</b> & velours'


def write(engine: Engine, texts: list[str]) -> int:
    """Messages with these texts in workspace `acme`; its id."""
    where = target(engine)
    with engine.begin() as conn:
        write_batch(conn, where, [item(f"m{n}", text, minutes=n) for n, text in enumerate(texts)])
    return where.workspace_id


@pytest.fixture
def client(sqlite_settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        yield client


def test_a_search_counts_its_matches_up_to_a_cap(engine: Engine) -> None:
    space = write(engine, ["un vélo rouge"] * 12 + ["une voiture"] * 5)
    with Session(engine) as session:
        assert views.count(session, views.ExplorerQuery(workspace_id=space, text="velo")) == views.Count(12, False)
        assert views.count(session, views.ExplorerQuery(workspace_id=space)) == views.Count(17, False)
        assert views.count(session, views.ExplorerQuery(workspace_id=space, text="velo"), cap=10) == views.Count(
            10, True
        )


def test_the_explorer_says_how_many_messages_match_in_the_reader_s_language(
    client: TestClient, sqlite_engine: Engine
) -> None:
    write(sqlite_engine, ["un vélo rouge"] * 1234 + ["une voiture"] * 3)
    english = lxml_html.fromstring(client.get("/w/acme/explorer?q=velo").text)
    assert english.xpath("normalize-space(//p[@class='count'])") == "1,234 messages"
    client.cookies.set(i18n.LANGUAGE_COOKIE, "fr")
    french = lxml_html.fromstring(client.get("/w/acme/explorer?q=velo").text)
    assert french.xpath("string(//p[@class='count'])").strip() == "1\u202f234 messages"


def test_beyond_the_cap_the_count_says_more_than(client: TestClient, sqlite_engine: Engine) -> None:
    write(sqlite_engine, ["un vélo rouge"] * (views.COUNT_CAP + 1))
    page = lxml_html.fromstring(client.get("/w/acme/explorer").text)
    assert page.xpath("normalize-space(//p[@class='count'])") == "more than 10,000 messages"


def test_the_searched_words_are_marked_and_the_text_stays_escaped(client: TestClient, sqlite_engine: Engine) -> None:
    write(sqlite_engine, [HOSTILE, "rien à voir"])
    answer = client.get("/w/acme/explorer?q=velo")
    page = lxml_html.fromstring(answer.text)
    body = page.xpath("//article[@data-message]//div[@class='body']")
    assert len(body) == 1
    assert body[0].xpath(".//mark/text()") == ["vélo", "Vélos", "velours"]
    assert body[0].text_content() == HOSTILE
    assert not page.xpath("//main//script | //main//b")
    assert "&lt;script&gt;" in answer.text


def test_marking_escapes_the_text_first() -> None:
    assert str(marked("<i>chat</i> & chats", "chat")) == "&lt;i&gt;<mark>chat</mark>&lt;/i&gt; &amp; <mark>chats</mark>"
    assert str(marked("un <mark>", "mark")) == "un &lt;<mark>mark</mark>&gt;"
    assert str(marked("Élan, élans et éléphants", "elan")) == "<mark>Élan</mark>, <mark>élans</mark> et éléphants"
    assert str(marked("le vélo du chat", "velo chat")) == "le <mark>vélo</mark> du <mark>chat</mark>"
    assert str(marked("<b>", "")) == "&lt;b&gt;"


def test_label_controls_are_folded_under_one_word(client: TestClient, sqlite_engine: Engine) -> None:
    write(sqlite_engine, ["un message", "un autre"])
    page = lxml_html.fromstring(client.get("/w/acme/explorer").text)
    cards = page.xpath("//article[@data-message]")
    assert len(cards) == 2
    for card in cards:
        folded = card.xpath(".//details[contains(@class, 'labeller')]")
        assert len(folded) == 1
        assert folded[0].get("open") is None
        assert folded[0].xpath("normalize-space(summary)") == "Label"
        assert card.xpath(".//form//button[@name='spam']") == folded[0].xpath(".//form//button[@name='spam']")


def test_a_conversation_whose_post_is_missing_says_so_and_holds_every_comment(
    client: TestClient, sqlite_engine: Engine
) -> None:
    where = target(sqlite_engine)
    comments = [item("c1", "premier", parent="post", thread="post", minutes=1), item("c2", "deux", parent="c1",
                thread="post", minutes=2), item("c3", "trois", parent="post", thread="post", minutes=3)]  # fmt: skip
    with sqlite_engine.begin() as conn:
        write_batch(conn, where, comments)
        relink(conn, source_id=where.source_id)
    with Session(sqlite_engine) as session:
        ids = dict(session.execute(select(Message.external_id, Message.id)).all())
        found = threads.thread(session, ids["c3"])
    assert (found.root.id, found.messages, found.post_missing) == (ids["c1"], 3, True)
    notice = "//p[@class='notice'][contains(., 'is not in Pilote')]"
    assert lxml_html.fromstring(client.get(f"/w/acme/threads/{ids['c3']}").text).xpath(notice)
    with sqlite_engine.begin() as conn:
        write_batch(conn, where, [item("post", "le billet")])
        relink(conn, source_id=where.source_id)
    with Session(sqlite_engine) as session:
        found = threads.thread(session, ids["c3"])
    assert (found.root.text, found.messages, found.post_missing) == ("le billet", 4, False)
    assert not lxml_html.fromstring(client.get(f"/w/acme/threads/{ids['c3']}").text).xpath(notice)
