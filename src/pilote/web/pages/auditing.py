"""The Audit page (admins): the workspace's audit log, filtered, paged and exported, and its retention period."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from pilote import privacy
from pilote.accounts import audit
from pilote.errors import Invalid
from pilote.web.pages.common import Page, PageDep

router = APIRouter()
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
Text = Annotated[str, Query(max_length=320)]
Day = Annotated[str, Query(max_length=10)]


@dataclass(frozen=True, slots=True)
class AuditForm:
    """The Audit page's filters as the address gives them: by whom, which action, from and to which day."""

    actor: Text = ""
    action: Text = ""
    since: Day = ""
    until: Day = ""

    def filters(self, page: Page) -> audit.Filters:
        """The log's filters; days are the reader's, the last one included."""
        return audit.Filters(workspace_id=page.workspace.id, actor=self.actor or None, action=self.action or None,
                             since=_start(self.since, page), until=_start(self.until, page, 1))  # fmt: skip

    def query(self) -> str:
        """The filters as a query string (for the next page and the exports)."""
        values = {"actor": self.actor, "action": self.action, "since": self.since or "", "until": self.until or ""}
        return urlencode({k: v for k, v in values.items() if v})


FormDep = Annotated[AuditForm, Depends()]


def _start(day: str, page: Page, plus: int = 0) -> datetime | None:
    """The start of a day (YYYY-MM-DD) in the reader's time zone, `plus` days later."""
    if not day:
        return None
    try:
        found = date.fromisoformat(day)
    except ValueError:
        raise Invalid(page.t.gettext("Date %(day)s: use a day such as 2026-01-31.", day=day)) from None
    return datetime.combine(found + timedelta(days=plus), time(), tzinfo=page.t.tz)


def readable(value: Any) -> list[tuple[str, str]]:
    """A before or after state as lines of name and value (JSON for what is not text), for the page."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [("", orjson.dumps(value).decode())]
    return [(str(k), v if isinstance(v, str) else orjson.dumps(v).decode()) for k, v in value.items()]


@router.get("/w/{slug}/audit", response_class=HTMLResponse)
def audit_page(page: PageDep, form: FormDep, cursor: Annotated[str, Query(max_length=40)] = "",
               retention: str = "") -> HTMLResponse:  # fmt: skip
    """Who changed what in this workspace, newest first, with filters; and how long messages are kept."""
    listing = audit.page(page.session, form.filters(page), cursor=cursor or None)
    more = None
    if listing.next_cursor:
        more = page.url("audit") + "?" + "&".join(filter(None, [form.query(), f"cursor={listing.next_cursor}"]))
    days = privacy.retention(page.session, page.workspace.id)
    return page.render("audit.html", "audit", form=form, entries=listing.entries, more=more, readable=readable,
                       query=form.query(), days=days, retention_saved=retention == "saved")  # fmt: skip


@router.get("/w/{slug}/audit.csv")
def audit_csv(page: PageDep, form: FormDep) -> StreamingResponse:
    """The log as the filters keep it, as CSV."""
    return _export(page, form, "csv")


@router.get("/w/{slug}/audit.jsonl")
def audit_jsonl(page: PageDep, form: FormDep) -> StreamingResponse:
    """The log as the filters keep it, as JSON Lines."""
    return _export(page, form, "jsonl")


def _export(page: Page, form: AuditForm, format: str) -> StreamingResponse:
    filters = form.filters(page)

    def lines() -> Iterator[bytes]:
        try:
            for line in audit.export(audit.every(page.session, filters), format):
                yield line.encode("utf-8")
        finally:
            page.session.close()

    name = f"pilote-{page.workspace.slug}-audit.{format}"
    return StreamingResponse(lines(), media_type=MEDIA[format],
                             headers={"content-disposition": f'attachment; filename="{name}"'})  # fmt: skip


@router.post("/w/{slug}/retention")
def set_retention(page: PageDep, days: Annotated[str, Form(max_length=10)] = "") -> RedirectResponse:
    """Keep messages this many days (empty: for ever); older ones are deleted by the clock, in batches."""
    value = days.strip()
    if value and not value.isdigit():
        raise Invalid(page.t.gettext("Retention: give a number of days, or nothing to keep messages for ever."))
    privacy.set_retention(page.session, workspace_id=page.workspace.id, days=int(value) if value else None,
                          by=page.actor)  # fmt: skip
    page.session.commit()
    return RedirectResponse(page.url("audit?retention=saved"), status_code=303)
