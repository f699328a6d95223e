"""Reading a chunk of messages for the analyzers and writing their results back, in bulk, on both databases.

The pipeline runs at tens of thousands of messages per second, where SQLAlchemy's per-row processing costs
more than the database: like `bulk.py`, this speaks DB-API directly. A chunk is read in one query, and the
results of all its analyzers are written in one UPDATE per message whose hot columns changed (a message whose
values are the same is not rewritten) and one upsert of the `enrichment` side table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
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


@dataclass(frozen=True, slots=True)
class Outcome:
    """One analyzer's results for the rows of a chunk at positions `where`."""

    name: str
    version: str
    columns: tuple[str, ...]
    where: Sequence[int]
    results: Sequence[Result]


def mark(conn: Connection) -> str:
    """The parameter mark of the connection's driver."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def of_ids(conn: Connection, sql: str, ids: Sequence[int], *params: Any, order: str = "") -> Sequence[Row]:
    """The rows of `sql`, a query on `message m` with `params`, for the messages with these ids."""
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(f"{sql} WHERE m.id = ANY(%s) {order}", (*params, list(ids))).all()
    marks = ", ".join([mark(conn)] * len(ids))
    return conn.exec_driver_sql(f"{sql} WHERE m.id IN ({marks}) {order}", (*params, *ids)).all()


def read(conn: Connection, ids: Sequence[int], columns: Sequence[str]) -> Chunk:
    """The messages with these ids, in id order, as Text rows plus the current values of `columns`."""
    extra = "".join(f", m.{name}" for name in columns)
    head = (
        "SELECT m.id, m.kind, m.title, m.text, coalesce(a.display_name, a.handle), a.profile_url, m.language"
        f"{extra} FROM message m LEFT JOIN author a ON a.id = m.author_id"
    )
    found = of_ids(conn, head, ids, order="ORDER BY m.id")
    width = STORED
    rows = [(*row[:3], row[3] or "", *row[4:width]) for row in found]
    current = {name: [row[width + i] for row in found] for i, name in enumerate(columns)}
    return Chunk(rows=rows, current=current)


def write(conn: Connection, chunk: Chunk, outcomes: Sequence[Outcome]) -> None:
    """The chunk's results: each changed message updated once, then every analyzer's row of the side table."""
    changed: dict[tuple[str, ...], list[Row]] = {}  # changed columns → (values..., id) of the rows to update
    for i, values in _changes(chunk, outcomes).items():
        changed.setdefault(tuple(values), []).append((*values.values(), chunk.rows[i][0]))
    for columns, rows in changed.items():
        _update(conn, columns, rows)
    now = db_time(conn)(utcnow())
    _upsert_enrichment(conn, [row for outcome in outcomes for row in _side_rows(chunk, outcome, now)])


def _changes(chunk: Chunk, outcomes: Sequence[Outcome]) -> dict[int, dict[str, Any]]:
    """Per position, the hot columns whose last value found differs from the stored one (in column order)."""
    last: dict[str, dict[int, Any]] = {}
    for outcome in outcomes:
        for column in outcome.columns:
            last.setdefault(column, {}).update(zip(outcome.where, [r.get(column) for r in outcome.results],
                                                   strict=True))  # fmt: skip
    changes: dict[int, dict[str, Any]] = {}
    for column, values in last.items():
        stored = chunk.current[column]
        for i, value in values.items():
            if value != stored[i]:
                changes.setdefault(i, {})[column] = value
    return changes


def _side_rows(chunk: Chunk, outcome: Outcome, now: Any) -> list[Row]:
    """The analyzer's rows of the side table: the values it has no column for, as JSON."""
    ids = [chunk.rows[i][0] for i in outcome.where]
    values = _extras(outcome.results, frozenset(outcome.columns))
    return list(zip(ids, repeat(outcome.name), repeat(outcome.version), values, repeat(now)))


def _extras(results: Sequence[Result], columns: frozenset[str]) -> list[str | None]:
    keys = results[0].keys() if results else {}.keys()
    if all(r.keys() == keys for r in results):  # the usual case: the same keys in every result
        extra = [key for key in keys if key not in columns]
        if not extra:
            return [None] * len(results)
        if len(extra) == 1:
            key = extra[0]
            return [orjson.dumps({key: r[key]}).decode() for r in results]
    return [_extra(result, columns) for result in results]


def _extra(result: Result, columns: frozenset[str]) -> str | None:
    extra = {key: value for key, value in result.items() if key not in columns}
    return orjson.dumps(extra).decode() if extra else None


def _update(conn: Connection, columns: tuple[str, ...], rows: list[Row]) -> None:
    """Set `columns` of the messages: each row holds their values, then the message's id."""
    if conn.dialect.name == "postgresql":
        kinds = [message_t.c[column].type.compile(dialect=conn.dialect) for column in columns]
        unnest = ", ".join(["%s::bigint[]", *(f"%s::{kind}[]" for kind in kinds)])
        names = ", ".join(f"v{n}" for n in range(len(columns)))
        sets = ", ".join(f"{column} = v.v{n}" for n, column in enumerate(columns))
        sql = f"UPDATE message AS m SET {sets} FROM unnest({unnest}) AS v(id, {names}) WHERE m.id = v.id"
        values = [list(column) for column in zip(*rows, strict=True)]
        conn.exec_driver_sql(sql, (values[-1], *values[:-1]))
        return
    sets = ", ".join(f"{column} = ?" for column in columns)
    conn.exec_driver_sql(f"UPDATE message SET {sets} WHERE id = ?", rows)


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
    conn.exec_driver_sql(f"{head} VALUES ({', '.join([mark(conn)] * 5)}){_UPSERT}", rows)
