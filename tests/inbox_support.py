"""What the answering tests share (test_inbox_replies.py on both databases, browser/test_answer_flow.py in
Chromium): an inbox item opened for a message, a platform source in workspace `velo`, a WordPress blog on the local
peer and one of its recorded comments, and WordPress's recorded answers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api_peer import Answer, ApiPeer, recorded
from pilote import intake, platforms, workspaces
from pilote.config import Settings
from pilote.ingest import Target
from pilote.models import InboxItem, Message
from pilote.sources.base import Item
from pilote.sources.wordpress_json import comment_item

RECORDINGS = Path(__file__).resolve().parent / "recordings"
COMMENTS = "/wp-json/wp/v2/comments"
APPLICATION_PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"  # an invented one


def rec(name: str) -> Any:
    """A recorded answer of a platform, e.g. `wordpress/reply`."""
    return recorded(RECORDINGS / f"{name}.json")


def wp_answer(name: str) -> Answer:
    """WordPress's recorded answer, for the local peer to replay."""
    found = rec(f"wordpress/{name}")
    return Answer(found["body"], found["status"], found["headers"])


def open_item(engine: Engine, where: Target, message: Item) -> int:
    """The message written to the source, and an inbox item for it (as the inbox's intake opens one)."""
    intake.write(engine, where, [message], batch_size=10)
    with Session(engine) as session, session.begin():
        found = session.scalars(select(Message).where(Message.source_id == where.source_id,
                                                      Message.external_id == message.external_id)).one()  # fmt: skip
        row = InboxItem(workspace_id=where.workspace_id, key=f"{found.id}:{found.author_id}", source_id=where.source_id,
                        first_message_id=found.id, last_message_id=found.id, author_id=found.author_id,
                        channel=where.channel, status="new", opened_at=found.created_at, last_at=found.created_at,
                        due_at=found.created_at + timedelta(hours=4))  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def platform(engine: Engine, settings: Settings, kind: str, values: dict[str, str]) -> Target:
    """A platform source in workspace `velo` (created if missing)."""
    with Session(engine) as session, session.begin():
        if not [w for w in workspaces.get_all(session) if w.slug == "velo"]:
            workspaces.create(session, slug="velo")
        source = platforms.add(session, settings, workspace="velo", kind=kind, values=values)
        return Target(workspace_id=source.workspace_id, source_id=source.id, channel=source.channel)


def wordpress_blog(engine: Engine, settings: Settings, peer: ApiPeer) -> Target:
    """Workspace `velo`'s WordPress blog, served by the local peer."""
    values = {"site": peer.base, "user": "claire-m", "application_password": APPLICATION_PASSWORD}
    return platform(engine, settings, "wordpress", values)


def held_comment() -> Item:
    """Marc's comment, held for moderation on the blog (recorded)."""
    held = comment_item(rec("wordpress/comments-1")["body"][0], "test")
    assert isinstance(held, Item)
    return held


def wordpress_item(engine: Engine, settings: Settings, peer: ApiPeer) -> int:
    """An inbox item for Marc's comment on the WordPress blog."""
    return open_item(engine, wordpress_blog(engine, settings, peer), held_comment())
