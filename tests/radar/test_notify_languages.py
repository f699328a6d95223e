"""What a recipient reads is in its language: the recipient's own, else its account's (an e-mail address), else
the workspace's, else English."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message

from peers import Mailbox, Peer
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from factories import target
from pilote import workspaces
from pilote.accounts import users
from pilote.cli import app
from pilote.config import Settings
from pilote.db import session_factory
from pilote.models import Delivery
from pilote.radar import incidents, notify, rules
from pilote.radar.incidents import Candidate

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def subject(letter: Message) -> str:
    """The subject as people read it (decoded and unfolded)."""
    return str(message_from_bytes(letter.as_bytes(), policy=policy.default)["Subject"])


def test_an_alert_e_mail_is_in_the_recipient_s_language(
    engine: Engine, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    space_id = target(engine).workspace_id
    with Session(engine) as session, session.begin():
        users.create(session, email="lea@example.org", password="a long enough password", role="admin")
        users.set_language(session, user=users.get(session, email="lea@example.org"), language="fr")
        for address in ("Lea@Example.org", "oncall@example.org"):
            rules.add_recipient(session, workspace_id=space_id, kind="email", target=address)
        candidate = Candidate(space_id, "negative", NOW - timedelta(minutes=5), 4200.0, 4.0, 0.9, "medium")
        incidents.raise_alert(session, candidate, rule=rules.DEFAULT, now=NOW)
    config = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port})
    assert notify.deliver_due(session_factory(engine), config, now=NOW) == 2
    letters = {letter["To"]: letter for letter in mailbox.messages}
    french, english = letters["Lea@Example.org"], letters["oncall@example.org"]
    assert subject(french).startswith("[Pilote] ouvert : Afflux de messages négatifs (moyenne, ")
    body = french.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "messages négatifs : 4\u202f200 pour 4 attendus" in body
    assert "commencé le 2 mars 2026" in body
    assert subject(english).startswith("[Pilote] opened: Surge of negative messages (medium, ")
    assert "negative: 4200 against 4.0 expected" in english.get_payload(decode=True).decode()  # type: ignore[union-attr]


def _surge(engine: Engine, recipients: list[tuple[str, str, str | None]], default: str | None = None) -> None:
    space_id = target(engine).workspace_id
    with Session(engine) as session, session.begin():
        workspaces.set_language(session, workspace_id=space_id, language=default)
        for kind, where, language in recipients:
            rules.add_recipient(session, workspace_id=space_id, kind=kind, target=where, language=language)
        candidate = Candidate(space_id, "negative", NOW - timedelta(minutes=5), 4200.0, 4.0, 0.9, "medium")
        incidents.raise_alert(session, candidate, rule=rules.DEFAULT, now=NOW)


def test_a_chat_channel_reads_its_own_language_else_the_workspace_s_else_english(
    engine: Engine, settings: Settings, peer: Peer
) -> None:
    _surge(engine, [("slack", f"{peer.url}/fr", "fr"), ("slack", f"{peer.url}/plain", None),
                    ("webhook", f"{peer.url}/hook", "fr")])  # fmt: skip
    local = settings.model_copy(update={"sync_private_addresses": True})  # the peer listens on this machine
    notify.deliver_due(session_factory(engine), local, now=NOW)
    said = {call["path"]: call["body"] for call in peer.received}
    assert said["/fr"]["text"].startswith("[Pilote] ouvert : Afflux de messages négatifs (moyenne, ")
    assert said["/plain"]["text"].startswith("[Pilote] opened: Surge of negative messages (medium, ")
    assert said["/hook"]["incident"]["title"] == "Surge of negative messages"  # the JSON stays as it is
    peer.received.clear()
    with Session(engine) as session, session.begin():
        workspaces.set_language(session, workspace_id=target(engine).workspace_id, language="fr")
        session.execute(update(Delivery).values(status="pending", next_attempt_at=NOW))
    notify.deliver_due(session_factory(engine), local, now=NOW)
    said = {call["path"]: call["body"] for call in peer.received}
    assert said["/plain"]["text"].startswith("[Pilote] ouvert : Afflux de messages négatifs")


def test_the_command_line_chooses_a_recipient_s_and_the_workspace_s_language(
    engine: Engine, settings: Settings, env_for: Callable[[Settings], None]
) -> None:
    target(engine, slug="default")
    env_for(settings)
    runner = CliRunner()
    added = runner.invoke(app, ["alert-rule", "recipient-add", "slack", "https://chat.example.org/hook", "--language",
                                "fr"])  # fmt: skip
    assert added.exit_code == 0, added.output
    assert runner.invoke(app, ["alert-rule", "set", "--language", "fr"]).exit_code == 0
    shown = runner.invoke(app, ["alert-rule", "show"]).output
    assert "reads fr" in shown
    assert "language: fr" in shown
    wrong = runner.invoke(app, ["alert-rule", "recipient-language", "1", "de"])
    assert wrong.exit_code != 0
    assert "language 'de': use one of en, fr" in wrong.output
    assert runner.invoke(app, ["alert-rule", "recipient-language", "1", "none"]).exit_code == 0
    assert "reads fr" not in runner.invoke(app, ["alert-rule", "show"]).output
