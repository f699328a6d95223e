"""People who sign in: argon2id password hashes, e-mails unique whatever their case, roles per workspace."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from pilote.accounts import audit
from pilote.errors import Invalid, NotFound
from pilote.models import ApiToken, Membership, User, UserSession, Workspace, utcnow

# From the least to the most rights: each role can do what the ones before it do.
ROLES = ("analyst", "moderator", "manager", "admin")
LANGUAGES = ("en", "fr")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" would only cost the server time
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HASHER = PasswordHasher()  # argon2id, the library's defaults (RFC 9106's second recommendation)
_DECOY = _HASHER.hash("a password nobody has, checked when the e-mail is unknown")


@dataclass(frozen=True, slots=True)
class Account:
    """A person as listed: never their password hash."""

    id: int
    email: str
    display_name: str
    language: str | None
    instance_admin: bool
    disabled: bool
    roles: dict[str, str]  # workspace slug -> role
    created_at: datetime


def rank(role: str) -> int:
    """The role's place in ROLES (higher has more rights)."""
    return ROLES.index(role)


def normalise_email(email: str) -> str:
    """The stored form of an e-mail: trimmed, lower case; Invalid if it does not look like one."""
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned) or len(cleaned) > 320:
        raise Invalid(f"e-mail {email!r}: expected an address like name@example.org")
    return cleaned


def check_password(password: str) -> None:
    """Invalid unless the password is long enough (and not absurdly long)."""
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"password: {MAX_PASSWORD} characters at most")


def exist(session: Session) -> bool:
    """Whether any account exists (none: the cockpit offers to create the first admin)."""
    return bool(session.scalar(select(exists().select_from(User))))


def create(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str | None = None,
    role: str = "admin",
    workspace: Workspace | None = None,
    actor: str = audit.COMMAND_LINE,
) -> User:
    """A new account: with a workspace, the role there; without, an admin of every workspace (the instance's)."""
    address = normalise_email(email)
    check_password(password)
    _check_role(role)
    if workspace is None and role != "admin":
        raise Invalid(f"role {role!r} needs a workspace (--workspace W); only an admin may have them all")
    if session.scalar(select(User).where(User.email == address)) is not None:
        raise Invalid(f"an account for {address} already exists")
    user = User(email=address, display_name=(display_name or "").strip()[:200] or address.split("@")[0],
                password_hash=_HASHER.hash(password), instance_admin=workspace is None)  # fmt: skip
    session.add(user)
    session.flush()
    if workspace is not None:
        session.add(Membership(user_id=user.id, workspace_id=workspace.id, role=role))
    after = {"role": "instance admin" if workspace is None else role}
    audit.record(session, actor=actor, action="user created", target=address,
                 workspace_id=workspace.id if workspace else None, after=after)  # fmt: skip
    return user


def get(session: Session, *, email: str) -> User:
    """The account with that e-mail (any case), or NotFound."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no account for {email!r}: `pilote user list` shows them")
    return user


def get_all(session: Session) -> list[Account]:
    """Every account, by e-mail, with its roles."""
    roles: dict[int, dict[str, str]] = {}
    for user_id, slug, role in session.execute(
        select(Membership.user_id, Workspace.slug, Membership.role).join(Workspace)
    ):
        roles.setdefault(user_id, {})[slug] = role
    return [
        Account(user.id, user.email, user.display_name, user.language, user.instance_admin,
                user.disabled_at is not None, roles.get(user.id, {}), user.created_at)
        for user in session.scalars(select(User).order_by(User.email))
    ]  # fmt: skip


def roles_of(session: Session, user: User) -> dict[int, str]:
    """The user's role per workspace id (an instance admin is admin everywhere: see role_in)."""
    rows = session.execute(select(Membership.workspace_id, Membership.role).where(Membership.user_id == user.id))
    return {workspace_id: role for workspace_id, role in rows}


def set_role(
    session: Session, *, user: User, role: str, workspace: Workspace | None, actor: str = audit.COMMAND_LINE
) -> None:
    """Give a role in a workspace (`none` takes it away); without a workspace, make or unmake an instance admin."""
    if workspace is None:
        if role not in ("admin", "none"):
            raise Invalid(f"role {role!r} needs a workspace (--workspace W); without one: admin or none")
        before: dict[str, object] = {"instance_admin": user.instance_admin}
        user.instance_admin = role == "admin"
        audit.record(session, actor=actor, action="role changed", target=user.email, before=before,
                     after={"instance_admin": user.instance_admin})  # fmt: skip
        return
    if role != "none":
        _check_role(role)
    found = session.get(Membership, (user.id, workspace.id))
    before = {"role": found.role if found else None}
    if role == "none":
        if found is not None:
            session.delete(found)
    elif found is None:
        session.add(Membership(user_id=user.id, workspace_id=workspace.id, role=role))
    else:
        found.role = role
    audit.record(session, actor=actor, action="role changed", target=user.email, workspace_id=workspace.id,
                 before=before, after={"role": None if role == "none" else role})  # fmt: skip
    session.flush()


def disable(session: Session, *, user: User, actor: str = audit.COMMAND_LINE) -> None:
    """Refuse the account from now on: its sessions end and its API tokens are revoked."""
    if user.disabled_at is None:
        now = utcnow()
        user.disabled_at = now
        end_sessions(session, user=user)
        session.execute(
            update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now)
        )
        audit.record(session, actor=actor, action="user disabled", target=user.email, before={"disabled": False},
                     after={"disabled": True})  # fmt: skip


def enable(session: Session, *, user: User, actor: str = audit.COMMAND_LINE) -> None:
    """Let a disabled account sign in again (its old sessions and tokens stay ended: new ones are needed)."""
    if user.disabled_at is not None:
        user.disabled_at = None
        audit.record(session, actor=actor, action="user enabled", target=user.email, before={"disabled": True},
                     after={"disabled": False})  # fmt: skip


def set_password(
    session: Session,
    *,
    user: User,
    password: str,
    actor: str,
    action: str = "password changed",
    keep: int | None = None,
) -> None:
    """A new password: every session of the account ends (a thief's included), but the one `keep` names."""
    check_password(password)
    user.password_hash = _HASHER.hash(password)
    user.password_changed_at = utcnow()
    end_sessions(session, user=user, keep=keep)
    audit.record(session, actor=actor, action=action, target=user.email)


def set_name(session: Session, *, user: User, name: str, actor: str) -> None:
    """The name shown to the team (not empty, 200 characters at most)."""
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > 200:
        raise Invalid("name: between 1 and 200 characters")
    if cleaned != user.display_name:
        audit.record(session, actor=actor, action="name changed", target=user.email,
                     before={"name": user.display_name}, after={"name": cleaned})  # fmt: skip
        user.display_name = cleaned


def set_language(session: Session, *, user: User, language: str | None) -> None:
    """The cockpit's language for this person (None: their browser's)."""
    if language is not None and language not in LANGUAGES:
        raise Invalid(f"language {language!r}: one of {', '.join(LANGUAGES)}")
    user.language = language


def verify(user: User | None, password: str) -> bool:
    """Whether the password is the user's; with no user, the same work is done, so timing tells nothing."""
    try:
        return _HASHER.verify(user.password_hash if user else _DECOY, password[:MAX_PASSWORD]) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def end_sessions(session: Session, *, user: User, keep: int | None = None) -> None:
    """Sign the user out everywhere (but in the session `keep` names, if any)."""
    ended = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if keep is not None:
        ended = ended.where(UserSession.id != keep)
    session.execute(ended.values(revoked_at=utcnow()))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise Invalid(f"role {role!r}: one of {', '.join(ROLES)}")
