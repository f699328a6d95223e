"""The column mapping shared by CSV and JSON Lines: accepted names, value converters, and a record → Item."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path
from typing import TypedDict, cast

from pilote.errors import BadInput, Invalid, fill
from pilote.sources.base import AuthorRef, Counters, Item, ItemError, person
from pilote.sources.dates import parse_date
from pilote.texts import N_

# The documented mapping (docs/importers-tabular.md): field → accepted column names, the first present wins.
FIELDS: dict[str, tuple[str, ...]] = {
    "external_id": ("id", "external_id", "message_id", "comment_id", "tweet_id", "post_id", "uuid"),
    "created_at": ("created_at", "created", "date", "datetime", "timestamp", "created_utc", "published", "time"),
    "text": ("text", "body", "content", "message", "comment", "full_text"),
    "html": ("html",),
    "title": ("title",),
    "url": ("url", "link", "permalink"),
    "kind": ("kind",),
    "language": ("language", "lang"),
    "parent_id": ("parent_id", "parent", "in_reply_to", "reply_to"),
    "thread_id": ("thread_id", "thread", "link_id", "conversation_id"),
    "author_handle": ("author_handle", "author", "user", "username", "screen_name", "handle"),
    "author_name": ("author_name", "display_name", "name"),
    "author_url": ("author_url",),
    "author_email": ("author_email",),
    "likes": ("likes", "score", "favorite_count", "like_count"),
    "shares": ("shares", "retweet_count", "share_count"),
    "replies": ("replies", "reply_count", "num_comments"),
    "views": ("views", "view_count", "impressions"),
    "spam": ("spam",),
    "status": ("status",),
}
REQUIRED = {"external_id": ("external_id",), "created_at": ("created_at",), "text": ("text", "title", "html")}
KNOWN_COLUMNS = frozenset(chain.from_iterable(FIELDS.values()))
KINDS = frozenset({"post", "page", "comment", "reply", "mention", "review", "share", "message"})
SPAM = dict.fromkeys(("1", "true", "yes", "spam"), "spam") | dict.fromkeys(("0", "false", "no", "ham"), "ham")
MAX_ID_CHARS = 500  # the store's width for external ids: longer ones would collide once cut
MAX_NAME_CHARS = 200  # an author's key is built from the handle and must fit the store's 500 characters
MAX_COUNT = 1 << 63  # counters are BIGINT
AUTHOR_CACHE = 1 << 14  # distinct authors kept for sharing: enough for most exports, and bounded memory
COUNTERS_CACHE = 1 << 12  # distinct sets of counters, likewise
_FULLNAME = re.compile(r"t[1-6]_[a-z0-9]+")

Converter = Callable[[object], object]


class Values(TypedDict):
    """Every field of one record, through its converter (CONVERTERS); None where the file has no such column."""

    external_id: str | None
    created_at: object  # kept as found: item() turns a bad date into an ItemError naming the id
    text: str | None
    html: str | None
    title: str | None
    url: str | None
    kind: str | None
    language: str | None
    parent_id: str | None
    thread_id: str | None
    author_handle: str | None
    author_name: str | None
    author_url: str | None
    author_email: str | None
    likes: int | None
    shares: int | None
    replies: int | None
    views: int | None
    spam: str | None
    status: str | None


def overrides(mapping: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The user's --map field=column pairs in lower case; an empty column means "ignore this field"."""
    chosen: dict[str, str] = {}
    for field, column in mapping:
        name = field.strip().lower()
        if name not in FIELDS:
            raise Invalid(
                N_("--map %(field)s=%(column)s: unknown field %(unknown)r; the fields are %(value)s"),
                field=field,
                unknown=field,
                column=column,
                value=", ".join(FIELDS),
            )
        chosen[name] = column.strip().lower()
    return chosen


def choose(columns: Collection[str], overrides: dict[str, str]) -> dict[str, str]:
    """Field → column (lower case): --map first, then the first accepted name the file has."""
    chosen = {field: column for field, column in overrides.items() if column}
    taken = set(chosen.values())
    for field, names in FIELDS.items():
        if field not in overrides:
            column = next((name for name in names if name in columns and name not in taken), None)
            if column is not None:
                chosen[field] = column
    return chosen


def require(plan: Plan, columns: Iterable[str], path: Path, line: int) -> None:
    """Refuse a file without an id, a date, or any text column, saying how to name them."""
    for field, any_of in REQUIRED.items():
        if all(name in plan.absent for name in any_of):
            accepted = ", ".join(chain.from_iterable(FIELDS[name] for name in any_of))
            listed = ", ".join(list(columns)[:40]) or "none"
            raise BadInput(
                path,
                N_("line %(line)s"),
                N_("no column for %(field)s (accepted names: %(accepted)s); columns found: %(listed)s"),
                N_("name the column with --map %(field)s=COLUMN"),
                web=N_("rename a column of the file %(field)s, or use one of the accepted names"),
                line=line,
                field=field,
                accepted=accepted,
                listed=listed,
            )


@dataclass(frozen=True, slots=True)
class Plan:
    """Where each field is in records with one set of keys: JSON objects, or CSV rows keyed by their header."""

    direct: tuple[tuple[str, str, Converter], ...]  # field, key, converter
    nested: tuple[tuple[str, str, tuple[str, ...], Converter], ...]  # field, top-level key, keys inside, converter
    absent: dict[str, None]  # the fields these records lack

    def values(self, record: Mapping[str, object]) -> Values:
        """The fields of one record."""
        values = {field: convert(record[key]) for field, key, convert in self.direct}
        for field, key, rest, convert in self.nested:
            values[field] = convert(_dig(record[key], rest))
        values.update(self.absent)
        return cast(Values, values)

    def has_nul(self, record: Mapping[str, object]) -> bool:
        """Whether a field, before conversion, holds a NUL character, which the store refuses."""
        direct = (record[key] for _, key, _ in self.direct)
        found = chain(direct, (_dig(record[key], rest) for _, key, rest, _ in self.nested))
        return any(isinstance(value, str) and "\x00" in value for value in found)


def plan(keys: Iterable[str], overrides: dict[str, str]) -> Plan:
    """The plan for records with these keys, matched without regard to case; dotted --map paths reach inside."""
    index: dict[str, str] = {}
    for key in keys:
        index.setdefault(key.lower(), key)
    direct, nested = [], []
    for field, column in choose(index, overrides).items():
        head, _, rest = column.partition(".")
        if column in index:
            direct.append((field, index[column], CONVERTERS[field]))
        elif rest and head in index:
            nested.append((field, index[head], tuple(rest.split(".")), CONVERTERS[field]))
    present = [field for field, *_ in direct] + [field for field, *_ in nested]
    return Plan(tuple(direct), tuple(nested), _absent(present))


def header_plan(header: list[str], overrides: dict[str, str], path: Path, line: int) -> tuple[list[str], Plan]:
    """A CSV header's names, made unique, and their plan; BadInput for a --map column it lacks or a missing field."""
    cells = [cell.strip() for cell in header]
    known = {cell.lower() for cell in cells}
    for field, column in overrides.items():
        if column and column not in known:
            listed = ", ".join(cells[:40])
            raise BadInput(
                path,
                N_("line %(line)s"),
                N_("--map %(field)s=%(column)s: no such column; columns found: %(listed)s"),
                N_("use a column name from the header line"),
                line=line,
                field=field,
                column=column,
                listed=listed,
            )
    names = _unique(cells)
    found = plan(names, overrides)
    require(found, cells, path, line)
    return names, found


def _unique(cells: list[str]) -> list[str]:
    """Names made unique (a, a_2), so that the raw payload keeps every cell."""
    seen: dict[str, int] = {}
    names = []
    for name in cells:
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def _absent(present: Iterable[str]) -> dict[str, None]:
    """None for each field not in `present`: item() then reads every field without asking whether it is there."""
    return dict.fromkeys(FIELDS.keys() - set(present))


def _dig(value: object, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(value, dict):
            return None
        found = value.get(key)
        if found is None and key not in value:  # --map paths are lower case; keys may not be
            found = next((inner for name, inner in value.items() if name.lower() == key), None)
        value = found
    return value


def item(number: int, values: Values, raw: str) -> Item | ItemError:
    """The message of one row or line, or an ItemError saying why it is skipped."""
    external_id = values["external_id"]
    if external_id is None:
        return ItemError(fill(N_("line %(number)s"), {"number": number}), N_("no id: skipped"))
    if len(external_id) > MAX_ID_CHARS:
        return ItemError(
            fill(N_("line %(number)s"), {"number": number}),
            fill(N_("id longer than %(most)s characters: skipped"), {"most": MAX_ID_CHARS}),
        )
    date = values["created_at"]
    try:
        created_at = parse_date(_date_value(date))
    except ValueError as error:
        return ItemError(
            fill(N_("line %(number)s"), {"number": number}),
            fill(N_("id %(external_id)s: %(value)s: skipped"), {"external_id": external_id, "value": str(error)[:200]}),
        )
    except (OverflowError, OSError):  # dates beyond year 1-9999, however they are written
        return ItemError(
            fill(N_("line %(number)s"), {"number": number}),
            fill(
                N_("id %(external_id)s: the date %(value)r is out of range: skipped"),
                {"external_id": external_id, "value": str(date)[:40]},
            ),
        )
    parent = values["parent_id"]
    return Item(
        external_id=external_id,
        kind=_kind(values["kind"], parent),
        created_at=created_at,
        raw=raw,
        text=values["text"] or "",
        html=values["html"],
        title=values["title"],
        url=values["url"],
        language=values["language"],
        parent_external_id=parent,
        thread_external_id=values["thread_id"],
        author=_author(values),
        counters=_counters(values),
        labels=_labels(values),
    )


def to_text(value: object) -> str | None:
    """The trimmed text of a cell or JSON value, numbers written out; None when empty or not a scalar."""
    if type(value) is str:  # nearly every value, and CSV and orjson make no str subclasses
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _date_value(value: object) -> str | int | float:
    if value is None or value == "":
        raise ValueError("no date")
    if isinstance(value, str | int | float):
        return value
    raise ValueError("the date is neither text nor a number")


def _reference(value: object) -> str | None:
    """An external id in the same source; Reddit fullnames (t1_abc) become the bare id of its id column."""
    ref = to_text(value)
    if ref is None or ref == "0":  # 0 is how many exports say "no parent"
        return None
    if ref[:1] == "t" and ref[2:3] == "_" and _FULLNAME.fullmatch(ref):
        return ref[3:]
    return ref


def _kind(kind: str | None, parent: str | None) -> str:
    if kind is not None and kind.lower() in KINDS:
        return kind.lower()
    return "comment" if parent else "post"


def _language(value: object) -> str | None:
    language = to_text(value)
    return language if language is not None and len(language) <= 16 else None


def _author(values: Values) -> AuthorRef | None:
    handle, name, email = values["author_handle"], values["author_name"], values["author_email"]
    if handle is None and name is None and email is None:  # a URL alone identifies nobody
        return None
    if (handle or name) == "[deleted]":  # Reddit's placeholder for a deleted account is nobody
        return None
    name = (name or handle or "")[:MAX_NAME_CHARS]
    return _person(name, handle[:MAX_NAME_CHARS] if handle else None, email, values["author_url"])


@lru_cache(maxsize=AUTHOR_CACHE)
def _person(name: str, handle: str | None, email: str | None, url: str | None) -> AuthorRef | None:
    """person(), built once per author: most write many messages, and AuthorRef is immutable, so shareable."""
    return person(name=name, handle=handle, email=email, url=url)


def _counters(values: Values) -> Counters | None:
    likes, shares = values["likes"], values["shares"]
    replies, views = values["replies"], values["views"]
    if likes is None and shares is None and replies is None and views is None:
        return None
    return _counters_of(likes, shares, replies, views)


@lru_cache(maxsize=COUNTERS_CACHE)
def _counters_of(likes: int | None, shares: int | None, replies: int | None, views: int | None) -> Counters:
    """Counters are immutable and small numbers recur: share them rather than build one per message."""
    return Counters(likes=likes, shares=shares, replies=replies, views=views)


def _count(value: object) -> int | None:
    """int() of the value; None when empty, not a whole number, or beyond the store's BIGINT."""
    number: int | None
    if type(value) is int:  # JSON's usual case; a bool, whose type is not int, is no count
        number = value
    elif type(value) is str:
        number = _integer(value)
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        return None
    return number if number is not None and -MAX_COUNT < number < MAX_COUNT else None


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        pass
    try:  # "12.0": how spreadsheets and pandas write counts in a column with gaps
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _spam(value: object) -> str | None:
    return None if value is None else SPAM.get(str(value).strip().lower())


def _labels(values: Values) -> tuple[tuple[str, str], ...]:
    spam, status = values["spam"], values["status"]
    labels: tuple[tuple[str, str], ...] = () if spam is None else (("spam", spam),)
    if status:
        labels += (("status", status[:200]),)
    return labels


# How each field's value is read: applied while a record's fields are picked, so that absent ones cost nothing.
CONVERTERS: dict[str, Converter] = {
    **dict.fromkeys(FIELDS, to_text),
    "created_at": lambda value: value,
    "language": _language,
    "parent_id": _reference,
    "thread_id": _reference,
    **dict.fromkeys(("likes", "shares", "replies", "views"), _count),
    "spam": _spam,
}
