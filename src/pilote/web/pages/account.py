"""My account (anyone signed in): name and language, password, sessions, and one's own API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pilote import tokens, workspaces
from pilote.accounts import sessions, users
from pilote.errors import Invalid
from pilote.models import User, UserSession
from pilote.web import access
from pilote.web.pages.accounts import client_address
from pilote.web.pages.common import FormatterDep, SessionDep, render, visible

router = APIRouter()
FormText = Annotated[str, Form()]
NOTICES = frozenset({"profile", "password", "session", "others", "revoked", "current"})


def _me(request: Request, session: SessionDep) -> tuple[User, UserSession]:
    """The signed-in person and this browser's session (the guard let only a signed-in person through)."""
    principal = access.current(request)
    found = sessions.authenticate(
        session, principal.cookie if principal else None, access.limits(request.app.state.settings)
    )
    if found is None:
        raise tokens.Unauthorized("sign in first")
    return found


def _page(
    request: Request, session: SessionDep, t: FormatterDep, status_code: int = 200, **context: object
) -> Response:
    user, current = _me(request, session)
    spaces = visible(request, workspaces.get_all(session))
    principal = access.current(request)
    mine = {space.slug: principal.role_in(space.id) for space in spaces} if principal else {}
    return render(request, "account.html", t, status_code=status_code, user=user, current=current, roles=users.ROLES,
                  sessions=sessions.get_all(session, user=user, limits=access.limits(request.app.state.settings)),
                  tokens=tokens.get_all(session, user=user), spaces=spaces, mine=mine, **context)  # fmt: skip


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, session: SessionDep, t: FormatterDep, done: str | None = None) -> Response:
    """What the signed-in person can change of their own account."""
    return _page(request, session, t, done=done if done in NOTICES else None)


@router.post("/account/profile", response_class=HTMLResponse)
def profile(
    request: Request, session: SessionDep, t: FormatterDep, name: FormText, language: FormText = ""
) -> Response:
    """The name shown to the team and the cockpit's language (empty: the browser's)."""
    user, _ = _me(request, session)
    try:
        users.set_name(session, user=user, name=name, actor=user.email)
        users.set_language(session, user=user, language=language or None)
    except Invalid:
        session.rollback()
        return _page(request, session, t, status_code=422, profile_error=True)
    session.commit()
    return RedirectResponse("/account?done=profile", status_code=303)


@router.post("/account/password", response_class=HTMLResponse)
def password(
    request: Request, session: SessionDep, t: FormatterDep, current: FormText, password: FormText, confirm: FormText
) -> Response:
    """A new password, the current one given first; every other session ends, this one stays."""
    user, this = _me(request, session)
    try:
        right = sessions.confirm(session, user=user, password=current, address=client_address(request))
    except sessions.TooManyAttempts:
        session.commit()  # the throttled attempt is recorded
        return _page(request, session, t, status_code=429, password_error="throttled")  # noqa: S106 (a reason, not a password)
    error = None if right else "current"
    if error is None and password != confirm:
        error = "differ"
    if error is None:
        try:
            users.set_password(session, user=user, password=password, actor=user.email, keep=this.id)
        except Invalid:
            error = "short"
    session.commit()  # the attempt is counted either way
    if error is not None:
        return _page(request, session, t, status_code=422, password_error=error, minimum=users.MIN_PASSWORD)
    return RedirectResponse("/account?done=password", status_code=303)


@router.post("/account/sessions/others/end")
def end_others(request: Request, session: SessionDep) -> RedirectResponse:
    """Sign out every other browser."""
    user, this = _me(request, session)
    users.end_sessions(session, user=user, keep=this.id)
    session.commit()
    return RedirectResponse("/account?done=others", status_code=303)


@router.post("/account/sessions/{session_id}/end")
def end(request: Request, session: SessionDep, session_id: int) -> RedirectResponse:
    """Sign out one other browser (this one signs out with Sign out)."""
    user, this = _me(request, session)
    if session_id == this.id:
        return RedirectResponse("/account?done=current", status_code=303)
    sessions.end(session, user=user, session_id=session_id)
    session.commit()
    return RedirectResponse("/account?done=session", status_code=303)


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    session: SessionDep,
    t: FormatterDep,
    workspace: FormText,
    name: FormText = "",
    role: FormText = "",
) -> Response:
    """A new API token acting for me in one of my workspaces, with at most my role there; shown once."""
    user, _ = _me(request, session)
    spaces = {space.slug: space for space in visible(request, workspaces.get_all(session))}
    try:
        if workspace not in spaces:
            raise Invalid(f"workspace {workspace!r}: not one of yours")
        token, info = tokens.create(session, workspace=spaces[workspace], name=name, user=user, role=role or None,
                                    actor=user.email)  # fmt: skip
    except Invalid:
        session.rollback()
        form = {"workspace": workspace, "name": name, "role": role}
        return _page(request, session, t, status_code=422, token_error=True, token_form=form)
    session.commit()
    # Shown in this answer only, never put in an address (it would stay in the browser's history).
    return _page(request, session, t, new_token=token, new_token_info=info)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, session: SessionDep, token_id: int) -> RedirectResponse:
    """Refuse one of my tokens from now on."""
    user, _ = _me(request, session)
    tokens.revoke(session, token_id=token_id, actor=user.email, owner=user)
    session.commit()
    return RedirectResponse("/account?done=revoked", status_code=303)
