"""Dates as sources write them; what is not a date is a ValueError a reader can act on, never a crash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pilote.sources.dates import parse_date


def test_unix_seconds_and_milliseconds_read_as_the_same_moment() -> None:
    assert parse_date("1700000000") == parse_date(1_700_000_000_000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize("value", ["9" * 40, 1e300, "12345678901234567890"])
def test_a_number_too_large_to_be_a_date_is_a_plain_value_error(value: str | float) -> None:
    with pytest.raises(ValueError, match="too large to be a date"):
        parse_date(value)
