"""The Health page: the catalogue's values for a period beside the period before, its heatmap and its CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from babel.numbers import format_decimal
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from accounts_support import sign_in
from pilote import metrics, rollups
from pilote.config import Settings
from pilote.metrics import Figure
from pilote.models import Workspace
from pilote.simulate import simulate
from pilote.web.app import create_app
from pilote.web.pages.health import decile, row


@pytest.fixture
def served(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """Three weeks of a small demo community ending today, read by an analyst (SQLite and PostgreSQL)."""
    simulate(engine, workspace="demo", days=21, members=50, seed=5)
    with engine.begin() as conn:
        rollups.rebuild(conn, conn.scalar(select(Workspace.id).where(Workspace.slug == "demo")))
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client, email="analyst@example.org", role="analyst", workspace="demo")
        yield client


def report_of(client: TestClient, page: lxml_html.HtmlElement) -> metrics.Report:
    """metrics.report for the span the page says it shows."""
    shown = page.xpath("//table[@data-since]")[0]
    since, until = datetime.fromisoformat(shown.get("data-since")), datetime.fromisoformat(shown.get("data-until"))
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        space = session.scalars(select(Workspace).where(Workspace.slug == "demo")).one()
        return metrics.report(session, space.id, since, until)


def test_an_analyst_sees_every_metric_of_the_catalogue_with_the_values_of_the_report(served: TestClient) -> None:
    response = served.get("/w/demo/health?period=7d")
    assert response.status_code == 200
    page = lxml_html.fromstring(response.text)
    expected = report_of(served, page)
    assert [g for g in page.xpath("//section/@data-group")] == [
        "engagement", "response", "members", "conversation", "sentiment", "charts", "retention"]  # fmt: skip
    shown = set(page.xpath("//tr[@data-metric]/@data-metric")) | set(page.xpath("//h3[@data-metric]/@data-metric"))
    assert shown | {"retention_cohorts"} == set(metrics.CATALOGUE)
    numbers = 0
    for figure in expected.figures:
        cells = page.xpath(f"//tr[@data-metric='{figure.name}']")
        if not cells or not isinstance(figure.value, int | float):
            continue
        numbers += 1
        value = cells[0].xpath("string(td[contains(@class, 'value')])").strip()
        assert value == format_decimal(figure.value, locale="en")
        if isinstance(figure.previous, int | float):
            previous = cells[0].xpath("string(td[contains(@class, 'previous')])").strip()
            assert previous == format_decimal(figure.previous, locale="en")
    assert numbers >= 10
    assert 'href="/w/demo/health"' in response.text  # the nav link
    assert page.xpath("//a[@aria-current='page']/text()") == ["Health"]


def test_a_null_value_says_why_it_was_not_computed(served: TestClient) -> None:
    page = lxml_html.fromstring(served.get("/w/demo/health").text)
    voice = page.xpath("//tr[@data-metric='share_of_voice']")[0]  # no competitor keywords set
    assert "not computed" in voice.xpath("string(.//span[contains(@class, 'note')])")


def test_the_retention_heatmap_shades_cells_by_decile_without_inline_style(served: TestClient) -> None:
    page = lxml_html.fromstring(served.get("/w/demo/health?period=30d").text)
    rows = page.xpath("//table[@class='heat']/tbody/tr")
    assert rows
    shaded = page.xpath("//table[@class='heat']//td[starts-with(@class, 'n h')]")
    assert shaded
    for cell in shaded:
        share = float(cell.text_content().strip().rstrip("%").replace(",", ""))
        assert cell.get("class") == f"n h{decile(share)}"
    assert not page.xpath("//*[@style]")
    assert [decile(v) for v in (0.0, 9.99, 10.0, 55.0, 100.0)] == [0, 0, 1, 5, 9]


def test_a_change_is_coloured_by_what_is_good_and_small_bases_are_differences() -> None:
    more_waiting = row(Figure("first_response_median", "hours", 30.0, 25.0, "lower"))
    more_members = row(Figure("active_members", "members", 12, 4, "higher"))
    levels = row(Figure("posts", "messages", 40, 30, "neither"))
    assert (more_waiting.tone, more_waiting.change) == ("bad", 0.2)
    assert (more_members.tone, more_members.moved, more_members.change) == ("good", 8.0, None)  # 4 is too few
    assert levels.tone == ""


def test_the_csv_holds_the_metrics_of_the_page(served: TestClient) -> None:
    page = lxml_html.fromstring(served.get("/w/demo/health?period=7d").text)
    assert page.xpath("//a[@href='/w/demo/health.csv?period=7d']")
    response = served.get("/w/demo/health.csv?period=7d")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == ["name", "value", "previous", "unit"]
    expected = {f.name: f for f in report_of(served, page).figures}
    for found in rows:
        figure = expected[found["name"]]
        assert found["value"] == ("" if figure.value is None else str(figure.value))
        assert found["unit"] == figure.unit
    assert {"active_members", "response_rate", "gini"} <= {found["name"] for found in rows}


def test_the_french_page_speaks_french(served: TestClient) -> None:
    french = served.get("/w/demo/health", headers={"Accept-Language": "fr"}).text
    page = lxml_html.fromstring(french)
    assert page.xpath("//a[@aria-current='page']/text()") == ["Santé"]
    assert "Membres" in page.xpath("//section[@data-group='members']/h2/text()")
    assert "Télécharger en CSV" in french


def test_a_period_the_page_does_not_offer_is_refused_in_plain_words(served: TestClient) -> None:
    response = served.get("/w/demo/health?period=3d")
    assert response.status_code == 422
    assert "7d, 30d or 90d" in response.text


def csv_rows(client: TestClient, page: lxml_html.HtmlElement) -> dict[str, dict[str, str]]:
    link = page.xpath("//a[@data-csv]/@href")[0]
    return {row["name"]: row for row in csv.DictReader(io.StringIO(client.get(link).text))}


def test_any_two_periods_compare_with_a_channel_and_the_csv_keeps_them(served: TestClient) -> None:
    today = datetime.now(UTC).date()
    day = {n: str(today - timedelta(days=n)) for n in (0, 6, 17, 20)}
    channel = lxml_html.fromstring(served.get("/w/demo/health").text).xpath("//select[@name='channel']/option/@value")[
        1
    ]
    asked = {"since": day[6], "until": day[0], "channel": channel, "against_since": day[20], "against_until": day[17]}
    page = lxml_html.fromstring(served.get("/w/demo/health", params=asked).text)
    start = datetime.combine(today - timedelta(days=6), datetime.min.time(), UTC)
    other = datetime.combine(today - timedelta(days=20), datetime.min.time(), UTC)
    engine: Engine = served.app.state.engine  # type: ignore[attr-defined]
    with Session(engine) as session:
        space = session.scalars(select(Workspace).where(Workspace.slug == "demo")).one()
        now = metrics.report(session, space.id, start, start + timedelta(days=7), focus=metrics.Focus(channel))
        then = metrics.report(session, space.id, other, other + timedelta(days=4), focus=metrics.Focus(channel))
        everyone = {
            f.name: f.value for f in metrics.report(session, space.id, start, start + timedelta(days=7)).figures
        }
    values = {f.name: f.value for f in now.figures}
    before = {f.name: f.value for f in then.figures}
    assert 0 < values["active_members"] < everyone["active_members"]  # the channel narrowed it
    row = page.xpath("//tr[@data-metric='active_members']")[0]
    shown = [row.xpath(f"string(td[contains(@class, '{cell}')])").strip() for cell in ("value", "previous")]
    assert shown == [
        format_decimal(values["active_members"], locale="en"),
        format_decimal(before["active_members"], locale="en"),
    ]
    assert page.xpath("//select[@name='channel']/option[@selected]/@value") == [channel]
    found = csv_rows(served, page)
    for name in ("active_members", "posts", "comments_per_post"):
        assert found[name]["value"] == ("" if values[name] is None else str(values[name]))
        assert found[name]["previous"] == ("" if before[name] is None else str(before[name]))


def test_a_half_given_comparison_is_refused_in_plain_words(served: TestClient) -> None:
    response = served.get("/w/demo/health", params={"since": "2026-01-01", "until": "2026-01-07",
                                                    "against_since": "2025-12-01"})  # fmt: skip
    assert response.status_code == 422
    assert "YYYY-MM-DD" in response.text


def test_the_charts_show_levels_and_active_members_and_offer_a_png(served: TestClient) -> None:
    page = lxml_html.fromstring(served.get("/w/demo/health?period=7d").text)
    figures = {f.name: f for f in report_of(served, page).figures}
    levels = json.loads(page.xpath("//div[@data-png='pilote-demo-member-levels']/@data-chart")[0])
    assert levels["x"] == ["core", "regular", "participant", "the others"]
    assert [s["data"] for s in levels["series"]] == [
        [figures["member_levels"].value[k] for k in "1234"],
        [figures["member_levels"].previous[k] for k in "1234"],
    ]
    active = json.loads(page.xpath("//div[@data-png='pilote-demo-active-members']/@data-chart")[0])
    assert active["series"][0]["data"][0] == figures["daily_active_members"].value
    assert page.xpath("/html/@data-png") == ["Download as PNG"]  # the toolbox's words (pilote.js)
    assert "/static/vendor/echarts.min.js" in page.xpath("//script/@src")
    french = lxml_html.fromstring(served.get("/w/demo/health", headers={"Accept-Language": "fr"}).text)
    assert french.xpath("/html/@data-png") == ["Télécharger en PNG"]
