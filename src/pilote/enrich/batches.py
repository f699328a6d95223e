"""Reading a chunk of messages for the analyzers and writing their results back, in bulk, on both databases.

The pipeline runs at tens of thousands of messages per second, where SQLAlchemy's per-row processing costs
more than the database: like `bulk.py`, this speaks DB-API directly. A chunk is read in one query, and each
analyzer's results are written in two statements: its hot columns (only the rows whose value changed) and
its rows of the `enrichment` side table (an upsert).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table

from pilote.bulk import db_time
from pilote.enrich.base import Result
from pilote.models import Message, utcnow

message_t = cast(Table, Message.__table__)
Row = tuple[Any, ...]  # a Text's first fields, in order: what travels to a worker process
STORED = 7  # id, kind, title, text, author, author_url, language: the fields of Text read from the store


@dataclass(slots=True)
class Chunk:
    """Messages read for analysis, with the current values of the hot columns the analyzers may change."""

    rows: list[Row]
    current: dict[str, list[Any]]  # column → value per row


def _marks(conn: Connection, count: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def read(conn: Connection, ids: Sequence[int], columns: Sequence[str]) -> Chunk:
    """The messages with these ids, in id order, as Text rows plus the current values of `columns`."""
    extra = "".join(f", m.{name}" for name in columns)
    head = (
        "SELECT m.id, m.kind, m.title, m.text, coalesce(a.display_name, a.handle), a.profile_url, m.language"
        f"{extra} FROM message m LEFT JOIN author a ON a.id = m.author_id"
    )
    if conn.dialect.name == "postgresql":
        found = conn.exec_driver_sql(f"{head} WHERE m.id = ANY(%s) ORDER BY m.id", (list(ids),)).all()
    else:
        found = conn.exec_driver_sql(f"{head} WHERE m.id IN ({_marks(conn, len(ids))}) ORDER BY m.id",
                                     tuple(ids)).all()  # fmt: skip
    width = STORED
    rows = [(*row[:3], row[3] or "", *row[4:width]) for row in found]
    current = {name: [row[width + i] for row in found] for i, name in enumerate(columns)}
    return Chunk(rows=rows, current=current)


def write(conn: Connection, chunk: Chunk, where: Sequence[int], name: str, version: str, columns: Sequence[str],
          results: Sequence[Result]) -> None:  # fmt: skip
    """One analyzer's results for the rows at positions `where`: changed hot columns, then the side table."""
    ids = [chunk.rows[i][0] for i in where]
    for column in columns:
        old = chunk.current[column]
        changed = [(ids[n], r.get(column)) for n, (i, r) in enumerate(zip(where, results, strict=True))
                   if r.get(column) != old[i]]  # fmt: skip
        _update_column(conn, column, changed)
        for i, r in zip(where, results, strict=True):
            old[i] = r.get(column)
    now = db_time(conn)(utcnow())
    rows = []
    for message_id, result in zip(ids, results, strict=True):
        extra = {key: value for key, value in result.items() if key not in columns}
        rows.append((message_id, name, version, orjson.dumps(extra).decode() if extra else None, now))
    _upsert_enrichment(conn, rows)


def _update_column(conn: Connection, column: str, changed: list[tuple[int, Any]]) -> None:
    if not changed:
        return
    if conn.dialect.name == "postgresql":
        kind = message_t.c[column].type.compile(dialect=conn.dialect)
        sql = (f"UPDATE message AS m SET {column} = v.value FROM unnest(%s::bigint[], %s::{kind}[]) AS v(id, value)"
               " WHERE m.id = v.id")  # fmt: skip
        conn.exec_driver_sql(sql, ([i for i, _ in changed], [v for _, v in changed]))
        return
    conn.exec_driver_sql(f"UPDATE message SET {column} = ? WHERE id = ?", [(v, i) for i, v in changed])


_UPSERT = (
    " ON CONFLICT (message_id, analyzer) DO UPDATE"
    " SET version = excluded.version, value = excluded.value, updated_at = excluded.updated_at"
)


def _upsert_enrichment(conn: Connection, rows: list[Row]) -> None:
    if not rows:
        return
    head = "INSERT INTO enrichment (message_id, analyzer, version, value, updated_at)"
    if conn.dialect.name == "postgresql":
        columns = [list(column) for column in zip(*rows, strict=True)]
        values = " SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::varchar[], %s::text[], %s::timestamp[])"
        conn.exec_driver_sql(head + values + _UPSERT, tuple(columns))
        return
    conn.exec_driver_sql(f"{head} VALUES ({_marks(conn, 5)}){_UPSERT}", rows)
