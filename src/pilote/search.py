"""Full-text search over messages: FTS5 on SQLite, French + English tsvector on PostgreSQL."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Integer, column, func, literal_column, select, table
from sqlalchemy.engine import Dialect

from pilote.errors import Invalid
from pilote.models import Message

_TOKEN = re.compile(r"\w+", re.UNICODE)
_fts = table("message_fts", column("rowid", Integer))


def fts5_query(text: str) -> str:
    """User words as an FTS5 query: every word must match, the last one as a prefix."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        raise Invalid(f"search {text!r}: give at least one word")
    quoted = [f'"{token}"' for token in tokens]
    quoted[-1] += "*"
    return " ".join(quoted)


def matches(dialect: Dialect, text: str) -> ColumnElement[bool]:
    """A condition on Message that is true for messages containing the words (accents ignored)."""
    if dialect.name == "sqlite":
        match = literal_column("message_fts").op("MATCH")(fts5_query(text))
        return Message.id.in_(select(_fts.c.rowid).where(match))
    if not _TOKEN.search(text):
        raise Invalid(f"search {text!r}: give at least one word")
    french = func.websearch_to_tsquery(literal_column("'pilote_french'::regconfig"), text)
    english = func.websearch_to_tsquery(literal_column("'pilote_english'::regconfig"), text)
    return literal_column("message.search").op("@@")(french.op("||")(english))
