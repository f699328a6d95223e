"""The Members page's lists kept by a worker: the same values as computing on request, computed again when the
workspace changed (not more often than every few minutes), read by the page with when they were computed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import combinations
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from accounts_support import sign_in
from pilote import jobs, leaders, merges, privacy, tokens, workspaces
from pilote.accounts import audit
from pilote.config import Settings
from pilote.imports import import_file
from pilote.leaders import kept
from pilote.models import Author, KeptList, Message, utcnow
from pilote.views import members
from pilote.web.app import create_app
from test_leaders import TOWN, town  # noqa: F401 (the fixture)

END_OF_MARCH = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
ADMIN = audit.Actor("tests")
KEPT = ["graph:30d", "graph:7d", "graph:90d", "leaders:30d", "leaders:7d", "leaders:90d", "suggestions"]


def rows(engine: Engine) -> dict[str, KeptList]:
    with Session(engine) as session:
        return {row.name: row for row in session.scalars(select(KeptList))}


def test_the_kept_lists_are_what_computing_on_request_gives(engine: Engine, town: int) -> None:  # noqa: F811
    assert kept.refresh(engine, town, now=END_OF_MARCH)
    found = rows(engine)
    assert sorted(found) == KEPT
    with Session(engine) as session:
        for period in ("7d", "30d", "90d"):
            span = leaders.window(session, town, period=period, now=END_OF_MARCH)
            asked = leaders.leaders(session, town, span, limit=kept.LIMIT)
            stored = kept.leaders_of(session, town, period)
            assert stored is not None
            assert stored.computed_at == stored.value.computed_at == END_OF_MARCH
            assert replace(stored.value, computed_at=None) == asked
        month = kept.leaders_of(session, town, "30d")
        assert month is not None
        assert month.value.ambassadors
        suggestions = kept.suggestions_of(session, town, 20)
        assert suggestions is not None
        assert suggestions.value == merges.suggest(session, town, limit=20)


def test_the_lists_are_computed_again_when_the_workspace_changed_and_not_too_often(
    engine: Engine,
    town: int,  # noqa: F811
    tmp_path: Path,
) -> None:
    assert kept.refresh(engine, town, now=END_OF_MARCH)
    with Session(engine) as session:
        assert not kept.due(session, town, END_OF_MARCH + timedelta(minutes=30))  # nothing new
    later = {**TOWN[1], "external_id": "late", "created_at": "2026-03-31T11:00:00Z"}
    path = tmp_path / "late.jsonl"
    path.write_bytes(orjson.dumps(later))
    import_file(engine, path, workspace="acme")
    with Session(engine) as session:
        assert not kept.due(session, town, END_OF_MARCH + timedelta(minutes=1))  # new, but computed a minute ago
        assert kept.due(session, town, END_OF_MARCH + timedelta(seconds=kept.REFRESH))
    assert not kept.refresh(engine, town, now=END_OF_MARCH + timedelta(minutes=1))
    assert kept.refresh(engine, town, now=END_OF_MARCH + timedelta(seconds=kept.REFRESH + 60))
    with Session(engine) as session:
        month = kept.leaders_of(session, town, "30d")
        assert month is not None
        assert month.computed_at == END_OF_MARCH + timedelta(seconds=kept.REFRESH + 60)


def test_a_merge_makes_the_lists_due_and_the_merged_suggestion_leaves_at_once(engine: Engine, town: int) -> None:  # noqa: F811
    with Session(engine) as session, session.begin():
        made = [Author(workspace_id=town, channel=c, key=f"z-{c}", handle="zephyrin_velo") for c in ("a", "b")]
        session.add_all(made)
        session.flush()
        pair = sorted(a.id for a in made)
    assert kept.refresh(engine, town, now=END_OF_MARCH)
    with Session(engine) as session:
        suggested = kept.suggestions_of(session, town, 20)
        assert suggested is not None
        assert pair in [s.authors for s in suggested.value]
    with Session(engine) as session, session.begin():
        merges.merge(session, town, pair, by=ADMIN)
    with Session(engine) as session:
        suggested = kept.suggestions_of(session, town, 20)
        assert suggested is not None
        assert pair not in [s.authors for s in suggested.value]
        assert suggested.computed_at == END_OF_MARCH  # still the kept list, without the pair decided since
        assert kept.due(session, town, END_OF_MARCH + timedelta(seconds=kept.REFRESH))


def test_erasing_a_person_drops_the_kept_lists_that_may_name_them(engine: Engine, town: int) -> None:  # noqa: F811
    assert kept.refresh(engine, town, now=END_OF_MARCH)
    with Session(engine) as session, session.begin():
        bob = session.scalar(select(Author.id).where(Author.handle == "bob"))
        assert bob is not None
        privacy.erase(session, privacy.person(session, workspace_id=town, author_id=bob), by=ADMIN)
    assert rows(engine) == {}


@pytest.fixture
def client(settings: Settings, engine: Engine, town: int) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(settings, engine)) as served:
        sign_in(served, email="analyst@example.org", role="analyst", workspace="acme")
        yield served


def test_the_page_reads_the_kept_lists_and_says_when_they_were_computed(client: TestClient, engine: Engine) -> None:
    workspace_id = rows_workspace(engine)
    with Session(engine) as session:  # the lists of March, kept twelve minutes ago (the last 30 days hold nothing)
        span = leaders.window(session, workspace_id, period="30d", now=END_OF_MARCH)
        march = leaders.leaders(session, workspace_id, span, limit=kept.LIMIT)
    kept.refresh(engine, workspace_id, now=END_OF_MARCH, force=True)
    with Session(engine) as session, session.begin():
        for row in session.scalars(select(KeptList)):
            row.computed_at = utcnow() - timedelta(minutes=12, seconds=5)
    page = lxml_html.fromstring(client.get("/w/acme/members?period=30d").text)
    shown = [int(a) for a in page.xpath("//section[@data-list='ambassadors']//tr/@data-author")]
    assert shown
    assert shown == [p.author_id for p in march.ambassadors]
    assert "12 minutes ago" in " ".join(page.xpath("//p[@class='lede']//text()"))
    french = client.get("/w/acme/members?period=30d", headers={"Accept-Language": "fr"}).text
    assert "il y a 12 minutes" in french


def test_a_period_too_large_to_compute_on_request_waits_for_the_worker(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept, "ON_REQUEST", -1)  # every period and workspace is "large", even empty
    page = client.get("/w/acme/members?period=90d")
    assert page.status_code == 200
    tree = lxml_html.fromstring(page.text)
    assert tree.xpath("//p[@data-list='pending']")
    assert "being computed in the background" in " ".join(tree.xpath("//section[@data-list='suggestions']//text()"))
    kept.refresh(engine, rows_workspace(engine), force=True)  # what the worker does
    tree = lxml_html.fromstring(client.get("/w/acme/members?period=90d").text)
    assert not tree.xpath("//p[@data-list='pending']")
    assert tree.xpath("//section[@data-list='ambassadors']")


def test_the_api_serves_the_kept_lists_graph_and_suggestions_and_503_until_a_worker_kept_them(
    client: TestClient, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace_id = rows_workspace(engine)
    with Session(engine) as session, session.begin():
        token, _ = tokens.create(session, workspace=workspaces.get(session, slug="acme"), name="tests")
    headers = {"Authorization": f"Bearer {token}"}
    asked = ["/api/v1/leaders?period=90d", "/api/v1/leaders/graph?period=90d", "/api/v1/members/suggestions"]
    monkeypatch.setattr(kept, "ON_REQUEST", -1)  # every period and workspace is "large", even empty
    for path in asked:
        answer = client.get(path, headers=headers)
        assert answer.status_code == 503, path
        assert answer.headers["retry-after"] == "60"
        assert answer.json()["error"]["code"] == "unavailable"
    queue = jobs.make_queue(settings, engine)
    assert [name for name, _ in queue.waiting()].count(jobs.LISTS) == 1  # scheduled now, once
    custom = {"since": "2026-01-01T00:00:00Z", "until": "2026-04-01T00:00:00Z"}
    assert client.get("/api/v1/leaders", params=custom, headers=headers).status_code == 200  # dates: computed now
    assert client.get("/api/v1/members/suggestions?limit=500", headers=headers).status_code == 200  # beyond kept
    kept.refresh(engine, workspace_id, now=END_OF_MARCH, force=True)  # what the worker does
    with Session(engine) as session:
        stored = kept.leaders_of(session, workspace_id, "90d")
        suggested = kept.suggestions_of(session, workspace_id, 50)
        drawn = kept.picture_of(session, workspace_id, "90d")
    assert stored is not None
    assert suggested is not None
    assert drawn is not None
    lists = client.get("/api/v1/leaders?period=90d&limit=1", headers=headers).json()
    assert lists["computed_at"] is not None
    for name in ("ambassadors", "detractors", "bridges", "rising"):
        assert [p["id"] for p in lists[name]] == [p.id for p in getattr(stored.value, name)][:1]
    assert lists["people"] == stored.value.people
    served = client.get("/api/v1/members/suggestions", headers=headers).json()
    assert served["computed_at"] is not None
    assert [s["authors"] for s in served["suggestions"]] == [s.authors for s in suggested.value]
    graph = client.get("/api/v1/leaders/graph?period=90d&nodes=2", headers=headers).json()
    assert [n["id"] for n in graph["nodes"]] == [n.id for n in drawn.value.nodes][:2]


def rows_workspace(engine: Engine) -> int:
    with Session(engine) as session:
        found = session.scalar(select(func.min(Message.workspace_id)))
        assert found is not None
        return found


def test_the_clock_queues_the_lists_of_a_workspace_that_changed_and_a_worker_keeps_them(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    worker = jobs.Jobs(sqlite_settings)
    try:
        with Session(worker.engine) as session, session.begin():
            workspace_id = workspaces.create(session, slug="acme").id
        path = tmp_path / "town.jsonl"
        path.write_bytes(b"\n".join(orjson.dumps(r) for r in TOWN))
        import_file(worker.engine, path, workspace="acme")
        assert worker.queue_lists() == [workspace_id]
        assert (jobs.LISTS, (workspace_id,)) in worker.queue.waiting()
        assert worker.queue_lists() == []  # already waiting
        task = worker.queue.huey.dequeue()
        assert task is not None
        assert task.name == jobs.LISTS
        worker.queue.huey.execute(task)
        assert sorted(rows(worker.engine)) == KEPT
        assert worker.queue_lists() == []  # kept, and nothing changed since
    finally:
        worker.engine.dispose()


NAMES = ["Jean-Pierre Durand", "Jean-Pierre", "JP", "JPD", "Jean", "Jea", "Jean P", "Jean P D", "Jean Paul",
         "Marie Curie", "Marie", "Marie Dupont", "Marie Curie", "Mar", "M C", "Ma", "Jo", "Jo Ann", "J",
         "Jean-Paul"]  # fmt: skip


def test_the_keyed_candidates_find_every_name_pair_the_full_comparison_finds(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Session(sqlite_engine) as session, session.begin():
        workspace_id = workspaces.create(session, slug="acme").id
        session.add_all(Author(workspace_id=workspace_id, channel="blog", key=f"k{i}", handle=f"h{i}",
                               display_name=name) for i, name in enumerate(NAMES))  # fmt: skip
    with Session(sqlite_engine) as session:
        people = merges._identities(session, workspace_id)
        found = merges._candidates(people)
        every = {
            (a, b) for a, b in combinations(people, 2) if merges._words(a.name)[0][0] == merges._words(b.name)[0][0]
        }
        assert found <= every
        threads = {p.id: {1, 2} for p in people}  # all in the same conversations: every form counts
        noted_by_keys: list[tuple[int, int, str]] = []
        noted_by_all: list[tuple[int, int, str]] = []
        for pairs, noted in ((sorted(found, key=lambda p: (p[0].id, p[1].id)), noted_by_keys),
                             (sorted(every, key=lambda p: (p[0].id, p[1].id)), noted_by_all)):  # fmt: skip
            for a, b in pairs:
                merges._compare(a, b, threads, _count(people, 0), _count(people, None),
                                lambda x, y, c, why, n=noted: n.append((x.id, y.id, why)))  # fmt: skip
        assert noted_by_keys == noted_by_all
        assert len(noted_by_all) > 10


def _count(people: list[merges.Identity], index: int | None) -> dict[str, int]:
    found: dict[str, int] = {}
    for person in people:
        words = merges._words(person.name)
        key = words[0] if index == 0 else " ".join(words)
        found[key] = found.get(key, 0) + 1
    return found


def test_the_busiest_people_s_counts_are_kept_and_their_page_reads_them(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept, "ON_REQUEST", 2)  # more than two messages: "busy"
    workspace_id = rows_workspace(engine)
    kept.refresh(engine, workspace_id, force=True)
    with Session(engine) as session:
        ana = session.scalar(select(Author).where(Author.handle == "ana_b"))  # merged with "ana": one person
        dana = session.scalar(select(Author).where(Author.handle == "dana"))  # two messages: not busy
        assert ana is not None
        assert dana is not None
        found = kept.member_counts(session, ana)
        assert found is not None
        assert found.value == members.tally(session, [a.id for a in members.identities(session, ana)])
        assert found.value.messages == 4
        assert members.member(session, ana.id, counts=found.value) == members.member(session, ana.id)
        assert kept.member_counts(session, dana) is None
        ana_id, dana_id = ana.id, dana.id
    assert "Counted" in client.get(f"/w/acme/members/{ana_id}").text
    assert "Counted" not in client.get(f"/w/acme/members/{dana_id}").text


def test_a_busy_person_s_page_without_kept_counts_says_they_are_being_counted(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kept, "ON_REQUEST", 2)
    with Session(engine) as session:
        ana = session.scalar(select(Author.id).where(Author.handle == "ana"))
    page = lxml_html.fromstring(client.get(f"/w/acme/members/{ana}").text)
    assert page.xpath("//p[@data-counting]")
    assert page.xpath("//h2[text()='Latest messages']")
    kept.refresh(engine, rows_workspace(engine), force=True)  # what the worker does
    page = lxml_html.fromstring(client.get(f"/w/acme/members/{ana}").text)
    assert not page.xpath("//p[@data-counting]")
    assert "4 messages" in " ".join(page.xpath("//p[@class='lede']//text()"))
