"""What people do to inbox items: status (snoozes included), assignee, priority, tags, notes, spam or not.

Every change bumps the item's `version` and writes an `inbox_event` (who, what, before, after) and one audit
entry per action, in the caller's transaction. A change made from a page that showed an older version of one
item is refused (Conflict), so that two people working on the same item see each other's decisions instead of
overwriting them. Bulk actions apply to what is there now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from pilote.accounts import audit
from pilote.accounts.audit import Actor
from pilote.errors import Conflict, Invalid, NotFound
from pilote.inbox import PRIORITIES, STATUSES, TODO, sla
from pilote.models import InboxEvent, InboxItem, InboxNote, InboxPresence, InboxTag, Membership, Message, User, utcnow
from pilote.texts import N_
from pilote.views import explorer

MAX_BULK = 1000
MAX_NOTE = 10_000
TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_éèêàâîïôûùç")
PRESENCE = timedelta(seconds=60)  # someone who looked within this time still has the item open


COMMAND_LINE = audit.CLI


def get(session: Session, workspace_id: int, item_id: int) -> InboxItem:
    """An item of this workspace, or NotFound."""
    item = session.get(InboxItem, item_id)
    if item is None or item.workspace_id != workspace_id:
        raise NotFound(N_("no inbox item %(id)s in this workspace"), id=item_id)
    return item


def _items(session: Session, workspace_id: int, ids: Sequence[int], version: int | None) -> list[InboxItem]:
    if not ids:
        raise Invalid(N_("choose at least one item"))
    if len(ids) > MAX_BULK:
        raise Invalid(N_("%(count)s items: act on %(most)s at most at once"), count=len(ids), most=MAX_BULK)
    found = list(session.scalars(
        select(InboxItem).where(InboxItem.workspace_id == workspace_id, InboxItem.id.in_(sorted(set(ids))))
        .order_by(InboxItem.id).with_for_update()
    ))  # fmt: skip
    if len(found) != len(set(ids)):
        missing = sorted(set(ids) - {item.id for item in found})
        raise NotFound(N_("no inbox item %(id)s in this workspace"), id=", ".join(map(str, missing[:5])))
    if version is not None and len(found) == 1 and found[0].version != version:
        raise Conflict(N_("item %(id)s was changed meanwhile (version %(version)s, you saw %(seen)s): reload it and "
                          "decide again"), id=found[0].id, version=found[0].version, seen=version)  # fmt: skip
    return found


def _changed(session: Session, actor: Actor, items: Sequence[InboxItem], kind: str,
             before: dict[int, Any], after: dict[int, Any]) -> list[int]:  # fmt: skip
    """Record what changed: events for the items whose value moved, their version, and one audit entry."""
    now = utcnow()
    moved = [item for item in items if before[item.id] != after[item.id]]
    for item in moved:
        item.version += 1
        item.updated_at = now
        old, new = orjson.dumps(before[item.id]).decode(), orjson.dumps(after[item.id]).decode()
        session.add(InboxEvent(workspace_id=item.workspace_id, item_id=item.id, user_id=actor.user_id, kind=kind,
                               before=old, after=new, at=now))  # fmt: skip
    if moved:
        audit.record(session, actor=actor.name, action=f"inbox {kind}",
                     target="inbox items " + ", ".join(str(item.id) for item in moved[:50]),
                     workspace_id=moved[0].workspace_id,
                     before={str(i.id): before[i.id] for i in moved[:50]},
                     after={str(i.id): after[i.id] for i in moved[:50]}, address=actor.address)  # fmt: skip
    return [item.id for item in moved]


def set_status(
    session: Session,
    workspace_id: int,
    ids: Sequence[int],
    status: str,
    actor: Actor,
    *,
    until: datetime | None = None,
    until_reply: bool = False,
    version: int | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Move items to a status; `snoozed` needs `until` (a later time) or `until_reply` (the author's next
    message), or both. Reopening an item (new, open) makes a response due again. Returns the items changed."""
    if status not in STATUSES:
        raise Invalid(N_("status %(status)r: use one of %(known)s"), status=status, known=", ".join(STATUSES))
    now = now or utcnow()
    if status == "snoozed":
        if until is None and not until_reply:
            raise Invalid(N_("snooze until a date, or until the author writes again"))
        if until is not None and until <= now:
            raise Invalid(N_("snooze until a later time"))
    items = _items(session, workspace_id, ids, version)
    policy = sla.get(session, workspace_id)
    before = {i.id: {"status": i.status} for i in items}
    for item in items:
        if item.status == status and status != "snoozed":
            continue
        item.status = status
        item.snoozed_until = until if status == "snoozed" else None
        item.until_reply = until_reply if status == "snoozed" else False
        if status in ("done", "spam", "ignored"):
            item.resolved_at, item.due_at = now, None
        elif status in TODO:
            item.resolved_at = None
            if item.due_at is None:
                item.due_at = policy.due(item.channel, item.priority, now)
    after = {i.id: {"status": i.status} | ({"until": until.isoformat()} if until and i.status == "snoozed" else {})
             for i in items}  # fmt: skip
    return _changed(session, actor, items, "status", before, after)


def assign(session: Session, workspace_id: int, ids: Sequence[int], assignee: int | None, actor: Actor, *,
           version: int | None = None) -> list[int]:  # fmt: skip
    """Give items to a person with a role in the workspace (None: to nobody). A new item becomes open."""
    if assignee is not None:
        user = session.get(User, assignee)
        role = session.scalar(select(Membership.role).where(Membership.user_id == assignee,
                                                            Membership.workspace_id == workspace_id))  # fmt: skip
        if user is None or user.disabled_at is not None or (role is None and not user.instance_admin):
            raise Invalid(N_("account %(id)s cannot take items in this workspace"), id=assignee)
        if role == "analyst":
            raise Invalid(N_("%(name)s is an analyst here: analysts read, they do not answer"), name=user.display_name)
    items = _items(session, workspace_id, ids, version)
    before = {i.id: {"assignee": i.assignee_id} for i in items}
    for item in items:
        item.assignee_id = assignee
        if assignee is not None and item.status == "new":
            item.status = "open"
    return _changed(session, actor, items, "assign", before, {i.id: {"assignee": i.assignee_id} for i in items})


def set_priority(session: Session, workspace_id: int, ids: Sequence[int], priority: int | str, actor: Actor, *,
                 version: int | None = None) -> list[int]:  # fmt: skip
    """Set items' priority (0–3 or low/normal/high/urgent); an open item's due time follows it."""
    names = {name: number for number, name in PRIORITIES.items()}
    value = names.get(priority) if isinstance(priority, str) else priority
    if value not in PRIORITIES:
        raise Invalid(N_("priority %(priority)r: use one of %(known)s"), priority=priority, known=", ".join(names))
    items = _items(session, workspace_id, ids, version)
    policy = sla.get(session, workspace_id)
    before = {i.id: {"priority": i.priority} for i in items}
    for item in items:
        item.priority = value
        if item.status in TODO and item.responded_at is None:
            item.due_at = policy.due(item.channel, value, item.opened_at)
    return _changed(session, actor, items, "priority", before, {i.id: {"priority": i.priority} for i in items})


def clean_tag(tag: str) -> str:
    """A tag as stored: lower case, words joined by dashes, 64 characters at most."""
    value = "-".join(tag.strip().lower().split())
    if not value or len(value) > 64 or not set(value) <= TAG_CHARS:
        raise Invalid(N_("tag %(tag)r: use letters, digits and dashes (64 at most)"), tag=tag[:80])
    return value


def tag(session: Session, workspace_id: int, ids: Sequence[int], tags: Sequence[str], actor: Actor, *,
        remove: bool = False, version: int | None = None) -> list[int]:  # fmt: skip
    """Add tags to items (or take them off)."""
    wanted = sorted({clean_tag(t) for t in tags})
    if not wanted:
        raise Invalid(N_("give a tag"))
    items = _items(session, workspace_id, ids, version)
    current = tags_of(session, [i.id for i in items])
    before = {i.id: {"tags": current.get(i.id, [])} for i in items}
    after: dict[int, Any] = {}
    for item in items:
        have = set(current.get(item.id, []))
        now = have - set(wanted) if remove else have | set(wanted)
        if remove:
            session.execute(delete(InboxTag).where(InboxTag.item_id == item.id, InboxTag.tag.in_(wanted)))
        else:
            session.add_all(InboxTag(item_id=item.id, tag=t) for t in sorted(set(wanted) - have))
        after[item.id] = {"tags": sorted(now)}
    return _changed(session, actor, items, "tag", before, after)


def tags_of(session: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    """The tags of these items, sorted."""
    found: dict[int, list[str]] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        rows = session.execute(select(InboxTag.item_id, InboxTag.tag).where(InboxTag.item_id.in_(chunk))
                               .order_by(InboxTag.item_id, InboxTag.tag))  # fmt: skip
        for item_id, value in rows:
            found.setdefault(item_id, []).append(value)
    return found


def note(session: Session, workspace_id: int, item_id: int, text: str, actor: Actor) -> InboxNote:
    """An internal note on an item (plain text, shown escaped; never sent)."""
    body = text.strip()
    if not body:
        raise Invalid(N_("a note needs a text"))
    if len(body) > MAX_NOTE:
        raise Invalid(N_("a note of %(count)s characters: keep it under %(most)s"), count=len(body), most=MAX_NOTE)
    (item,) = _items(session, workspace_id, [item_id], None)
    row = InboxNote(item_id=item.id, user_id=actor.user_id, text=body)
    session.add(row)
    _changed(session, actor, [item], "note", {item.id: None}, {item.id: {"note": "added"}})
    return row


def judge_spam(session: Session, workspace_id: int, ids: Sequence[int], is_spam: bool, actor: Actor, *,
               version: int | None = None) -> list[int]:  # fmt: skip
    """Spam or not: a person's label on each of the item's messages (it wins over the model and trains it),
    and the item moves to spam, or back to open."""
    items = _items(session, workspace_id, ids, version)
    for item in items:
        for message_id in messages_of(session, item):
            explorer.label(session, message_id, "spam", "spam" if is_spam else "ham", created_by=actor.name)
    if is_spam:
        return set_status(session, workspace_id, [i.id for i in items], "spam", actor)
    back = [i.id for i in items if i.status == "spam"]
    reasons = {i.id: i.reasons for i in items}
    for item in items:
        item.reasons = ",".join(r for r in reasons[item.id].split(",") if r and r != "spam")
    return set_status(session, workspace_id, back, "open", actor) if back else []


def judge(session: Session, workspace_id: int, ids: Sequence[int], name: str, value: str, actor: Actor, *,
          version: int | None = None) -> list[int]:  # fmt: skip
    """A person's sentiment or intent for items: a label on each one's latest message (it wins over the model and
    trains the workspace's head, `pilote models train --workspace W`), and the item shows it."""
    if name not in ("sentiment", "intent"):
        raise Invalid(N_("judge %(name)r: sentiment or intent (spam has its own action)"), name=name)
    items = _items(session, workspace_id, ids, version)
    before = {i.id: {name: getattr(i, name)} for i in items}
    for item in items:
        explorer.label(session, item.last_message_id or item.first_message_id, name, value, created_by=actor.name)
        setattr(item, name, value)
    return _changed(session, actor, items, name, before, {i.id: {name: value} for i in items})


def messages_of(session: Session, item: InboxItem) -> list[int]:
    """The item's messages: its author's in its thread (the one message when it has no author), oldest first."""
    first = session.get_one(Message, item.first_message_id)
    if item.author_id is None:
        return [first.id]
    thread = first.thread_id or first.id
    query = (
        select(Message.id)
        .where(Message.author_id == item.author_id, Message.workspace_id == item.workspace_id,
               (Message.thread_id == thread) | (Message.id == thread), Message.id >= first.id)
        .order_by(Message.created_at, Message.id)
    )  # fmt: skip
    return list(session.scalars(query))


def wake(session: Session, workspace_id: int, now: datetime | None = None) -> int:
    """Snoozes whose time has come: those items are open again, with a response due."""
    now = now or utcnow()
    ids = list(session.scalars(select(InboxItem.id).where(
        InboxItem.workspace_id == workspace_id, InboxItem.status == "snoozed", InboxItem.snoozed_until.is_not(None),
        InboxItem.snoozed_until <= now)))  # fmt: skip
    for start in range(0, len(ids), MAX_BULK):
        set_status(session, workspace_id, ids[start : start + MAX_BULK], "open", Actor("pilote"), now=now)
    return len(ids)


def seen(session: Session, item: InboxItem, user_id: int, now: datetime | None = None) -> list[int]:
    """Note that a person has the item open; returns the others who have it open too."""
    now = now or utcnow()
    row = session.get(InboxPresence, (item.id, user_id))
    if row is None:
        session.add(InboxPresence(item_id=item.id, user_id=user_id, seen_at=now))
    else:
        row.seen_at = now
    others = session.scalars(select(InboxPresence.user_id).where(
        InboxPresence.item_id == item.id, InboxPresence.user_id != user_id, InboxPresence.seen_at >= now - PRESENCE
    ))  # fmt: skip
    return sorted(others)


def left(session: Session, item_id: int, user_id: int) -> None:
    """The person closed the item."""
    session.execute(delete(InboxPresence).where(InboxPresence.item_id == item_id, InboxPresence.user_id == user_id))


def touch_answered(session: Session, item: InboxItem, actor: Actor, at: datetime | None = None) -> None:
    """The team answered from Pilote: the first response is noted (with who gave it) and the item is done."""
    at = at or utcnow()
    before = {item.id: {"status": item.status, "answered": False}}
    if item.responded_at is None:
        item.responded_at, item.responder_id = at, actor.user_id
    item.status, item.resolved_at, item.due_at = "done", at, None
    item.snoozed_until, item.until_reply = None, False
    _changed(session, actor, [item], "answered", before, {item.id: {"status": "done", "answered": True}})


def history(session: Session, item_id: int) -> list[InboxEvent]:
    """An item's events, oldest first."""
    return list(session.scalars(select(InboxEvent).where(InboxEvent.item_id == item_id).order_by(InboxEvent.id)))


def wake_all(engine: Engine, now: datetime | None = None) -> int:
    """Wake the snoozes whose time has come in every workspace (the clock's turn)."""
    now = now or utcnow()
    with Session(engine) as session, session.begin():
        spaces = list(session.scalars(select(InboxItem.workspace_id).distinct().where(
            InboxItem.status == "snoozed", InboxItem.snoozed_until <= now)))  # fmt: skip
        return sum(wake(session, workspace_id, now) for workspace_id in spaces)
