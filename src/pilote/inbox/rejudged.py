"""Items follow their messages when the analysis judges them again.

A message stored after newer ones changes what the store held before them, and the analysis judges those again
(`enrich.pipeline`, `traces.later`). An item whose messages stopped being spam loses its "spam" reason (and the
low priority that came with it, unless someone chose another), one with a message that became spam gains it, and
an item reads its latest message's probability. Nothing is opened, reopened or moved between statuses: the walk's
cursor is past these messages (`inbox.intake`), and a judgement of an old message is no new work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update

from pilote import community
from pilote.db import begin_write, retry_locked
from pilote.inbox.intake import conversation, item_t, owned, priority_for
from pilote.models import Message, utcnow


def follow(engine: Engine, workspace_id: int, ids: Sequence[int]) -> int:
    """Bring the items of these messages, judged again, in line with them; how many items changed."""
    if not ids:
        return 0
    return retry_locked(lambda: _follow(engine, workspace_id, ids))


def _follow(engine: Engine, workspace_id: int, ids: Sequence[int]) -> int:
    changed = 0
    with begin_write(engine) as conn:
        keys: set[str] = set()
        for start in range(0, len(ids), 900):
            query = select(Message.id, Message.thread_id, Message.author_id).where(
                Message.id.in_(ids[start : start + 900])
            )
            keys |= {conversation(r.thread_id, r.id, r.author_id) for r in conn.execute(query)}
        ordered = sorted(keys)
        for start in range(0, len(ordered), 900):
            query = select(item_t).where(
                item_t.c.workspace_id == workspace_id, item_t.c.key.in_(ordered[start : start + 900])
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()  # a person's change waits, and is not lost to this one
            for item in conn.execute(query).all():
                changed += _refresh(conn, dict(item._mapping))
    return changed


def _refresh(conn: Connection, item: dict[str, Any]) -> int:
    """The item's spam reason, priority and probability as its messages are judged now; 1 if they moved."""
    judged = dict(_messages(conn, item))
    labels = community.labels_of(conn, list(judged), community.DECIDED)
    spam = any(community.spam(labels.get(i, {}), p) for i, p in judged.items())
    old = [r for r in item["reasons"].split(",") if r]
    reasons = [r for r in old if r != "spam"] + (["spam"] if spam else [])
    if not reasons and owned(item["channel"]):
        reasons = ["comment"]  # as the walk says of a comment on the organisation's own media with no other reason
    priority = priority_for(reasons) if item["priority"] == priority_for(old) else item["priority"]
    values = {"reasons": ",".join(reasons)[:200], "priority": priority,
              "spam_probability": judged.get(item["last_message_id"], item["spam_probability"])}  # fmt: skip
    if all(item[k] == v for k, v in values.items()):
        return 0
    conn.execute(update(item_t).where(item_t.c.id == item["id"])
                 .values(values | {"version": item["version"] + 1, "updated_at": utcnow()}))  # fmt: skip
    return 1


def _messages(conn: Connection, item: dict[str, Any]) -> list[tuple[int, float | None]]:
    """The item's messages (its author's in its thread since its first one) and their spam probabilities."""
    first = conn.execute(select(Message.id, Message.thread_id, Message.spam_probability)
                         .where(Message.id == item["first_message_id"])).first()  # fmt: skip
    if first is None or item["author_id"] is None:
        return [(first.id, first.spam_probability)] if first is not None else []
    thread = first.thread_id or first.id
    query = select(Message.id, Message.spam_probability).where(
        Message.author_id == item["author_id"], Message.workspace_id == item["workspace_id"],
        or_(Message.thread_id == thread, Message.id == thread), Message.id >= first.id)  # fmt: skip
    return [(row.id, row.spam_probability) for row in conn.execute(query)]
