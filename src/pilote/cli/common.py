"""What every command shares: settings, the store, JSON output, dates from the command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from pilote.config import Settings, get_settings
from pilote.db import make_engine, migrate
from pilote.errors import Invalid, Unavailable
from pilote.keeping import Reader
from pilote.sources.dates import parse_date
from pilote.terminal import err, out


def settings() -> Settings:
    """The settings in force for this command; a bad PILOTE_* value is one line naming the variable."""
    try:
        return get_settings()
    except ValidationError as error:
        raise Invalid("; ".join(_setting_problem(problem) for problem in error.errors())) from None


def _setting_problem(problem: Any) -> str:
    field = ".".join(str(part) for part in problem.get("loc", ()))
    given = problem.get("input")
    return f"PILOTE_{field.upper()}={given!r}: {problem.get('msg', 'not acceptable')} (see docs/configuration.md)"


@contextmanager
def store(config: Settings | None = None) -> Iterator[Engine]:
    """An engine on an up-to-date schema (migrations apply automatically), closed afterwards."""
    config = config or settings()
    try:
        engine = make_engine(config)
    except OSError as error:
        file = isinstance(error, FileExistsError)
        reason = "a file has that name, and it must be a folder" if file else error.strerror
        raise Unavailable(f"cannot create the store's folder PILOTE_HOME={config.home}: {reason}") from None
    try:
        try:
            migrate(engine)
        except OperationalError as error:
            raise unreachable(engine, error) from None
        yield engine
    finally:
        engine.dispose()


def unreachable(engine: Engine, error: OperationalError) -> Unavailable:
    """The database cannot be opened or reached: one line with its address (no password) and the driver's reason."""
    reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error).splitlines()[0]
    where = engine.url.render_as_string(hide_password=True)
    hint = "PILOTE_HOME" if engine.url.get_backend_name() == "sqlite" else "PILOTE_DATABASE_URL"
    return Unavailable(f"cannot open the database {where}: {reason} (check {hint})")


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


def patient(what: str, *, fresh: bool) -> Reader:
    """How a command reads what workers keep: it waits for a computation (said on stderr) where nothing is kept yet,
    and `--fresh` computes even what is kept."""
    said = f"Computing {what} now: this can take a while on a large store…"
    return Reader(patient=True, fresh=fresh, computing=lambda: err.print(said))


def say_computed(computed_at: datetime | None) -> None:
    """Say when a worker computed what is shown (nothing when it was computed now)."""
    if computed_at is not None:
        out.print(f"Computed at {computed_at:%Y-%m-%d %H:%M} UTC by a worker; `--fresh` computes it now.")
