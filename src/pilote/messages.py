"""Reading messages back: filters, search, and the flat record used by the CLI, the API and exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from pilote import community, search

# The rules live in `community`; these names stay importable from here for the code that reads them here.
from pilote.community import NOT_COUNTED as NOT_COUNTED
from pilote.community import SPAM_THRESHOLD as SPAM_THRESHOLD
from pilote.community import UNPUBLISHED as UNPUBLISHED
from pilote.community import WITHDRAWN as WITHDRAWN
from pilote.community import is_counted as is_counted
from pilote.models import Author, Enrichment, Message, Source, Workspace, extras

EXPORT_FIELDS = (
    "id", "workspace", "source", "kind", "external_id", "parent_id", "thread_id", "author_handle",
    "author_name", "author_url", "created_at", "edited_at", "title", "text", "url", "language",
    "likes", "shares", "replies", "views", "sentiment", "sentiment_score", "spam", "spam_probability",
    "toxicity_probability", "intent", "keyphrases", "labels",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MessageFilter:
    """What a listing or an export keeps."""

    workspace_id: int
    search: str | None = None
    author: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    kind: str | None = None
    source: str | None = None


def _columns() -> Select[Any]:
    query = (
        select(
            Message.id,
            Workspace.slug.label("workspace"),
            Source.name.label("source"),
            Message.kind,
            Message.external_id,
            Message.parent_id,
            Message.thread_id,
            Author.handle.label("author_handle"),
            Author.display_name.label("author_name"),
            Author.profile_url.label("author_url"),
            Message.created_at,
            Message.edited_at,
            Message.title,
            Message.text,
            Message.url,
            Message.language,
            Message.likes,
            Message.shares,
            Message.replies,
            Message.views,
            Message.sentiment,
            Message.sentiment_score,
            Message.spam_probability,
            Message.toxicity_probability,
            Message.intent,
            Enrichment.value.label("keyphrases"),
        )
        .join(Workspace, Workspace.id == Message.workspace_id)
        .join(Source, Source.id == Message.source_id)
        .outerjoin(Author, Author.id == Message.author_id)
        .outerjoin(Enrichment, Enrichment.message_id == Message.id)
    )
    return cast(Select[Any], query)


def select_records(session: Session, where: MessageFilter) -> Select[Any]:
    """The query for messages matching a filter, newest first."""
    query = _columns().where(Message.workspace_id == where.workspace_id)
    if where.search:
        query = query.where(search.matches(session.get_bind().dialect, where.search))
    if where.author:
        wanted = where.author.lstrip("@").lower()
        query = query.where(or_(func.lower(Author.handle) == wanted, func.lower(Author.display_name) == wanted))
    if where.since:
        query = query.where(Message.created_at >= where.since)
    if where.until:
        query = query.where(Message.created_at < where.until)
    if where.kind:
        query = query.where(Message.kind == where.kind)
    if where.source:
        query = query.where(or_(Source.name == where.source, Source.key == where.source))
    return query.order_by(Message.created_at.desc(), Message.id.desc())


def get_all(session: Session, where: MessageFilter, *, limit: int = 50) -> list[dict[str, Any]]:
    """Up to `limit` matching messages as flat records."""
    rows = session.execute(select_records(session, where).limit(limit)).all()
    return _with_labels(session, [dict(row._mapping) for row in rows])


def iter_all(session: Session, where: MessageFilter, *, chunk: int = 2000) -> Iterator[dict[str, Any]]:
    """Every matching message as a flat record, streamed in chunks (for exports)."""
    result = session.execute(select_records(session, where).execution_options(yield_per=chunk))
    for rows in result.partitions(chunk):
        yield from _with_labels(session, [dict(row._mapping) for row in rows])


def _with_labels(session: Session, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Attach each message's labels; a person's label wins over one that came with an import."""
    chosen = community.labels_of(session, [record["id"] for record in records])
    for record in records:
        labels = chosen.get(record["id"], {})
        record["labels"] = labels
        _decide(record, labels)
        # Stored by the keyphrases analyzer as {"keyphrases": [...]}; null until it has run.
        record["keyphrases"] = extras(record["keyphrases"], "keyphrases").get("keyphrases")
    return records


def _decide(record: dict[str, Any], labels: dict[str, str]) -> None:
    """Spam, sentiment and intent as the community's rules decide them (labels over models)."""
    record["spam"] = community.spam(labels, record.get("spam_probability"))
    for name in ("sentiment", "intent"):
        record[name] = community.decided(labels, name, record.get(name))


def count(session: Session, where: MessageFilter) -> int:
    """How many messages match."""
    inner = select_records(session, where).order_by(None).with_only_columns(Message.id).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0
