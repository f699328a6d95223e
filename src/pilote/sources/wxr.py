"""WordPress eXtended RSS exports (WXR 1.0-1.2): posts, pages and their threaded comments."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from pilote.errors import BadInput, fill
from pilote.sources.base import Item, ItemError, ParseOptions, SourceInfo, person
from pilote.sources.dates import parse_date
from pilote.sources.xmlsafe import check_prolog, children_text, iter_elements, read_head
from pilote.texts import N_

name = "wxr"
description = N_("WordPress export (WXR 1.0, 1.1, 1.2): posts, pages, threaded comments, pingbacks")

_WP_NS = re.compile(rb"xmlns:wp=\"https?://wordpress\.org/export/1\.[0-9]+/\"")
_WP_URI = re.compile(r"https?://wordpress\.org/export/1\.[0-9]+/")
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
CONVERSATIONAL_TYPES = {"post", "page"}
STATUS = {"1": "approved", "0": "pending", "spam": "spam", "trash": "trash", "post-trashed": "trash"}


def sniff(head: bytes, path: Path) -> bool:
    """WXR is RSS with WordPress's export namespace."""
    return _WP_NS.search(head) is not None


def _namespace(path: Path) -> str:
    check_prolog(path)
    match = _WP_NS.search(read_head(path))
    if match is None:
        raise BadInput(path, None, N_("no WordPress export namespace (xmlns:wp)"), N_("is this a WXR file?"))
    return match.group(0).split(b'"')[1].decode()


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """The blog's address (wp:base_blog_url, else the channel link) identifies the source."""
    wp = "{" + _namespace(path) + "}"
    title = link = None
    for element in iter_elements(path, ("{*}title", "{*}link", f"{wp}base_blog_url", "item")):
        tag = etree.QName(element).localname
        if tag == "item":
            break
        parent = element.getparent()
        if parent is None or etree.QName(parent).localname != "channel":
            continue
        if tag == "title" and title is None:
            title = (element.text or "").strip()
        elif tag in {"link", "base_blog_url"}:
            link = (element.text or "").strip() or link
    key = options.source_key or (site_key(link) if link else path.stem)
    return SourceInfo(kind=name, key=key, name=title or key, channel=f"blog:{key.split('/')[0]}", url=link)


def site_key(link: str) -> str:
    """A site's address without scheme or trailing slash: http and https exports are one blog."""
    parts = urlsplit(link.strip())
    return (parts.netloc.lower() + parts.path.rstrip("/")) or link.strip()


def count(path: Path, options: ParseOptions) -> int:
    """Check the whole file parses and count its items and comments, without building messages."""
    wp = "{" + _namespace(path) + "}"
    return sum(1 for _ in iter_elements(path, ("item", f"{wp}comment")))


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Each item, then its comments in file order; comments' thread is their post."""
    wp = "{" + _namespace(path) + "}"
    for item in iter_elements(path, ("item",)):
        yield from _parse_item(item, wp)


def _parse_item(item: etree._Element, wp: str) -> Iterator[Item | ItemError]:
    line = item.sourceline
    comments = item.findall(f"{wp}comment")
    for comment in comments:
        item.remove(comment)
    fields = children_text(item)
    identity = fields.get(f"{wp}post_id") or fields.get("guid") or fields.get("link")
    if identity is None:
        yield ItemError(
            fill(N_("line %(line)s"), {"line": line}),
            N_("<item> with neither <wp:post_id>, <guid> nor <link>: skipped"),
        )
        return
    post_type = fields.get(f"{wp}post_type", "post")
    if post_type not in CONVERSATIONAL_TYPES and not comments:
        return
    post_key = f"post:{identity}"
    comment_fields = [children_text(comment) for comment in comments]
    comment_dates = [_date(found, f"{wp}comment_date") for found in comment_fields]
    # Some exports omit dates: a post then takes its first comment's date, a comment its post's.
    post_date = _date(fields, f"{wp}post_date", fields.get("pubDate")) or min(
        (d for d in comment_dates if d), default=None
    )
    if post_date is None:
        yield ItemError(
            fill(N_("line %(line)s"), {"line": line}),
            fill(N_("post %(identity)s: no date in the post nor its comments: skipped"), {"identity": identity}),
        )
        return
    yield _post(item, fields, wp, post_key, post_type, post_date)
    for comment, found, date in zip(comments, comment_fields, comment_dates, strict=True):
        try:
            yield _comment(comment, found, wp, post_key, date or post_date)
        except ValueError as error:
            yield ItemError(
                fill(N_("line %(sourceline)s"), {"sourceline": comment.sourceline}),
                fill(N_("comment in post %(identity)s: %(error)s"), {"identity": identity, "error": error}),
            )


def _date(fields: dict[str, str], tag: str, fallback: str | None = None) -> datetime | None:
    for value in (fields.get(f"{tag}_gmt"), fields.get(tag), fallback):
        if value and not value.startswith("0000") and "-0001" not in value:
            try:
                return parse_date(value)
            except ValueError:
                continue
    return None


def _post(
    item: etree._Element, fields: dict[str, str], wp: str, key: str, post_type: str, created_at: datetime
) -> Item:
    creator = fields.get(DC_CREATOR)
    status = fields.get(f"{wp}status")
    return Item(
        external_id=key,
        kind="page" if post_type == "page" else "post",
        created_at=created_at,
        raw=etree.tostring(item, encoding="unicode", with_tail=False),
        title=fields.get("title"),
        html=fields.get(CONTENT),
        url=fields.get("link"),
        thread_external_id=key,
        author=person(name=creator, handle=creator),
        labels=(("status", status),) if status else (),
    )


def _comment(comment: etree._Element, fields: dict[str, str], wp: str, post_key: str, created_at: datetime) -> Item:
    comment_id = fields.get(f"{wp}comment_id")
    if comment_id is None:
        raise ValueError("<wp:comment> without <wp:comment_id>: skipped")
    parent = fields.get(f"{wp}comment_parent")
    comment_type = fields.get(f"{wp}comment_type", "comment")
    has_parent = parent not in (None, "0")
    if comment_type in {"pingback", "trackback"}:
        kind = comment_type
    else:
        kind = "reply" if has_parent else "comment"
    approved = fields.get(f"{wp}comment_approved", "1")
    status = STATUS.get(approved, approved)
    labels: tuple[tuple[str, str], ...] = (("status", status),)
    if status == "spam":
        labels += (("spam", "spam"),)
    return Item(
        external_id=f"comment:{comment_id}",
        kind=kind,
        created_at=created_at,
        raw=etree.tostring(comment, encoding="unicode", with_tail=False),
        html=fields.get(f"{wp}comment_content", ""),
        parent_external_id=f"comment:{parent}" if has_parent else post_key,
        thread_external_id=post_key,
        author=person(
            name=fields.get(f"{wp}comment_author"),
            email=fields.get(f"{wp}comment_author_email"),
            url=fields.get(f"{wp}comment_author_url"),
        ),
        labels=labels,
    )
