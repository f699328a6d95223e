"""Per-workspace alert rules and recipients: what the radar watches, how sensitively, whom it tells and when.

A workspace without a rule row uses `DEFAULT`. The default series describe a reputation crisis rather
than any surge: negative volume and share, first-time authors and their reach. Mention volume and total
reach are computed and shown, and alert only when a team adds them (a spam wave or a viral promotion
would otherwise page someone at night). See docs/alerts.md.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.accounts import audit
from pilote.errors import Invalid, NotFound
from pilote.models import AlertRecipient, AlertRule, utcnow
from pilote.radar.detectors import SENSITIVITIES
from pilote.radar.series import BASE_SERIES, REACH_SERIES, is_known
from pilote.texts import LANGUAGES, N_

DEFAULT_SERIES = ("negative", "negative_share", "newcomers", "newcomer_reach")
KINDS = ("email", "webhook", "slack")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True, slots=True)
class Rule:
    """A workspace's rule, with defaults filled in."""

    enabled: bool = True
    sensitivity: str = "medium"
    series: tuple[str, ...] = DEFAULT_SERIES
    min_volume: int = 5  # messages in the five-minute bucket, for count and share series
    min_reach: int = 1000  # reach in the bucket, for reach series
    quiet_start: str | None = None  # "22:00" in `timezone`
    quiet_end: str | None = None
    timezone: str = "UTC"
    escalate_after: int | None = 30  # minutes unacknowledged before the escalation recipients hear
    spam_threshold: float | None = None  # trust the spam model from this probability on (off by default)

    def admits(self, series: str, value: float, messages: int) -> bool:
        """Whether an alert on `series` is worth raising: watched, and above the rule's floors."""
        if not self.enabled or series not in self.series:
            return False
        if series in REACH_SERIES:
            return value >= self.min_reach
        return messages >= self.min_volume

    def quiet_until(self, moment: datetime) -> datetime | None:
        """The end of the quiet hours `moment` falls in, or None outside them."""
        if self.quiet_start is None or self.quiet_end is None:
            return None
        local = moment.astimezone(ZoneInfo(self.timezone))
        start, end = _clock(self.quiet_start), _clock(self.quiet_end)
        now = local.time()
        inside = start <= now < end if start < end else (now >= start or now < end)
        if not inside:
            return None
        until = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
        return until if until > local else until + timedelta(days=1)


DEFAULT = Rule()


def get(session: Session, *, workspace_id: int) -> Rule:
    """The workspace's rule (the default when none was set)."""
    row = session.scalar(select(AlertRule).where(AlertRule.workspace_id == workspace_id))
    if row is None:
        return DEFAULT
    return Rule(
        enabled=row.status == "on",
        sensitivity=row.sensitivity,
        series=tuple(name for name in row.series.split(",") if name),
        min_volume=row.min_volume,
        min_reach=row.min_reach,
        quiet_start=row.quiet_start,
        quiet_end=row.quiet_end,
        timezone=row.timezone,
        escalate_after=row.escalate_after,
        spam_threshold=row.spam_threshold,
    )


def update(session: Session, *, workspace_id: int, by: audit.Actor = audit.CLI, **changes: Any) -> Rule:
    """Change some of the rule's fields (the others keep their value); Invalid names what is wrong."""
    unknown = set(changes) - set(Rule.__dataclass_fields__)
    if unknown:
        raise Invalid(N_("unknown rule field %(fields)s"), fields=", ".join(sorted(unknown)))
    old = get(session, workspace_id=workspace_id)
    rule = replace(old, **changes)
    _check(rule)
    before, after = {k: getattr(old, k) for k in changes}, {k: getattr(rule, k) for k in changes}
    audit.record(session, actor=by, action="alert rule changed", target="alert rule", workspace_id=workspace_id,
                 before=before, after=after)  # fmt: skip
    row = session.scalar(select(AlertRule).where(AlertRule.workspace_id == workspace_id))
    if row is None:
        row = AlertRule(workspace_id=workspace_id)
        session.add(row)
    row.status = "on" if rule.enabled else "off"
    row.sensitivity, row.series = rule.sensitivity, ",".join(rule.series)
    row.min_volume, row.min_reach = rule.min_volume, rule.min_reach
    row.quiet_start, row.quiet_end, row.timezone = rule.quiet_start, rule.quiet_end, rule.timezone
    row.escalate_after, row.spam_threshold = rule.escalate_after, rule.spam_threshold
    row.updated_at = utcnow()
    session.flush()
    return rule


def _check(rule: Rule) -> None:
    if rule.sensitivity not in SENSITIVITIES:
        raise Invalid(
            N_("sensitivity %(value)r: use one of %(known)s"), value=rule.sensitivity, known=", ".join(SENSITIVITIES)
        )
    wrong = [name for name in rule.series if not is_known(name)]
    if wrong or not rule.series:
        known = ", ".join(BASE_SERIES)
        raise Invalid(N_("series %(wrong)s: use some of %(known)s, or keyphrase:PHRASE"), wrong=", ".join(wrong) or "-",
                      known=known)  # fmt: skip
    if rule.min_volume < 0 or rule.min_reach < 0:
        raise Invalid(N_("minimum volume and reach: use 0 or more"))
    if (rule.quiet_start is None) != (rule.quiet_end is None):
        raise Invalid(N_("quiet hours need a start and an end, e.g. 22:00-07:00"))
    for value in (rule.quiet_start, rule.quiet_end):
        if value is not None and not _CLOCK.match(value):
            raise Invalid(N_("quiet hours %(value)r: use HH:MM on a 24-hour clock, e.g. 22:00-07:00"), value=value)
    try:
        ZoneInfo(rule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            N_("time zone %(zone)r: use an IANA name such as Europe/Paris or UTC"), zone=rule.timezone
        ) from None
    if rule.escalate_after is not None and rule.escalate_after < 1:
        raise Invalid(N_("escalate after %(minutes)s minutes: use 1 or more, or none"), minutes=rule.escalate_after)
    if rule.spam_threshold is not None and not 0.0 < rule.spam_threshold <= 1.0:
        raise Invalid(
            N_("spam threshold %(value)s: use a probability above 0 and at most 1"), value=rule.spam_threshold
        )


def parse_quiet(text: str) -> tuple[str | None, str | None]:
    """ "22:00-07:00" as (start, end); "off" or "" as no quiet hours."""
    if text.strip().lower() in {"", "off", "none"}:
        return None, None
    start, _, end = text.partition("-")
    if not _CLOCK.match(start.strip()) or not _CLOCK.match(end.strip()):
        raise Invalid(N_("quiet hours %(value)r: use HH:MM-HH:MM, e.g. 22:00-07:00, or off"), value=text)
    return start.strip(), end.strip()


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def add_recipient(
    session: Session, *, workspace_id: int, kind: str, target: str, on: str = "always", secret: str | None = None,
    language: str | None = None, by: audit.Actor = audit.CLI,
) -> AlertRecipient:  # fmt: skip
    """A new recipient; a webhook without a secret gets a generated one (shown once by the CLI). `language` is what
    it reads (None: its account's for an e-mail address, else the workspace's)."""
    _check_recipient(kind, target, on)
    _check_language(language)
    if kind == "webhook" and not secret:
        secret = secrets.token_urlsafe(32)
    recipient = AlertRecipient(workspace_id=workspace_id, kind=kind, target=target.strip(), on=on, secret=secret,
                               language=language)  # fmt: skip
    session.add(recipient)
    session.flush()
    after = {"kind": kind, "target": recipient.target, "on": on, "language": language}
    audit.record(session, actor=by, action="alert recipient added", target=f"recipient {recipient.id}",
                 workspace_id=workspace_id, after=after)  # fmt: skip
    return recipient


def set_recipient_language(
    session: Session, *, workspace_id: int, recipient_id: int, language: str | None, by: audit.Actor = audit.CLI
) -> None:
    """Choose (or, with None, forget) the language a recipient reads."""
    _check_language(language)
    found = _recipient(session, workspace_id, recipient_id)
    before, found.language = found.language, language
    audit.record(session, actor=by, action="alert recipient changed", target=f"recipient {recipient_id}",
                 workspace_id=workspace_id, before={"language": before}, after={"language": language})  # fmt: skip
    session.flush()


def _check_language(language: str | None) -> None:
    if language is not None and language not in LANGUAGES:
        raise Invalid(N_("language %(language)r: use one of %(known)s"), language=language, known=", ".join(LANGUAGES))


def _recipient(session: Session, workspace_id: int, recipient_id: int) -> AlertRecipient:
    found = session.get(AlertRecipient, recipient_id)
    if found is None or found.workspace_id != workspace_id:
        raise NotFound(N_("no recipient %(id)s in this workspace: see `pilote alert-rule show`"), id=recipient_id)
    return found


def _check_recipient(kind: str, target: str, on: str) -> None:
    if kind not in KINDS:
        raise Invalid(N_("recipient kind %(kind)r: use one of %(known)s"), kind=kind, known=", ".join(KINDS))
    if on not in {"always", "escalation"}:
        raise Invalid(N_("--on %(on)r: use always (every notification) or escalation (only escalations)"), on=on,
                      web=N_("%(on)r: notify always (every notification) or on escalation only"))  # fmt: skip
    if kind == "email" and not _EMAIL.match(target.strip()):
        raise Invalid(N_("e-mail address %(target)r: expected name@example.org"), target=target)
    if kind != "email":
        parts = urlsplit(target.strip())
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise Invalid(
                N_("%(kind)s address %(target)r: expected an http:// or https:// URL"), kind=kind, target=target
            )


def recipients(session: Session, *, workspace_id: int) -> list[AlertRecipient]:
    """The workspace's recipients, oldest first."""
    query = select(AlertRecipient).where(AlertRecipient.workspace_id == workspace_id).order_by(AlertRecipient.id)
    return list(session.scalars(query))


def remove_recipient(session: Session, *, workspace_id: int, recipient_id: int, by: audit.Actor = audit.CLI) -> None:
    """Remove a recipient (its past deliveries stay, without it)."""
    found = _recipient(session, workspace_id, recipient_id)
    before = {"kind": found.kind, "target": found.target, "on": found.on}
    audit.record(session, actor=by, action="alert recipient removed", target=f"recipient {recipient_id}",
                 workspace_id=workspace_id, before=before)  # fmt: skip
    session.delete(found)
    session.flush()
