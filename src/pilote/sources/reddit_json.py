"""Reddit API answers saved to a file, read with the connector's own parsing (reddit_things).

A file holds one JSON value or several (one per line, or one after another), each of them: a listing
(`{kind: Listing, data: {children}}`), a thread (`[post listing, comment listing]`, replies nested), a
list of things, a `morechildren` or `comment` answer (`{json: {data: {things}}}`), or recorded API
interactions — a list of `{uri, body}` (the body as JSON or as a string) or a cassette's
`{http_interactions: [{response: {body: {string}}}]}` — whose answers are read in turn (those that are not
posts or comments, such as a token answer, are passed over). "more" stubs are not messages: skipped.
The file's text is read into memory (API answers are small; 128 MB at most), its values decoded in turn.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from pilote.errors import BadInput
from pilote.sources import reddit_things as things
from pilote.sources.base import Item, ItemError, ParseOptions, SourceInfo
from pilote.sources.xmlsafe import read_head
from pilote.texts import N_

name = "reddit_json"
description = N_("Reddit API JSON: a listing, a thread ([post, comments]), morechildren answers, recorded interactions")

MAX_BYTES = 128 << 20
KINDS = frozenset({"Listing", "t1", "t3", "more"})
_THING = re.compile(rb'"kind"\s*:\s*"(?:Listing|t1|t3|more)"')
_SUBREDDIT = re.compile(rb'\\?"subreddit\\?"\s*:\s*\\?"([A-Za-z0-9_]{1,40})\\?"')
_BLANK = re.compile(r"\s*")
_DECODER = json.JSONDecoder()


def sniff(head: bytes, path: Path) -> bool:
    """JSON (an object or an array, even spanning lines) holding Reddit things, or recorded Reddit answers."""
    if head.removeprefix(codecs.BOM_UTF8).lstrip()[:1] not in (b"{", b"["):
        return False
    return _THING.search(head) is not None or (b'"http_interactions"' in head and b"reddit.com" in head)


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """The subreddit the head of the file names (the same key as the connector's), else the file's stem."""
    found = {match.group(1).decode() for match in _SUBREDDIT.finditer(read_head(path))}
    distinct = {subreddit.lower(): subreddit for subreddit in found}
    if len(distinct) == 1:
        [(key, shown)] = distinct.items()
        return SourceInfo(kind=name, key=options.source_key or f"reddit.com/r/{key}", name=f"r/{shown}",
                          channel="reddit", url=f"{things.SITE}/r/{shown}/")  # fmt: skip
    key = options.source_key or ("reddit.com" if distinct else path.stem)
    return SourceInfo(kind=name, key=key, name="Reddit" if distinct else key, channel="reddit", url=things.SITE)


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Each post and comment in file order, replies after their parents; BadInput for a file that is not JSON."""
    for where, value in _values(path, options):
        yield from _answer(value, where, recorded=False)


def _values(path: Path, options: ParseOptions) -> Iterator[tuple[str, Any]]:
    """The JSON values of the file: one document, or several one after another (by line), decoded in turn."""
    text = _text(path, options)
    try:
        yield "", orjson.loads(text)
        return
    except orjson.JSONDecodeError:
        pass
    position, line = 0, 1
    while True:
        blank = _BLANK.match(text, position)
        end = blank.end() if blank else position
        line += text.count("\n", position, end)
        position = end
        if position >= len(text):
            return
        try:
            value, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError as error:
            where = f"line {line + text.count(chr(10), position, error.pos)}"
            raise BadInput(
                path, where, N_("malformed JSON: %(msg)s"), N_("save the API answer again"), msg=error.msg
            ) from None
        yield f"line {line}", value
        line += text.count("\n", position, end)
        position = end


def _text(path: Path, options: ParseOptions) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BadInput(
                path,
                None,
                N_("larger than %(value)s MB"),
                N_("split it, one API answer per file"),
                value=MAX_BYTES >> 20,
            )
        data = path.read_bytes()
    except OSError as error:
        raise BadInput(
            path, None, N_("cannot be read: %(strerror)s"), N_("check the path"), strerror=error.strerror
        ) from None
    try:
        text = data.decode(options.encoding).removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise BadInput(
            path,
            N_("byte %(start)s"),
            N_("not valid %(encoding)s text"),
            N_("check --encoding"),
            start=error.start,
            encoding=options.encoding,
        ) from None
    except LookupError:
        raise BadInput(
            path, None, N_("unknown encoding %(encoding)r"), N_("pass a valid --encoding"), encoding=options.encoding
        ) from None
    if not text.strip():
        raise BadInput(path, None, N_("the file is empty"), N_("save the API answer again"))
    return text


def _answer(value: Any, where: str, *, recorded: bool) -> Iterator[Item | ItemError]:
    """The items of one JSON value; one that is no Reddit shape is an ItemError (passed over in recordings)."""
    if isinstance(value, dict) and isinstance(value.get("http_interactions"), list):
        for number, interaction in enumerate(value["http_interactions"], 1):
            response = interaction.get("response") if isinstance(interaction, dict) else None
            body = response.get("body") if isinstance(response, dict) else None
            yield from _recorded(body.get("string") if isinstance(body, dict) else None, where, number)
    elif isinstance(value, list) and value and all(_interaction(element) for element in value):
        for number, interaction in enumerate(value, 1):
            yield from _recorded(interaction["body"], where, number)
    elif (found := _things(value)) is not None:
        for position, thing in enumerate(things.forest(found), 1):
            if isinstance(thing, dict) and thing.get("kind") != "more":
                yield things.read(thing, ", ".join(filter(None, (where, f"thing {position}"))))
    elif not recorded:
        yield ItemError(where or "the file", N_("not a Reddit listing, thread, post or comment: skipped"))


def _recorded(body: Any, where: str, number: int) -> Iterator[Item | ItemError]:
    if isinstance(body, str):
        try:
            body = orjson.loads(body)
        except orjson.JSONDecodeError:
            return  # an answer that is not JSON (an error page): nothing to read
    yield from _answer(body, ", ".join(filter(None, (where, f"interaction {number}"))), recorded=True)


def _interaction(value: Any) -> bool:
    return isinstance(value, dict) and "body" in value and ("uri" in value or "request" in value)


def _things(value: Any) -> Any:
    """What holds things in a Reddit answer (a listing, a thread, a list of things, an API `json` answer)."""
    if isinstance(value, dict) and isinstance(value.get("json"), dict):
        data = value["json"].get("data")
        return data.get("things") if isinstance(data, dict) and isinstance(data.get("things"), list) else None
    if isinstance(value, dict):
        return value if value.get("kind") in KINDS else None
    if isinstance(value, list) and any(_things(element) is not None for element in value):
        return value
    return None
