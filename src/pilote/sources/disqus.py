"""Disqus XML exports: each thread becomes a post, each Disqus post a comment or a reply to one.

Disqus writes threads before posts. A thread without a date takes the date of its earliest post: such
threads (few, and small) are held back and yielded at the end of the file, and one that no post refers
to has no date at all and becomes an ItemError. A post that is both spam and deleted keeps one status
label, "deleted", beside its ("spam", "spam") label: a message holds a single status per origin.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from pilote.errors import fill
from pilote.sources.base import AuthorRef, Item, ItemError, ParseOptions, SourceInfo, person
from pilote.sources.dates import parse_date
from pilote.sources.xmlsafe import iter_elements, local_name, text_of
from pilote.texts import N_

name = "disqus"
description = N_("Disqus XML export: threads and their threaded comments, with spam and deleted flags")

NS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"
_ROOT = re.compile(rb"<disqus\b[^>]*\bxmlns=[\"']http://disqus\.com/?[\"']")
_NO_DATE = datetime.min.replace(tzinfo=UTC)


@dataclass(slots=True)
class _Waiting:
    """Threads without a date, and the earliest date of a post in each."""

    threads: dict[str, tuple[str, Item]] = field(default_factory=dict)
    dates: dict[str, datetime] = field(default_factory=dict)

    def saw_post(self, thread_key: str | None, created_at: datetime) -> None:
        if thread_key in self.threads and (thread_key not in self.dates or created_at < self.dates[thread_key]):
            self.dates[thread_key] = created_at


def sniff(head: bytes, path: Path) -> bool:
    """A Disqus export's root is <disqus xmlns="http://disqus.com">."""
    return _ROOT.search(head) is not None


def describe(path: Path, options: ParseOptions) -> SourceInfo:
    """The forum's short name (the first <forum>) identifies the source."""
    forum = None
    for element in iter_elements(path, (f"{NS}forum", f"{NS}post")):
        if local_name(element) == "post":
            break
        forum = (element.text or "").strip() or None
        if forum:
            break
    key = options.source_key or forum or path.stem
    return SourceInfo(kind=name, key=key, name=forum or key, channel=f"disqus:{forum or key}")


def parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
    """Threads and posts in file order, then the threads that waited for a post's date."""
    waiting = _Waiting()
    for element in iter_elements(path, (f"{NS}thread", f"{NS}post")):
        parent = element.getparent()
        if parent is not None and parent.tag == f"{NS}post":
            _keep_in_post(parent, element)
        elif parent is not None and local_name(parent) == "disqus":
            yield from _parse_top(element, waiting)
    for key, (where, item) in waiting.threads.items():
        if key in waiting.dates:
            item.created_at = waiting.dates[key]
            yield item
        else:
            yield ItemError(
                where, fill(N_("%(key)s: no date, and no post in this thread to take one from: skipped"), {"key": key})
            )


def _keep_in_post(post: etree._Element, reference: etree._Element) -> None:
    # A post's <thread dsq:id> reference has the same tag as a thread: iter_elements yields it and would
    # then clear it and drop the post's earlier children. Its copy stays in the post; the original leaves.
    post.replace(reference, copy.deepcopy(reference))


def _parse_top(element: etree._Element, waiting: _Waiting) -> Iterator[Item | ItemError]:
    dsq_id = element.get(DSQ_ID)
    kind = local_name(element)
    if not dsq_id:
        yield ItemError(
            fill(N_("line %(sourceline)s"), {"sourceline": element.sourceline}),
            fill(N_("<%(kind)s> without dsq:id: skipped"), {"kind": kind}),
        )
        return
    created_at = _date(element)
    if kind == "thread":
        item = _thread(element, dsq_id, created_at or _NO_DATE)
        if created_at is None:
            waiting.threads[item.external_id] = (f"line {element.sourceline}", item)
        else:
            yield item
        return
    if created_at is None:
        yield ItemError(
            fill(N_("line %(sourceline)s"), {"sourceline": element.sourceline}),
            fill(N_("post %(dsq_id)s: no valid <createdAt>: skipped"), {"dsq_id": dsq_id}),
        )
        return
    post = _post(element, dsq_id, created_at)
    if isinstance(post, Item):
        waiting.saw_post(post.thread_external_id, created_at)
    yield post


def _date(element: etree._Element) -> datetime | None:
    value = text_of(element, f"{NS}createdAt")
    try:
        return parse_date(value) if value else None
    except ValueError:
        return None


def _thread(element: etree._Element, dsq_id: str, created_at: datetime) -> Item:
    key = f"thread:{dsq_id}"
    return Item(
        external_id=key,
        kind="post",
        created_at=created_at,
        raw=etree.tostring(element, encoding="unicode", with_tail=False),
        title=text_of(element, f"{NS}title"),
        html=text_of(element, f"{NS}message"),
        url=text_of(element, f"{NS}link"),
        thread_external_id=key,
        author=_author(element),
        labels=(("status", "deleted"),) if _flag(element, "isDeleted") else (),
    )


def _post(element: etree._Element, dsq_id: str, created_at: datetime) -> Item | ItemError:
    thread = _reference(element, "thread")
    if thread is None:
        return ItemError(
            fill(N_("line %(sourceline)s"), {"sourceline": element.sourceline}),
            fill(N_("post %(dsq_id)s: no <thread dsq:id> to attach it to: skipped"), {"dsq_id": dsq_id}),
        )
    parent = _reference(element, "parent")
    thread_key = f"thread:{thread}"
    return Item(
        external_id=f"post:{dsq_id}",
        kind="reply" if parent else "comment",
        created_at=created_at,
        raw=etree.tostring(element, encoding="unicode", with_tail=False),
        html=text_of(element, f"{NS}message") or "",
        parent_external_id=f"post:{parent}" if parent else thread_key,
        thread_external_id=thread_key,
        author=_author(element),
        labels=_labels(element),
    )


def _reference(element: etree._Element, tag: str) -> str | None:
    child = element.find(f"{NS}{tag}")
    value = (child.get(DSQ_ID) or "").strip() if child is not None else ""
    return value or None


def _flag(element: etree._Element, tag: str) -> bool:
    return (text_of(element, f"{NS}{tag}") or "").lower() == "true"


def _labels(element: etree._Element) -> tuple[tuple[str, str], ...]:
    spam, deleted = _flag(element, "isSpam"), _flag(element, "isDeleted")
    status = "deleted" if deleted else "spam" if spam else "approved"
    return (("status", status), ("spam", "spam")) if spam else (("status", status),)


def _author(element: etree._Element) -> AuthorRef | None:
    author = element.find(f"{NS}author")
    if author is None:
        return None
    username = text_of(author, f"{NS}username")
    return person(
        name=text_of(author, f"{NS}name"),
        email=text_of(author, f"{NS}email"),
        handle=username,
        url=f"https://disqus.com/by/{username}/" if username else None,
    )
