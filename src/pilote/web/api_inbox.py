"""The team inbox in the HTTP API: the queue with the page's filters and a cursor, one item with its conversation,
notes and history, and the same actions as the page. An analyst's token reads; a moderator's also acts.
Thin adapters over pilote.inbox and pilote.views.inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from pilote.inbox import actions, items, queue
from pilote.views import inbox as views
from pilote.views.common import MessageCard
from pilote.web import access
from pilote.web.api import ERRORS, ApiRoute, SessionDep, WorkspaceDep
from pilote.web.pages.common import actor_of

router = APIRouter(prefix="/api/v1", route_class=ApiRoute, responses=ERRORS, tags=["inbox"])
READS = "Needs an analyst's token (or any role above)."
ACTS = "Needs a moderator's token (or a manager's, an admin's)."


class InboxPage(BaseModel):
    """A page of the queue; pass `next_cursor` as `cursor` (with the same filters) for the next one. `counts`:
    the open tabs' sizes (new, open, pending, snoozed) and the to-do items that are yours, unassigned, overdue."""

    items: list[queue.Row]
    next_cursor: str | None
    counts: dict[str, int]


class EntryOut(BaseModel):
    """A message of the conversation: the item's own (`item`), what it answers (`context`), the team's reply."""

    role: Literal["item", "context", "team"]
    message: MessageCard


class EventOut(BaseModel):
    """A change of the item: who (an account; none for Pilote), what, before and after."""

    id: int
    kind: str = Field(examples=["status"])
    user_id: int | None
    before: Any
    after: Any
    at: datetime


class ItemDetail(BaseModel):
    """One item: as the queue shows it, its conversation, internal notes and history (oldest first)."""

    item: queue.Row
    conversation: list[EntryOut]
    notes: list[views.Note]
    history: list[EventOut]


class ActionIn(BaseModel):
    """An action on items: `status` (value: new, open, pending, snoozed with `until` and/or `until_reply`, done,
    spam, ignored), `assign` (an account id, `me` or `none`), `priority` (low, normal, high, urgent), `tag` /
    `untag` (tags separated by spaces or commas), `spam`, `not-spam`. `version`, for one item: the version you
    read; a change made meanwhile answers 409."""

    items: list[int] = Field(min_length=1, max_length=items.MAX_BULK)
    action: Literal["status", "assign", "priority", "tag", "untag", "spam", "not-spam"]
    value: str = Field(default="", max_length=2000)
    until: datetime | None = None
    until_reply: bool = False
    version: int | None = None


class ActionOut(BaseModel):
    """The items the action changed (those already so are left out)."""

    changed: list[int]


class NoteIn(BaseModel):
    """An internal note: plain text, the team's only."""

    text: str = Field(min_length=1, max_length=items.MAX_NOTE)


@router.get("/inbox", response_model=InboxPage, summary="The team inbox's queue, with filters and a cursor",
            description=READS)  # fmt: skip
def list_inbox(
    request: Request,
    session: SessionDep,
    workspace_id: WorkspaceDep,
    status: Annotated[str | None, Query(description="Statuses separated by commas (default: new,open).")] = None,
    assignee: Annotated[str | None, Query(description="me, none, or an account id.")] = None,
    channel: str | None = None,
    source_id: int | None = None,
    language: str | None = None,
    sentiment: str | None = None,
    intent: str | None = None,
    reason: Annotated[str | None, Query(description="question, complaint, negative, toxic, spam, reply…")] = None,
    tag: str | None = None,
    priority: Annotated[str | None, Query(description="This priority or higher: low, normal, high, urgent.")] = None,
    overdue: bool = False,
    hidden: Annotated[bool, Query(description="The items rules hid, instead of the others.")] = False,
    sort: Literal["due", "newest", "oldest"] = "due",
    cursor: Annotated[str | None, Query(max_length=60)] = None,
    limit: Annotated[int, Query(ge=1, le=queue.MAX_PAGE)] = queue.PAGE,
) -> Any:
    values = {"status": status, "assignee": assignee, "channel": channel, "source_id": source_id,
              "language": language, "sentiment": sentiment, "intent": intent, "reason": reason, "tag": tag,
              "priority": priority, "overdue": overdue, "hidden": hidden, "sort": sort}  # fmt: skip
    principal = access.current(request)
    found = queue.page(session, workspace_id, queue.parse(values), user_id=principal.user_id if principal else None,
                       after=cursor, limit=limit, counts=cursor is None)  # fmt: skip
    return InboxPage(items=found.rows, next_cursor=found.after, counts=found.counts)


@router.get("/inbox/{item_id}", response_model=ItemDetail, description=READS,
            summary="One inbox item, its conversation, notes and history")  # fmt: skip
def get_item(session: SessionDep, workspace_id: WorkspaceDep, item_id: int) -> Any:
    item = items.get(session, workspace_id, item_id)
    (row,) = queue.rows(session, [item.id])
    history = [EventOut(id=e.id, kind=e.kind, user_id=e.user_id, before=orjson.loads(e.before or "null"),
                        after=orjson.loads(e.after or "null"), at=e.at)
               for e in items.history(session, item.id)]  # fmt: skip
    entries = [EntryOut(role=entry.role, message=entry.message) for entry in views.conversation(session, item)]
    return ItemDetail(item=row, conversation=entries, notes=views.notes(session, item.id), history=history)


@router.post("/inbox/actions", response_model=ActionOut, summary="Act on inbox items (one, or up to 1,000 at once)",
             description=ACTS)  # fmt: skip
def post_action(request: Request, session: SessionDep, workspace_id: WorkspaceDep, body: ActionIn) -> Any:
    until = body.until.replace(tzinfo=UTC) if body.until is not None and body.until.tzinfo is None else body.until
    wanted = actions.Action(body.action, body.value, until, body.until_reply, body.version)
    return ActionOut(changed=actions.apply(session, workspace_id, body.items, wanted, actor_of(request)))


@router.post("/inbox/{item_id}/notes", response_model=views.Note, status_code=201, summary="Add an internal note",
             description=ACTS)  # fmt: skip
def post_note(request: Request, session: SessionDep, workspace_id: WorkspaceDep, item_id: int, body: NoteIn) -> Any:
    actor = actor_of(request)
    row = items.note(session, workspace_id, item_id, body.text, actor)
    session.flush()
    by = views.names(session, [actor.user_id]).get(actor.user_id or 0) if actor.user_id else None
    return views.Note(id=row.id, text=row.text, by=by, created_at=row.created_at)
