"""Export of the Explorer's current result to CSV or JSON Lines, through pilote.exports."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from pilote import exports, messages
from pilote.errors import Invalid
from pilote.models import Message
from pilote.views import explorer as views
from pilote.web.i18n import N_
from pilote.web.pages.common import PageDep
from pilote.web.pages.explorer import FormDep, to_query

router = APIRouter()
MEDIA = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}
CHUNK = 500


@router.get("/w/{slug}/explorer/export")
def export(page: PageDep, form: FormDep, format: str = "csv") -> FileResponse:
    """Every message of the current search, in the documented export schema (docs/export.md)."""
    if format not in MEDIA:
        raise Invalid(N_("export format %(format)r: use csv or jsonl"), format=format)
    handle, name = tempfile.mkstemp(prefix="pilote-export-", suffix="." + format)
    os.close(handle)
    path = Path(name)
    exports.write(_records(page, form), format=format, out=path)
    filename = f"pilote-{page.workspace.slug}.{format}"
    return FileResponse(path, media_type=MEDIA[format], filename=filename, background=BackgroundTask(path.unlink))


def _records(page: PageDep, form: Any) -> Iterator[dict[str, Any]]:
    """The search's messages as export records, page by page in the search's order."""
    cursor: str | None = None
    every = messages.select_records(page.session, messages.MessageFilter(workspace_id=page.workspace.id))
    while True:
        found = views.search(page.session, to_query(form, page, cursor, limit=CHUNK))
        ids = [card.id for card in found.items]
        rows = page.session.execute(every.where(Message.id.in_(ids))).all() if ids else []
        by_id = {row.id: dict(row._mapping) for row in rows}
        yield from messages._with_labels(page.session, [by_id[i] for i in ids if i in by_id])
        cursor = found.next_cursor
        if cursor is None:
            return
