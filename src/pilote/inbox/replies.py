"""Answering: saved replies with variables, and the answer itself (`send`, `answered`: see `inbox.outbox`).

A saved reply is shared by the workspace (managers write those) or a person's own (any moderator), called by its
shortcut. Its body may hold variables such as `{{author.name}}`, filled in from the item being answered by our
own small substitution: a body is a user's text, so it is never a template language (no Jinja, no expressions, no
attribute lookups), and a variable Pilote does not know is refused when the reply is saved, naming those it knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pilote.accounts import audit, users
from pilote.accounts.audit import Actor
from pilote.errors import Forbidden, Invalid, NotFound
from pilote.inbox.outbox import answered as answered
from pilote.inbox.outbox import send as send
from pilote.models import Author, InboxItem, Message, SavedReply, User, Workspace, utcnow
from pilote.texts import N_

MAX_BODY = 10_000
SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
VARIABLE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Context:
    """What the variables of a saved reply are filled in from."""

    author_name: str = ""
    author_handle: str = ""
    agent_name: str = ""
    post_title: str = ""
    post_url: str = ""
    message_url: str = ""
    workspace_name: str = ""


# Each variable, what it says (docs/inbox.md's table), and how it is read from the context.
VARIABLES: dict[str, tuple[str, Callable[[Context], str]]] = {
    "author.name": ("the author's display name (else their handle)", lambda c: c.author_name or c.author_handle),
    "author.handle": ("the author's handle on the platform", lambda c: c.author_handle),
    "agent.name": ("the display name of the person who answers", lambda c: c.agent_name),
    "post.title": ("the title of the post the conversation is under", lambda c: c.post_title),
    "post.url": ("the address of that post", lambda c: c.post_url),
    "message.url": ("the address of the message being answered", lambda c: c.message_url),
    "workspace.name": ("the workspace's name (the brand)", lambda c: c.workspace_name),
}


def variables_in(body: str) -> list[str]:
    """The variables a body uses; Invalid for an unknown one or a stray `{{` / `}}`, naming the known ones."""
    found = [match.group(1) for match in VARIABLE.finditer(body)]
    unknown = sorted({name for name in found if name not in VARIABLES})
    if unknown:
        known = ", ".join("{{" + name + "}}" for name in VARIABLES)
        shown = ", ".join("{{" + name + "}}" for name in unknown)
        raise Invalid(N_("unknown variable %(shown)s: use %(known)s"), shown=shown, known=known)
    rest = VARIABLE.sub("", body)
    if "{{" in rest or "}}" in rest:
        raise Invalid(N_("a `{{` or `}}` without its other half: write a variable as {{author.name}}"))
    return found


def fill(body: str, context: Context) -> str:
    """The body with each variable replaced by its value (values are text: nothing in them is read again)."""
    variables_in(body)
    return VARIABLE.sub(lambda match: VARIABLES[match.group(1)][1](context), body)


def context_of(session: Session, item: InboxItem, actor: Actor) -> Context:
    """The values of the variables for an answer to this item by this person."""
    message = session.get_one(Message, item.last_message_id or item.first_message_id)
    author = session.get(Author, item.author_id) if item.author_id else None
    root = session.get(Message, message.thread_id) if message.thread_id else message
    post = root if root is not None and root.kind == "post" else None
    agent = session.get(User, actor.user_id) if actor.user_id else None
    space = session.get_one(Workspace, item.workspace_id)
    return Context(author_name=(author.display_name or "") if author else "", author_handle=author.handle if author
                   else "", agent_name=agent.display_name if agent else "", post_title=(post.title or "") if post
                   else "", post_url=(post.url or "") if post else "", message_url=message.url or "",
                   workspace_name=space.name)  # fmt: skip


# Saved replies.


def get_all(session: Session, workspace_id: int, user_id: int | None) -> list[SavedReply]:
    """The workspace's shared replies and this person's own, by shortcut (a person's own first)."""
    mine = SavedReply.user_id == user_id if user_id is not None else SavedReply.user_id.is_(None)
    rows = session.scalars(select(SavedReply).where(
        SavedReply.workspace_id == workspace_id, or_(SavedReply.user_id.is_(None), mine)))  # fmt: skip
    return sorted(rows, key=lambda r: (r.shortcut, r.user_id is None, r.id))


def get(session: Session, workspace_id: int, reply_id: int, user_id: int | None) -> SavedReply:
    """One saved reply this person can see, or NotFound."""
    row = session.get(SavedReply, reply_id)
    if row is None or row.workspace_id != workspace_id or (row.user_id is not None and row.user_id != user_id):
        raise NotFound(N_("no saved reply %(id)s in this workspace"), id=reply_id)
    return row


def by_shortcut(session: Session, workspace_id: int, shortcut: str, user_id: int | None) -> SavedReply:
    """The saved reply a shortcut calls (a person's own before the shared one), or NotFound."""
    wanted = shortcut.strip().lstrip("/").lower()
    for row in get_all(session, workspace_id, user_id):
        if row.shortcut == wanted:
            return row
    raise NotFound(
        N_("no saved reply /%(shortcut)s: `pilote inbox replies list` shows them"),
        web=N_("no saved reply /%(shortcut)s: the Saved replies page lists them"),
        shortcut=wanted,
    )


@dataclass(frozen=True, slots=True)
class Draft:
    """What a person writes when saving a reply."""

    shortcut: str
    title: str
    body: str
    language: str | None = None
    shared: bool = False


def _checked(draft: Draft) -> Draft:
    shortcut = draft.shortcut.strip().lstrip("/").lower()
    if not SHORTCUT.fullmatch(shortcut):
        raise Invalid(
            N_("shortcut %(shortcut)r: use lower-case letters, digits, - and _ (64 at most)"),
            shortcut=draft.shortcut[:80],
        )
    title, body = " ".join(draft.title.split()), draft.body.strip()
    if not title or len(title) > 200:
        raise Invalid(N_("a saved reply needs a title of 200 characters at most"))
    if not body or len(body) > MAX_BODY:
        raise Invalid(N_("a saved reply needs a text of %(most)s characters at most"), most=MAX_BODY)
    variables_in(body)
    language = (draft.language or "").strip().lower() or None
    if language is not None and not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", language):
        raise Invalid(N_("language %(language)r: give a code such as fr or en"), language=draft.language)
    return Draft(shortcut, title, body, language, draft.shared)


def _may_write(shared: bool, role: str | None) -> None:
    need = "manager" if shared else "moderator"
    if role is None or users.rank(role) < users.rank(need):
        kind = "shared saved replies" if shared else "saved replies"
        raise Forbidden(f"{kind} need the {need} role in this workspace")


def create(session: Session, workspace_id: int, draft: Draft, actor: Actor, role: str | None) -> SavedReply:
    """Save a reply (shared: managers; a person's own: moderators); a shortcut is unique in its scope."""
    clean = _checked(draft)
    _may_write(clean.shared, role)
    if clean.shared is False and actor.user_id is None:
        raise Invalid(N_("only a person has saved replies of their own: make it shared"))
    owner = None if clean.shared else actor.user_id
    _unique(session, workspace_id, clean.shortcut, owner, None)
    row = SavedReply(workspace_id=workspace_id, user_id=owner, shortcut=clean.shortcut, title=clean.title,
                     body=clean.body, language=clean.language)  # fmt: skip
    session.add(row)
    session.flush()
    _audit(session, actor, "saved reply create", row, None)
    return row


def update(session: Session, workspace_id: int, reply_id: int, draft: Draft, actor: Actor,
           role: str | None) -> SavedReply:  # fmt: skip
    """Change a saved reply (its scope stays what it was)."""
    row = get(session, workspace_id, reply_id, actor.user_id)
    clean = _checked(Draft(draft.shortcut, draft.title, draft.body, draft.language, row.user_id is None))
    _may_write(clean.shared, role)
    _unique(session, workspace_id, clean.shortcut, row.user_id, row.id)
    before = _shown(row)
    row.shortcut, row.title, row.body, row.language = clean.shortcut, clean.title, clean.body, clean.language
    row.updated_at = utcnow()
    _audit(session, actor, "saved reply update", row, before)
    return row


def delete(session: Session, workspace_id: int, reply_id: int, actor: Actor, role: str | None) -> None:
    """Delete a saved reply."""
    row = get(session, workspace_id, reply_id, actor.user_id)
    _may_write(row.user_id is None, role)
    _audit(session, actor, "saved reply delete", row, _shown(row))
    session.delete(row)


def _unique(session: Session, workspace_id: int, shortcut: str, owner: int | None, itself: int | None) -> None:
    scope = SavedReply.user_id.is_(None) if owner is None else SavedReply.user_id == owner
    found = session.scalar(select(SavedReply.id).where(SavedReply.workspace_id == workspace_id, scope,
                                                       SavedReply.shortcut == shortcut))  # fmt: skip
    if found is not None and found != itself:
        raise Invalid(N_("/%(shortcut)s is already a saved reply here: choose another shortcut"), shortcut=shortcut)


def _shown(row: SavedReply) -> dict[str, str | None]:
    return {"shortcut": row.shortcut, "title": row.title, "body": row.body[:500], "language": row.language}


def _audit(session: Session, actor: Actor, action: str, row: SavedReply, before: dict[str, str | None] | None) -> None:
    after = None if action.endswith("delete") else _shown(row)
    audit.record(session, actor=actor.name, action=action, target=f"saved reply {row.id} /{row.shortcut}",
                 workspace_id=row.workspace_id, before=before, after=after, address=actor.address)  # fmt: skip


def insert(session: Session, item: InboxItem, shortcuts: Sequence[str], actor: Actor) -> str:
    """Several saved replies, filled in for this item and person, one paragraph each (what the composer adds)."""
    context = context_of(session, item, actor)
    bodies = [fill(by_shortcut(session, item.workspace_id, s, actor.user_id).body, context) for s in shortcuts]
    return "\n\n".join(bodies)
