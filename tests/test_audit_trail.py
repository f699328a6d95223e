"""The audit trail: every change a person makes is recorded with who, from where, before and after; admins read
it on the Audit page, export it and read it from the API; an admin erases a person from their page."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from accounts_support import log_in, make_user, sign_in
from pilote import platforms, privacy, tokens, workspaces
from pilote.accounts import audit, users
from pilote.config import Settings
from pilote.imports import import_file
from pilote.models import AuditEntry, Author, Message, Source
from pilote.views import explorer
from pilote.web.app import create_app

T0 = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(settings: Settings, engine: Engine, tmp_path: Path) -> Iterator[TestClient]:
    """Workspace `acme` with a small forum (rider0, rider1, rider2), nobody signed in yet."""
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="acme")
    rows = [
        {"id": f"f{n}", "created_at": (T0 + timedelta(days=n)).isoformat(), "author": f"rider{n % 3}",
         "text": f"Trottinette numéro {n}", **({"parent_id": f"f{n - 1}"} if n % 2 else {})}
        for n in range(6)
    ]  # fmt: skip
    path = tmp_path / "forum.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    import_file(engine, path, workspace="acme")
    with TestClient(create_app(settings, engine)) as served:
        yield served


def entries(engine: Engine, action: str | None = None) -> list[AuditEntry]:
    with Session(engine) as session:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        return list(session.scalars(query))


def first_message(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalars(select(Message.id).order_by(Message.id).limit(1)).one()


def author_of(engine: Engine, handle: str) -> int:
    with Session(engine) as session:
        return session.scalars(select(Author.id).where(Author.handle == handle)).one()


def test_a_label_given_on_the_web_is_audited_as_the_person_with_their_address(
    client: TestClient, engine: Engine
) -> None:
    sign_in(client, email="mod@example.org", role="moderator", workspace="acme")
    message = first_message(engine)
    assert client.post(f"/w/acme/messages/{message}/label", data={"spam": "spam"}).status_code == 200
    assert client.post(f"/w/acme/messages/{message}/label", data={"spam": "ham"}).status_code == 200
    first, second = entries(engine, "message labelled")
    assert (second.actor, second.target, second.address) == ("mod@example.org", f"message {message}", "testclient")
    assert (orjson.loads(second.before or "null"), orjson.loads(second.after or "null")) == ({"spam": "spam"},
                                                                                          {"spam": "ham"})  # fmt: skip
    assert first.before is None


def test_source_changes_are_audited_as_the_person_and_secrets_never_appear(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    sign_in(client, email="boss@example.org", role="manager", workspace="acme")
    with Session(engine) as session:
        source = session.scalars(select(Source.id)).one()
    assert client.post(f"/w/acme/sources/{source}/status", data={"status": "paused"}).status_code == 200
    [paused] = entries(engine, "source paused")
    assert (paused.actor, orjson.loads(paused.after or "null")) == ("boss@example.org", {"status": "paused"})
    with Session(engine) as session, session.begin():
        platforms.add(session, settings, workspace="acme", kind="mastodon",
                      values={"instance": "https://social.example", "follow": "velolumen",
                              "token": "s3cr3t-token-value"}, by=audit.Actor("boss@example.org"))  # fmt: skip
    [added] = entries(engine, "source added")  # a platform's secrets: their names are recorded, not their values
    assert "s3cr3t-token-value" not in (added.after or "")
    assert orjson.loads(added.after or "null")["secrets"] == ["token"]


def test_admins_read_the_log_newest_first_escaped_filtered_and_paged(client: TestClient, engine: Engine) -> None:
    message = first_message(engine)
    with Session(engine) as session, session.begin():
        space = workspaces.get(session, slug="acme").id
        query = explorer.ExplorerQuery(workspace_id=space, text="<script>alert(1)</script>")
        explorer.save(session, space, "<b>hostile</b>", query, by=audit.Actor("eve@example.org"))
        for number in range(audit.PAGE + 5):
            explorer.label(session, message, "spam", "spam" if number % 2 else "ham", by=audit.Actor("ann@example.org"))
    sign_in(client, email="root@example.org", role="admin", workspace="acme")
    page = client.get("/w/acme/audit")
    assert page.status_code == 200
    tree = lxml_html.fromstring(page.text)
    shown = [int(row) for row in tree.xpath("//tr/@data-entry")]
    assert len(shown) == audit.PAGE
    assert shown == sorted(shown, reverse=True)
    older = tree.xpath("//a[text()='Older entries']/@href")[0]
    rest = [int(row) for row in lxml_html.fromstring(client.get(older).text).xpath("//tr/@data-entry")]
    assert max(rest) < min(shown)
    assert len(shown) + len(rest) == len([e for e in entries(engine) if e.workspace_id == space])
    by_eve = client.get("/w/acme/audit?actor=eve@example.org").text
    assert len(lxml_html.fromstring(by_eve).xpath("//tr/@data-entry")) == 1
    assert "<script>alert(1)</script>" not in by_eve
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in by_eve
    assert "&lt;b&gt;hostile&lt;/b&gt;" in by_eve
    later = client.get("/w/acme/audit?since=2999-01-01").text
    assert "No entry matches these filters." in later
    assert client.get("/w/acme/audit?since=tomorrow").status_code == 422


def test_the_audit_page_and_its_link_are_for_admins_only(client: TestClient, engine: Engine) -> None:
    make_user(engine, "mod@example.org", "moderator", "acme")
    make_user(engine, "root@example.org", "admin", "acme")
    log_in(client, "mod@example.org")
    assert "/w/acme/audit" not in client.get("/w/acme/sources").text
    assert client.get("/w/acme/audit").status_code == 403
    assert client.get("/w/acme/audit.csv").status_code == 403
    client.cookies.clear()
    log_in(client, "root@example.org")
    assert 'href="/w/acme/audit"' in client.get("/w/acme/sources").text
    french = client.get("/w/acme/audit", headers={"accept-language": "fr"})
    assert "Qui a changé quoi" in french.text


def test_the_log_exports_as_csv_and_json_lines_with_formulas_defused(client: TestClient, engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        space = workspaces.get(session, slug="acme").id
        query = explorer.ExplorerQuery(workspace_id=space)
        explorer.save(session, space, "=HYPERLINK(1)", query, by=audit.Actor("=cmd|' /C calc'!A0"))
    sign_in(client, email="root@example.org", role="admin", workspace="acme")
    exported = client.get("/w/acme/audit.csv?action=saved search")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["action"] for r in rows] == ["saved search saved"]
    assert rows[0]["actor"] == "'=cmd|' /C calc'!A0"
    assert json.loads(rows[0]["after"])["name"] == "=HYPERLINK(1)"
    lines = [json.loads(line) for line in client.get("/w/acme/audit.jsonl").text.splitlines()]
    saved = [json.loads(line) for line in client.get("/w/acme/audit.jsonl?action=saved").text.splitlines()]
    assert [line["id"] for line in lines] == sorted((line["id"] for line in lines), reverse=True)
    assert saved[0]["actor"] == "=cmd|' /C calc'!A0"  # JSON is data: kept as it was


def test_the_api_gives_admins_the_log_and_records_a_token_owner_as_the_actor(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "root@example.org", "admin", "acme")
    make_user(engine, "mod@example.org", "moderator", "acme")
    with Session(engine) as session, session.begin():
        space = workspaces.get(session, slug="acme")
        admin_token, _ = tokens.create(session, workspace=space, user=users.get(session, email="root@example.org"))
        mod_token, _ = tokens.create(session, workspace=space, user=users.get(session, email="mod@example.org"))
        bare, made = tokens.create(session, workspace=space, name="robot")
    message = first_message(engine)
    labelled = client.post(f"/api/v1/messages/{message}/labels", json={"name": "spam", "value": "spam"},
                           headers={"Authorization": f"Bearer {mod_token}"})  # fmt: skip
    assert labelled.status_code == 201
    client.post(f"/api/v1/messages/{message}/labels", json={"name": "spam", "value": "ham"},
                headers={"Authorization": f"Bearer {bare}"})  # fmt: skip
    assert client.get("/api/v1/audit", headers={"Authorization": f"Bearer {mod_token}"}).status_code == 403
    answer = client.get("/api/v1/audit?action=message labelled", headers={"Authorization": f"Bearer {admin_token}"})
    assert answer.status_code == 200
    assert [e["actor"] for e in answer.json()["entries"]] == [f"token {made.id}", "mod@example.org"]


def test_an_admin_erases_a_person_from_their_page_after_typing_their_name(client: TestClient, engine: Engine) -> None:
    rider = author_of(engine, "rider1")
    make_user(engine, "mod@example.org", "moderator", "acme")
    log_in(client, "mod@example.org")
    assert "Erase this person" not in client.get(f"/w/acme/members/{rider}").text
    assert client.post(f"/w/acme/members/{rider}/erase", data={"confirm": "rider1"}).status_code == 403
    client.cookies.clear()
    sign_in(client, email="root@example.org", role="admin", workspace="acme")
    page = client.get(f"/w/acme/members/{rider}")
    assert "Erase this person on request" in page.text
    wrong = client.post(f"/w/acme/members/{rider}/erase", data={"confirm": "rider2"})
    assert wrong.status_code == 400
    assert "Nothing was erased" in wrong.text
    with Session(engine) as session:
        held = session.scalar(select(func.count()).where(Message.author_id == rider))
    done = client.post(f"/w/acme/members/{rider}/erase", data={"confirm": "rider1"})
    assert [r.status_code for r in done.history] == [303]
    assert f"their {held} messages are gone" in done.text
    with Session(engine) as session:
        assert session.get(Author, rider) is None
        reply = session.scalars(select(Message).where(Message.external_id == "f5")).one()  # rider2 answered f4
        assert reply.parent_id is None
    [erased] = entries(engine, "person erased")
    assert erased.actor == "root@example.org"


def test_an_admin_sets_the_retention_period_on_the_audit_page(client: TestClient, engine: Engine) -> None:
    sign_in(client, email="root@example.org", role="admin", workspace="acme")
    saved = client.post("/w/acme/retention", data={"days": "400"})
    assert "Retention period saved." in saved.text
    assert "Messages are kept 400 days" in saved.text
    assert client.post("/w/acme/retention", data={"days": "soon"}).status_code == 422
    client.post("/w/acme/retention", data={"days": ""})
    with Session(engine) as session:
        assert privacy.retention(session, workspaces.get(session, slug="acme").id) is None
    changes = [(orjson.loads(e.before or "null"), orjson.loads(e.after or "null"))
               for e in entries(engine, "retention changed")]  # fmt: skip
    assert changes == [({"days": None}, {"days": 400}), ({"days": 400}, {"days": None})]
