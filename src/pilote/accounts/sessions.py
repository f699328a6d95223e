"""Signing in and out: sessions kept in the database (every server of an instance shares them), expiring when
idle and after an absolute limit; login attempts counted per e-mail and per client address."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from pilote.accounts import audit, users
from pilote.errors import NotFound, PiloteError
from pilote.models import LoginAttempt, User, UserSession, utcnow

COOKIE = "pilote_session"
WINDOW = timedelta(minutes=15)
FAILURES_PER_EMAIL = 5  # then that e-mail waits out the window, whoever tries it
FAILURES_PER_ADDRESS = 20  # then that client address waits, whichever e-mails it tries
KEEP_ATTEMPTS = timedelta(days=1)
TOUCH_EVERY = timedelta(minutes=1)  # not a write per request


class TooManyAttempts(PiloteError):
    """Too many failed logins lately, for this e-mail or from this address."""

    http_status = 429


@dataclass(frozen=True, slots=True)
class Limits:
    """How long a session lives: since its last request, and at most since it began."""

    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True, slots=True)
class Attempt:
    """A login form as sent: the e-mail typed, the password, and where it came from."""

    email: str
    password: str
    address: str


def digest(token: str) -> str:
    """The stored form of a session cookie."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(cookie: str) -> str:
    """The session's anti-forgery token: derived from the cookie, which another site can neither read nor guess."""
    return hmac.new(cookie.encode(), b"pilote csrf", hashlib.sha256).hexdigest()


def csrf_ok(cookie: str, sent: str | None) -> bool:
    """Whether a request carries its session's anti-forgery token."""
    return sent is not None and hmac.compare_digest(csrf_token(cookie), sent)


def sign_in(session: Session, attempt: Attempt) -> str | None:
    """A new session's cookie, or None for an unknown e-mail and a wrong password alike; the attempt is counted
    (commit even when None). TooManyAttempts before any password is checked, when the limits are reached."""
    email = attempt.email.strip().lower()[:320]
    now = utcnow()
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP_ATTEMPTS))
    if _failures(session, LoginAttempt.email == email, now) >= FAILURES_PER_EMAIL or (
        _failures(session, LoginAttempt.address == attempt.address, now) >= FAILURES_PER_ADDRESS
    ):
        audit.record(session, actor=email, action="login throttled", target=email, address=attempt.address)
        session.flush()
        raise TooManyAttempts(f"too many failed attempts: try again in {WINDOW.seconds // 60} minutes")
    user = session.scalar(select(User).where(User.email == email))
    ok = users.verify(user, attempt.password) and user is not None and user.disabled_at is None
    session.add(LoginAttempt(email=email, address=attempt.address[:64], at=now, succeeded=ok))
    action = "login succeeded" if ok else "login failed"
    audit.record(session, actor=email, action=action, target=email, address=attempt.address[:64])
    if not ok or user is None:
        return None
    token = secrets.token_urlsafe(32)
    session.add(UserSession(digest=digest(token), user_id=user.id, created_at=now, last_seen_at=now))
    return token


def authenticate(session: Session, cookie: str | None, limits: Limits) -> tuple[User, UserSession] | None:
    """The user and session a cookie stands for, or None when it is unknown, ended, expired or disabled."""
    if not cookie:
        return None
    row = session.scalar(select(UserSession).where(UserSession.digest == digest(cookie)))
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if now - row.last_seen_at > limits.idle or now - row.created_at > limits.absolute:
        return None
    user = session.get_one(User, row.user_id)
    if user.disabled_at is not None:
        return None
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return user, row


def sign_out(session: Session, cookie: str | None) -> None:
    """End the session of this cookie (nothing if there is none)."""
    if cookie:
        row = session.scalar(select(UserSession).where(UserSession.digest == digest(cookie)))
        if row is not None and row.revoked_at is None:
            row.revoked_at = utcnow()


def confirm(session: Session, *, user: User, password: str, address: str) -> bool:
    """Whether a signed-in person typed their own password (to change it): counted and limited like a login, so
    a borrowed session cannot try passwords faster than the login form (commit even when False)."""
    now = utcnow()
    if _failures(session, LoginAttempt.email == user.email, now) >= FAILURES_PER_EMAIL:
        audit.record(session, actor=user.email, action="login throttled", target=user.email, address=address[:64])
        raise TooManyAttempts(f"too many failed attempts: try again in {WINDOW.seconds // 60} minutes")
    ok = users.verify(user, password)
    session.add(LoginAttempt(email=user.email, address=address[:64], at=now, succeeded=ok))
    if not ok:
        audit.record(session, actor=user.email, action="password check failed", target=user.email,
                     address=address[:64])  # fmt: skip
    return ok


def get_all(session: Session, *, user: User, limits: Limits) -> list[UserSession]:
    """The person's sessions still alive (not ended, not expired), the most recently seen first."""
    now = utcnow()
    rows = session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .where(UserSession.last_seen_at > now - limits.idle, UserSession.created_at > now - limits.absolute)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(rows)


def end(session: Session, *, user: User, session_id: int) -> None:
    """End one of the person's own sessions (NotFound for anyone else's)."""
    row = session.get(UserSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound(f"no session {session_id} of yours")
    if row.revoked_at is None:
        row.revoked_at = utcnow()


def _failures(session: Session, who: object, now: datetime) -> int:
    """Failed attempts in the window, since the last success of the same e-mail or address."""
    since = now - WINDOW
    last_success = session.scalar(select(func.max(LoginAttempt.at)).where(who, LoginAttempt.succeeded))  # type: ignore[arg-type]
    if last_success is not None and last_success > since:
        since = last_success
    count = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(who, LoginAttempt.at > since, ~LoginAttempt.succeeded)  # type: ignore[arg-type]
    )
    return count or 0
