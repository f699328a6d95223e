"""A workspace's team: who has a role there and when they were last seen; adding a person; the rule that a
workspace always keeps an admin. Every change goes through pilote.accounts.users, which writes the audit log."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pilote.accounts import audit, resets, users
from pilote.errors import Invalid, NotFound
from pilote.models import Membership, User, UserSession, Workspace

LINK_LIFETIME = timedelta(days=3)  # an admin's set-password link: the person may not read it within the hour


class Refused(Invalid):
    """A change the team's rules refuse; `reason` is a short code the pages put in the reader's words."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Person:
    """Someone with a role in the workspace, as the Team page lists them."""

    id: int
    email: str
    display_name: str
    role: str
    instance_admin: bool  # an admin of every workspace: the role comes with the account, not from this workspace
    disabled: bool
    last_seen: datetime | None  # the last request of any of their sessions; None: never signed in
    elsewhere: bool  # also has a role in another workspace

    @property
    def state(self) -> str:
        """disabled, invited (never signed in) or active."""
        return "disabled" if self.disabled else "invited" if self.last_seen is None else "active"


@dataclass(frozen=True, slots=True)
class Added:
    """The outcome of adding a person: their account, and a set-password link's token when the account is new."""

    user: User
    token: str | None


def get_all(session: Session, *, workspace: Workspace) -> list[Person]:
    """The admins of every workspace and the people with a role in this one, by name."""
    member = Membership.workspace_id == workspace.id
    rows = session.execute(
        select(User, Membership.role).outerjoin(Membership, member & (Membership.user_id == User.id))
        .where(or_(User.instance_admin, Membership.role.is_not(None)))
    ).all()  # fmt: skip
    ids = [user.id for user, _ in rows]
    last = select(UserSession.user_id, func.max(UserSession.last_seen_at)).where(UserSession.user_id.in_(ids))
    seen: dict[int, datetime] = {user_id: at for user_id, at in session.execute(last.group_by(UserSession.user_id))}
    elsewhere = set(session.scalars(select(Membership.user_id).where(Membership.user_id.in_(ids), ~member)))
    people = [
        Person(user.id, user.email, user.display_name, "admin" if user.instance_admin else role or "",
               user.instance_admin, user.disabled_at is not None, seen.get(user.id), user.id in elsewhere)
        for user, role in rows
    ]  # fmt: skip
    return sorted(people, key=lambda person: (person.display_name.casefold(), person.email))


def get(session: Session, *, workspace: Workspace, user_id: int) -> Person:
    """One person of the team, or NotFound (someone with no role here is not of this team)."""
    for person in get_all(session, workspace=workspace):
        if person.id == user_id:
            return person
    raise NotFound(f"no person {user_id} in the team of {workspace.slug!r}")


def add(session: Session, *, workspace: Workspace, email: str, name: str, role: str, actor: str) -> Added:
    """Give a role here to an existing account, or create the account with a set-password link (no password
    anyone knows until the person chooses one)."""
    address = users.normalise_email(email)
    existing = session.scalar(select(User).where(User.email == address))
    if existing is not None:
        if existing.instance_admin or session.get(Membership, (existing.id, workspace.id)) is not None:
            raise Refused("already", f"{address} already has a role in {workspace.slug!r}")
        users.set_role(session, user=existing, role=role, workspace=workspace, actor=actor)
        return Added(existing, None)
    user = users.create(session, email=address, password=secrets.token_urlsafe(32), display_name=name, role=role,
                        workspace=workspace, actor=actor)  # fmt: skip
    found = resets.create(session, email=address, lifetime=LINK_LIFETIME)
    return Added(user, found[1] if found else None)


def change_role(session: Session, *, workspace: Workspace, user_id: int, role: str, actor: str) -> User:
    """Give another role here (`none` takes it away), unless the workspace would be left without an admin."""
    person = get(session, workspace=workspace, user_id=user_id)
    if person.instance_admin:
        raise Refused("instance admin", f"{person.email} is an admin of every workspace: that role stays")
    if person.role == "admin" and role != "admin" and not _other_admins(session, workspace, person.id):
        raise Refused("last admin", f"{person.email} is the last admin of {workspace.slug!r}: name another first")
    user = session.get_one(User, person.id)
    users.set_role(session, user=user, role=role, workspace=workspace, actor=actor)
    return user


def set_disabled(session: Session, *, workspace: Workspace, user_id: int, disabled: bool, actor: User) -> User:
    """Disable or enable an account of this team (for an admin of every workspace: it counts in all of them)."""
    person = get(session, workspace=workspace, user_id=user_id)
    if person.id == actor.id:
        raise Refused("yourself", "you cannot disable your own account")
    user = session.get_one(User, person.id)
    if disabled:
        users.disable(session, user=user, actor=actor.email)
    else:
        users.enable(session, user=user, actor=actor.email)
    return user


def may_link(person: Person, *, by_instance_admin: bool) -> bool:
    """Whether an admin may make a set-password link for this person: an admin of every workspace for anyone
    enabled; an admin of this workspace only for someone who never signed in and belongs to no other team (a link
    is the account: it must not reach further than the one who makes it)."""
    if person.disabled:
        return False
    return by_instance_admin or (person.state == "invited" and not person.elsewhere and not person.instance_admin)


def new_link(session: Session, *, workspace: Workspace, user_id: int, by_instance_admin: bool, actor: str) -> str:
    """A new set-password link's token for a person of the team (see may_link), recorded in the audit log."""
    person = get(session, workspace=workspace, user_id=user_id)
    if not may_link(person, by_instance_admin=by_instance_admin):
        raise Refused("no link", f"{person.email}: only an admin of every workspace may make this link")
    found = resets.create(session, email=person.email, lifetime=LINK_LIFETIME)
    if found is None:
        raise Refused("too many links", f"{person.email} had {resets.PER_HOUR} links in the last hour: wait")
    audit.record(session, actor=actor, action="password link made", target=person.email, workspace_id=workspace.id)
    return found[1]


def _other_admins(session: Session, workspace: Workspace, user_id: int) -> bool:
    """Whether an enabled admin other than this person remains for the workspace."""
    admin_here = select(Membership.user_id).where(Membership.workspace_id == workspace.id, Membership.role == "admin")
    found = session.scalar(
        select(func.count()).select_from(User).where(
            User.id != user_id, User.disabled_at.is_(None), or_(User.instance_admin, User.id.in_(admin_here))
        )
    )  # fmt: skip
    return bool(found)
