"""Telling the team: e-mail over SMTP, a signed JSON webhook, Slack/Mattermost incoming webhooks.

A notification is a `delivery` row, queued in the transaction that raised it and sent afterwards by
`deliver_due`, so that a slow peer never holds the store. A failed attempt is recorded (HTTP status or
error) and retried after 30 s, 1, 2, 4, 8 minutes...; after `MAX_ATTEMPTS` the delivery is `failed`.
Adding a channel is one function and one line in `NOTIFIERS`. Webhook signatures: docs/alerts.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.dates import format_datetime
from babel.numbers import format_decimal
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from pilote import mail, workspaces
from pilote.config import Settings
from pilote.errors import fill
from pilote.models import Alert, AlertRecipient, Delivery, InboxItem, Incident, User, Workspace
from pilote.radar import rules as rules_service
from pilote.radar.rules import Rule
from pilote.radar.words import said, series_name
from pilote.sources.http import FetchFailed, HttpClient, HttpStatus, Limits
from pilote.texts import DEFAULT_LANGUAGE, LANGUAGES, N_, catalogue, say

MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=30)
LAST_RETRY = timedelta(hours=1)
TIMEOUT = 10.0
SIGNATURE_HEADER = "X-Pilote-Signature"
TIMESTAMP_HEADER = "X-Pilote-Timestamp"


class DeliveryError(Exception):
    """A peer refused or could not be reached; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a notifier needs: where, the payload, and the recipient's secret."""

    target: str
    payload: dict[str, Any]
    secret: str | None
    settings: Settings
    language: str = DEFAULT_LANGUAGE  # the recipient's, for what people read (e-mail, chat)


Notifier = Callable[[Outgoing], int | None]  # returns the HTTP status (None for e-mail)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: 30 s doubling, at most an hour."""
    wait: timedelta = FIRST_RETRY * 2 ** max(attempts - 1, 0)
    return min(wait, LAST_RETRY)


def enqueue(session: Session, incident: Incident, *, reason: str, rule: Rule, now: datetime) -> int:
    """Queue one delivery per recipient concerned; returns how many. Quiet hours hold all but high severity."""
    everyone = rules_service.recipients(session, workspace_id=incident.workspace_id)
    chosen = [r for r in everyone if r.on == "always"]
    if reason == "escalation":
        chosen = [r for r in everyone if r.on == "escalation"] or chosen
    if not chosen:
        return 0
    quiet = rule.quiet_until(now) if incident.severity != "high" else None
    payload = json.dumps(build_payload(session, incident, reason, now), ensure_ascii=False, default=str)
    for recipient in chosen:
        session.add(Delivery(
            incident_id=incident.id, recipient_id=recipient.id, kind=recipient.kind, target=recipient.target,
            reason=reason, payload=payload, status="pending", attempts=0, next_attempt_at=quiet or now, created_at=now,
        ))  # fmt: skip
    session.flush()
    return len(chosen)


def build_payload(session: Session, incident: Incident, reason: str, now: datetime) -> dict[str, Any]:
    """The JSON a webhook receives (and what the other channels are written from)."""
    workspace = session.get(Workspace, incident.workspace_id)
    latest = session.scalar(select(Alert).where(Alert.incident_id == incident.id).order_by(Alert.id.desc()).limit(1))
    explanation = json.loads(latest.explanation) if latest is not None else {}
    return {
        "event": f"incident.{reason}",
        "sent_at": now.isoformat(),
        "workspace": workspace.slug if workspace else None,
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "status": incident.status,
            "severity": incident.severity,
            "started_at": incident.started_at.isoformat(),
            "alerts": incident.alerts,
        },
        "alert": {
            key: explanation.get(key)
            for key in (
                "series",
                "at",
                "value",
                "expected",
                "ratio",
                "severity",
                "first_messages",
                "most_amplified",
                "authors",
                "keyphrases",
                "channels",
            )
        },
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value: `sha256=` + hex HMAC-SHA256 of `timestamp.body` with the secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _post(url: str, body: bytes, headers: dict[str, str], settings: Settings) -> int:
    """POST through the guarded client: public addresses only unless PILOTE_SYNC_PRIVATE_ADDRESSES (a recipient
    address must not make the server probe its own network), no retry here (deliveries have their own)."""
    client = HttpClient(limits=Limits.of(settings, timeout=TIMEOUT, max_bytes=1 << 20), retries=0)
    try:
        return client.request("POST", url, data=body, headers=headers).status
    except HttpStatus as error:
        raise DeliveryError(str(error), error.status) from None
    except FetchFailed as error:
        raise DeliveryError(fill(N_("cannot reach %(url)s: %(error)s"), {"url": url, "error": error})) from None


def send_webhook(out: Outgoing) -> int:
    """POST the payload as JSON, signed with the recipient's secret."""
    body = json.dumps(out.payload, ensure_ascii=False).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp}
    headers[SIGNATURE_HEADER] = sign(out.secret or "", stamp, body)
    return _post(out.target, body, headers, out.settings)


def send_slack(out: Outgoing) -> int:
    """POST `{"text": ...}`, which Slack and Mattermost incoming webhooks both accept."""
    body = json.dumps({"text": _slack_escape(text_of(out.payload, out.language))}, ensure_ascii=False).encode()
    return _post(out.target, body, {"Content-Type": "application/json"}, out.settings)


def _slack_escape(text: str) -> str:
    """Slack's three control characters, so that user text cannot ping @channel or forge links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send_email(out: Outgoing) -> None:
    """Plain-text e-mail through the configured SMTP server."""
    try:
        mail.send(out.settings, to=out.target, subject=subject_of(out.payload, out.language),
                  text=text_of(out.payload, out.language))  # fmt: skip
    except mail.MailError as error:
        raise DeliveryError(str(error), error.code) from None


NOTIFIERS: dict[str, Callable[[Outgoing], int | None]] = {
    "email": send_email,
    "webhook": send_webhook,
    "slack": send_slack,
}


# What people read, in the recipient's language (pilote.texts); the webhook's JSON stays as it is.
EVENTS = {"opened": N_("opened"), "update": N_("update"), "escalation": N_("escalation"), "resolved": N_("resolved")}
SEVERITIES = (N_("low"), N_("medium"), N_("high"))
SUBJECT = N_("[Pilote] %(event)s: %(title)s (%(severity)s, %(workspace)s)")
STARTED = N_("Incident %(id)s, started %(started)s, %(alerts)s alert(s).")
ABOVE = N_("%(series)s: %(value)s against %(expected)s expected%(ratio)s.")
RATIO = N_(" (%(ratio)s× normal)")
SHOWN = ((N_("First messages"), "first_messages"), (N_("Most amplified"), "most_amplified"))
SHOWN_MESSAGE = N_("- %(author)s (%(channel)s, reach %(reach)s): %(text)s")
SEE = N_("See it with `pilote incident show %(id)s`.")
RULE_SUBJECT = N_("[Pilote] %(rule)s: inbox item %(id)s (%(channel)s, %(workspace)s)")
RULE_ACTED = N_('Rule "%(rule)s" acted on inbox item %(id)s: %(status)s, priority %(priority)s, reasons %(reasons)s.')
RULE_FROM = N_("%(author)s on %(channel)s, %(when)s:")
NO_REASON, SOMEONE = N_("none"), N_("Someone")
# An inbox item's status and priority (pilote.inbox's names), as a rule's notice says them.
ITEM_WORDS = (N_("new"), N_("open"), N_("pending"), N_("snoozed"), N_("done"), N_("spam"), N_("ignored"),
              N_("low"), N_("normal"), N_("high"), N_("urgent"))  # fmt: skip


def subject_of(payload: dict[str, Any], language: str = DEFAULT_LANGUAGE) -> str:
    """One line: event, severity, title, workspace (an inbox rule's: the rule and the item)."""
    if payload["event"] == "inbox.rule":
        item = payload["item"]
        words = {"rule": payload["rule"]["name"], "id": item["id"], "channel": item["channel"],
                 "workspace": payload["workspace"]}  # fmt: skip
        return say(language, RULE_SUBJECT, words)
    incident = payload["incident"]
    event = payload["event"].removeprefix("incident.")
    words = {"event": _word(event, language), "title": _title(incident["title"], language),
             "severity": _word(incident["severity"], language), "workspace": payload["workspace"]}  # fmt: skip
    return say(language, SUBJECT, words)


def text_of(payload: dict[str, Any], language: str = DEFAULT_LANGUAGE) -> str:
    """The message for people: what, how far above normal, and the first and most amplified messages."""
    if payload["event"] == "inbox.rule":
        return _rule_text(payload, language)
    incident, alert = payload["incident"], payload["alert"]
    number = _numbers(language)
    lines = [
        subject_of(payload, language),
        say(
            language,
            STARTED,
            {
                "id": incident["id"],
                "started": _moment(incident["started_at"], language),
                "alerts": number(incident["alerts"]),
            },
        ),
    ]
    if alert.get("series"):
        ratio = say(language, RATIO, {"ratio": number(alert["ratio"])}) if alert.get("ratio") else ""
        series = (
            alert["series"]
            if language == DEFAULT_LANGUAGE
            else series_name(alert["series"], catalogue(language).gettext)
        )
        values = {"series": series, "value": number(alert["value"], "g"), "expected": number(alert["expected"])}
        lines.append(say(language, ABOVE, {**values, "ratio": ratio}))
    for title, key in SHOWN:
        shown = alert.get(key) or []
        if shown:
            lines.append(f"{say(language, title)}:")
            lines.extend(say(language, SHOWN_MESSAGE, {"author": m["author"], "channel": m["channel"],
                                                      "reach": number(m["reach"]), "text": m["text"][:160]})
                         for m in shown[:3])  # fmt: skip
    lines.append(say(language, SEE, {"id": incident["id"]}))
    return "\n".join(lines)


def _rule_text(payload: dict[str, Any], language: str) -> str:
    """An inbox rule's notice: the rule, the item, and the message that made it act."""
    item, message = payload["item"], payload.get("message") or {}
    reasons = item["reasons"] or say(language, NO_REASON)
    lines = [subject_of(payload, language),
             say(language, RULE_ACTED, {"rule": payload["rule"]["name"], "id": item["id"], "reasons": reasons,
                                        "status": _item_word(item["status"], language),
                                        "priority": _item_word(item["priority"], language)})]  # fmt: skip
    if message:
        author = message.get("author") or say(language, SOMEONE)
        when = _moment(message["created_at"], language) if message.get("created_at") else ""
        lines.append(say(language, RULE_FROM, {"author": author, "channel": item["channel"], "when": when}))
        lines.append(message.get("text") or "")
        if message.get("url"):
            lines.append(str(message["url"]))
    return "\n".join(lines)


def _word(value: str, language: str) -> str:
    return say(language, value) if value in EVENTS or value in SEVERITIES else value


def _item_word(value: Any, language: str) -> str:
    return say(language, value) if value in ITEM_WORDS else str(value)


def _title(title: str, language: str) -> str:
    """An incident's title (kept in English) in a language."""
    found = said(title)
    return title if found is None else say(language, found[0], found[1])


def _numbers(language: str) -> Callable[..., str]:
    """Numbers as the language writes them (English keeps the figures as the payload has them)."""

    def number(value: Any, spec: str = "") -> str:
        if language == DEFAULT_LANGUAGE or not isinstance(value, int | float):
            return format(value, spec) if spec and isinstance(value, int | float) else str(value)
        return format_decimal(value, locale=language)

    return number


def _moment(value: str, language: str) -> str:
    """A moment of the payload (ISO 8601): as it is in English, else in the language's words, in UTC."""
    if language == DEFAULT_LANGUAGE:
        return value
    return format_datetime(datetime.fromisoformat(value), "medium", tzinfo=UTC, locale=language) + " UTC"


def language_of(session: Session, delivery: Delivery) -> str:
    """What a delivery's recipient reads: the recipient's own language, else (an e-mail address) its account's,
    else the workspace's default, else English."""
    recipient = session.get(AlertRecipient, delivery.recipient_id) if delivery.recipient_id is not None else None
    chosen = recipient.language if recipient is not None else None
    if chosen is None and delivery.kind == "email":
        chosen = session.scalar(select(User.language).where(User.email == delivery.target.strip().lower()))
    if chosen is None:
        chosen = workspaces.language(session, _workspace_of(session, delivery, recipient))
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def _workspace_of(session: Session, delivery: Delivery, recipient: AlertRecipient | None) -> int:
    if recipient is not None:
        return recipient.workspace_id
    if delivery.incident_id is not None:
        return session.get_one(Incident, delivery.incident_id).workspace_id
    return session.get_one(InboxItem, delivery.item_id).workspace_id


def deliver_due(factory: sessionmaker[Session], settings: Settings, *, now: datetime, limit: int = 100) -> int:
    """Attempt every delivery that is due; record each outcome. Returns how many were attempted."""
    with factory() as session:
        due = session.scalars(
            select(Delivery)
            .where(Delivery.status.in_(("pending", "retrying")), Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
        ).all()
        work = [(d.id, d.kind, d.target, d.payload, _secret(session, d.recipient_id),
                 language_of(session, d)) for d in due]  # fmt: skip
    for delivery_id, kind, target, payload, secret, language in work:
        outcome = _attempt(NOTIFIERS[kind], Outgoing(target, json.loads(payload), secret, settings, language))
        with factory() as session, session.begin():
            _record(session.get_one(Delivery, delivery_id), outcome, now)
    return len(work)


def _secret(session: Session, recipient_id: int | None) -> str | None:
    recipient = session.get(AlertRecipient, recipient_id) if recipient_id is not None else None
    return recipient.secret if recipient is not None else None


def _attempt(notifier: Notifier, out: Outgoing) -> tuple[bool, int | None, str | None]:
    try:
        return True, notifier(out), None
    except DeliveryError as error:
        return False, error.status, str(error)


def _record(delivery: Delivery, outcome: tuple[bool, int | None, str | None], now: datetime) -> None:
    ok, status, error = outcome
    delivery.attempts += 1
    delivery.last_status, delivery.last_error = status, error
    if ok:
        delivery.status, delivery.sent_at, delivery.next_attempt_at = "sent", now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.status, delivery.next_attempt_at = "retrying", now + backoff(delivery.attempts)


def deliveries_json(session: Session, *, incident_id: int) -> list[dict[str, Any]]:
    """The incident's deliveries and their state, for the CLI and the UI."""
    query = select(Delivery).where(Delivery.incident_id == incident_id).order_by(Delivery.id)
    return [
        {"id": d.id, "kind": d.kind, "target": d.target, "reason": d.reason, "status": d.status,
         "attempts": d.attempts, "last_status": d.last_status, "last_error": d.last_error,
         "next_attempt_at": d.next_attempt_at, "sent_at": d.sent_at}
        for d in session.scalars(query)
    ]  # fmt: skip
