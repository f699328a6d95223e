"""The cockpit's server-rendered pages; one module per page, gathered in one router."""

from __future__ import annotations

from fastapi import APIRouter

from pilote.web.pages import (
    account,
    answering,
    auditing,
    explorer,
    exporting,
    health,
    home,
    inbox,
    inbox_actions,
    inbox_figures,
    labels,
    members,
    overview,
    rules,
    sources,
    team,
    threads,
)
from pilote.web.pages.common import TEMPLATES

router = APIRouter(include_in_schema=False)
# The composer's and saved replies' fixed paths (/inbox/replies…) come before the item's (/inbox/{item_id}).
PAGES = (home, overview, answering, inbox_figures, rules, inbox, inbox_actions, health, exporting, explorer, labels,
         threads, members, sources, team, account, auditing)  # fmt: skip
for module in PAGES:
    router.include_router(module.router)
TEMPLATES.env.globals["inbox_composer"] = answering.composer  # the item panel includes the composer
