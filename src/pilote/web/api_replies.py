"""Answering in the HTTP API: an answer to an inbox item, and the saved replies. Thin over pilote.inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from pilote.accounts.audit import Actor
from pilote.errors import Invalid
from pilote.inbox import items, outbox, replies
from pilote.models import OutboundReply, SavedReply
from pilote.web import access
from pilote.web.api import ERRORS, ApiRoute, SessionDep, WorkspaceDep
from pilote.web.pages.common import actor_of

router = APIRouter(prefix="/api/v1", route_class=ApiRoute, responses=ERRORS, tags=["api"])


def _actor(request: Request) -> tuple[Actor, str | None]:
    principal = access.current(request)
    assert principal is not None  # the guard let the request in
    role = principal.role_in(principal.token_workspace) if principal.token_workspace is not None else None
    return actor_of(request), role


class ReplyIn(BaseModel):
    """An answer: a text, or saved replies by shortcut (filled in for the item and put one after the other), or
    both (the text first). `mode` copy records an answer the person posted on the platform themselves."""

    text: str = Field(default="", max_length=outbox.MAX_TEXT)
    saved: list[str] = Field(default_factory=list, examples=[["bonjour", "livraison"]])
    mode: str = Field(default="platform", pattern="^(platform|copy)$")


class AnswerOut(BaseModel):
    """An answer and what became of it: `queued` (Pilote tries again by itself), `sending`, `sent`, `failed`
    (`error` says why, in plain words), or `copied` (posted by a person)."""

    id: int
    item_id: int | None
    message_id: int
    text: str
    mode: str
    status: str = Field(examples=["sent"])
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    external_id: str | None
    created_at: datetime
    sent_at: datetime | None


def _answer(row: OutboundReply) -> AnswerOut:
    return AnswerOut(id=row.id, item_id=row.item_id, message_id=row.message_id, text=row.text, mode=row.mode,
                     status=row.status, attempts=row.attempts, error=row.error, next_attempt_at=row.next_attempt_at,
                     external_id=row.external_id, created_at=row.created_at, sent_at=row.sent_at)  # fmt: skip


@router.post("/inbox/{item_id}/reply", response_model=AnswerOut, status_code=201)
def post_reply(request: Request, session: SessionDep, workspace_id: WorkspaceDep, item_id: int, body: ReplyIn) -> Any:
    """Answer an inbox item: through its platform when the channel can post (queued first: a failure is retried,
    never lost), or recorded as answered by hand with `mode` copy. The item is marked answered once it is."""
    actor, _ = _actor(request)
    item = items.get(session, workspace_id, item_id)
    saved = replies.insert(session, item, body.saved, actor) if body.saved else ""
    text = "\n\n".join(part for part in (body.text.strip(), saved) if part)
    if body.mode == "copy":
        return _answer(outbox.answered(session, workspace_id, item_id, text, actor))
    if not text:
        raise Invalid("an answer needs a text or a saved reply")
    engine, settings = request.app.state.engine, request.app.state.settings
    return _answer(outbox.send(engine, settings, workspace_id, item_id, text, actor))


class SavedIn(BaseModel):
    """A saved reply: `shared` ones (the whole team's) need the manager role; variables such as `{{author.name}}`
    are checked when it is saved."""

    shortcut: str = Field(examples=["livraison"])
    title: str = Field(examples=["Délais de livraison"])
    body: str = Field(examples=["Bonjour {{author.name}}, nous livrons en 3 à 5 jours."])
    language: str | None = Field(default=None, examples=["fr"])
    shared: bool = False


class SavedOut(BaseModel):
    """A saved reply; `shared` false: the token's person's own."""

    id: int
    shortcut: str
    title: str
    body: str
    language: str | None
    shared: bool
    updated_at: datetime


def _saved(row: SavedReply) -> SavedOut:
    return SavedOut(id=row.id, shortcut=row.shortcut, title=row.title, body=row.body, language=row.language,
                    shared=row.user_id is None, updated_at=row.updated_at)  # fmt: skip


@router.get("/saved-replies", response_model=list[SavedOut])
def list_saved_replies(request: Request, session: SessionDep, workspace_id: WorkspaceDep) -> Any:
    """The workspace's shared saved replies and the token's person's own."""
    actor, _ = _actor(request)
    return [_saved(row) for row in replies.get_all(session, workspace_id, actor.user_id)]


@router.post("/saved-replies", response_model=SavedOut, status_code=201)
def post_saved_reply(request: Request, session: SessionDep, workspace_id: WorkspaceDep, body: SavedIn) -> Any:
    """Save a reply."""
    actor, role = _actor(request)
    draft = replies.Draft(body.shortcut, body.title, body.body, body.language, body.shared)
    return _saved(replies.create(session, workspace_id, draft, actor, role))


@router.put("/saved-replies/{reply_id}", response_model=SavedOut)
def put_saved_reply(request: Request, session: SessionDep, workspace_id: WorkspaceDep, reply_id: int,
                    body: SavedIn) -> Any:  # fmt: skip
    """Change a saved reply (its scope stays what it was)."""
    actor, role = _actor(request)
    draft = replies.Draft(body.shortcut, body.title, body.body, body.language, body.shared)
    return _saved(replies.update(session, workspace_id, reply_id, draft, actor, role))


@router.delete("/saved-replies/{reply_id}", status_code=204)
def delete_saved_reply(request: Request, session: SessionDep, workspace_id: WorkspaceDep, reply_id: int) -> Response:
    """Delete a saved reply."""
    actor, role = _actor(request)
    replies.delete(session, workspace_id, reply_id, actor, role)
    return Response(status_code=204)
