"""Answering in a real headless Chromium: a moderator picks a saved reply whose variables are filled for the item,
sends it through WordPress (a local peer replaying WordPress's recorded answers) and sees it sent and the item done;
on a channel that cannot post, the same composer copies the answer and records "I answered"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser_support import PASSWORD, Server, Watched, check, open_page, serving
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from api_peer import ApiPeer
from factories import item as make_item
from factories import target
from inbox_support import COMMENTS, held_comment, open_item, wordpress_blog, wp_answer
from pilote import workspaces
from pilote.accounts import sessions, users
from pilote.accounts.audit import Actor
from pilote.config import get_settings
from pilote.db import make_engine, migrate
from pilote.inbox import replies
from pilote.ingest import Target
from pilote.models import InboxItem

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
MODERATOR = "dominique@example.org"


@dataclass
class Velo:
    """The cockpit serving the workspace, and its WordPress blog."""

    server: Server
    blog: Target


@pytest.fixture
def velo(tmp_path: Path, api_peer: ApiPeer) -> Iterator[Velo]:
    """A cockpit whose workspace has a WordPress blog (the peer) and a channel that cannot post, a moderator, and a
    shared saved reply that names the author."""
    settings = get_settings(home=tmp_path, database_url=None).model_copy(update={"sync_private_addresses": True})
    engine = make_engine(settings)
    migrate(engine)
    with Session(engine) as session, session.begin():
        space = workspaces.create(session, slug="velo", name="Vélo")
        manager = users.create(session, email="camille@example.org", password=PASSWORD, role="admin")
        users.create(session, email=MODERATOR, password=PASSWORD, display_name="Dominique", role="moderator",
                     workspace=space)  # fmt: skip
        session.flush()
        draft = replies.Draft("merci", "Thanks", "Thank you {{author.name}}, we are on it.", shared=True)
        replies.create(session, space.id, draft, Actor(manager.email, user_id=manager.id), "admin")
    blog = wordpress_blog(engine, settings, api_peer)
    with serving(settings, engine) as running:
        yield Velo(running, blog)
    engine.dispose()


def as_moderator(browser: Browser, server: Server) -> Watched:
    watched = open_page(browser, server, signed_in=False)
    with Session(server.engine) as session, session.begin():
        cookie = sessions.sign_in(session, sessions.Attempt(MODERATOR, PASSWORD, "127.0.0.1"))
    assert cookie is not None
    watched.page.context.add_cookies([{"name": sessions.COOKIE, "value": cookie, "url": server.url}])
    return watched


def status_of(server: Server, item_id: int) -> str:
    with Session(server.engine) as session:
        return session.get_one(InboxItem, item_id).status


def test_a_moderator_answers_with_a_saved_reply_through_wordpress(
    browser: Browser, velo: Velo, api_peer: ApiPeer
) -> None:
    server = velo.server
    api_peer.on("POST", COMMENTS, wp_answer("reply"))
    item_id = open_item(server.engine, velo.blog, held_comment())
    watched = as_moderator(browser, server)
    page = watched.page
    page.goto(f"{server.url}/w/velo/inbox/{item_id}")
    composer = page.locator(f"#composer-{item_id}")
    composer.get_by_label("Saved reply").select_option(label="/merci · Thanks")
    expect(composer.get_by_label("Your answer")).to_have_value("Thank you Marc, we are on it.")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "inbox-answer.png")
    composer.get_by_role("button", name="Send through WordPress").click()
    expect(page.locator(f"#composer-{item_id} .outbox-sent")).to_contain_text("Thank you Marc, we are on it.")
    expect(page.locator(f"#composer-{item_id} .outbox-sent .badge")).to_have_text("sent")
    [posted] = api_peer.calls("POST", COMMENTS)
    assert posted.json()["content"] == "Thank you Marc, we are on it."
    assert status_of(server, item_id) == "done"
    page.reload()
    expect(page.locator("[data-field=status]")).to_have_text("done")
    check(watched)


def test_on_a_channel_that_cannot_post_the_moderator_copies_the_answer_and_says_so(
    browser: Browser, velo: Velo
) -> None:
    server = velo.server
    where = target(server.engine, slug="velo")
    message = make_item("c1", "When will it ship?", author="marc")
    message.url = "https://forum.example.org/t/1#c1"
    item_id = open_item(server.engine, where, message)
    watched = as_moderator(browser, server)
    page = watched.page
    page.goto(f"{server.url}/w/velo/inbox/{item_id}")
    composer = page.locator(f"#composer-{item_id}")
    composer.get_by_label("Saved reply").select_option(label="/merci · Thanks")
    expect(composer.get_by_label("Your answer")).to_have_value("Thank you marc, we are on it.")
    link = composer.get_by_role("link", name="Copy and open blog.example.org")
    expect(link).to_have_attribute("href", "https://forum.example.org/t/1#c1")
    composer.get_by_role("button", name="I answered").click()
    expect(page.locator(f"#composer-{item_id} .outbox-copied .badge")).to_have_text("answered by hand")
    assert status_of(server, item_id) == "done"
    check(watched)
