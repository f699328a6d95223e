"""The cockpit's server-rendered pages; one module per page, gathered in one router."""

from __future__ import annotations

from fastapi import APIRouter

from pilote.web.pages import (
    explorer,
    exporting,
    health,
    home,
    inbox_figures,
    labels,
    members,
    overview,
    sources,
    threads,
)

router = APIRouter(include_in_schema=False)
for module in (home, overview, health, inbox_figures, exporting, explorer, labels, threads, members, sources):
    router.include_router(module.router)
