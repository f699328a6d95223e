from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote.errors import BadInput
from pilote.imports import import_file
from pilote.models import Message
from pilote.sources import detect, disqus
from pilote.sources.base import Item, ItemError, ParseOptions

DSQ = "http://disqus.com/disqus-internals"
HEAD = f"""<?xml version="1.0" encoding="utf-8"?>
<disqus xmlns="http://disqus.com" xmlns:dsq="{DSQ}">
  <category dsq:id="1"><forum>cafe-velo</forum><title>Général</title></category>
"""


def thread(tid: int, *, date: str | None = "2024-05-01T09:00:00Z", title: str = "Nouvelle selle") -> str:
    created = f"<createdAt>{date}</createdAt>" if date else ""
    return f"""<thread dsq:id="{tid}"><id>selle-{tid}</id><forum>cafe-velo</forum>
<link>https://cafe-velo.example/selle-{tid}</link><title>{title}</title><message/>{created}
<author><name>Admin</name><username>cafeadmin</username></author></thread>
"""


def post(
    pid: int,
    tid: int,
    *,
    parent: int | None = None,
    spam: bool = False,
    deleted: bool = False,
    date: str | None = "2024-05-02T10:00:00Z",
    username: str | None = "zoe",
) -> str:
    created = f"<createdAt>{date}</createdAt>" if date else ""
    user = f"<username>{username}</username>" if username else ""
    reply = f'<parent dsq:id="{parent}"/>' if parent else ""
    return f"""<post dsq:id="{pid}"><id/><message><![CDATA[<p>Super <b>selle</b> !</p>]]></message>{created}
<isDeleted>{str(deleted).lower()}</isDeleted><isSpam>{str(spam).lower()}</isSpam>
<author><email>Zoe@Example.org</email><name>Zoé</name>{user}</author>
<thread dsq:id="{tid}"/>{reply}</post>
"""


def export(tmp_path: Path, *parts: str, name: str = "disqus.xml") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + "".join(parts) + "</disqus>\n", encoding="utf-8")
    return path


def parse(path: Path) -> list[Item | ItemError]:
    return list(disqus.parse(path, ParseOptions()))


def items_of(path: Path) -> dict[str, Item]:
    return {entry.external_id: entry for entry in parse(path) if isinstance(entry, Item)}


def test_threads_become_posts_and_disqus_posts_become_comments_or_replies(tmp_path: Path) -> None:
    items = items_of(export(tmp_path, thread(2), post(4, 2), post(5, 2, parent=4)))
    assert [(i.external_id, i.kind, i.parent_external_id, i.thread_external_id) for i in items.values()] == [
        ("thread:2", "post", None, "thread:2"),
        ("post:4", "comment", "thread:2", "thread:2"),
        ("post:5", "reply", "post:4", "thread:2"),
    ]
    assert items["thread:2"].title == "Nouvelle selle"
    assert items["thread:2"].url == "https://cafe-velo.example/selle-2"


def test_message_html_is_kept_as_html_and_dates_are_utc(tmp_path: Path) -> None:
    items = items_of(export(tmp_path, thread(2), post(4, 2, date="2024-05-02T12:00:00+02:00")))
    assert items["post:4"].html == "<p>Super <b>selle</b> !</p>"
    assert items["post:4"].text == ""
    assert items["post:4"].created_at == datetime(2024, 5, 2, 10, 0, tzinfo=UTC)
    assert items["thread:2"].created_at == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("spam", "deleted", "labels"),
    [
        (False, False, {("status", "approved")}),
        (True, False, {("status", "spam"), ("spam", "spam")}),
        (False, True, {("status", "deleted")}),
        (True, True, {("status", "deleted"), ("spam", "spam")}),
    ],
)
def test_spam_and_deleted_flags_become_labels_with_one_status(
    tmp_path: Path, spam: bool, deleted: bool, labels: set[tuple[str, str]]
) -> None:
    items = items_of(export(tmp_path, thread(2), post(4, 2, spam=spam, deleted=deleted)))
    assert set(items["post:4"].labels) == labels


def test_authors_are_keyed_by_username_else_by_email_hash(tmp_path: Path) -> None:
    items = items_of(export(tmp_path, thread(2), post(4, 2), post(5, 2, username=None)))
    named, anonymous = items["post:4"].author, items["post:5"].author
    assert named is not None
    assert anonymous is not None
    assert (named.key, named.handle, named.name) == ("user:zoe", "zoe", "Zoé")
    assert named.url == "https://disqus.com/by/zoe/"
    assert anonymous.key.startswith("email:")
    assert "example.org" not in anonymous.key
    assert anonymous.email_hash == named.email_hash


def test_a_dateless_thread_takes_the_date_of_its_earliest_post(tmp_path: Path) -> None:
    path = export(
        tmp_path, thread(2, date=None), post(4, 2, date="2024-06-03T08:00:00Z"), post(5, 2, date="2024-06-01T08:00:00Z")
    )
    items = items_of(path)
    assert items["thread:2"].created_at == datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    assert set(items) == {"thread:2", "post:4", "post:5"}


def test_a_dateless_thread_without_posts_is_skipped_as_an_item_error(tmp_path: Path) -> None:
    entries = parse(export(tmp_path, '<thread dsq:id="3"><id/></thread>\n', thread(2), post(4, 2)))
    errors = [entry for entry in entries if isinstance(entry, ItemError)]
    assert [e.where for e in errors] == ["line 4"]
    assert "thread:3" in errors[0].problem
    assert len(entries) == 3


def test_a_post_without_a_date_is_skipped_with_its_line(tmp_path: Path) -> None:
    entries = parse(export(tmp_path, thread(2), post(4, 2, date=None), post(5, 2)))
    assert isinstance(entries[1], ItemError)
    assert entries[1].where == "line 7"
    assert "post 4" in entries[1].problem
    assert isinstance(entries[2], Item)
    assert entries[2].external_id == "post:5"


def test_a_post_keeps_its_thread_reference_and_its_raw_payload_is_stable(tmp_path: Path) -> None:
    first = items_of(export(tmp_path, thread(2), post(4, 2), name="a.xml"))["post:4"]
    longer = items_of(export(tmp_path, thread(2), post(4, 2), post(5, 2), name="b.xml"))["post:4"]
    assert '<thread dsq:id="2"/>' in first.raw
    assert "<createdAt>" in first.raw
    assert first.raw == longer.raw
    assert etree.fromstring(first.raw).get(f"{{{DSQ}}}id") == "4"


def test_the_first_forum_names_the_source_unless_a_key_is_given(tmp_path: Path) -> None:
    path = export(tmp_path, thread(2))
    info = disqus.describe(path, ParseOptions())
    assert (info.kind, info.key, info.channel) == ("disqus", "cafe-velo", "disqus:cafe-velo")
    assert disqus.describe(path, ParseOptions(source_key="mine")).key == "mine"


def test_disqus_exports_are_detected(tmp_path: Path) -> None:
    assert detect(export(tmp_path, thread(2))) is disqus


def test_a_truncated_export_raises_bad_input_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text(HEAD + thread(2) + post(4, 2)[:60], encoding="utf-8")
    with pytest.raises(BadInput, match=r"cut\.xml: line \d+: malformed XML"):
        parse(path)


def test_a_doctype_declaring_entities_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    body = HEAD.replace("<disqus", '<!DOCTYPE disqus [<!ENTITY lol "lol">]>\n<disqus', 1)
    path.write_text(body + thread(2) + "</disqus>", encoding="utf-8")
    with pytest.raises(BadInput, match="line 2: the document type declares XML entities"):
        parse(path)


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(BadInput, match="the file is empty"):
        parse(path)


def _real_counts(path: Path) -> tuple[int, int, int]:
    """Posts, all threads, and threads with a date or a post to take one from, from a plain lxml parse."""
    root = etree.parse(str(path)).getroot()
    ns, dsq_id = "{http://disqus.com}", f"{{{DSQ}}}id"
    posts = root.findall(f"{ns}post")
    referenced = {reference.get(dsq_id) for p in posts for reference in p.findall(f"{ns}thread")}
    threads = root.findall(f"{ns}thread")
    datable = [t for t in threads if t.findtext(f"{ns}createdAt") or t.get(dsq_id) in referenced]
    return len(posts), len(threads), len(datable)


@pytest.mark.realdata
def test_the_real_disqus_export_yields_every_post_and_every_datable_thread(shared: Path) -> None:
    path = shared / "disqus" / "disqus.xml"
    posts, threads, datable = _real_counts(path)
    entries = parse(path)
    items = [entry for entry in entries if isinstance(entry, Item)]
    assert sum(item.kind in {"comment", "reply"} for item in items) == posts
    assert sum(item.kind == "post" for item in items) == datable
    assert len(entries) - len(items) == threads - datable
    assert detect(path) is disqus


@pytest.mark.realdata
def test_importing_the_real_disqus_export_links_replies_and_threads(shared: Path, engine: Engine) -> None:
    path = shared / "disqus" / "disqus.xml"
    posts, _threads, datable = _real_counts(path)
    report = import_file(engine, path)
    assert report.counts.new == posts + datable
    with Session(engine) as session:
        messages = {m.external_id: m for m in session.scalars(select(Message))}
    assert len(messages) == posts + datable
    assert messages["post:5"].parent_id == messages["post:4"].id
    assert messages["post:11"].parent_id == messages["post:9"].id
    assert messages["post:4"].parent_id == messages["thread:2"].id
    assert {messages[k].thread_id for k in ("thread:2", "post:4", "post:5", "post:11")} == {messages["thread:2"].id}
    assert messages["post:6"].parent_id is None  # its thread is not in the export
