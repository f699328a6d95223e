"""What the browser tests share: a cockpit served by uvicorn in a thread, and pages that record trouble."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote import enrich, workspaces
from pilote.accounts import sessions, users
from pilote.config import Settings
from pilote.enrich.pipeline import run as enrich_run
from pilote.imports import import_file
from pilote.models import Workspace
from pilote.simulate import simulate
from pilote.web.app import create_app
from xss_corpus import write_corpus

ANALYZERS = ["language", "keyphrases", "sentiment", "spam", "toxicity", "intent"]
TIMEZONE = "Europe/Paris"
VIEWPORT = {"width": 1280, "height": 900}  # every screenshot has this size
ADMIN = "camille@example.org"
PASSWORD = "a long enough browser password"


@dataclass
class Server:
    """A running cockpit: its address and store."""

    url: str
    engine: Engine
    settings: Settings


def fill(engine: Engine, folder: Path) -> None:
    """A small demo community ending today, every analyzer run; and a workspace of hostile messages."""
    simulate(engine, workspace="demo", days=20, members=300, seed=1)
    with Session(engine) as session:
        demo = session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()
        workspaces.create(session, slug="hostile", name="Hostile <b>content</b>")
        session.commit()
    enrich_run(engine, enrich.get(ANALYZERS), workspace_id=demo, workers=1)
    import_file(engine, write_corpus(folder / "hostile.jsonl"), workspace="hostile")
    with Session(engine) as session, session.begin():
        users.create(session, email=ADMIN, password=PASSWORD, display_name="Camille")


def session_cookie(engine: Engine) -> str:
    """A new session of the admin, whose language is left to the browser (a test may have chosen one)."""
    with Session(engine) as session, session.begin():
        admin = users.get(session, email=ADMIN)
        users.set_language(session, user=admin, language=None)
        cookie = sessions.sign_in(session, sessions.Attempt(ADMIN, PASSWORD, "127.0.0.1"))
    assert cookie is not None
    return cookie


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(settings: Settings, engine: Engine) -> Iterator[Server]:
    """uvicorn serving the cockpit in a thread on a free port of this machine, until the block ends."""
    port = _free_port()
    runner = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not started.wait(0.05):
        if runner.started:
            started.set()
        elif not thread.is_alive():
            raise RuntimeError("the cockpit's server did not start")
    try:
        yield Server(url=f"http://127.0.0.1:{port}", engine=engine, settings=settings)
    finally:
        runner.should_exit = True
        thread.join(timeout=10)


@dataclass
class Watched:
    """A browser page with everything that went wrong in it: console errors, dialogs, requests elsewhere."""

    page: Page
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)


def open_page(
    browser: Browser, server: Server, *, locale: str = "en-GB", zone_cookie: bool = True, signed_in: bool = True
) -> Watched:
    """A fresh browser context (cold cache) whose trouble is recorded, signed in as the admin unless told not to.

    Our script sets a time zone cookie on a first visit and reloads once; the cookie is set beforehand
    unless `zone_cookie` is False, so that tests act on a page that stays put.
    """
    context = browser.new_context(viewport=VIEWPORT, locale=locale, timezone_id=TIMEZONE, accept_downloads=True)
    if zone_cookie:
        context.add_cookies([{"name": "pilote_tz", "value": TIMEZONE, "url": server.url}])
    if signed_in:
        context.add_cookies([{"name": sessions.COOKIE, "value": session_cookie(server.engine), "url": server.url}])
    watched = Watched(page=context.new_page())

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watched.errors.append(message.text)

    def on_dialog(dialog: Dialog) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    def on_request(url: str) -> None:
        if not url.startswith((server.url + "/", "data:")):
            watched.elsewhere.append(url)

    watched.page.on("console", on_console)
    watched.page.on("pageerror", lambda error: watched.errors.append(str(error)))
    watched.page.on("dialog", on_dialog)
    watched.page.on("request", lambda request: on_request(request.url))
    return watched


def check(watched: Watched) -> None:
    """Close the page; nothing may have gone wrong in it."""
    watched.page.context.close()
    assert watched.errors == []
    assert watched.dialogs == []
    assert watched.elsewhere == []
