"""CSV and JSON Lines exports: one message per row or line, read through one shared column mapping."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import orjson

from pilote.errors import BadInput, Invalid
from pilote.sources.base import AuthorRef, Counters, Item, ItemError, ParseOptions, SourceInfo, person
from pilote.sources.dates import parse_date

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
CSV_SUFFIXES = (".csv", ".tsv")
DELIMITERS = (",", ";", "\t", "|")
MAX_LINE_BYTES = 1 << 24  # a longer physical line is a damaged file, and reading it would break flat memory
MAX_ID_CHARS = 500  # the store's width for external ids: longer ones would collide once cut
MAX_NAME_CHARS = 200  # an author's key is built from the handle and must fit the store's 500 characters
MAX_COUNT = 1 << 63  # counters are BIGINT
PLAN_CACHE = 256  # distinct JSON key layouts remembered; files with ever-new keys must not grow memory
ENCODING_HINT = "pass --encoding latin-1 (or the file's real encoding), or re-save the file as UTF-8"
_FULLNAME = re.compile(r"t[1-6]_[a-z0-9]+")
_QUOTED = re.compile(r'"[^"]*"')

Values = dict[str, object]
Access = tuple[str, str, tuple[str, ...] | None]  # field, top-level key, then nested keys for dotted paths


@dataclass(slots=True)
class Tabular:
    """One of the two tabular formats: they share the mapping and differ in how a file becomes records."""

    # Not frozen: ImportFormat declares name and description as plain attributes, and mypy refuses
    # read-only ones in their place.
    name: str
    description: str
    sniffer: Callable[[bytes, Path], bool]
    first_record: Callable[[Path, ParseOptions], Values]
    reader: Callable[[Path, ParseOptions], Iterator[Item | ItemError]]

    def sniff(self, head: bytes, path: Path) -> bool:
        """Whether a file starting with `head` is in this format."""
        return self.sniffer(head, path)

    def describe(self, path: Path, options: ParseOptions) -> SourceInfo:
        """The source is --source, else the file's stem: pass --source to merge successive exports of one place.

        Reddit exports (subreddit and link_id columns) belong to "reddit:<subreddit>" on the reddit channel.
        """
        first = self.first_record(path, options)
        subreddit = _text(first.get("subreddit")) if "link_id" in first else None
        if subreddit:
            key = options.source_key or f"reddit:{subreddit}"
            url = f"https://www.reddit.com/r/{subreddit}/"
            return SourceInfo(kind=self.name, key=key, name=f"r/{subreddit}", channel="reddit", url=url)
        key = options.source_key or path.stem
        return SourceInfo(kind=self.name, key=key, name=key, channel=f"{self.name}:{key}")

    def parse(self, path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
        """Stream the items; raise BadInput for what makes the whole file unreadable."""
        return self.reader(path, options)


def _sniff_csv(head: bytes, path: Path) -> bool:
    """CSV by name; a .txt file too when its first line is delimited and names a known column."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return True
    if suffix != ".txt":
        return False
    line = head.removeprefix(codecs.BOM_UTF8).lstrip().split(b"\n", 1)[0].decode("utf-8", "replace")
    delimiter = _delimiter(line)
    names = {cell.strip().strip('"').lower() for cell in line.split(delimiter)}
    return delimiter in line and not names.isdisjoint(KNOWN_COLUMNS)


def _sniff_jsonl(head: bytes, path: Path) -> bool:
    """JSON Lines when the first non-blank line opens an object and the name does not say CSV."""
    if path.suffix.lower() in CSV_SUFFIXES:
        return False
    return head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"{")


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as error:
        raise BadInput(path, None, f"cannot be read: {error.strerror}", "check the path") from None


def _physical_lines(handle: BinaryIO) -> Iterator[bytes]:
    return iter(partial(handle.readline, MAX_LINE_BYTES), b"")


def _too_long(line: bytes) -> bool:
    return len(line) == MAX_LINE_BYTES and not line.endswith(b"\n")


def _overrides(mapping: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The user's --map field=column pairs in lower case; an empty column means "ignore this field"."""
    overrides: dict[str, str] = {}
    for field, column in mapping:
        name = field.strip().lower()
        if name not in FIELDS:
            raise Invalid(f"--map {field}={column}: unknown field {field!r}; the fields are {', '.join(FIELDS)}")
        overrides[name] = column.strip().lower()
    return overrides


def _choose(columns: Collection[str], overrides: dict[str, str]) -> dict[str, str]:
    """Field → column (lower case): --map first, then the first accepted name the file has."""
    chosen = {field: column for field, column in overrides.items() if column}
    taken = set(chosen.values())
    for field, names in FIELDS.items():
        if field not in overrides:
            column = next((name for name in names if name in columns and name not in taken), None)
            if column is not None:
                chosen[field] = column
    return chosen


def _require(found: Collection[str], columns: Iterable[str], path: Path, line: int) -> None:
    """Refuse a file without an id, a date, or any text column, saying how to name them."""
    for field, any_of in REQUIRED.items():
        if not any(name in found for name in any_of):
            accepted = ", ".join(chain.from_iterable(FIELDS[name] for name in any_of))
            listed = ", ".join(list(columns)[:40]) or "none"
            raise BadInput(
                path,
                f"line {line}",
                f"no column for {field} (accepted names: {accepted}); columns found: {listed}",
                f"name the column with --map {field}=COLUMN",
            )


def _item(number: int, values: Values, raw: str) -> Item | ItemError:
    """The message of one row or line, or an ItemError saying why it is skipped."""
    external_id = _text(values.get("external_id"))
    if external_id is None:
        return ItemError(f"line {number}", "no id: skipped")
    if len(external_id) > MAX_ID_CHARS:
        return ItemError(f"line {number}", f"id longer than {MAX_ID_CHARS} characters: skipped")
    date = values.get("created_at")
    try:
        created_at = parse_date(_date_value(date))
    except ValueError as error:
        return ItemError(f"line {number}", f"id {external_id}: {str(error)[:200]}: skipped")
    except (OverflowError, OSError):  # dates beyond year 1-9999, however they are written
        return ItemError(f"line {number}", f"id {external_id}: the date {str(date)[:40]!r} is out of range: skipped")
    parent = _reference(values.get("parent_id"))
    return Item(
        external_id=external_id,
        kind=_kind(values.get("kind"), parent),
        created_at=created_at,
        raw=raw,
        text=_text(values.get("text")) or "",
        html=_text(values.get("html")),
        title=_text(values.get("title")),
        url=_text(values.get("url")),
        language=_language(values.get("language")),
        parent_external_id=parent,
        thread_external_id=_reference(values.get("thread_id")),
        author=_author(values),
        counters=_counters(values),
        labels=_labels(values),
    )


def _text(value: object) -> str | None:
    if value is None:  # most fields of most rows: the cheapest test first
        return None
    if isinstance(value, str):
        return value.strip() or None
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
    ref = _text(value)
    if ref is None or ref == "0":  # 0 is how many exports say "no parent"
        return None
    if ref[:1] == "t" and ref[2:3] == "_" and _FULLNAME.fullmatch(ref):
        return ref[3:]
    return ref


def _kind(value: object, parent: str | None) -> str:
    kind = _text(value)
    if kind is not None and kind.lower() in KINDS:
        return kind.lower()
    return "comment" if parent else "post"


def _language(value: object) -> str | None:
    language = _text(value)
    return language if language is not None and len(language) <= 16 else None


def _author(values: Values) -> AuthorRef | None:
    handle = _text(values.get("author_handle"))
    name = _text(values.get("author_name"))
    if (handle or name) == "[deleted]":  # Reddit's placeholder for a deleted account is nobody
        return None
    return person(
        name=(name or handle or "")[:MAX_NAME_CHARS],
        handle=handle[:MAX_NAME_CHARS] if handle else None,
        email=_text(values.get("author_email")),
        url=_text(values.get("author_url")),
    )


def _counters(values: Values) -> Counters | None:
    likes, shares = _count(values.get("likes")), _count(values.get("shares"))
    replies, views = _count(values.get("replies")), _count(values.get("views"))
    if likes is None and shares is None and replies is None and views is None:
        return None
    return Counters(likes=likes, shares=shares, replies=replies, views=views)


def _count(value: object) -> int | None:
    """int() of the value; None when empty, not a whole number, or beyond the store's BIGINT."""
    number: int | None
    if value is None:
        return None
    if isinstance(value, str):
        number = _integer(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
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


def _labels(values: Values) -> tuple[tuple[str, str], ...]:
    labels: tuple[tuple[str, str], ...] = ()
    spam = values.get("spam")
    if spam is not None:
        verdict = SPAM.get(str(spam).strip().lower())
        if verdict is not None:
            labels = (("spam", verdict),)
    status = _text(values.get("status"))
    if status:
        labels += (("status", status[:200]),)
    return labels


# CSV


class _Lines:
    """The decoded physical lines of a CSV file, numbered so that errors can say where they are."""

    def __init__(self, handle: BinaryIO, path: Path, encoding: str) -> None:
        self.handle, self.path, self.encoding = handle, path, encoding
        self.number = 0
        self.nul_at = 0  # the last line holding a NUL character

    def __iter__(self) -> Iterator[str]:
        for line in _physical_lines(self.handle):
            self.number += 1
            if self.number == 1:
                line = self._first(line)
            if _too_long(line):
                raise BadInput(self.path, f"line {self.number}", "longer than 16 MB", "is this really a CSV file?")
            try:
                text = line.decode(self.encoding)
            except UnicodeDecodeError as error:
                problem = (
                    f"not valid {self.encoding} text (byte {line[error.start]:#04x} at position {error.start + 1})"
                )
                raise BadInput(self.path, f"line {self.number}", problem, ENCODING_HINT) from None
            if "\x00" in text:
                self.nul_at = self.number
            yield text

    def _first(self, line: bytes) -> bytes:
        if line.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise BadInput(self.path, "line 1", "the file is UTF-16", 're-save it as UTF-8 ("CSV UTF-8" in Excel)')
        return line.removeprefix(codecs.BOM_UTF8)


def _check_encoding(path: Path, encoding: str) -> None:
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise Invalid(f"unknown encoding {encoding!r}: try utf-8, latin-1 or cp1252") from None
    if codec.startswith(("utf-16", "utf-32")):  # lines cannot be split on a newline byte in these
        raise BadInput(path, None, f"{encoding} files cannot be read line by line", "re-save the file as UTF-8")


def _delimiter(header: str) -> str:
    """The most frequent of , ; tab | outside quotes in the header line (the comma on a tie)."""
    unquoted = _QUOTED.sub("", header)
    return max(DELIMITERS, key=unquoted.count)


def _csv_rows(path: Path, encoding: str) -> Generator[tuple[int, list[str] | str], None, None]:
    """Each non-blank record with the line it starts on, or a text saying why it cannot be read."""
    _check_encoding(path, encoding)
    with _open(path) as handle:
        lines = _Lines(handle, path, encoding)
        stream = iter(lines)
        first = next((line for line in stream if line.strip()), None)
        if first is None:
            raise BadInput(path, None, "the file is empty", "export it again from the source")
        start = lines.number
        if "\r" in first.rstrip("\r\n"):  # lines split on LF only: a lone CR would make one endless line
            raise BadInput(path, f"line {start}", "lines end with a lone carriage return", "re-save with LF or CRLF")
        reader = csv.reader(chain((first,), stream), delimiter=_delimiter(first))
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:  # the reader starts afresh on the next line
                yield start, f"unreadable CSV ({error})"
            else:
                if lines.nul_at >= start:
                    yield start, "contains NUL characters"
                elif len(row) > 1 or (row and row[0].strip()):
                    yield start, row
            start = lines.number + 1


def _unique(header: list[str]) -> list[str]:
    """Header names made unique (a, a_2), so that the raw payload keeps every cell."""
    seen: dict[str, int] = {}
    names = []
    for cell in header:
        name = cell.strip()
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return names


def _column_plan(header: list[str], overrides: dict[str, str], path: Path, line: int) -> list[tuple[str, int]]:
    """Which cell holds each field; BadInput when --map names a missing column or a required one is absent."""
    index: dict[str, int] = {}
    for position, cell in enumerate(header):
        index.setdefault(cell.strip().lower(), position)
    listed = ", ".join(cell.strip() for cell in header[:40])
    for field, column in overrides.items():
        if column and column not in index:
            raise BadInput(
                path, f"line {line}", f"--map {field}={column}: no such column; columns found: {listed}",
                "use a column name from the header line",
            )  # fmt: skip
    chosen = _choose(index, overrides)
    _require(chosen, (cell.strip() for cell in header), path, line)
    return [(field, index[column]) for field, column in chosen.items()]


def _parse_csv(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    overrides = _overrides(options.mapping)
    rows = _csv_rows(path, options.encoding)
    line, header = next(rows, (0, "no header line"))
    if isinstance(header, str):
        where = f"line {line}" if line else None
        raise BadInput(path, where, f"the header line cannot be read: {header}", "is this a CSV file?")
    plan = _column_plan(header, overrides, path, line)
    names, width = _unique(header), len(header)
    empty = True
    for line, row in rows:
        empty = False
        if isinstance(row, str):
            yield ItemError(f"line {line}", f"{row}: skipped")
        elif len(row) != width:
            yield ItemError(f"line {line}", f"{len(row)} cells where the header has {width}: skipped")
        else:
            yield _row_item(line, row, names, plan)
    if empty:
        raise BadInput(path, None, "the file has a header line but no rows", "export it again from the source")


def _row_item(line: int, row: list[str], names: list[str], plan: list[tuple[str, int]]) -> Item | ItemError:
    try:
        raw = orjson.dumps(dict(zip(names, row, strict=True)), option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError as error:  # lone surrogates, from exotic --encoding values
        return ItemError(f"line {line}", f"{error}: skipped")
    return _item(line, {field: row[position] for field, position in plan}, raw)


def _first_csv_row(path: Path, options: ParseOptions) -> Values:
    rows = _csv_rows(path, options.encoding)
    try:
        _, header = next(rows, (0, ""))
        _, row = next(rows, (0, ""))
    finally:
        rows.close()
    if isinstance(header, str) or isinstance(row, str):
        return {}
    return {cell.strip().lower(): value for cell, value in zip(header, row, strict=False)}


# JSON Lines


def _json_lines(path: Path, encoding: str) -> Generator[tuple[int, str, dict[str, object] | str], None, None]:
    """Each non-blank line: its number, its text, and its object or a text saying why it is not one."""
    _check_encoding(path, encoding)
    with _open(path) as handle:
        for number, line in enumerate(_physical_lines(handle), 1):
            if _too_long(line):
                while _too_long(line):  # skip the rest of it without holding it
                    line = handle.readline(MAX_LINE_BYTES)
                yield number, "", "longer than 16 MB"
                continue
            stripped = line.strip().removeprefix(codecs.BOM_UTF8) if number == 1 else line.strip()
            if not stripped:
                continue
            try:
                text = stripped.decode(encoding)
                value = orjson.loads(text)
            except UnicodeDecodeError:
                yield number, "", f"not valid {encoding}"
            except orjson.JSONDecodeError as error:
                yield number, text, f"not valid JSON ({error.msg} at column {error.colno})"
            else:
                yield number, text, value if isinstance(value, dict) else "a JSON value that is not an object"


def _key_plan(keys: tuple[str, ...], overrides: dict[str, str]) -> list[Access]:
    """How to reach each field in objects with these keys; dotted --map paths reach into nested objects."""
    index: dict[str, str] = {}
    for key in keys:
        index.setdefault(key.lower(), key)
    plan: list[Access] = []
    for field, column in _choose(index, overrides).items():
        head, _, rest = column.partition(".")
        if column in index:
            plan.append((field, index[column], None))
        elif rest and head in index:
            plan.append((field, index[head], tuple(rest.split("."))))
    return plan


def _dig(value: object, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(value, dict):
            return None
        found = value.get(key)
        if found is None and key not in value:  # --map paths are lower case; keys may not be
            found = next((item for name, item in value.items() if name.lower() == key), None)
        value = found
    return value


def _parse_jsonl(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    overrides = _overrides(options.mapping)
    plans: dict[tuple[str, ...], list[Access]] = {}
    first = True
    for number, text, obj in _json_lines(path, options.encoding):
        if isinstance(obj, str):
            if first:
                raise BadInput(path, f"line {number}", obj, "is this a JSON Lines file, one object per line?")
            yield ItemError(f"line {number}", f"{obj}: skipped")
            continue
        keys = tuple(obj)
        plan = plans.get(keys)
        if plan is None:
            plan = _key_plan(keys, overrides)
            if first:
                _require({field for field, _, _ in plan}, keys, path, number)
            if len(plans) >= PLAN_CACHE:
                plans.clear()
            plans[keys] = plan
        first = False
        values = {field: obj.get(key) if rest is None else _dig(obj.get(key), rest) for field, key, rest in plan}
        if "\\u0000" in text and any(isinstance(value, str) and "\x00" in value for value in values.values()):
            yield ItemError(f"line {number}", "contains NUL characters: skipped")
            continue
        yield _item(number, values, text)
    if first:
        raise BadInput(path, None, "the file is empty", "export it again from the source")


def _first_json_object(path: Path, options: ParseOptions) -> Values:
    lines = _json_lines(path, options.encoding)
    try:
        _, _, obj = next(lines, (0, "", ""))
    finally:
        lines.close()
    return {} if isinstance(obj, str) else {key.lower(): value for key, value in obj.items()}


CSV = Tabular(
    name="csv",
    description="CSV or TSV export, one message per row, columns named in the header (docs/importers-tabular.md)",
    sniffer=_sniff_csv,
    first_record=_first_csv_row,
    reader=_parse_csv,
)
JSONL = Tabular(
    name="jsonl",
    description="JSON Lines export, one message object per line, same fields as CSV (dotted paths for nesting)",
    sniffer=_sniff_jsonl,
    first_record=_first_json_object,
    reader=_parse_jsonl,
)
