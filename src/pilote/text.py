"""Turning untrusted HTML into safe HTML and plain text."""

from __future__ import annotations

import html
import re

import nh3

MAX_FIELD_CHARS = 1_000_000
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "strong",
    "sub",
    "sup",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "q": {"cite"}, "blockquote": {"cite"}}
_BREAKS = re.compile(r"<\s*br\s*/?\s*>|</\s*(p|div|li|blockquote|h[1-6])\s*>", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


def sanitise_html(markup: str) -> str:
    """Keep a small set of formatting tags; links get rel="nofollow noopener ugc"; no images."""
    return nh3.clean(
        markup,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener ugc",
    )


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags dropped (script and style with their content)."""
    if "<" not in markup and "&" not in markup:
        return markup.strip()
    stripped = nh3.clean(_BREAKS.sub("\n", markup), tags=set())
    text = html.unescape(stripped)
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def clean(value: str | None, limit: int = MAX_FIELD_CHARS) -> str | None:
    """Drop NUL characters (PostgreSQL refuses them) and cap the length."""
    if value is None:
        return None
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value[:limit]
