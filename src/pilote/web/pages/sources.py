"""The Sources page: what feeds the workspace, the last import of each, and adding, syncing, pausing or
deleting one."""

from __future__ import annotations

import contextlib
import re
import shutil
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from pilote import deletions, jobs, platforms, schedule, sync
from pilote import sources as formats
from pilote.errors import Invalid, NotFound, PiloteError
from pilote.imports import import_file
from pilote.models import Deletion, Source
from pilote.sources import http
from pilote.sources.base import ParseOptions
from pilote.views import sources as views
from pilote.web.i18n import N_
from pilote.web.pages.common import PageDep

router = APIRouter()
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@router.get("/w/{slug}/sources", response_class=HTMLResponse)
def sources(
    page: PageDep,
    imported: int | None = None,
    synced: int | None = None,
    added: int | None = None,
    credentials: int | None = None,
    queued: int | None = None,
    deleted: int | None = None,
) -> HTMLResponse:
    """Every source of the workspace with its last import or sync in plain words."""
    return _page(page, imported=imported, synced=synced, added=added, credentials_saved=credentials, queued=queued,
                 deleted=_deleted(page, deleted))  # fmt: skip


def _deleted(page: PageDep, deletion_id: int | None) -> Deletion | None:
    """The deletion of a source of this workspace that the address names, to say what went."""
    if deletion_id is None:
        return None
    try:
        found = deletions.get(page.session, deletion_id)
    except NotFound:
        return None
    return found if (found.kind, found.workspace) == ("source", page.workspace.slug) else None


def _page(page: PageDep, status_code: int = 200, **context: object) -> HTMLResponse:
    rows = views.sources(page.session, page.workspace.id)
    connectors = list(formats.CONNECTORS.values())
    secrets = {c.name: [s.name for s in c.settings if s.secret] for c in connectors}
    response = page.render("sources.html", "sources", rows=rows, formats=formats.FORMATS, connectors=connectors,
                           secrets={k: v for k, v in secrets.items() if v}, **context)  # fmt: skip
    response.status_code = status_code
    return response


@router.post("/w/{slug}/sources/import", response_class=HTMLResponse)
def upload(
    page: PageDep,
    file: Annotated[UploadFile, File()],
    format: Annotated[str, Form()] = "",
    source_key: Annotated[str, Form()] = "",
) -> Response:
    """Import an uploaded export (into an existing source when one is named); its analysis is queued."""
    folder = Path(page.request.app.state.settings.home) / "uploads" / uuid.uuid4().hex  # one per upload
    folder.mkdir(parents=True)
    path = folder / (_UNSAFE.sub("_", Path(file.filename or "").name).strip("._") or "upload")
    try:
        with path.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        options = ParseOptions(source_key=source_key or None)
        engine, settings = page.request.app.state.engine, page.request.app.state.settings
        report = import_file(engine, path, workspace=page.workspace.slug, format=format or None, options=options,
                             batch_size=settings.batch_size, analyse=jobs.analysis(settings, engine),
                             by=page.actor)  # fmt: skip
    except PiloteError as error:
        return _page(page, status_code=error.http_status, failed=_said(page, error, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return RedirectResponse(page.url(f"sources?imported={report.run_id}"), status_code=303)


def _said(page: PageDep, error: PiloteError, folder: Path) -> str:
    """An upload's error in the reader's words, naming the file as they sent it (not the folder it waited in)."""
    record = error.record()
    if "path" in record:
        record["path"] = Path(record["path"]).name
    return page.t.error(record).replace(str(folder) + "/", "")


@router.post("/w/{slug}/sources/{source_id}/status")
def status(page: PageDep, source_id: int, status: Annotated[str, Form()]) -> RedirectResponse:
    """Pause or resume a source."""
    views.set_status(page.session, page.workspace.id, source_id, status, by=page.actor)
    page.session.commit()
    return RedirectResponse(page.url("sources"), status_code=303)


@router.post("/w/{slug}/sources/{source_id}/delete", response_class=HTMLResponse)
def delete(page: PageDep, source_id: int, confirm: Annotated[str, Form()] = "") -> Response:
    """Delete a source and everything it holds, once the reader has typed its name."""
    source = views.get(page.session, page.workspace.id, source_id)
    try:
        deletions.check_confirmation(confirm, source.name, "this source")
    except Invalid as error:
        return _page(page, status_code=error.http_status, delete_failed=source_id, delete_error=page.t.error(error))
    done = deletions.delete_source(page.session, workspace_id=page.workspace.id, source_id=source_id, by=page.actor)
    page.session.commit()
    return RedirectResponse(page.url(f"sources?deleted={done.id}"), status_code=303)


@router.post("/w/{slug}/sources/feeds", response_class=HTMLResponse)
def add_feed(page: PageDep, url: Annotated[str, Form()]) -> Response:
    """Add a feed, then sync it at once so that its messages show (a failed first sync is shown on its row)."""
    try:
        source = sync.add_feed(page.session, page.workspace.slug, url, by=page.actor)
        page.session.commit()
    except PiloteError as error:
        page.session.rollback()
        return _page(page, status_code=error.http_status, feed_failed=page.t.error(error), feed_url=url)
    return _sync(page, source.id)


@router.post("/w/{slug}/sources/{source_id}/sync")
def sync_now(page: PageDep, source_id: int) -> RedirectResponse:
    """Fetch a feed or a platform now, whatever its schedule, and import what is new (its analysis queued)."""
    if source_id not in {s.id for s in schedule.fetched(page.session, page.workspace.id)}:
        raise NotFound(N_("no feed or platform source %(id)s in this workspace"), id=source_id)
    return _sync(page, source_id)


def _sync(page: PageDep, source_id: int) -> RedirectResponse:
    source = page.session.get_one(Source, source_id)
    if platforms.is_platform(source):  # a platform may have a long history to read: the scheduler does it
        platforms.request_sync(page.session, page.workspace.id, source_id, by=page.actor)
        page.session.commit()
        return RedirectResponse(page.url(f"sources?queued={source_id}"), status_code=303)
    done = page.url(f"sources?synced={source_id}")
    sync.note_requested(page.session, source, by=page.actor)
    page.session.commit()
    page.session.close()  # the sync writes through its own sessions; this one must not hold SQLite's lock
    with contextlib.suppress(sync.SyncError):  # recorded on the source: its row and the notice say what failed
        state = page.request.app.state
        schedule.sync_one(state.engine, state.settings, source_id, limits=http.Limits.of(state.settings),
                          analyse=jobs.analysis(state.settings, state.engine))  # fmt: skip
    return RedirectResponse(done, status_code=303)


@router.post("/w/{slug}/sources/platforms", response_class=HTMLResponse)
async def add_platform(page: PageDep) -> Response:
    """Connect a platform with the settings and secrets of its form; the scheduler reads it within seconds."""
    form = await page.request.form()
    kind = str(form.get("kind", ""))
    values = {k: str(v) for k, v in form.items() if k != "kind" and isinstance(v, str)}
    return await run_in_threadpool(_add_platform, page, kind, values)


def _add_platform(page: PageDep, kind: str, values: dict[str, str]) -> Response:
    try:
        source = platforms.add(page.session, page.request.app.state.settings, workspace=page.workspace.slug,
                               kind=kind, values=values, by=page.actor)  # fmt: skip
        page.session.commit()
    except PiloteError as error:
        page.session.rollback()
        return _page(page, status_code=error.http_status, platform_failed=page.t.error(error),
                     platform_kind=kind)  # fmt: skip
    return RedirectResponse(page.url(f"sources?added={source.id}"), status_code=303)


@router.post("/w/{slug}/sources/{source_id}/credentials")
async def new_credentials(page: PageDep, source_id: int) -> Response:
    """Replace a platform source's secrets (those left empty are kept)."""
    source = await run_in_threadpool(page.session.get, Source, source_id)
    if source is None or source.workspace_id != page.workspace.id or not platforms.is_platform(source):
        raise NotFound(N_("no platform source %(id)s in this workspace"), id=source_id)
    form = await page.request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str) and v}
    return await run_in_threadpool(_new_credentials, page, source_id, values)


def _new_credentials(page: PageDep, source_id: int, values: dict[str, str]) -> Response:
    platforms.set_credentials(page.session, page.request.app.state.settings, source_id, values, by=page.actor)
    page.session.commit()
    return RedirectResponse(page.url(f"sources?credentials={source_id}"), status_code=303)
