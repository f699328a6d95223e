"""The pieces of bench/load.py at a tiny size: the store it builds, the arrivals it writes, the requests it reads.
The load test itself is a benchmark (docs/benchmarks.md), never part of the suite."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pilote.config import Settings, get_settings
from pilote.jobs import run_waiting
from pilote.models import Enrichment, InboxItem, Message, Source
from pilote.web.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import load  # bench/load.py, beside the benchmarks it reuses


def count(engine: Engine, query: object) -> int:
    with Session(engine) as session:
        return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def test_the_store_built_takes_arrivals_and_their_analysis_only(settings: Settings, engine: Engine) -> None:
    load.build(engine, 3000, 20)
    assert count(engine, select(func.count()).select_from(Message)) == 3000
    assert count(engine, select(func.count()).select_from(Enrichment)) == 3000  # built as analysed
    assert count(engine, select(func.count()).select_from(InboxItem)) == 40

    load.arrive(settings.database_url, None, str(settings.home), 120, 50, 0)  # the intake, then a queued analysis
    source = count(engine, select(Source.id).where(Source.key == load.ARRIVALS.key))
    mine = select(Message.id).where(Message.source_id == source)
    assert count(engine, select(func.count()).select_from(mine.subquery())) == 120
    assert count(engine, select(func.count()).where(Enrichment.message_id.in_(mine))) == 0
    assert run_waiting(settings, engine) >= 1
    assert count(engine, select(func.count()).where(Enrichment.message_id.in_(mine))) == 120
    assert count(engine, select(func.count()).select_from(Enrichment)) == 3120  # nothing built analysed again
    assert count(engine, select(func.count()).select_from(InboxItem).where(InboxItem.source_id == source)) > 0

    headers = load.api_token(engine)
    web = get_settings(home=settings.home, database_url=settings.database_url, allowed_hosts="testserver")
    with TestClient(create_app(web, engine)) as client:
        signed = client.post("/login", data={"email": load.USER, "password": load.PASSWORD}, follow_redirects=False)
        assert signed.status_code == 303
        for name, (kind, paths) in load.requests(engine).items():
            assert paths, name
            response = client.get(paths[0], headers=headers if kind == "api" else None)
            assert response.status_code == 200, (name, paths[0], response.text[:300])
