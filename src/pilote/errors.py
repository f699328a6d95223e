"""One error family, mapped to HTTP statuses and CLI exits in one place each.

An error's text is an English template and its values (`NotFound("no message %(id)s", id=7)`): the command
line prints it filled in, as it always did; a web page translates the template first (`pilote.texts`), so a
French reader reads it in French. `web` is the wording for a page when the command line's names a flag or a
command (`pass --format` there, "choose the format in the list" on a page).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def fill(template: str, params: dict[str, Any]) -> str:
    """A template with its %(name)s placeholders filled (as it is when it has no values)."""
    return template % params if params else template


class PiloteError(Exception):
    """Base of every error a person can act on."""

    exit_code = 1
    http_status = 400

    def __init__(self, message: str = "", /, *, web: str | None = None, **params: Any) -> None:
        self.template, self.web, self.params = message, web, params
        super().__init__(fill(message, params))

    def record(self) -> dict[str, Any]:
        """What a page needs to say this error again later in its reader's language (stored as JSON: values that
        are not plain, such as an exception, are kept as their text)."""
        plain = (str, int, float, bool, type(None))
        params = {name: value if isinstance(value, plain) else str(value) for name, value in self.params.items()}
        return {"template": self.template, "web": self.web, "params": params}


class NotFound(PiloteError):
    """A named thing (workspace, source, message) does not exist."""

    http_status = 404


class Invalid(PiloteError):
    """An argument or setting is not acceptable."""

    http_status = 422


class BadInput(Invalid):
    """A file cannot be read: says which file, where in it, what was expected and what to do.

    `where`, `problem` and `hint` are templates filled with the same values (the attributes hold them filled in);
    `web` replaces the hint on a page.
    """

    def __init__(
        self, path: Path | str, where: str | None, problem: str, hint: str | None = None, *, web: str | None = None,
        **params: Any,
    ) -> None:  # fmt: skip
        self.path = str(path)
        self.where = fill(where, params) if where else where
        self.problem = fill(problem, params)
        self.hint = fill(hint, params) if hint else hint
        self.templates = (where, hint)
        self.template, self.web, self.params = problem, web, params
        Exception.__init__(self, str(self))

    def __str__(self) -> str:
        location = f"{self.path}: {self.where}" if self.where else self.path
        text = f"{location}: {self.problem}"
        return f"{text} ({self.hint})" if self.hint else text

    def record(self) -> dict[str, Any]:
        where, hint = self.templates
        return {**super().record(), "path": self.path, "where": where, "hint": hint}


class Unavailable(PiloteError):
    """Something Pilote needs is not there or not reachable: the database, a folder, a port."""

    http_status = 503


class Forbidden(PiloteError):
    """The person is known, but their role does not allow this."""

    http_status = 403


class Conflict(PiloteError):
    """Someone else changed the thing meanwhile: read it again, then decide."""

    http_status = 409
