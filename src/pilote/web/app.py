"""The web application: create_app(settings) builds it; routes stay thin over the services."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Scope

from pilote import __version__
from pilote.config import Settings
from pilote.db import make_engine, migrate
from pilote.errors import PiloteError
from pilote.web import api, api_incidents, incidents, pages
from pilote.web.pages.common import TEMPLATES, render_error

STATIC = Path(__file__).parent / "static"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
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


def cross_site_form(request: Request) -> bool:
    """A page's POST sent by another site (cross-site request forgery): the cockpit has no login to stop it.

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


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The Pilote web app on the configured store."""
    if engine is None:
        engine = make_engine(settings)
        migrate(engine)
    # The interactive API page is ours (vendored Swagger UI, no inline script), not FastAPI's CDN one.
    app = FastAPI(
        title="Pilote", version=__version__, docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json"
    )
    app.state.engine = engine
    app.state.settings = settings
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.mount("/static", CachedStatic(directory=STATIC), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        if cross_site_form(request):
            response: Response = PlainTextResponse("refused: a form of another site posted here", status_code=403)
        else:
            response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(PiloteError)
    async def pilote_error(request: Request, error: PiloteError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": type(error).__name__, "detail": str(error)}, status_code=error.http_status)
        return render_error(request, error)

    @app.get("/api/docs", include_in_schema=False, response_class=HTMLResponse)
    def api_docs(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "api_docs.html", {})

    app.include_router(pages.router)
    app.include_router(incidents.router)
    app.include_router(api.router)
    app.include_router(api_incidents.router)
    return app
