"""What people read, in their language: the catalogue of the services' own words (errors, incident titles,
notifications), beside the cockpit's (`web/locale`), and errors said the way a web page says them.

The services write English templates marked with `N_` and keep their values apart; the command line prints
them filled in, a page or an e-mail translates the template first. Catalogue: `locale/`, domain `pilote`
(`locale/README.md` says how to extract and compile it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from gettext import NullTranslations, translation
from pathlib import Path
from typing import Any

from pilote.errors import PiloteError, fill

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "pilote"
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "fr")


def N_(message: str) -> str:  # noqa: N802 (the name gettext tools look for)
    """Mark a string for translation without translating it yet."""
    return message


PLACED = N_("%(place)s: %(problem)s")  # where a file's problem is: its name, then a line or a field
HINTED = N_("%(problem)s (%(hint)s)")  # and what to do about it
# A command-line flag (`--format`) or a command (`pilote sync ...`): words of the terminal, not of a page.
_COMMAND = re.compile(r"(?<![\w-])--[a-z][\w-]*|`pilote\b[^`]*`|\bpilote (?:[a-z]+ )*--")
_CLAUSE = re.compile(r": |; | \(|, | — ")


@cache
def catalogue(language: str) -> NullTranslations:
    """The compiled catalogue of the services' words in a language (English is the source language)."""
    return translation(DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True)


def say(language: str, template: str, params: dict[str, Any] | None = None) -> str:
    """A template in a language, filled with its values."""
    return fill(catalogue(language).gettext(template), params or {})


def names_a_command(text: str) -> bool:
    """Whether a text names a command-line flag or a `pilote` command."""
    return _COMMAND.search(text) is not None


def without_commands(text: str) -> str:
    """A text cut before the clause that names a flag or a command (the rest is for the terminal)."""
    found = _COMMAND.search(text)
    if found is None:
        return text
    cuts = [match.start() for match in _CLAUSE.finditer(text, 0, found.start())]
    if cuts and cuts[-1] > 0:
        return text[: cuts[-1]].rstrip(" ,;:(")
    return _COMMAND.sub("", text).strip(" ,;:")


def error_text(error: PiloteError | dict[str, Any], gettext: Callable[[str], str]) -> str:
    """An error (or its stored record) as a page says it: translated by `gettext`, never naming a flag."""
    record = error.record() if isinstance(error, PiloteError) else error
    params = record.get("params") or {}

    def said(template: str) -> str:
        return fill(gettext(template), params)

    if "path" not in record:
        return without_commands(said(record.get("web") or record["template"]))
    # A file's problem: which file, where, what, and what to do on the page (not on the command line).
    text = said(record["template"])
    for place in (record.get("where") and said(record["where"]), record["path"]):
        if place:
            text = fill(gettext(PLACED), {"place": place, "problem": text})
    hint = record.get("web") or record.get("hint")
    if hint and not names_a_command(said(hint)):
        text = fill(gettext(HINTED), {"problem": text, "hint": said(hint)})
    return without_commands(text)


_PLACEHOLDER = re.compile(r"%\((\w+)\)([sr])|%%")


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """A regular expression that matches the template filled in, capturing each value."""
    parts, seen, position = [], set(), 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        name = match.group(1)
        if name is None:
            parts.append("%")
        elif name in seen:
            parts.append(f"(?P={name})")
        else:
            seen.add(name)
            parts.append(f"(?P<{name}>.+?)")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


def recognise(text: str, templates: Iterable[str]) -> tuple[str, dict[str, Any]] | None:
    """The template (and its values) a stored English text was filled from, for texts kept as they were said
    (an incident's title, its log): the first that matches, or None."""
    for template in templates:
        found = _pattern(template).match(text)
        if found is not None:
            return template, _values(template, found.groupdict())
    return None


def _values(template: str, found: dict[str, str]) -> dict[str, Any]:
    """Captured values, `%(name)r` ones read back from their quotes (so that filling again gives the same text)."""
    quoted = {m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(2) == "r"}
    return {name: _unquote(value) if name in quoted else value for name, value in found.items()}


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
