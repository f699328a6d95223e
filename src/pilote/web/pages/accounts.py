"""Signing in and out, the first admin account, password resets: the pages open to everyone."""

from __future__ import annotations

import ipaddress
import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from pilote import mail
from pilote.accounts import resets, sessions, users
from pilote.errors import Invalid
from pilote.web import access, i18n
from pilote.web.pages.common import FormatterDep, render

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)
FormText = Annotated[str, Form()]


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only, never another site."""
    if target and target.startswith("/") and target[1:2] not in ("/", "\\"):
        return target
    return "/"


def client_address(request: Request) -> str:
    """The client's address as the server sees it (a proxy on this machine can name the real one)."""
    return request.client.host if request.client else "unknown"


def is_loopback(request: Request) -> bool:
    """Whether the request comes from this machine."""
    try:
        return ipaddress.ip_address(client_address(request)).is_loopback
    except ValueError:
        return False


def with_session(request: Request, response: Response, cookie: str) -> Response:
    """Give the browser its session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS (or when configured)."""
    settings = request.app.state.settings
    secure = settings.secure_cookies if settings.secure_cookies is not None else request.url.scheme == "https"
    lifetime = int(settings.session_max_days * 86400)
    response.set_cookie(sessions.COOKIE, cookie, max_age=lifetime, httponly=True, samesite="lax", secure=secure)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, t: FormatterDep, next: str = "/", done: str | None = None) -> Response:
    """The login form (or the first account's, while there is none)."""
    with Session(request.app.state.engine) as session:
        if not users.exist(session):
            return RedirectResponse("/setup", status_code=303)
    if access.current(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    notice = t.gettext("Your password is changed: sign in with it.") if done == "reset" else None
    return render(request, "login.html", t, next=safe_next(next), notice=notice)


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, t: FormatterDep, email: FormText, password: FormText, next: FormText = "/") -> Response:
    """Sign in: the same answer for an unknown e-mail and a wrong password."""
    attempt = sessions.Attempt(email=email, password=password, address=client_address(request))
    with Session(request.app.state.engine) as session, session.begin():
        try:
            cookie = sessions.sign_in(session, attempt)
        except sessions.TooManyAttempts:
            cookie, refused = None, t.gettext("Too many failed attempts: wait a quarter of an hour and try again.")
            status = 429
        else:
            refused, status = t.gettext("Wrong e-mail or password."), 200  # a form to fill again, not an error
    if cookie is None:
        return render(request, "login.html", t, status_code=status, next=safe_next(next), email=email, error=refused)
    return with_session(request, RedirectResponse(safe_next(next), status_code=303), cookie)


@router.post("/logout")
def logout(request: Request) -> Response:
    """Sign out: the session ends on the server, not only in this browser."""
    with Session(request.app.state.engine) as session, session.begin():
        sessions.sign_out(session, request.cookies.get(sessions.COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE)
    return response


@router.get("/setup", response_class=HTMLResponse)
def setup_page(request: Request, t: FormatterDep) -> Response:
    """The first admin account's form: only while no account exists, only from this machine."""
    refused = _setup_refused(request, t)
    if isinstance(refused, Response):
        return refused
    return render(request, "setup.html", t, status_code=403 if refused else 200, refused=refused)


@router.post("/setup", response_class=HTMLResponse)
def setup(
    request: Request, t: FormatterDep, email: FormText, password: FormText, confirm: FormText, name: FormText = ""
) -> Response:
    """Create the first admin account (an admin of every workspace) and sign it in."""
    refused = _setup_refused(request, t)
    if isinstance(refused, Response):
        return refused
    if refused:
        return render(request, "setup.html", t, status_code=403, refused=refused)
    form = {"email": email, "name": name}
    if password != confirm:
        return render(request, "setup.html", t, status_code=422, error=t.gettext("The two passwords differ."), **form)
    with Session(request.app.state.engine) as session, session.begin():
        try:
            users.create(session, email=email, password=password, display_name=name, actor="first visit")
        except Invalid:
            error = t.gettext("Give a valid e-mail and a password of at least %(count)s characters.",
                              count=users.MIN_PASSWORD)  # fmt: skip
            return render(request, "setup.html", t, status_code=422, error=error, **form)
        cookie = sessions.sign_in(session, sessions.Attempt(email, password, client_address(request)))
    return with_session(request, RedirectResponse("/", status_code=303), cookie or "")


def _setup_refused(request: Request, t: i18n.Formatter) -> Response | str | None:
    """Why the first account cannot be made here: a redirect once accounts exist, a reason off this machine."""
    with Session(request.app.state.engine) as session:
        if users.exist(session):
            return RedirectResponse("/login", status_code=303)
    if not is_loopback(request):
        return t.gettext("The first account can only be created from the server itself (open the cockpit there), "
                         "or on the server with the command pilote user create.")  # fmt: skip
    return None


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request, t: FormatterDep) -> Response:
    """Ask for a password reset link."""
    return render(request, "password_forgot.html", t, mail=bool(request.app.state.settings.smtp_host))


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot(request: Request, t: FormatterDep, email: FormText) -> Response:
    """Send a reset link if the account exists; the answer is the same either way."""
    settings = request.app.state.settings
    with Session(request.app.state.engine, expire_on_commit=False) as session, session.begin():
        found = resets.create(session, email=email)
    if found is not None and settings.smtp_host:
        user, token = found
        words = i18n.Formatter(language=user.language or t.language, tz=t.tz)
        link = f"{str(request.base_url).rstrip('/')}/password/reset?token={token}"
        text = words.gettext("Someone (you, we hope) asked to choose a new Pilote password for %(email)s.\n\n"
                             "Open this link within an hour to choose it:\n%(link)s\n\n"
                             "If it was not you, ignore this e-mail: your password stays as it is.",
                             email=user.email, link=link)  # fmt: skip
        try:
            mail.send(settings, to=user.email, subject=words.gettext("Your Pilote password"), text=text)
        except mail.MailError as error:
            log.warning("password reset e-mail to %s not sent: %s", user.email, error)
    return render(request, "password_forgot.html", t, mail=bool(settings.smtp_host), sent=True)


@router.get("/password/reset", response_class=HTMLResponse)
def reset_page(request: Request, t: FormatterDep, token: str = "") -> Response:
    """Choose a new password with the link's token."""
    with Session(request.app.state.engine) as session:
        valid = resets.find(session, token) is not None
    return render(request, "password_reset.html", t, status_code=200 if valid else 404, token=token, valid=valid)


@router.post("/password/reset", response_class=HTMLResponse)
def reset(request: Request, t: FormatterDep, token: FormText, password: FormText, confirm: FormText) -> Response:
    """Set the new password; every session of the account ends, the link is used up."""
    if password != confirm:
        error = t.gettext("The two passwords differ.")
        return render(request, "password_reset.html", t, status_code=422, token=token, valid=True, error=error)
    with Session(request.app.state.engine) as session, session.begin():
        if resets.find(session, token) is None:
            return render(request, "password_reset.html", t, status_code=404, token=token, valid=False)
        try:
            resets.use(session, token=token, password=password)
        except Invalid:
            error = t.gettext("A password needs at least %(count)s characters.", count=users.MIN_PASSWORD)
            return render(request, "password_reset.html", t, status_code=422, token=token, valid=True, error=error)
    return RedirectResponse("/login?done=reset", status_code=303)
