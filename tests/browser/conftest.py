"""Browser tests: a real server on a store filled by the simulator, Debian's headless Chromium, Playwright."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import Server, Watched, check, fill, open_page, serving
from playwright.sync_api import Browser, Playwright, sync_playwright

from pilote.config import get_settings
from pilote.db import make_engine, migrate

CHROMIUM = Path(os.environ.get("PILOTE_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The cockpit on a SQLite store holding the demo community and the hostile corpus."""
    home = tmp_path_factory.mktemp("browser-home")
    settings = get_settings(home=home, database_url=None)
    engine = make_engine(settings)
    migrate(engine)
    fill(engine, home)
    with serving(settings, engine) as running:
        yield running
    engine.dispose()


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's chromium, headless (Playwright cannot download its own browsers here)."""
    if not CHROMIUM.exists():
        message = f"no chromium at {CHROMIUM}: apt-get install chromium (or set PILOTE_CHROMIUM)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
    yield browser
    browser.close()


@pytest.fixture
def watched(browser: Browser, server: Server) -> Iterator[Watched]:
    """A page whose browser asks for English; the test fails if anything went wrong in it."""
    watched = open_page(browser, server)
    yield watched
    check(watched)


@pytest.fixture
def watched_fr(browser: Browser, server: Server) -> Iterator[Watched]:
    """A page whose browser asks for French."""
    watched = open_page(browser, server, locale="fr-FR")
    yield watched
    check(watched)
