"""Streaming XML with the dangerous parts of XML switched off, and errors that say where."""

from __future__ import annotations

import html.entities
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from lxml import etree

from pilote.errors import BadInput
from pilote.texts import N_

HEAD_LIMIT = 1 << 20
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY")
_EXTERNAL = re.compile(rb"\bSYSTEM\b|\bPUBLIC\b")
_SUBSET_END = re.compile(rb"\]\s*>")
# A document type that names an external DTD but is accepted: RSS 0.91 as Netscape published it. Its DTD
# (HTML's character entities) is never read: the parser loads no DTD and opens no connection.
_KNOWN = re.compile(
    rb'<!DOCTYPE\s+rss\s+PUBLIC\s+"-//Netscape Communications//DTD RSS 0\.91//EN"(?:\s+"https?://[^"<>\s]*")?\s*>'
)


def read_head(path: Path, size: int = 65536) -> bytes:
    """The first bytes of a file (for sniffing), or a BadInput if it cannot be opened."""
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as error:
        raise BadInput(
            path, None, N_("cannot be read: %(strerror)s"), N_("check the path"), strerror=error.strerror
        ) from None


def check_prolog(path: Path) -> bool:
    """Refuse empty files and documents declaring entities or external DTDs (XXE, billion laughs), except
    the well-known RSS 0.91 document type (`_KNOWN`); whether the document has that one."""
    head = read_head(path, HEAD_LIMIT)
    if not head.strip():
        raise BadInput(path, None, N_("the file is empty"), N_("export it again from the source"))
    known = False
    for match in _DOCTYPE.finditer(head):  # each one, should the first hide in a comment
        line = head.count(b"\n", 0, match.start()) + 1
        declaration = _declaration(head, match.start())
        if declaration is None:
            raise BadInput(
                path,
                N_("line %(line)s"),
                N_("the document type declaration never ends"),
                N_("export the file again"),
                line=line,
            )
        # An entity may be declared anywhere after a DOCTYPE: its internal subset can look closed early ("]>"
        # in a comment or a quoted value). An external DTD can only be named before the subset: in `declaration`.
        if _ENTITY_DECLARATION.search(head, match.start()) or (
            _EXTERNAL.search(declaration) and not _KNOWN.fullmatch(declaration)
        ):
            raise BadInput(
                path,
                N_("line %(line)s"),
                N_(
                    "the document type declares XML entities or an external DTD, which Pilote refuses "
                    "(entity expansion and external references are an attack vector)"
                ),
                N_("export the file again without a DOCTYPE"),
                line=line,
            )
        known = known or _KNOWN.fullmatch(declaration) is not None
    return known


def _declaration(head: bytes, start: int) -> bytes | None:
    """The DOCTYPE declaration at `start`, up to its closing ">" (after its internal subset, if any): the
    external DTD it names is checked there, not in the rest of the document (a comment may well say "SYSTEM")."""
    close, subset = head.find(b">", start), head.find(b"[", start)
    if subset != -1 and (close == -1 or subset < close):
        end = _SUBSET_END.search(head, subset)
        return head[start : end.end()] if end else None
    return head[start : close + 1] if close != -1 else None


def iter_elements(path: Path, tags: tuple[str, ...]) -> Iterator[etree._Element]:
    """Yield each finished element named in `tags` (Clark notation), freeing memory behind it."""
    named_entities = check_prolog(path)
    with path.open("rb") as raw:
        # RSS 0.91's DTD defines HTML's named characters (&eacute;): the parser, which reads no DTD, would
        # silently cut the text at each one. They are turned into the characters' numbers as the file is read.
        handle: IO[bytes] | _NumberedEntities = _NumberedEntities(raw) if named_entities else raw
        context = etree.iterparse(
            handle,
            events=("end",),
            tag=tags,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        try:
            for _event, element in context:
                yield element
                element.clear(keep_tail=False)
                parent = element.getparent()
                if parent is not None:
                    while element.getprevious() is not None:
                        del parent[0]
        except etree.XMLSyntaxError as error:
            line, message = _first_fatal(error)
            raise BadInput(
                path,
                N_("line %(line)s"),
                N_("malformed XML: %(detail)s"),
                _hint(message),
                line=line,
                detail=message,
            ) from None


_ENTITY = re.compile(rb"&([A-Za-z][A-Za-z0-9]{1,31});")
_PARTIAL = re.compile(rb"&[A-Za-z0-9]{0,32}\Z")  # a reference that a read may have cut before its ";"
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})


class _NumberedEntities:
    """A binary file whose HTML named character references read as numeric ones (`&eacute;` → `&#233;`)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.carry = b""

    def read(self, size: int = -1) -> bytes:
        while True:
            chunk = self.handle.read(size)
            data, self.carry = self.carry + chunk, b""
            if chunk and size > 0:  # keep a reference cut at the end of this read for the next one
                cut = _PARTIAL.search(data, max(0, len(data) - 34))
                if cut is not None:
                    data, self.carry = data[: cut.start()], data[cut.start() :]
            if data or not chunk:  # never an empty read before the end: the parser would stop there
                return _ENTITY.sub(_numbered, data)


def _numbered(match: re.Match[bytes]) -> bytes:
    """An HTML character's number; XML's own five as they are; any other name as the text it is written with
    (undeclared, the parser would cut the text there)."""
    name = match.group(1).decode("ascii")
    if name in _XML_ENTITIES:
        return match.group(0)
    code = html.entities.name2codepoint.get(name)
    return b"&amp;" + match.group(0)[1:] if code is None else b"&#%d;" % code


def _hint(message: str) -> str:
    """What to do about a parser error, in the user's terms."""
    if "encoding" in message.lower() or "utf-8" in message.lower():
        return "the file is not in the encoding it declares: export it again as UTF-8"
    return "the file is damaged or truncated: export it again"


def _first_fatal(error: etree.XMLSyntaxError) -> tuple[int, str]:
    """Where and why the parser stopped; with entities off, the exception itself can be vague ("line 0")."""
    if error.position and error.position[0] > 0:
        return error.position[0], error.msg
    # The log may still hold messages of earlier parses in this thread: the newest one is ours.
    fatals = error.error_log.filter_from_fatals()  # type: ignore[attr-defined]  # missing from lxml-stubs
    fatal = [entry for entry in fatals if entry.line]
    if fatal:
        return fatal[-1].line, fatal[-1].message
    return error.lineno or 0, error.msg


def text_of(element: etree._Element, tag: str) -> str | None:
    """The text of the first child `tag` (Clark notation), stripped; None when absent or empty."""
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    value = child.text.strip()
    return value or None


def local_name(element: etree._Element) -> str:
    """The tag without its namespace."""
    return etree.QName(element).localname


def children_text(element: etree._Element) -> dict[str, str]:
    """Each child's stripped text by tag (Clark notation), first occurrence wins; one pass over children."""
    found: dict[str, str] = {}
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and tag not in found:
            value = (child.text or "").strip()
            if value:
                found[tag] = value
    return found
