"""The Inbox page: the queue with its tabs, filters, sorts and saved views, a page at a time; an item's panel
(its conversation, judgements, actions, notes and history); the live feed the pages poll."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from pilote.inbox import PRIORITIES, TODO, items, queue, rules
from pilote.models import InboxEvent, Message, utcnow
from pilote.views import inbox as views
from pilote.web import i18n
from pilote.web.i18n import N_
from pilote.web.pages.common import TEMPLATES, Page, PageDep

router = APIRouter()
TEMPLATES.env.globals["inbox_priorities"] = PRIORITIES
# The tabs: each is a query's status, assignee or overdue fields; the other filters stay as they are.
TABS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("todo", N_("To do"), {}),
    ("new", N_("New"), {"status": "new"}),
    ("open", N_("Open"), {"status": "open"}),
    ("mine", N_("Mine"), {"assignee": "me"}),
    ("unassigned", N_("Unassigned"), {"assignee": "none"}),
    ("overdue", N_("Overdue"), {"overdue": "true"}),
    ("pending", N_("Pending"), {"status": "pending"}),
    ("snoozed", N_("Snoozed"), {"status": "snoozed"}),
    ("done", N_("Done"), {"status": "done"}),
    ("spam", N_("Spam"), {"status": "spam"}),
    ("ignored", N_("Ignored"), {"status": "ignored"}),
)
TAB_FIELDS = ("status", "assignee", "overdue")
COUNTED = 1000  # a tab's count stops here ("1,000+"): the first page costs the same with 100,000 items to do
NAMES = {
    "new": N_("new"), "open": N_("open"), "pending": N_("pending"), "snoozed": N_("snoozed"), "done": N_("done"),
    "spam": N_("spam"), "ignored": N_("ignored"), "low": N_("low"), "normal": N_("normal"), "high": N_("high"),
    "urgent": N_("urgent"), "question": N_("question"), "complaint": N_("complaint"), "negative": N_("negative"),
    "toxic": N_("toxic"), "reply": N_("reply"), "mention": N_("mention"), "comment": N_("comment"),
}  # fmt: skip
REASONS = ("question", "complaint", "negative", "toxic", "spam", "reply", "mention", "comment")
SHORTCUTS = (
    ("j / k", N_("next / previous item")), ("Enter / o", N_("open the item")), ("x", N_("select the item")),
    ("e", N_("close it (done)")), ("a", N_("assign it to me")), ("s", N_("mark it as spam")),
    ("# / t", N_("tag it")), ("r", N_("write a reply")), ("u", N_("back to the list")), ("?", N_("this help")),
)  # fmt: skip


def word(t: i18n.Formatter, value: str) -> str:
    """A status, priority or reason in the reader's language."""
    return t.gettext(NAMES[value]) if value in NAMES else value


def due(t: i18n.Formatter, row: queue.Row, now: datetime) -> str:
    """When an answer is due ("due in 2 h", "late by 3 h") or a snooze ends; nothing when no answer is due."""
    if row.status == "snoozed" and row.snoozed_until is not None:
        return t.gettext("snoozed until %(when)s", when=t.moment(row.snoozed_until, "short"))
    if row.due_at is None or row.status not in TODO:
        return ""
    left = row.due_at - now
    return t.gettext("due in %(span)s", span=t.span(left)) if left.total_seconds() >= 0 else \
        t.gettext("late by %(span)s", span=t.span(left))  # fmt: skip


def back_to(page: Page, given: str | None) -> str:
    """A page of this workspace to come back to (never another site); the inbox otherwise."""
    parts = urlsplit(given or "")
    if parts.path.startswith(page.url()) and "//" not in parts.path:
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return page.url("inbox")


def list_url(page: Page, given: str | None) -> str:
    """The list the reader came from (its tab and filters), else the inbox."""
    found = back_to(page, given)
    return found if found.partition("?")[0] == page.url("inbox") else page.url("inbox")


def _tabs(page: Page, query: queue.Query, counts: dict[str, int]) -> list[dict[str, Any]]:
    others = {k: v for k, v in query.params().items() if k not in TAB_FIELDS and k != "sort"}
    if query.sort != "due":
        others["sort"] = query.sort
    chosen = {k: v for k, v in query.params().items() if k in TAB_FIELDS}
    found = []
    for key, label, fields in TABS:
        mine = {k: v for k, v in queue.parse(fields).params().items() if k in TAB_FIELDS}
        parts = [counts.get("new"), counts.get("open")] if key == "todo" else [counts.get(key)]
        count = None if None in parts else page.t.number(sum(n or 0 for n in parts))
        if count is not None and any((n or 0) >= COUNTED for n in parts):
            count += "+"
        found.append({"key": key, "label": page.t.gettext(label), "count": count, "current": mine == chosen,
                      "href": page.url("inbox") + "?" + urlencode({**others, **fields})})  # fmt: skip
    return found


def _context(page: Page, query: queue.Query, found: queue.Page, now: datetime) -> dict[str, Any]:
    params = query.params()
    more = None
    if found.after is not None:
        more = page.url("inbox") + "?" + urlencode({**params, "after": found.after})
    return {"rows": found.rows, "more": more, "now": now, "due": lambda row: due(page.t, row, now),
            "word": lambda value: word(page.t, value), "can_act": page.can("moderator"),
            "here": page.url("inbox") + ("?" + urlencode(params) if params else "")}  # fmt: skip


@router.get("/w/{slug}/inbox", response_class=HTMLResponse)
def inbox(page: PageDep, after: Annotated[str | None, Query(max_length=60)] = None) -> HTMLResponse:
    """The queue: a tab, filters and a sort from the address; an htmx request for the next page gets its rows."""
    values = {k: v for k, v in page.request.query_params.items() if k != "after"}
    query = queue.parse(values)
    now = utcnow()
    found = queue.page(page.session, page.workspace.id, query, user_id=page.user_id, after=after, now=now,
                       counts=False)  # fmt: skip
    context = _context(page, query, found, now)
    if after is not None and page.request.headers.get("hx-request"):
        return page.render("_inbox_rows.html", "inbox", **context)
    saved = [(view, urlencode(queue.view_query(view).params()))
             for view in queue.views(page.session, page.workspace.id, page.user_id)]  # fmt: skip
    counts = queue.tab_counts(page.session, page.workspace.id, page.user_id, now, cap=COUNTED)
    return page.render(
        "inbox.html", "inbox", **context, query=query, tabs=_tabs(page, query, counts), saved=saved,
        people=views.teammates(page.session, page.workspace.id), names=NAMES, reasons=REASONS,
        sources=views.sources(page.session, page.workspace.id), shortcuts=SHORTCUTS,
        last_event=views.last_event(page.session, page.workspace.id),
        fresh=not found.rows and not views.has_items(page.session, page.workspace.id),
    )  # fmt: skip


@router.get("/w/{slug}/inbox/changes")
def changes(
    page: PageDep, since: Annotated[int, Query(ge=0)] = 0, item: Annotated[int | None, Query(ge=1)] = None
) -> JSONResponse:
    """What changed since an event (the items' versions and who changed them) and, for an open item, who else
    has it open (the reader's presence is noted at the same time)."""
    found = views.changes(page.session, page.workspace.id, since)
    present: list[str] = []
    if item is not None:
        present = views.others_on(page.session, items.get(page.session, page.workspace.id, item), page.user_id)
        page.session.commit()
    body = {"last": found.last, "present": present, "me": page.user_id,
            "items": [{"id": c.item_id, "version": c.version, "status": c.status, "kind": c.kind, "by": c.by,
                       "by_id": c.by_id} for c in found.items]}  # fmt: skip
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/w/{slug}/inbox/{item_id}", response_class=HTMLResponse)
def item_page(page: PageDep, item_id: int, view: Annotated[str, Query(max_length=10)] = "") -> HTMLResponse:
    """An item's panel: a whole page, or (htmx) the panel alone, or (`view=row`) its row of the list."""
    if view == "row":
        return row_fragment(page, item_id)
    return panel(page, item_id)


@router.post("/w/{slug}/inbox/{item_id}/left")
def item_left(page: PageDep, item_id: int) -> Response:
    """The reader closed the item: the others are no longer warned."""
    items.left(page.session, items.get(page.session, page.workspace.id, item_id).id, page.user_id or 0)
    page.session.commit()
    return Response(status_code=204)


def row_fragment(page: Page, item_id: int, problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    """One row of the list, as it is now (after an action, or when a teammate changed it)."""
    items.get(page.session, page.workspace.id, item_id)
    now = utcnow()
    (row,) = queue.rows(page.session, [item_id], now)
    here = back_to(page, page.request.headers.get("hx-current-url"))
    return page.render("_inbox_row.html", "inbox", status_code=status_code, row=row, problem=problem, now=now,
                       here=here, due=lambda r: due(page.t, r, now), word=lambda value: word(page.t, value),
                       can_act=page.can("moderator"))  # fmt: skip


def panel(page: Page, item_id: int, problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    """The item's panel: a whole page, or the panel alone for htmx."""
    item = items.get(page.session, page.workspace.id, item_id)
    others = views.others_on(page.session, item, page.user_id)
    page.session.commit()
    now = utcnow()
    (row,) = queue.rows(page.session, [item.id], now)
    history = items.history(page.session, item.id)
    people = views.teammates(page.session, page.workspace.id)
    known = views.names(page.session, sorted(_people_in(history)))
    template = "_inbox_panel.html" if page.request.headers.get("hx-request") else "inbox_item.html"
    return page.render(
        template, "inbox", status_code=status_code, item=item, row=row, problem=problem, others=others, now=now,
        entries=views.conversation(page.session, item), notes=views.notes(page.session, item.id),
        fired=rules.acted_on(page.session, item.id),
        history=[(event, describe(page.t, event, known)) for event in reversed(history)], people=people,
        last_message=page.session.get(Message, item.last_message_id) if item.last_message_id else None,
        due=lambda r: due(page.t, r, now), word=lambda value: word(page.t, value), can_act=page.can("moderator"),
        last_event=views.last_event(page.session, page.workspace.id), shortcuts=SHORTCUTS,
        here=list_url(page, page.request.headers.get("referer")), page=page,
    )  # fmt: skip


def _people_in(history: list[InboxEvent]) -> set[int]:
    found = {event.user_id for event in history if event.user_id is not None}
    for event in history:
        if event.kind == "assign":
            for side in (event.before, event.after):
                value = orjson.loads(side or "null")
                if isinstance(value, dict) and isinstance(value.get("assignee"), int):
                    found.add(value["assignee"])
    return found


def describe(t: i18n.Formatter, event: InboxEvent, people: dict[int, str]) -> str:
    """An event of the item's history as a sentence in the reader's language."""
    before, after = orjson.loads(event.before or "null") or {}, orjson.loads(event.after or "null") or {}
    kind = event.kind
    if kind == "opened":
        return t.gettext("a message opened the item")
    if kind == "message":
        return t.gettext("the author wrote again")
    if kind == "answered":
        return t.gettext("the team answered")
    if kind == "status":
        text = t.gettext("status: %(before)s → %(after)s", before=word(t, before.get("status", "")),
                         after=word(t, after.get("status", "")))  # fmt: skip
        if after.get("until"):
            text += " " + t.gettext("(until %(when)s)", when=t.moment(datetime.fromisoformat(after["until"]), "short"))
        return text
    if kind == "assign":
        who = after.get("assignee")
        return t.gettext("assigned to %(name)s", name=people.get(who, "?")) if who else t.gettext("unassigned")
    if kind == "priority":
        return t.gettext("priority: %(before)s → %(after)s", before=word(t, _priority(before)),
                         after=word(t, _priority(after)))  # fmt: skip
    if kind == "tag":
        return t.gettext("tags: %(tags)s", tags=", ".join(after.get("tags", [])) or "—")
    if kind == "note":
        return t.gettext("internal note added")
    return kind


def _priority(value: dict[str, Any]) -> str:
    return PRIORITIES.get(value.get("priority", 1), "")
