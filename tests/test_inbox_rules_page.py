"""The inbox's Rules page: managers build, preview, reorder, switch and delete rules; others read; forms need the
session's anti-forgery token; problems are shown next to their field, in French and English; names are text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from accounts_support import sign_in
from factories import item, target
from pilote import inbox
from pilote.config import Settings
from pilote.inbox import rules
from pilote.inbox.items import COMMAND_LINE
from pilote.ingest import write_batch
from pilote.models import InboxRule, Message, utcnow
from pilote.web.app import create_app
from pilote.web.pages import rules as page_rules


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """A blog with three comments of the last days, nobody signed in yet."""
    where = target(engine)
    with engine.begin() as conn:
        write_batch(conn, where, [
            item("post", "Nouveau vélo", author="blog"),
            item("c1", "Je veux être REMBOURSÉ", parent="post", thread="post", minutes=5),
            item("c2", "Quand est-ce livré ?", parent="post", thread="post", minutes=6, author="bob"),
            item("c3", "Super article", parent="post", thread="post", minutes=7, author="carol"),
        ])  # fmt: skip
        conn.execute(update(Message).values(created_at=utcnow() - timedelta(days=2)))
    with TestClient(create_app(settings, engine)) as served:
        yield served


def form(**fields: str) -> dict[str, str]:
    return {"name": "Refunds", "enabled": "1", "intent": "preview"} | fields


def listed(engine: Engine) -> list[tuple[str, int, bool]]:
    with Session(engine) as session:
        found = session.scalars(select(InboxRule).order_by(InboxRule.position))
        return [(r.name, r.position, r.enabled) for r in found]


def test_an_analyst_reads_the_rules_and_cannot_change_them(client: TestClient, engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        workspace_id = session.scalar(select(Message.workspace_id))
        assert workspace_id is not None
        rules.create(session, workspace_id, {"name": "Spam", "conditions": [{"key": "spam", "min": 0.9}],
                                             "actions": [{"type": "hide"}]}, COMMAND_LINE)  # fmt: skip
    sign_in(client, email="ana@example.org", role="analyst", workspace="acme")
    page = client.get("/w/acme/inbox/rules")
    assert page.status_code == 200
    tree = lxml_html.fromstring(page.text)
    assert tree.xpath("//section[@data-list='rules']//tr[@data-rule]//td[2]/text()")[0].strip() == "Spam"
    assert not tree.xpath("//section[@data-form]")
    assert client.post("/w/acme/inbox/rules", data=form(intent="save")).status_code == 403
    assert listed(engine) == [("Spam", 1, True)]


def test_a_manager_previews_then_saves_a_rule_then_moves_switches_and_deletes(
    client: TestClient, engine: Engine
) -> None:
    sign_in(client, email="lead@example.org", role="manager", workspace="acme")
    fields = form(cond_key_0="keywords_any", cond_value_0="remboursé, refund", act_type_0="tag", act_value_0="refund",
                  act_type_1="priority", act_value_1="urgent")  # fmt: skip
    shown = client.post("/w/acme/inbox/rules", data=fields)
    assert shown.status_code == 200
    tree = lxml_html.fromstring(shown.text)
    assert tree.xpath("//section[@data-preview]/p/@data-matched") == ["1"]
    assert "REMBOURSÉ" in tree.xpath("string(//section[@data-preview]//td[@class='text'])")
    assert listed(engine) == []  # a preview saves nothing
    saved = client.post("/w/acme/inbox/rules", data=fields | {"intent": "save"}, follow_redirects=False)
    assert saved.status_code == 303
    client.post("/w/acme/inbox/rules", data=form(name="Second", act_type_0="hide", intent="save"))
    assert listed(engine) == [("Refunds", 1, True), ("Second", 2, True)]
    with Session(engine) as session:
        second = session.scalars(select(InboxRule.id).where(InboxRule.name == "Second")).one()
    client.post(f"/w/acme/inbox/rules/{second}/move", data={"direction": "up"})
    client.post(f"/w/acme/inbox/rules/{second}/enabled", data={"enabled": ""})
    assert listed(engine) == [("Second", 1, False), ("Refunds", 2, True)]
    edit = lxml_html.fromstring(client.get(f"/w/acme/inbox/rules?edit={second}").text)
    assert edit.xpath("//select[@name='act_type_0']/option[@selected]/@value") == ["hide"]
    client.post(f"/w/acme/inbox/rules/{second}/delete")
    assert listed(engine) == [("Refunds", 1, True)]


def test_problems_are_shown_next_to_their_field_in_the_reader_s_language(client: TestClient) -> None:
    sign_in(client, email="lead@example.org", role="manager", workspace="acme")
    fields = form(cond_key_0="intent", cond_value_0="question", cond_key_2="sentiment", cond_value_2="furieux",
                  act_type_0="hide")  # fmt: skip
    english = client.post("/w/acme/inbox/rules", data=fields, headers={"Accept-Language": "en"})
    assert english.status_code == 422
    tree = lxml_html.fromstring(english.text)
    assert tree.xpath("//*[@data-error]/@data-error") == ["cond-2"]
    shown = tree.xpath("string(//*[@data-error='cond-2'])")
    assert "This condition cannot be used: 'furieux' is not one of positive, neutral, negative" in shown
    assert tree.xpath("//input[@name='cond_value_2']/@value") == ["furieux"]  # what was typed is kept
    client.cookies.set("pilote_lang", "fr")
    french = client.post("/w/acme/inbox/rules", data=form(act_type_0="priority", act_value_0="énorme"),
                         headers={"Accept-Language": "fr"})  # fmt: skip
    tree = lxml_html.fromstring(french.text)
    assert tree.xpath("//*[@data-error]/@data-error") == ["act-0"]
    shown = tree.xpath("string(//*[@data-error='act-0'])")
    assert "Cette action ne peut pas servir : la priorité est l'une de low, normal, high, urgent" in shown


def test_forms_without_the_session_s_token_are_refused(client: TestClient, engine: Engine) -> None:
    sign_in(client, email="lead@example.org", role="manager", workspace="acme")
    token = client.headers.pop("X-CSRF-Token")
    assert client.post("/w/acme/inbox/rules", data=form(act_type_0="hide", intent="save")).status_code == 403
    assert listed(engine) == []
    client.headers["X-CSRF-Token"] = token
    assert client.post("/w/acme/inbox/rules", data=form(act_type_0="hide", intent="save")).status_code == 200


def test_a_rule_s_name_is_shown_as_text(client: TestClient) -> None:
    sign_in(client, email="lead@example.org", role="manager", workspace="acme")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    client.post("/w/acme/inbox/rules", data=form(name=evil, act_type_0="tag", act_value_0="a", intent="save"))
    page = client.get("/w/acme/inbox/rules").text
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_every_problem_the_checks_can_raise_is_in_the_catalogues() -> None:
    source = "".join((Path(inbox.__file__).parent / name).read_text() for name in ("conditions.py", "rules.py",
                                                                                     "preview.py"))  # fmt: skip
    raised = set(re.findall(r'RuleError\([^,]+, "([^"]+)"', source)) | set(re.findall(r'problem = "([^"]+)"', source))
    assert raised == page_rules.PROBLEMS
