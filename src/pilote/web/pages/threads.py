"""The Thread page: a post and its comment tree, a part at a time, with enrichment badges and the authors' other
activity."""

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
def thread(page: PageDep, message_id: int, start: int | None = None) -> HTMLResponse:
    """The conversation a message belongs to, the message highlighted; an htmx request for a later part gets
    only its messages and the button for the next one."""
    data = read_thread(page.session, message_id, start=start)
    if data.root.workspace != page.workspace.slug:
        raise NotFound(N_("no message %(id)s in workspace %(slug)r"), id=message_id, slug=page.workspace.slug)
    first = f"{page.url('threads')}/{data.root.id}"
    more = None if data.next_start is None else f"{first}?start={data.next_start}"
    fragment = bool(page.request.headers.get("hx-request") and start)
    template = "_thread_part.html" if fragment else "thread.html"
    return page.render(template, "explorer", data=data, first=first, more=more, fragment=fragment, intents=INTENTS)
