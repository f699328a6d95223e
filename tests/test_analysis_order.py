"""An analysis job reads what arrived first, then a bounded part of what a new analyzer version must read again."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, text

from factories import item, target
from pilote import enrich, jobs
from pilote.enrich.pipeline import run
from pilote.ingest import write_batch
from pilote.models import Enrichment, Message


def _versions(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(select(Message.external_id, Enrichment.versions).outerjoin(
            Enrichment, Enrichment.message_id == Message.id)).all()  # fmt: skip
    return {external_id: versions or "" for external_id, versions in rows}


def test_what_arrives_is_analysed_before_a_store_read_again_and_the_rest_waits_its_turn(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = target(engine)
    with engine.begin() as conn:
        write_batch(conn, t, [item(f"old{n}", f"Message numéro {n}, merci pour tout", minutes=n) for n in range(12)])
    run(engine, enrich.get(None), workspace_id=t.workspace_id, workers=1)
    with engine.begin() as conn:  # as if a new version of the language analyzer came with an upgrade
        conn.execute(text("UPDATE enrichment SET versions = REPLACE(versions, '\"language\"', '\"language-old\"')"))
        write_batch(conn, t, [item(f"new{n}", f"Nouveau message {n}", minutes=100 + n) for n in range(3)])
    monkeypatch.setattr(jobs, "AGAIN", 5)

    assert jobs.analyse(engine, t.workspace_id) is True  # more to read again: the job is queued once more
    after_one = _versions(engine)
    assert all('"language"' in after_one[f"new{n}"] for n in range(3))  # the arrivals first, whole
    again = [name for name in after_one if name.startswith("old") and '"language"' in after_one[name]]
    assert len(again) == 5  # then a bounded part of the old ones

    assert jobs.analyse(engine, t.workspace_id) is True
    assert jobs.analyse(engine, t.workspace_id) is False  # 12 read again in parts of 5: done
    assert all('"language"' in versions for versions in _versions(engine).values())
