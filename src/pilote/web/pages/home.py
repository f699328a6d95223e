"""The front door: which workspace to open, and the reader's language and workspace choices."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pilote import workspaces
from pilote.accounts import sessions, users
from pilote.web import access, i18n
from pilote.web.pages.common import FormatterDep, SessionDep, render, visible

router = APIRouter()
SECTIONS = {
    "overview": "",
    "inbox": "inbox",
    "explorer": "explorer",
    "incidents": "incidents",
    "sources": "sources",
    "health": "health",
    "members": "members",
    "team": "team",
}
YEAR = 365 * 24 * 3600


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, t: FormatterDep) -> Response:
    """The default workspace's overview, or how to start when the store is empty."""
    every = workspaces.get_all(session)
    spaces = visible(request, every)
    if every and not spaces:
        return render(request, "error.html", t, error=t.gettext("You have no role in any workspace yet: ask an admin."))
    if not spaces:
        return render(request, "welcome.html", t)
    chosen = next((space for space in spaces if space.slug == workspaces.DEFAULT), spaces[0])
    return RedirectResponse(f"/w/{chosen.slug}/", status_code=303)


@router.get("/switch")
def switch(session: SessionDep, ws: str, page: str = "overview") -> RedirectResponse:
    """The workspace switcher: the same page in another workspace."""
    space = workspaces.get(session, slug=ws)
    return RedirectResponse(f"/w/{space.slug}/{SECTIONS.get(page, '')}", status_code=303)


@router.post("/language")
def language(
    request: Request,
    session: SessionDep,
    language: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str | None, Form()] = None,
) -> RedirectResponse:
    """Remember the reader's language (in their account too, when the form is really theirs) and go back."""
    target = next if next.startswith("/") and next[1:2] not in ("/", "\\") else "/"  # never another site
    response = RedirectResponse(target, status_code=303)
    if language not in i18n.LANGUAGES:
        return response
    response.set_cookie(i18n.LANGUAGE_COOKIE, language, max_age=YEAR, samesite="lax", httponly=True)
    principal = access.current(request)
    sent = csrf_token or request.headers.get(access.CSRF_HEADER)
    if principal is not None and principal.cookie is not None and sessions.csrf_ok(principal.cookie, sent):
        users.set_language(session, user=users.get(session, email=principal.email), language=language)
        session.commit()
    return response
