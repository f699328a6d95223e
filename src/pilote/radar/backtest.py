"""Backtesting: read a `timestamp,value` history and replay it through a detector, point by point."""

from __future__ import annotations

import csv
import itertools
import math
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pilote.errors import BadInput
from pilote.radar.detectors import Decision, Detector

HEADER = ("timestamp", "value")
HEADER_HINT = "the first line must be the header `timestamp,value`"


@dataclass(frozen=True, slots=True)
class Series:
    """A regular series read from a file: raw timestamp texts, parsed times, values, inferred step."""

    path: Path
    texts: list[str]
    times: list[datetime]
    values: list[float]
    step_seconds: float


@dataclass(frozen=True, slots=True)
class Alert:
    """An alert the detector would have raised, with the timestamp as the file wrote it."""

    timestamp: str
    score: float
    severity: str

    def as_json(self) -> dict[str, object]:
        """The JSON form printed by `pilote radar backtest --json`."""
        return {"timestamp": self.timestamp, "score": round(self.score, 4), "severity": self.severity}


def read_series(path: Path, *, ordered: bool = True) -> Series:
    """The series in a `timestamp,value` CSV file, or a BadInput naming the file, the line and the fix.

    `ordered=False` accepts a timestamp that repeats or steps back (a clock change in a benchmark's file, whose
    rows are scored by position): the rows are kept as written.
    """
    texts: list[str] = []
    times: list[datetime] = []
    values: list[float] = []
    for line, stamp, when, value in _rows(path):
        if times:
            _check_order(path, line, stamp, when, times[-1], ordered)
        texts.append(stamp)
        times.append(when)
        values.append(value)
    if not times:
        raise BadInput(path, None, "no data row", "add rows `timestamp,value` under the header")
    return Series(path=path, texts=texts, times=times, values=values, step_seconds=_step(times))


def _check_order(path: Path, line: int, stamp: str, when: datetime, before: datetime, ordered: bool) -> None:
    if (when.tzinfo is None) != (before.tzinfo is None):
        has = "has no time zone, earlier ones do" if when.tzinfo is None else "has a time zone, earlier ones do not"
        raise BadInput(path, f"line {line}", f"timestamp {stamp!r} {has}", "write every timestamp the same way")
    if ordered and when <= before:
        raise BadInput(
            path,
            f"line {line}",
            f"timestamp {stamp!r} is not after the one before it",
            "sort the rows by time and remove duplicates",
        )


def _rows(path: Path) -> Iterator[tuple[int, str, datetime, float]]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise BadInput(path, None, "the file is empty", HEADER_HINT)
            if tuple(cell.strip().lower() for cell in header) != HEADER:
                raise BadInput(path, "line 1", f"header {','.join(header)!r} is not `timestamp,value`", HEADER_HINT)
            for row in reader:
                if row:
                    yield reader.line_num, *_parse(path, reader.line_num, row)
    except UnicodeDecodeError as error:
        raise BadInput(path, None, f"not UTF-8 text ({error.reason})", "save the file as UTF-8") from None
    except csv.Error as error:
        raise BadInput(path, None, f"not a CSV file ({error})", HEADER_HINT) from None
    except OSError as error:
        raise BadInput(path, None, f"cannot be read ({error.strerror})", "check the path") from None


def _parse(path: Path, line: int, row: list[str]) -> tuple[str, datetime, float]:
    if len(row) != 2:
        raise BadInput(path, f"line {line}", f"{len(row)} fields instead of 2", "write `timestamp,value`")
    stamp, raw = row[0].strip(), row[1].strip()
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        raise BadInput(path, f"line {line}", f"bad timestamp {stamp!r}", "use ISO 8601: 2015-02-26 21:42:53") from None
    try:
        value = float(raw)
    except ValueError:
        raise BadInput(path, f"line {line}", f"bad number {raw!r}", "write a plain number such as 12 or 3.5") from None
    if not math.isfinite(value):
        raise BadInput(path, f"line {line}", f"value {raw!r} is not a finite number", "write a plain number")
    return stamp, when, value


def _step(times: list[datetime]) -> float:
    """The series' step: the median gap, so that a few missing points do not change it."""
    if len(times) < 2:
        return 300.0
    return statistics.median((b - a).total_seconds() for a, b in itertools.pairwise(times))


def replay(series: Series, sensitivity: str) -> list[Decision]:
    """Every decision a fresh detector makes on the series, in order."""
    detector = Detector(sensitivity, step_seconds=series.step_seconds)
    return [detector.update(when, value) for when, value in zip(series.times, series.values, strict=True)]


def backtest(path: Path, sensitivity: str = "medium") -> list[Alert]:
    """The alerts a detector at this sensitivity would have raised on the file's history."""
    series = read_series(path)
    decisions = replay(series, sensitivity)
    return [
        Alert(timestamp=text, score=decision.score, severity=decision.severity or "low")
        for text, decision in zip(series.texts, decisions, strict=True)
        if decision.alert
    ]
