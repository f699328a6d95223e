"""The Members graph: who answered, mentioned or quoted whom, with places computed by the server, served as JSON
to the page (kept by a worker) and by the API (computed on request)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from accounts_support import sign_in
from pilote import leaders, tokens, workspaces
from pilote.config import Settings
from pilote.leaders import kept
from pilote.leaders.graph import interactions
from pilote.leaders.picture import MAX_NODES, SIZE
from pilote.leaders.scores import measure
from pilote.models import Author
from pilote.web.app import create_app
from test_leaders import names, town  # noqa: F401 (the fixture)

END_OF_MARCH = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
HOSTILE = '<img src=x onerror="alert(1)">Eve & "co"'
# The town of March, worked out by hand in test_leaders: (who, whom) → replies + mentions + quotes.
EDGES = {("ana", "brand"): 1, ("carl", "brand"): 1, ("bob", "ana"): 2, ("carl", "ana"): 1, ("dana", "ana"): 1,
         ("ana", "bob"): 1, ("eve", "bob"): 1, ("ana", "eve"): 1, ("brand", "carl"): 1, ("dana", "bob"): 1}  # fmt: skip
# Messages of the 30 days up to 31 March 13:00 (the brand's post of 1 March 10:00 is before; spam left out).
MESSAGES = {"ana": 3, "bob": 2, "carl": 2, "dana": 1, "eve": 1, "brand": 1}


@pytest.fixture
def kept_town(engine: Engine, town: int) -> int:  # noqa: F811
    """The town, Eve renamed with markup, its lists and graph kept as a worker keeps them at the end of March."""
    with Session(engine) as session, session.begin():
        session.execute(update(Author).where(Author.handle == "eve").values(display_name=HOSTILE))
    assert kept.refresh(engine, town, now=END_OF_MARCH, force=True)
    return town


@pytest.fixture
def client(settings: Settings, engine: Engine, kept_town: int) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as served:
        yield served


handle_of = names  # node → handle (Ana's member, of two identities, is named by her first)


def graph(client: TestClient, **params: Any) -> Any:
    answer = client.get("/w/acme/members/graph.json", params={"period": "30d", **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    return answer.json()


def test_the_graph_holds_every_person_and_edge_of_the_period_worked_out_by_hand(
    client: TestClient, engine: Engine, kept_town: int
) -> None:
    sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
    found = graph(client)
    who = handle_of(engine)
    assert (found["people"], found["pairs"]) == (6, 10)
    assert {(who[e["source"]], who[e["target"]]): e["weight"] for e in found["edges"]} == EDGES
    nodes = {who[n["id"]]: n for n in found["nodes"]}
    assert {name: n["messages"] for name, n in nodes.items()} == MESSAGES
    assert nodes["ana"]["lists"] == ["ambassadors"]
    assert nodes["bob"]["lists"] == ["detractors", "rising"]
    assert [name for name, n in nodes.items() if n["team"]] == ["brand"]
    assert nodes["brand"]["lists"] == []  # the team is drawn, and in no list
    with Session(engine) as session:
        author = {handle: i for handle, i in session.execute(select(Author.handle, Author.id))}
    assert nodes["ana"]["author_id"] == author["ana"]  # a member opens at their first identity
    assert nodes["bob"]["author_id"] == author["bob"] == -nodes["bob"]["id"]
    # Most influential first, as the lists measure influence; every place inside the square.
    influence = [n["influence"] for n in found["nodes"]]
    assert influence == sorted(influence, reverse=True)
    assert all(0 <= n["x"] <= SIZE and 0 <= n["y"] <= SIZE for n in found["nodes"])
    assert found["computed_at"].startswith("2026-03-31T12:00")


def test_the_communities_are_those_of_the_measures_and_add_up(
    client: TestClient, engine: Engine, kept_town: int
) -> None:
    sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
    found = graph(client)
    with Session(engine) as session:
        span = leaders.window(session, kept_town, period="30d", now=END_OF_MARCH)
        measured = measure(interactions(session, kept_town, span.since, span.until).weights())
    assert {n["id"]: n["community"] for n in found["nodes"]} == {
        node: s.community for node, s in measured.scores.items()
    }
    sizes = Counter(n["community"] for n in found["nodes"])
    assert [sizes[rank] for rank in range(len(sizes))] == found["communities"]  # numbered by size, all shown
    assert sum(found["communities"]) == found["people"]


def test_the_picture_is_the_same_at_each_reload_and_the_same_as_the_api_computes(
    client: TestClient, engine: Engine, kept_town: int
) -> None:
    sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
    first = graph(client)
    kept.refresh(engine, kept_town, now=END_OF_MARCH, force=True)  # computed again: the same places
    assert graph(client) == first
    with Session(engine) as session, session.begin():
        span = leaders.window(session, kept_town, period="30d", now=END_OF_MARCH)
        token, _ = tokens.create(session, workspace=workspaces.get(session, slug="acme"), name="tests")
    asked = {"since": span.since.isoformat(), "until": span.until.isoformat()}
    served = client.get("/api/v1/leaders/graph", params=asked, headers={"Authorization": f"Bearer {token}"})
    assert served.status_code == 200, served.text
    assert {**served.json(), "computed_at": first["computed_at"]} == first
    assert (
        client.get("/api/v1/leaders/graph", params=asked, headers={"Authorization": "Bearer nope"}).status_code == 401
    )
    spec = client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"}).json()
    assert "/api/v1/leaders/graph" in spec["paths"]


def test_at_most_the_nodes_asked_for_the_most_influential_and_the_edges_among_them(
    client: TestClient, engine: Engine
) -> None:
    sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
    whole = graph(client)
    three = graph(client, nodes=3)
    assert three["nodes"] == whole["nodes"][:3]  # in the same places: the picture does not move
    ids = {n["id"] for n in three["nodes"]}
    assert three["edges"] == [e for e in whole["edges"] if e["source"] in ids and e["target"] in ids]
    assert client.get("/w/acme/members/graph.json", params={"nodes": MAX_NODES + 1}).status_code == 422
    assert client.get("/w/acme/members/graph.json", params={"nodes": 0}).status_code == 422
    assert client.get("/w/acme/members/graph.json", params={"period": "1y"}).status_code == 422


def test_a_hostile_name_is_kept_as_text_in_the_json_and_never_as_markup_in_the_page(
    client: TestClient, engine: Engine
) -> None:
    sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
    who = handle_of(engine)
    (eve,) = [n for n in graph(client)["nodes"] if who[n["id"]] == "eve"]
    assert eve["name"] == HOSTILE
    page = client.get("/w/acme/members?period=30d").text
    assert "<img src=x" not in page
    assert not lxml_html.fromstring(page).xpath("//img")


def test_the_page_offers_the_graph_in_both_languages_and_says_when_a_period_has_nothing(
    client: TestClient,
) -> None:
    sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
    page = lxml_html.fromstring(client.get("/w/acme/members?period=30d").text)
    (drawn,) = page.xpath("//section[@data-list='graph']//div[@data-graph]")
    assert drawn.get("data-graph") == "/w/acme/members/graph.json?period=30d"
    assert drawn.get("data-member") == "/w/acme/members/"
    assert page.xpath("//script[@src='/static/vendor/echarts.min.js']")
    french = lxml_html.fromstring(client.get("/w/acme/members?period=30d", headers={"Accept-Language": "fr"}).text)
    assert "Qui parle à qui" in " ".join(french.xpath("//section[@data-list='graph']/h2/text()"))
    # The last 7 days of March hold nothing: an empty graph, and the page says why instead of drawing.
    assert graph(client, period="7d")["nodes"] == []
    week = lxml_html.fromstring(client.get("/w/acme/members?period=7d").text)
    assert not week.xpath("//div[@data-graph]")
    assert "Nobody answered, mentioned or quoted anyone in this period: there is no graph to draw." in week.xpath(
        "//section[@data-list='graph']//p[@class='empty']/text()"
    )


def test_signed_out_or_from_another_workspace_the_graph_is_refused(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    signed_out = client.get("/w/acme/members/graph.json", follow_redirects=False)
    assert signed_out.status_code in (303, 401)
    assert "nodes" not in signed_out.text
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="other")
    sign_in(client, email="stranger@example.org", role="admin", workspace="other")
    assert client.get("/w/acme/members/graph.json", follow_redirects=False).status_code in (403, 404)


def test_a_graph_not_kept_yet_of_a_large_period_waits_for_the_worker(
    settings: Settings,
    engine: Engine,
    town: int,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kept, "ON_REQUEST", -1)  # every period is "large", even empty
    with TestClient(create_app(settings, engine)) as served:
        sign_in(served, email="analyst@example.org", role="analyst", workspace="acme")
        answer = served.get("/w/acme/members/graph.json", params={"period": "90d"})
        assert (answer.status_code, answer.json()) == (202, {"pending": True})
        kept.refresh(engine, town, force=True)
        answer = served.get("/w/acme/members/graph.json", params={"period": "90d"})
        assert answer.status_code == 200
        assert answer.json()["nodes"] == []  # the last 90 days hold nothing: an empty graph, not an error
        assert (datetime.now(UTC) - datetime.fromisoformat(answer.json()["until"])) < timedelta(hours=1)
