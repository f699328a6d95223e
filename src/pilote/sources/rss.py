"""RSS 2.0 and Atom feeds, WordPress comment feeds included: posts, and the comments linked to them.

Posts are keyed by their permalink, comments by their guid (Atom id). WordPress gives a comment the
same guid in its RSS and Atom comment feeds, and links it as its post's permalink plus `#comment-N`
(after `comment-page-N/` when comments are paged), so a blog's post feed and comment feeds meet in
one source and link up. A single post's comment feed ("Comments on: ...") links to that post rather
than to the blog: its source key is the blog's host, which matches the blog's own feeds unless the
blog lives under a sub-path. Atom comment feeds name a parent with RFC 4685 thr:in-reply-to: its href
when that is a post's permalink (no fragment), else its ref, the parent comment's id. Language is
left to enrichment: a channel's <language> says little about its commenters.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from pilote.sources.base import AuthorRef, Counters, Item, ItemError, ParseOptions, SourceInfo, person
from pilote.sources.dates import parse_date
from pilote.sources.wxr import CONTENT, DC_CREATOR, site_key
from pilote.sources.wxr import sniff as is_wxr
from pilote.sources.xmlsafe import iter_elements, local_name, text_of
from pilote.text import html_to_text
from pilote.texts import N_

name = "rss"
description = N_("RSS 2.0 or Atom feed: posts, and comments from WordPress or RFC 4685 comment feeds")

ATOM = "{http://www.w3.org/2005/Atom}"
THR = "{http://purl.org/syndication/thread/1.0}"
XHTML = "{http://www.w3.org/1999/xhtml}"
DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
SLASH_COMMENTS = "{http://purl.org/rss/1.0/modules/slash/}comments"
ENTRY_TAGS = ("item", f"{ATOM}entry")
_RSS = re.compile(rb"<rss[\s>]")
_ATOM = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?feed\b[^>]*[\"']http://www\.w3\.org/2005/Atom[\"']")
# WordPress's own titles for comment feeds, in English and in French.
_COMMENT_FEED = re.compile(r"^\s*(Comments (on|for)|Commentaires (sur|pour))\b", re.IGNORECASE)
_SINGLE_POST = re.compile(r"^\s*(Comments on|Commentaires sur)\b", re.IGNORECASE)
_SITE_COMMENTS = re.compile(r"^\s*(Comments for|Commentaires pour)\s*", re.IGNORECASE)
_COMMENT_LINK = re.compile(r"#comment-\d+$")
_COMMENT_PAGE = re.compile(r"(comment-page-\d+/?|[?&]cpage=\d+)$")
_EMAIL_NAME = re.compile(r"^\s*(\S+@\S+)\s*\(([^)]*)\)\s*$")


@dataclass(slots=True, frozen=True)
class _Feed:
    """What a feed's entries share: its title and site link, and whether they are comments."""

    title: str | None = None
    link: str | None = None
    comments: bool = False
    post_link: str | None = None  # the post a single post's comment feed is about


@dataclass(slots=True)
class _Entry:
    """The fields RSS items and Atom entries share, before deciding what the entry is."""

    where: str
    raw: str
    link: str | None
    guid: str | None
    title: str | None
    published: datetime | None
    updated: datetime | None
    html: str | None
    text: str
    author: AuthorRef | None
    replies: int | None
    in_reply_to: tuple[str | None, str | None] | None = None  # (ref, href)


def sniff(head: bytes, path: Path) -> bool:
    """An <rss> or Atom <feed> root, but not a WordPress export (WXR is RSS too, detected first)."""
    return (_RSS.search(head) is not None or _ATOM.search(head) is not None) and not is_wxr(head, path)


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """The site link without scheme or trailing slash identifies the source, as for WXR."""
    feed = _read_feed(path)
    key = options.source_key or _key(feed) or path.stem
    return SourceInfo(
        kind=name, key=key, name=_site_name(feed) or key, channel=f"blog:{key.split('/')[0]}", url=feed.link
    )


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Each item or entry in file order; the feed's own fields are read beside the first one."""
    feed: _Feed | None = None
    for element in iter_elements(path, ENTRY_TAGS):
        if feed is None:
            feed = _feed_of(element.getparent(), element)
        entry = _atom_entry(element) if element.tag == f"{ATOM}entry" else _rss_item(element)
        yield _item(entry, feed)


def _read_feed(path: Path) -> _Feed:
    for element in iter_elements(path, (*ENTRY_TAGS, "channel", f"{ATOM}feed")):
        if local_name(element) in {"item", "entry"}:
            return _feed_of(element.getparent(), element)
        return _feed_of(element, None)
    return _Feed()


def _feed_of(container: etree._Element | None, first: etree._Element | None) -> _Feed:
    if container is None:
        return _Feed()
    atom = container.tag == f"{ATOM}feed"
    title = _title(container.find(f"{ATOM}title")) if atom else text_of(container, "title")
    link = _alternate(container) if atom else text_of(container, "link")
    # Titles are translated, `#comment-N` links are not: a feed whose first comment is on the post the
    # feed links to is that post's comment feed, whatever its language.
    first_link = _link_of(first) if first is not None else None
    first_post = _post_of(first_link) if _is_comment(first_link) else None
    single = bool(title and _SINGLE_POST.match(title)) or (
        first_post is not None and link is not None and first_post.rstrip("/") == link.rstrip("/")
    )
    comments = single or bool(title and _COMMENT_FEED.match(title))
    return _Feed(title=title, link=link, comments=comments, post_link=link if single else None)


def _key(feed: _Feed) -> str | None:
    if not feed.link:
        return None
    if feed.post_link:
        return urlsplit(feed.link.strip()).netloc.lower() or None
    return site_key(feed.link)


def _site_name(feed: _Feed) -> str | None:
    if feed.post_link or not feed.title:
        return None
    if feed.comments:  # "Comments for My Blog" names the blog
        return _SITE_COMMENTS.sub("", feed.title).strip() or None
    return feed.title


def _link_of(entry: etree._Element) -> str | None:
    return _alternate(entry) if entry.tag == f"{ATOM}entry" else text_of(entry, "link")


def _item(entry: _Entry, feed: _Feed) -> Item | ItemError:
    created_at = entry.published or entry.updated
    if created_at is None:
        return ItemError(
            entry.where, N_("entry without a valid date (pubDate, dc:date, published or updated): skipped")
        )
    comment = entry.in_reply_to is not None or feed.comments or _is_comment(entry.link) or _is_comment(entry.guid)
    external_id = (entry.guid or entry.link) if comment else (entry.link or entry.guid)
    if external_id is None:
        return ItemError(entry.where, N_("entry with neither a link nor a guid or id: skipped"))
    parent, thread, kind = _placement(entry, feed) if comment else (None, external_id, "post")
    edited = entry.updated if entry.published and entry.updated and entry.updated > entry.published else None
    return Item(
        external_id=external_id,
        kind=kind,
        created_at=created_at,
        raw=entry.raw,
        text=entry.text,
        html=entry.html,
        title=entry.title,
        url=entry.link,
        parent_external_id=parent,
        thread_external_id=thread,
        author=entry.author,
        edited_at=edited,
        counters=Counters(replies=entry.replies) if entry.replies is not None else None,
    )


def _placement(entry: _Entry, feed: _Feed) -> tuple[str | None, str | None, str]:
    """A comment's parent, thread and kind: a comment answers a post, a reply answers a comment."""
    post = _post_of(entry.link) or feed.post_link
    if entry.in_reply_to is None:
        return post, post, "comment"
    ref, href = entry.in_reply_to
    if "#" not in (href or ref or ""):
        parent = href or ref
        return parent, post or parent, "comment"
    return ref or href, post or _post_of(href), "reply"


def _is_comment(url: str | None) -> bool:
    return url is not None and _COMMENT_LINK.search(url) is not None


def _post_of(url: str | None) -> str | None:
    """The post a comment's link points into: the link without its fragment and comment page."""
    if not url or "#" not in url:
        return None
    return _COMMENT_PAGE.sub("", url.split("#", 1)[0]) or None


def _rss_item(item: etree._Element) -> _Entry:
    guid = text_of(item, "guid")
    link = text_of(item, "link") or _permalink_guid(item, guid)
    return _Entry(
        where=f"line {item.sourceline}",
        raw=etree.tostring(item, encoding="unicode", with_tail=False),
        link=link,
        guid=guid,
        title=text_of(item, "title"),
        published=_date(text_of(item, "pubDate") or text_of(item, DC_DATE)),
        updated=None,
        html=text_of(item, CONTENT) or text_of(item, "description"),
        text="",
        author=_rss_author(text_of(item, DC_CREATOR), text_of(item, "author")),
        replies=_count(text_of(item, SLASH_COMMENTS)),
    )


def _permalink_guid(item: etree._Element, guid: str | None) -> str | None:
    element = item.find("guid")
    if guid is None or element is None or element.get("isPermaLink", "true").strip().lower() == "false":
        return None
    return guid if guid.startswith(("http://", "https://")) else None


def _rss_author(creator: str | None, author: str | None) -> AuthorRef | None:
    if creator:
        return person(name=creator)
    match = _EMAIL_NAME.match(author or "")
    if match:
        return person(name=match.group(2), email=match.group(1))
    if author and "@" in author and " " not in author.strip():
        return person(name=None, email=author)
    return person(name=author)


def _atom_entry(entry: etree._Element) -> _Entry:
    reply = entry.find(f"{THR}in-reply-to")
    html_, text = _content(entry.find(f"{ATOM}content")) or _content(entry.find(f"{ATOM}summary")) or (None, "")
    return _Entry(
        where=f"line {entry.sourceline}",
        raw=etree.tostring(entry, encoding="unicode", with_tail=False),
        link=_alternate(entry),
        guid=text_of(entry, f"{ATOM}id"),
        title=_title(entry.find(f"{ATOM}title")),
        published=_date(text_of(entry, f"{ATOM}published")),
        updated=_date(text_of(entry, f"{ATOM}updated")),
        html=html_,
        text=text,
        author=_atom_author(entry.find(f"{ATOM}author")),
        replies=_count(text_of(entry, f"{THR}total")),
        in_reply_to=(_attribute(reply, "ref"), _attribute(reply, "href")) if reply is not None else None,
    )


def _alternate(element: etree._Element) -> str | None:
    for link in element.findall(f"{ATOM}link"):
        href = _attribute(link, "href")
        if href and link.get("rel", "alternate") == "alternate":
            return href
    return None


def _attribute(element: etree._Element, key: str) -> str | None:
    return (element.get(key) or "").strip() or None


def _title(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    kind = element.get("type", "text")
    if kind == "xhtml":
        value = etree.tostring(element, method="text", encoding="unicode", with_tail=False)
    else:
        value = element.text or ""
    return (html_to_text(value) if kind == "html" else value.strip()) or None


def _content(element: etree._Element | None) -> tuple[str | None, str] | None:
    """(html, text) of an Atom content or summary; None when empty, out of line or not text."""
    if element is None or element.get("src"):
        return None
    kind = element.get("type", "text").strip().lower()
    value = _inner_xhtml(element) if kind == "xhtml" else (element.text or "").strip()
    if not value:
        return None
    if kind in {"html", "xhtml", "text/html"}:
        return value, ""
    return (None, value) if kind == "text" or kind.startswith("text/") else None


def _inner_xhtml(element: etree._Element) -> str:
    """The markup inside an xhtml content's <div>, without the XHTML namespace on every tag."""
    div = copy.deepcopy(element.find(f"{XHTML}div"))
    if div is None:
        return ""
    for node in div.iter():
        if isinstance(node.tag, str) and node.tag.startswith(XHTML):
            node.tag = node.tag[len(XHTML) :]
    etree.cleanup_namespaces(div)
    inner = [html.escape(div.text or "", quote=False)]
    inner += [etree.tostring(child, encoding="unicode", with_tail=True) for child in div]
    return "".join(inner).strip()


def _atom_author(author: etree._Element | None) -> AuthorRef | None:
    if author is None:
        return None
    return person(
        name=text_of(author, f"{ATOM}name"), email=text_of(author, f"{ATOM}email"), url=text_of(author, f"{ATOM}uri")
    )


def _date(value: str | None) -> datetime | None:
    try:
        return parse_date(value) if value else None
    except ValueError:
        return None


def _count(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
