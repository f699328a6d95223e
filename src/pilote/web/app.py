"""The web application: create_app(settings) builds it; routes stay thin over the services."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pilote import __version__, stats, workspaces
from pilote.config import Settings
from pilote.db import make_engine, migrate
from pilote.errors import PiloteError

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(settings: Settings, engine: Engine | None = None) -> FastAPI:
    """The Pilote web app on the configured store."""
    if engine is None:
        engine = make_engine(settings)
        migrate(engine)
    app = FastAPI(title="Pilote", version=__version__, docs_url="/api/docs", openapi_url="/api/v1/openapi.json")
    app.state.engine = engine
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(PiloteError)
    async def pilote_error(_request: Request, error: PiloteError) -> JSONResponse:
        return JSONResponse({"error": type(error).__name__, "detail": str(error)}, status_code=error.http_status)

    @app.get("/", response_class=HTMLResponse)
    def overview(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "overview.html", {"workspaces": _all_stats(engine)})

    @app.get("/api/v1/stats")
    def stats_api() -> list[dict[str, Any]]:
        return [item.as_json() for item in _all_stats(engine)]

    return app


def _all_stats(engine: Engine) -> list[stats.WorkspaceStats]:
    with Session(engine) as session:
        return [stats.compute(session, space) for space in workspaces.get_all(session)]
