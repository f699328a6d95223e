from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from factories import mutate
from pilote import workspaces
from pilote.errors import BadInput
from pilote.imports import import_file
from pilote.models import Label, Message
from pilote.samples import write_wxr
from pilote.sources import detect, wxr
from pilote.sources.base import Item, ItemError, ParseOptions

WP = "http://wordpress.org/export/1.2/"
HEAD = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="{WP}">
<channel><title>Café Vélo</title><link>https://cafe-velo.example/</link>
"""


def comment(cid: int, parent: int = 0, *, status: str = "1", kind: str = "", text: str = "Super !") -> str:
    return f"""<wp:comment><wp:comment_id>{cid}</wp:comment_id>
<wp:comment_author><![CDATA[Zoé]]></wp:comment_author>
<wp:comment_author_email>zoe@example.org</wp:comment_author_email>
<wp:comment_date_gmt>2024-05-0{cid % 9 + 1} 10:00:00</wp:comment_date_gmt>
<wp:comment_content><![CDATA[{text}]]></wp:comment_content>
<wp:comment_approved>{status}</wp:comment_approved><wp:comment_type>{kind}</wp:comment_type>
<wp:comment_parent>{parent}</wp:comment_parent></wp:comment>"""


def export(tmp_path: Path, *comments: str, post_type: str = "post", name: str = "blog.xml") -> Path:
    body = f"""<item><title>Nouvelle selle</title><link>https://cafe-velo.example/?p=7</link>
<dc:creator>admin</dc:creator><content:encoded><![CDATA[<p>Elle est <b>là</b></p>]]></content:encoded>
<wp:post_id>7</wp:post_id><wp:post_date_gmt>2024-05-01 09:00:00</wp:post_date_gmt>
<wp:status>publish</wp:status><wp:post_type>{post_type}</wp:post_type>{"".join(comments)}</item>"""
    path = tmp_path / name
    path.write_text(HEAD + body + "</channel></rss>", encoding="utf-8")
    return path


def parse(path: Path) -> list[Item | ItemError]:
    return list(wxr.parse(path, ParseOptions()))


def test_posts_comments_replies_and_pingbacks_get_their_kinds_and_thread(tmp_path: Path) -> None:
    path = export(tmp_path, comment(1), comment(2, parent=1), comment(3, kind="pingback"))
    items = [entry for entry in parse(path) if isinstance(entry, Item)]
    assert [(i.external_id, i.kind, i.parent_external_id) for i in items] == [
        ("post:7", "post", None), ("comment:1", "comment", "post:7"),
        ("comment:2", "reply", "comment:1"), ("comment:3", "pingback", "post:7"),
    ]  # fmt: skip
    assert {i.thread_external_id for i in items} == {"post:7"}
    assert items[0].html == "<p>Elle est <b>là</b></p>"
    assert items[0].title == "Nouvelle selle"
    assert items[1].author is not None
    assert items[1].author.email_hash is not None


@pytest.mark.parametrize(("approved", "labels"), [
    ("1", {("status", "approved")}), ("0", {("status", "pending")}),
    ("spam", {("status", "spam"), ("spam", "spam")}), ("trash", {("status", "trash")}),
])  # fmt: skip
def test_comment_status_is_kept_as_labels(tmp_path: Path, approved: str, labels: set[tuple[str, str]]) -> None:
    entries = parse(export(tmp_path, comment(1, status=approved)))
    assert isinstance(entries[1], Item)
    assert set(entries[1].labels) == labels


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_every_wxr_version_is_detected_and_read(tmp_path: Path, version: str) -> None:
    path = write_wxr(tmp_path / "export.xml", posts=2, comments_per_post=3, version=version)
    assert detect(path).name == "wxr"
    assert len(parse(path)) == 8


def test_the_blog_address_identifies_the_source_whatever_the_scheme(tmp_path: Path) -> None:
    first = wxr.describe(export(tmp_path, name="a.xml"), ParseOptions())
    other = tmp_path / "b.xml"
    other.write_text(export(tmp_path, name="b.xml").read_text().replace("https://", "http://"))
    assert first.key == wxr.describe(other, ParseOptions()).key == "cafe-velo.example"
    assert first.channel == "blog:cafe-velo.example"


def test_items_without_dates_borrow_them_from_their_comments(tmp_path: Path) -> None:
    path = export(tmp_path, comment(4))
    path.write_text(path.read_text().replace("<wp:post_date_gmt>2024-05-01 09:00:00</wp:post_date_gmt>", ""))
    post = parse(path)[0]
    assert isinstance(post, Item)
    assert post.created_at.isoformat() == "2024-05-05T10:00:00+00:00"


def test_navigation_menus_and_attachments_without_comments_are_not_messages(tmp_path: Path) -> None:
    assert parse(export(tmp_path, post_type="nav_menu_item")) == []


@pytest.mark.parametrize(("content", "where", "problem"), [
    (HEAD + "<item><title>cut", "line 5", "malformed XML"),
    (HEAD + "<item><title>a &ghost; b</title></item></channel></rss>", "line 5", "malformed XML"),
    ("", None, "empty"),
])  # fmt: skip
def test_broken_files_are_refused_with_where_and_what(
    tmp_path: Path, content: str, where: str | None, problem: str
) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(content)
    with pytest.raises(BadInput) as caught:
        parse(path)
    assert caught.value.where == where
    assert problem in caught.value.problem
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">',
])  # fmt: skip
def test_entity_declarations_and_external_dtds_are_refused(tmp_path: Path, doctype: str) -> None:
    path = export(tmp_path, comment(1, text="&b; &xxe;"))
    text = path.read_text()
    path.write_text(text.replace("<rss ", doctype + "\n<rss ", 1))
    with pytest.raises(BadInput, match="entities or an external DTD") as caught:
        parse(path)
    assert caught.value.where == "line 2"


def test_an_unreadable_item_is_skipped_and_reported_while_the_rest_imports(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    broken = comment(2).replace("<wp:comment_id>2</wp:comment_id>", "")
    report = import_file(sqlite_engine, export(tmp_path, comment(1), broken))
    assert (report.counts.new, report.counts.errors) == (2, 1)
    assert "without <wp:comment_id>" in report.error_samples[0]


def test_a_wxr_export_lands_threaded_with_its_moderation_labels(engine: Engine, tmp_path: Path) -> None:
    path = export(tmp_path, comment(1), comment(2, parent=1), comment(3, status="spam"))
    report = import_file(engine, path)
    assert (report.counts.new, report.counts.unchanged) == (4, 0)
    assert import_file(engine, path).counts.unchanged == 4
    with Session(engine) as session:
        rows = {m.external_id: m for m in session.scalars(select(Message))}
        spam = session.scalar(select(func.count()).select_from(Label).where(Label.name == "spam"))
    assert rows["comment:2"].parent_id == rows["comment:1"].id
    assert {m.thread_id for m in rows.values()} == {rows["post:7"].id}
    assert rows["post:7"].html == "<p>Elle est <b>là</b></p>"
    assert rows["post:7"].text == "Elle est là"
    assert spam == 1


def _mutations() -> st.SearchStrategy[tuple[str, int, bytes]]:
    return st.tuples(
        st.sampled_from(["truncate", "insert", "delete", "flip"]),
        st.integers(0, 10_000),
        st.binary(min_size=1, max_size=8),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutations())
def test_mutated_exports_either_parse_or_fail_with_bad_input(tmp_path: Path, mutation: tuple[str, int, bytes]) -> None:
    action, offset, noise = mutation
    data = mutate(export(tmp_path, comment(1), comment(2, parent=1)).read_bytes(), action, offset, noise)
    path = tmp_path / "mutated.xml"
    path.write_bytes(data)
    try:
        entries = list(wxr.parse(path, ParseOptions()))
    except BadInput as error:
        assert str(path) in str(error)
        return
    assert all(isinstance(entry, Item | ItemError) for entry in entries)


def _expected(path: Path) -> tuple[int, int, int]:
    """Comments, replies and conversational items, counted straight from the XML.

    Items with no date anywhere (nor in their comments) cannot be placed in time and are skipped.
    """
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"wp": tree.getroot().nsmap["wp"]}
    comments = replies = posts = 0
    for entry in tree.iter("item"):
        found = entry.findall("wp:comment", ns)
        if entry.findtext("wp:post_type", "post", ns).strip() not in {"post", "page"} and not found:
            continue
        dated = [entry.findtext(tag, "", ns) for tag in ("wp:post_date_gmt", "wp:post_date", "pubDate")]
        dated += [c.findtext("wp:comment_date_gmt", "", ns) for c in found]
        if not any(d.strip() and not d.startswith("0000") for d in dated):
            continue
        posts += 1
        comments += len(found)
        replies += sum(1 for c in found if c.findtext("wp:comment_parent", "0", ns).strip() not in {"", "0"})
    return comments, replies, posts


@pytest.mark.realdata
def test_every_real_wordpress_export_imports_with_its_threads(engine: Engine, shared: Path) -> None:
    files = sorted((shared / "wordpress_wxr").glob("*.xml"))
    assert len(files) >= 10
    for path in files:
        with Session(engine) as session, session.begin():
            workspaces.create(session, slug=path.stem.lower().replace(".", "-")[:60])
        report = import_file(engine, path, workspace=path.stem.lower().replace(".", "-")[:60])
        comments, replies, posts = _expected(path)
        with Session(engine) as session:
            written = session.scalars(select(Message).where(Message.import_run_id == report.run_id)).all()
        by_id = {m.id: m for m in written}
        stored = [m for m in written if m.external_id.startswith("comment:")]
        assert len(stored) == comments, path.name
        assert len(written) == comments + posts - report.counts.updated, path.name
        linked = [m for m in stored if m.parent_id in by_id and by_id[m.parent_id].external_id.startswith("comment:")]
        assert len(linked) == replies, path.name
        assert all(m.thread_id is not None for m in written), path.name


@pytest.mark.realdata
def test_the_theme_unit_test_export_has_exactly_its_comments_and_threads(engine: Engine, shared: Path) -> None:
    path = shared / "wordpress_wxr" / "theme-unit-test-data.xml"
    comments, replies, posts = _expected(path)
    report = import_file(engine, path)
    assert report.counts.new == comments + posts
    assert report.counts.errors == 0
    with Session(engine) as session:
        rows = session.scalars(select(Message)).all()
        spam = session.scalar(select(func.count()).select_from(Label).where(Label.name == "spam"))
    by_id = {m.id: m for m in rows}
    assert sum(1 for m in rows if m.kind == "reply") == replies
    assert all(by_id[m.thread_id].external_id.startswith("post:") for m in rows if m.thread_id)
    assert all(m.thread_id is not None for m in rows)
    assert spam == 0


def test_a_latin1_file_declared_as_utf8_is_refused_at_the_first_bad_line(tmp_path: Path) -> None:
    path = export(tmp_path, comment(1, text="Très bien"))
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))
    with pytest.raises(BadInput, match="malformed XML") as caught:
        parse(path)
    assert caught.value.where == "line 4"  # "Café Vélo", the first accented text
    assert "encoding" in caught.value.problem
    assert "export it again as UTF-8" in str(caught.value)
