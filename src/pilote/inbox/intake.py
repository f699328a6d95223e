"""From analysed messages to inbox items: what needs the team, grouped per person and thread, and the team's
answers noticed wherever they were written.

Run after each analysis (`take_new`). It walks the workspace's messages past a cursor kept in
`workspace_setting`, in id order, in batches of one transaction each; a message not yet analysed (a sync wrote
it while the analysis ran) stops the walk, and the next run starts there. Messages older than the horizon (an
import of last year's comments) are history, not work: they open no item.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Engine, Table, func, insert, select, update
from sqlalchemy.orm import aliased

from pilote import community
from pilote.bulk import allocate_ids
from pilote.db import begin_write, retry_locked
from pilote.inbox import TODO, rules, sla
from pilote.models import (
    Author,
    Enrichment,
    InboxEvent,
    InboxItem,
    Message,
    Source,
    WorkspaceSetting,
    utcnow,
)

item_t = cast(Table, InboxItem.__table__)
event_t = cast(Table, InboxEvent.__table__)
setting_t = cast(Table, WorkspaceSetting.__table__)

CURSOR = "inbox.cursor"
HORIZON = timedelta(days=14)  # a message older than this when Pilote first reads it is history, not work
UNANALYSED_WAIT = timedelta(hours=1)  # how long an unanalysed message holds the walk back
BATCH = 5000
OWNED = ("blog:", "disqus:", "discourse:", "forum:")  # the organisation's own media: every comment is for the team
ADDRESSED = ("mention", "dm", "direct", "review")  # kinds that speak to the organisation
TOXIC = 0.5

# A hook run on each batch's arrivals, in its transaction, before the items are written (the rules, by default:
# inbox/rules.py); what it returns, if anything, runs once they are written and have ids (tags, notifications).
Arrivals = Callable[[Connection, int, list["Arrival"]], Callable[[], None] | None]


@dataclass(slots=True)
class Arrival:
    """A message that opened or joined an item in this batch; `item` is the item's row as it will be written."""

    message: Any  # the message's row (see _read)
    item: dict[str, Any]
    created: bool
    fired: list[int] = field(default_factory=list)  # the rules that acted on it
    event: dict[str, Any] = field(default_factory=dict)  # its "opened" or "message" event (the rules add to it)


@dataclass(slots=True)
class TakeReport:
    """What one walk did."""

    read: int = 0
    opened: int = 0
    joined: int = 0
    answered: int = 0
    reopened: int = 0
    cursor: int = 0


def conversation(thread_id: int | None, message_id: int, author_id: int | None) -> str:
    """An item's key: the thread (the message itself when it starts one) and its author."""
    thread = thread_id or message_id
    return f"{thread}:{author_id}" if author_id is not None else f"{thread}:m{message_id}"


def moved(key: str, threads: Mapping[int, int]) -> str | None:
    """An item's key once its thread moved (`threads`: old thread → new, `linking`), or None if it did not."""
    thread, _, rest = key.partition(":")
    new = threads.get(int(thread)) if thread.isdigit() else None
    return None if new is None else f"{new}:{rest}"


def owned(channel: str) -> bool:
    """Whether a channel is the organisation's own medium (a blog, a forum)."""
    return channel.startswith(OWNED)


def reasons_for(row: Any, labels: dict[str, str], team: set[int], parent_author: int | None) -> list[str]:
    """Why a message by someone outside the team needs a person (none: it does not)."""
    reasons: list[str] = []
    intent = community.decided(labels, "intent", row.intent)
    if intent in community.NEEDS_ANSWER:
        reasons.append(intent)
    if community.decided(labels, "sentiment", row.sentiment) == "negative":
        reasons.append("negative")
    if community.spam(labels, row.spam_probability):
        reasons.append("spam")
    if (row.toxicity_probability or 0.0) >= TOXIC:
        reasons.append("toxic")
    if parent_author is not None and parent_author in team:
        reasons.append("reply")
    elif row.kind in ADDRESSED:
        reasons.append("mention")
    if owned(row.channel) and not reasons:
        reasons.append("comment")
    return reasons


def priority_for(reasons: Sequence[str]) -> int:
    """Urgent for toxicity and angry complaints, high for what asks for an answer, low for suspected spam."""
    if "toxic" in reasons or ("complaint" in reasons and "negative" in reasons):
        return 3
    if "spam" in reasons:
        return 0
    if {"complaint", "question", "negative"} & set(reasons):
        return 2
    return 1


def take_new(engine: Engine, workspace_id: int, *, now: datetime | None = None, batch: int = BATCH,
             hook: Arrivals | None = None) -> TakeReport:  # fmt: skip
    """Bring the workspace's new messages into the inbox, batch after batch, until none is left; the workspace's
    rules act on each arrival unless another `hook` is given."""
    hook = hook or rules.apply
    report = TakeReport()
    while True:
        moved = retry_locked(lambda: _take_batch(engine, workspace_id, now or utcnow(), batch, hook, report))
        if not moved:
            return report


def _take_batch(engine: Engine, workspace_id: int, now: datetime, batch: int, hook: Arrivals | None,
                report: TakeReport) -> bool:  # fmt: skip
    with begin_write(engine) as conn:
        cursor = _cursor(conn, workspace_id)
        rows = _read(conn, workspace_id, cursor, now - HORIZON, batch)
        if not rows:
            _finish_walk(conn, workspace_id, cursor, now, report)
            return False
        ready = []
        for row in rows:
            if row.analysed is None and row.fetched_at > now - UNANALYSED_WAIT:
                break  # the analysis has not reached it yet: the next walk starts here
            ready.append(row)
        if ready:
            _apply(conn, workspace_id, ready, now, hook, report)
            report.read += len(ready)
        last = ready[-1].id if ready else cursor
        _set_cursor(conn, workspace_id, last)
        report.cursor = last
        return len(ready) == len(rows) and len(rows) == batch


def _finish_walk(conn: Connection, workspace_id: int, cursor: int, now: datetime, report: TakeReport) -> None:
    """Nothing recent is left past the cursor: move it past the history too, so the next walk starts at the end."""
    top = conn.scalar(select(func.max(Message.id)).where(Message.workspace_id == workspace_id)) or 0
    if top > cursor:
        _set_cursor(conn, workspace_id, top)
    report.cursor = max(top, cursor)


def _cursor(conn: Connection, workspace_id: int) -> int:
    value = conn.scalar(
        select(WorkspaceSetting.value).where(WorkspaceSetting.workspace_id == workspace_id,
                                             WorkspaceSetting.name == CURSOR)
    )  # fmt: skip
    return int(orjson.loads(value)) if value is not None else 0


def _set_cursor(conn: Connection, workspace_id: int, value: int) -> None:
    table = setting_t
    done = conn.execute(
        update(table).where(table.c.workspace_id == workspace_id, table.c.name == CURSOR)
        .values(value=str(value), updated_at=utcnow())
    )  # fmt: skip
    if not done.rowcount:
        conn.execute(insert(table).values(workspace_id=workspace_id, name=CURSOR, value=str(value),
                                          updated_at=utcnow()))  # fmt: skip


def _read(conn: Connection, workspace_id: int, cursor: int, since: datetime, batch: int) -> list[Any]:
    parent = aliased(Message)
    query = (
        select(
            Message.id, Message.source_id, Message.author_id, Message.thread_id, Message.parent_id, Message.kind,
            Message.created_at, Message.fetched_at, Message.language, Message.sentiment, Message.intent,
            Message.spam_probability, Message.toxicity_probability,
            func.coalesce(Author.channel, Source.channel).label("channel"),
            parent.author_id.label("parent_author"), parent.thread_id.label("parent_thread"),
            Enrichment.message_id.label("analysed"),
        )
        .join(Source, Source.id == Message.source_id)
        .outerjoin(Author, Author.id == Message.author_id)
        .outerjoin(parent, parent.id == Message.parent_id)
        .outerjoin(Enrichment, Enrichment.message_id == Message.id)
        .where(Message.workspace_id == workspace_id, Message.id > cursor, Message.created_at >= since)
        .order_by(Message.id)
        .limit(batch)
    )  # fmt: skip
    return list(conn.execute(query))


def _apply(conn: Connection, workspace_id: int, rows: list[Any], now: datetime, hook: Arrivals | None,
           report: TakeReport) -> None:  # fmt: skip
    team = community.team_ids(conn, workspace_id)
    labels = community.labels_of(conn, [r.id for r in rows], community.DECIDED)
    policy = sla.get(conn, workspace_id)
    wanted: dict[int, tuple[str, list[str] | None]] = {}  # message → (key, reasons; None: a team answer)
    for row in rows:
        mine = labels.get(row.id, {})
        if not community.is_counted(mine):
            continue
        if row.author_id in team:
            if row.parent_id is not None and row.parent_author not in team:
                wanted[row.id] = (conversation(row.parent_thread, row.parent_id, row.parent_author), None)
            continue
        if community.spam(mine, None) is True:
            continue  # a moderator or a person already said spam: nothing left to decide
        reasons = reasons_for(row, mine, team, row.parent_author)
        if reasons:
            wanted[row.id] = (conversation(row.thread_id, row.id, row.author_id), reasons)
    if not wanted:
        return
    items = _existing(conn, workspace_id, {key for key, _ in wanted.values()})
    before = {key: dict(item) for key, item in items.items()}
    events: list[dict[str, Any]] = []
    arrivals: list[Arrival] = []
    for row in rows:
        if row.id not in wanted:
            continue
        key, given = wanted[row.id]
        item = items.get(key)
        if given is None:
            if item is not None:
                status = item["status"]
                if _answered(item, row.created_at):
                    report.answered += 1
                    events.append(_event(workspace_id, item, "answered", {"message_id": row.id}))
                    _moved(events, workspace_id, item, status)
            continue
        if item is None:
            item = _opened(workspace_id, key, row, given, policy)
            items[key] = item
            arrival = Arrival(row, item, created=True)
            report.opened += 1
        else:
            status = item["status"]
            if _joined(item, row, given, policy):
                report.reopened += 1
            arrival = Arrival(row, item, created=False)
            report.joined += 1
        events.append(_event(workspace_id, item, "opened" if arrival.created else "message", {"message_id": row.id}))
        arrival.event = events[-1]
        if not arrival.created:
            _moved(events, workspace_id, item, status)
        arrivals.append(arrival)
    after = hook(conn, workspace_id, arrivals) if hook is not None and arrivals else None
    _write(conn, items, before, arrivals, events, now)
    if after is not None:
        after()


def _existing(conn: Connection, workspace_id: int, keys: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    ordered = sorted(keys)
    table = item_t
    for start in range(0, len(ordered), 900):
        query = select(table).where(table.c.workspace_id == workspace_id, table.c.key.in_(ordered[start : start + 900]))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()  # a person's change waits for this batch, and is not lost to it
        found.update({row.key: dict(row._mapping) for row in conn.execute(query)})
    return found


def _judged(item: dict[str, Any], row: Any, reasons: list[str]) -> None:
    """The item reads as its latest message: its judgements, and every reason it has been given."""
    item.update(language=row.language, sentiment=row.sentiment, intent=row.intent,
                spam_probability=row.spam_probability, toxicity_probability=row.toxicity_probability,
                last_message_id=row.id, last_at=row.created_at)  # fmt: skip
    known = [r for r in item["reasons"].split(",") if r]
    item["reasons"] = ",".join(dict.fromkeys(known + reasons))[:200]


def _opened(workspace_id: int, key: str, row: Any, reasons: list[str], policy: sla.Policy) -> dict[str, Any]:
    priority = priority_for(reasons)
    item: dict[str, Any] = {
        "id": None, "workspace_id": workspace_id, "key": key, "source_id": row.source_id,
        "first_message_id": row.id, "author_id": row.author_id, "channel": row.channel, "reasons": "",
        "status": "new", "snoozed_until": None, "until_reply": False, "hidden": False, "priority": priority,
        "assignee_id": None, "message_count": 1, "opened_at": row.created_at,
        "due_at": policy.due(row.channel, priority, row.created_at), "responded_at": None, "responder_id": None,
        "resolved_at": None, "version": 1,
    }  # fmt: skip
    _judged(item, row, reasons)
    return item


def _joined(item: dict[str, Any], row: Any, reasons: list[str], policy: sla.Policy) -> bool:
    """The author wrote again in the same thread: the item shows it, and is owed an answer again (True) unless
    it was put aside as spam or ignored."""
    _judged(item, row, reasons)
    item["message_count"] += 1
    item["priority"] = max(item["priority"], priority_for(reasons))
    if item["status"] in ("done", "pending", "snoozed"):
        item.update(status="new", snoozed_until=None, until_reply=False, resolved_at=None,
                    due_at=policy.due(item["channel"], item["priority"], row.created_at))  # fmt: skip
        return True
    return False


def _answered(item: dict[str, Any], at: datetime) -> bool:
    """The team answered on the platform: the first response is noted, and the item is done if the answer came
    after the author's latest message."""
    changed = False
    if item["responded_at"] is None or at < item["responded_at"]:
        item["responded_at"] = at
        changed = True
    if item["status"] in (*TODO, "pending") and at >= item["last_at"]:
        item.update(status="done", resolved_at=at, due_at=None)
        changed = True
    return changed


def _event(workspace_id: int, item: dict[str, Any], kind: str, after: Any, before: Any = None) -> dict[str, Any]:
    return {"workspace_id": workspace_id, "item": item, "kind": kind, "before": before, "after": after}


def _moved(events: list[dict[str, Any]], workspace_id: int, item: dict[str, Any], status: str) -> None:
    if item["status"] != status:
        events.append(_event(workspace_id, item, "status", {"status": item["status"]}, {"status": status}))


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


COLUMNS = ("status", "snoozed_until", "until_reply", "hidden", "priority", "assignee_id", "message_count",
           "last_message_id", "last_at", "due_at", "responded_at", "responder_id", "resolved_at", "reasons",
           "language", "sentiment", "intent", "spam_probability", "toxicity_probability")  # fmt: skip


def _write(conn: Connection, items: dict[str, dict[str, Any]], before: dict[str, dict[str, Any]],
           arrivals: list[Arrival], events: list[dict[str, Any]], now: datetime) -> None:  # fmt: skip
    table = item_t
    fresh = [item for item in items.values() if item["id"] is None]
    if fresh:  # ids first (the events need them), then one insert for all: one statement per item cost 1 ms each
        for item, ident in zip(fresh, allocate_ids(conn, "inbox_item", len(fresh)), strict=True):
            item["id"] = ident
        conn.execute(insert(table), [item | {"updated_at": now} for item in fresh])
    changed = [item for key, item in items.items() if key in before and item != before[key]]
    for item in changed:
        old = before[item["key"]]
        item["version"] = old["version"] + 1
        values = {k: item[k] for k in COLUMNS} | {"version": item["version"], "updated_at": now}
        conn.execute(update(table).where(table.c.id == item["id"]).values(values))
    for arrival in arrivals:
        if arrival.fired:
            arrival.event["after"]["rules"] = arrival.fired
    if events:
        conn.execute(insert(event_t), [
            {"workspace_id": e["workspace_id"], "item_id": e["item"]["id"], "user_id": None, "kind": e["kind"],
             "before": _json(e["before"]), "after": _json(e["after"]), "at": now} for e in events
        ])  # fmt: skip
