"""The Team page of a workspace and the My account page: people, roles, passwords, sessions, API tokens."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import orjson
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import PASSWORD, engine_of, log_in, make_user, sign_in, smtp_peer
from pilote import workspaces
from pilote.accounts import audit, sessions, users
from pilote.cli import app as cli
from pilote.config import Settings
from pilote.models import Membership, User
from pilote.web.app import create_app

NEW_PASSWORD = "a brand new long password"


@pytest.fixture
def served(sqlite_settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    """The cockpit on a SQLite store with the workspace acme, nobody signed in."""
    with Session(sqlite_engine) as session, session.begin():
        workspaces.create(session, slug="acme", name="Acme")
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        yield client


def user_id(engine: Engine, email: str) -> int:
    with Session(engine) as session:
        return users.get(session, email=email).id


def role_of(engine: Engine, email: str) -> str | None:
    with Session(engine) as session:
        return session.scalar(select(Membership.role).join(User).where(User.email == email))


def rows(page: str) -> dict[str, list[str]]:
    """The Team table: each person's e-mail to the texts of their cells."""
    tree = lxml_html.fromstring(page)
    found = {}
    for row in tree.xpath("//table[@class='team']/tbody/tr"):
        cells = [" ".join(cell.text_content().split()) for cell in row.xpath("./td")]
        found[cells[1]] = cells
    return found


def shown_link(page: str) -> str:
    match = re.search(r'value="http://testserver(/password/reset\?token=[^"]+)"', page)
    assert match is not None, "no set-password link on the page"
    return match.group(1)


# --- the Team page ---


def test_an_admin_adds_a_new_person_who_chooses_a_password_with_the_link_shown_once(served: TestClient) -> None:
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    added = served.post("/w/acme/team", data={"email": "Bob@Example.org", "name": "Bob", "role": "moderator"})
    assert added.status_code == 200
    assert "This cockpit sends no e-mail." in added.text
    link = shown_link(added.text)
    assert link not in served.get("/w/acme/team").text  # shown in that answer only
    engine = engine_of(served)
    assert role_of(engine, "bob@example.org") == "moderator"
    assert rows(served.get("/w/acme/team").text)["bob@example.org"][4] == "has not signed in yet"

    with TestClient(served.app) as bob:
        assert bob.get(link).status_code == 200
        token = link.split("=", 1)[1]
        done = bob.post("/password/reset", data={"token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                        follow_redirects=False)  # fmt: skip
        assert done.headers["location"] == "/login?done=reset"
        log_in(bob, "bob@example.org", NEW_PASSWORD)
        assert bob.get("/w/acme/explorer").status_code == 200
    assert rows(served.get("/w/acme/team").text)["bob@example.org"][4] == "active"
    with Session(engine) as session:
        entries = [(e.actor, e.action, e.target) for e in audit.get_all(session)]
    assert ("ada@example.org", "user created", "bob@example.org") in entries


def test_an_existing_account_gets_the_role_at_once_and_twice_is_refused(served: TestClient) -> None:
    with Session(engine_of(served)) as session, session.begin():
        workspaces.create(session, slug="other")
    make_user(engine_of(served), "carla@example.org", "manager", "other")
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    added = served.post("/w/acme/team", data={"email": "carla@example.org", "role": "analyst"}, follow_redirects=False)
    assert added.status_code == 303
    assert "token=" not in added.headers["location"]
    assert "carla is in the team." in served.get(added.headers["location"]).text
    again = served.post("/w/acme/team", data={"email": "CARLA@example.org", "role": "admin"})
    assert again.status_code == 422
    assert "already has a role in this workspace" in again.text
    bad = served.post("/w/acme/team", data={"email": "not an address", "role": "analyst"})
    assert bad.status_code == 422
    assert "Give a valid e-mail" in bad.text
    assert 'value="not an address"' in bad.text  # the form comes back as it was typed


def test_the_team_lists_names_emails_roles_last_seen_and_state_escaped(served: TestClient) -> None:
    engine = engine_of(served)
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    make_user(engine, "eve@example.org", "analyst", "acme")
    with Session(engine) as session, session.begin():
        eve = users.get(session, email="eve@example.org")
        users.set_name(session, user=eve, name="<script>alert(1)</script>", actor="test")
        users.disable(session, user=eve)
    page = served.get("/w/acme/team")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    people = rows(page.text)
    assert people["ada@example.org"][0] == "ada you"
    assert people["ada@example.org"][3] != "never"  # signed in just now
    assert people["eve@example.org"][3:5] == ["never", "disabled"]
    assert "Team" in lxml_html.fromstring(page.text).xpath("string(//header//a[@aria-current='page'])")


def test_an_admin_changes_a_role_and_removes_someone_through_the_audited_services(served: TestClient) -> None:
    engine = engine_of(served)
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    make_user(engine, "bob@example.org", "analyst", "acme")
    bob = user_id(engine, "bob@example.org")
    changed = served.post(f"/w/acme/team/{bob}/role", data={"role": "manager"}, follow_redirects=False)
    assert changed.headers["location"] == f"/w/acme/team?done=role&who={bob}"
    assert role_of(engine, "bob@example.org") == "manager"
    removed = served.post(f"/w/acme/team/{bob}/remove", follow_redirects=False)
    assert removed.status_code == 303
    assert role_of(engine, "bob@example.org") is None
    assert "bob@example.org" not in rows(served.get("/w/acme/team").text)
    with Session(engine) as session:
        assert users.get(session, email="bob@example.org").disabled_at is None  # the account stays
        changes = [(e.actor, e.before, e.after) for e in audit.get_all(session) if e.action == "role changed"]
    assert changes[:2] == [("ada@example.org", {"role": "manager"}, {"role": None}),
                           ("ada@example.org", {"role": "analyst"}, {"role": "manager"})]  # fmt: skip


def test_the_last_admin_cannot_demote_or_remove_themself(served: TestClient) -> None:
    engine = engine_of(served)
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    ada = user_id(engine, "ada@example.org")
    for answer in (served.post(f"/w/acme/team/{ada}/role", data={"role": "analyst"}),
                   served.post(f"/w/acme/team/{ada}/remove")):  # fmt: skip
        assert answer.status_code == 422
        assert "last admin" in answer.text
    assert role_of(engine, "ada@example.org") == "admin"
    make_user(engine, "bob@example.org", "admin", "acme")
    stepped_down = served.post(f"/w/acme/team/{ada}/role", data={"role": "moderator"}, follow_redirects=False)
    assert stepped_down.headers["location"] == "/"  # the Team page is no longer hers
    assert role_of(engine, "ada@example.org") == "moderator"
    assert served.get("/w/acme/team").status_code == 403


def test_an_admin_of_every_workspace_keeps_that_role_and_is_not_counted_out(served: TestClient) -> None:
    engine = engine_of(served)
    make_user(engine, "root@example.org")  # admin of every workspace
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    root = user_id(engine, "root@example.org")
    refused = served.post(f"/w/acme/team/{root}/role", data={"role": "analyst"})
    assert refused.status_code == 422
    assert "An admin of every workspace keeps that role" in refused.text
    ada = user_id(engine, "ada@example.org")  # another admin remains (root): Ada may step down
    assert served.post(f"/w/acme/team/{ada}/remove", follow_redirects=False).headers["location"] == "/"


def test_only_an_admin_of_every_workspace_disables_and_enables_accounts(served: TestClient) -> None:
    engine = engine_of(served)
    make_user(engine, "bob@example.org", "moderator", "acme")
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    bob = user_id(engine, "bob@example.org")
    assert "Disable" not in served.get("/w/acme/team").text
    assert served.post(f"/w/acme/team/{bob}/disable").status_code == 403
    with TestClient(served.app) as root, TestClient(served.app) as bob_browser:
        sign_in(root, email="root@example.org")
        log_in(bob_browser, "bob@example.org")
        assert root.post(f"/w/acme/team/{user_id(engine, 'root@example.org')}/disable").status_code == 422
        assert root.post(f"/w/acme/team/{bob}/disable", follow_redirects=False).status_code == 303
        assert bob_browser.get("/w/acme/", follow_redirects=False).headers["location"].startswith("/login?")
        assert rows(root.get("/w/acme/team").text)["bob@example.org"][4] == "disabled"
        assert root.post(f"/w/acme/team/{bob}/enable", follow_redirects=False).status_code == 303
        log_in(bob_browser, "bob@example.org")
    with Session(engine) as session:
        actions = [(e.actor, e.action) for e in audit.get_all(session) if e.target == "bob@example.org"]
    assert ("root@example.org", "user disabled") in actions
    assert ("root@example.org", "user enabled") in actions


def test_a_new_link_only_for_someone_the_admin_may_hand_it_to(served: TestClient) -> None:
    engine = engine_of(served)
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    served.post("/w/acme/team", data={"email": "new@example.org", "name": "New", "role": "analyst"})
    make_user(engine, "busy@example.org", "analyst", "acme")
    with TestClient(served.app) as busy:
        log_in(busy, "busy@example.org")  # has signed in: a link would take over a working account
    page = served.get("/w/acme/team").text
    new, busy_id = user_id(engine, "new@example.org"), user_id(engine, "busy@example.org")
    assert f"/team/{new}/link" in page
    assert f"/team/{busy_id}/link" not in page
    again = served.post(f"/w/acme/team/{new}/link")
    assert again.status_code == 200
    shown_link(again.text)
    assert served.post(f"/w/acme/team/{busy_id}/link").status_code == 422


def test_the_invitation_is_mailed_in_the_admins_language_when_the_cockpit_can_send_mail(
    sqlite_settings: Settings, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine) as session, session.begin():
        workspaces.create(session, slug="acme", name="Acme")
    with smtp_peer() as (mailbox, port):
        mailing = sqlite_settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
        with TestClient(create_app(mailing, sqlite_engine)) as client:
            sign_in(client, email="ada@example.org", role="admin", workspace="acme")
            client.cookies.set("pilote_lang", "fr")
            added = client.post("/w/acme/team", data={"email": "bob@example.org", "name": "Bob", "role": "moderator"})
    assert "token=" not in added.text  # mailed, not shown
    assert "Il a été envoyé à bob@example.org" in added.text
    (letter,) = mailbox.messages
    assert (letter["To"], letter["Subject"]) == ("bob@example.org", "Votre compte Pilote")
    body = letter.get_payload(decode=True).decode()
    assert "comme modérateur" in body
    assert re.search(r"http://testserver/password/reset\?token=\S+", body)


def test_the_team_page_is_for_admins_and_says_so_in_the_readers_language(served: TestClient) -> None:
    sign_in(served, email="mod@example.org", role="moderator", workspace="acme")
    assert "/w/acme/team" not in served.get("/w/acme/").text  # no link to it either
    refused = served.get("/w/acme/team", headers={"Accept-Language": "fr"})
    assert refused.status_code == 403
    assert "Réservé à d’autres rôles" in refused.text
    assert "rôle admin" in refused.text


def test_team_forms_need_the_sessions_token(served: TestClient) -> None:
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    served.headers.pop("X-CSRF-Token")
    assert served.post("/w/acme/team", data={"email": "x@example.org", "role": "admin"}).status_code == 403
    assert served.post("/account/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD}).status_code == 403  # fmt: skip
    with Session(engine_of(served)) as session:
        assert session.scalar(select(User).where(User.email == "x@example.org")) is None


def test_a_role_change_is_stored_and_audited_on_both_databases(settings: Settings, engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="acme")
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client, email="ada@example.org", role="admin", workspace="acme")
        make_user(engine, "bob@example.org", "analyst", "acme")
        bob = user_id(engine, "bob@example.org")
        assert client.post(f"/w/acme/team/{bob}/role", data={"role": "moderator"}).status_code == 200
        page = lxml_html.fromstring(client.get("/w/acme/team").text)
        assert page.xpath(f"string(//select[@id='role-{bob}']/option[@selected]/@value)") == "moderator"
        ada = user_id(engine, "ada@example.org")
        assert client.post(f"/w/acme/team/{ada}/role", data={"role": "analyst"}).status_code == 422
    assert (role_of(engine, "bob@example.org"), role_of(engine, "ada@example.org")) == ("moderator", "admin")
    with Session(engine) as session:
        (entry,) = [e for e in audit.get_all(session) if e.action == "role changed"]
    assert (entry.actor, entry.target, entry.before, entry.after) == (
        "ada@example.org", "bob@example.org", {"role": "analyst"}, {"role": "moderator"})  # fmt: skip


# --- My account ---


def test_a_person_changes_their_name_and_language(served: TestClient) -> None:
    sign_in(served, email="mod@example.org", role="moderator", workspace="acme")
    page = served.get("/w/acme/")
    assert lxml_html.fromstring(page.text).xpath("string(//header//a[@class='who']/@href)") == "/account"
    saved = served.post("/account/profile", data={"name": "  Modeste   Moderator ", "language": "fr"})
    assert "Enregistré." in saved.text
    with Session(engine_of(served)) as session:
        me = users.get(session, email="mod@example.org")
        assert (me.display_name, me.language) == ("Modeste Moderator", "fr")
    assert served.post("/account/profile", data={"name": " ", "language": ""}).status_code == 422


def test_changing_the_password_needs_the_current_one_and_ends_the_other_sessions(served: TestClient) -> None:
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    with TestClient(served.app) as other:
        log_in(other, "ada@example.org")
        wrong = served.post("/account/password", data={"current": "not it at all", "password": NEW_PASSWORD,
                                                       "confirm": NEW_PASSWORD})  # fmt: skip
        assert wrong.status_code == 422
        assert "Your current password is not the one typed." in wrong.text
        short = served.post("/account/password", data={"current": PASSWORD, "password": "short", "confirm": "short"})
        assert "at least 12 characters" in short.text
        done = served.post("/account/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                      "confirm": NEW_PASSWORD}, follow_redirects=False)  # fmt: skip
        assert done.headers["location"] == "/account?done=password"
        assert served.get("/w/acme/", follow_redirects=False).status_code == 200  # this session goes on
        assert other.get("/w/acme/", follow_redirects=False).headers["location"].startswith("/login?")
    served.cookies.clear()
    log_in(served, "ada@example.org", NEW_PASSWORD)


def test_password_guesses_from_a_signed_in_session_are_limited_like_logins(served: TestClient) -> None:
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    form = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    answers = [served.post("/account/password", data={"current": f"guess number {n}", **form}).status_code
               for n in range(sessions.FAILURES_PER_EMAIL + 1)]  # fmt: skip
    assert answers == [422] * sessions.FAILURES_PER_EMAIL + [429]
    assert served.post("/account/password", data={"current": PASSWORD, **form}).status_code == 429


def test_a_person_sees_their_sessions_and_ends_the_others(served: TestClient) -> None:
    sign_in(served, email="ada@example.org", role="admin", workspace="acme")
    with TestClient(served.app) as phone, TestClient(served.app) as laptop:
        log_in(phone, "ada@example.org")
        log_in(laptop, "ada@example.org")
        page = lxml_html.fromstring(served.get("/account").text)
        listed = [int(s) for s in page.xpath("//tr/@data-session")]
        assert len(listed) == 3
        this = int(page.xpath("string(//tr[.//span[@class='badge human']]/@data-session)"))
        assert served.post(f"/account/sessions/{this}/end", follow_redirects=False).headers["location"] == (
            "/account?done=current"
        )
        other = max(s for s in listed if s != this)
        served.post(f"/account/sessions/{other}/end")
        alive = [client.get("/w/acme/", follow_redirects=False).status_code for client in (phone, laptop)]
        assert sorted(alive) == [200, 303]
        served.post("/account/sessions/others/end")
        assert [c.get("/w/acme/", follow_redirects=False).status_code for c in (phone, laptop)] == [303, 303]
        assert served.get("/w/acme/").status_code == 200
        assert "No other browser is signed in" in served.get("/account").text
        log_in(phone, "ada@example.org")
        phones = phone.get("/account").text
        mine = int(lxml_html.fromstring(phones).xpath("string(//tr[.//span[@class='badge human']]/@data-session)"))
    with TestClient(served.app) as stranger:
        sign_in(stranger, email="eve@example.org", role="analyst", workspace="acme")
        assert stranger.post(f"/account/sessions/{mine}/end").status_code == 404  # not hers to end


def test_a_person_makes_a_token_with_at_most_their_role_shown_once_and_revokes_it(served: TestClient) -> None:
    engine = engine_of(served)
    sign_in(served, email="mod@example.org", role="moderator", workspace="acme")
    assert "No token yet." in served.get("/account").text
    above = served.post("/account/tokens", data={"workspace": "acme", "name": "too much", "role": "manager"})
    assert above.status_code == 422
    made = served.post("/account/tokens", data={"workspace": "acme", "name": "<b>dashboard</b>", "role": "analyst"})
    token = re.search(r'value="(plt_[^"]+)"', made.text)
    assert token is not None
    assert "&lt;b&gt;dashboard&lt;/b&gt;" in made.text
    assert "<b>dashboard</b>" not in made.text
    assert token.group(1) not in served.get("/account").text  # shown once
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    with TestClient(served.app) as script:
        assert script.get("/api/v1/stats", headers=bearer).status_code == 200
        label = script.post("/api/v1/messages/1/labels", headers=bearer, json={"spam": "spam"})
        assert label.status_code == 403  # an analyst's token, though its person moderates
        with Session(engine) as session, session.begin():
            users.set_role(session, user=users.get(session, email="mod@example.org"), role="none",
                           workspace=workspaces.get(session, slug="acme"))  # fmt: skip
        assert script.get("/api/v1/stats", headers=bearer).status_code == 403  # her role went: so did the token's
    token_id = int(lxml_html.fromstring(served.get("/account").text).xpath("string(//tr/@data-token)"))
    with TestClient(served.app) as stranger:
        sign_in(stranger, email="eve@example.org", role="admin", workspace="acme")
        assert stranger.post(f"/account/tokens/{token_id}/revoke").status_code == 404  # not hers
    served.post(f"/account/tokens/{token_id}/revoke")
    with TestClient(served.app) as script:
        assert script.get("/api/v1/stats", headers=bearer).status_code == 401
    assert "revoked" in served.get("/account").text


def test_a_token_is_only_for_ones_own_workspaces(served: TestClient) -> None:
    with Session(engine_of(served)) as session, session.begin():
        workspaces.create(session, slug="other")
    sign_in(served, email="mod@example.org", role="moderator", workspace="acme")
    page = served.get("/account").text
    assert 'value="other"' not in page
    refused = served.post("/account/tokens", data={"workspace": "other", "name": "sneaky"})
    assert refused.status_code == 422
    assert "The token was not created" in refused.text


def test_the_command_line_makes_a_token_with_a_lesser_role_and_lists_it(
    sqlite_settings: Settings, sqlite_engine: Engine, env_for: Callable[[Settings], None]
) -> None:
    env_for(sqlite_settings)
    with Session(sqlite_engine) as session, session.begin():
        workspaces.create(session, slug="acme")
    make_user(sqlite_engine, "mod@example.org", "moderator", "acme")
    runner = CliRunner()
    args = ["token", "create", "--workspace", "acme", "--user", "mod@example.org", "--role"]
    above = runner.invoke(cli, [*args, "manager"])
    assert above.exit_code == 1
    assert "at most 'moderator'" in above.output
    assert runner.invoke(cli, [*args, "analyst"]).exit_code == 0
    (listed,) = orjson.loads(runner.invoke(cli, ["token", "list", "--json"]).stdout)
    assert (listed["user"], listed["role"]) == ("mod@example.org", "analyst")
