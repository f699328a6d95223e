from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote.errors import BadInput
from pilote.imports import import_file
from pilote.models import Message, Source
from pilote.sources import detect, rss, xmlsafe
from pilote.sources.base import Item, ItemError, ParseOptions

BLOG = "https://cafe-velo.example"
RSS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/"
 xmlns:atom="http://www.w3.org/2005/Atom">
"""
ATOM_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
"""


def rss_feed(tmp_path: Path, title: str, link: str, *items: str, name: str = "feed.xml") -> Path:
    path = tmp_path / name
    channel = f'<channel><title>{title}</title><atom:link href="{link}feed/" rel="self"/><link>{link}</link>\n'
    path.write_text(RSS_HEAD + channel + "".join(items) + "</channel></rss>\n", encoding="utf-8")
    return path


def rss_post(slug: str, *, content: bool = True, comments: int = 2) -> str:
    encoded = "<content:encoded><![CDATA[<p>Elle est <b>là</b></p>]]></content:encoded>" if content else ""
    return f"""<item><title>Nouvelle {slug}</title><link>{BLOG}/{slug}/</link>
<guid isPermaLink="false">{BLOG}/?p=7</guid><pubDate>Wed, 01 May 2024 09:00:00 +0200</pubDate>
<dc:creator><![CDATA[Admin Vélo]]></dc:creator><description><![CDATA[<p>Résumé</p>]]></description>
{encoded}<slash:comments>{comments}</slash:comments></item>
"""


def rss_comment(cid: int, link: str, *, author: str = "Zoé") -> str:
    return f"""<item><title>By: {author}</title><link>{link}#comment-{cid}</link>
<dc:creator><![CDATA[{author}]]></dc:creator><pubDate>Thu, 02 May 2024 10:00:00 +0000</pubDate>
<guid isPermaLink="false">{BLOG}/?p=7#comment-{cid}</guid>
<description><![CDATA[Super !]]></description><content:encoded><![CDATA[<p>Super !</p>]]></content:encoded></item>
"""


def atom_feed(tmp_path: Path, title: str, *entries: str, name: str = "atom.xml") -> Path:
    path = tmp_path / name
    head = f'<title>{title}</title><link rel="self" href="{BLOG}/feed/atom/"/><link href="{BLOG}/"/>\n'
    path.write_text(ATOM_HEAD + head + "".join(entries) + "</feed>\n", encoding="utf-8")
    return path


def atom_entry(
    slug: str, content: str, *, updated: str = "2024-05-03T08:00:00Z", extra: str = "", link: str | None = None
) -> str:
    return f"""<entry><id>tag:cafe-velo.example,2024:{slug}</id>
<title type="html">Nouvelle &lt;b&gt;{slug}&lt;/b&gt;</title>
<link rel="alternate" type="text/html" href="{link or f"{BLOG}/{slug}/"}"/>
<published>2024-05-01T09:00:00+02:00</published><updated>{updated}</updated>
<author><name>Admin</name><uri>{BLOG}/author/admin</uri><email>admin@cafe-velo.example</email></author>
{content}{extra}</entry>
"""


def parse(path: Path) -> list[Item | ItemError]:
    return list(rss.parse(path, ParseOptions()))


def items_of(path: Path) -> dict[str, Item]:
    return {entry.external_id: entry for entry in parse(path) if isinstance(entry, Item)}


def test_rss_items_become_posts_keyed_by_permalink_with_html_from_content_encoded(tmp_path: Path) -> None:
    items = items_of(rss_feed(tmp_path, "Café Vélo", f"{BLOG}/", rss_post("selle")))
    post = items[f"{BLOG}/selle/"]
    assert (post.kind, post.title, post.url) == ("post", "Nouvelle selle", f"{BLOG}/selle/")
    assert post.thread_external_id == post.external_id
    assert post.parent_external_id is None
    assert post.html == "<p>Elle est <b>là</b></p>"
    assert post.text == ""
    assert post.created_at == datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
    assert post.author is not None
    assert (post.author.key, post.author.name) == ("name:admin vélo", "Admin Vélo")
    assert post.counters is not None
    assert post.counters.replies == 2


def test_the_description_is_the_html_when_there_is_no_content_encoded(tmp_path: Path) -> None:
    items = items_of(rss_feed(tmp_path, "Café Vélo", f"{BLOG}/", rss_post("selle", content=False)))
    assert items[f"{BLOG}/selle/"].html == "<p>Résumé</p>"


def test_an_rss_author_element_gives_name_and_email_hash(tmp_path: Path) -> None:
    item = f"""<item><guid>{BLOG}/a/</guid><author>zoe@example.org (Zoé)</author>
<pubDate>Wed, 01 May 2024 09:00:00 GMT</pubDate></item>"""
    post = items_of(rss_feed(tmp_path, "Café Vélo", f"{BLOG}/", item))[f"{BLOG}/a/"]
    assert post.url == f"{BLOG}/a/"  # a permalink guid stands in for the missing link
    assert post.author is not None
    assert post.author.name == "Zoé"
    assert post.author.email_hash is not None


def test_wordpress_comment_feed_items_are_comments_of_the_post_they_link_into(tmp_path: Path) -> None:
    path = rss_feed(
        tmp_path,
        "Comments for Café Vélo",
        f"{BLOG}/",
        rss_comment(12, f"{BLOG}/selle/"),
        rss_comment(13, f"{BLOG}/selle/comment-page-2/"),
    )
    items = list(items_of(path).values())
    assert [(i.external_id, i.kind, i.parent_external_id, i.thread_external_id) for i in items] == [
        (f"{BLOG}/?p=7#comment-12", "comment", f"{BLOG}/selle/", f"{BLOG}/selle/"),
        (f"{BLOG}/?p=7#comment-13", "comment", f"{BLOG}/selle/", f"{BLOG}/selle/"),
    ]
    assert items[0].html == "<p>Super !</p>"
    assert items[0].url == f"{BLOG}/selle/#comment-12"


def test_a_blogs_post_feed_and_comment_feeds_land_in_one_source(tmp_path: Path) -> None:
    posts = rss_feed(tmp_path, "Café Vélo", f"{BLOG}/", rss_post("selle"), name="posts.xml")
    site = rss_feed(tmp_path, "Comments for Café Vélo", f"{BLOG}/", rss_comment(12, f"{BLOG}/selle/"), name="c.xml")
    single = rss_feed(
        tmp_path, "Commentaires sur : Nouvelle selle", f"{BLOG}/selle/", rss_comment(12, f"{BLOG}/selle/"), name="s.xml"
    )
    infos = [rss.describe(path, ParseOptions()) for path in (posts, site, single)]
    assert {(info.kind, info.key, info.channel) for info in infos} == {
        ("rss", "cafe-velo.example", "blog:cafe-velo.example")
    }
    assert [info.name for info in infos] == ["Café Vélo", "Café Vélo", "cafe-velo.example"]


def test_a_single_posts_comment_feed_is_recognised_by_its_links_in_any_language(tmp_path: Path) -> None:
    item = f"""<item><link>{BLOG}/selle/#comment-5</link><guid>{BLOG}/?p=7#comment-5</guid>
<pubDate>Thu, 02 May 2024 10:00:00 +0000</pubDate><description>Genial</description></item>"""
    path = rss_feed(tmp_path, "Kommentare zu: Neuer Sattel", f"{BLOG}/selle/", item)
    comment = items_of(path)[f"{BLOG}/?p=7#comment-5"]
    assert (comment.kind, comment.parent_external_id) == ("comment", f"{BLOG}/selle/")
    assert rss.describe(path, ParseOptions()).key == "cafe-velo.example"


def test_a_post_feed_whose_links_have_fragments_is_not_taken_for_comments(tmp_path: Path) -> None:
    item = f"""<item><title>Un</title><link>{BLOG}/#post-1</link>
<pubDate>Thu, 02 May 2024 10:00:00 +0000</pubDate></item>"""
    path = rss_feed(tmp_path, "Café Vélo", f"{BLOG}/", item)
    assert items_of(path)[f"{BLOG}/#post-1"].kind == "post"
    assert rss.describe(path, ParseOptions()).name == "Café Vélo"


def test_atom_entries_read_id_link_dates_author_and_html_content(tmp_path: Path) -> None:
    entry = atom_entry("selle", '<content type="html">&lt;p&gt;Elle est &lt;b&gt;là&lt;/b&gt;&lt;/p&gt;</content>')
    post = items_of(atom_feed(tmp_path, "Café Vélo", entry))[f"{BLOG}/selle/"]
    assert (post.kind, post.title, post.url) == ("post", "Nouvelle selle", f"{BLOG}/selle/")
    assert post.html == "<p>Elle est <b>là</b></p>"
    assert post.created_at == datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
    assert post.edited_at == datetime(2024, 5, 3, 8, 0, tzinfo=UTC)
    assert post.author is not None
    assert post.author.url == f"{BLOG}/author/admin"
    assert post.author.email_hash is not None
    assert post.author.key.startswith("email:")


def test_an_atom_entry_never_updated_after_publication_has_no_edit_date(tmp_path: Path) -> None:
    entry = atom_entry("selle", "<summary>Bref</summary>", updated="2024-05-01T07:00:00Z")
    assert items_of(atom_feed(tmp_path, "Café Vélo", entry))[f"{BLOG}/selle/"].edited_at is None


def test_atom_xhtml_content_is_serialised_without_its_namespace(tmp_path: Path) -> None:
    xhtml = """<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Voici <b>la</b> &amp;
<a href="/x">selle</a></div></content>"""
    post = items_of(atom_feed(tmp_path, "Café Vélo", atom_entry("selle", xhtml)))[f"{BLOG}/selle/"]
    assert post.html == 'Voici <b>la</b> &amp;\n<a href="/x">selle</a>'


def test_atom_text_content_is_text_and_the_summary_is_the_fallback(tmp_path: Path) -> None:
    out_of_line = '<content src="https://cdn.example/b.mp4" type="video/mp4"/>'
    summary = '<summary type="html">&lt;i&gt;b&lt;/i&gt;</summary>'
    entries = atom_entry("a", '<content type="text">a &lt; b</content>') + atom_entry("b", out_of_line + summary)
    items = items_of(atom_feed(tmp_path, "Café Vélo", entries))
    assert (items[f"{BLOG}/a/"].text, items[f"{BLOG}/a/"].html) == ("a < b", None)
    assert (items[f"{BLOG}/b/"].text, items[f"{BLOG}/b/"].html) == ("", "<i>b</i>")


def test_atom_in_reply_to_names_the_post_or_the_parent_comment(tmp_path: Path) -> None:
    to_post = f'<thr:in-reply-to ref="{BLOG}/?p=7" href="{BLOG}/selle/" type="text/html"/>'
    to_comment = f'<thr:in-reply-to ref="{BLOG}/?p=7#comment-12" href="{BLOG}/selle/#comment-12"/>'
    path = atom_feed(
        tmp_path,
        "Comments on: Nouvelle selle",
        atom_entry("c12", "<content>Super</content>", extra=to_post, link=f"{BLOG}/selle/#comment-12"),
        atom_entry("c13", "<content>Merci</content>", extra=to_comment, link=f"{BLOG}/selle/#comment-13"),
    )
    items = list(items_of(path).values())
    assert [(i.external_id, i.kind, i.parent_external_id, i.thread_external_id) for i in items] == [
        ("tag:cafe-velo.example,2024:c12", "comment", f"{BLOG}/selle/", f"{BLOG}/selle/"),
        ("tag:cafe-velo.example,2024:c13", "reply", f"{BLOG}/?p=7#comment-12", f"{BLOG}/selle/"),
    ]


def test_rss_and_atom_are_detected_but_a_wordpress_export_is_not_taken_for_rss(tmp_path: Path) -> None:
    assert detect(rss_feed(tmp_path, "Café Vélo", f"{BLOG}/", rss_post("selle"))) is rss
    assert detect(atom_feed(tmp_path, "Café Vélo", atom_entry("a", ""))) is rss
    wxr = tmp_path / "export.xml"
    wxr.write_text(RSS_HEAD.replace("<rss ", '<rss xmlns:wp="http://wordpress.org/export/1.2/" ') + "<channel/></rss>")
    assert not rss.sniff(wxr.read_bytes(), wxr)
    assert detect(wxr).name == "wxr"


def test_an_entry_without_a_date_or_an_identity_is_an_item_error_with_its_line(tmp_path: Path) -> None:
    items = "<item><title>Sans date</title><link>https://x.example/a</link></item>\n<item><title>Rien</title>"
    items += "<pubDate>Wed, 01 May 2024 09:00:00 GMT</pubDate></item>\n" + rss_post("selle")
    entries = parse(rss_feed(tmp_path, "Café Vélo", f"{BLOG}/", items))
    assert [(e.where, "date" in e.problem) for e in entries if isinstance(e, ItemError)] == [
        ("line 6", True),
        ("line 7", False),
    ]
    assert isinstance(entries[2], Item)


def test_a_truncated_feed_raises_bad_input_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.xml"
    path.write_text(RSS_HEAD + "<channel><title>x</title>\n" + rss_post("selle")[:120], encoding="utf-8")
    with pytest.raises(BadInput, match=r"cut\.xml: line \d+: malformed XML"):
        parse(path)


def test_a_doctype_declaring_entities_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<rss><channel>'
        "<item><title>&x;</title></item></channel></rss>",
        encoding="utf-8",
    )
    with pytest.raises(BadInput, match="line 2: the document type declares XML entities"):
        parse(path)


NETSCAPE = '<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"\n "http://my.netscape.com/publish/formats/rss-0.91.dtd">'
RSS_091 = """<?xml version="1.0" encoding="ISO-8859-1"?>
{doctype}
<rss version="0.91"><channel><title>Atelier V&eacute;lo</title><link>http://atelier.example/</link>
<description>L'atelier &amp; ses amis</description><language>fr</language>
<item><title>R&eacute;vision d'hiver</title><link>http://atelier.example/revision</link>
<pubDate>Mon, 02 Nov 2026 09:00:00 GMT</pubDate>
<description>Pensez &agrave; graisser la cha&icirc;ne&nbsp;: &laquo;&#160;merci&nbsp;&raquo; &lt;3 &unknown;
&abcdefghijklmnopqrstuvwxyzabcdef;</description></item>
</channel></rss>
"""


def test_rss_0_91_with_netscape_s_document_type_keeps_its_html_characters(tmp_path: Path) -> None:
    path = tmp_path / "old.xml"
    path.write_bytes(RSS_091.format(doctype=NETSCAPE).encode("iso-8859-1"))
    [item] = [i for i in parse(path) if isinstance(i, Item)]
    assert item.title == "Révision d'hiver"  # the parser reads no DTD: without numbering they cut the text
    expected = "Pensez à graisser la chaîne : « merci » <3 &unknown; &abcdefghijklmnopqrstuvwxyzabcdef;"
    assert " ".join((item.html or "").split()) == expected


def test_named_characters_cut_by_a_read_are_numbered_whatever_the_read_size(tmp_path: Path) -> None:
    data = RSS_091.format(doctype=NETSCAPE).encode("iso-8859-1")
    path = tmp_path / "old.xml"
    path.write_bytes(data)
    with path.open("rb") as handle:
        whole = xmlsafe._NumberedEntities(handle).read()
    assert b"&eacute;" not in whole
    assert b"&#233;" in whole
    assert b"&lt;3 &amp;unknown;" in whole
    assert b"&amp;abcdefghijklmnopqrstuvwxyzabcdef;" in whole  # the longest name read, cut anywhere below
    for size in range(1, 40):
        with path.open("rb") as handle:
            reader, parts = xmlsafe._NumberedEntities(handle), []
            while part := reader.read(size):
                parts.append(part)
        assert b"".join(parts) == whole, size


@pytest.mark.parametrize(
    "doctype",
    [
        NETSCAPE.replace(">", ' [<!ENTITY x "y">]>'),  # the known type, with entities of its own
        '<!DOCTYPE rss SYSTEM "http://127.0.0.1:9/evil.dtd">',
        '<!-- <!DOCTYPE rss> -->\n<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>',  # hidden behind a comment
        '<!DOCTYPE rss PUBLIC "-//Evil//DTD RSS 0.91//EN" "http://127.0.0.1:9/evil.dtd">',
        "<!DOCTYPE rss [<!ELEMENT rss ANY>",  # never ends
        '<!DOCTYPE rss [ <!-- ]> --> <!ENTITY a "aaaa"> <!ENTITY b "&a;&a;&a;"> ]>',  # closed early, seemingly
        '<!DOCTYPE rss [ <!ATTLIST rss x CDATA "]>"> <!ENTITY a "aaaa"> ]>',
        '<!DOCTYPE rss [ <?x ]> ?> <!ENTITY a "aaaa"> ]>',
    ],
)
def test_other_document_types_with_entities_or_an_external_dtd_are_still_refused(tmp_path: Path, doctype: str) -> None:
    path = tmp_path / "evil.xml"
    path.write_bytes(RSS_091.format(doctype=doctype).encode("iso-8859-1"))
    with pytest.raises(BadInput, match="the document type"):
        parse(path)


def test_a_plain_document_type_lets_the_text_say_system_or_public(tmp_path: Path) -> None:
    path = rss_feed(tmp_path, "THE PUBLIC SYSTEM", BLOG, rss_post("SYSTEM"))
    path.write_text(path.read_text(encoding="utf-8").replace("<rss ", "<!DOCTYPE rss>\n<rss ", 1), encoding="utf-8")
    assert [i.title for i in parse(path) if isinstance(i, Item)] == ["Nouvelle SYSTEM"]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.xml"
    path.write_text("  \n", encoding="utf-8")
    with pytest.raises(BadInput, match="the file is empty"):
        parse(path)


def test_importing_a_post_feed_then_its_comment_feed_links_comments_to_posts(engine: Engine, tmp_path: Path) -> None:
    comments = rss_feed(
        tmp_path,
        "Comments for Café Vélo",
        f"{BLOG}/",
        rss_comment(12, f"{BLOG}/selle/"),
        rss_comment(13, f"{BLOG}/selle/comment-page-2/"),
        name="comments.xml",
    )
    import_file(engine, comments)  # comments first: they wait for their post
    import_file(engine, rss_feed(tmp_path, "Café Vélo", f"{BLOG}/", rss_post("selle"), name="posts.xml"))
    with Session(engine) as session:
        messages = {m.external_id: m for m in session.scalars(select(Message))}
        sources = session.scalars(select(Source)).all()
    post = messages[f"{BLOG}/selle/"]
    assert len(sources) == 1
    assert len(messages) == 3
    for cid in (12, 13):
        comment = messages[f"{BLOG}/?p=7#comment-{cid}"]
        assert (comment.parent_id, comment.thread_id) == (post.id, post.id)
    assert post.html == "<p>Elle est <b>là</b></p>"
