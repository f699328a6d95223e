"""Signing a test client in: an account made through the service, a real login through the form."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message as EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
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


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []  # each message's envelope recipients

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook)
        self.messages.append(message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


@contextmanager
def smtp_peer() -> Iterator[tuple[Mailbox, int]]:
    """A local SMTP server on a free port, keeping what it receives, for the block."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def demo_served(settings: Any, engine: Engine, *, days: int, seed: int) -> Iterator[TestClient]:
    """A small demo community (50 members, `days` up to now, its rollups built), served to a signed-in admin."""
    from sqlalchemy import select

    from pilote import rollups
    from pilote.models import Workspace
    from pilote.simulate import simulate
    from pilote.web.app import create_app

    simulate(engine, workspace="demo", days=days, members=50, seed=seed)
    with engine.begin() as conn:
        rollups.rebuild(conn, conn.scalar(select(Workspace.id).where(Workspace.slug == "demo")))
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client)
        yield client
