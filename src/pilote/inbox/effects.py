"""What inbox rules read of a batch of new messages, and what their actions do to items.

Everything a batch needs is read once, in a few queries (the texts when a rule has keywords, the authors' levels
when a rule asks for them, who may take items, how many open items each has): no query per message. The actions
change the item's row before the intake writes it; tags, events and notifications are written afterwards, in
the same transaction, once the new items have ids (`Effects.write`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, func, insert, literal, select

from pilote.accounts.users import ROLES
from pilote.inbox import CLOSED, PRIORITIES, TODO, sla
from pilote.inbox.conditions import Action, Facts, fold
from pilote.models import (
    AlertRecipient,
    Author,
    Delivery,
    InboxEvent,
    InboxItem,
    InboxTag,
    Membership,
    Message,
    User,
    Workspace,
)

TOP_MESSAGES = 20  # an author with this many messages or more in the workspace over TOP_DAYS is a "top" author
TOP_DAYS = 90
TAKERS = ROLES[ROLES.index("moderator") :]  # who a rule may give items to


@dataclass(frozen=True, slots=True)
class Seen:
    """An author's first message time and recent volume, for the author level conditions."""

    first: datetime | None
    top: bool


def levels(conn: Connection, rows: Sequence[Any], *, top: bool = True) -> dict[int, Seen]:
    """For the authors of these rows (author_id, created_at): their first message, and (with `top`) whether they
    wrote TOP_MESSAGES in the TOP_DAYS before the newest row. One query per 900 authors, each answered from the
    index on (author, time) with a few steps per author, however much they wrote."""
    authors = sorted({r.author_id for r in rows if r.author_id is not None})
    if not authors:
        return {}
    newest = max(r.created_at for r in rows)
    first = select(func.min(Message.created_at)).where(Message.author_id == Author.id).scalar_subquery()
    # their TOP_MESSAGES-th latest message up to the newest row: a top author's is within TOP_DAYS of it
    nth = (select(Message.created_at).where(Message.author_id == Author.id, Message.created_at <= newest)
           .order_by(Message.created_at.desc()).offset(TOP_MESSAGES - 1).limit(1).scalar_subquery())  # fmt: skip
    since = newest - timedelta(days=TOP_DAYS)
    found: dict[int, Seen] = {}
    for start in range(0, len(authors), 900):
        query = select(Author.id, first, nth if top else literal(None)).where(
            Author.id.in_(authors[start : start + 900])
        )
        found.update(
            {a: Seen(at, bool(top and back is not None and back > since)) for a, at, back in conn.execute(query)}
        )
    return found


def level_of(row: Any, known: dict[int, Seen]) -> frozenset[str]:
    """`new` (no earlier message in the workspace) or `returning`, and `top` for the most active."""
    author = known.get(row.author_id) if row.author_id is not None else None
    if author is None:
        return frozenset()
    found = {"new" if author.first is None or row.created_at <= author.first else "returning"}
    if author.top:
        found.add("top")
    return frozenset(found)


def texts(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    """Title and text of these messages, folded for the keyword conditions."""
    found: dict[int, str] = {}
    for start in range(0, len(ids), 900):
        query = select(Message.id, Message.title, Message.text).where(Message.id.in_(ids[start : start + 900]))
        found.update({i: fold(f"{title or ''} {text or ''}") for i, title, text in conn.execute(query)})
    return found


def facts_of(row: Any, reasons: frozenset[str], text: str = "", levels: frozenset[str] = frozenset()) -> Facts:
    """What the conditions read of a message (a row with the intake's columns)."""
    return Facts(row.channel, row.source_id, row.language, row.sentiment, row.intent, row.kind, reasons,
                 row.spam_probability, row.toxicity_probability, levels, text)  # fmt: skip


@dataclass(slots=True)
class Takers:
    """Who may take items in the workspace (moderators and above), and how many open items each holds."""

    allowed: set[int]
    load: dict[int, int]

    @classmethod
    def read(cls, conn: Connection, workspace_id: int, users: set[int]) -> Takers:
        if not users:
            return cls(set(), {})
        members = conn.execute(
            select(User.id, User.instance_admin, Membership.role).outerjoin(
                Membership, (Membership.user_id == User.id) & (Membership.workspace_id == workspace_id)
            ).where(User.id.in_(sorted(users)), User.disabled_at.is_(None))
        ).all()  # fmt: skip
        allowed = {uid for uid, admin, role in members if role in TAKERS or (role is None and admin)}
        load = {a: b for a, b in conn.execute(
            select(InboxItem.assignee_id, func.count()).where(
                InboxItem.workspace_id == workspace_id, InboxItem.assignee_id.in_(sorted(allowed)),
                InboxItem.status.in_(TODO)).group_by(InboxItem.assignee_id)
        )} if allowed else {}  # fmt: skip
        return cls(allowed, {u: load.get(u, 0) for u in allowed})

    def pick(self, users: Sequence[int]) -> int | None:
        """The one of these with the fewest open items (the first listed on a tie): items are shared evenly,
        the oldest message first since the intake walks them in order."""
        able = [u for u in users if u in self.allowed]
        if not able:
            return None
        chosen = min(able, key=lambda u: self.load[u])
        self.load[chosen] += 1
        return chosen


@dataclass(slots=True)
class Change:
    """One action's effect on one item: an event to write (kind, before, after), with the rule that did it."""

    kind: str
    before: Any
    after: Any


@dataclass(slots=True)
class Effects:
    """The effects of the rules on one item in this batch, written once the item has an id."""

    item: dict[str, Any]
    message_id: int
    changes: list[Change] = field(default_factory=list)
    tags: dict[str, int] = field(default_factory=dict)  # tag → the rule that gave it
    notices: list[tuple[int, str, Action]] = field(default_factory=list)  # (rule id, rule name, action)


def act(action: Action, effects: Effects, rule_id: int, *, takers: Takers, policy: sla.Policy,
        now: datetime) -> None:  # fmt: skip
    """Do one action to the item's row (before it is written), noting the change."""
    item = effects.item
    if action.type == "assign":
        chosen = takers.pick(action.users)
        if chosen is not None and chosen != item["assignee_id"]:
            _note(effects, "assign", {"assignee": item["assignee_id"]}, {"assignee": chosen}, rule_id)
            item["assignee_id"] = chosen
            if item["status"] == "new":
                item["status"] = "open"
    elif action.type == "tag":
        for value in action.tags:
            effects.tags.setdefault(value, rule_id)
    elif action.type == "priority" and action.priority != item["priority"]:
        _note(effects, "priority", {"priority": item["priority"]}, {"priority": action.priority}, rule_id)
        item["priority"] = action.priority
        if item["status"] in TODO and item["responded_at"] is None:
            item["due_at"] = policy.due(item["channel"], cast(int, action.priority), item["opened_at"])
    elif action.type in ("spam", "status"):
        _status(effects, action.status or "spam", rule_id, policy, now)
    elif action.type == "hide" and not item["hidden"]:
        _note(effects, "hide", {"hidden": False}, {"hidden": True}, rule_id)
        item["hidden"] = True


def _status(effects: Effects, status: str, rule_id: int, policy: sla.Policy, now: datetime) -> None:
    item = effects.item
    if item["status"] == status:
        return
    _note(effects, "status", {"status": item["status"]}, {"status": status}, rule_id)
    item["status"] = status
    if status in CLOSED:
        item.update(resolved_at=now, due_at=None, snoozed_until=None, until_reply=False)
    elif status in TODO:
        item["resolved_at"] = None
        if item["due_at"] is None:
            item["due_at"] = policy.due(item["channel"], item["priority"], now)


def _note(effects: Effects, kind: str, before: Any, after: Any, rule_id: int) -> None:
    effects.changes.append(Change(kind, before, after | {"rule": rule_id}))


def write(conn: Connection, workspace_id: int, done: Sequence[Effects], now: datetime) -> None:
    """Once the items have ids: their tags, the rules' events, and the notifications queued for delivery."""
    _write_tags(conn, [e for e in done if e.tags])
    events = [
        {"workspace_id": workspace_id, "item_id": e.item["id"], "user_id": None, "kind": c.kind,
         "before": orjson.dumps(c.before).decode(), "after": orjson.dumps(c.after).decode(), "at": now}
        for e in done for c in e.changes
    ]  # fmt: skip
    if events:
        conn.execute(insert(cast(Table, InboxEvent.__table__)), events)
    notices = [e for e in done if e.notices]
    if notices:
        _queue_notices(conn, workspace_id, notices, now)


def _write_tags(conn: Connection, tagged: list[Effects]) -> None:
    """The tags the items do not have yet; a "tag" change per item and rule."""
    if not tagged:
        return
    ids = sorted({e.item["id"] for e in tagged})
    existing: set[tuple[int, str]] = set()
    for start in range(0, len(ids), 900):
        query = select(InboxTag.item_id, InboxTag.tag).where(InboxTag.item_id.in_(ids[start : start + 900]))
        existing.update((i, t) for i, t in conn.execute(query))
    fresh = []
    for effects in tagged:
        by_rule: dict[int, list[str]] = {}
        for value, rule_id in sorted(effects.tags.items()):
            if (effects.item["id"], value) not in existing:  # an item joined twice in a batch is tagged once
                existing.add((effects.item["id"], value))
                fresh.append({"item_id": effects.item["id"], "tag": value})
                by_rule.setdefault(rule_id, []).append(value)
        effects.changes.extend(Change("tag", None, {"tags": t, "rule": r}) for r, t in by_rule.items())
    if fresh:
        conn.execute(insert(cast(Table, InboxTag.__table__)), fresh)


def _queue_notices(conn: Connection, workspace_id: int, done: Sequence[Effects], now: datetime) -> None:
    """One delivery per notice, sent after commit by the radar's notifier (pilote.radar.notify), retried as
    its own are."""
    slug = conn.scalar(select(Workspace.slug).where(Workspace.id == workspace_id))
    ids = [e.message_id for e in done]
    messages: dict[int, Any] = {}
    for start in range(0, len(ids), 900):
        messages.update({row.id: row for row in conn.execute(
            select(Message.id, Message.title, Message.text, Message.url, Message.created_at,
                   func.coalesce(Author.display_name, Author.handle).label("author"))
            .outerjoin(Author, Author.id == Message.author_id).where(Message.id.in_(ids[start : start + 900]))
        )})  # fmt: skip
    actions = [a for e in done for _, _, a in e.notices]
    emails = {a: b for a, b in conn.execute(select(User.id, User.email).where(
        User.id.in_(sorted({a.user for a in actions if a.user})), User.disabled_at.is_(None)))}  # fmt: skip
    recipients = {r.id: r for r in conn.execute(select(AlertRecipient.id, AlertRecipient.kind, AlertRecipient.target)
                  .where(AlertRecipient.workspace_id == workspace_id,
                         AlertRecipient.id.in_(sorted({a.recipient for a in actions if a.recipient}))))}  # fmt: skip
    rows = []
    for effects in done:
        payload = _payload(slug, effects, messages.get(effects.message_id), now)
        for rule_id, name, action in effects.notices:
            where = _target(action, emails, recipients)
            if where is None:
                continue  # the person left or the recipient was removed since the rule was saved
            body = json.dumps(payload | {"rule": {"id": rule_id, "name": name}}, ensure_ascii=False, default=str)
            rows.append({"incident_id": None, "item_id": effects.item["id"], "recipient_id": action.recipient,
                         "kind": where[0], "target": where[1], "reason": "rule", "payload": body,
                         "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now})  # fmt: skip
    if rows:
        conn.execute(insert(cast(Table, Delivery.__table__)), rows)


def _target(action: Action, emails: dict[int, str], recipients: dict[int, Any]) -> tuple[str, str] | None:
    if action.email:
        return "email", action.email
    if action.user:
        email = emails.get(action.user)
        return ("email", email) if email else None
    found = recipients.get(action.recipient or 0)
    return (found.kind, found.target) if found is not None else None


def _payload(slug: str | None, effects: Effects, message: Any, now: datetime) -> dict[str, Any]:
    item = effects.item
    shown = {"id": item["id"], "channel": item["channel"], "status": item["status"],
             "priority": PRIORITIES.get(item["priority"]), "reasons": item["reasons"]}  # fmt: skip
    said = None
    if message is not None:
        said = {"id": message.id, "author": message.author, "url": message.url, "created_at": message.created_at,
                "text": " ".join(f"{message.title or ''} {message.text or ''}".split())[:500]}  # fmt: skip
    return {"event": "inbox.rule", "sent_at": now.isoformat(), "workspace": slug, "item": shown, "message": said}
