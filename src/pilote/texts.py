"""What people read, in their language: the catalogue of the services' own words (errors, incident titles,
notifications), beside the cockpit's (`web/locale`), and errors said the way a web page says them.

The services write English templates marked with `N_` and keep their values apart; the command line prints
them filled in, a page or an e-mail translates the template first. Catalogue: `locale/`, domain `pilote`
(`locale/README.md` says how to extract and compile it).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache, lru_cache
from gettext import NullTranslations, translation
from pathlib import Path
from typing import Any

from babel.messages.mofile import read_mo

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
    # A value may be a phrase of ours too ("in Bluesky, Settings › ..."); data passes through gettext unchanged.
    params = {k: gettext(v) if isinstance(v, str) and " " in v else v for k, v in (record.get("params") or {}).items()}

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


@cache
def templates() -> tuple[str, ...]:
    """Every template of the services' catalogue that has words of its own, the most words first (an exact
    sentence before a template that is mostly values)."""
    with (LOCALE_DIR / "fr" / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as handle:
        found = [message.id for message in read_mo(handle) if isinstance(message.id, str) and message.id]
    worded = [t for t in found if len(re.sub(r"[^a-z]", "", _PLACEHOLDER.sub("", t).lower())) >= 3]
    return tuple(sorted(worded, key=lambda t: len(_PLACEHOLDER.sub("", t)), reverse=True))


@lru_cache(maxsize=4096)
def _known(text: str) -> tuple[str, dict[str, Any]] | None:
    return recognise(text, templates())


def said_again(text: str, gettext: Callable[[str], str]) -> str | None:
    """An English text the services wrote and something kept (a run's failure, the problems of skipped items,
    a delivery's error), translated by `gettext` from its templates; None when it is not theirs.

    A file's problem is kept as "file: line 3: problem (what to do)": each part is found on its own, and of the
    readings of a text the one whose templates cover most of its words wins."""
    found = _said(text, gettext, 0)
    return found[0] if found is not None else None


def _said(text: str, gettext: Callable[[str], str], depth: int) -> tuple[str, int] | None:
    """The text said again, and how many of its letters the templates cover."""
    readings = []
    if (found := _known(text)) is not None:
        values = {name: gettext(value) if " " in value else value for name, value in found[1].items()}  # phrases
        readings.append((fill(gettext(found[0]), values), _letters(found[0])))
    if depth <= 3:
        for cut in (match.start() for match in re.finditer(": ", text)):
            problem = _said(text[cut + 2 :], gettext, depth + 1)
            if problem is not None:
                place = _said(text[:cut], gettext, depth + 1)  # "line 3"; a file's name stays as it is
                values = {"place": place[0] if place else text[:cut], "problem": problem[0]}
                readings.append((fill(gettext(PLACED), values), problem[1] + (place[1] if place else 0)))
        opening = _opening(text)
        if opening > 0 and text[opening - 1] == " ":
            problem = _said(text[: opening - 1], gettext, depth + 1)
            hint = _said(text[opening + 1 : -1], gettext, depth + 1)
            if problem is not None:
                values = {"problem": problem[0], "hint": hint[0] if hint else text[opening + 1 : -1]}
                readings.append((fill(gettext(HINTED), values), problem[1] + (hint[1] if hint else 0)))
    return max(readings, key=lambda reading: reading[1]) if readings else None


def _letters(template: str) -> int:
    return len(re.sub(r"[^A-Za-z]", "", _PLACEHOLDER.sub("", template)))


def _opening(text: str) -> int:
    """Where the parenthesis that the text's last character closes opens (-1 when it does not end with one)."""
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(text[index], 0)
        if depth == 0:
            return index if text.endswith(")") else -1
    return -1
