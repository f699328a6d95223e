"""The Explorer: full-text search with filters, four orders, keyset cursors, saved searches and labels."""

from __future__ import annotations

import base64
import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Float, Integer, Select, and_, column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session

from pilote import rollups
from pilote import search as fulltext
from pilote.accounts import audit
from pilote.community import counted
from pilote.errors import Invalid, NotFound
from pilote.models import Author, Label, Message, SavedSearch, Source, utcnow
from pilote.texts import N_
from pilote.views.common import MessageCard, card_query, cards, decided_is, is_spam

Sort = Literal["newest", "oldest", "engaged", "relevance"]
SORTS = ("newest", "oldest", "engaged", "relevance")
MAX_LIMIT = 500
COMMON = 2000  # a word in more messages than this is checked while walking the dates, not looked up
COUNT_CAP = 10_000  # a result count stops here: beyond, "more than 10,000" (an exact count can take long)
TOXIC_THRESHOLD = rollups.TOXIC_THRESHOLD
LABELS = {"spam": ("spam", "ham"), "sentiment": ("positive", "neutral", "negative"), "intent": None}
FTS = table("message_fts", column("rowid", Integer), column("rank", Float))


@dataclass(frozen=True, slots=True)
class ExplorerQuery:
    """What the Explorer is asked: words, filters, order, page size and the cursor of the page wanted."""

    workspace_id: int
    text: str | None = None
    source: str | None = None
    channel: str | None = None
    kind: str | None = None
    language: str | None = None
    sentiment: str | None = None
    spam: bool | None = None
    toxic: bool | None = None
    intent: str | None = None
    author: str | None = None
    author_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    unpublished: bool = False  # drafts, scheduled and private posts only, instead of leaving them out
    sort: Sort = "newest"
    limit: int = 50
    cursor: str | None = None


@dataclass(slots=True)
class Page:
    """One page of results, and the cursor of the next one (None on the last page)."""

    items: list[MessageCard]
    next_cursor: str | None
    sort: str


def search(session: Session, query: ExplorerQuery) -> Page:
    """Messages matching a query, one page at a time (stable keyset cursors, no OFFSET)."""
    _check(query)
    sort = query.sort if query.sort != "relevance" or query.text else "newest"
    after = decode_cursor(query.cursor, sort) if query.cursor else None
    if sort == "engaged":
        statement, keys = _most_engaged(session, query, after)
    else:
        statement, keys = _ordered(session, _filtered(session, query), sort, query)
        if after is not None:
            statement = statement.where(_after(sort, keys, after))
    rows = session.execute(statement.limit(query.limit + 1)).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    page = cards(session, rows)
    last = rows[-1] if rows else None
    cursor = encode_cursor(sort, last[-len(keys) :]) if more and last is not None else None
    return Page(items=page, next_cursor=cursor, sort=sort)


@dataclass(frozen=True, slots=True)
class Count:
    """How many messages match a query, up to a cap: `more` says the cap was passed."""

    value: int
    more: bool


def count(session: Session, query: ExplorerQuery, cap: int = COUNT_CAP) -> Count:
    """How many messages match the query's words and filters (order and cursor aside), counting no further than
    `cap`: the database stops at the cap's next row, so a count costs at most what reading that many ids costs."""
    _check(query)
    wanted = dataclasses.replace(query, sort="newest", cursor=None)
    chosen = select(Message.id).where(Message.workspace_id == query.workspace_id, *_conditions(session, wanted))
    if query.source or query.channel:
        chosen = chosen.join(Source, Source.id == Message.source_id)
    found = session.scalar(select(func.count()).select_from(chosen.limit(cap + 1).subquery())) or 0
    return Count(min(found, cap), found > cap)


def _check(query: ExplorerQuery) -> None:
    if query.sort not in SORTS:
        raise Invalid(f"sort {query.sort!r}: use one of {', '.join(SORTS)}")
    if not 1 <= query.limit <= MAX_LIMIT:
        raise Invalid(f"limit {query.limit}: give a number from 1 to {MAX_LIMIT}")
    for name in ("since", "until"):
        moment = getattr(query, name)
        if moment is not None and moment.tzinfo is None:
            raise Invalid(f"{name} {moment.isoformat()}: give a time zone (e.g. +00:00)")


def _filtered(session: Session, query: ExplorerQuery) -> Select[Any]:
    statement = card_query().where(Message.workspace_id == query.workspace_id)
    for condition in _conditions(session, query):
        statement = statement.where(condition)
    return statement


def _conditions(session: Session, query: ExplorerQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = [~counted() if query.unpublished else counted()]
    if query.text and query.sort != "relevance":
        found.append(_words(session, query.text))
    if query.source:
        wanted = query.source
        by_id = Source.id == int(wanted) if wanted.isdigit() else None
        found.append(or_(Source.name == wanted, Source.key == wanted, *(c for c in [by_id] if c is not None)))
    simple = (("channel", Source.channel), ("kind", Message.kind), ("language", Message.language))
    found += [column == getattr(query, name) for name, column in simple if getattr(query, name)]
    if query.sentiment:
        found.append(decided_is("sentiment", Message.sentiment, query.sentiment))
    if query.intent:
        found.append(decided_is("intent", Message.intent, query.intent))
    if query.spam is not None:
        found.append(is_spam(query.spam))
    if query.toxic is not None:
        probability = Message.toxicity_probability
        found.append(probability >= TOXIC_THRESHOLD if query.toxic else probability < TOXIC_THRESHOLD)
    found += _author_and_dates(session, query)
    return found


def _words(session: Session, text: str) -> ColumnElement[bool]:
    """Full-text condition. On SQLite, a word in many messages is checked while walking the date index
    (`id + 0` keeps the planner from starting at the matches), a rare one by looking its matches up."""
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        return fulltext.matches(dialect, text)
    match = literal_column("message_fts").op("MATCH")(fulltext.fts5_query(text))
    probe = list(session.scalars(select(FTS.c.rowid).where(match).limit(COMMON + 1)))
    if len(probe) <= COMMON:
        return Message.id.in_(probe)
    return (Message.id + 0).in_(select(FTS.c.rowid).where(match))


def _authors(session: Session, workspace_id: int, name: str) -> list[int]:
    """Authors with this handle (as written, then in lower case: indexed), else this name in any case."""
    typed = name.strip().lstrip("@")
    in_space = Author.workspace_id == workspace_id
    exact = list(session.scalars(select(Author.id).where(in_space, Author.handle.in_({typed, typed.lower()}))))
    if exact:
        return exact
    wanted = typed.lower()
    matching = or_(func.lower(Author.handle) == wanted, func.lower(Author.display_name) == wanted)
    return list(session.scalars(select(Author.id).where(in_space, matching)))


def _author_and_dates(session: Session, query: ExplorerQuery) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if query.author_id is not None:
        found.append(Message.author_id == query.author_id)
    if query.author:
        found.append(Message.author_id.in_(_authors(session, query.workspace_id, query.author)))
    if query.since is not None:
        found.append(Message.created_at >= query.since)
    if query.until is not None:
        found.append(Message.created_at < query.until)
    return found


def _ordered(
    session: Session, statement: Select[Any], sort: str, query: ExplorerQuery
) -> tuple[Select[Any], list[Any]]:
    """The statement in the wanted order, with the sort keys appended as the last columns."""
    if sort == "relevance":
        score = _relevance(session, query.text or "")
        statement = statement.add_columns(score.label("score"), Message.id.label("key_id"))
        joined = _join_relevance(session, statement, query.text or "")
        return joined.order_by(score, Message.id), [score, Message.id]
    statement = statement.add_columns(Message.created_at.label("key_created"), Message.id.label("key_id"))
    if sort == "oldest":
        return statement.order_by(Message.created_at, Message.id), [Message.created_at, Message.id]
    return statement.order_by(Message.created_at.desc(), Message.id.desc()), [Message.created_at, Message.id]


def _most_engaged(session: Session, query: ExplorerQuery, after: list[Any] | None) -> tuple[Select[Any], list[Any]]:
    """The page's ids are chosen first, on the message table alone: with no filter but dates, from the index on
    (workspace, time, id, engagement) without reading a row; only the page's rows are then joined and read."""
    keys: list[Any] = [Message.engagement, Message.id]
    order = (Message.engagement.desc(), Message.id.desc())
    chosen = select(Message.id).where(Message.workspace_id == query.workspace_id, *_conditions(session, query))
    if query.source or query.channel:
        chosen = chosen.join(Source, Source.id == Message.source_id)
    if after is not None:
        chosen = chosen.where(_after("engaged", keys, after))
    chosen = chosen.order_by(*order).limit(query.limit + 1)
    statement = card_query().where(Message.id.in_(chosen)).add_columns(*keys)
    return statement.order_by(*order), keys


def _relevance(session: Session, text: str) -> ColumnElement[Any]:
    """Lower is better: FTS5's bm25 rank on SQLite, minus ts_rank on PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return FTS.c.rank
    french = func.websearch_to_tsquery(literal_column("'pilote_french'::regconfig"), text)
    english = func.websearch_to_tsquery(literal_column("'pilote_english'::regconfig"), text)
    return -func.ts_rank(literal_column("message.search"), french.op("||")(english))


def _join_relevance(session: Session, statement: Select[Any], text: str) -> Select[Any]:
    if session.get_bind().dialect.name == "sqlite":
        joined = statement.join(FTS, FTS.c.rowid == Message.id)
        return joined.where(literal_column("message_fts").op("MATCH")(fulltext.fts5_query(text)))
    return statement.where(fulltext.matches(session.get_bind().dialect, text))


def _after(sort: str, keys: list[Any], values: list[Any]) -> ColumnElement[bool]:
    """The keyset condition: strictly after the last row of the previous page in this order."""
    first, identifier = keys
    value, last_id = values
    if sort in ("newest", "engaged"):
        return or_(first < value, and_(first == value, identifier < last_id))
    return or_(first > value, and_(first == value, identifier > last_id))


def encode_cursor(sort: str, values: Any) -> str:
    """An opaque cursor: the order and the sort keys of the last row shown."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps([sort, *plain]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> list[Any]:
    """The sort keys in a cursor, checked against the order asked for."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        kind, value, last_id = data
        if kind != sort or not isinstance(last_id, int):
            raise ValueError("another order")
        if sort in ("newest", "oldest"):
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int | float):
            raise ValueError("not a number")
    except (ValueError, TypeError):
        raise Invalid(
            N_("cursor %(cursor)r: not a cursor of this search; start again without it"), cursor=cursor[:40]
        ) from None
    return [value, last_id]


# --- saved searches ---


@dataclass(frozen=True, slots=True)
class Saved:
    """A saved search: its name and the query it stands for."""

    id: int
    name: str
    query: ExplorerQuery
    created_at: datetime = field(default_factory=utcnow)


def save(session: Session, workspace_id: int, name: str, query: ExplorerQuery, *, by: audit.Actor = audit.CLI) -> Saved:
    """Keep a query under a name in a workspace (an existing name is replaced)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid(N_("saved search name: give 1 to 200 characters"))
    fields = {k: v for k, v in dataclasses.asdict(query).items() if k not in ("workspace_id", "cursor")}
    payload = json.dumps({k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()})
    found = session.scalar(
        select(SavedSearch).where(SavedSearch.workspace_id == workspace_id, SavedSearch.name == name)
    )
    before = None if found is None else json.loads(found.query)
    if found is None:
        found = SavedSearch(workspace_id=workspace_id, name=name, query=payload)
        session.add(found)
    found.query = payload
    session.flush()
    audit.record(session, actor=by, action="saved search saved", target=f"saved search {found.id}",
                 workspace_id=workspace_id, before=before, after={"name": name, **json.loads(payload)})  # fmt: skip
    return _saved(found)


def saved(session: Session, workspace_id: int) -> list[Saved]:
    """A workspace's saved searches, by name."""
    query = select(SavedSearch).where(SavedSearch.workspace_id == workspace_id).order_by(SavedSearch.name)
    return [_saved(row) for row in session.scalars(query)]


def forget(session: Session, workspace_id: int, saved_id: int, *, by: audit.Actor = audit.CLI) -> None:
    """Delete a saved search."""
    row = session.get(SavedSearch, saved_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(N_("no saved search %(id)s in this workspace"), id=saved_id)
    audit.record(session, actor=by, action="saved search deleted", target=f"saved search {saved_id}",
                 workspace_id=workspace_id, before={"name": row.name, **json.loads(row.query)})  # fmt: skip
    session.delete(row)
    session.flush()


def _saved(row: SavedSearch) -> Saved:
    data = json.loads(row.query)
    for name in ("since", "until"):
        if data.get(name):
            data[name] = datetime.fromisoformat(data[name])
    return Saved(row.id, row.name, ExplorerQuery(workspace_id=row.workspace_id, **data), row.created_at)


# --- labels ---


def label(
    session: Session, message_id: int, name: str, value: str, created_by: str | None = None, *,
    by: audit.Actor = audit.CLI,
) -> Label:  # fmt: skip
    """A person's decision about a message (origin "user"): it wins over the model and feeds training; audited
    as `by` (the label's own `created_by` is what the caller says: the person, or an API client's name)."""
    allowed = LABELS.get(name, ())
    if name not in LABELS:
        raise Invalid(N_("label %(name)r: use one of %(known)s"), name=name, known=", ".join(LABELS))
    if allowed is not None and value not in allowed:
        raise Invalid(
            N_("label %(name)s=%(value)r: use one of %(known)s"), name=name, value=value, known=", ".join(allowed)
        )
    if allowed is None and not (value.isidentifier() and len(value) <= 16):
        raise Invalid(f"label {name}={value!r}: use one lower-case word of 16 letters at most")
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(N_("no message %(id)s"), id=message_id)
    found = session.scalar(
        select(Label).where(Label.message_id == message_id, Label.name == name, Label.origin == "user")
    )
    audit.record(session, actor=by, action="message labelled", target=f"message {message_id}",
                 workspace_id=message.workspace_id, before=None if found is None else {name: found.value},
                 after={name: value})  # fmt: skip
    if found is None:
        found = Label(message_id=message_id, name=name, value=value, origin="user")
        session.add(found)
    found.value, found.created_by, found.created_at = value, created_by, utcnow()
    session.flush()
    rollups.refresh(session.connection(), [message_id], tops=False)
    return found
