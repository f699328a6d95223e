"""What every page shares: the session, the workspace in the address, the reader's language, rendering."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.accounts import audit, users
from pilote.errors import PiloteError
from pilote.models import Workspace
from pilote.views import inbox
from pilote.web import access, highlight, i18n
from pilote.web.access import Principal
from pilote.web.i18n import N_

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
TEMPLATES.env.trim_blocks = True
TEMPLATES.env.lstrip_blocks = True
TEMPLATES.env.filters["marked"] = highlight.marked


def get_session(request: Request) -> Iterator[Session]:
    """One session per request on the app's engine."""
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_formatter(request: Request) -> i18n.Formatter:
    """The reader's language and time zone: their account's language if they chose one, else their cookies and
    browser's."""
    cookies = request.cookies
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.language:
        cookies = {**cookies, i18n.LANGUAGE_COOKIE: principal.language}
    return i18n.formatter(cookies, request.headers.get("accept-language"))


FormatterDep = Annotated[i18n.Formatter, Depends(get_formatter)]


@dataclass(frozen=True, slots=True)
class Page:
    """The request, session, workspace and formatter a workspace page renders with."""

    request: Request
    session: Session
    workspace: Workspace
    t: i18n.Formatter

    def render(self, template: str, section: str, **context: Any) -> HTMLResponse:
        """A full page (or, for an htmx request, whatever the template renders for it); `status_code` if not 200."""
        status_code = int(context.pop("status_code", 200))
        return render(self.request, template, self.t, status_code, workspace=self.workspace, section=section,
                      workspaces=visible(self.request, workspaces.get_all(self.session)),
                      waiting=inbox.waiting(self.session, self.workspace.id), **context)  # fmt: skip

    @property
    def principal(self) -> Principal | None:
        """Who is signed in (none for a page served without an account)."""
        found: Principal | None = getattr(self.request.state, "principal", None)
        return found

    @property
    def user_id(self) -> int | None:
        """The signed-in person's account."""
        return self.principal.user_id if self.principal is not None else None

    def can(self, role: str) -> bool:
        """Whether the signed-in person has at least this role in the workspace."""
        held = self.principal.role_in(self.workspace.id) if self.principal is not None else None
        return held is not None and users.rank(held) >= users.rank(role)

    @property
    def who(self) -> str:
        """The e-mail of the signed-in person, for what they record (labels)."""
        principal = getattr(self.request.state, "principal", None)
        return principal.email if principal is not None else "cockpit"

    @property
    def actor(self) -> audit.Actor:
        """Who the audit log records for what this request changes: the person, from their address."""
        return actor_of(self.request)

    def url(self, path: str = "") -> str:
        """An address inside this workspace."""
        return f"/w/{self.workspace.slug}/{path}"


def actor_of(request: Request) -> audit.Actor:
    """The signed-in person (or the API token's owner, else the token), their account and the client's address:
    who the audit log and the inbox's events record."""
    principal = getattr(request.state, "principal", None)
    address = request.client.host if request.client is not None else None
    if principal is None:
        return audit.Actor("cockpit", address)
    return audit.Actor(principal.email, address, user_id=principal.user_id)


def visible(request: Request, spaces: list[Workspace]) -> list[Workspace]:
    """The workspaces the signed-in person has a role in."""
    principal = getattr(request.state, "principal", None)
    return [space for space in spaces if principal is not None and principal.sees(space)]


def get_page(request: Request, slug: str, session: SessionDep, t: FormatterDep) -> Page:
    """The page context for the workspace named in the address (NotFound otherwise)."""
    return Page(request=request, session=session, workspace=workspaces.get(session, slug=slug), t=t)


PageDep = Annotated[Page, Depends(get_page)]


def render(request: Request, template: str, t: i18n.Formatter, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a template with the reader's formatter and the gettext callables the catalogues use."""
    context.setdefault("workspace", None)
    context.setdefault("workspaces", [])
    context.setdefault("section", "")
    context.setdefault("waiting", 0)
    context.update(t=t, _=t.gettext, gettext=t.gettext, ngettext=t.ngettext, languages=i18n.LANGUAGES)
    context.setdefault("account", getattr(request.state, "principal", None))
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


# What an error page says for an HTTP status that no error of ours explains.
STATUSES = {
    400: N_("This request cannot be served as it is."),
    403: N_("Your role does not allow this."),
    404: N_("There is no page at this address."),
    405: N_("This address does not take this kind of request."),
    500: N_("Pilote met an unexpected error; it is written in the server's log. Try again, or tell whoever runs it."),
}


def render_status(request: Request, status: int, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """An error page for an HTTP status (an unknown address, a method the route does not take, a crash)."""
    t = get_formatter(request)
    text = t.gettext(STATUSES[status]) if status in STATUSES else t.gettext(N_("The request failed (HTTP %(status)s)."),
                                                                           status=status)  # fmt: skip
    response = render(request, "error.html", t, status_code=status, error=text)
    response.headers.update(headers or {})
    return response


def render_error(request: Request, error: PiloteError) -> HTMLResponse:
    """An error page in plain words, in the reader's language, with the right status (a role too low for the page:
    which role it needs)."""
    t = get_formatter(request)
    if isinstance(error, access.RoleNeeded):
        if error.need == "instance":
            text = t.gettext("This is for admins of every workspace. Ask one of them if you need it done.")
        else:
            text = t.gettext("This page needs the %(role)s role in this workspace, and yours does not include it. "
                             "Ask one of its admins.", role=t.word(error.need))  # fmt: skip
        return render(request, "error.html", t, status_code=403, error=text, heading=t.gettext("Not for your role"))
    return render(request, "error.html", t, status_code=error.http_status, error=t.error(error))
