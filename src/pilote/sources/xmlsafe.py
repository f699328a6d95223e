"""Streaming XML with the dangerous parts of XML switched off, and errors that say where."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from pilote.errors import BadInput

HEAD_LIMIT = 1 << 20
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_DANGEROUS = re.compile(rb"<!ENTITY|\bSYSTEM\b|\bPUBLIC\b")


def read_head(path: Path, size: int = 65536) -> bytes:
    """The first bytes of a file (for sniffing), or a BadInput if it cannot be opened."""
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError as error:
        raise BadInput(path, None, f"cannot be read: {error.strerror}", "check the path") from None


def check_prolog(path: Path) -> None:
    """Refuse empty files and documents declaring entities or external DTDs (XXE, billion laughs)."""
    head = read_head(path, HEAD_LIMIT)
    if not head.strip():
        raise BadInput(path, None, "the file is empty", "export it again from the source")
    match = _DOCTYPE.search(head)
    if match is None:
        return
    line = head.count(b"\n", 0, match.start()) + 1
    if _DANGEROUS.search(head, match.start()):
        raise BadInput(
            path,
            f"line {line}",
            "the document type declares XML entities or an external DTD, which Pilote refuses "
            "(entity expansion and external references are an attack vector)",
            "export the file again without a DOCTYPE",
        )


def iter_elements(path: Path, tags: tuple[str, ...]) -> Iterator[etree._Element]:
    """Yield each finished element named in `tags` (Clark notation), freeing memory behind it."""
    check_prolog(path)
    with path.open("rb") as handle:
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
            raise BadInput(path, f"line {line}", f"malformed XML: {message}", _hint(message)) from None


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
