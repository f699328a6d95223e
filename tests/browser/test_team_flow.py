"""The Team page in a real headless Chromium: an admin adds a moderator, who chooses a password with the link and is
then refused the Team page, in French; screenshots of the Team and My account pages for the docs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_support import Server, check, open_page, serving
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.accounts import users
from pilote.config import get_settings
from pilote.db import make_engine, migrate

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ADMIN, ADMIN_PASSWORD = "ada@example.org", "the admin's long password"
MODERATOR_PASSWORD = "the moderator's long password"


@pytest.fixture
def team_store(tmp_path: Path) -> Iterator[Server]:
    """A cockpit without e-mail on a store with the workspace acme, its admin Ada and an analyst, Bob."""
    settings = get_settings(home=tmp_path / "home", database_url=None)
    engine = make_engine(settings)
    migrate(engine)
    with Session(engine) as session, session.begin():
        acme = workspaces.create(session, slug="acme", name="Acme")
        users.create(session, email=ADMIN, password=ADMIN_PASSWORD, display_name="Ada Lovelace", workspace=acme)
        users.create(session, email="bob@example.org", password=ADMIN_PASSWORD, display_name="Bob", role="analyst",
                     workspace=acme)  # fmt: skip
    with serving(settings, engine) as running:
        yield running
    engine.dispose()


def sign_in(page: Page, server: Server, email: str, password: str) -> None:
    """Through the login form, by its fields' names (its labels are in the browser's language)."""
    page.goto(server.url + "/login")
    page.locator("input[name='email']").fill(email)
    page.locator("input[name='password']").fill(password)
    page.locator("form[action='/login'] button[type='submit']").click()
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_an_admin_adds_a_moderator_who_is_then_refused_the_team_page_in_french(
    browser: Browser, team_store: Server
) -> None:
    admin = open_page(browser, team_store, signed_in=False)
    page = admin.page
    sign_in(page, team_store, ADMIN, ADMIN_PASSWORD)
    page.get_by_role("link", name="Team").click()
    expect(page).to_have_url(re.compile(r"/w/acme/team$"))
    page.get_by_label("E-mail").fill("chloe@example.org")
    page.get_by_label("Name shown to the team").fill("Chloé <Modératrice>")
    page.locator("form[action='/w/acme/team'] select[name='role']").select_option("moderator")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Chloé <Modératrice> is in the team.")
    link = page.locator("#set-password-link").input_value()
    assert re.fullmatch(re.escape(team_store.url) + r"/password/reset\?token=[\w-]+", link)
    expect(page.locator("tr", has_text="chloe@example.org")).to_contain_text("has not signed in yet")
    page.screenshot(path=SCREENSHOTS / "team.png")

    moderator = open_page(browser, team_store, locale="fr-FR", signed_in=False)
    chloe = moderator.page
    chloe.goto(link)
    expect(chloe.get_by_role("heading", level=1)).to_have_text("Choisir un nouveau mot de passe")
    chloe.locator("input[name='password']").fill(MODERATOR_PASSWORD)
    chloe.locator("input[name='confirm']").fill(MODERATOR_PASSWORD)
    chloe.locator("form[action='/password/reset'] button[type='submit']").click()
    expect(chloe).to_have_url(re.compile(r"/login\?done=reset$"))
    sign_in(chloe, team_store, "chloe@example.org", MODERATOR_PASSWORD)
    expect(chloe.locator("header nav")).not_to_contain_text("Équipe")  # no link to what she may not open
    expect(chloe.locator("header .who")).to_have_text("Chloé <Modératrice>")
    response = chloe.goto(team_store.url + "/w/acme/team")
    assert response is not None
    assert response.status == 403
    expect(chloe.get_by_role("heading", level=1)).to_have_text("Réservé à d’autres rôles")
    expect(chloe.locator("main")).to_contain_text("Cette page demande le rôle admin dans cet espace")
    chloe.screenshot(path=SCREENSHOTS / "team-denied-fr.png")
    # The browser reports the refusal itself in its console; nothing else may have gone wrong.
    assert moderator.errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
    moderator.errors.clear()
    check(moderator)

    page.goto(team_store.url + "/w/acme/team")  # the admin now sees her signed in
    expect(page.locator("tr", has_text="chloe@example.org")).to_contain_text("active")
    page.get_by_role("link", name="Ada Lovelace").click()
    expect(page).to_have_url(re.compile(r"/account$"))
    page.get_by_label("What it is for").fill("weekly report script")
    page.locator("form[action='/account/tokens'] select[name='role']").select_option("analyst")
    page.get_by_role("button", name="Create a token").click()
    expect(page.locator("#new-token")).to_have_value(re.compile(r"^plt_"))
    page.screenshot(path=SCREENSHOTS / "account.png")
    check(admin)
