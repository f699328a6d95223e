"""Chart specifications for pilote.js: plain data that templates put in data-chart attributes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pilote.views.timeseries import TimeSeries
from pilote.web.i18n import Formatter

SKELETONS = {"hour": "MMMd", "day": "MMMEd", "week": "yMMMd"}
MAX_LINES = 8


def axis(t: Formatter, starts: list[datetime], bucket: str) -> list[str]:
    """Bucket starts as short labels in the reader's locale and time zone."""
    return [t.short(start, SKELETONS.get(bucket, "MMMd"), with_time=bucket == "hour") for start in starts]


def lines(t: Formatter, series: TimeSeries, kind: str = "line", *, stack: bool = False,
          names: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """A time series as a chart: one line (or stacked area, or bars) per key, the biggest first."""
    shown = list(series.lines.items())[:MAX_LINES]
    return {
        "type": kind,
        "stack": stack,
        "x": axis(t, series.starts, series.bucket),
        "series": [{"key": key, "name": (names or {}).get(key, key), "data": values} for key, values in shown],
    }


def with_previous(chart: dict[str, Any], previous: list[int | None], name: str) -> dict[str, Any]:
    """Add the previous period's total as a dashed line, aligned bucket by bucket (None where it stops)."""
    chart["series"].append({"key": "previous", "name": name, "data": previous[: len(chart["x"])], "dashed": True})
    return chart


def pie(parts: dict[str, int], names: dict[str, str] | None = None) -> dict[str, Any]:
    """Shares of a whole (sentiment mix...)."""
    data = [{"key": key, "name": (names or {}).get(key, key), "value": value} for key, value in parts.items() if value]
    return {"type": "pie", "series": [{"data": data}]}
