"""Labelling a message from any page (htmx POST): a person's decision wins over the model and trains it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pilote.errors import Invalid, NotFound
from pilote.models import Message
from pilote.views import explorer as views
from pilote.views.common import MessageCard, card_query, cards
from pilote.web.i18n import N_
from pilote.web.pages.common import PageDep

router = APIRouter()
# The classes of the shipped intent head (pilote/enrich/models/intent.md).
INTENTS = ("question", "complaint", "suggestion", "praise", "other")


def one_card(page: PageDep, message_id: int) -> MessageCard:
    """A message of this workspace as a card, or NotFound."""
    query = card_query().where(Message.id == message_id, Message.workspace_id == page.workspace.id)
    found = cards(page.session, page.session.execute(query).all())
    if not found:
        raise NotFound(N_("no message %(id)s in workspace %(slug)r"), id=message_id, slug=page.workspace.slug)
    return found[0]


@router.post("/w/{slug}/messages/{message_id}/label", response_class=HTMLResponse)
def label(
    page: PageDep,
    message_id: int,
    spam: Annotated[str, Form()] = "",
    sentiment: Annotated[str, Form()] = "",
    intent: Annotated[str, Form()] = "",
) -> Response:
    """Record the labels given (empty fields are left alone); htmx gets the card back, a form a redirect."""
    one_card(page, message_id)
    given = {name: value for name, value in (("spam", spam), ("sentiment", sentiment), ("intent", intent)) if value}
    if not given:
        raise Invalid(N_("label: choose spam or not spam, a sentiment or an intent"))
    for name, value in given.items():
        views.label(page.session, message_id, name, value, created_by=page.who, by=page.actor)
    page.session.commit()
    if not page.request.headers.get("hx-request"):
        return RedirectResponse(page.request.headers.get("referer") or page.url("explorer"), status_code=303)
    return page.render("_card.html", "explorer", m=one_card(page, message_id), intents=INTENTS, labelled=given)
