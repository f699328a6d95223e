"""The Thread page: a post and its comment tree, with enrichment badges and the authors' other activity."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from pilote.errors import NotFound
from pilote.views.threads import thread as read_thread
from pilote.web.i18n import N_
from pilote.web.pages.common import PageDep
from pilote.web.pages.labels import INTENTS

router = APIRouter()


@router.get("/w/{slug}/threads/{message_id}", response_class=HTMLResponse)
def thread(page: PageDep, message_id: int) -> HTMLResponse:
    """The conversation a message belongs to, the message highlighted."""
    data = read_thread(page.session, message_id)
    if data.root.workspace != page.workspace.slug:
        raise NotFound(N_("no message %(id)s in workspace %(slug)r"), id=message_id, slug=page.workspace.slug)
    return page.render("thread.html", "explorer", data=data, intents=INTENTS)
