"""Accounts in a real headless Chromium: the first admin on a new store, signing out and back in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import Server, check, open_page, serving
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.config import get_settings
from pilote.db import make_engine, migrate

PASSWORD = "twelve letters at least"


@pytest.fixture
def new_store(tmp_path: Path) -> Iterator[Server]:
    """A cockpit on a store with one empty workspace and no account yet."""
    settings = get_settings(home=tmp_path / "home", database_url=None)
    engine = make_engine(settings)
    migrate(engine)
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="acme", name="Acme")
    with serving(settings, engine) as running:
        yield running
    engine.dispose()


def test_the_first_admin_signs_up_saves_a_search_signs_out_and_back_in(browser: Browser, new_store: Server) -> None:
    watched = open_page(browser, new_store, signed_in=False)
    page = watched.page
    page.goto(new_store.url + "/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Name shown to the team").fill("Ada")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    expect(page).to_have_url(re.compile(r"/w/acme/$"))
    expect(page.locator("header .who")).to_have_text("Ada")

    page.goto(new_store.url + "/w/acme/explorer")  # a plain form: the script adds the session's token as it is sent
    page.locator("form[action$='/saved'] input[name='name']").fill("everything")
    page.locator("form[action$='/saved'] button[type='submit']").click()
    expect(page.get_by_role("link", name="everything")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    page.goto(new_store.url + "/w/acme/explorer")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("E-mail").fill("ada@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/w/acme/explorer$"))  # back where the login interrupted
    check(watched)
