"""The cockpit's server-rendered pages; one module per page, gathered in one router."""

from __future__ import annotations

from fastapi import APIRouter

from pilote.web.pages import (
    explorer,
    exporting,
    health,
    home,
    inbox,
    inbox_actions,
    labels,
    members,
    overview,
    sources,
    threads,
)

router = APIRouter(include_in_schema=False)
for module in (home, overview, inbox, inbox_actions, health, exporting, explorer, labels, threads, members, sources):
    router.include_router(module.router)
