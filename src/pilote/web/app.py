"""The web application: create_app(settings) builds it; routes stay thin over the services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import anyio.to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Scope

from pilote import __version__
from pilote.config import Settings
from pilote.db import capacity, is_current, make_engine, migrate
from pilote.errors import Invalid, PiloteError
from pilote.tokens import Unauthorized
from pilote.web import access, api, api_figures, api_inbox, api_incidents, api_replies, i18n, incidents, pages
from pilote.web.i18n import N_
from pilote.web.pages import accounts
from pilote.web.pages.common import TEMPLATES, render_error, render_status

STATIC = Path(__file__).parent / "static"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A reverse proxy's probes name the backend's address, not the public name; they read nothing of the store.
PROBES = frozenset({"/health", "/ready"})
# No inline script or style anywhere; images only from us or data: URLs, so a message cannot load a remote
# image (a tracking pixel) even if one slipped past the sanitiser.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; frame-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # other sites learn nothing of the cockpit's addresses
    "X-Frame-Options": "DENY",
}


class CachedStatic(StaticFiles):
    """Static files the browser keeps for a day (vendored libraries are pinned, ours change rarely)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=86400"
        return response


UNKNOWN_HOST = N_("refused: this host name is not one Pilote answers to (PILOTE_ALLOWED_HOSTS)")
CROSS_SITE = N_("refused: a form of another site posted here")


def _said(request: Request, message: str) -> str:
    """A refusal in the language the request asks for (before any session is read: no account's choice)."""
    return i18n.formatter(request.cookies, request.headers.get("accept-language")).gettext(message)


def cross_site_form(request: Request) -> bool:
    """A page's POST sent by another site (cross-site request forgery), refused before any session is read; the
    per-session token (pilote.web.access) is the second lock, this one also guards the login form.

    Browsers say where a request comes from in Sec-Fetch-Site, else in Origin ("null" when the page's
    referrer policy hides it from other sites, which ours does); the API authenticates with tokens instead.
    """
    if request.method in SAFE_METHODS or request.url.path.startswith("/api/"):
        return False
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    return origin is not None and (origin == "null" or urlsplit(origin).netloc != request.headers.get("host"))


def sign_in_first(request: Request) -> Response:
    """To the login page, coming back here afterwards (htmx is told to load it as a whole page)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = "/login" if back == "/" or request.method != "GET" else f"/login?next={quote(back, safe='/')}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def host_name(header: str | None) -> str:
    """The host a Host header names, without its port: `[::1]:8000` is `::1`, `Pilote.Example:80` is
    `pilote.example`."""
    if not header:
        return ""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The Pilote web app on the configured store."""
    if engine is None:
        engine = make_engine(settings)
        migrate(engine)

    # The interactive API page is ours (vendored Swagger UI, no inline script), not FastAPI's CDN one; the schema
    # is served by a route of ours too, so that the access rules cover it like every other route.
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Requests run in threads; each may need a connection: no more threads than connections.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = min(limiter.total_tokens, capacity(engine))
        yield

    app = FastAPI(
        title="Pilote", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
        dependencies=[Depends(access.guard)], lifespan=lifespan,
    )  # fmt: skip
    app.state.engine = engine
    app.state.settings = settings
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.mount("/static", CachedStatic(directory=STATIC), name="static")

    hosts = settings.hosts

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        if request.url.path not in PROBES and host_name(request.headers.get("host")) not in hosts:
            # Before anything is read: a page of another site that rebinds its name to this address reads nothing.
            response: Response = PlainTextResponse(_said(request, UNKNOWN_HOST), status_code=400)
        elif cross_site_form(request):
            response = PlainTextResponse(_said(request, CROSS_SITE), status_code=403)
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(PiloteError)
    async def pilote_error(request: Request, error: PiloteError) -> Response:
        if isinstance(error, Unauthorized) and not request.url.path.startswith("/api/v1/"):
            return sign_in_first(request)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": type(error).__name__, "detail": str(error)}, status_code=error.http_status)
        return render_error(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return await http_exception_handler(request, error)
        return render_status(request, error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, error)
        fields = ", ".join(dict.fromkeys(str(problem["loc"][-1]) for problem in error.errors() if problem.get("loc")))
        return render_error(request, Invalid(N_("a value of the address or of the form is not valid: %(fields)s"),
                                             fields=fields or "?"))  # fmt: skip

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:
        # Starlette raises the error again once this page is sent: the server's log has its traceback.
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "InternalError", "detail": "unexpected error"}, status_code=500)
        return render_status(request, 500)

    @app.get("/health", include_in_schema=False)
    def health() -> JSONResponse:
        """Liveness: the process answers."""
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/ready", include_in_schema=False)
    def ready() -> JSONResponse:
        """Readiness: the store answers and its schema is the one this version expects (503 otherwise)."""
        try:
            current = is_current(engine)
        except SQLAlchemyError:
            return JSONResponse({"status": "unavailable", "store": "unreachable"}, status_code=503)
        if not current:
            return JSONResponse({"status": "unavailable", "store": "schema not up to date"}, status_code=503)
        return JSONResponse({"status": "ready", "version": __version__})

    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        """The API's OpenAPI description, for the API page and for scripts."""
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False, response_class=HTMLResponse)
    def api_docs(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "api_docs.html", {})

    app.include_router(pages.router)
    app.include_router(accounts.router)
    app.include_router(incidents.router)
    app.include_router(api.router)
    app.include_router(api_incidents.router)
    app.include_router(api_figures.router)  # /inbox/figures before the items' /inbox/{item_id}
    app.include_router(api_inbox.router)
    app.include_router(api_replies.router)
    return app
