"""LinkedIn's data export ("Get a copy of your data"): the member's `Shares.csv` and `Comments.csv`.

- `Shares.csv`: `Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility`, one post per row.
- `Comments.csv`: `Date,Link,Message`, one comment per row; `Link` is the post the comment was made on.

Dates are UTC (`2024-03-05 14:02:11`); texts span lines inside quotes, with `""` for a quote. A post's id is
the URN in its ShareLink (`urn:li:share:…`, `urn:li:ugcPost:…`), which LinkedIn keeps; a comment has none, so it
gets one (export_files) and names the post its Link holds as its parent: linked when that post is in the store
under the same URN. The member, author of every row, is named in the `Profile.csv` beside the file.
docs/importers-exports.md.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Generator, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from pilote.errors import BadInput, fill
from pilote.sources.base import AuthorRef, Item, ItemError, ParseOptions, SourceInfo, person
from pilote.sources.dates import parse_date
from pilote.sources.export_files import HINT, OWNER, export_id, raw
from pilote.texts import N_

name = "linkedin_csv"
description = N_("LinkedIn's data export: Shares.csv (your posts) and Comments.csv (your comments)")
CHANNEL = "linkedin"
SHARES = ("Date", "ShareLink", "ShareCommentary")  # with SharedUrl, MediaUrl, Visibility
COMMENTS = ("Date", "Link", "Message")
PROFILE = "Profile.csv"
MAX_LINE_BYTES = 1 << 24  # a longer line is a damaged file, and reading it whole would break flat memory
_URN = re.compile(r"urn:li:(share|ugcPost|activity):(\d{1,30})", re.IGNORECASE)
_CASES = {"share": "share", "ugcpost": "ugcPost", "activity": "activity"}
Row = dict[str, str]


def sniff(head: bytes, path: Path) -> bool:
    """A header row naming Date, ShareLink and ShareCommentary; or exactly Date,Link,Message with a LinkedIn
    address in what follows."""
    text = head.removeprefix(codecs.BOM_UTF8).lstrip(b"\r\n").decode("utf-8", "replace")
    line = text.split("\n", 1)[0].strip()
    try:
        cells = [cell.strip() for cell in next(csv.reader([line]), [])]
    except csv.Error:  # a lone carriage return, say: not an export LinkedIn writes
        return False
    if set(SHARES) <= set(cells):
        return True
    return tuple(cells) == COMMENTS and "linkedin.com/" in text


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """The member named in Profile.csv beside the file (`linkedin:<name>`), else `linkedin:<file stem>`."""
    owner = _owner(path, options)
    if owner is None or owner.name is None:
        key = f"linkedin:{path.stem}"
        return SourceInfo(kind=name, key=options.source_key or key, name=f"LinkedIn export {path.stem}",
                          channel=CHANNEL)  # fmt: skip
    key = f"linkedin:{owner.name.casefold()}"
    return SourceInfo(kind=name, key=options.source_key or key, name=f"{owner.name} on LinkedIn", channel=CHANNEL)


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Each post or comment row; BadInput for a file without either header, or that cannot be decoded."""
    author = _owner(path, options) or OWNER
    rows = _rows(path, options)
    line, header = next(rows, (0, None))
    if header is None:
        raise BadInput(path, None, N_("the file is empty"), N_("take it again from the export"))
    names = header if isinstance(header, list) else []
    shares = set(SHARES) <= set(names)
    if not shares and tuple(names) != COMMENTS:
        expected = f"{','.join(SHARES)},… or {','.join(COMMENTS)}"
        problem = f"not LinkedIn's Shares.csv or Comments.csv (their header is {expected})"
        raise BadInput(
            path, N_("line %(line)s"), problem, N_("import Shares.csv or Comments.csv from the export"), line=line
        )
    empty = True
    for line, cells in rows:
        empty = False
        if isinstance(cells, str):
            yield ItemError(fill(N_("line %(line)s"), {"line": line}), fill(N_("%(cells)s: skipped"), {"cells": cells}))
        elif len(cells) != len(names):
            yield ItemError(
                fill(N_("line %(line)s"), {"line": line}),
                fill(
                    N_("%(count)s cells where the header has %(count2)s: skipped"),
                    {"count": len(cells), "count2": len(names)},
                ),
            )
        else:
            row = dict(zip(names, cells, strict=True))
            yield _share(row, line, author) if shares else _comment(row, line, author)
    if empty:
        raise BadInput(path, None, N_("the file has a header line but no rows"), N_("is it the right export?"))


def _share(row: Row, line: int, author: AuthorRef) -> Item | ItemError:
    created = _date(row["Date"])
    if isinstance(created, str):
        return ItemError(
            fill(N_("line %(line)s"), {"line": line}), fill(N_("Date: %(created)s: skipped"), {"created": created})
        )
    text = row["ShareCommentary"]
    urn = _urn(row["ShareLink"])
    context = () if text.strip() else (row.get("SharedUrl", ""), row.get("MediaUrl", ""))
    return Item(
        external_id=urn or export_id("post", int(created.timestamp()), text, *context),
        kind="post",
        created_at=created,
        raw=raw(row),
        text=text,
        url=_web(row["ShareLink"]),
        author=author,
    )


def _comment(row: Row, line: int, author: AuthorRef) -> Item | ItemError:
    created = _date(row["Date"])
    if isinstance(created, str):
        return ItemError(
            fill(N_("line %(line)s"), {"line": line}), fill(N_("Date: %(created)s: skipped"), {"created": created})
        )
    text, post = row["Message"], _urn(row["Link"])
    return Item(
        external_id=export_id("comment", int(created.timestamp()), text, post or row["Link"].strip()),
        kind="comment",
        created_at=created,
        raw=raw(row),
        text=text,
        url=_web(row["Link"]),
        parent_external_id=post,
        author=author,
    )


def _rows(path: Path, options: ParseOptions) -> Generator[tuple[int, list[str] | str], None, None]:
    """Each non-blank record with the line it starts on, or why it cannot be read; quoted cells span lines."""
    lines = _Lines(path, options.encoding)
    with lines.handle:
        reader = csv.reader(lines)
        start = 1
        while True:
            cells: list[str] | str
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:  # the reader starts afresh on the next line
                cells = f"unreadable CSV ({error})"
            if isinstance(cells, str) or any(cell.strip() for cell in cells):
                yield start, cells
            start = lines.number + 1


class _Lines:
    """The decoded lines of a file, counted, so that a record can say on which line it starts."""

    def __init__(self, path: Path, encoding: str) -> None:
        try:
            self.decode = codecs.getincrementaldecoder(encoding)().decode
        except LookupError:
            raise BadInput(
                path, None, N_("unknown encoding %(encoding)r"), N_("pass a valid --encoding"), encoding=encoding
            ) from None
        try:
            self.handle: BinaryIO = path.open("rb")
        except OSError as error:
            raise BadInput(
                path, None, N_("cannot be read: %(strerror)s"), N_("check the path"), strerror=error.strerror
            ) from None
        self.path, self.encoding, self.number = path, encoding, 0

    def __iter__(self) -> Iterator[str]:
        for line in iter(partial(self.handle.readline, MAX_LINE_BYTES), b""):
            self.number += 1
            if len(line) == MAX_LINE_BYTES and not line.endswith(b"\n"):
                raise BadInput(
                    self.path,
                    N_("line %(number)s"),
                    N_("longer than 16 MB"),
                    N_("is this LinkedIn's export?"),
                    number=self.number,
                )
            try:
                text = self.decode(line)
            except UnicodeDecodeError as error:
                problem = f"not valid {self.encoding} text (byte {error.object[error.start]:#04x})"
                raise BadInput(
                    self.path, N_("line %(number)s"), problem, N_("check the encoding"), number=self.number
                ) from None
            yield text.removeprefix("\ufeff") if self.number == 1 else text
        try:
            self.decode(b"", True)
        except UnicodeDecodeError:
            raise BadInput(
                self.path, N_("line %(number)s"), N_("the file ends inside a character"), HINT, number=self.number
            ) from None


def _owner(path: Path, options: ParseOptions) -> AuthorRef | None:
    """The member named by the Profile.csv beside the file (First Name, Last Name), if there is one."""
    profile = path.with_name(PROFILE)
    if path.name == PROFILE or not profile.is_file():
        return None
    rows = _rows(profile, options)
    try:
        _, header = next(rows, (0, ""))
        _, first = next(rows, (0, ""))
    except BadInput:
        return None
    finally:
        rows.close()
    if isinstance(header, str) or isinstance(first, str):
        return None
    fields = dict(zip(header, first, strict=False))
    shown = " ".join(fields.get(part, "").strip() for part in ("First Name", "Last Name")).strip()
    return person(name=shown[:200]) if shown else None


def _date(value: str) -> datetime | str:
    """The row's time (UTC), or why it cannot be read."""
    try:
        return parse_date(value)
    except (ValueError, OverflowError, OSError) as error:  # a number of seconds too large is not a date
        return str(error) if isinstance(error, ValueError) else f"{value.strip()[:40]!r} is out of range"


def _urn(link: str) -> str | None:
    """The URN a LinkedIn address names (`urn:li:share:…`), written as LinkedIn writes it."""
    found = _URN.search(unquote(link))
    return f"urn:li:{_CASES[found.group(1).lower()]}:{found.group(2)}" if found else None


def _web(value: str) -> str | None:
    url = value.strip()
    return url if url and urlsplit(url).scheme in ("http", "https") else None
