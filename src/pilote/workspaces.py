"""Workspaces: create, list, find the one a command means, delete."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pilote import deletions
from pilote.accounts import audit
from pilote.errors import Invalid, NotFound
from pilote.models import Deletion, Workspace, WorkspaceSetting, utcnow
from pilote.texts import LANGUAGES, N_

DEFAULT = "default"
LANGUAGE = "language"  # the workspace_setting holding its default language for notifications
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def create(session: Session, *, slug: str, name: str | None = None, by: audit.Actor = audit.CLI) -> Workspace:
    """A new workspace; the slug is lower-case letters, digits, '-' and '_'."""
    if not _SLUG.match(slug):
        raise Invalid(N_("workspace name %(slug)r: use lower-case letters, digits, '-' or '_' (64 at most)"), slug=slug)
    if session.scalar(select(Workspace).where(Workspace.slug == slug)) is not None:
        raise Invalid(N_("workspace %(slug)r already exists"), slug=slug)
    workspace = Workspace(slug=slug, name=name or slug)
    session.add(workspace)
    session.flush()
    audit.record(session, actor=by, action="workspace created", target=f"workspace {slug}", workspace_id=workspace.id,
                 after={"slug": slug, "name": workspace.name})  # fmt: skip
    return workspace


def get_all(session: Session) -> list[Workspace]:
    """Every workspace, by name."""
    return list(session.scalars(select(Workspace).order_by(Workspace.slug)))


def get(session: Session, *, slug: str) -> Workspace:
    """The workspace with that slug, or NotFound saying how to create it."""
    workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if workspace is None:
        raise NotFound(
            N_("no workspace %(slug)r: create it with `pilote workspace create %(name)s`"),
            web=N_("no workspace %(slug)r"),
            slug=slug,
            name=slug,
        )
    return workspace


def resolve(session: Session, *, slug: str | None, create_default: bool = False) -> Workspace:
    """The named workspace; with no name, the only one, else `default` (created if asked)."""
    if slug is not None:
        return get(session, slug=slug)
    count = session.scalar(select(func.count()).select_from(Workspace)) or 0
    if count == 1:
        return session.scalars(select(Workspace)).one()
    found = session.scalar(select(Workspace).where(Workspace.slug == DEFAULT))
    if found is not None:
        return found
    if count > 1:
        names = ", ".join(w.slug for w in get_all(session))
        raise Invalid(f"several workspaces ({names}): say which with --workspace")
    if create_default:
        return create(session, slug=DEFAULT, name="Default")
    raise NotFound("no workspace yet: import something or run `pilote workspace create NAME`")


def delete(session: Session, *, slug: str, by: audit.Actor) -> Deletion:
    """Delete a workspace and everything it holds, keeping a record of it (`deletions.delete_workspace`)."""
    return deletions.delete_workspace(session, workspace_id=get(session, slug=slug).id, by=by)


def language(session: Session, workspace_id: int) -> str | None:
    """The workspace's default language for what its notifications say (a `workspace_setting`), or None."""
    row = session.get(WorkspaceSetting, (workspace_id, LANGUAGE))
    return row.value if row is not None and row.value in LANGUAGES else None


def set_language(session: Session, *, workspace_id: int, language: str | None, by: audit.Actor = audit.CLI) -> None:
    """Choose (or, with None, forget) the workspace's default language for notifications."""
    if language is not None and language not in LANGUAGES:
        raise Invalid(N_("language %(language)r: use one of %(known)s"), language=language, known=", ".join(LANGUAGES))
    row = session.get(WorkspaceSetting, (workspace_id, LANGUAGE))
    before = row.value if row is not None else None
    if language is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(WorkspaceSetting(workspace_id=workspace_id, name=LANGUAGE, value=language))
    else:
        row.value, row.updated_at = language, utcnow()
    audit.record(session, actor=by, action="workspace language set", target=f"workspace {workspace_id}",
                 workspace_id=workspace_id, before={"language": before}, after={"language": language})  # fmt: skip
    session.flush()
