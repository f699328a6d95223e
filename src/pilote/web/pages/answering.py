"""Answering an inbox item (the composer: send through the platform, or copy and confirm), the outbox's retries,
and the page of saved replies. Thin over pilote.inbox.replies and pilote.inbox.outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pilote.errors import Invalid
from pilote.inbox import items, outbox, replies
from pilote.models import InboxItem, Message, OutboundReply
from pilote.web.pages.common import Page, PageDep

router = APIRouter()


@dataclass(frozen=True, slots=True)
class Snippet:
    """A saved reply as the composer offers it: filled in for the item and the person."""

    id: int
    shortcut: str
    title: str
    text: str
    shared: bool


@dataclass(frozen=True, slots=True)
class Composer:
    """What the composer shows for an item: how it is answered, the snippets, the earlier answers."""

    channel: outbox.Channel
    snippets: list[Snippet]
    answers: list[OutboundReply]
    may_answer: bool


def role_of(page: Page) -> str | None:
    """The signed-in person's role in the page's workspace."""
    principal = getattr(page.request.state, "principal", None)
    return principal.role_in(page.workspace.id) if principal is not None else None


def composer(page: Page, item: InboxItem) -> Composer:
    """The composer's data for an item (a template global: the inbox's item panel includes the composer)."""
    actor = page.actor
    context = replies.context_of(page.session, item, actor)
    snippets = []
    for row in replies.get_all(page.session, item.workspace_id, actor.user_id):
        if row.language is None or item.language is None or row.language == item.language[:2]:
            snippets.append(Snippet(row.id, row.shortcut, row.title, replies.fill(row.body, context),
                                    row.user_id is None))  # fmt: skip
    role = role_of(page)
    may = role is not None and role != "analyst"
    return Composer(outbox.channel(page.session, item), snippets, outbox.of_item(page.session, item.id), may)


def _panel(page: Page, item_id: int, **extra: object) -> Response:
    """The composer again (htmx), or back to where the person came from (a plain form)."""
    if not page.request.headers.get("hx-request"):
        return RedirectResponse(page.request.headers.get("referer") or page.url("inbox/replies"), status_code=303)
    item = items.get(page.session, page.workspace.id, item_id)
    last = page.session.get_one(Message, item.last_message_id or item.first_message_id)
    return page.render("_inbox_composer.html", "inbox", item=item, last_message=last, page=page, **extra)


@router.get("/w/{slug}/inbox/{item_id}/composer", response_class=HTMLResponse)
def composer_fragment(page: PageDep, item_id: int) -> Response:
    """The composer of one item (the item panel loads it, and it reloads itself after a send)."""
    item = items.get(page.session, page.workspace.id, item_id)
    last = page.session.get_one(Message, item.last_message_id or item.first_message_id)
    return page.render("_inbox_composer.html", "inbox", item=item, last_message=last, page=page)


@router.post("/w/{slug}/inbox/{item_id}/reply", response_class=HTMLResponse)
def reply(page: PageDep, item_id: int, text: Annotated[str, Form()] = "") -> Response:
    """Send the answer through the item's platform (queued first, so a failure is retried, never lost)."""
    items.get(page.session, page.workspace.id, item_id)
    engine, settings = page.request.app.state.engine, page.request.app.state.settings
    sent = outbox.send(engine, settings, page.workspace.id, item_id, text, page.actor)
    page.session.expire_all()
    return _panel(page, item_id, outcome=sent)


@router.post("/w/{slug}/inbox/{item_id}/answered", response_class=HTMLResponse)
def answered(page: PageDep, item_id: int, text: Annotated[str, Form()] = "") -> Response:
    """The person answered on the platform: the item is answered, the text kept."""
    outbox.answered(page.session, page.workspace.id, item_id, text, page.actor)
    page.session.commit()
    return _panel(page, item_id)


@router.post("/w/{slug}/inbox/outbox/{reply_id}/retry", response_class=HTMLResponse)
def retry(page: PageDep, reply_id: int, text: Annotated[str | None, Form()] = None) -> Response:
    """Send a failed answer again (edited if a text is given), now."""
    row = outbox.retry(page.session, page.workspace.id, reply_id, page.actor, text)
    item_id = row.item_id
    page.session.commit()
    engine, settings = page.request.app.state.engine, page.request.app.state.settings
    sent = outbox.deliver(engine, settings, reply_id, page.actor)
    page.session.expire_all()
    if item_id is None:
        return RedirectResponse(page.url("inbox/replies"), status_code=303)
    return _panel(page, item_id, outcome=sent)


# Saved replies.


@router.get("/w/{slug}/inbox/replies", response_class=HTMLResponse)
def saved_page(page: PageDep, edit: int | None = None) -> Response:
    """The saved replies: the workspace's shared ones and the person's own, with the variables they may use."""
    actor = page.actor
    rows = replies.get_all(page.session, page.workspace.id, actor.user_id)
    editing = replies.get(page.session, page.workspace.id, edit, actor.user_id) if edit else None
    failed = outbox.failed(page.session, page.workspace.id)
    return page.render("inbox_replies.html", "inbox", rows=rows, editing=editing, variables=replies.VARIABLES,
                       role=role_of(page), failed=failed)  # fmt: skip


def _draft(shortcut: str, title: str, body: str, language: str, scope: str) -> replies.Draft:
    if scope not in ("personal", "shared"):
        raise Invalid("choose whether the reply is yours or shared")
    return replies.Draft(shortcut, title, body, language or None, shared=scope == "shared")


@router.post("/w/{slug}/inbox/replies", response_class=HTMLResponse)
def saved_create(
    page: PageDep,
    shortcut: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "personal",
) -> Response:
    """Save a new reply (shared ones: managers)."""
    draft = _draft(shortcut, title, body, language, scope)
    replies.create(page.session, page.workspace.id, draft, page.actor, role_of(page))
    page.session.commit()
    return RedirectResponse(page.url("inbox/replies"), status_code=303)


@router.post("/w/{slug}/inbox/replies/{reply_id}", response_class=HTMLResponse)
def saved_update(
    page: PageDep,
    reply_id: int,
    shortcut: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    body: Annotated[str, Form()] = "",
    language: Annotated[str, Form()] = "",
) -> Response:
    """Change a saved reply."""
    draft = replies.Draft(shortcut, title, body, language or None)
    replies.update(page.session, page.workspace.id, reply_id, draft, page.actor, role_of(page))
    page.session.commit()
    return RedirectResponse(page.url("inbox/replies"), status_code=303)


@router.post("/w/{slug}/inbox/replies/{reply_id}/delete", response_class=HTMLResponse)
def saved_delete(page: PageDep, reply_id: int) -> Response:
    """Delete a saved reply."""
    replies.delete(page.session, page.workspace.id, reply_id, page.actor, role_of(page))
    page.session.commit()
    return RedirectResponse(page.url("inbox/replies"), status_code=303)
