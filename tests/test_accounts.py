"""Accounts, roles, sessions and the CSRF token, through the web app and the command line (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import PASSWORD, Mailbox, engine_of, log_in, make_user, sign_in, smtp_peer
from factories import item, target
from pilote import tokens, workspaces
from pilote.accounts import sessions, users
from pilote.cli import app as cli
from pilote.config import Settings
from pilote.ingest import write_batch
from pilote.models import Label, Message, PasswordReset, User, UserSession, utcnow
from pilote.web import access
from pilote.web.app import create_app

ROLES = ("analyst", "moderator", "manager", "admin")


@pytest.fixture
def served(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The cockpit on a store with one workspace, `acme`, and nobody signed in."""
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="acme")
    with TestClient(create_app(settings, engine)) as client:
        yield client


def concrete(path: str) -> str:
    """A route's path with its parameters filled (the workspace is acme; ids name nothing, so that calling every
    route as each role changes nothing: revoking token 1 would revoke the first role's own token)."""
    return re.sub(r"\{[^}]+\}", lambda m: "acme" if m.group(0) == "{slug}" else "999999", path)


def call(client: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    return client.request(method, concrete(path), follow_redirects=False, **kwargs)


# --- the one table ---


def test_every_route_has_exactly_one_access_rule(served: TestClient) -> None:
    served_routes = {access.key(method, path) for method, path in access.routes(served.app)}  # type: ignore[arg-type]
    assert len(served_routes) > 40
    assert sorted(served_routes - set(access.ACCESS)) == []  # a new route needs its line in pilote/web/access.py
    assert sorted(set(access.ACCESS) - served_routes) == []  # and a rule names a route that exists


def test_no_route_hides_behind_an_earlier_one_with_a_parameter(served: TestClient) -> None:
    """Starlette tries routes in order and a `{parameter}` matches any word: `/inbox/{item_id}` registered before
    `/inbox/figures` would answer for it (with a 422). Fixed paths must come before the parameters that match them."""
    seen: list[tuple[str, list[str]]] = []
    hidden = []
    for method, path in access.routes(served.app):  # type: ignore[arg-type]
        parts = path.strip("/").split("/")
        for earlier_method, earlier in seen:
            if earlier_method == method and len(earlier) == len(parts) and all(
                e == p or (e.startswith("{") and not p.startswith("{")) for e, p in zip(earlier, parts, strict=True)
            ) and earlier != parts:  # fmt: skip
                hidden.append(f"{method} {path} behind /{'/'.join(earlier)}")
        seen.append((method, parts))
    assert hidden == []


def test_each_role_reaches_what_its_rule_allows_and_nothing_more(served: TestClient) -> None:
    engine = engine_of(served)
    api_tokens = {}
    for role in ROLES:
        make_user(engine, f"{role}@example.org", role, "acme")
        with Session(engine) as session, session.begin():
            user = users.get(session, email=f"{role}@example.org")
            api_tokens[role], _ = tokens.create(session, workspace=workspaces.get(session, slug="acme"), user=user)
    for role in ROLES:
        served.cookies.clear()
        log_in(served, f"{role}@example.org")
        for rule, need in access.ACCESS.items():
            method, path = rule.split(" ", 1)
            if need == "public" or path in ("/login", "/setup"):
                continue
            headers = {"Authorization": f"Bearer {api_tokens[role]}"} if path.startswith("/api/v1/") else {}
            answer = call(served, method, path, headers=headers)
            # "instance": admins of every workspace only, and none of these is one
            allowed = need == "account" or (need != "instance" and users.rank(role) >= users.rank(need))
            if allowed:
                assert answer.status_code not in (401, 403), (role, rule, answer.text)
                assert "/login" not in answer.headers.get("location", ""), (role, rule)
            else:
                assert answer.status_code == 403, (role, rule, answer.status_code)


def test_someone_without_a_role_in_a_workspace_sees_none_of_it(served: TestClient) -> None:
    with Session(engine_of(served)) as session, session.begin():
        workspaces.create(session, slug="other")
    sign_in(served, email="elsewhere@example.org", role="admin", workspace="other")
    for rule, _need in access.ACCESS.items():
        method, path = rule.split(" ", 1)
        if "{slug}" in path:
            assert call(served, method, path).status_code == 403, rule
    home = served.get("/", follow_redirects=False)
    assert home.headers["location"] == "/w/other/"


def test_nobody_signed_in_is_sent_to_the_login_page_and_the_api_answers_401(served: TestClient) -> None:
    make_user(engine_of(served), "admin@example.org")
    for rule, need in access.ACCESS.items():
        method, path = rule.split(" ", 1)
        answer = call(served, method, path)
        if need == "public":
            assert answer.status_code not in (401, 403), rule
        elif path.startswith("/api/v1/"):
            assert answer.status_code == 401, rule
        else:
            assert (answer.status_code, answer.headers["location"].split("?")[0]) == (303, "/login"), rule
    assert served.get("/w/acme/explorer?q=x", follow_redirects=False).headers["location"] == (
        "/login?next=/w/acme/explorer%3Fq%3Dx"
    )


# --- logging in and out ---


def test_an_unknown_email_and_a_wrong_password_get_the_same_answer(served: TestClient) -> None:
    make_user(engine_of(served), "ada@example.org")
    unknown = served.post("/login", data={"email": "nobody@example.org", "password": "whatever it is"})
    wrong = served.post("/login", data={"email": "ada@example.org", "password": "whatever it is"})
    assert unknown.status_code == wrong.status_code == 200
    assert "Wrong e-mail or password." in wrong.text
    assert unknown.text.replace("nobody@example.org", "E") == wrong.text.replace("ada@example.org", "E")
    assert sessions.COOKIE not in served.cookies


def test_login_is_limited_per_email_even_with_the_right_password_then_per_address(served: TestClient) -> None:
    make_user(engine_of(served), "ada@example.org")
    for _ in range(sessions.FAILURES_PER_EMAIL):
        failed = served.post("/login", data={"email": "ADA@example.org", "password": "not it at all"})
        assert "Wrong e-mail or password." in failed.text
    right = served.post("/login", data={"email": "ada@example.org", "password": PASSWORD})
    assert right.status_code == 429
    assert sessions.COOKIE not in served.cookies
    for number in range(sessions.FAILURES_PER_ADDRESS):
        served.post("/login", data={"email": f"guess{number}@example.org", "password": "not it at all"})
    make_user(engine_of(served), "bob@example.org")
    assert served.post("/login", data={"email": "bob@example.org", "password": PASSWORD}).status_code == 429


def test_a_session_is_shared_by_every_server_and_ends_on_logout(settings: Settings, served: TestClient) -> None:
    sign_in(served)
    cookie = served.cookies[sessions.COOKIE]
    with TestClient(create_app(settings, engine_of(served))) as other:  # a second server on the same store
        other.cookies.set(sessions.COOKIE, cookie)
        assert other.get("/w/acme/explorer").status_code == 200
        served.post("/logout")
        assert served.cookies.get(sessions.COOKIE) is None
        assert other.get("/w/acme/explorer", follow_redirects=False).status_code == 303


def test_sessions_expire_when_idle_and_after_their_absolute_limit(served: TestClient) -> None:
    sign_in(served)
    engine = engine_of(served)
    assert served.get("/w/acme/explorer", follow_redirects=False).status_code == 200
    idle = timedelta(hours=engine_settings(served).session_idle_hours, minutes=1)
    with Session(engine) as session, session.begin():
        session.execute(update(UserSession).values(last_seen_at=utcnow() - idle))
    assert served.get("/w/acme/explorer", follow_redirects=False).status_code == 303
    log_in(served, "admin@example.org")
    old = timedelta(days=engine_settings(served).session_max_days, minutes=1)
    with Session(engine) as session, session.begin():
        session.execute(update(UserSession).values(created_at=utcnow() - old))
    assert served.get("/w/acme/explorer", follow_redirects=False).status_code == 303


def engine_settings(client: TestClient) -> Settings:
    found: Settings = client.app.state.settings  # type: ignore[attr-defined]
    return found


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(settings: Settings, engine: Engine) -> None:
    make_user(engine, "ada@example.org")
    form = {"email": "ada@example.org", "password": PASSWORD}
    with TestClient(create_app(settings, engine)) as plain:
        cookie = plain.post("/login", data=form, follow_redirects=False).headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie
    with TestClient(create_app(settings, engine), base_url="https://testserver") as https:
        assert "Secure" in https.post("/login", data=form, follow_redirects=False).headers["set-cookie"]
    forced = settings.model_copy(update={"secure_cookies": True})  # behind a proxy that does not say it is HTTPS
    with TestClient(create_app(forced, engine)) as proxied:
        assert "Secure" in proxied.post("/login", data=form, follow_redirects=False).headers["set-cookie"]


def test_a_disabled_account_is_signed_out_and_its_tokens_refused(served: TestClient) -> None:
    sign_in(served)
    engine = engine_of(served)
    with Session(engine) as session, session.begin():
        user = users.get(session, email="admin@example.org")
        token, _ = tokens.create(session, workspace=workspaces.get(session, slug="acme"), user=user)
    assert served.get("/api/v1/stats", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with Session(engine) as session, session.begin():
        users.disable(session, user=users.get(session, email="admin@example.org"))
    assert served.get("/w/acme/", follow_redirects=False).status_code == 303
    assert served.get("/api/v1/stats", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    served.cookies.clear()
    assert "Wrong e-mail" in served.post("/login", data={"email": "admin@example.org", "password": PASSWORD}).text


# --- forms and their anti-forgery token ---


def test_a_form_without_its_sessions_token_is_refused(served: TestClient) -> None:
    sign_in(served)
    token = served.headers.pop("X-CSRF-Token")
    form = {"name": "mine", "query": "q=x"}
    assert served.post("/w/acme/explorer/saved", data=form, follow_redirects=False).status_code == 403
    wrong = {**form, "csrf_token": "0" * 64}
    assert served.post("/w/acme/explorer/saved", data=wrong, follow_redirects=False).status_code == 403
    assert (
        served.post("/w/acme/explorer/saved", data={**form, "csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    page = served.get("/w/acme/explorer")
    assert f'<meta name="csrf-token" content="{token}">' in page.text
    header = served.post("/w/acme/explorer/saved", data=form, headers={"X-CSRF-Token": token}, follow_redirects=False)
    assert header.status_code == 303


def test_a_label_records_who_gave_it(served: TestClient) -> None:
    engine = engine_of(served)
    with engine.begin() as conn:
        write_batch(conn, target(engine), [item("m1", "une question ?")])
    with Session(engine) as session:
        message_id = session.scalars(select(Message.id)).one()
    sign_in(served, email="mod@example.org", role="moderator", workspace="acme")
    assert served.post(f"/w/acme/messages/{message_id}/label", data={"spam": "ham"}).status_code == 200
    with Session(engine) as session:
        assert session.scalar(select(Label.created_by).where(Label.message_id == message_id)) == "mod@example.org"


# --- the first account, the language, password resets ---


def test_the_first_visit_from_this_machine_creates_the_first_admin(settings: Settings, engine: Engine) -> None:
    with TestClient(create_app(settings, engine), client=("203.0.113.9", 4000)) as remote:
        assert remote.get("/", follow_redirects=True).status_code == 403  # /login -> /setup, refused off the machine
        assert remote.post("/setup", data={"email": "x@example.org", "password": PASSWORD, "confirm": PASSWORD}
                           ).status_code == 403  # fmt: skip
    with TestClient(create_app(settings, engine), client=("127.0.0.1", 4000)) as local:
        setup = local.get("/", follow_redirects=True)
        assert setup.url.path == "/setup"
        assert "first admin account" in setup.text
        short = local.post("/setup", data={"email": "ada@example.org", "password": "short", "confirm": "short"})
        assert short.status_code == 422
        made = local.post("/setup", data={"email": "Ada@Example.org", "name": "Ada", "password": PASSWORD,
                                          "confirm": PASSWORD}, follow_redirects=False)  # fmt: skip
        assert (made.status_code, made.headers["location"]) == (303, "/")
        assert "Ada" in local.get("/").text  # signed in, her name in the menu
        assert local.get("/setup", follow_redirects=False).headers["location"] == "/login"  # once only
    with Session(engine) as session:
        assert [(a.email, a.instance_admin) for a in users.get_all(session)] == [("ada@example.org", True)]


def test_the_language_is_chosen_before_signing_in_too(served: TestClient) -> None:
    make_user(engine_of(served), "ada@example.org")
    served.post("/language", data={"language": "fr", "next": "/login"})
    assert "Se connecter" in served.get("/login").text


def test_the_accounts_language_wins_over_the_browsers(served: TestClient) -> None:
    sign_in(served)
    token = served.headers.pop("X-CSRF-Token")
    served.post("/language", data={"language": "fr", "next": "/w/acme/"})  # a form without its token: cookie only
    with Session(engine_of(served)) as session:
        assert users.get(session, email="admin@example.org").language is None
    served.post("/language", data={"language": "fr", "next": "/w/acme/", "csrf_token": token})
    served.cookies.delete("pilote_lang")
    page = served.get("/w/acme/explorer", headers={"Accept-Language": "en"})
    assert 'lang="fr"' in page.text
    assert "Se déconnecter" in page.text


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_peer() as peer:
        yield peer


def test_a_password_reset_by_email_works_once_and_ends_every_session(
    settings: Settings, engine: Engine, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    make_user(engine, "ada@example.org")
    with Session(engine) as session, session.begin():
        users.set_language(session, user=users.get(session, email="ada@example.org"), language="fr")
    mailing = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    with TestClient(create_app(mailing, engine)) as thief, TestClient(create_app(mailing, engine)) as ada:
        log_in(thief, "ada@example.org")
        same = [ada.post("/password/forgot", data={"email": e}).text for e in ("nobody@example.org", "ADA@example.org")]
        assert same[0] == same[1]
        assert len(mailbox.messages) == 1  # none for the unknown address
        letter = mailbox.messages[0]
        assert letter["To"] == "ada@example.org"
        assert letter["Subject"] == "Votre mot de passe Pilote"
        link = re.search(r"http://testserver(/password/reset\?token=\S+)", letter.get_payload(decode=True).decode())
        assert link is not None
        token = link.group(1).split("=", 1)[1]
        with Session(engine) as session:  # stored as a digest only
            assert session.scalar(select(PasswordReset.digest)) == sessions.digest(token) != token
        assert ada.get(link.group(1)).status_code == 200
        new = "a brand new long password"
        done = ada.post(
            "/password/reset", data={"token": token, "password": new, "confirm": new}, follow_redirects=False
        )
        assert done.headers["location"] == "/login?done=reset"
        again = ada.post("/password/reset", data={"token": token, "password": new + "!", "confirm": new + "!"})
        assert again.status_code == 404  # one use
        assert thief.get("/w/acme/", follow_redirects=False).status_code == 303  # every session ended
        log_in(ada, "ada@example.org", new)
    with Session(engine) as session, session.begin():
        found = resets_create(session)
        session.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1)))
    with TestClient(create_app(mailing, engine)) as late:
        assert late.get(f"/password/reset?token={found}").status_code == 404  # an hour at most


def resets_create(session: Session) -> str:
    from pilote.accounts import resets

    made = resets.create(session, email="ada@example.org")
    assert made is not None
    return made[1]


# --- API tokens of a person ---


def test_a_token_acts_with_its_persons_role_and_a_workspace_token_as_a_manager(served: TestClient) -> None:
    engine = engine_of(served)
    make_user(engine, "reader@example.org", "analyst", "acme")
    with Session(engine) as session, session.begin():
        acme = workspaces.get(session, slug="acme")
        reader, _ = tokens.create(session, workspace=acme, user=users.get(session, email="reader@example.org"))
        legacy, _ = tokens.create(session, workspace=acme)
    label = {"name": "spam", "value": "ham"}
    as_reader = served.post("/api/v1/messages/1/labels", json=label, headers={"Authorization": f"Bearer {reader}"})
    assert (as_reader.status_code, as_reader.json()["error"]["code"]) == (403, "forbidden")
    assert served.get("/api/v1/stats", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    as_workspace = served.post("/api/v1/sources/1/pause", headers={"Authorization": f"Bearer {legacy}"})
    assert as_workspace.status_code == 404  # allowed (a manager's right), the source does not exist
    with Session(engine) as session, session.begin():
        users.set_role(session, user=users.get(session, email="reader@example.org"), role="moderator",
                       workspace=workspaces.get(session, slug="acme"))  # fmt: skip
    again = served.post("/api/v1/messages/1/labels", json=label, headers={"Authorization": f"Bearer {reader}"})
    assert again.status_code == 404  # the new role counts at once


# --- the command line ---


@pytest.fixture
def run(settings: Settings, env_for: Callable[[Settings], None]) -> Callable[..., Any]:
    env_for(settings)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def test_accounts_are_made_and_changed_from_the_command_line_and_audited(
    run: Callable[..., Any], engine: Engine
) -> None:
    assert run("user", "create", "Ada@Example.org", "--role", "admin", input=PASSWORD + "\n").exit_code == 0
    short = run("user", "create", "bob@example.org", input="too short\n")
    assert short.exit_code == 1
    assert "12 characters" in short.output
    assert run("user", "create", "ADA@example.org", input=PASSWORD + "\n").exit_code == 1  # unique, any case
    assert run("workspace", "create", "acme").exit_code == 0
    made = run("user", "create", "bob@example.org", "--role", "analyst", "--workspace", "acme", input=PASSWORD + "\n")
    assert made.exit_code == 0
    assert run("user", "role", "bob@example.org", "moderator", "--workspace", "acme").exit_code == 0
    listed = {row["email"]: row for row in orjson.loads(run("user", "list", "--json").stdout)}
    assert listed["bob@example.org"]["roles"] == {"acme": "moderator"}
    assert listed["ada@example.org"]["instance_admin"] is True
    token = run("token", "create", "--workspace", "acme", "--user", "bob@example.org").stdout.strip()
    assert run("token", "revoke", "1").exit_code == 0
    assert run("user", "disable", "bob@example.org").exit_code == 0
    with Session(engine) as session:
        assert session.scalar(select(User.disabled_at).where(User.email == "bob@example.org")) is not None
    actions = [(e["action"], e["target"]) for e in orjson.loads(run("audit", "--json").stdout)]
    assert actions[::-1] == [
        ("user created", "ada@example.org"), ("workspace created", "workspace acme"),
        ("user created", "bob@example.org"), ("role changed", "bob@example.org"),
        ("token created", "token 1"), ("token revoked", "token 1"), ("user disabled", "bob@example.org"),
    ]  # fmt: skip
    entries = orjson.loads(run("audit", "--json").stdout)
    assert entries[3]["before"] == {"role": "analyst"}
    assert entries[3]["after"] == {"role": "moderator"}
    assert token.startswith("plt_")
    assert token not in run("audit", "--json").stdout


def test_reset_links_are_limited_per_account_and_hour(
    settings: Settings, engine: Engine, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    make_user(engine, "ada@example.org")
    mailing = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    with TestClient(create_app(mailing, engine)) as stranger:
        answers = {stranger.post("/password/forgot", data={"email": "ada@example.org"}).text for _ in range(5)}
    assert len(answers) == 1  # the same answer every time
    assert len(mailbox.messages) == 3  # resets.PER_HOUR
    with Session(engine) as session, session.begin():
        session.execute(update(PasswordReset).values(created_at=utcnow() - timedelta(hours=2)))
    with TestClient(create_app(mailing, engine)) as later:
        later.post("/password/forgot", data={"email": "ada@example.org"})
    assert len(mailbox.messages) == 4  # an hour later, a new link
