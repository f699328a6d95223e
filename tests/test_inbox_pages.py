"""The inbox in the cockpit and the API: the queue's page (tabs, filters, saved views, pages), an item's panel, the
actions (one item with its version, or many), the live feed and presence; roles and escaping."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from accounts_support import PASSWORD, log_in, make_user, sign_in
from factories import T0, item, target
from pilote import tokens, workspaces
from pilote.accounts import users
from pilote.accounts.audit import Actor
from pilote.config import Settings
from pilote.inbox import intake, queue
from pilote.inbox.items import assign
from pilote.ingest import Target, write_batch
from pilote.models import Enrichment, InboxItem, Message
from pilote.web.app import create_app

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def write(engine: Engine, where: Target, given: Iterable[Any], **judged: dict[str, Any]) -> None:
    """Write messages with their judgements (external id → columns), mark them analysed, and take them in."""
    with engine.begin() as conn:
        write_batch(conn, where, list(given))
    with Session(engine) as session, session.begin():
        ids = dict(session.execute(select(Message.external_id, Message.id)).all())
        for external_id, columns in judged.items():
            session.execute(update(Message).where(Message.id == ids[external_id]).values(**columns))
        done = set(session.scalars(select(Enrichment.message_id)))
        fresh = [{"message_id": i, "versions": "{}", "value": None, "updated_at": T0} for i in ids.values()
                 if i not in done]  # fmt: skip
        if fresh:
            session.execute(insert(Enrichment), fresh)
    intake.take_new(engine, where.workspace_id, now=T0 + timedelta(hours=1))


def fill(engine: Engine) -> Target:
    """A blog's post and its comments: a hostile question, a complaint, a thank-you."""
    where = target(engine)
    write(engine, where, [
        item("c1", HOSTILE + " quand ?", minutes=5, author="mallory"),
        item("c2", "Colis perdu, c'est inadmissible", minutes=9, author="bob"),
        item("c3", "Merci pour l'article", minutes=12, author="carol"),
    ], c1={"intent": "question"}, c2={"intent": "complaint", "sentiment": "negative"})  # fmt: skip
    return where


@pytest.fixture
def client(sqlite_settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    """The cockpit on SQLite with three items in workspace acme; nobody signed in yet."""
    fill(sqlite_engine)
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as served:
        yield served


def engine_of(client: TestClient) -> Engine:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def rows(text: str) -> list[int]:
    return [int(i) for i in lxml_html.fromstring(text).xpath("//li[contains(@class, 'inbox-row')]/@data-item")]


def item_ids(engine: Engine) -> dict[str, int]:
    """Items by their author's handle."""
    with Session(engine) as session:
        found = session.execute(
            select(InboxItem.id, Message.text).join(Message, Message.id == InboxItem.first_message_id)
        )
        by_text = {text: ident for ident, text in found}
    names = {"quand": "mallory", "Colis": "bob", "Merci": "carol"}
    return {name: ident for text, ident in by_text.items() for word, name in names.items() if word in text}


def stored(engine: Engine, ident: int) -> InboxItem:
    with Session(engine, expire_on_commit=False) as session:
        return session.get_one(InboxItem, ident)


def moderator(client: TestClient, email: str, name: str) -> int:
    """Another account, a moderator of acme."""
    with Session(engine_of(client)) as session, session.begin():
        user = users.create(session, email=email, password=PASSWORD, role="moderator", display_name=name,
                            workspace=workspaces.get(session, slug="acme"))  # fmt: skip
        session.flush()
        return user.id


def test_the_queue_shows_tabs_counts_badges_and_strangers_text_escaped(client: TestClient) -> None:
    sign_in(client)
    page = client.get("/w/acme/inbox")
    assert page.status_code == 200
    assert HOSTILE not in page.text
    assert "<script>alert(2)" not in page.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.text
    doc = lxml_html.fromstring(page.text)
    assert len(rows(page.text)) == 3
    assert rows(page.text)[0] == item_ids(engine_of(client))["bob"]  # urgent, so due first
    tabs = {a.text.strip(): a.xpath("string(span)") for a in doc.xpath("//nav[@class='tabs']/a")}
    assert tabs["To do"] == "3"
    assert tabs["New"] == "3"
    assert tabs["Overdue"] == "3"
    assert tabs["Done"] == ""
    assert doc.xpath("string(//header//a[contains(@href, '/inbox')]/span)") == "3"  # the menu's count
    assert "late by" in page.text  # opened on T0: long overdue
    badges = doc.xpath("//li[@data-item]//span[contains(@class, 'badge')]/text()")
    assert {"urgent", "question", "complaint", "negative"} <= set(badges)
    client.cookies.set("pilote_lang", "fr")
    french = client.get("/w/acme/inbox")
    assert "en retard de" in french.text
    assert "À traiter" in french.text


def test_an_analyst_reads_the_queue_and_items_but_cannot_act(client: TestClient) -> None:
    sign_in(client, email="ana@example.org", role="analyst", workspace="acme")
    ident = item_ids(engine_of(client))["bob"]
    listing = client.get("/w/acme/inbox")
    assert listing.status_code == 200
    assert 'name="ids"' not in listing.text
    assert "/bulk" not in listing.text
    panel = client.get(f"/w/acme/inbox/{ident}")
    assert panel.status_code == 200
    assert "/actions" not in panel.text
    refused = client.post(f"/w/acme/inbox/{ident}/actions", data={"action": "status", "value": "done"})
    assert refused.status_code == 403
    assert client.post("/w/acme/inbox/bulk", data={"do": "status:done", "ids": [ident]}).status_code == 403
    assert stored(engine_of(client), ident).status == "new"


def test_an_item_s_panel_shows_the_conversation_notes_and_history_escaped(client: TestClient) -> None:
    sign_in(client)
    ident = item_ids(engine_of(client))["mallory"]
    note = client.post(f"/w/acme/inbox/{ident}/notes", data={"text": "<b>ring</b> them"}, follow_redirects=False)
    assert note.status_code == 303
    page = client.get(f"/w/acme/inbox/{ident}")
    assert "&lt;b&gt;ring&lt;/b&gt; them" in page.text
    assert "<b>ring</b>" not in page.text
    assert HOSTILE not in page.text
    assert "&lt;img src=x" in page.text
    assert "internal note added" in page.text
    assert "a message opened the item" in page.text
    assert '{% include "_inbox_composer.html"' not in page.text  # the composer's place, silent until it exists
    fragment = client.get(f"/w/acme/inbox/{ident}", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert 'id="inbox-panel"' in fragment.text


def test_a_change_from_a_stale_page_answers_409_naming_who_changed_it(client: TestClient) -> None:
    camille = moderator(client, "camille@example.org", "Camille")
    ident = item_ids(engine_of(client))["bob"]
    with Session(engine_of(client)) as session, session.begin():
        assign(session, session.get_one(InboxItem, ident).workspace_id, [ident], camille,
               Actor("camille@example.org", user_id=camille), version=1)  # fmt: skip
    sign_in(client)
    stale = client.post(f"/w/acme/inbox/{ident}/actions", data={"action": "status", "value": "done", "version": 1})
    assert stale.status_code == 409
    assert "Camille changed this item meanwhile: reload" in stale.text
    assert stored(engine_of(client), ident).status == "open"  # assigned, so open; not done
    as_htmx = client.post(f"/w/acme/inbox/{ident}/actions", headers={"HX-Request": "true"},
                          data={"action": "status", "value": "done", "version": 1, "view": "row"})  # fmt: skip
    assert as_htmx.status_code == 409
    assert as_htmx.text.lstrip().startswith("<li")
    client.cookies.set("pilote_lang", "fr")
    french = client.post(f"/w/acme/inbox/{ident}/actions", data={"action": "status", "value": "done", "version": 1})
    assert "Camille a modifié cet élément entre-temps" in french.text
    fresh = client.post(f"/w/acme/inbox/{ident}/actions", data={"action": "status", "value": "done", "version": 2},
                        follow_redirects=False)  # fmt: skip
    assert fresh.status_code == 303
    assert stored(engine_of(client), ident).status == "done"


def test_bulk_actions_change_every_ticked_item(client: TestClient) -> None:
    sign_in(client)
    found = item_ids(engine_of(client))
    ticked = [found["bob"], found["carol"]]
    form = {"do": "tag:", "tag": "Livraison", "ids": ticked, "next": "/w/acme/inbox?sort=newest"}
    answer = client.post("/w/acme/inbox/bulk", data=form, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/w/acme/inbox?sort=newest")
    client.post("/w/acme/inbox/bulk", data={"do": "assign:me", "ids": ticked})
    client.post("/w/acme/inbox/bulk", data={"do": "priority:low", "ids": ticked})
    for ident in ticked:
        it = stored(engine_of(client), ident)
        assert (it.status, it.priority, it.assignee_id is not None) == ("open", 0, True)
    assert set(rows(client.get("/w/acme/inbox?tag=livraison").text)) == set(ticked)
    client.post("/w/acme/inbox/bulk", data={"do": "spam:", "ids": [found["mallory"]]})
    assert stored(engine_of(client), found["mallory"]).status == "spam"
    nothing = client.post("/w/acme/inbox/bulk", data={"do": "status:done"})
    assert nothing.status_code == 422
    assert "choose at least one item" in nothing.text


def test_filters_and_sorts_come_from_the_address(client: TestClient) -> None:
    sign_in(client)
    found = item_ids(engine_of(client))
    assert rows(client.get("/w/acme/inbox?reason=question").text) == [found["mallory"]]
    assert rows(client.get("/w/acme/inbox?priority=urgent").text) == [found["bob"]]
    assert rows(client.get("/w/acme/inbox?sentiment=negative").text) == [found["bob"]]
    newest = rows(client.get("/w/acme/inbox?sort=newest").text)
    assert newest == [found["carol"], found["bob"], found["mallory"]]
    assert rows(client.get("/w/acme/inbox?status=done").text) == []
    assert "No item matches these filters." in client.get("/w/acme/inbox?status=done").text
    wrong = client.get("/w/acme/inbox?sort=loudest")
    assert wrong.status_code == 422
    assert "sort" in wrong.text


def test_the_next_page_continues_where_the_first_ended(sqlite_settings: Settings, sqlite_engine: Engine) -> None:
    where = target(sqlite_engine)
    write(sqlite_engine, where, [item(f"m{n}", f"question {n}", minutes=n, author=f"person{n}") for n in range(55)])
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        first = client.get("/w/acme/inbox?sort=oldest")
        more = lxml_html.fromstring(first.text).xpath("string(//li[@class='more']/a/@href)")
        assert len(rows(first.text)) == 50
        assert "after=" in more
        rest = client.get(more, headers={"HX-Request": "true"})
        assert "<html" not in rest.text
        assert len(set(rows(first.text) + rows(rest.text))) == 55


def test_saved_views_are_one_s_own_or_the_team_s(client: TestClient) -> None:
    sign_in(client)
    client.post("/w/acme/inbox/views", data={"name": "Mine, late", "query": "assignee=me&overdue=true"})
    client.post("/w/acme/inbox/views", data={"name": "Complaints", "query": "intent=complaint", "shared": "yes"})
    doc = lxml_html.fromstring(client.get("/w/acme/inbox").text)
    links = {a.text: a.get("href") for a in doc.xpath("//section[@class='views']//a")}
    assert set(links) == {"Mine, late", "Complaints"}
    assert "intent=complaint" in links["Complaints"]
    client.post("/logout")
    moderator(client, "dom@example.org", "Dominique")
    log_in(client, "dom@example.org")
    doc = lxml_html.fromstring(client.get("/w/acme/inbox").text)
    assert [a.text for a in doc.xpath("//section[@class='views']//a")] == ["Complaints"]
    action = doc.xpath("string(//section[@class='views']//form[contains(@action, '/delete')]/@action)")
    assert client.post(action, follow_redirects=False).status_code == 303
    assert "Complaints" not in client.get("/w/acme/inbox").text


def test_the_live_feed_tells_who_changed_what_and_who_else_has_the_item_open(client: TestClient) -> None:
    moderator(client, "camille@example.org", "Camille")
    ident = item_ids(engine_of(client))["carol"]
    sign_in(client)
    start = client.get("/w/acme/inbox/changes?since=0").json()["last"]
    with TestClient(client.app) as other:
        log_in(other, "camille@example.org")
        assert other.get(f"/w/acme/inbox/{ident}").status_code == 200  # Camille has it open
        feed = client.get(f"/w/acme/inbox/changes?since={start}&item={ident}").json()
        assert feed["present"] == ["Camille"]
        assert feed["items"] == []
        panel = client.get(f"/w/acme/inbox/{ident}")
        assert "Camille is on this item too" in panel.text
        other.post(f"/w/acme/inbox/{ident}/actions", data={"action": "priority", "value": "high", "version": 1})
        feed = client.get(f"/w/acme/inbox/changes?since={start}").json()
        assert [(c["id"], c["version"], c["by"]) for c in feed["items"]] == [(ident, 2, "Camille")]
        assert client.get(f"/w/acme/inbox/changes?since={feed['last']}").json()["items"] == []
        assert other.post(f"/w/acme/inbox/{ident}/left").status_code == 204
        assert client.get(f"/w/acme/inbox/changes?item={ident}").json()["present"] == []


def test_the_api_reads_for_analysts_and_acts_for_moderators(client: TestClient) -> None:
    engine = engine_of(client)
    make_user(engine, "ana@example.org", "analyst", "acme")
    make_user(engine, "mod@example.org", "moderator", "acme")
    with Session(engine) as session, session.begin():
        space = workspaces.get(session, slug="acme")
        reader, _ = tokens.create(session, workspace=space, user=users.get(session, email="ana@example.org"))
        actor, _ = tokens.create(session, workspace=space, user=users.get(session, email="mod@example.org"))
    found = item_ids(engine)
    listing = client.get("/api/v1/inbox?reason=question", headers={"Authorization": f"Bearer {reader}"})
    assert listing.status_code == 200
    assert [i["id"] for i in listing.json()["items"]] == [found["mallory"]]
    assert listing.json()["counts"]["new"] == 3
    one = client.get(f"/api/v1/inbox/{found['mallory']}", headers={"Authorization": f"Bearer {reader}"}).json()
    assert one["conversation"][0]["message"]["text"].startswith(HOSTILE)  # JSON carries the text as it is
    body = {"items": [found["bob"]], "action": "status", "value": "done", "version": 1}
    refused = client.post("/api/v1/inbox/actions", json=body, headers={"Authorization": f"Bearer {reader}"})
    assert refused.status_code == 403
    done = client.post("/api/v1/inbox/actions", json=body, headers={"Authorization": f"Bearer {actor}"})
    assert done.json() == {"changed": [found["bob"]]}
    stale = client.post("/api/v1/inbox/actions", json=body, headers={"Authorization": f"Bearer {actor}"})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "conflict"
    note = client.post(f"/api/v1/inbox/{found['bob']}/notes", json={"text": "called back"},
                       headers={"Authorization": f"Bearer {actor}"})  # fmt: skip
    assert note.status_code == 201
    assert note.json()["by"] == "mod"
    spec = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {reader}"}).json()
    assert "moderator" in spec["paths"]["/api/v1/inbox/actions"]["post"]["description"]


def test_the_inbox_works_on_both_stores(settings: Settings, engine: Engine) -> None:
    fill(engine)
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client)
        found = item_ids(engine)
        assert len(rows(client.get("/w/acme/inbox").text)) == 3
        client.post("/w/acme/inbox/bulk", data={"do": "assign:me", "ids": list(found.values())})
        assert len(rows(client.get("/w/acme/inbox?assignee=me&sort=oldest").text)) == 3
        stale = client.post(f"/w/acme/inbox/{found['bob']}/actions", data={"action": "spam", "version": 1})
        assert stale.status_code == 409
        assert client.get(f"/w/acme/inbox/changes?since=0&item={found['bob']}").json()["last"] > 0


def test_a_fresh_workspace_says_how_items_arrive(sqlite_settings: Settings, sqlite_engine: Engine) -> None:
    target(sqlite_engine)
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        page = client.get("/w/acme/inbox")
        assert "No conversation has arrived yet." in page.text
        assert rows(page.text) == []
        assert "Nothing waits" not in page.text


def test_tab_counts_can_stop_at_a_cap_so_that_a_huge_queue_costs_no_more(client: TestClient) -> None:
    engine = engine_of(client)
    with Session(engine) as session:
        space = workspaces.get(session, slug="acme").id
        exact = queue.tab_counts(session, space, None)
        capped = queue.tab_counts(session, space, None, cap=2)
    assert (exact["new"], exact["unassigned"], exact["overdue"]) == (3, 3, 3)
    assert (capped["new"], capped["unassigned"], capped["overdue"], capped["open"]) == (2, 2, 2, 0)


def test_inbox_errors_are_said_in_french_on_a_french_page(client: TestClient) -> None:
    sign_in(client)
    client.cookies.set("pilote_lang", "fr")
    missing = client.get("/w/acme/inbox/99999999")
    assert missing.status_code == 404
    assert "aucun élément 99999999 dans la boîte de réception de cet espace" in missing.text
    ident = item_ids(engine_of(client))["bob"]
    refused = client.post(f"/w/acme/inbox/{ident}/actions", data={"action": "assign", "value": "quelqu'un"})
    assert refused.status_code == 422
    assert "responsable &#34;quelqu&#39;un&#34; : indiquez me, none ou un numéro de compte" in refused.text
    client.cookies.set("pilote_lang", "en")
    assert "no inbox item 99999999 in this workspace" in client.get("/w/acme/inbox/99999999").text


def test_the_inbox_links_to_its_rules_saved_replies_and_team_figures(client: TestClient) -> None:
    sign_in(client)
    page = lxml_html.fromstring(client.get("/w/acme/inbox").text)
    links = page.xpath("//nav[contains(@class, 'inbox-links')]/a/@href")
    assert links == ["/w/acme/inbox/rules", "/w/acme/inbox/replies", "/w/acme/inbox/figures"]
    for href in links:
        assert client.get(href).status_code == 200
