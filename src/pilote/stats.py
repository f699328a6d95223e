"""Counts of a workspace's store: by kind, source and language, with first and last dates.

Drafts, scheduled and private posts are not counted there (`messages.counted`), only said to be kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from pilote.community import counted
from pilote.models import Author, Message, Source, Workspace


@dataclass(slots=True)
class WorkspaceStats:
    """What `pilote stats` prints."""

    workspace: str
    messages: int = 0
    authors: int = 0
    threads: int = 0
    first: datetime | None = None
    last: datetime | None = None
    by_kind: dict[str, int] = field(default_factory=dict)
    by_source: dict[str, int] = field(default_factory=dict)
    by_language: dict[str, int] = field(default_factory=dict)
    unpublished: int = 0  # drafts, scheduled and private posts: kept, counted nowhere else

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict with ISO 8601 dates."""
        data = asdict(self)
        for key in ("first", "last"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _grouped(session: Session, workspace_id: int, column: Any) -> dict[str, int]:
    query = (
        select(column, func.count())
        .select_from(Message)
        .where(Message.workspace_id == workspace_id, counted())
        .group_by(column)
        .order_by(func.count().desc())
    )
    return {str(key) if key is not None else "unknown": int(n) for key, n in session.execute(query)}


def compute(session: Session, workspace: Workspace) -> WorkspaceStats:
    """The workspace's counts and date range."""
    stats = WorkspaceStats(workspace=workspace.slug)
    in_space = and_(Message.workspace_id == workspace.id, counted())
    row = session.execute(
        select(func.count(), func.min(Message.created_at), func.max(Message.created_at)).where(in_space)
    ).one()
    stats.messages, stats.first, stats.last = int(row[0]), row[1], row[2]
    stats.authors = session.scalar(select(func.count()).where(Author.workspace_id == workspace.id)) or 0
    stats.threads = session.scalar(select(func.count(func.distinct(Message.thread_id))).where(in_space)) or 0
    stats.by_kind = _grouped(session, workspace.id, Message.kind)
    stats.by_language = _grouped(session, workspace.id, Message.language)
    by_source = (
        select(Source.name, func.count())
        .join(Message, Message.source_id == Source.id)
        .where(Source.workspace_id == workspace.id, counted())
        .group_by(Source.name)
        .order_by(func.count().desc())
    )
    stats.by_source = {name: int(n) for name, n in session.execute(by_source)}
    withheld = select(func.count()).where(Message.workspace_id == workspace.id, ~counted())
    stats.unpublished = session.scalar(withheld) or 0
    return stats
