"""Reading messages back: filters, search, and the flat record used by the CLI, the API and exports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Boolean, ColumnElement, Select, func, literal_column, or_, select
from sqlalchemy.orm import Session

from pilote import search
from pilote.models import Author, Enrichment, Label, Message, Source, Workspace, extras

EXPORT_FIELDS = (
    "id", "workspace", "source", "kind", "external_id", "parent_id", "thread_id", "author_handle",
    "author_name", "author_url", "created_at", "edited_at", "title", "text", "url", "language",
    "likes", "shares", "replies", "views", "sentiment", "sentiment_score", "spam", "spam_probability",
    "toxicity_probability", "intent", "keyphrases", "labels",
)  # fmt: skip
LABEL_PRECEDENCE = {"user": 2, "import": 1}
SPAM_THRESHOLD = 0.5
# The `status` a post's author gives it while it is not public: WordPress's words for a draft (and the drafts
# its editor saves by itself), a post scheduled for later ("future") and a private post. Such messages are
# kept, but nothing counts them: not the rollups (so neither the Overview nor the Sources page), not the
# radar, not the Explorer unless asked for them, not a member's figures, not `pilote stats`.
UNPUBLISHED = ("draft", "auto-draft", "future", "private")
WITHDRAWN = ("deleted",)  # removed on the platform by its author or a moderator: kept as a record, not counted
NOT_COUNTED = UNPUBLISHED + WITHDRAWN


def is_counted(labels: Mapping[str, str]) -> bool:
    """Whether a message with these winning labels counts in figures: not a post its author keeps unpublished,
    nor one withdrawn from the platform."""
    return labels.get("status") not in NOT_COUNTED


def counted_sql(message: str = "message") -> str:
    """SQL: the message (the table, or its alias) counts in figures: the `status` label that decides (a
    person's, else an import's) is not one of NOT_COUNTED. The one place that decides what is counted;
    written as SQL text so that the rollups' driver-level queries and the ORM's share it."""
    values = ", ".join(f"'{value}'" for value in NOT_COUNTED)
    return (
        f"(NOT EXISTS (SELECT 1 FROM label s WHERE s.message_id = {message}.id AND s.name = 'status' "
        f"AND s.value IN ({values}) AND (s.origin = 'user' OR NOT EXISTS (SELECT 1 FROM label p "
        f"WHERE p.message_id = {message}.id AND p.name = 'status' AND p.origin = 'user'))))"
    )


def counted() -> ColumnElement[bool]:
    """SQL, for queries on the `message` table: the message counts in figures (see counted_sql)."""
    return literal_column(counted_sql(), Boolean)


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
    chosen: dict[int, dict[str, tuple[int, str]]] = defaultdict(dict)
    ids = [record["id"] for record in records]
    if ids:
        rows = session.execute(
            select(Label.message_id, Label.name, Label.value, Label.origin).where(Label.message_id.in_(ids))
        )
        for message_id, name, value, origin in rows:
            rank = LABEL_PRECEDENCE.get(origin, 0)
            if rank >= chosen[message_id].get(name, (-1, ""))[0]:
                chosen[message_id][name] = (rank, value)
    for record in records:
        labels = {name: value for name, (_, value) in sorted(chosen[record["id"]].items())}
        record["labels"] = labels
        _decide(record, labels)
        # Stored by the keyphrases analyzer as {"keyphrases": [...]}; null until it has run.
        record["keyphrases"] = extras(record["keyphrases"], "keyphrases").get("keyphrases")
    return records


def _decide(record: dict[str, Any], labels: dict[str, str]) -> None:
    """A person's (or the source's moderators') label decides spam, sentiment and intent over a model."""
    probability = record.get("spam_probability")
    if labels.get("spam") in {"spam", "ham"}:
        record["spam"] = labels["spam"] == "spam"
    else:
        record["spam"] = None if probability is None else probability >= SPAM_THRESHOLD
    for name in ("sentiment", "intent"):
        if name in labels:
            record[name] = labels[name]


def count(session: Session, where: MessageFilter) -> int:
    """How many messages match."""
    inner = select_records(session, where).order_by(None).with_only_columns(Message.id).subquery()
    return session.scalar(select(func.count()).select_from(inner)) or 0
