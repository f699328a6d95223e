"""Date parsing shared by the importers: always returns an aware UTC datetime, or raises ValueError."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

_X_FORMAT = "%a %b %d %H:%M:%S %z %Y"  # Fri Mar 06 13:02:05 +0000 2026


def parse_date(value: str | float | int) -> datetime:
    """ISO 8601, Unix seconds, RFC 2822, X's format or WordPress's `YYYY-MM-DD HH:MM:SS` (UTC)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value))
    text = str(value).strip()
    if not text:
        raise ValueError("empty date")
    if _looks_numeric(text):
        return _from_epoch(float(text))
    if text.startswith("0000-00-00"):
        raise ValueError(f"{text!r} is WordPress's 'no date'")
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        parsed = _parse_other(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _looks_numeric(text: str) -> bool:
    return text.replace(".", "", 1).isdigit() and len(text) >= 9


def _from_epoch(seconds: float) -> datetime:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):  # a number of seconds past any calendar: said as such
        raise ValueError("a number too large to be a date (seconds or milliseconds since 1970)") from None


def _parse_other(text: str) -> datetime:
    try:
        return datetime.strptime(text, _X_FORMAT)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"{text!r} is not a date Pilote knows (ISO 8601, RFC 2822 or Unix time)") from None
