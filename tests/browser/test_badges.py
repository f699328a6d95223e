"""Badges that say how sure they are, in a real browser: a percentage on each model's judgement, its exact value
on hover, in English and in French."""

from __future__ import annotations

import re

from browser_support import Server, Watched
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.models import Message, Workspace


def _analysed_thread(server: Server) -> str:
    """A demo thread whose root the sentiment model judged."""
    with Session(server.engine) as session:
        demo = session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()
        root = session.scalars(
            select(Message.id)
            .where(Message.workspace_id == demo, Message.parent_id.is_(None), Message.sentiment.is_not(None))
            .order_by(Message.id)
            .limit(1)
        ).one()
    return f"/w/demo/threads/{root}"


def test_judgement_badges_show_the_models_confidence(watched: Watched, watched_fr: Watched, server: Server) -> None:
    path = _analysed_thread(server)
    watched.page.goto(server.url + path)
    badge = watched.page.locator("article.message .badges span.badge", has_text="sentiment:").first
    expect(badge).to_have_text(re.compile(r"^sentiment: (positive|neutral|negative) · \d+%( · unsure)?$"))
    expect(badge).to_have_attribute("title", re.compile(r"^the model is \d+(\.\d+)?% sure$"))
    watched_fr.page.goto(server.url + path)
    french = watched_fr.page.locator("article.message .badges span.badge", has_text="sentiment").first
    expect(french).to_have_text(re.compile(r"^sentiment: (positif|neutre|négatif) · \d+\s%( · incertain)?$"))
    expect(french).to_have_attribute("title", re.compile(r"^le modèle en est sûr à \d+(,\d+)?\s%$"))
