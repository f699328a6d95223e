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
