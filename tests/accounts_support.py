"""Signing a test client in: an account made through the service, a real login through the form."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.accounts import sessions, users

PASSWORD = "a long enough test password"


def engine_of(client: TestClient) -> Engine:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


def make_user(engine: Engine, email: str, role: str = "admin", workspace: str | None = None) -> None:
    """An account: without a workspace, an admin of every workspace."""
    with Session(engine) as session, session.begin():
        space = workspaces.get(session, slug=workspace) if workspace else None
        users.create(session, email=email, password=PASSWORD, role=role, workspace=space)


def sign_in(
    client: TestClient, *, email: str = "admin@example.org", role: str = "admin", workspace: str | None = None
) -> TestClient:
    """Create the account (admin of every workspace by default), sign in through the login form, and send the
    session's anti-forgery token with every later request, as the cockpit's script does."""
    make_user(engine_of(client), email, role, workspace)
    return log_in(client, email)


def log_in(client: TestClient, email: str, password: str = PASSWORD) -> TestClient:
    """Sign an existing account in."""
    answer = client.post("/login", data={"email": email, "password": password}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    client.headers["X-CSRF-Token"] = sessions.csrf_token(client.cookies[sessions.COOKIE])
    return client
