"""Facebook's data export in JSON: posts and comments of a profile or a Page, Meta's mojibake undone."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote.errors import BadInput
from pilote.imports import import_file
from pilote.models import Author, Message, Source
from pilote.sources import FORMATS, detect, facebook
from pilote.sources.base import Item, ItemError, ParseOptions
from pilote.sources.export_files import unmangle
from pilote.sources.xmlsafe import read_head

EXPORT = Path(__file__).resolve().parents[1] / "recordings" / "exports" / "facebook"
POSTS = EXPORT / "your_facebook_activity" / "posts" / "your_posts_1.json"
COMMENTS = EXPORT / "your_facebook_activity" / "comments_and_reactions" / "comments.json"
PAGE = "Ressourcerie du Canal"
OTHER_FORMATS = ("mastodon", "bluesky", "reddit", "x_archive", "wordpress_wxr", "disqus", "youtube_spam")


def mangled(value: Any) -> Any:
    """A value as Meta writes it: each UTF-8 byte of a text as a character of its own."""
    if isinstance(value, str):
        return value.encode("utf-8").decode("latin-1")
    if isinstance(value, list):
        return [mangled(v) for v in value]
    if isinstance(value, dict):
        return {k: mangled(v) for k, v in value.items()}
    return value


def write(folder: Path, name: str, data: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(mangled(data), indent=2), encoding="ascii")
    return path


def post(seconds: int, text: str | None = "Bonjour", **extra: Any) -> dict[str, Any]:
    data = [{"post": text}] if text is not None else []
    return {"timestamp": seconds, "data": data, "title": f"{PAGE} updated their status.", **extra}


def comment(seconds: int, text: str = "Merci !", author: str = PAGE) -> dict[str, Any]:
    said = {"timestamp": seconds, "comment": text, "author": author}
    return {"timestamp": seconds, "data": [{"comment": said}], "title": f"{author} commented on Zoé Martin's post."}


def entries(path: Path, options: ParseOptions | None = None) -> list[Item | ItemError]:
    return list(facebook.parse(path, options or ParseOptions()))


def items(path: Path) -> list[Item]:
    return [entry for entry in entries(path) if isinstance(entry, Item)]


def test_the_posts_of_an_export_are_read_with_their_time_text_and_owner() -> None:
    got = items(POSTS)
    assert len(got) == 5
    assert {item.kind for item in got} == {"post"}
    first = got[0]
    assert first.text.startswith("Atelier réparation de vélos samedi à 10 h, cour de l'écluse !")
    assert first.text.endswith("on s'occupe du reste 🚲")
    assert first.created_at == datetime(2024, 3, 5, 14, 2, 11, tzinfo=UTC)
    assert first.edited_at == datetime(2024, 3, 5, 14, 46, 40, tzinfo=UTC)
    assert (first.parent_external_id, first.url, first.html, first.title) == (None, None, None, None)
    assert first.author is not None
    assert (first.author.key, first.author.name, first.author.url) == (
        "name:ressourcerie du canal",
        PAGE,
        "https://www.facebook.com/ressourcerie.canal",
    )
    assert json.loads(first.raw)["data"][0]["post"].startswith("Atelier r\u00c3\u00a9paration")  # as the file says


def test_french_accents_quotes_and_emoji_are_decoded() -> None:
    texts = [item.text for item in items(POSTS)]
    assert texts[4] == "« Rien ne se perd » : 2,3 tonnes d’objets sauvés cette année grâce à vous. Merci ❤️"
    assert "Ã" not in "".join(texts)


def test_a_photo_post_takes_its_description_as_text_and_one_without_any_has_none() -> None:
    got = items(POSTS)
    assert got[2].text == "La commode de Mémé Lucette, poncée et cirée par Théo. Elle attend son nouveau foyer !"
    assert got[3].text == ""


def test_the_comments_of_an_export_are_read_unlinked_with_their_author() -> None:
    got = items(COMMENTS)
    assert [item.kind for item in got] == ["comment"] * 5
    assert got[1].text == "Oui Zoé, on ouvre à 10 h. Pensez à prendre un sac !"
    assert got[1].created_at == datetime(2024, 3, 6, 7, 26, 40, tzinfo=UTC)
    assert got[3].text == ""  # a sticker
    assert all(item.parent_external_id is None and item.thread_external_id is None for item in got)
    assert {item.author.key for item in got if item.author} == {"name:ressourcerie du canal"}


def test_mojibake_is_undone_only_where_it_round_trips() -> None:
    assert unmangle("\u00c3\u00a9t\u00c3\u00a9 \u00c3\u00a0 No\u00c3\u00abl") == "été à Noël"
    assert unmangle("été") == "été"  # not mojibake: é alone is not UTF-8
    assert unmangle("déjà 20 €") == "déjà 20 €"  # € is not Latin-1
    assert unmangle("plain ASCII") == "plain ASCII"
    assert unmangle("\u00f0\u009f\u0098\u008a") == "😊"


def test_ids_are_the_same_in_a_later_export_even_reordered_or_correctly_encoded(tmp_path: Path) -> None:
    before = {item.external_id: item.text for item in items(POSTS)}
    reordered = list(reversed(json.loads(POSTS.read_text(encoding="ascii"))))
    for entry in reordered:  # a later export may move the media into other folders
        for attachment in entry.get("attachments", []):
            for part in attachment["data"]:
                if "media" in part:
                    part["media"]["uri"] = "posts/media/" + part["media"]["uri"].rsplit("/", 1)[1]
    fixed = json.loads(json.dumps(reordered), object_hook=lambda o: {k: _fix(v) for k, v in o.items()})
    path = tmp_path / "your_posts_1.json"
    path.write_text(json.dumps(fixed, ensure_ascii=False), encoding="utf-8")
    assert {item.external_id: item.text for item in items(path)} == before
    assert all(key.startswith("post:17") and len(key.split(":")[2]) == 16 for key in before)


def _fix(value: Any) -> Any:
    return unmangle(value) if isinstance(value, str) else value


def test_two_comments_differ_by_text_or_time_and_textless_ones_by_their_attachment(tmp_path: Path) -> None:
    sticker = {**comment(100_000_000, ""), "attachments": [{"data": [{"media": {"uri": "stickers_used/a.png"}}]}]}
    other = {**comment(100_000_000, ""), "attachments": [{"data": [{"media": {"uri": "stickers_used/b.png"}}]}]}
    same_second = [comment(100_000_000, "Merci"), comment(100_000_000, "Merci !")]
    data = [*same_second, comment(100_000_001, "Merci"), sticker, other]
    path = write(tmp_path, "comments.json", {"comments_v2": data})
    assert len({item.external_id for item in items(path)}) == 5


def test_the_source_is_the_page_named_in_the_export_else_the_comments_author_else_the_file(tmp_path: Path) -> None:
    for path in (POSTS, COMMENTS):
        info = facebook.describe(path, ParseOptions())
        assert (info.kind, info.key, info.name, info.channel, info.url) == (
            "facebook_json",
            "facebook:ressourcerie du canal",
            "Ressourcerie du Canal on Facebook",
            "facebook",
            "https://www.facebook.com/ressourcerie.canal",
        )
    alone = tmp_path / "alone"
    alone.mkdir()
    posts, comments = shutil.copy(POSTS, alone), shutil.copy(COMMENTS, alone)
    assert facebook.describe(Path(posts), ParseOptions()).key == "facebook:your_posts_1"
    assert facebook.describe(Path(comments), ParseOptions()).key == "facebook:ressourcerie du canal"
    assert facebook.describe(Path(posts), ParseOptions(source_key="ma-page")).key == "ma-page"
    [first, *_] = items(Path(posts))
    assert first.author is not None
    assert (first.author.key, first.author.handle) == ("export-owner", "export owner")


def test_older_exports_name_the_comments_list_comments(tmp_path: Path) -> None:
    path = write(tmp_path, "comments.json", {"comments": [comment(1_600_000_000, "Très réussi")]})
    assert detect(path) is facebook
    assert [item.text for item in items(path)] == ["Très réussi"]


def test_unreadable_entries_are_skipped_and_reported_with_where_they_are(tmp_path: Path) -> None:
    path = write(tmp_path, "your_posts_1.json", [post(1_700_000_000), "text", {"data": []}, post(1_700_000_001),
                                                 {"timestamp": "hier", "data": []}])  # fmt: skip
    got = entries(path)
    errors = [entry for entry in got if isinstance(entry, ItemError)]
    assert [e.where for e in errors] == ["line 11", "line 12", "line 24"]
    assert [e.problem for e in errors] == [
        "not a post object: skipped",
        "post without a timestamp (Unix seconds): skipped",
        "post without a timestamp (Unix seconds): skipped",
    ]
    path = write(tmp_path, "comments.json", {"comments_v2": [comment(1_700_000_000), {"data": [{"like": 1}]}, 3]})
    errors = [entry for entry in entries(path) if isinstance(entry, ItemError)]
    assert [(e.where, e.problem) for e in errors] == [
        ("comments_v2[1]", "no comment in its data: skipped"),
        ("comments_v2[2]", "not a comment entry: skipped"),
    ]


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ('[\n {"timestamp": 1700000000, "data": [{"post": "cut', "line 2", "malformed JSON"),
        ('{\n "comments_v2": [\n  {"timestamp": 17', "line 3", "malformed JSON"),
        ('{\n "comments_v2": {}\n}', "comments_v2", '"comments_v2" is not a list'),
        ('{\n "profile_v2": {}\n}', None, "not a Facebook export of posts or comments"),
        ("  \n", None, "the file is empty"),
        ("<html><body>Facebook</body></html>", "line 1", "expected a JSON array or object"),
    ],
)
def test_a_broken_file_is_refused_in_one_line(tmp_path: Path, text: str, where: str | None, problem: str) -> None:
    path = tmp_path / "your_posts_1.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match=problem) as caught:
        entries(path)
    assert caught.value.where == where
    assert "\n" not in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "comments.json"
    path.write_bytes('{"comments_v2": [{"title": "Zoé"}]}'.encode("latin-1"))
    with pytest.raises(BadInput, match="not valid utf-8 text"):
        entries(path)


def test_hostile_html_and_huge_texts_are_kept_as_plain_data(tmp_path: Path, sqlite_engine: Engine) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)> é \u202e ok'
    huge = "Bénévoles ! " * 30_000
    path = write(tmp_path, "your_posts_1.json", [post(1_700_000_000, hostile), post(1_700_000_001, huge)])
    got = items(path)
    assert [item.text for item in got] == [hostile, huge]
    assert all(item.html is None for item in got)
    import_file(sqlite_engine, path)
    with Session(sqlite_engine) as session:
        stored = {m.text: m.html for m in session.scalars(select(Message))}
    assert stored == {hostile: None, huge: None}


def test_importing_the_export_twice_creates_no_duplicates(engine: Engine) -> None:
    first = [import_file(engine, path) for path in (POSTS, COMMENTS)]
    again = [import_file(engine, path) for path in (POSTS, COMMENTS)]
    assert [(r.format, r.counts.new, r.counts.errors) for r in first] == [("facebook_json", 5, 0)] * 2
    assert [(r.counts.new, r.counts.updated, r.counts.unchanged) for r in again] == [(0, 0, 5)] * 2
    with Session(engine) as session:
        [source] = session.scalars(select(Source)).all()
        assert (source.kind, source.key, source.channel) == (
            "facebook_json",
            "facebook:ressourcerie du canal",
            "facebook",
        )
        messages = session.scalars(select(Message)).all()
        assert Counter(m.kind for m in messages) == {"post": 5, "comment": 5}
        authors = session.scalars(select(Author)).all()
        assert [(a.channel, a.display_name, a.profile_url) for a in authors] == [
            ("facebook", PAGE, "https://www.facebook.com/ressourcerie.canal")
        ]
        assert all(m.created_at.tzinfo is not None for m in messages)


def test_the_export_is_detected_before_the_generic_json_importers() -> None:
    names = list(FORMATS)
    assert names.index("facebook_json") < names.index("jsonl")
    assert detect(POSTS) is facebook
    assert detect(COMMENTS) is facebook


def test_lists_and_objects_that_are_not_facebooks_are_not_claimed(tmp_path: Path) -> None:
    def claimed(data: Any) -> bool:
        path = tmp_path / "x.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        return facebook.sniff(read_head(path), path)

    assert claimed([post(1_700_000_000)])
    assert not claimed([{"timestamp": 1_700_000_000, "value": 3}])  # a series
    assert not claimed([{"id": "1", "timestamp": 1_700_000_000, "data": [{"post": "x"}]}])  # another tool's
    assert not claimed({"comments": [{"id": 1, "body": "Bonjour"}]})
    assert claimed({"comments_v2": []})


@pytest.mark.realdata
def test_no_file_of_another_format_is_claimed(shared: Path) -> None:
    paths = [p for folder in OTHER_FORMATS for p in sorted((shared / folder).iterdir()) if p.suffix != ".txt"]
    assert len(paths) > 30
    assert [p.name for p in paths if facebook.sniff(read_head(p), p)] == []
