"""X (Twitter) archives: `tweets.js` (or `tweets-part1.js`...), one JavaScript assignment of a JSON array.

A real archive can weigh a gigabyte, so the array is read in chunks and decoded one element at a time.
Every tweet's author is the archive's owner, read from the `account.js` beside the file when there is
one: keyed by account id, which survives a change of @username. Without it, the owner is a placeholder
and the source is named after the archive's folder (the one above `data/` in an unzipped archive).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TextIO

from pilote.errors import BadInput, fill
from pilote.sources.base import AuthorRef, Counters, Item, ItemError, ParseOptions, SourceInfo
from pilote.sources.dates import parse_date
from pilote.texts import N_

name = "x_archive"
description = N_("X (Twitter) archive tweets.js: posts, replies and retweets of the archive's owner")

CHUNK_CHARS = 1 << 20
MAX_ELEMENT_CHARS = 64 << 20
_SNIFF = re.compile(rb"window\.YTD\.tweets?\.part\d+\s*=")
_PREFIX = re.compile(r"\ufeff?\s*(?:[A-Za-z_$][\w$.]*\s*=\s*)?\[")
_BLANK = re.compile(r"[ \t\r\n]*")
_NUMBER_TAIL = re.compile(r"[0-9eE.+-]*\Z")
# No language: undetermined, no linguistic content, artificial, and the private-use q* codes X uses
# (qme: media only, qam: mentions only, qht: hashtags only...).
_NO_LANGUAGE = re.compile(r"^(und|zxx|art|q[a-t][a-z])$")
_OLD_CODES = {"in": "id", "iw": "he", "ji": "yi"}
_DECODER = json.JSONDecoder()


@dataclass(slots=True, frozen=True)
class Owner:
    """The account an archive belongs to, from its account.js."""

    account_id: str
    username: str | None
    display_name: str | None


def sniff(head: bytes, path: Path) -> bool:
    """X archive files start with `window.YTD.tweets.part0 = [`."""
    return _SNIFF.search(head) is not None


UNKNOWN_OWNER = "archive owner"  # the author of every tweet of an archive without its account.js
ARCHIVE = "X archive "  # how the name of such an archive's source starts


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """The owner's account id identifies the source, else the archive's folder."""
    owner = read_owner(path, options)
    if owner is None:
        folder = _archive_folder(path)
        return SourceInfo(kind=name, key=options.source_key or f"x:{folder}", name=f"{ARCHIVE}{folder}", channel="x")
    handle = f"@{owner.username}" if owner.username else owner.account_id
    return SourceInfo(
        kind=name,
        key=options.source_key or f"x:{owner.account_id}",
        name=f"{handle} on X",
        channel="x",
        url=f"https://x.com/{owner.username}" if owner.username else None,
    )


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Each tweet in file order; the archive's owner is the author of all of them."""
    author = _author(read_owner(path, options))
    with _open(path, options) as handle:
        for line, element in iter_json_array(handle, path):
            yield _tweet(element, line, author)


def read_owner(path: Path, options: ParseOptions) -> Owner | None:
    """The owner named by the account.js beside an archive file, if there is one."""
    account = path.with_name("account.js")
    if not account.is_file():
        return None
    with _open(account, options) as handle:
        for _line, element in iter_json_array(handle, account):
            data = element.get("account") if isinstance(element, dict) else None
            if isinstance(data, dict) and data.get("accountId"):
                return Owner(
                    account_id=str(data["accountId"]),
                    username=_string(data.get("username")),
                    display_name=_string(data.get("accountDisplayName")),
                )
    return None


def iter_json_array(handle: TextIO, path: Path, chunk_size: int = CHUNK_CHARS) -> Iterator[tuple[int, Any]]:
    """Each element of a JSON array (after an optional `window.YTD.name.partN =`), with its line."""
    reader = _Reader(handle, path, chunk_size)
    reader.open_array()
    more = not reader.take("]")
    while more:
        yield reader.element()
        more = reader.take(",")
        if not more and not reader.take("]"):
            found = reader.peek()
            where = "the end of the file" if found is None else repr(found)
            reader.fail(reader.pos, f"expected ',' or ']' after an array element, found {where}")
    reader.take(";")
    if reader.peek() is not None:
        reader.fail(reader.pos, "unexpected text after the end of the array")


class _Reader:
    """Text read ahead from a handle in chunks, with the line number of any position still held."""

    def __init__(self, handle: TextIO, path: Path, chunk_size: int) -> None:
        self.handle, self.path, self.chunk_size = handle, path, chunk_size
        self.text = ""
        self.pos = 0
        self.eof = False
        self._line = 1  # the line number at self._mark
        self._mark = 0

    def line(self, index: int | None = None) -> int:
        """The line number of a position in the text held (the current one by default)."""
        index = self.pos if index is None else index
        if index < self._mark:
            return self._line - self.text.count("\n", index, self._mark)
        # Positions only move forward: counting from the last one asked keeps this linear overall.
        self._line += self.text.count("\n", self._mark, index)
        self._mark = index
        return self._line

    def fail(self, index: int, problem: str) -> NoReturn:
        raise BadInput(
            self.path, N_("line %(value)s"), problem, N_("the file is damaged or truncated"), value=self.line(index)
        )

    def fill(self, size: int) -> bool:
        """Drop what was consumed and read at least `size` more characters; False at the end of the file."""
        if self.eof:
            return False
        self._line, self._mark = self.line(), 0
        self.text, self.pos = self.text[self.pos :], 0
        try:
            chunk = self.handle.read(max(size, self.chunk_size))
        except UnicodeDecodeError as error:
            where = f"after line {self.line(len(self.text))}"
            raise BadInput(
                self.path, where, N_("not valid text: %(error)s"), N_("check the encoding"), error=error
            ) from None
        self.eof = not chunk
        self.text += chunk
        return not self.eof

    def peek(self) -> str | None:
        """Skip blanks and return the next character without consuming it; None at the end of the file."""
        while True:
            match = _BLANK.match(self.text, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill(0):
                return None

    def take(self, char: str) -> bool:
        """Consume `char` if it is the next character after blanks."""
        if self.peek() != char:
            return False
        self.pos += 1
        return True

    def open_array(self) -> None:
        while "[" not in self.text and len(self.text) < 4096 and self.fill(0):
            pass
        if not self.text.strip():
            raise BadInput(self.path, None, N_("the file is empty"), N_("export it again from the source"))
        match = _PREFIX.match(self.text)
        if match is None:
            self.fail(0, "expected a JSON array, or `window.YTD.<name>.part<N> = [`")
        self.pos = match.end()

    def element(self) -> tuple[int, Any]:
        """The line and value of the JSON value that starts at the next character, read until complete."""
        self.peek()
        line = self.line()
        while True:
            start = self.pos
            try:
                value, end = _DECODER.raw_decode(self.text, start)
            except json.JSONDecodeError as error:
                if self._incomplete(error) and self.fill(len(self.text) - start):
                    continue
                self.fail(error.pos - start + self.pos, f"malformed JSON: {error.msg}")
            # A number cut by the end of the text held ("-1." of "-1.5e3") may go on in the next chunk.
            if _is_number(value) and _NUMBER_TAIL.match(self.text, end) and self.fill(self.chunk_size):
                continue
            self.pos = end - start + self.pos
            return line, value

    def _incomplete(self, error: json.JSONDecodeError) -> bool:
        """Whether more text could mend the error: it is at the end of the text held, or in a string."""
        if len(self.text) - self.pos >= MAX_ELEMENT_CHARS:
            self.fail(self.pos, f"an array element is larger than {MAX_ELEMENT_CHARS >> 20} MB, or malformed")
        return error.msg.startswith("Unterminated string") or error.pos >= len(self.text) - 256


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _open(path: Path, options: ParseOptions) -> TextIO:
    try:
        return path.open(encoding=options.encoding, newline="")
    except OSError as error:
        raise BadInput(
            path, None, N_("cannot be read: %(strerror)s"), N_("check the path"), strerror=error.strerror
        ) from None
    except LookupError:
        raise BadInput(
            path, None, N_("unknown encoding %(encoding)r"), N_("pass a valid --encoding"), encoding=options.encoding
        ) from None


def _archive_folder(path: Path) -> str:
    folder = path.resolve().parent
    if folder.name == "data" and folder.parent.name:
        folder = folder.parent
    return folder.name or "archive"


def _author(owner: Owner | None) -> AuthorRef:
    if owner is None:
        return AuthorRef(key="archive-owner", handle=UNKNOWN_OWNER)
    return AuthorRef(
        key=f"id:{owner.account_id}",
        handle=owner.username or owner.account_id,
        name=owner.display_name,
        url=f"https://x.com/{owner.username}" if owner.username else None,
    )


def _tweet(element: Any, line: int, author: AuthorRef) -> Item | ItemError:
    tweet = element.get("tweet") if isinstance(element, dict) else None
    if not isinstance(tweet, dict):
        return ItemError(
            fill(N_("line %(line)s"), {"line": line}),
            N_('array element is not an object with a "tweet" object: skipped'),
        )
    tweet_id = _string(tweet.get("id_str")) or _string(tweet.get("id"))
    if tweet_id is None:
        return ItemError(fill(N_("line %(line)s"), {"line": line}), N_("tweet without id_str: skipped"))
    try:
        created_at = parse_date(str(tweet.get("created_at") or ""))
    except ValueError as error:
        return ItemError(
            fill(N_("line %(line)s"), {"line": line}),
            fill(N_("tweet %(tweet_id)s: created_at: %(error)s: skipped"), {"tweet_id": tweet_id, "error": error}),
        )
    text = _unescape(str(tweet.get("full_text") or tweet.get("text") or ""))
    reply_to = _string(tweet.get("in_reply_to_status_id_str"))
    return Item(
        external_id=tweet_id,
        kind="reply" if reply_to else "share" if text.startswith("RT @") else "post",
        created_at=created_at,
        raw=json.dumps(element, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
        text=text,
        url=f"https://x.com/i/status/{tweet_id}",
        language=_language(tweet.get("lang")),
        parent_external_id=reply_to,
        author=author,
        counters=Counters(likes=_number(tweet.get("favorite_count")), shares=_number(tweet.get("retweet_count"))),
    )


def _unescape(text: str) -> str:
    # X escapes only these three; &amp; goes last so that a literal "&amp;lt;" stays "&lt;".
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _language(value: object) -> str | None:
    code = str(value or "").strip().lower()
    if not code or _NO_LANGUAGE.match(code):
        return None
    return _OLD_CODES.get(code, code)


def _string(value: object) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _number(value: object) -> int | None:
    try:
        return int(str(value)) if value is not None else None
    except ValueError:
        return None
