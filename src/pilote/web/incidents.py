"""The crisis room: an incident's timeline, evidence, spreaders, shared log and holding statement; HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pilote.errors import Invalid
from pilote.models import utcnow
from pilote.radar import incidents, rules
from pilote.radar.room import Room, room
from pilote.web import i18n
from pilote.web.i18n import N_
from pilote.web.pages.common import PageDep, render

router = APIRouter(include_in_schema=False)
CSS = Path(__file__).parent / "static" / "pilote.css"
By = Annotated[str, Form(max_length=200)]


SHOWN = {"": None, "live": False, "past": True}  # ?show=: every incident, the live ones, the past episodes


@router.get("/w/{slug}/incidents", response_class=HTMLResponse)
def incident_list(page: PageDep, show: Annotated[str, Query(max_length=10)] = "") -> HTMLResponse:
    """The workspace's incidents, newest first; `show=live` or `show=past` keeps one kind."""
    if show not in SHOWN:
        raise Invalid(N_("show=%(show)r: use live or past (or nothing, for every incident)"), show=show)
    found = incidents.get_all(page.session, workspace_id=page.workspace.id, past=SHOWN[show], limit=100)
    return page.render("incident.html", "incidents", incidents=found, room=None, report=False, show=show)


@router.get("/w/{slug}/incidents/{incident_id}", response_class=HTMLResponse)
def incident_room(page: PageDep, incident_id: int) -> HTMLResponse:
    """One incident's crisis room."""
    found = incidents.get(page.session, incident_id=incident_id, workspace_id=page.workspace.id)
    data = room(page.session, found)
    return page.render("incident.html", "incidents", room=data, charts=_charts(page, data), report=False)


@router.get("/w/{slug}/incidents/{incident_id}/report.html")
def incident_report(page: PageDep, incident_id: int) -> Response:
    """The incident report as one HTML file that stands on its own: styles inside, no script, no menu, times in
    the workspace's time zone (its alert rule's), in the reader's language."""
    found = incidents.get(page.session, incident_id=incident_id, workspace_id=page.workspace.id)
    zone = i18n.zone(rules.get(page.session, workspace_id=page.workspace.id).timezone)
    t = i18n.Formatter(language=page.t.language, tz=zone, region=page.t.region)
    rendered = render(page.request, "incident_report.html", t, workspace=page.workspace, room=room(page.session, found),
                      report=True, css=CSS.read_text(encoding="utf-8"), exported_at=utcnow())  # fmt: skip
    name = f"incident-{incident_id}-{page.workspace.slug}.html"
    rendered.headers["content-disposition"] = f'attachment; filename="{name}"'
    return rendered


@router.post("/w/{slug}/incidents/{incident_id}/status")
def incident_status(page: PageDep, incident_id: int, action: Annotated[str, Form()], by: By = "") -> Response:
    """Acknowledge, resolve or reopen from the room."""
    actor, now, space, who = by.strip() or page.who, utcnow(), page.workspace.id, page.actor
    if action == "ack":
        incidents.acknowledge(page.session, incident_id=incident_id, workspace_id=space, actor=actor, now=now, by=who)
    elif action == "resolve":
        rule = rules.get(page.session, workspace_id=space)
        incidents.resolve(page.session, incident_id=incident_id, workspace_id=space, actor=actor, now=now, rule=rule,
                          by=who)  # fmt: skip
    elif action == "reopen":
        incidents.reopen(page.session, incident_id=incident_id, workspace_id=space, actor=actor, now=now, by=who)
    else:
        raise Invalid(N_("action %(action)r: use ack, resolve or reopen"), action=action)
    page.session.commit()
    return RedirectResponse(page.url(f"incidents/{incident_id}"), status_code=303)


@router.post("/w/{slug}/incidents/{incident_id}/note")
def incident_note(
    page: PageDep, incident_id: int, text: Annotated[str, Form(max_length=5000)], by: By = ""
) -> Response:
    """Add a line to the shared log."""
    incidents.add_note(page.session, incident_id=incident_id, workspace_id=page.workspace.id, actor=by or page.who,
                       text=text, now=utcnow(), by=page.actor)  # fmt: skip
    page.session.commit()
    return RedirectResponse(page.url(f"incidents/{incident_id}#log"), status_code=303)


@router.post("/w/{slug}/incidents/{incident_id}/statement")
def incident_statement(
    page: PageDep, incident_id: int, text: Annotated[str, Form(max_length=10_000)], by: By = ""
) -> Response:
    """Save the holding statement's draft (each version is kept in the log)."""
    incidents.save_statement(page.session, incident_id=incident_id, workspace_id=page.workspace.id,
                             actor=by or page.who, text=text, now=utcnow(), by=page.actor)  # fmt: skip
    page.session.commit()
    return RedirectResponse(page.url(f"incidents/{incident_id}#statement"), status_code=303)


def _charts(page: PageDep, data: Room) -> dict[str, Any]:
    """Volume and negativity on one chart, reach on another; the alerts' buckets are marked on the axis."""
    labels = [("⚠ " if start in data.alert_starts else "") + page.t.short(start, "MMMd", with_time=True)
              for start in data.starts]  # fmt: skip
    names = {"mentions": page.t.gettext("Messages"), "negative": page.t.gettext("Negative"),
             "reach": page.t.gettext("Reach")}  # fmt: skip

    def chart(keys: tuple[str, ...]) -> dict[str, Any]:
        series = [{"key": key, "name": names[key], "data": data.lines[key]} for key in keys]
        return {"type": "line", "stack": False, "x": labels, "series": series}

    return {"volume": chart(("mentions", "negative")), "reach": chart(("reach",))}
