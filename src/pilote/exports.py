"""Writing messages out as JSONL, CSV or Parquet, one record per message (schema: docs/export.md)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import orjson

from pilote.errors import Invalid
from pilote.messages import EXPORT_FIELDS

FORMATS = ("jsonl", "csv", "parquet")
PARQUET_ROWS = 20_000


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """A record with ISO 8601 dates (with offset), in the documented field order."""
    out = {name: record.get(name) for name in EXPORT_FIELDS}
    out["created_at"], out["edited_at"] = _iso(record["created_at"]), _iso(record["edited_at"])
    return out


def write(
    records: Iterable[dict[str, Any]], *, format: str, out: IO[bytes] | Path, on_row: Callable[[], None] | None = None
) -> int:
    """Write records in `format` to a binary stream or a file path; returns how many were written."""
    if format not in FORMATS:
        raise Invalid(f"unknown export format {format!r}: use one of {', '.join(FORMATS)}")
    rows = (_tick(flat(record), on_row) for record in records)
    if format == "parquet":
        if not isinstance(out, Path):
            raise Invalid("parquet needs a file: pass --out FILE")
        return _parquet(rows, out)
    if isinstance(out, Path):
        partial = out.with_name(out.name + ".partial")
        with partial.open("wb") as handle:
            count = _TEXT_WRITERS[format](rows, handle)
        partial.replace(out)  # the file appears only once complete
        return count
    return _TEXT_WRITERS[format](rows, out)


def _tick(row: dict[str, Any], on_row: Callable[[], None] | None) -> dict[str, Any]:
    if on_row is not None:
        on_row()
    return row


def _jsonl(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    count = 0
    for row in rows:
        out.write(orjson.dumps(row) + b"\n")
        count += 1
    return count


def _csv(rows: Iterator[dict[str, Any]], out: IO[bytes]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(EXPORT_FIELDS)
    count = 0
    for row in rows:
        row["labels"] = orjson.dumps(row["labels"]).decode()
        row["keyphrases"] = None if row["keyphrases"] is None else orjson.dumps(row["keyphrases"]).decode()
        writer.writerow(["" if value is None else value for value in row.values()])
        count += 1
    text.detach()
    return count


_TEXT_WRITERS = {"jsonl": _jsonl, "csv": _csv}


def _parquet(rows: Iterator[dict[str, Any]], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("id", pa.int64()), ("workspace", pa.string()), ("source", pa.string()), ("kind", pa.string()),
        ("external_id", pa.string()), ("parent_id", pa.int64()), ("thread_id", pa.int64()),
        ("author_handle", pa.string()), ("author_name", pa.string()), ("author_url", pa.string()),
        ("created_at", pa.string()), ("edited_at", pa.string()), ("title", pa.string()), ("text", pa.string()),
        ("url", pa.string()), ("language", pa.string()), ("likes", pa.int64()), ("shares", pa.int64()),
        ("replies", pa.int64()), ("views", pa.int64()), ("sentiment", pa.string()), ("sentiment_score", pa.float64()),
        ("spam", pa.bool_()), ("spam_probability", pa.float64()), ("toxicity_probability", pa.float64()),
        ("intent", pa.string()), ("keyphrases", pa.list_(pa.string())), ("labels", pa.string()),
    ])  # fmt: skip
    partial = path.with_name(path.name + ".partial")
    count = 0
    with pq.ParquetWriter(partial, schema) as writer:
        chunk: list[dict[str, Any]] = []
        for row in rows:
            row["labels"] = orjson.dumps(row["labels"]).decode()
            chunk.append(row)
            if len(chunk) >= PARQUET_ROWS:
                writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
                count, chunk = count + len(chunk), []
        writer.write_table(pa.Table.from_pylist(chunk, schema=schema))
        count += len(chunk)
    partial.replace(path)
    return count
