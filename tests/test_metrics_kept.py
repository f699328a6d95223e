"""The metrics reports kept by a worker: the same values as computing on request, computed again after an import (not
more often than every few minutes), read by the Health page and the API with when they were computed; a large
workspace without them waits for the worker (503 from the API); an erasure drops them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from accounts_support import sign_in
from factories import T0, target
from pilote import jobs, keeping, metrics, privacy, tokens
from pilote.accounts import audit
from pilote.config import Settings
from pilote.ingest import write_batch
from pilote.leases import DatabaseLeases, hold
from pilote.metrics import kept
from pilote.models import Author, KeptReport, Workspace, WorkspaceSetting, utcnow
from pilote.web.app import create_app
from test_metrics import comment, small_community

NOW = T0 + timedelta(days=2, minutes=7)  # two days into the small community's life


def rows(engine: Engine) -> dict[str, KeptReport]:
    with Session(engine) as session:
        return {row.period: row for row in session.scalars(select(KeptReport))}


def as_served(report: metrics.Report) -> dict[str, Any]:
    """A report as the API serves it (JSON, read back)."""
    return orjson.loads(orjson.dumps(report.as_json(), option=orjson.OPT_NON_STR_KEYS))  # type: ignore[no-any-return]


def test_a_kept_report_is_what_computing_on_request_gives(engine: Engine) -> None:
    workspace_id = small_community(engine)
    assert kept.refresh(engine, workspace_id, now=NOW)
    assert sorted(rows(engine)) == sorted(kept.PERIODS)
    with Session(engine) as session:
        for period in kept.PERIODS:
            since, until = kept.window(session, workspace_id, period, NOW)
            assert until == T0.replace(minute=0) + timedelta(days=2, hours=1)  # the coming hour
            live = metrics.report(session, workspace_id, since, until)
            found = kept.report_of(session, workspace_id, period)
            assert found is not None
            assert found.computed_at == NOW
            assert found.value.as_json() == as_served(live)
            assert [f.better for f in found.value.figures] == [f.better for f in live.figures]
        week = kept.report_of(session, workspace_id, "7d")
        assert week is not None
        assert {f.name: f.value for f in week.value.figures}["active_members"] == 4


def test_the_reports_are_computed_again_after_an_import_and_not_too_often(engine: Engine) -> None:
    workspace_id = small_community(engine)
    kept.refresh(engine, workspace_id, now=NOW)
    with Session(engine) as session:
        assert not kept.due(session, workspace_id, NOW + timedelta(minutes=20))  # nothing new, the same hour
    with engine.begin() as conn:  # a question arrives
        write_batch(conn, target(engine), [comment("late", "p2", "p2", 2 * 24 * 60 + 5, "gina", "lumen?")])
    with Session(engine) as session:
        assert not kept.due(session, workspace_id, NOW + timedelta(minutes=1))  # new, but computed a minute ago
        assert kept.due(session, workspace_id, NOW + timedelta(seconds=keeping.REFRESH))
    assert not kept.refresh(engine, workspace_id, now=NOW + timedelta(minutes=1))
    later = NOW + timedelta(seconds=keeping.REFRESH + 60)
    assert kept.refresh(engine, workspace_id, now=later)
    with Session(engine) as session:
        week = kept.report_of(session, workspace_id, "7d")
        assert week is not None
        assert week.computed_at == later
        assert {f.name: f.value for f in week.value.figures}["active_members"] == 5  # gina counted
        assert not kept.due(session, workspace_id, later + timedelta(minutes=20))
        assert kept.due(session, workspace_id, later + timedelta(hours=1))  # the periods moved on: an hour at most


def test_reports_that_took_long_to_compute_wait_ten_times_as_long_before_the_next(engine: Engine) -> None:
    workspace_id = small_community(engine)
    kept.refresh(engine, workspace_id, now=NOW)
    with Session(engine) as session:
        took = session.get(WorkspaceSetting, (workspace_id, "kept_cost:kept_report"))
        assert took is not None
        assert 0 < float(took.value) < 60  # a small community: milliseconds to seconds
    with engine.begin() as conn:  # a question arrives
        write_batch(conn, target(engine), [comment("late", "p2", "p2", 2 * 24 * 60 + 5, "gina", "lumen?")])
    with Session(engine) as session, session.begin():  # as if the reports had cost a large store's 100 s
        session.get_one(WorkspaceSetting, (workspace_id, "kept_cost:kept_report")).value = "100.000"
    with Session(engine) as session:
        assert not kept.due(session, workspace_id, NOW + timedelta(seconds=keeping.REFRESH + 60))
        assert kept.due(session, workspace_id, NOW + timedelta(seconds=keeping.COST_SHARE * 100 + 1))


def test_two_workers_never_compute_a_workspace_s_reports_at_once(engine: Engine) -> None:
    workspace_id = small_community(engine)
    leases = DatabaseLeases(engine)
    with hold(leases, f"reports:{workspace_id}"):  # another worker computes them now
        assert not jobs.keep_reports(engine, workspace_id, leases)
        assert rows(engine) == {}
    assert jobs.keep_reports(engine, workspace_id, leases)
    assert not leases.held(f"reports:{workspace_id}")


def test_a_computation_longer_than_a_minute_is_said_in_the_log(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    workspace_id = small_community(engine)
    assert jobs.keep_reports(engine, workspace_id)  # fast: nothing said
    assert not [r for r in caplog.records if "computed and kept" in r.getMessage()]
    monkeypatch.setattr(jobs, "SLOW_KEEP", -1.0)  # any computation is "slow"
    with caplog.at_level(logging.WARNING, logger="pilote.jobs"):
        assert jobs.keep_lists(engine, workspace_id)  # the Members lists, not kept yet: computed now
    said = [r.getMessage() for r in caplog.records if "computed and kept" in r.getMessage()]
    assert len(said) == 1
    assert said[0].startswith(f"lists:{workspace_id}: computed and kept in ")


def test_the_clock_queues_the_reports_after_an_import_and_a_worker_keeps_them(sqlite_settings: Settings) -> None:
    worker = jobs.Jobs(sqlite_settings)
    try:
        workspace_id = small_community(worker.engine)
        assert worker.step()  # a turn of the clock
        assert (jobs.REPORTS, (workspace_id,)) in worker.queue.waiting()
        assert worker.queue_reports() == []  # already waiting
        while (task := worker.queue.huey.dequeue()) is not None:
            worker.queue.huey.execute(task)
        assert sorted(rows(worker.engine)) == sorted(kept.PERIODS)
        assert worker.queue_reports() == []  # kept, and nothing changed since
        with Session(worker.engine) as session, session.begin():  # computed long ago, from another state
            session.execute(update(KeptReport).values(stamp="old", computed_at=utcnow() - timedelta(hours=1)))
        with hold(worker.leases, f"reports:{workspace_id}"):  # being computed: never queued meanwhile
            assert worker.queue_reports() == []
        assert worker.queue_reports() == [workspace_id]
    finally:
        worker.engine.dispose()


def test_an_erasure_drops_the_kept_reports_that_name_the_person(engine: Engine) -> None:
    workspace_id = small_community(engine)
    kept.refresh(engine, workspace_id, now=NOW)
    assert any('"brand"' in row.value for row in rows(engine).values())  # the team's members are named
    with Session(engine) as session, session.begin():
        brand = session.scalar(select(Author.id).where(Author.handle == "brand"))
        assert brand is not None
        privacy.erase(session, privacy.person(session, workspace_id=workspace_id, author_id=brand),
                      by=audit.Actor("tests"))  # fmt: skip
    assert rows(engine) == {}
    with Session(engine) as session:
        assert kept.due(session, workspace_id, NOW)
    kept.refresh(engine, workspace_id, now=NOW)
    assert not any('"brand"' in row.value for row in rows(engine).values())


# --- the Health page and the API ---------------------------------------------------------------------------------


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as served:
        yield served


def _keep_with_posts(engine: Engine, workspace_id: int, posts: int) -> None:
    """Keep the reports, computed at 09:41, with a `posts` figure only the kept ones have."""
    kept.refresh(engine, workspace_id, force=True)
    with Session(engine) as session, session.begin():
        for row in session.scalars(select(KeptReport)):
            shown = orjson.loads(row.value)
            shown["metrics"]["posts"]["value"] = posts
            row.value = orjson.dumps(shown).decode()
            row.computed_at = utcnow().replace(hour=9, minute=41)


def test_the_health_page_reads_the_kept_report_and_says_when_it_was_computed(
    client: TestClient, engine: Engine
) -> None:
    workspace_id = small_community(engine)
    sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
    live = lxml_html.fromstring(client.get("/w/acme/health?period=30d").text)  # a small workspace: computed now
    assert not live.xpath("//span[@data-computed]")
    _keep_with_posts(engine, workspace_id, 4321)
    page = lxml_html.fromstring(client.get("/w/acme/health?period=30d").text)
    assert page.xpath("string(//tr[@data-metric='posts']/td[contains(@class, 'value')])").strip() == "4,321"
    assert "Computed at 09:41." in page.xpath("string(//span[@data-computed])")
    french = lxml_html.fromstring(client.get("/w/acme/health?period=30d", headers={"Accept-Language": "fr"}).text)
    assert "Calculé à 09:41." in french.xpath("string(//span[@data-computed])")
    assert "4321" in client.get("/w/acme/health.csv?period=30d").text
    for other in ("period=30d&channel=blog:blog.example.org", "since=2026-03-01&until=2026-03-07"):
        filtered = lxml_html.fromstring(client.get(f"/w/acme/health?{other}").text)  # not kept: computed now
        assert not filtered.xpath("//span[@data-computed]")
        assert filtered.xpath("//tr[@data-metric='posts']")
        assert "4,321" not in filtered.xpath("string(//tr[@data-metric='posts'])")


def test_a_large_workspace_s_health_page_waits_for_the_worker(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id = small_community(engine)
    sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
    monkeypatch.setattr(kept, "ON_REQUEST", 3)  # the small community is "large"
    page = lxml_html.fromstring(client.get("/w/acme/health?period=7d").text)
    assert page.xpath("//p[@data-report='pending']")
    assert not page.xpath("//tr[@data-metric]")
    answer = client.get("/w/acme/health.csv?period=7d")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "60"
    jobs.keep_reports(engine, workspace_id)  # what the queued job does
    page = lxml_html.fromstring(client.get("/w/acme/health?period=7d").text)
    assert not page.xpath("//p[@data-report='pending']")
    assert page.xpath("//tr[@data-metric='posts']")
    assert page.xpath("//span[@data-computed]")


def _token(engine: Engine, workspace_id: int) -> dict[str, str]:
    with Session(engine) as session, session.begin():
        secret, _ = tokens.create(session, workspace=session.get_one(Workspace, workspace_id), name="test")
    return {"Authorization": f"Bearer {secret}"}


def test_the_api_serves_the_kept_report_in_its_shape_with_when_it_was_computed(
    client: TestClient, engine: Engine
) -> None:
    workspace_id = small_community(engine)
    headers = _token(engine, workspace_id)
    computed = client.get("/api/v1/metrics?period=7d", headers=headers).json()
    assert computed["computed_at"] is None  # a small workspace, nothing kept: computed now
    kept.refresh(engine, workspace_id, force=True)
    for asked in ("/api/v1/metrics", "/api/v1/metrics?period=7d", "/api/v1/metrics?period=all"):
        answer = client.get(asked, headers=headers)
        assert answer.status_code == 200
        body = answer.json()
        assert set(body) == {"since", "until", "channel", "sources", "language", "topic", "metrics", "computed_at"}
        assert body["computed_at"] is not None
    assert client.get("/api/v1/metrics?period=7d", headers=headers).json()["metrics"] == computed["metrics"]
    _keep_with_posts(engine, workspace_id, 4321)
    assert client.get("/api/v1/metrics?period=90d", headers=headers).json()["metrics"]["posts"]["value"] == 4321
    filtered = client.get("/api/v1/metrics?period=90d&language=en", headers=headers).json()
    assert filtered["computed_at"] is None  # a filter: computed now
    assert filtered["metrics"]["posts"]["value"] != 4321


def test_the_api_answers_503_for_a_large_workspace_until_a_worker_kept_its_report(
    client: TestClient, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id = small_community(engine)
    headers = _token(engine, workspace_id)
    monkeypatch.setattr(kept, "ON_REQUEST", 3)
    answer = client.get("/api/v1/metrics?period=30d", headers=headers)
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "60"
    assert answer.json()["error"]["code"] == "unavailable"
    queue = jobs.make_queue(settings, engine)
    assert (jobs.REPORTS, (workspace_id,)) in queue.waiting()  # scheduled now, not at the clock's next turn
    assert client.get("/api/v1/metrics?period=30d", headers=headers).status_code == 503
    assert [name for name, _ in queue.waiting()].count(jobs.REPORTS) == 1  # once
    assert client.get("/api/v1/metrics?period=30d&language=en", headers=headers).status_code == 200  # a filter
    task = queue.huey.dequeue()
    assert task is not None
    queue.huey.execute(task)
    answer = client.get("/api/v1/metrics?period=30d", headers=headers)
    assert answer.status_code == 200
    assert answer.json()["computed_at"] is not None
