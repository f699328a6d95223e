"""One error family, mapped to HTTP statuses and CLI exits in one place each."""

from __future__ import annotations

from pathlib import Path


class PiloteError(Exception):
    """Base of every error a person can act on."""

    exit_code = 1
    http_status = 400


class NotFound(PiloteError):
    """A named thing (workspace, source, message) does not exist."""

    http_status = 404


class Invalid(PiloteError):
    """An argument or setting is not acceptable."""

    http_status = 422


class BadInput(Invalid):
    """A file cannot be read: says which file, where in it, what was expected and what to do."""

    def __init__(self, path: Path | str, where: str | None, problem: str, hint: str | None = None) -> None:
        self.path = str(path)
        self.where = where
        self.problem = problem
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        location = f"{self.path}: {self.where}" if self.where else self.path
        text = f"{location}: {self.problem}"
        return f"{text} ({self.hint})" if self.hint else text


class Unavailable(PiloteError):
    """Something Pilote needs is not there or not reachable: the database, a folder, a port."""

    http_status = 503


class Forbidden(PiloteError):
    """The person is known, but their role does not allow this."""

    http_status = 403


class Conflict(PiloteError):
    """Someone else changed the thing meanwhile: read it again, then decide."""

    http_status = 409
