"""The searched words marked in a message's text, which stays escaped: strangers' text is never markup."""

from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup, escape

WORD = re.compile(r"\w+", re.UNICODE)


def marked(text: str | None, query: str | None) -> Markup:
    """`text` escaped, with each word the search matched wrapped in <mark>.

    A word is matched as the search does (search.fts5_query): every searched word, case and accents aside, and
    the last one as the start of a word; a plural in s or x counts as its singular, as PostgreSQL's stemming
    finds it."""
    text = text or ""
    wanted = [_fold(word) for word in WORD.findall(query or "")]
    if not wanted:
        return escape(text)
    parts: list[Markup] = []
    position = 0
    for match in WORD.finditer(text):
        if _matches(_fold(match.group()), wanted):
            parts += [escape(text[position : match.start()]), Markup("<mark>%s</mark>") % match.group()]
            position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


def _matches(word: str, wanted: list[str]) -> bool:
    if word.startswith(wanted[-1]):
        return True
    return any(_singular(word) == _singular(searched) for searched in wanted)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word[-1] in "sx" else word


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
