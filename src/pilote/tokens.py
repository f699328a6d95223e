"""API tokens: created from the command line or a person's account page, shown once, stored as a SHA-256
digest, scoped to a workspace.

A token of a person acts with that person's role in its workspace (their role as it is at each request); a
token of no one, made before accounts existed, keeps working with a manager's rights (pilote.web.access)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.accounts import audit, users
from pilote.errors import Invalid, NotFound, PiloteError
from pilote.models import ApiToken, User, Workspace, utcnow

PREFIX = "plt_"
TOUCH_EVERY = timedelta(minutes=1)


class Unauthorized(PiloteError):
    """A request without a valid API token."""

    http_status = 401


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What is known of a token after its creation: never the token itself."""

    id: int
    workspace: str
    user: str | None  # the e-mail of the person it acts for
    role: str | None  # at most this role; None: the person's (or, of no one, a manager's)
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    session: Session,
    *,
    workspace: Workspace,
    name: str | None = None,
    user: User | None = None,
    role: str | None = None,
    actor: str = audit.COMMAND_LINE,
) -> tuple[str, TokenInfo]:
    """A new token for a workspace, acting for a person if given, with at most `role` if given (never more than
    the person's): (the token, to show once; what is stored)."""
    label = (name or "").strip() or f"token {utcnow():%Y-%m-%d %H:%M}"
    if len(label) > 200:
        raise Invalid("token name: 200 characters at most")
    if user is not None:
        _check_role(session, user, workspace, role)
    elif role is not None:
        raise Invalid("a token's role needs the person it acts for")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(workspace_id=workspace.id, user_id=user.id if user else None, role=role, name=label,
                   prefix=token[:12], digest=digest(token))  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="token created", target=f"token {row.id}", workspace_id=workspace.id,
                 after={"name": label, "user": user.email if user else None, "role": role})  # fmt: skip
    return token, _info(row, workspace.slug, user.email if user else None)


def _check_role(session: Session, user: User, workspace: Workspace, role: str | None) -> None:
    """Invalid unless the person has a role in the workspace, and `role` (if any) is at most theirs."""
    mine = "admin" if user.instance_admin else users.roles_of(session, user).get(workspace.id)
    if mine is None:
        raise Invalid(f"{user.email} has no role in {workspace.slug!r}: give one with `pilote user role` first")
    if role is not None and (role not in users.ROLES or users.rank(role) > users.rank(mine)):
        raise Invalid(f"role {role!r}: at most {mine!r}, the role of {user.email} in {workspace.slug!r}")


def effective_role(token_role: str | None, person_role: str | None) -> str | None:
    """What a person's token may do in its workspace: the lesser of its role and the person's role now."""
    if person_role is None or token_role is None:
        return person_role
    return min(token_role, person_role, key=users.rank)


def get_all(session: Session, *, user: User | None = None) -> list[TokenInfo]:
    """Every token (or a person's), newest first, revoked ones included."""
    query = (
        select(ApiToken, Workspace.slug, User.email)
        .join(Workspace, Workspace.id == ApiToken.workspace_id)
        .outerjoin(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.id.desc())
    )
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return [_info(row, slug, email) for row, slug, email in session.execute(query)]


def revoke(session: Session, *, token_id: int, actor: str = audit.COMMAND_LINE, owner: User | None = None) -> TokenInfo:
    """Refuse a token from now on (kept in the list, marked revoked); with an owner, only a token of theirs."""
    row = session.get(ApiToken, token_id)
    if owner is not None and (row is None or row.user_id != owner.id):
        raise NotFound(f"no token {token_id} of yours")
    if row is None:
        raise NotFound(f"no token {token_id}: `pilote token list` shows them")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(session, actor=actor, action="token revoked", target=f"token {row.id}",
                     workspace_id=row.workspace_id, before={"revoked": False}, after={"revoked": True})  # fmt: skip
    session.flush()
    slug = session.get_one(Workspace, row.workspace_id).slug
    owner = session.get(User, row.user_id) if row.user_id is not None else None
    return _info(row, slug, owner.email if owner else None)


def find(session: Session, header: str | None) -> ApiToken:
    """The active token an `Authorization: Bearer <token>` header names, or Unauthorized."""
    hint = "send `Authorization: Bearer <token>`; create one with `pilote token create --workspace W`"
    if not header or not header.lower().startswith("bearer "):
        raise Unauthorized(f"no API token: {hint}")
    row = session.scalar(select(ApiToken).where(ApiToken.digest == digest(header[7:].strip())))
    if row is None or row.revoked_at is not None:
        raise Unauthorized(f"this API token is unknown or revoked: {hint}")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:  # not a write per request
        row.last_used_at = now
    return row


def authenticate(session: Session, header: str | None) -> Workspace:
    """The workspace an `Authorization: Bearer <token>` header grants, or Unauthorized."""
    return session.get_one(Workspace, find(session, header).workspace_id)


def _info(row: ApiToken, slug: str, email: str | None) -> TokenInfo:
    return TokenInfo(row.id, slug, email, row.role, row.name, row.prefix, row.created_at, row.last_used_at,
                     row.revoked_at)  # fmt: skip
