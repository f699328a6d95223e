"""Writers never break each other: an import, a platform sync and the radar's ticks write the store at the same
time while readers read it, on SQLite and PostgreSQL, and nothing fails and every message is stored once."""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import paged_connector
from api_peer import ApiPeer, local_client
from pilote import jobs, messages, platforms, sources, stats, workspaces
from pilote.config import Settings
from pilote.imports import import_file
from pilote.models import Message, Workspace

IMPORTED = 12_000
PAGES, PER_PAGE = 20, 100


def export(path: Path, rows: int) -> Path:
    """A CSV export of `rows` comments over a year, in the house's own words."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "date", "text", "author"])
        for n in range(rows):
            when = start + timedelta(minutes=43 * n)  # a year of hours: the dashboards have many to recount
            writer.writerow([f"c{n}", when.isoformat(), f"Commentaire numéro {n} sur le vélo", f"member{n % 300}"])
    return path


def test_an_import_a_sync_and_the_radar_write_together_under_readers_and_none_fails(
    settings: Settings, engine: Engine, api_peer: ApiPeer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sources.CONNECTORS, "paged", paged_connector)  # type: ignore[arg-type]
    api_peer.on("GET", "/items", paged_connector.responder(paged_connector.pages(PAGES, PER_PAGE)))
    with Session(engine) as session, session.begin():
        space_id = workspaces.create(session, slug="default").id
        source_id = platforms.add(session, settings, workspace="default", kind="paged",
                                  values={"base": api_peer.base, "token": "t"}).id  # fmt: skip
    file = export(tmp_path / "comments.csv", IMPORTED)
    failures: list[str] = []
    writing = threading.Event()

    def guarded(work: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except Exception as error:
                failures.append(f"{work.__name__}: {error!r}")

        return run

    def importing() -> None:
        import_file(engine, file, workspace="default", format="csv", batch_size=400)

    def syncing() -> None:
        platforms.sync_platform(engine, settings, source_id, client=local_client()[0])

    def ticking() -> None:
        while writing.is_set():
            jobs.radar_tick(engine, settings)

    def reading() -> None:
        while writing.is_set():
            with Session(engine) as session:
                stats.compute(session, session.get_one(Workspace, space_id))
                messages.get_all(session, messages.MessageFilter(workspace_id=space_id), limit=50)

    writing.set()
    background = [threading.Thread(target=guarded(w)) for w in (ticking, *[reading] * 4)]
    writers = [threading.Thread(target=guarded(w)) for w in (importing, syncing)]
    for thread in background + writers:
        thread.start()
    for thread in writers:
        thread.join()
    writing.clear()
    for thread in background:
        thread.join()
    assert failures == []
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(Message))
        pairs = select(Message.source_id, Message.external_id).distinct().subquery()
        distinct = session.scalar(select(func.count()).select_from(pairs))
    assert stored == distinct == IMPORTED + PAGES * PER_PAGE
