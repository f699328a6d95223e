"""Password resets by e-mail: a random token, stored as its SHA-256, good for one use within an hour."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pilote.accounts import users
from pilote.accounts.sessions import digest
from pilote.errors import Invalid
from pilote.models import PasswordReset, User, utcnow

LIFETIME = timedelta(hours=1)
PER_HOUR = 3  # reset links per account and hour: a stranger who knows an address cannot flood its mailbox


def create(session: Session, *, email: str, lifetime: timedelta = LIFETIME) -> tuple[User, str] | None:
    """A reset token for the account with that e-mail, or None when there is no such (enabled) account or it was
    sent PER_HOUR links in the last hour (the person asking gets the same answer either way). An admin's link for
    a new account lives longer (pilote.accounts.team.LINK_LIFETIME): the person may not read it within the hour."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.disabled_at is not None:
        return None
    now = utcnow()
    recent = select(func.count()).where(PasswordReset.user_id == user.id, PasswordReset.created_at > now - LIFETIME)
    if (session.scalar(recent) or 0) >= PER_HOUR:
        return None
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(digest=digest(token), user_id=user.id, created_at=now, expires_at=now + lifetime))
    return user, token


def find(session: Session, token: str) -> PasswordReset | None:
    """The unused, unexpired reset of a token, or None."""
    row = session.scalar(select(PasswordReset).where(PasswordReset.digest == digest(token)))
    if row is None or row.used_at is not None or row.expires_at < utcnow():
        return None
    return row


def use(session: Session, *, token: str, password: str) -> User:
    """Set the new password with a reset token; every other reset of the account and every session end."""
    row = find(session, token)
    if row is None:
        raise Invalid("this link is unknown, used or expired: ask for a new one")
    user = session.get_one(User, row.user_id)
    users.set_password(session, user=user, password=password, actor=user.email, action="password reset")
    now = utcnow()
    session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    return user
