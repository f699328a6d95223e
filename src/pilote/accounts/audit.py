"""The audit log of account events: who did what to whom, when, from where, with the state before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from pilote.models import AuditEntry, Workspace

COMMAND_LINE = "command line"  # the actor of what is done with `pilote`: whoever can read the store's settings


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


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    workspace_id: int | None = None,
    before: Any = None,
    after: Any = None,
    address: str | None = None,
) -> None:
    """Add an entry (in the caller's transaction: the change and its record stand or fall together)."""
    session.add(
        AuditEntry(actor=actor, action=action, target=target, workspace_id=workspace_id, before=_json(before),
                   after=_json(after), address=address)
    )  # fmt: skip


def get_all(session: Session, *, limit: int = 1000) -> list[Entry]:
    """The latest entries, newest first."""
    rows = session.execute(
        select(AuditEntry, Workspace.slug)
        .outerjoin(Workspace, Workspace.id == AuditEntry.workspace_id)
        .order_by(AuditEntry.id.desc())
        .limit(limit)
    )
    return [
        Entry(row.id, row.at, row.actor, row.action, row.target, slug, _value(row.before), _value(row.after),
              row.address)
        for row, slug in rows
    ]  # fmt: skip


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _value(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)
