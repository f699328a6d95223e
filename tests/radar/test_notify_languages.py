"""An alert e-mail is written in its recipient's language: their account's, else English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message

from peers import Mailbox
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from factories import target
from pilote.accounts import users
from pilote.config import Settings
from pilote.db import session_factory
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
