"""The cockpit's server-rendered pages; one module per page, gathered in one router."""

from __future__ import annotations

from fastapi import APIRouter

from pilote.web.pages import (
    account,
    answering,
    explorer,
    exporting,
    health,
    home,
    labels,
    members,
    overview,
    sources,
    team,
    threads,
)
from pilote.web.pages.common import TEMPLATES

router = APIRouter(include_in_schema=False)
PAGES = (home, overview, health, exporting, explorer, labels, threads, members, sources, team, account, answering)
for module in PAGES:
    router.include_router(module.router)
TEMPLATES.env.globals["inbox_composer"] = answering.composer  # the item panel includes the composer
