"""The Explorer page: search with filters, cursor pages loaded by htmx, saved searches, export, labels."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from pilote.errors import Invalid
from pilote.views import explorer as views
from pilote.views import sources
from pilote.web.i18n import N_
from pilote.web.pages.common import PageDep
from pilote.web.pages.labels import INTENTS

router = APIRouter()
CHOICES = {"yes": True, "no": False}
PAGE_SIZE = 25


@dataclasses.dataclass(frozen=True, slots=True)
class Filters:
    """The Explorer's form as the reader filled it in (strings, kept to refill the form and build links)."""

    q: str = ""
    source: str = ""
    channel: str = ""
    kind: str = ""
    language: str = ""
    sentiment: str = ""
    intent: str = ""
    author: str = ""
    author_id: str = ""
    spam: str = ""
    toxic: str = ""
    since: str = ""
    until: str = ""
    unpublished: str = ""
    sort: str = "newest"

    def params(self) -> dict[str, str]:
        """The non-empty fields, for links (next page, export, saved searches)."""
        return {name: value for name, value in dataclasses.asdict(self).items() if value}

    def query_string(self) -> str:
        return urlencode(self.params())


def read_form(request: Request) -> Filters:
    """The Explorer's fields from the address; unknown parameters are ignored."""
    names = {f.name for f in dataclasses.fields(Filters)}
    given = {name: value.strip() for name, value in request.query_params.items() if name in names}
    return Filters(**given)


FormDep = Annotated[Filters, Depends(read_form)]


def to_query(form: Filters, page: PageDep, cursor: str | None = None, limit: int = PAGE_SIZE) -> views.ExplorerQuery:
    """The read model's query for a filled-in form; days are whole days in the reader's time zone."""
    return views.ExplorerQuery(
        workspace_id=page.workspace.id, text=form.q or None, source=form.source or None,
        channel=form.channel or None, kind=form.kind or None, language=form.language or None,
        sentiment=form.sentiment or None, intent=form.intent or None, author=form.author or None,
        author_id=_integer(form.author_id, "author_id"), spam=_choice(form.spam, "spam"),
        toxic=_choice(form.toxic, "toxic"), since=_day(form.since, page, 0, "since"),
        until=_day(form.until, page, 1, "until"), unpublished=_choice(form.unpublished, "unpublished") is True,
        sort=form.sort or "newest",  # type: ignore[arg-type]
        limit=limit, cursor=cursor,
    )  # fmt: skip


def _choice(value: str, name: str) -> bool | None:
    if value and value not in CHOICES:
        raise Invalid(N_("%(name)s=%(value)r: use yes, no or nothing"), name=name, value=value)
    return CHOICES.get(value)


def _integer(value: str, name: str) -> int | None:
    if value and not value.isdigit():
        raise Invalid(N_("%(name)s=%(value)r: give a number"), name=name, value=value)
    return int(value) if value else None


def _day(value: str, page: PageDep, shift: int, name: str) -> datetime | None:
    """A YYYY-MM-DD day as the moment it starts (since) or ends (until) in the reader's time zone."""
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(N_("%(name)s=%(value)r: give a day as YYYY-MM-DD"), name=name, value=value) from None
    return datetime.combine(day + timedelta(days=shift), time(), page.t.tz).astimezone(UTC)


@router.get("/w/{slug}/explorer", response_class=HTMLResponse)
def explorer(page: PageDep, form: FormDep, cursor: str | None = None) -> HTMLResponse:
    """Search results, a page at a time, under their count; an htmx request for the next page gets only the new
    rows."""
    results = views.search(page.session, to_query(form, page, cursor))
    context = _context(page, form, results)
    if page.request.headers.get("hx-request") and cursor:
        return page.render("_results.html", "explorer", **context)
    context["count"] = views.count(page.session, to_query(form, page)) if results.items else None
    saved = [(item, saved_link(item, page)) for item in views.saved(page.session, page.workspace.id)]
    feeds = sources.sources(page.session, page.workspace.id)
    channels = sorted({feed.channel for feed in feeds})
    return page.render("explorer.html", "explorer", saved=saved, sources=feeds, channels=channels, **context)


def _context(page: PageDep, form: Filters, results: views.Page) -> dict[str, Any]:
    more = None
    if results.next_cursor:
        more = page.url("explorer") + "?" + urlencode({**form.params(), "cursor": results.next_cursor})
    return {"form": form, "results": results, "more": more, "intents": INTENTS, "query": form.query_string()}


@router.post("/w/{slug}/explorer/saved")
def save(page: PageDep, name: Annotated[str, Form()], query: Annotated[str, Form()] = "") -> RedirectResponse:
    """Keep the current search under a name."""
    form = _form_from(query)
    views.save(page.session, page.workspace.id, name, to_query(form, page), by=page.actor)
    page.session.commit()
    return RedirectResponse(page.url("explorer") + "?" + form.query_string(), status_code=303)


@router.post("/w/{slug}/explorer/saved/{saved_id}/delete")
def forget(page: PageDep, saved_id: int) -> RedirectResponse:
    """Delete a saved search."""
    views.forget(page.session, page.workspace.id, saved_id, by=page.actor)
    page.session.commit()
    return RedirectResponse(page.url("explorer"), status_code=303)


def _form_from(query: str) -> Filters:
    names = {f.name for f in dataclasses.fields(Filters)}
    return Filters(**{name: value for name, value in parse_qsl(query) if name in names})


def saved_link(saved: views.Saved, page: PageDep) -> str:
    """The Explorer query string of a saved search (days in the reader's time zone)."""
    q, t = saved.query, page.t
    fields = {
        "q": q.text, "source": q.source, "channel": q.channel, "kind": q.kind, "language": q.language,
        "sentiment": q.sentiment, "intent": q.intent, "author": q.author,
        "author_id": None if q.author_id is None else str(q.author_id),
        "spam": None if q.spam is None else ("yes" if q.spam else "no"),
        "toxic": None if q.toxic is None else ("yes" if q.toxic else "no"),
        "since": q.since.astimezone(t.tz).date().isoformat() if q.since else None,
        "until": (q.until.astimezone(t.tz).date() - timedelta(days=1)).isoformat() if q.until else None,
        "sort": q.sort if q.sort != "newest" else None,
    }  # fmt: skip
    return urlencode({name: value for name, value in fields.items() if value})
