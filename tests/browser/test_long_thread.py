"""A real long conversation in a real browser: the 1,428 comments of one Reddit thread, shown a part at a time."""

from __future__ import annotations

from pathlib import Path

from browser_support import ADMIN, PASSWORD, check, open_page, serving
from playwright.sync_api import Browser, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.accounts import users
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.imports import import_file
from pilote.models import Message
from pilote.views.threads import PART

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEEP = "c367fxl"  # a reply 8 levels down, the 355th message in reading order

# The thread's post is not in the export: a row of ours stands for it, so that the comments hang under one root.
POST = "id,parent_id,link_id,author,created_utc,score,subreddit,body\n" + (
    "n49rw,,t3_n49rw,announcer,1323313000.0,1,announcements,The announcement these comments answer\n"
)


def test_a_long_thread_loads_its_next_part_and_opens_deep_at_a_reply(
    browser: Browser, shared: Path, tmp_path: Path
) -> None:
    settings = get_settings(home=tmp_path / "home", database_url=None)
    engine = make_engine(settings)
    migrate(engine)
    (tmp_path / "post.csv").write_text(POST, encoding="utf-8")
    import_file(engine, tmp_path / "post.csv")
    import_file(engine, shared / "reddit" / "announcements_n49rw_comments.csv")
    with Session(engine) as session, session.begin():
        users.create(session, email=ADMIN, password=PASSWORD, display_name="Camille")
    with Session(engine) as session:
        root = session.scalars(select(Message.id).where(Message.external_id == "n49rw")).one()
        deepest = session.scalars(select(Message.id).where(Message.external_id == DEEP)).one()
    with serving(settings, engine) as server:
        watched = open_page(browser, server)
        page = watched.page
        page.goto(f"{server.url}/w/default/threads/{root}")
        expect(page.locator("main h1")).to_have_text("The announcement these comments answer")
        expect(page.locator("section.thread article.message")).to_have_count(PART)
        page.get_by_role("link", name="Show the next replies").click()
        expect(page.locator("section.thread article.message")).to_have_count(2 * PART)
        ids = page.locator("section.thread article.message").evaluate_all("(all) => all.map((a) => a.dataset.message)")
        assert len(set(ids)) == 2 * PART
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=SCREENSHOTS / "thread-long.png")
        page.goto(f"{server.url}/w/default/threads/{deepest}")
        focus = page.locator("div.focus article.message")
        expect(focus).to_have_attribute("data-message", str(deepest))
        expect(page.locator("div.focus")).to_have_attribute("data-depth", "8")
        expect(page.locator("div.context")).to_have_count(8)
        expect(page.get_by_role("link", name="Read from the start")).to_be_visible()
        focus.scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / "thread-deep.png")
        check(watched)
    engine.dispose()
