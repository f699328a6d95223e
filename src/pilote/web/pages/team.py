"""The Team page of a workspace (its admins): who has a role here, adding a person, changing a role, removing
someone, disabling an account. The rules and the audit log live in pilote.accounts.team and users."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pilote import mail
from pilote.accounts import team, users
from pilote.errors import Invalid
from pilote.models import User
from pilote.web import access, i18n
from pilote.web.pages.common import Page, PageDep

router = APIRouter()
log = logging.getLogger(__name__)
FormText = Annotated[str, Form()]
NOTICES = frozenset({"added", "role", "removed", "disabled", "enabled"})


def _me(page: Page) -> access.Principal:
    principal = access.current(page.request)
    assert principal is not None  # the guard let only a signed-in admin through
    return principal


def _page(page: Page, status_code: int = 200, **context: object) -> HTMLResponse:
    me = _me(page)
    people = team.get_all(page.session, workspace=page.workspace)
    links = {p.id for p in people if team.may_link(p, by_instance_admin=me.instance_admin)}
    response = page.render("team.html", "team", people=people, roles=users.ROLES, me=me, links=links,
                           mail=bool(page.request.app.state.settings.smtp_host), **context)  # fmt: skip
    response.status_code = status_code
    return response


@router.get("/w/{slug}/team", response_class=HTMLResponse)
def team_page(page: PageDep, done: str | None = None, who: int | None = None) -> HTMLResponse:
    """The people of the workspace, with what an admin can change."""
    person = page.session.get(User, who) if who is not None and done in NOTICES else None
    return _page(page, done=done if person else None, person=person)


@router.post("/w/{slug}/team", response_class=HTMLResponse)
def add(page: PageDep, email: FormText, name: FormText = "", role: FormText = "analyst") -> Response:
    """Add a person: an existing account gets the role; a new one gets a set-password link, by e-mail when the
    cockpit can send one, else shown once to copy."""
    try:
        added = team.add(page.session, workspace=page.workspace, email=email, name=name, role=role, actor=page.who)
    except Invalid as error:
        page.session.rollback()
        reason = error.reason if isinstance(error, team.Refused) else "e-mail"
        return _page(page, status_code=422, add_error=reason, form={"email": email, "name": name, "role": role})
    page.session.commit()
    if added.token is None:
        return RedirectResponse(page.url(f"team?done=added&who={added.user.id}"), status_code=303)
    link = f"{str(page.request.base_url).rstrip('/')}/password/reset?token={added.token}"
    sent = _send_link(page, added.user, link, new=True)
    # The link is shown in this answer only, never put in an address (it would stay in the browser's history).
    return _page(page, done="added", person=added.user, link=None if sent else link, mailed=sent)


def _send_link(page: Page, user: User, link: str, *, new: bool) -> bool:
    """E-mail a set-password link in the person's language (the admin's until they choose one): for a new
    account, an invitation; else a new password link."""
    settings = page.request.app.state.settings
    if not settings.smtp_host:
        return False
    words = i18n.Formatter(language=user.language or page.t.language, tz=page.t.tz)
    values = {"admin": _me(page).display_name, "workspace": page.workspace.name, "link": link, "email": user.email,
              "role": words.word(_role_of(page, user))}  # fmt: skip
    if new:
        text = words.gettext("%(admin)s added you to the team of %(workspace)s on Pilote, as %(role)s.\n\n"
                             "Open this link within three days to choose your password:\n%(link)s\n\n"
                             "Your login is this e-mail address, %(email)s.", **values)  # fmt: skip
    else:
        text = words.gettext("%(admin)s, an admin of %(workspace)s on Pilote, made you a link to choose a new "
                             "password for %(email)s.\n\nOpen it within three days:\n%(link)s\n\n"
                             "Until then, your password stays as it is.", **values)  # fmt: skip
    try:
        mail.send(settings, to=user.email, subject=words.gettext("Your Pilote account"), text=text)
    except mail.MailError as error:
        log.warning("invitation e-mail to %s not sent: %s", user.email, error)
        return False
    return True


def _role_of(page: Page, user: User) -> str:
    return users.roles_of(page.session, user).get(page.workspace.id, "admin" if user.instance_admin else "")


@router.post("/w/{slug}/team/{user_id}/role", response_class=HTMLResponse)
def change_role(page: PageDep, user_id: int, role: FormText) -> Response:
    """Give a person another role here."""
    return _change(page, user_id, role, "role")


@router.post("/w/{slug}/team/{user_id}/remove", response_class=HTMLResponse)
def remove(page: PageDep, user_id: int) -> Response:
    """Take a person's role here away (their account stays, with its roles elsewhere)."""
    return _change(page, user_id, "none", "removed")


def _change(page: Page, user_id: int, role: str, done: str) -> Response:
    try:
        user = team.change_role(page.session, workspace=page.workspace, user_id=user_id, role=role, actor=page.who)
    except team.Refused as error:
        page.session.rollback()
        return _page(page, status_code=422, refused=error.reason, refused_id=user_id)
    page.session.commit()
    if user.email == page.who and role in ("none", *users.ROLES[:-1]):
        return RedirectResponse("/", status_code=303)  # no longer an admin here: this page is no longer theirs
    return RedirectResponse(page.url(f"team?done={done}&who={user.id}"), status_code=303)


@router.post("/w/{slug}/team/{user_id}/disable", response_class=HTMLResponse)
def disable(page: PageDep, user_id: int) -> Response:
    """Disable an account (an admin of every workspace only): its sessions end, its tokens are revoked."""
    return _set_disabled(page, user_id, True)


@router.post("/w/{slug}/team/{user_id}/enable", response_class=HTMLResponse)
def enable(page: PageDep, user_id: int) -> Response:
    """Let a disabled account sign in again."""
    return _set_disabled(page, user_id, False)


def _set_disabled(page: Page, user_id: int, disabled: bool) -> Response:
    actor = users.get(page.session, email=page.who)
    try:
        user = team.set_disabled(page.session, workspace=page.workspace, user_id=user_id, disabled=disabled,
                                 actor=actor)  # fmt: skip
    except team.Refused as error:
        page.session.rollback()
        return _page(page, status_code=422, refused=error.reason, refused_id=user_id)
    page.session.commit()
    return RedirectResponse(page.url(f"team?done={'disabled' if disabled else 'enabled'}&who={user.id}"), 303)


@router.post("/w/{slug}/team/{user_id}/link", response_class=HTMLResponse)
def new_link(page: PageDep, user_id: int) -> Response:
    """A new set-password link for a person, shown once (and e-mailed when the cockpit can)."""
    try:
        token = team.new_link(page.session, workspace=page.workspace, user_id=user_id,
                              by_instance_admin=_me(page).instance_admin, actor=page.who)  # fmt: skip
    except team.Refused as error:
        page.session.rollback()
        return _page(page, status_code=422, refused=error.reason, refused_id=user_id)
    page.session.commit()
    user = page.session.get_one(User, user_id)
    link = f"{str(page.request.base_url).rstrip('/')}/password/reset?token={token}"
    sent = _send_link(page, user, link, new=False)
    return _page(page, done="link", person=user, link=None if sent else link, mailed=sent)
