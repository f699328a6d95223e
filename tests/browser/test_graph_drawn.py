"""The Members graph in a real headless Chromium: drawn on a canvas, names and scores on hover, a click opens the
person's page, a hostile name stays text; photographed for the README."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_support import Server, Watched
from playwright.sync_api import Page, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pilote.leaders import kept
from pilote.leaders.picture import Node
from pilote.models import Author, Member, Workspace

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HOSTILE = "<img src=x onerror=\"window.__pwned='graph'\">Eve & co"


def open_graph(page: Page, server: Server) -> Any:
    """The demo's Members page with its graph drawn; the picture the page drew."""
    page.goto(server.url + "/w/demo/members")
    page.wait_for_load_state("networkidle")
    graph = page.locator("section[data-list='graph'] [data-graph]")
    expect(graph).to_have_attribute("data-drawn", re.compile(r"^[0-9]+$"))
    return page.evaluate("(url) => fetch(url).then((r) => r.json())", graph.get_attribute("data-graph"))


def painted(page: Page) -> int:
    """How many of the graph's canvas pixels are painted."""
    count: int = page.evaluate(
        """() => {
            const canvas = document.querySelector('[data-graph] canvas');
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let count = 0;
            for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) { count += 1; } }
            return count;
        }"""
    )
    return count


def place(page: Page, index: int) -> tuple[float, float]:
    """A point of the `index`-th person's disc that no other person's disc covers, in the window's coordinates.

    The smaller people are drawn over the bigger ones (so that none hides), and one may sit over a big one's centre:
    the mouse goes where the person is seen."""
    found: list[float] | None = page.evaluate(
        """(index) => {
            const el = document.querySelector('[data-graph]');
            const chart = window.echarts.getInstanceByDom(el);
            const data = chart.getModel().getSeriesByIndex(0).getData();
            const at = (i) => chart.convertToPixel({ seriesIndex: 0 }, data.getItemLayout(i));
            const radius = (i) => data.getItemVisual(i, 'symbolSize') / 2;
            const [cx, cy] = at(index);
            const others = [];
            for (let i = 0; i < data.count(); i += 1) {
                if (i !== index) { const [x, y] = at(i); others.push([x, y, radius(i) + 1]); }
            }
            const box = el.getBoundingClientRect();
            for (let r = 0; r < radius(index) - 1; r += 1) {
                for (let a = 0; a < 360; a += 15) {
                    const x = cx + r * Math.cos(a * Math.PI / 180), y = cy + r * Math.sin(a * Math.PI / 180);
                    if (others.every(([ox, oy, or]) => Math.hypot(x - ox, y - oy) > or)) {
                        return [box.left + x, box.top + y];
                    }
                }
            }
            return null;
        }""",
        index,
    )
    assert found is not None, f"every point of person {index} is covered by others"
    return found[0], found[1]


def most_influential(server: Server) -> Node:
    with Session(server.engine) as session:
        demo = session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()
        found = kept.picture_of(session, demo, "30d")
    assert found is not None
    assert found.value.nodes
    return found.value.nodes[0]


@pytest.fixture
def hostile_leader(server: Server) -> Iterator[Node]:
    """The demo's most influential person renamed with markup for one test, named back afterwards."""
    first = most_influential(server)
    with Session(server.engine) as session, session.begin():
        author = session.get(Author, first.author_id)
        member = session.get(Member, first.id) if first.id > 0 else None
        assert author is not None
        names = (author.display_name, member.display_name if member else None)
        author.display_name = HOSTILE
        if member is not None:
            member.display_name = HOSTILE
    try:
        yield first
    finally:
        with Session(server.engine) as session, session.begin():
            session.execute(update(Author).where(Author.id == first.author_id).values(display_name=names[0]))
            if first.id > 0:
                session.execute(update(Member).where(Member.id == first.id).values(display_name=names[1]))


def test_the_graph_is_drawn_with_its_people_and_photographed(watched: Watched, server: Server) -> None:
    page = watched.page
    picture = open_graph(page, server)
    shown = page.locator("[data-graph]").get_attribute("data-drawn")
    assert int(shown or 0) == len(picture["nodes"]) > 50
    assert picture["edges"]
    drawn = page.evaluate(
        "() => window.echarts.getInstanceByDom(document.querySelector('[data-graph]')).getOption().series[0].data"
    )
    assert [n["person"]["id"] for n in drawn] == [n["id"] for n in picture["nodes"]]
    assert painted(page) > 5_000
    expect(page.locator("section[data-list='graph'] p.muted").first).to_contain_text("people of the period")
    page.locator("section[data-list='graph']").scroll_into_view_if_needed()
    page.evaluate("() => document.querySelector('section[data-list=\"graph\"]').scrollIntoView()")
    page.screenshot(path=SCREENSHOTS / "members-graph.png")


def test_hovering_a_person_shows_their_name_and_scores_and_a_click_opens_their_page(
    watched: Watched, server: Server
) -> None:
    page = watched.page
    picture = open_graph(page, server)
    first = picture["nodes"][0]
    page.locator("[data-graph]").scroll_into_view_if_needed()
    x, y = place(page, 0)
    page.mouse.move(x, y)
    tip = page.locator("[data-graph] div").filter(has_text="Influence").last
    expect(tip).to_be_visible()
    expect(tip).to_contain_text(first["name"])
    expect(tip).to_contain_text(f"Messages in the period: {first['messages']}")
    page.mouse.click(x, y)
    page.wait_for_url(re.compile(rf"/w/demo/members/{first['author_id']}$"))
    expect(page.locator("main h1")).to_be_visible()


def test_a_hostile_name_in_the_graph_runs_nothing_and_shows_as_text(
    watched: Watched, server: Server, hostile_leader: Node
) -> None:
    page = watched.page
    picture = open_graph(page, server)
    assert picture["nodes"][0]["name"] == HOSTILE
    page.locator("[data-graph]").scroll_into_view_if_needed()
    x, y = place(page, 0)
    page.mouse.move(x, y)
    tip = page.locator("[data-graph] div").filter(has_text="Influence").last
    expect(tip).to_contain_text(HOSTILE)
    assert page.locator("[data-graph] img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_the_graph_speaks_french(watched_fr: Watched, server: Server) -> None:
    page = watched_fr.page
    open_graph(page, server)
    expect(page.locator("section[data-list='graph'] h2")).to_have_text("Qui parle à qui")
    page.locator("[data-graph]").scroll_into_view_if_needed()
    x, y = place(page, 0)
    page.mouse.move(x, y)
    expect(page.locator("[data-graph] div").filter(has_text="Influence").last).to_contain_text("Messages de la période")
