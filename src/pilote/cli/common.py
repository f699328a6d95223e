"""What every command shares: settings, the store, JSON output, dates from the command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine

from pilote.config import Settings, get_settings
from pilote.db import make_engine, migrate
from pilote.errors import Invalid
from pilote.sources.dates import parse_date


def settings() -> Settings:
    """The settings in force for this command."""
    return get_settings()


@contextmanager
def store(config: Settings | None = None) -> Iterator[Engine]:
    """An engine on an up-to-date schema (migrations apply automatically), closed afterwards."""
    engine = make_engine(config or settings())
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()


def print_json(data: Any) -> None:
    """JSON on stdout, dates in ISO 8601."""
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC).decode() + "\n")


def parse_when(value: str | None, option: str) -> datetime | None:
    """A date from the command line, or an Invalid naming the option."""
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as error:
        raise Invalid(f"{option} {value!r}: {error}; use e.g. 2026-01-31 or 2026-01-31T08:00:00+01:00") from None
