"""Notifications reach real peers: a local SMTP server, local HTTP servers that verify signatures, retries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from peers import SECRET, Mailbox, Peer, free_port
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from factories import target
from pilote.config import Settings
from pilote.db import session_factory
from pilote.models import Delivery
from pilote.radar import incidents, notify, rules
from pilote.radar.incidents import Candidate

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def incident_with(engine: Engine, recipients: list[tuple[str, str]], severity: str = "medium") -> int:
    """An incident just opened in a workspace with these recipients (its notifications queued)."""
    space_id = target(engine).workspace_id
    with Session(engine) as session, session.begin():
        for kind, where in recipients:
            rules.add_recipient(session, workspace_id=space_id, kind=kind, target=where, secret=SECRET)
        candidate = Candidate(space_id, "negative", NOW - timedelta(minutes=5), 42.0, 4.0, 0.9, severity)
        alert = incidents.raise_alert(session, candidate, rule=rules.DEFAULT, now=NOW)
        return alert.incident_id


def deliveries(engine: Engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_email_reaches_a_local_smtp_server(engine: Engine, settings: Settings, smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    config = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_sender": "radar@x.org"})
    incident_id = incident_with(engine, [("email", "oncall@example.org")])
    assert notify.deliver_due(session_factory(engine), config, now=NOW) == 1
    assert mailbox.recipients == [["oncall@example.org"]]
    mail = mailbox.messages[0]
    assert mail["From"] == "radar@x.org"
    assert "Surge of negative messages" in mail["Subject"]
    assert "opened" in mail["Subject"]
    body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "negative: 42 against 4.0 expected" in body
    assert f"pilote incident show {incident_id}" in body
    [sent] = deliveries(engine)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, NOW)


def test_without_an_smtp_server_the_delivery_fails_visibly(engine: Engine, settings: Settings) -> None:
    incident_with(engine, [("email", "oncall@example.org")])
    notify.deliver_due(session_factory(engine), settings, now=NOW)
    [pending] = deliveries(engine)
    assert pending.status == "retrying"
    assert "PILOTE_SMTP_HOST" in (pending.last_error or "")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The webhook peers are on this machine: deliveries may reach it (PILOTE_SYNC_PRIVATE_ADDRESSES)."""
    return settings.model_copy(update={"sync_private_addresses": True})


def test_a_webhook_to_this_machine_or_its_network_is_refused_unless_allowed(
    engine: Engine, settings: Settings, peer: Peer
) -> None:
    incident_with(engine, [("webhook", f"{peer.url}/hook")])
    strict = settings.model_copy(update={"sync_private_addresses": False})
    notify.deliver_due(session_factory(engine), strict, now=NOW)
    [refused] = deliveries(engine)
    assert refused.status == "retrying"
    assert "private or local address" in (refused.last_error or "")
    assert peer.received == []


def test_the_webhook_is_signed_and_the_peer_verifies_it(engine: Engine, settings: Settings, peer: Peer) -> None:
    incident_id = incident_with(engine, [("webhook", f"{peer.url}/hook")])
    notify.deliver_due(session_factory(engine), settings, now=NOW)
    [received] = peer.received
    assert received["valid"]
    assert received["body"]["event"] == "incident.opened"
    assert received["body"]["incident"]["id"] == incident_id
    assert received["body"]["alert"]["series"] == "negative"
    assert received["body"]["alert"]["value"] == 42.0
    assert deliveries(engine)[0].status == "sent"


def test_a_webhook_with_the_wrong_secret_is_refused_and_recorded(
    engine: Engine, settings: Settings, peer: Peer
) -> None:
    space_id = target(engine).workspace_id
    with Session(engine) as session, session.begin():
        rules.add_recipient(session, workspace_id=space_id, kind="webhook", target=f"{peer.url}/hook", secret="wrong")
        candidate = Candidate(space_id, "negative", NOW, 42.0, 4.0, 0.9, "medium")
        incidents.raise_alert(session, candidate, rule=rules.DEFAULT, now=NOW)
    notify.deliver_due(session_factory(engine), settings, now=NOW)
    assert peer.received[0]["valid"] is False
    [refused] = deliveries(engine)
    assert (refused.status, refused.last_status) == ("retrying", 401)


def test_slack_and_mattermost_get_text_with_user_content_escaped(
    engine: Engine, settings: Settings, peer: Peer
) -> None:
    incident_with(engine, [("slack", f"{peer.url}/slack")])
    with Session(engine) as session, session.begin():
        delivery = session.scalars(select(Delivery)).one()
        payload = json.loads(delivery.payload)
        payload["alert"]["first_messages"] = [{"author": "<!channel>", "channel": "x", "reach": 1, "text": "a & b"}]
        delivery.payload = json.dumps(payload)
    notify.deliver_due(session_factory(engine), settings, now=NOW)
    text = peer.received[0]["body"]["text"]
    assert set(peer.received[0]["body"]) == {"text"}
    assert "Surge of negative messages" in text
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text
    assert "a &amp; b" in text


def test_a_peer_failing_twice_is_retried_with_backoff_then_succeeds(
    engine: Engine, settings: Settings, peer: Peer
) -> None:
    peer.statuses = [500, 503]
    incident_with(engine, [("webhook", f"{peer.url}/hook")])
    factory = session_factory(engine)
    assert notify.deliver_due(factory, settings, now=NOW) == 1
    first = deliveries(engine)[0]
    assert (first.status, first.attempts, first.last_status) == ("retrying", 1, 500)
    assert first.next_attempt_at == NOW + timedelta(seconds=30)
    assert notify.deliver_due(factory, settings, now=NOW + timedelta(seconds=29)) == 0  # not due yet
    assert notify.deliver_due(factory, settings, now=NOW + timedelta(seconds=30)) == 1
    second = deliveries(engine)[0]
    assert (second.attempts, second.last_status) == (2, 503)
    assert second.next_attempt_at == NOW + timedelta(seconds=90)  # 30 s, then 60 s more
    notify.deliver_due(factory, settings, now=NOW + timedelta(seconds=90))
    done = deliveries(engine)[0]
    assert (done.status, done.attempts, done.last_status) == ("sent", 3, 200)
    assert len(peer.received) == 3


def test_an_unreachable_peer_fails_after_the_last_attempt(engine: Engine, settings: Settings) -> None:
    incident_with(engine, [("webhook", f"http://127.0.0.1:{free_port()}/hook")])
    factory, moment = session_factory(engine), NOW
    for _ in range(notify.MAX_ATTEMPTS):
        assert notify.deliver_due(factory, settings, now=moment) == 1
        moment += notify.LAST_RETRY
    [failed] = deliveries(engine)
    assert (failed.status, failed.attempts) == ("failed", notify.MAX_ATTEMPTS)
    assert "cannot reach" in (failed.last_error or "")
    assert notify.deliver_due(factory, settings, now=moment + timedelta(days=1)) == 0
