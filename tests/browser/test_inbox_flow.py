"""The inbox in a real headless Chromium: triage with the keyboard only, assigning, two people on one item (each
sees the other, and the change the other made), and the screenshots of the inbox and of an open item."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import ADMIN, PASSWORD, Server, Watched, check, open_page
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.accounts import sessions, users
from pilote.inbox import intake
from pilote.models import InboxItem, User

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TEAMMATE = "dominique@example.org"
LIVE = 20_000  # ms: the pages poll the changes feed every few seconds


@pytest.fixture(scope="module")
def inbox(server: Server) -> Server:
    """The demo's messages of the last two weeks taken into the inbox, and a moderator besides the admin."""
    with Session(server.engine) as session, session.begin():
        space = workspaces.get(session, slug="demo")
        if session.scalar(select(User.id).where(User.email == TEAMMATE)) is None:
            users.create(session, email=TEAMMATE, password=PASSWORD, display_name="Dominique", role="moderator",
                         workspace=space)  # fmt: skip
        space_id = space.id
    intake.take_new(server.engine, space_id)
    return server


def as_teammate(browser: Browser, server: Server) -> Watched:
    """A second browser, signed in as Dominique."""
    watched = open_page(browser, server, signed_in=False)
    with Session(server.engine) as session, session.begin():
        cookie = sessions.sign_in(session, sessions.Attempt(TEAMMATE, PASSWORD, "127.0.0.1"))
    assert cookie is not None
    watched.page.context.add_cookies([{"name": sessions.COOKIE, "value": cookie, "url": server.url}])
    return watched


def statuses(server: Server, ids: list[int]) -> dict[int, tuple[str, int | None]]:
    with Session(server.engine) as session:
        rows = session.execute(
            select(InboxItem.id, InboxItem.status, InboxItem.assignee_id).where(InboxItem.id.in_(ids))
        )
        return {ident: (status, assignee) for ident, status, assignee in rows}


def selected(page: Page) -> str | None:
    return page.locator("li.inbox-row.selected").get_attribute("data-item")


def test_ten_items_are_triaged_with_the_keyboard_only(watched: Watched, inbox: Server) -> None:
    page = watched.page
    page.goto(inbox.url + "/w/demo/inbox?status=new&sort=oldest")
    rows = page.locator("li.inbox-row")
    expect(rows.nth(10)).to_be_attached()
    ids = [int(rows.nth(n).get_attribute("data-item") or 0) for n in range(10)]
    keys = "easeaseaes"  # done, mine, spam...
    for n, key in enumerate(keys):
        assert selected(page) == str(ids[n])
        page.keyboard.press(key)
        expect(page.locator(f"#item-{ids[n]} .badge.status")).to_have_text({"e": "done", "a": "open", "s": "spam"}[key])
        page.keyboard.press("j")
    page.keyboard.press("k")
    assert selected(page) == str(ids[9])
    with Session(inbox.engine) as session:
        camille = users.get(session, email=ADMIN).id
    found = statuses(inbox, ids)
    for ident, key in zip(ids, keys, strict=True):
        assert found[ident] == {"e": ("done", None), "a": ("open", camille), "s": ("spam", None)}[key]
    page.locator("body").press("?")
    expect(page.get_by_role("dialog")).to_contain_text("next / previous item")
    page.keyboard.press("Escape")
    page.get_by_label("Tag", exact=True).first.focus()
    page.keyboard.press("j")  # typing in a field: no shortcut
    assert selected(page) == str(ids[9])
    page.keyboard.press("Escape")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/w/demo/inbox/{ids[8]}$"))
    page.keyboard.press("u")
    expect(page).to_have_url(re.compile(r"/w/demo/inbox\?status=new&sort=oldest$"))


def test_an_item_is_assigned_to_a_teammate_and_photographed(watched: Watched, inbox: Server) -> None:
    page = watched.page
    page.goto(inbox.url + "/w/demo/inbox")
    expect(page.locator("li.inbox-row").first).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "inbox.png")
    page.locator("li.inbox-row a.open").first.click()
    expect(page.locator("#inbox-panel")).to_be_visible()
    page.locator("select[data-assign]").select_option(label="Dominique")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.locator("[data-field=assignee]")).to_have_text("to Dominique")
    expect(page.locator(".history")).to_contain_text("assigned to Dominique")
    page.screenshot(path=SCREENSHOTS / "inbox-item.png")


def test_two_people_on_one_item_see_each_other_and_each_other_s_changes(
    browser: Browser, watched: Watched, inbox: Server
) -> None:
    first = watched.page
    first.goto(inbox.url + "/w/demo/inbox?status=new")
    item = first.locator("li.inbox-row").first.get_attribute("data-item")
    first.goto(inbox.url + f"/w/demo/inbox/{item}")
    expect(first.locator("#inbox-panel")).to_be_visible()
    second = as_teammate(browser, inbox)
    second.page.goto(inbox.url + f"/w/demo/inbox/{item}")
    expect(second.page.locator("#inbox-presence")).to_have_text("Camille is on this item too")
    expect(first.locator("#inbox-presence")).to_have_text("Dominique is on this item too", timeout=LIVE)
    second.page.locator("#inbox-panel").get_by_role("button", name="Done").click()
    expect(second.page.locator("[data-field=status]")).to_have_text("done")
    expect(first.locator("#inbox-live")).to_have_text("Dominique changed this item", timeout=LIVE)
    expect(first.locator("[data-field=status]")).to_have_text("done", timeout=LIVE)
    first.keyboard.press("a")  # acting on the fresh version: no conflict
    expect(first.locator("[data-field=assignee]")).to_have_text("to Camille")
    check(second)
