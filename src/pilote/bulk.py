"""Fast bulk writes on both databases: client-side ids and plain DB-API executemany.

The ORM and even Core's per-row parameter processing cost more than the database itself at tens of
thousands of rows per second, so the hot path speaks DB-API directly. Values must already be in
database form: `db_time` turns aware datetimes into what the column type would have stored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, text

TimeAdapter = Callable[[datetime | None], Any]


def _sqlite_time(value: datetime | None) -> str | None:
    # The exact format SQLAlchemy's SQLite DateTime type stores, so both paths read back alike.
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def db_time(conn: Connection) -> TimeAdapter:
    """How datetimes are written on this connection's database."""
    return _sqlite_time if conn.dialect.name == "sqlite" else _naive_utc


def seconds_sql(conn: Connection, column: str) -> str:
    """SQL: seconds since 1970 (UTC) of a timestamp column (stored as naive UTC on both databases)."""
    if conn.dialect.name == "sqlite":
        return f"(julianday({column}) - 2440587.5) * 86400.0"
    return f"CAST(extract(epoch FROM {column}) AS double precision)"


def allocate_ids(conn: Connection, table: str, count: int) -> list[int]:
    """Reserve `count` primary keys, so rows can point at each other before they are inserted.

    SQLite has one writer at a time: the caller's transaction must already hold the write lock (it
    has written something), so max(id) cannot move under us. PostgreSQL draws from the sequence.
    """
    if count == 0:
        return []
    if conn.dialect.name == "sqlite":
        start = conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar_one() + 1
        return list(range(start, start + count))
    query = text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)")
    return [row[0] for row in conn.execute(query, {"n": count})]


def messages_by_external_id(
    conn: Connection, source_id: int, external_ids: Sequence[str], columns: Sequence[str]
) -> list[tuple[Any, ...]]:
    """`columns` of a source's messages with these external ids, as plain tuples (no ORM row objects)."""
    if not external_ids:
        return []
    selected = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(external_ids))
        sql = f"SELECT {selected} FROM message WHERE source_id = ? AND external_id IN ({marks})"
        return list(conn.exec_driver_sql(sql, (source_id, *external_ids)))
    sql = f"SELECT {selected} FROM message WHERE source_id = %s AND external_id = ANY(%s)"
    return list(conn.exec_driver_sql(sql, (source_id, list(external_ids))))


def placeholder(conn: Connection) -> str:
    """The parameter mark of the connection's driver ("?" for SQLite, "%s" for psycopg)."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def insert_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT many rows whose values are in `columns` order, in one executemany."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, table, columns, rows)
        return
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([placeholder(conn)] * len(columns))})"
    conn.exec_driver_sql(sql, list(rows))


def _copy_rows(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """PostgreSQL's COPY, several times faster than executemany, inside the caller's transaction."""
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def index_new(conn: Connection, ids: Sequence[int]) -> None:
    """Add freshly inserted messages to SQLite's full-text index (PostgreSQL's column is generated)."""
    if not ids or conn.dialect.name != "sqlite":
        return
    low, high = min(ids), max(ids)
    params: tuple[int, ...]
    if high - low + 1 == len(ids):  # allocate_ids hands out contiguous ranges on SQLite
        where, params = "id BETWEEN ? AND ?", (low, high)
    else:
        where, params = f"id IN ({', '.join('?' * len(ids))})", tuple(ids)
    conn.exec_driver_sql(
        f"INSERT INTO message_fts(rowid, title, text) SELECT id, title, text FROM message WHERE {where}", params
    )
