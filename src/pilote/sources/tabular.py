"""CSV and JSON Lines exports: one message per row or line, read through one shared column mapping (columns.py)."""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import chain
from pathlib import Path
from typing import BinaryIO

import orjson

from pilote.errors import BadInput, Invalid, fill
from pilote.sources import columns
from pilote.sources.base import Item, ItemError, ParseOptions, SourceInfo
from pilote.texts import N_

CSV_SUFFIXES = (".csv", ".tsv")
DELIMITERS = (",", ";", "\t", "|")
MAX_LINE_BYTES = 1 << 24  # a longer physical line is a damaged file, and reading it would break flat memory
READ_BYTES = 1 << 20  # count() reads this much at a time
SPACES = b" \t\r\x0b\x0c"  # what bytes.strip() removes besides the newline: a line of only these is blank
PLAN_CACHE = 256  # distinct JSON key layouts remembered; files with ever-new keys must not grow memory
ENCODING_HINT = N_("pass --encoding latin-1 (or the file's real encoding), or re-save the file as UTF-8")
ENCODING_WEB = N_("re-save the file as UTF-8")
_QUOTED = re.compile(r'"[^"]*"')

Record = dict[str, object]
Row = tuple[int, list[str] | str]  # the line a CSV record starts on, its cells or why it cannot be read
JsonLine = tuple[int, str, Record | str]  # line number, text, the object or why there is none


@dataclass(slots=True)
class Tabular:
    """One of the two tabular formats: they share the mapping and differ in how a file becomes records."""

    # Not frozen: ImportFormat declares name and description as plain attributes, and mypy refuses
    # read-only ones in their place.
    name: str
    description: str
    sniff: Callable[[bytes, Path], bool]  # whether a file starting with these bytes is in this format
    first_record: Callable[[Path, ParseOptions], Record]
    parse: Callable[[Path, ParseOptions], Iterator[Item | ItemError]]  # BadInput when the file is unreadable
    count: Callable[[Path, ParseOptions], int]  # as many as parse yields, with its BadInput, building no items

    def describe(self, path: Path, options: ParseOptions) -> SourceInfo:
        """The source is --source, else the file's stem: pass --source to merge successive exports of one place.

        Reddit exports (subreddit and link_id columns) belong to "reddit:<subreddit>" on the reddit channel.
        """
        first = self.first_record(path, options)
        subreddit = columns.to_text(first.get("subreddit")) if "link_id" in first else None
        if subreddit:
            key = options.source_key or f"reddit:{subreddit}"
            url = f"https://www.reddit.com/r/{subreddit}/"
            return SourceInfo(kind=self.name, key=key, name=f"r/{subreddit}", channel="reddit", url=url)
        key = options.source_key or path.stem
        return SourceInfo(kind=self.name, key=key, name=key, channel=f"{self.name}:{key}")


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
    return delimiter in line and not names.isdisjoint(columns.KNOWN_COLUMNS)


def _sniff_jsonl(head: bytes, path: Path) -> bool:
    """JSON Lines when the first non-blank line opens an object and the name does not say CSV."""
    if path.suffix.lower() in CSV_SUFFIXES:
        return False
    return head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"{")


def _open(path: Path, encoding: str) -> BinaryIO:
    """The file, once the encoding is known to be one its lines can be read in."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        raise Invalid(N_("unknown encoding %(encoding)r: try utf-8, latin-1 or cp1252"), encoding=encoding) from None
    if codec.startswith(("utf-16", "utf-32")):  # lines cannot be split on a newline byte in these
        raise BadInput(
            path,
            None,
            N_("%(encoding)s files cannot be read line by line"),
            N_("re-save the file as UTF-8"),
            encoding=encoding,
        )
    try:
        return path.open("rb")
    except OSError as error:
        raise BadInput(
            path, None, N_("cannot be read: %(strerror)s"), N_("check the path"), strerror=error.strerror
        ) from None


def _physical_lines(handle: BinaryIO) -> Iterator[bytes]:
    return iter(partial(handle.readline, MAX_LINE_BYTES), b"")


def _too_long(line: bytes) -> bool:
    return len(line) == MAX_LINE_BYTES and not line.endswith(b"\n")


def _empty(path: Path) -> BadInput:
    return BadInput(path, None, N_("the file is empty"), N_("export it again from the source"))


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
                raise BadInput(
                    self.path,
                    N_("line %(number)s"),
                    N_("longer than 16 MB"),
                    N_("is this really a CSV file?"),
                    number=self.number,
                )
            try:
                text = line.decode(self.encoding)
            except UnicodeDecodeError as error:
                problem = N_("not valid %(encoding)s text (byte %(byte)s at position %(position)s)")
                raise BadInput(self.path, N_("line %(number)s"), problem, ENCODING_HINT, web=ENCODING_WEB,
                               number=self.number, encoding=self.encoding, byte=f"{line[error.start]:#04x}",
                               position=error.start + 1) from None  # fmt: skip
            if "\x00" in text:
                self.nul_at = self.number
            yield text

    def _first(self, line: bytes) -> bytes:
        if line.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise BadInput(
                self.path, N_("line 1"), N_("the file is UTF-16"), N_('re-save it as UTF-8 ("CSV UTF-8" in Excel)')
            )
        return line.removeprefix(codecs.BOM_UTF8)


def _delimiter(header: str) -> str:
    """The most frequent of , ; tab | outside quotes in the header line (the comma on a tie)."""
    unquoted = _QUOTED.sub("", header)
    return max(DELIMITERS, key=unquoted.count)


def _csv_rows(path: Path, encoding: str) -> Generator[Row, None, None]:
    """Each non-blank record with the line it starts on, or a text saying why it cannot be read."""
    with _open(path, encoding) as handle:
        lines = _Lines(handle, path, encoding)
        stream = iter(lines)
        first = next((line for line in stream if line.strip()), None)
        if first is None:
            raise _empty(path)
        start = lines.number
        if "\r" in first.rstrip("\r\n"):  # lines split on LF only: a lone CR would make one endless line
            raise BadInput(
                path,
                N_("line %(start)s"),
                N_("lines end with a lone carriage return"),
                N_("re-save with LF or CRLF"),
                start=start,
            )
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


def _envelope(chosen: dict[str, str]) -> tuple[str, str]:
    """What goes before and after each raw payload read through a --map: `{"map": {field: column}, "record":
    <payload>}`. The mapping is then part of the payload whose hash tells an unchanged message from an updated
    one, so importing a file again with another mapping rewrites what it reads differently; without --map the
    payload is the record alone, as it always was."""
    if not chosen:
        return "", ""
    return '{"map":' + orjson.dumps(chosen, option=orjson.OPT_SORT_KEYS).decode() + ',"record":', "}"


def _csv_table(path: Path, options: ParseOptions) -> tuple[Iterator[Row], list[str], columns.Plan]:
    """The rows after the header, the header's names, and the plan; BadInput when the header cannot serve."""
    chosen = columns.overrides(options.mapping)
    rows = _csv_rows(path, options.encoding)
    line, header = next(rows, (0, "no header line"))
    if isinstance(header, str):
        where = N_("line %(line)s") if line else None
        raise BadInput(path, where, N_("the header line cannot be read: %(header)s"), N_("is this a CSV file?"),
                       header=header, line=line)  # fmt: skip
    return rows, *columns.header_plan(header, chosen, path, line)


def _no_rows(path: Path) -> BadInput:
    return BadInput(path, None, N_("the file has a header line but no rows"), N_("export it again from the source"))


def _parse_csv(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    rows, names, plan = _csv_table(path, options)
    envelope = _envelope(columns.overrides(options.mapping))
    width = len(names)
    empty = True
    for line, row in rows:
        empty = False
        if isinstance(row, str):
            yield ItemError(fill(N_("line %(line)s"), {"line": line}), fill(N_("%(row)s: skipped"), {"row": row}))
        elif len(row) != width:
            yield ItemError(
                fill(N_("line %(line)s"), {"line": line}),
                fill(
                    N_("%(count)s cells where the header has %(width)s: skipped"), {"count": len(row), "width": width}
                ),
            )
        else:
            yield _row_item(line, row, names, plan, envelope)
    if empty:
        raise _no_rows(path)


def _row_item(
    line: int, row: list[str], names: list[str], plan: columns.Plan, envelope: tuple[str, str]
) -> Item | ItemError:
    record = dict(zip(names, row, strict=True))
    try:
        raw = orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError as error:  # lone surrogates, from exotic --encoding values
        return ItemError(fill(N_("line %(line)s"), {"line": line}), fill(N_("%(error)s: skipped"), {"error": error}))
    before, after = envelope
    return columns.item(line, plan.values(record), before + raw + after if before else raw)


def _count_csv(path: Path, options: ParseOptions) -> int:
    """Every line is still decoded and split into cells: a line the encoding cannot read is fatal anywhere."""
    rows, _, _ = _csv_table(path, options)
    entries = sum(1 for _ in rows)
    if not entries:
        raise _no_rows(path)
    return entries


def _first_csv_row(path: Path, options: ParseOptions) -> Record:
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


def _json_lines(handle: BinaryIO, encoding: str) -> Iterator[JsonLine]:
    """Each non-blank line: its number, its text, and its object or a text saying why it is not one."""
    utf8 = codecs.lookup(encoding).name == "utf-8"  # orjson then reads the bytes, saving it a re-encoding
    for number, line in enumerate(_physical_lines(handle), 1):
        if _too_long(line):
            while _too_long(line):  # skip the rest of it without holding it
                line = handle.readline(MAX_LINE_BYTES)
            yield number, "", "longer than 16 MB"
            continue
        stripped = line.strip()
        if number == 1:
            stripped = stripped.removeprefix(codecs.BOM_UTF8)
        if not stripped:
            continue
        try:
            text = stripped.decode(encoding)
            value = orjson.loads(stripped if utf8 else text)
        except UnicodeDecodeError:
            yield number, "", f"not valid {encoding}"
        except orjson.JSONDecodeError as error:
            yield number, text, f"not valid JSON ({error.msg} at column {error.colno})"
        else:
            yield number, text, value if type(value) is dict else "a JSON value that is not an object"


def _first_object(path: Path, lines: Iterator[JsonLine], chosen: dict[str, str]) -> JsonLine:
    """The first non-blank line: unless it is an object with the required fields, the file is refused."""
    first = next(lines, None)
    if first is None:
        raise _empty(path)
    number, _, obj = first
    if isinstance(obj, str):
        raise BadInput(
            path, N_("line %(number)s"), obj, N_("is this a JSON Lines file, one object per line?"), number=number
        )
    keys = tuple(obj)
    columns.require(columns.plan(keys, chosen), keys, path, number)
    return first


def _parse_jsonl(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    chosen = columns.overrides(options.mapping)
    before, after = _envelope(chosen)
    with _open(path, options.encoding) as handle:
        lines = _json_lines(handle, options.encoding)
        plans: dict[tuple[str, ...], columns.Plan] = {}
        for number, text, obj in chain((_first_object(path, lines, chosen),), lines):
            if isinstance(obj, str):
                yield ItemError(
                    fill(N_("line %(number)s"), {"number": number}), fill(N_("%(obj)s: skipped"), {"obj": obj})
                )
                continue
            keys = tuple(obj)
            plan = plans.get(keys)
            if plan is None:
                if len(plans) >= PLAN_CACHE:
                    plans.clear()
                plan = plans[keys] = columns.plan(keys, chosen)
            if "\\u0000" in text and plan.has_nul(obj):
                yield ItemError(fill(N_("line %(number)s"), {"number": number}), N_("contains NUL characters: skipped"))
                continue
            yield columns.item(number, plan.values(obj), before + text + after if before else text)


def _count_jsonl(path: Path, options: ParseOptions) -> int:
    """The first object is read as parse reads it; the other lines are counted, not decoded."""
    chosen = columns.overrides(options.mapping)
    with _open(path, options.encoding) as handle:
        _first_object(path, _json_lines(handle, options.encoding), chosen)
        return 1 + _count_lines(handle)


def _count_lines(handle: BinaryIO) -> int:
    """Non-blank physical lines from here on, as parse yields them: a line over 16 MB counts, even blank."""
    entries, length, filled = 0, 0, False  # the line under way: bytes so far, and whether any is not a space
    size = min(READ_BYTES, MAX_LINE_BYTES)  # so that a line whole in one read is never too long
    for chunk in iter(partial(handle.read, size), b""):
        parts = chunk.translate(None, SPACES).split(b"\n")  # a blank line becomes an empty part
        if len(parts) == 1:
            length, filled = length + len(chunk), filled or bool(parts[0])
            continue
        head, tail = parts[0], parts[-1]  # the end of the line under way, the start of the next
        entries += filled or bool(head) or length + chunk.index(b"\n") >= MAX_LINE_BYTES
        entries += len(parts) - parts.count(b"") - bool(head) - bool(tail)  # the lines whole in this chunk
        length, filled = len(chunk) - chunk.rindex(b"\n") - 1, bool(tail)
    return entries + (filled or length >= MAX_LINE_BYTES)


def _first_json_object(path: Path, options: ParseOptions) -> Record:
    with _open(path, options.encoding) as handle:
        _, _, obj = next(_json_lines(handle, options.encoding), (0, "", ""))
    return {} if isinstance(obj, str) else {key.lower(): value for key, value in obj.items()}


CSV = Tabular(
    name="csv",
    description=N_("CSV or TSV export, one message per row, columns named in the header (docs/importers-tabular.md)"),
    sniff=_sniff_csv,
    first_record=_first_csv_row,
    parse=_parse_csv,
    count=_count_csv,
)
JSONL = Tabular(
    name="jsonl",
    description=N_("JSON Lines export, one message object per line, same fields as CSV (dotted paths for nesting)"),
    sniff=_sniff_jsonl,
    first_record=_first_json_object,
    parse=_parse_jsonl,
    count=_count_jsonl,
)
