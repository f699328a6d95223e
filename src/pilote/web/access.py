"""Who may do what: one table giving every route its minimal role, enforced for every request in one place.

Roles (pilote.accounts.users.ROLES) are per workspace and ordered: an analyst reads, a moderator also labels
and works incidents, a manager also manages sources and tokens, an admin everything. A route of a workspace
(`{slug}` in its path) is judged by the role there; an API route by the role in its token's workspace. A route
missing from the table is refused to everyone (and a test fails): adding a route means adding its line here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import anyio
from fastapi import FastAPI, Request
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from pilote import tokens
from pilote.accounts import sessions, users
from pilote.config import Settings
from pilote.db import is_locked
from pilote.errors import Forbidden
from pilote.models import User, Workspace

# "instance": an admin of every workspace only (disabling an account shuts it out of every workspace).
Need = Literal["public", "account", "analyst", "moderator", "manager", "admin", "instance"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
WORKSPACE_TOKEN_ROLE = "manager"  # noqa: S105 (a role, not a secret) a token made before accounts, of no one: what the API let it do then

ACCESS: dict[str, Need] = {
    # open to all: signing in and out, the first account, password resets, a proxy's probes
    "GET /login": "public",
    "POST /login": "public",
    "POST /logout": "public",
    "GET /setup": "public",
    "POST /setup": "public",
    "GET /password/forgot": "public",
    "POST /password/forgot": "public",
    "GET /password/reset": "public",
    "POST /password/reset": "public",
    "POST /language": "public",  # the login page has the language buttons too (an account's changes need CSRF)
    "GET /health": "public",
    "GET /ready": "public",
    # any signed-in person (what they then see is limited to their workspaces)
    "GET /": "account",
    "GET /switch": "account",
    "GET /api/docs": "account",
    "GET /api/v1/openapi.json": "account",
    "GET /account": "account",  # one's own account: name, language, password, sessions, API tokens
    "POST /account/profile": "account",
    "POST /account/password": "account",
    "POST /account/sessions/others/end": "account",
    "POST /account/sessions/{session_id}/end": "account",
    "POST /account/tokens": "account",  # the token's role is at most the person's in its workspace (tokens.create)
    "POST /account/tokens/{token_id}/revoke": "account",
    # pages of a workspace
    "GET /w/{slug}/": "analyst",
    "GET /w/{slug}/health": "analyst",
    "GET /w/{slug}/health.csv": "analyst",
    "GET /w/{slug}/inbox/figures": "analyst",
    "GET /w/{slug}/inbox/figures.csv": "analyst",
    "GET /w/{slug}/explorer": "analyst",
    "GET /w/{slug}/explorer/export": "analyst",
    "GET /w/{slug}/members": "analyst",
    "GET /w/{slug}/members/graph.json": "analyst",
    "GET /w/{slug}/members/{author_id}": "analyst",
    "GET /w/{slug}/threads/{message_id}": "analyst",
    "GET /w/{slug}/sources": "analyst",
    "GET /w/{slug}/incidents": "analyst",
    "GET /w/{slug}/inbox": "analyst",
    "GET /w/{slug}/inbox/changes": "analyst",
    "GET /w/{slug}/inbox/{item_id}": "analyst",
    "POST /w/{slug}/inbox/{item_id}/left": "analyst",  # presence: whoever looks at an item
    "GET /w/{slug}/inbox/rules": "analyst",
    "GET /w/{slug}/incidents/{incident_id}": "analyst",
    "GET /w/{slug}/incidents/{incident_id}/report.html": "analyst",
    "POST /w/{slug}/explorer/saved": "moderator",
    "POST /w/{slug}/explorer/saved/{saved_id}/delete": "moderator",
    "POST /w/{slug}/messages/{message_id}/label": "moderator",
    "POST /w/{slug}/members/merges": "moderator",
    "POST /w/{slug}/members/rejections": "moderator",
    "POST /w/{slug}/members/merges/{merge_id}/undo": "moderator",
    "POST /w/{slug}/inbox/{item_id}/actions": "moderator",
    "POST /w/{slug}/inbox/{item_id}/notes": "moderator",
    "POST /w/{slug}/inbox/bulk": "moderator",
    "POST /w/{slug}/inbox/views": "moderator",
    "POST /w/{slug}/inbox/views/{view_id}/delete": "moderator",
    "POST /w/{slug}/incidents/{incident_id}/status": "moderator",
    "POST /w/{slug}/incidents/{incident_id}/note": "moderator",
    "POST /w/{slug}/incidents/{incident_id}/statement": "moderator",
    "GET /w/{slug}/inbox/{item_id}/composer": "analyst",
    "POST /w/{slug}/inbox/{item_id}/reply": "moderator",
    "POST /w/{slug}/inbox/{item_id}/answered": "moderator",
    "POST /w/{slug}/inbox/outbox/{reply_id}/retry": "moderator",
    "GET /w/{slug}/inbox/replies": "moderator",
    "POST /w/{slug}/inbox/replies": "moderator",  # a person's own; shared ones need a manager (inbox.replies)
    "POST /w/{slug}/inbox/replies/{reply_id}": "moderator",
    "POST /w/{slug}/inbox/replies/{reply_id}/delete": "moderator",
    "POST /w/{slug}/inbox/rules": "manager",  # a preview too: only managers build rules
    "POST /w/{slug}/inbox/rules/{rule_id}/move": "manager",
    "POST /w/{slug}/inbox/rules/{rule_id}/enabled": "manager",
    "POST /w/{slug}/inbox/rules/{rule_id}/delete": "manager",
    "POST /w/{slug}/sources/import": "manager",
    "POST /w/{slug}/sources/feeds": "manager",
    "POST /w/{slug}/sources/platforms": "manager",
    "POST /w/{slug}/sources/{source_id}/status": "manager",
    "POST /w/{slug}/sources/{source_id}/sync": "manager",
    "POST /w/{slug}/sources/{source_id}/credentials": "manager",
    "POST /w/{slug}/sources/{source_id}/delete": "manager",
    "GET /w/{slug}/team": "admin",
    "POST /w/{slug}/team": "admin",
    "POST /w/{slug}/team/{user_id}/role": "admin",
    "POST /w/{slug}/team/{user_id}/remove": "admin",
    "POST /w/{slug}/team/{user_id}/link": "admin",
    "POST /w/{slug}/team/{user_id}/disable": "instance",
    "POST /w/{slug}/team/{user_id}/enable": "instance",
    "GET /w/{slug}/audit": "admin",
    "GET /w/{slug}/audit.csv": "admin",
    "GET /w/{slug}/audit.jsonl": "admin",
    "POST /w/{slug}/retention": "admin",
    "POST /w/{slug}/members/{author_id}/erase": "admin",
    # the API, in the token's workspace
    "GET /api/v1/messages": "analyst",
    "GET /api/v1/messages/{message_id}": "analyst",
    "GET /api/v1/threads/{message_id}": "analyst",
    "GET /api/v1/members/suggestions": "analyst",
    "GET /api/v1/members/{author_id}": "analyst",
    "GET /api/v1/sources": "analyst",
    "GET /api/v1/stats": "analyst",
    "GET /api/v1/timeseries": "analyst",
    "GET /api/v1/overview": "analyst",
    "GET /api/v1/saved-searches": "analyst",
    "GET /api/v1/leaders": "analyst",
    "GET /api/v1/leaders/graph": "analyst",
    "GET /api/v1/metrics": "analyst",
    "GET /api/v1/inbox/figures": "analyst",
    "GET /api/v1/incidents": "analyst",
    "GET /api/v1/inbox": "analyst",
    "GET /api/v1/inbox/{item_id}": "analyst",
    "GET /api/v1/incidents/{incident_id}": "analyst",
    "POST /api/v1/messages/{message_id}/labels": "moderator",
    "POST /api/v1/saved-searches": "moderator",
    "DELETE /api/v1/saved-searches/{saved_id}": "moderator",
    "POST /api/v1/inbox/{item_id}/reply": "moderator",
    "GET /api/v1/saved-replies": "moderator",
    "POST /api/v1/saved-replies": "moderator",
    "PUT /api/v1/saved-replies/{reply_id}": "moderator",
    "DELETE /api/v1/saved-replies/{reply_id}": "moderator",
    "POST /api/v1/inbox/actions": "moderator",
    "POST /api/v1/inbox/{item_id}/notes": "moderator",
    "POST /api/v1/sources/{source_id}/pause": "manager",
    "POST /api/v1/sources/{source_id}/resume": "manager",
    "GET /api/v1/audit": "admin",
}


class RoleNeeded(Forbidden):
    """The person's role in this workspace is not enough: `need` names the one it takes (error pages say it in
    the reader's words)."""

    def __init__(self, need: str) -> None:
        where = "an admin of every workspace" if need == "instance" else f"the {need} role in this workspace"
        super().__init__(f"this needs {where}; ask one of its admins")
        self.need = need


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for: a signed-in person (session cookie) or an API token (of a person, or not)."""

    email: str
    display_name: str
    language: str | None = None
    instance_admin: bool = False
    roles: dict[int, str] = field(default_factory=dict)  # workspace id -> role
    cookie: str | None = None  # the session's cookie, when signed in with one
    token_workspace: int | None = None  # the token's workspace, when the request came with one
    user_id: int | None = None  # the account (none for a workspace token)

    def role_in(self, workspace_id: int) -> str | None:
        """The role in that workspace (an instance admin's is admin everywhere)."""
        return "admin" if self.instance_admin else self.roles.get(workspace_id)

    def sees(self, workspace: Workspace) -> bool:
        """Whether the person has any role in the workspace."""
        return self.role_in(workspace.id) is not None

    @property
    def csrf(self) -> str:
        """The anti-forgery token forms and htmx requests send back (empty for API tokens)."""
        return sessions.csrf_token(self.cookie) if self.cookie else ""


def key(method: str, path: str) -> str:
    """The table's key for a request: HEAD is judged as GET."""
    return f"{'GET' if method == 'HEAD' else method} {path}"


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app serves, through included routers; static files are not routes."""
    stack: list[Any] = list(app.router.routes)
    while stack:
        route = stack.pop(0)
        if hasattr(route, "effective_candidates"):  # an included router, resolved lazily by FastAPI
            stack[:0] = route.effective_candidates()
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                yield method, route.path


def limits(settings: Settings) -> sessions.Limits:
    """The session lifetimes the settings give."""
    return sessions.Limits(idle=timedelta(hours=settings.session_idle_hours),
                           absolute=timedelta(days=settings.session_max_days))  # fmt: skip


def current(request: Request) -> Principal | None:
    """Who the request acts for (computed once per request): its bearer token, else its session cookie."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        with session.no_autoflush:  # the last-use stamps are written at the end, if they can be
            header = request.headers.get("authorization")
            if header:
                found = _from_token(session, header)
            else:
                found = _from_cookie(session, request.cookies.get(sessions.COOKIE), limits(request.app.state.settings))
        try:
            session.commit()
        except OperationalError as error:
            if not is_locked(error):
                raise
            session.rollback()  # a long writer holds SQLite's lock: the stamp waits for a later request, the reader not
    request.state.principal = found
    return found


def _from_token(session: Session, header: str) -> Principal:
    row = tokens.find(session, header)
    if row.user_id is None:
        return Principal(email=f"token {row.id}", display_name=row.name, roles={row.workspace_id: WORKSPACE_TOKEN_ROLE},
                         token_workspace=row.workspace_id)  # fmt: skip
    user = session.get_one(User, row.user_id)
    if user.disabled_at is not None:
        raise tokens.Unauthorized("this API token's account is disabled")
    if row.role is not None:  # a token with less than its person's role: that role, in its workspace only
        mine = "admin" if user.instance_admin else users.roles_of(session, user).get(row.workspace_id)
        role = tokens.effective_role(row.role, mine)
        return Principal(email=user.email, display_name=user.display_name, token_workspace=row.workspace_id,
                         roles={row.workspace_id: role} if role else {})  # fmt: skip
    return Principal(email=user.email, display_name=user.display_name, instance_admin=user.instance_admin,
                     roles=users.roles_of(session, user), token_workspace=row.workspace_id,
                     user_id=user.id)  # fmt: skip


def _from_cookie(session: Session, cookie: str | None, lifetimes: sessions.Limits) -> Principal | None:
    found = sessions.authenticate(session, cookie, lifetimes)
    if found is None or cookie is None:
        return None
    user, _ = found
    roles = users.roles_of(session, user)
    return Principal(email=user.email, display_name=user.display_name, language=user.language,
                     instance_admin=user.instance_admin, roles=roles, cookie=cookie, user_id=user.id)  # fmt: skip


async def guard(request: Request) -> None:
    """The one check every route goes through: its rule in ACCESS, the person's role, the anti-forgery token."""
    route = request.scope.get("route")
    need = ACCESS.get(key(request.method, getattr(route, "path", "")))
    if need is None:
        raise Forbidden(f"no access rule for {request.method} {getattr(route, 'path', '?')} (pilote/web/access.py)")
    if need == "public":
        return
    # The store is read in a thread, never on the event loop: a lookup waiting there for a connection would stop
    # every other request, including those that would hand their connection back.
    principal = await anyio.to_thread.run_sync(current, request)
    if principal is None:
        raise tokens.Unauthorized("sign in first")
    if principal.cookie is not None and request.method not in SAFE_METHODS and not await _csrf_sent(request):
        raise Forbidden("this form is out of date (its anti-forgery token is missing or wrong): reload the page")
    if need == "account":
        return
    if need == "instance":
        if not principal.instance_admin:
            raise RoleNeeded(need)
        return
    workspace_id = await anyio.to_thread.run_sync(_workspace_of, request, principal)
    role = "admin" if principal.instance_admin else principal.role_in(workspace_id) if workspace_id else None
    if role is None or users.rank(role) < users.rank(need):
        raise RoleNeeded(need)


async def _csrf_sent(request: Request) -> bool:
    principal = request.state.principal
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sessions.csrf_ok(principal.cookie, sent)


def _workspace_of(request: Request, principal: Principal) -> int | None:
    """The workspace a route acts in: the one in its path, else (API) the token's."""
    slug = request.path_params.get("slug")
    if slug is None:
        if principal.token_workspace is None and request.url.path.startswith("/api/v1/"):
            raise tokens.Unauthorized("the API takes a token: `Authorization: Bearer <token>`")
        return principal.token_workspace
    with Session(request.app.state.engine) as session:
        found = session.scalar(select(Workspace.id).where(Workspace.slug == slug))
    if found is None and principal.instance_admin:
        return None  # let the page say the workspace does not exist
    return -1 if found is None else found
