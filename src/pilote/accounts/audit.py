"""The audit log: who changed what in which workspace, when, from where, with the state before and after.

Every change a person makes goes through `record`, in the transaction of the change itself, so the change and
its entry stand or fall together: account events (users, roles, sessions, tokens) and the work in a workspace
(labels, sources, saved searches, merges, incidents, settings, erasures). Admins read it with `get_all`.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from pilote.errors import Invalid
from pilote.models import AuditEntry, Workspace

COMMAND_LINE = "command line"  # the actor of what is done with `pilote`: whoever can read the store's settings
PAGE = 50
FIELDS = ("id", "at", "actor", "action", "target", "workspace", "before", "after", "address")
FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a signed-in person's e-mail, a token's owner (or the token), or the command line;
    and the client address of the request, when there is one."""

    name: str
    address: str | None = None
    user_id: int | None = None  # the account, when a signed-in person acts (the inbox records it on its events)


CLI = Actor(COMMAND_LINE)


@dataclass(frozen=True, slots=True)
class Entry:
    """One audit entry, as listed."""

    id: int
    at: datetime
    actor: str
    action: str
    target: str
    workspace: str | None
    before: Any
    after: Any
    address: str | None

    def as_json(self) -> dict[str, Any]:
        """The entry for scripts and exports."""
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "target": self.target, "workspace": self.workspace, "before": self.before, "after": self.after,
                "address": self.address}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Filters:
    """Which entries to list: one workspace's (or all), by whom, which action (a prefix: `source` finds
    `source added` and `source deleted`), in a period."""

    workspace_id: int | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Listing:
    """A page of entries, newest first, and the cursor of the next (None on the last page)."""

    entries: list[Entry]
    next_cursor: str | None


def record(
    session: Session,
    *,
    actor: Actor | str,
    action: str,
    target: str,
    workspace_id: int | None = None,
    before: Any = None,
    after: Any = None,
    address: str | None = None,
) -> None:
    """Add an entry (in the caller's transaction: the change and its record stand or fall together)."""
    who = actor.name if isinstance(actor, Actor) else actor
    if isinstance(actor, Actor):
        address = address or actor.address
    session.add(
        AuditEntry(actor=who[:320], action=action[:64], target=target[:320], workspace_id=workspace_id,
                   before=_json(before), after=_json(after), address=address[:64] if address else None)
    )  # fmt: skip


def get_all(session: Session, *, limit: int = 1000, filters: Filters | None = None) -> list[Entry]:
    """The latest entries matching the filters, newest first."""
    return page(session, filters or Filters(), limit=limit).entries


def page(session: Session, filters: Filters, *, limit: int = PAGE, cursor: str | None = None) -> Listing:
    """One page of entries, newest first, after the cursor of the previous page (keyset: ids only go up)."""
    query = _query(filters).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(AuditEntry.id < _decode(cursor))
    found = [_entry(row.AuditEntry, row.slug) for row in session.execute(query)]
    more = len(found) > limit
    return Listing(found[:limit], _encode(found[limit - 1].id) if more else None)


def every(session: Session, filters: Filters, *, chunk: int = 1000) -> Iterator[Entry]:
    """Every entry matching the filters, newest first, read a chunk at a time (for exports)."""
    cursor = None
    while True:
        listing = page(session, filters, limit=chunk, cursor=cursor)
        yield from listing.entries
        if listing.next_cursor is None:
            return
        cursor = listing.next_cursor


def export(entries: Iterable[Entry], format: str) -> Iterator[str]:
    """The entries as CSV (a header, then a row each; before and after as JSON) or JSON Lines, line by line."""
    if format == "jsonl":
        for entry in entries:
            yield orjson.dumps(entry.as_json()).decode() + "\n"
        return
    if format != "csv":
        raise Invalid(f"audit export format {format!r}: use csv or jsonl")
    yield _csv_line(FIELDS)
    for entry in entries:
        data = entry.as_json()
        data["before"], data["after"] = _json(data["before"]), _json(data["after"])
        yield _csv_line(["" if data[name] is None else str(data[name]) for name in FIELDS])


def _csv_line(cells: Iterable[str]) -> str:
    """One CSV line; a cell a spreadsheet would run as a formula starts with an apostrophe."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["'" + c if c[:1] in FORMULA else c for c in cells])
    return buffer.getvalue()


def _query(filters: Filters) -> Select[Any]:
    query = select(AuditEntry, Workspace.slug).outerjoin(Workspace, Workspace.id == AuditEntry.workspace_id)
    if filters.workspace_id is not None:
        query = query.where(AuditEntry.workspace_id == filters.workspace_id)
    if filters.actor:
        query = query.where(AuditEntry.actor == filters.actor.strip())
    if filters.action:
        action = filters.action.strip()
        query = query.where(or_(AuditEntry.action == action, AuditEntry.action.startswith(action + " ")))
    if filters.since is not None:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.at < filters.until)
    return cast(Select[Any], query)


def _entry(row: AuditEntry, slug: str | None) -> Entry:
    return Entry(row.id, row.at, row.actor, row.action, row.target, slug, _value(row.before), _value(row.after),
                 row.address)  # fmt: skip


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except ValueError:
        raise Invalid(f"cursor {cursor[:40]!r}: not one this log gave; start from the first page") from None


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _value(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
