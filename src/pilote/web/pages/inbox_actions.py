"""What the Inbox page's forms do: an action on one item (with the version the page showed) or on the items ticked,
an internal note, saved views. A plain form gets a redirect; htmx gets the row or the panel as it is now; a change
made meanwhile by someone else answers 409 with the item as it is now and who changed it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from pilote.errors import Conflict, Invalid
from pilote.inbox import actions, items, queue
from pilote.views import inbox as views
from pilote.web.pages.common import Page, PageDep
from pilote.web.pages.inbox import back_to, panel, row_fragment

router = APIRouter()
Text = Annotated[str, Form(max_length=2000)]


def moment(page: Page, value: str) -> datetime | None:
    """A datetime-local field (the reader's time zone) as a UTC moment."""
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(page.t.gettext("until %(value)s: give a date and a time", value=value[:40])) from None
    return (local.replace(tzinfo=page.t.tz) if local.tzinfo is None else local).astimezone(UTC)


def answer(page: Page, item_id: int, view: str, next_url: str, problem: str | None = None, status: int = 200,
           ) -> Response:  # fmt: skip
    """The row or panel for htmx, the panel with its problem for a plain form, else back where the form was."""
    if page.request.headers.get("hx-request"):
        if view == "row":
            return row_fragment(page, item_id, problem, status)
        return panel(page, item_id, problem, status)
    if problem is not None:
        return panel(page, item_id, problem, status)
    return RedirectResponse(back_to(page, next_url) if next_url else page.url(f"inbox/{item_id}"), status_code=303)


@router.post("/w/{slug}/inbox/{item_id}/actions")
def item_action(
    page: PageDep,
    item_id: int,
    action: Annotated[str, Form(max_length=20)],
    value: Text = "",
    until: Annotated[str, Form(max_length=40)] = "",
    until_reply: Annotated[str, Form(max_length=10)] = "",
    version: Annotated[int | None, Form()] = None,
    view: Annotated[str, Form(max_length=10)] = "",
    next: Text = "",
) -> Response:
    """Change one item (status, snooze, assignee, priority, tags, spam); refused if it changed since the page."""
    wanted = actions.Action(action, value, moment(page, until), bool(until_reply), version)
    try:
        actions.apply(page.session, page.workspace.id, [item_id], wanted, page.actor)
    except Conflict:
        page.session.rollback()
        who = views.last_changer(page.session, item_id)
        problem = (page.t.gettext("%(name)s changed this item meanwhile: reload", name=who) if who else
                   page.t.gettext("Someone changed this item meanwhile: reload"))  # fmt: skip
        return answer(page, item_id, view, next, problem, 409)
    except Invalid as error:
        page.session.rollback()
        return answer(page, item_id, view, next, page.t.error(error), 422)
    page.session.commit()
    return answer(page, item_id, view, next)


@router.post("/w/{slug}/inbox/{item_id}/notes")
def item_note(page: PageDep, item_id: int, text: Annotated[str, Form(max_length=10_000)]) -> Response:
    """Add an internal note (the team's only; never sent)."""
    items.note(page.session, page.workspace.id, item_id, text, page.actor)
    page.session.commit()
    if page.request.headers.get("hx-request"):
        return panel(page, item_id)
    return RedirectResponse(page.url(f"inbox/{item_id}#notes"), status_code=303)


@router.post("/w/{slug}/inbox/bulk")
def bulk(
    page: PageDep,
    do: Annotated[str, Form(max_length=40)],
    ids: Annotated[list[int] | None, Form()] = None,
    tag: Annotated[str, Form(max_length=300)] = "",
    next: Text = "",
) -> Response:
    """The same action on every item ticked (as they are now: no version is checked); `do` is `kind:value`
    (`status:done`, `assign:me`, `tag:` with the tag in its own field...)."""
    kind, _, value = do.partition(":")
    wanted = actions.Action(kind, tag if kind in ("tag", "untag") else value)
    actions.apply(page.session, page.workspace.id, ids or [], wanted, page.actor)
    page.session.commit()
    return RedirectResponse(back_to(page, next), status_code=303)


@router.post("/w/{slug}/inbox/views")
def save_view(
    page: PageDep,
    name: Annotated[str, Form(max_length=200)],
    query: Text = "",
    shared: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Keep the current filters under a name: one's own, or the team's."""
    found = queue.parse(dict(parse_qsl(query)))
    queue.save_view(page.session, page.workspace.id, name, found, page.user_id, shared=bool(shared))
    page.session.commit()
    return RedirectResponse(page.url("inbox") + (f"?{query}" if query else ""), status_code=303)


@router.post("/w/{slug}/inbox/views/{view_id}/delete")
def delete_view(page: PageDep, view_id: int) -> Response:
    """Forget a saved view (one's own, or a team view)."""
    queue.delete_view(page.session, page.workspace.id, view_id, page.user_id)
    page.session.commit()
    return RedirectResponse(page.url("inbox"), status_code=303)
