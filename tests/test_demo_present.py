"""The demo runs up to the present, and the Overview names the bucket still running: its last day is no collapse."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine

from accounts_support import demo_served
from pilote.config import Settings
from pilote.web import i18n


@pytest.fixture
def client(sqlite_settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    yield from demo_served(sqlite_settings, sqlite_engine, days=7, seed=3)


def charts(client: TestClient, path: str) -> list[dict[str, object]]:
    page = lxml_html.fromstring(client.get(path).text)
    return [json.loads(spec) for spec in page.xpath("//div[@data-chart]/@data-chart")]


@pytest.mark.parametrize(("language", "words"), [("en", " (so far)"), ("fr", " (en cours)")])
def test_the_overview_names_its_last_bucket_as_still_running(client: TestClient, language: str, words: str) -> None:
    client.cookies.set(i18n.LANGUAGE_COOKIE, language)
    timed = [chart for chart in charts(client, "/w/demo/?period=7d") if chart.get("x")]
    assert timed
    for chart in timed:
        labels = chart["x"]
        assert isinstance(labels, list)
        assert labels[-1].endswith(words)
        assert not any(label.endswith(words) for label in labels[:-1])


def test_a_past_period_has_no_running_bucket(client: TestClient) -> None:
    timed = [c for c in charts(client, "/w/demo/?period=custom&start=2026-01-01&end=2026-01-07") if c.get("x")]
    assert timed
    assert not any(str(label).endswith("(so far)") for chart in timed for label in chart["x"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(("language", "words"), [("en", "partial: up to "), ("fr", "partiel : jusqu’à ")])
def test_the_running_bucket_says_up_to_when_it_counts(client: TestClient, language: str, words: str) -> None:
    client.cookies.set(i18n.LANGUAGE_COOKIE, language)
    for period in ("24h", "7d"):
        timed = [chart for chart in charts(client, f"/w/demo/?period={period}") if chart.get("x")]
        assert timed
        for chart in timed:
            assert str(chart["partial"]).startswith(words)
            assert chart["current"] == len(chart["x"]) - 1  # type: ignore[arg-type]
        previous = next(s for s in timed[0]["series"] if s["key"] == "previous")  # type: ignore[attr-defined]
        assert previous["dashed"]
        assert isinstance(previous["data"][-1], int)  # the period before, cut at the same minute: a number


def test_the_lede_says_how_far_a_running_period_is_compared(client: TestClient) -> None:
    lede = lxml_html.fromstring(client.get("/w/demo/?period=30d").text).xpath("string(//p[@class='lede'])")
    assert "still running" in lede
    past = lxml_html.fromstring(client.get("/w/demo/?period=custom&start=2026-01-01&end=2026-01-07").text)
    assert "still running" not in past.xpath("string(//p[@class='lede'])")
