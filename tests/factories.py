"""Small builders for tests: items, workspaces and sources without ceremony."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.ingest import Target, write_batch
from pilote.intake import open_source as ensure_source
from pilote.models import Enrichment, Message
from pilote.sources.base import AuthorRef, Counters, Item, SourceInfo

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def item(
    external_id: str,
    text: str = "bonjour",
    *,
    parent: str | None = None,
    thread: str | None = None,
    minutes: int = 0,
    author: str | None = "alice",
    likes: int | None = None,
    labels: tuple[tuple[str, str], ...] = (),
) -> Item:
    """An item whose raw payload reflects every field, as a real importer's would."""
    raw = f"{external_id}|{text}|{parent}|{thread}|{minutes}|{author}|{likes}|{labels}"
    return Item(
        external_id=external_id, kind="reply" if parent else "post", created_at=T0 + timedelta(minutes=minutes),
        raw=raw, text=text, parent_external_id=parent, thread_external_id=thread,
        author=AuthorRef(key=f"user:{author}", handle=author) if author else None,
        counters=Counters(likes=likes) if likes is not None else None, labels=labels,
    )  # fmt: skip


def target(engine: Engine, slug: str = "acme", key: str = "blog.example.org") -> Target:
    """A workspace and a source to write into."""
    with Session(engine, expire_on_commit=False) as session, session.begin():
        found = [w for w in workspaces.get_all(session) if w.slug == slug]
        space = found[0] if found else workspaces.create(session, slug=slug)
        info = SourceInfo(kind="test", key=key, name=key, channel=f"blog:{key}")
        source = ensure_source(session, space.id, info)
    return Target(workspace_id=space.id, source_id=source.id, channel=info.channel)


def mutate(data: bytes, action: str, offset: int, noise: bytes) -> bytes:
    """A damaged copy: truncated, with bytes inserted, deleted or flipped, or re-encoded as Latin-1."""
    out = bytearray(data)
    offset %= max(len(out), 1)
    if action == "truncate":
        del out[offset:]
    elif action == "insert":
        out[offset:offset] = noise
    elif action == "delete":
        del out[offset : offset + len(noise)]
    elif action == "flip" and out:
        out[offset] ^= noise[0]
    elif action == "latin1":
        out = bytearray(data.decode("utf-8").encode("latin-1", "replace"))
    return bytes(out)


def analysed(
    engine: Engine, where: Target, items: Iterable[Item], now: datetime, **judged: dict[str, Any]
) -> dict[str, int]:
    """Write items, give them judgements (external id → message columns) and mark every message analysed at `now`
    (what the inbox's intake waits for); the messages' ids by external id."""
    with engine.begin() as conn:
        write_batch(conn, where, list(items))
    with Session(engine) as session, session.begin():
        ids = {e: i for e, i in session.execute(select(Message.external_id, Message.id))}
        for external_id, columns in judged.items():
            session.execute(update(Message).where(Message.id == ids[external_id]).values(**columns))
        done = set(session.scalars(select(Enrichment.message_id)))
        fresh = [{"message_id": i, "versions": "{}", "value": None, "updated_at": now} for i in ids.values()
                 if i not in done]  # fmt: skip
        if fresh:
            session.execute(insert(Enrichment), fresh)
    return ids
