"""Reading a chunk of messages for the analyzers and writing their results back, in bulk, on both databases.

The pipeline runs at tens of thousands of messages per second, where SQLAlchemy's per-row processing costs
more than the database: like `bulk.py`, this speaks DB-API directly. A chunk is read in one query, and the
results of all its analyzers are written in one UPDATE per message whose hot columns changed (a message whose
values are the same is not rewritten) and one upsert of the `enrichment` side table, one row per message: the
versions and values found, over those of the message's row (see `models.Enrichment`).

Results are written only for messages that were not fetched again while they were analysed (`fetched_at`
as read): an import that rewrote one removed its row, which must stay removed. Two runs writing the same
message at once (a manual `pilote enrich` while a sync's enrichment runs) may each write the row without
the other's analyzers: those only count as not analysed, and run again next time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table

from pilote import rollups
from pilote.bulk import db_time, placeholder
from pilote.enrich.base import Result
from pilote.models import Message, json_object, utcnow

message_t = cast(Table, Message.__table__)
Row = tuple[Any, ...]  # a Text's first fields, in order: what travels to a worker process
STORED = 7  # id, kind, title, text, author, author_url, language: the fields of Text read from the store


@dataclass(slots=True)
class Chunk:
    """Messages read for analysis, with the current values of the hot columns the analyzers may change, and
    per row its `enrichment` row's (versions, value), if it has one."""

    rows: list[Row]
    current: dict[str, list[Any]]  # column → value per row
    seen: list[tuple[str, str | None] | None]
    fetched: list[Any]  # message.fetched_at as read, per row
    hours: list[tuple[int, int]]  # (workspace, hour key) of each row: what the dashboards recount after it


@dataclass(frozen=True, slots=True)
class Outcome:
    """One analyzer's results for the rows of a chunk at positions `where`."""

    name: str
    version: str
    columns: tuple[str, ...]
    where: Sequence[int]
    results: Sequence[Result]


def of_ids(conn: Connection, sql: str, ids: Sequence[int], *params: Any, order: str = "") -> Sequence[Row]:
    """The rows of `sql`, a query on `message m` with `params`, for the messages with these ids."""
    if conn.dialect.name == "postgresql":
        return conn.exec_driver_sql(f"{sql} WHERE m.id = ANY(%s) {order}", (*params, list(ids))).all()
    marks = ", ".join([placeholder(conn)] * len(ids))
    return conn.exec_driver_sql(f"{sql} WHERE m.id IN ({marks}) {order}", (*params, *ids)).all()


def read(conn: Connection, ids: Sequence[int], columns: Sequence[str]) -> Chunk:
    """The messages with these ids, in id order, as Text rows plus the current values of `columns`, what
    their enrichment row holds and their hours."""
    extra = "".join(f", m.{name}" for name in columns)
    head = (
        "SELECT m.id, m.kind, m.title, m.text, coalesce(a.display_name, a.handle), a.profile_url, m.language"
        f"{extra}, m.workspace_id, {rollups.hour_sql(conn, 'm.created_at')}, m.fetched_at, e.versions, e.value"
        " FROM message m LEFT JOIN author a ON a.id = m.author_id LEFT JOIN enrichment e ON e.message_id = m.id"
    )
    found = of_ids(conn, head, ids, order="ORDER BY m.id")
    width = STORED
    rows = [(*row[:3], row[3] or "", *row[4:width]) for row in found]
    current = {name: [row[width + i] for row in found] for i, name in enumerate(columns)}
    seen = [(row[-2], row[-1]) if row[-2] is not None else None for row in found]
    hours = [(row[-5], int(row[-4])) for row in found]
    return Chunk(rows=rows, current=current, seen=seen, fetched=[row[-3] for row in found], hours=hours)


def write(conn: Connection, chunk: Chunk, outcomes: Sequence[Outcome]) -> None:
    """The chunk's results: each changed message updated once, then each analysed message's enrichment row."""
    changed: dict[tuple[str, ...], list[Row]] = {}  # changed columns → (values..., id) of the rows to update
    for i, values in _changes(chunk, outcomes).items():
        changed.setdefault(tuple(values), []).append((*values.values(), chunk.rows[i][0], chunk.fetched[i]))
    for columns, rows in changed.items():
        _update(conn, columns, rows)
    _upsert_enrichment(conn, _side_rows(chunk, outcomes, db_time(conn)(utcnow())))


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


def _side_rows(chunk: Chunk, outcomes: Sequence[Outcome], now: Any) -> list[Row]:
    """One enrichment row per analysed message: this run's analyzers' versions and values over those stored
    (an analyzer that found no extra value this time drops its old one)."""
    found: dict[int, tuple[dict[str, str], dict[str, Result]]] = {}  # position → versions, values
    for outcome in outcomes:
        name, version = outcome.name, outcome.version
        for i, extra in zip(outcome.where, _extras(outcome.results, frozenset(outcome.columns)), strict=True):
            entry = found.get(i)
            if entry is None:
                entry = found[i] = _stored(chunk.seen[i])
            entry[0][name] = version
            if extra:
                entry[1][name] = extra
            elif entry[1]:
                entry[1].pop(name, None)
    dumps = orjson.dumps
    return [
        (chunk.rows[i][0], dumps(versions).decode(), dumps(values).decode() if values else None, now, chunk.fetched[i])
        for i, (versions, values) in sorted(found.items())
    ]


def _stored(seen: tuple[str, str | None] | None) -> tuple[dict[str, str], dict[str, Result]]:
    """A row's versions and values as dicts (empty if there is no row or it is unreadable)."""
    if seen is None:
        return {}, {}
    return json_object(seen[0]), json_object(seen[1])


def _extras(results: Sequence[Result], columns: frozenset[str]) -> Sequence[Result | None]:
    """Each result's values that have no column (None where there are none)."""
    keys = results[0].keys() if results else {}.keys()
    if all(r.keys() == keys for r in results):  # the usual case: the same keys in every result
        extra = [key for key in keys if key not in columns]
        if not extra:
            return [None] * len(results)
        if len(extra) == len(keys):
            return results
        return [{key: r[key] for key in extra} for r in results]
    return [{key: value for key, value in r.items() if key not in columns} or None for r in results]


def _update(conn: Connection, columns: tuple[str, ...], rows: list[Row]) -> None:
    """Set `columns` of the messages: each row holds their values, then the message's id and `fetched_at` as
    read (a message fetched again since is left as the import wrote it)."""
    if conn.dialect.name == "postgresql":
        kinds = [message_t.c[column].type.compile(dialect=conn.dialect) for column in columns]
        unnest = ", ".join(["%s::bigint[]", "%s::timestamp[]", *(f"%s::{kind}[]" for kind in kinds)])
        names = ", ".join(f"v{n}" for n in range(len(columns)))
        sets = ", ".join(f"{column} = v.v{n}" for n, column in enumerate(columns))
        sql = (
            f"UPDATE message AS m SET {sets} FROM unnest({unnest}) AS v(id, fetched, {names})"
            " WHERE m.id = v.id AND m.fetched_at = v.fetched"
        )
        values = [list(column) for column in zip(*rows, strict=True)]
        conn.exec_driver_sql(sql, (values[-2], values[-1], *values[:-2]))
        return
    sets = ", ".join(f"{column} = ?" for column in columns)
    conn.exec_driver_sql(f"UPDATE message SET {sets} WHERE id = ? AND fetched_at = ?", rows)


_UPSERT = (
    " ON CONFLICT (message_id) DO UPDATE"
    " SET versions = excluded.versions, value = excluded.value, updated_at = excluded.updated_at"
)


def _upsert_enrichment(conn: Connection, rows: list[Row]) -> None:
    """Each row: message id, versions, value, time, and the message's `fetched_at` as read (see `_update`)."""
    if not rows:
        return
    head = "INSERT INTO enrichment (message_id, versions, value, updated_at)"
    if conn.dialect.name == "postgresql":
        columns = [list(column) for column in zip(*rows, strict=True)]
        values = (
            " SELECT v.id, v.versions, v.value, v.at"
            " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamp[], %s::timestamp[])"
            " AS v(id, versions, value, at, fetched) JOIN message m ON m.id = v.id AND m.fetched_at = v.fetched"
        )
        conn.exec_driver_sql(head + values + _UPSERT, tuple(columns))
        return
    unchanged = "WHERE EXISTS (SELECT 1 FROM message WHERE id = ? AND fetched_at = ?)"
    sql = f"{head} SELECT ?, ?, ?, ? {unchanged}{_UPSERT}"
    conn.exec_driver_sql(sql, [(*row[:4], row[0], row[4]) for row in rows])
