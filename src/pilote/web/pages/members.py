"""The Member page: one person across channels, their messages, activity and sentiment mix."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from pilote.errors import NotFound
from pilote.models import Author
from pilote.views.members import member as read_member
from pilote.web.pages import charts
from pilote.web.pages.common import PageDep
from pilote.web.pages.labels import INTENTS

router = APIRouter()


@router.get("/w/{slug}/members/{author_id}", response_class=HTMLResponse)
def member(page: PageDep, author_id: int) -> HTMLResponse:
    """A person's page, reached from any of their identities."""
    author = page.session.get(Author, author_id)
    if author is None or author.workspace_id != page.workspace.id:
        raise NotFound(f"no author {author_id} in workspace {page.workspace.slug!r}")
    data = read_member(page.session, author_id)
    activity = {
        "type": "bar",
        "stack": False,
        "x": [page.t.short(start, "yMMMd") for start, _ in data.activity],
        "series": [{"key": "messages", "name": page.t.gettext("Messages per week"),
                    "data": [count for _, count in data.activity]}],
    }  # fmt: skip
    shown = {"activity": activity, "sentiment": charts.pie(data.sentiment, page.t.words(data.sentiment))}
    return page.render("member.html", "explorer", data=data, intents=INTENTS, charts=shown)
