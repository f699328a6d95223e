"""The Members pages: the opinion leaders of a period and the suggested merges; one person across channels."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import TypeAdapter
from sqlalchemy import select

from pilote import merges, privacy
from pilote.accounts import users
from pilote.errors import Invalid, NotFound
from pilote.leaders import kept
from pilote.leaders.picture import MAX_NODES, Picture, top
from pilote.models import Author, utcnow
from pilote.views.members import Tally
from pilote.views.members import member as read_member
from pilote.web.i18n import N_
from pilote.web.pages import charts
from pilote.web.pages.common import Page, PageDep
from pilote.web.pages.labels import INTENTS

router = APIRouter()
PERIODS = ("7d", "30d", "90d")
LISTS = ("ambassadors", "detractors", "bridges", "rising")
SUGGESTIONS = 20
MERGES = 20
DONE = ("merged", "rejected", "erased", "unmerged")
_PICTURE = TypeAdapter(Picture)


def deciding(page: Page) -> bool:
    """Whether the reader may merge identities here (a moderator or more): the buttons are shown to them only."""
    principal = getattr(page.request.state, "principal", None)
    role = principal.role_in(page.workspace.id) if principal is not None else None
    return role is not None and users.rank(role) >= users.rank("moderator")


@router.get("/w/{slug}/members", response_class=HTMLResponse)
def members(page: PageDep, period: str = "30d", done: str = "", erased: int = 0) -> HTMLResponse:
    """Ambassadors, detractors, bridges and rising members of a period, and who may be one person."""
    if period not in PERIODS:
        raise Invalid(N_("period %(period)r: choose 7d, 30d or 90d"), period=period)
    found = kept.leaders_of(page.session, page.workspace.id, period)
    suggested = kept.suggestions_of(page.session, page.workspace.id, SUGGESTIONS)
    return page.render("members.html", "members", kept=found, found=found.value if found else None, lists=LISTS,
                       period=period, periods=PERIODS, suggestions=suggested.value if suggested else None,
                       suggestions_kept=suggested, deciding=deciding(page), done=done if done in DONE else "",
                       erased=erased, merges=_recorded(page), now=utcnow(), max_nodes=MAX_NODES)  # fmt: skip


@router.get("/w/{slug}/members/graph.json")
def graph(page: PageDep, period: str = "30d",
          nodes: Annotated[int, Query(ge=1, le=MAX_NODES)] = MAX_NODES) -> Response:  # fmt: skip
    """The graph of a period as the page draws it (leaders.picture): the `nodes` most influential people, their
    places and the edges among them; 202 with `pending` while a worker has not computed it yet."""
    if period not in PERIODS:
        raise Invalid(N_("period %(period)r: choose 7d, 30d or 90d"), period=period)
    found = kept.picture_of(page.session, page.workspace.id, period)
    if found is None:
        return JSONResponse({"pending": True}, status_code=202)
    shown = top(found.value, nodes)
    return Response(_PICTURE.dump_json(shown), media_type="application/json")


def _recorded(page: Page) -> list[dict[str, object]]:
    """The latest merges, with the names of the identities each joined."""
    found = merges.merges(page.session, page.workspace.id)[:MERGES]
    ids = {a for record in found for a in merges.merged_authors(record)}
    authors = page.session.scalars(select(Author).where(Author.id.in_(ids))).all() if ids else []
    names = {a.id: a.display_name or a.handle for a in authors}
    return [{"record": record, "authors": [(a, names.get(a, f"#{a}")) for a in merges.merged_authors(record)]}
            for record in found]  # fmt: skip


@router.post("/w/{slug}/members/merges")
def merge(
    page: PageDep, authors: Annotated[list[int], Form()], period: Annotated[str, Form()] = "30d"
) -> RedirectResponse:
    """Merge identities a moderator chose (the record keeps their suggestion's evidence and confidence)."""
    chosen = sorted(set(authors))
    if len(chosen) < 2:
        raise Invalid(N_("merge: choose at least two identities"))
    merges.merge(page.session, page.workspace.id, chosen, by=page.actor)  # with its suggestion's evidence
    page.session.commit()
    return RedirectResponse(page.url(f"members?period={_period(period)}&done=merged"), status_code=303)


@router.post("/w/{slug}/members/rejections")
def reject(
    page: PageDep, authors: Annotated[list[int], Form()], period: Annotated[str, Form()] = "30d"
) -> RedirectResponse:
    """Record that identities are different people, so that they are no longer suggested."""
    chosen = sorted(set(authors))
    if len(chosen) < 2:
        raise Invalid(N_("not the same person: choose at least two identities"))
    merges.reject(page.session, page.workspace.id, chosen, by=page.actor)
    page.session.commit()
    return RedirectResponse(page.url(f"members?period={_period(period)}&done=rejected"), status_code=303)


@router.post("/w/{slug}/members/merges/{merge_id}/undo")
def unmerge(page: PageDep, merge_id: int, period: Annotated[str, Form()] = "30d") -> RedirectResponse:
    """Take a recorded merge back: every identity returns to the member it had before (audited)."""
    merges.unmerge(page.session, page.workspace.id, merge_id, by=page.actor)
    page.session.commit()
    return RedirectResponse(page.url(f"members?period={_period(period)}&done=unmerged"), status_code=303)


def _period(period: str) -> str:
    return period if period in PERIODS else "30d"


@router.get("/w/{slug}/members/{author_id}", response_class=HTMLResponse)
def member(page: PageDep, author_id: int, erase_error: bool = False) -> HTMLResponse:
    """A person's page, reached from any of their identities."""
    author = page.session.get(Author, author_id)
    if author is None or author.workspace_id != page.workspace.id:
        raise NotFound(N_("no author %(id)s in workspace %(slug)r"), id=author_id, slug=page.workspace.slug)
    counted = kept.member_counts(page.session, author)  # a busy person's, kept by a worker
    counting = counted is None and kept.busy(page.session, author)  # too many to count while the page waits
    data = read_member(page.session, author_id, counts=counted.value if counted else Tally() if counting else None)
    activity = {
        "type": "bar",
        "stack": False,
        "x": [page.t.short(start, "yMMMd") for start, _ in data.activity],
        "series": [{"key": "messages", "name": page.t.gettext("Messages per week"),
                    "data": [count for _, count in data.activity]}],
    }  # fmt: skip
    shown = {"activity": activity, "sentiment": charts.pie(data.sentiment, page.t.words(data.sentiment))}
    erasing = None
    if admin(page):  # only an admin sees the erasure form, with the name to type
        erasing = privacy.person(page.session, workspace_id=page.workspace.id, author_id=author_id)
    response = page.render("member.html", "members", data=data, intents=INTENTS, charts=shown, erasing=erasing,
                           erase_error=erase_error, counted_at=counted.computed_at if counted else None,
                           counting=kept.ON_REQUEST if counting else 0,
                           now=utcnow())  # fmt: skip
    response.status_code = 400 if erase_error else 200
    return response


@router.post("/w/{slug}/members/{author_id}/erase", response_class=HTMLResponse)
def erase(page: PageDep, author_id: int, confirm: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Erase the person on request (all their identities and messages), once the admin has typed their name."""
    who = privacy.person(page.session, workspace_id=page.workspace.id, author_id=author_id)
    if confirm.strip() != who.name.strip():
        return member(page, author_id, erase_error=True)
    done = privacy.erase(page.session, who, by=page.actor)
    page.session.commit()
    return RedirectResponse(page.url(f"members?done=erased&erased={done.messages}"), status_code=303)


def admin(page: Page) -> bool:
    """Whether the reader is an admin of this workspace."""
    principal = getattr(page.request.state, "principal", None)
    return principal is not None and principal.role_in(page.workspace.id) == "admin"
