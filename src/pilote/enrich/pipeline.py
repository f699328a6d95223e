"""Running the analyzers over the store: only new messages, or those an analyzer's new version must redo."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, and_, bindparam, delete, func, or_, select, update

from pilote.bulk import db_time, insert_rows
from pilote.enrich.base import Analyzer, Result, Text
from pilote.models import Author, Enrichment, Message, utcnow

CHUNK = 1000
message_t = cast(Table, Message.__table__)
Progress = Callable[[str, int, int], None]


@dataclass(slots=True)
class EnrichReport:
    """Per analyzer: how many messages it analysed, and in how many seconds."""

    analysed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _stale(analyzer: Analyzer, version: str, workspace_id: int, since: datetime | None, force: bool) -> Any:
    """Messages the analyzer has not seen in its current version (all of them with `force`)."""
    seen = and_(Enrichment.message_id == Message.id, Enrichment.analyzer == analyzer.name)
    query = select(Message.id).outerjoin(Enrichment, seen).where(Message.workspace_id == workspace_id)
    if not force:
        query = query.where(or_(Enrichment.version.is_(None), Enrichment.version != version))
    if since is not None:
        query = query.where(Message.created_at >= since)
    return query


def _texts(conn: Connection, ids: Sequence[int]) -> list[Text]:
    query = (
        select(Message.id, Message.kind, Message.title, Message.text, Author.display_name, Author.handle,
               Author.profile_url)
        .outerjoin(Author, Author.id == Message.author_id)
        .where(Message.id.in_(ids))
        .order_by(Message.id)
    )  # fmt: skip
    return [Text(id=r[0], kind=r[1], title=r[2], text=r[3], author=r[4] or r[5], author_url=r[6])
            for r in conn.execute(query)]  # fmt: skip


def _store(conn: Connection, analyzer: Analyzer, version: str, texts: Sequence[Text], results: list[Result]) -> None:
    """Hot columns on message, everything else as JSON in `enrichment`, with the analyzer's version."""
    if analyzer.columns:
        values: dict[str, Any] = {name: bindparam(name) for name in analyzer.columns}
        statement = update(message_t).where(message_t.c.id == bindparam("_id")).values(**values)
        conn.execute(statement, [{"_id": t.id, **{c: r.get(c) for c in analyzer.columns}} for t, r in
                                 zip(texts, results, strict=True)])  # fmt: skip
    ids = [t.id for t in texts]
    conn.execute(delete(Enrichment).where(Enrichment.analyzer == analyzer.name, Enrichment.message_id.in_(ids)))
    now = db_time(conn)(utcnow())
    rows = []
    for text, result in zip(texts, results, strict=True):
        extra = {key: value for key, value in result.items() if key not in analyzer.columns}
        rows.append((text.id, analyzer.name, version, json.dumps(extra) if extra else None, now))
    insert_rows(conn, "enrichment", ("message_id", "analyzer", "version", "value", "updated_at"), rows)


def run(
    engine: Engine,
    analyzers: Sequence[Analyzer],
    *,
    workspace_id: int,
    since: datetime | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> EnrichReport:
    """Analyse what needs it, in chunks committed one by one (an interrupted run resumes by itself)."""
    report = EnrichReport()
    for analyzer in analyzers:
        started = time.perf_counter()
        version = analyzer.current_version()
        stale = _stale(analyzer, version, workspace_id, since, force)
        with engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(stale.subquery())).scalar_one()
            ids = [row[0] for row in conn.execute(stale.order_by(Message.id))]
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            with engine.begin() as conn:
                texts = _texts(conn, chunk)
                _store(conn, analyzer, version, texts, analyzer.analyze(texts))
            if progress is not None:
                progress(analyzer.name, min(start + CHUNK, total), total)
        report.analysed[analyzer.name] = len(ids)
        report.seconds[analyzer.name] = time.perf_counter() - started
    return report
