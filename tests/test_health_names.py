"""The Health page names each metric and its table's columns in the reader's language, never by an identifier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine

from accounts_support import demo_served
from pilote import metrics
from pilote.config import Settings
from pilote.texts import say
from pilote.web import i18n


@pytest.fixture
def served(sqlite_settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    yield from demo_served(sqlite_settings, sqlite_engine, days=14, seed=5)


def test_every_metric_has_a_name_for_pages_translated_in_french() -> None:
    for entry in metrics.CATALOGUE.values():
        assert entry.title, entry.name
        assert entry.title != entry.name
        assert say("fr", entry.title, {}) != entry.title or entry.title == "Concentration (Gini)", entry.title


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_health_page_names_metrics_in_the_reader_s_language(served: TestClient, language: str) -> None:
    served.cookies.set(i18n.LANGUAGE_COOKIE, language)
    page = lxml_html.fromstring(served.get("/w/demo/health?period=7d").text)
    names = {row.get("data-metric"): row.xpath("normalize-space(td[@class='name'])") for row in
             page.xpath("//tr[@data-metric]")}  # fmt: skip
    headings = {h.get("data-metric"): h.xpath("normalize-space(abbr)") for h in page.xpath("//h3[@data-metric]")}
    shown = {**names, **headings}
    assert len(shown) >= len(metrics.CATALOGUE) - 1  # the cohorts have their own section
    for name, text in shown.items():
        assert text == say(language, metrics.CATALOGUE[name].title, {})
        assert name not in text
    expected = {"en": ("Active members", "members"), "fr": ("Membres actifs", "membres")}[language]
    assert names["active_members"] == expected[0]
    assert page.xpath("normalize-space(//tr[@data-metric='active_members']/td[last()])") == expected[1]
    columns = page.xpath("//table[@data-table='response_by_channel']/thead//th/text()")
    assert "median_hours" not in columns
    levels = page.xpath("//table[@data-table='member_levels']/tbody/tr/td[1]/text()")
    assert levels == {"en": ["core", "regular", "participant", "the others"],
                      "fr": ["cœur", "habitué", "participant", "les autres"]}[language]  # fmt: skip
