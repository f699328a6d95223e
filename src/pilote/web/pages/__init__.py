"""The cockpit's server-rendered pages; one module per page, gathered in one router."""

from __future__ import annotations

from fastapi import APIRouter

from pilote.web.pages import explorer, exporting, health, home, labels, members, overview, rules, sources, threads

router = APIRouter(include_in_schema=False)
for module in (home, overview, health, exporting, explorer, labels, threads, members, sources, rules):
    router.include_router(module.router)
