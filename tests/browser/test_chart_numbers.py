"""Charts write numbers as the page's language does (ECharts alone writes 12,000 in every language)."""

from __future__ import annotations

from browser_support import Server, Watched
from playwright.sync_api import Page


def formatted(page: Page, value: float) -> list[str]:
    """What each chart of the page writes for a value on its axis and in its tooltip."""
    found: list[str] = page.evaluate(
        """(value) => Array.from(document.querySelectorAll('[data-chart]')).flatMap((el) => {
            const option = window.echarts.getInstanceByDom(el).getOption();
            const axis = (option.yAxis || []).map((y) => y.axisLabel.formatter(value));
            return [...axis, option.tooltip[0].valueFormatter(value)];
        })""",
        value,
    )
    return found


def test_chart_numbers_are_grouped_the_french_way_on_a_french_page(watched_fr: Watched, server: Server) -> None:
    watched_fr.page.goto(server.url + "/w/demo/")
    watched_fr.page.wait_for_load_state("networkidle")
    written = formatted(watched_fr.page, 12000.5)
    assert written
    assert set(written) == {"12\u202f000,5"}


def test_chart_numbers_are_grouped_the_english_way_on_an_english_page(watched: Watched, server: Server) -> None:
    watched.page.goto(server.url + "/w/demo/")
    watched.page.wait_for_load_state("networkidle")
    assert set(formatted(watched.page, 12000.5)) == {"12,000.5"}
