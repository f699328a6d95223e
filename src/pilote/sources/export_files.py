"""What the platforms' own data exports (Facebook, Instagram, LinkedIn) have in common.

Their entries carry no id, so each gets one made of its kind, its time in Unix seconds and a digest of its
text and of where it was posted (`export_id`): the same entry in a later export gets the same id. Every
entry in these exports was written by the export's owner, who is named, if at all, in another file of the
export (`beside`). Meta writes each UTF-8 byte of a text as its own character (é becomes "Ã©": `unmangle`).
docs/importers-exports.md.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import math
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pilote.errors import BadInput
from pilote.sources.base import AuthorRef
from pilote.sources.x_archive import iter_json_array
from pilote.texts import N_

OWNER = AuthorRef(key="export-owner", handle="export owner")  # when no file of the export names the owner
MAX_OBJECT_BYTES = 256 << 20  # a file that is one JSON object is read whole
MAX_BESIDE_BYTES = 1 << 20  # a profile file is small: a larger one is not one
HINT = N_("the file is damaged or truncated: take it again from the export")


def unmangle(text: str) -> str:
    """Meta's exports write each UTF-8 byte as a character of its own; text that was not written so is kept."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return text


def readable(value: object) -> str:
    """A text field as people wrote it: mojibake undone, lone surrogates (which no database stores) replaced."""
    if not isinstance(value, str):
        return ""
    return unmangle(value).encode("utf-8", "replace").decode("utf-8")


def export_id(kind: str, seconds: int, text: str, *where: str) -> str:
    """`kind:seconds:digest`, the digest being the first 16 hex digits of the SHA-256 of the text (NFC) and of
    what says where it was posted (the post a comment answers, or the media of a post without text)."""
    parts = (unicodedata.normalize("NFC", text.strip()), *where)
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:16]
    return f"{kind}:{seconds}:{digest}"


def seconds(value: object) -> int | None:
    """Unix seconds as the exports write them (a whole number), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    whole = int(value)
    return whole if 0 < whole < 1 << 35 else None


def moment(value: int) -> datetime:
    """Unix seconds as an aware UTC time."""
    return datetime.fromtimestamp(value, UTC)


def raw(entry: object) -> str:
    """The entry as stored: compact JSON with sorted keys, its texts as the file wrote them."""
    text = json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: escaped, so that the database can hold it
        text = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    return text


def open_text(path: Path, encoding: str) -> TextIO:
    """The file as text, or BadInput saying why it cannot be opened."""
    try:
        return path.open(encoding=encoding, newline="")
    except OSError as error:
        raise BadInput(
            path, None, N_("cannot be read: %(strerror)s"), N_("check the path"), strerror=error.strerror
        ) from None
    except LookupError:
        raise BadInput(
            path, None, N_("unknown encoding %(encoding)r"), N_("pass a valid --encoding"), encoding=encoding
        ) from None


def opening(path: Path, encoding: str) -> str:
    """The first character of a JSON document, `[` or `{`; BadInput for an empty file or anything else."""
    with open_text(path, encoding) as text:
        try:
            start = text.read(4096).lstrip("\ufeff \t\r\n")[:1]
        except UnicodeDecodeError as error:
            raise BadInput(
                path,
                N_("line 1"),
                N_("not valid %(encoding)s text: %(reason)s"),
                N_("check the encoding"),
                encoding=encoding,
                reason=error.reason,
            ) from None
    if not start:
        raise BadInput(path, None, N_("the file is empty"), N_("take it again from the export"))
    if start not in ("[", "{"):
        raise BadInput(path, N_("line 1"), N_("expected a JSON array or object, found %(start)r"), HINT, start=start)
    return start


def elements(path: Path, encoding: str) -> Iterator[tuple[int, Any]]:
    """Each element of a JSON array with the line it starts on, read as the file goes (flat memory)."""
    with open_text(path, encoding) as text:
        yield from iter_json_array(text, path)


def load_object(path: Path, encoding: str) -> dict[str, Any]:
    """A file that is one JSON object, read whole (so capped); BadInput when it is not one."""
    size = path.stat().st_size
    if size > MAX_OBJECT_BYTES:
        raise BadInput(
            path,
            None,
            N_("a JSON object of %(value)s MB is more than Pilote reads at once"),
            N_("at most %(value2)s MB; take a shorter date range in the export"),
            value=size >> 20,
            value2=MAX_OBJECT_BYTES >> 20,
        )
    try:
        data = json.loads(path.read_bytes().decode(encoding).removeprefix("\ufeff"))
    except UnicodeDecodeError as error:
        raise BadInput(
            path,
            N_("byte %(start)s"),
            N_("not valid %(encoding)s text"),
            N_("check the encoding"),
            start=error.start,
            encoding=encoding,
        ) from None
    except json.JSONDecodeError as error:
        raise BadInput(
            path, N_("line %(lineno)s"), N_("malformed JSON: %(msg)s"), HINT, lineno=error.lineno, msg=error.msg
        ) from None
    except RecursionError:
        raise BadInput(path, None, N_("JSON nested too deeply for an export"), HINT) from None
    if not isinstance(data, dict):
        raise BadInput(path, N_("line 1"), N_("expected a JSON object"), HINT)
    return data


def beside(path: Path, names: tuple[str, ...], levels: int = 3) -> Any:
    """The JSON of the first of `names` (relative paths) found in the folders above the file, up to `levels`
    up, for the export's profile file; None when there is none or it cannot be read (the import goes on)."""
    folder = path.resolve().parent
    for _ in range(levels):
        for name in names:
            found = folder / name
            try:
                if found.is_file() and found.stat().st_size <= MAX_BESIDE_BYTES:
                    return json.loads(found.read_bytes().removeprefix(codecs.BOM_UTF8))
            except (OSError, ValueError, RecursionError):
                return None
        if folder.parent == folder:
            break
        folder = folder.parent
    return None


def basename(value: object) -> str:
    """The last part of a media file's path in the export (stable when the export's folders are renamed)."""
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else ""
