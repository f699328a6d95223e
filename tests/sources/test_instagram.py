"""Instagram's data export in JSON: the account's posts and comments, Meta's mojibake undone."""

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
from pilote.sources import FORMATS, detect, facebook, instagram
from pilote.sources.base import Item, ItemError, ParseOptions
from pilote.sources.xmlsafe import read_head

EXPORT = Path(__file__).resolve().parents[1] / "recordings" / "exports" / "instagram"
ACTIVITY = EXPORT / "your_instagram_activity"
POSTS = ACTIVITY / "content" / "posts_1.json"
COMMENTS = ACTIVITY / "comments" / "post_comments_1.json"
REELS = ACTIVITY / "comments" / "reels_comments.json"
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
    path = folder / name
    path.write_text(json.dumps(mangled(data), indent=2), encoding="ascii")
    return path


def photo(seconds: int, caption: str = "Bonjour", uri: str = "media/posts/202403/1_n.jpg") -> dict[str, Any]:
    return {"media": [{"uri": uri, "creation_timestamp": seconds, "title": caption}]}


def said(seconds: int, text: str = "Merci !", owner: str = "ressourcerie.canal") -> dict[str, Any]:
    fields = {"Comment": {"value": text}, "Media Owner": {"value": owner}, "Time": {"timestamp": seconds}}
    return {"media_list_data": [{"uri": ""}], "string_map_data": fields}


def entries(path: Path) -> list[Item | ItemError]:
    return list(instagram.parse(path, ParseOptions()))


def items(path: Path) -> list[Item]:
    return [entry for entry in entries(path) if isinstance(entry, Item)]


def test_posts_take_their_caption_and_time_from_the_post_or_its_only_photo() -> None:
    got = items(POSTS)
    assert [item.kind for item in got] == ["post"] * 4
    assert got[0].text == "Les bénévoles du samedi, fidèles au poste ☀️ #récup #réemploi"
    assert got[0].created_at == datetime(2024, 3, 5, 14, 3, 20, tzinfo=UTC)
    assert got[1].text == "Avant / après : une commode retapée par Théo 💪 Elle est en boutique dès mercredi."
    assert got[2].text == ""  # a photo without a caption
    assert (got[0].url, got[0].html, got[0].parent_external_id) == (None, None, None)
    author = got[0].author
    assert author is not None
    assert (author.key, author.handle, author.name, author.url) == (
        "user:ressourcerie.canal",
        "ressourcerie.canal",
        "Ressourcerie du Canal",
        "https://www.instagram.com/ressourcerie.canal/",
    )
    assert "\\u00c3\\u00a9" in POSTS.read_text(encoding="ascii")  # the fixture is mojibake, as Meta writes it


def test_comments_are_read_from_a_list_or_from_the_named_object_and_left_unlinked() -> None:
    got = items(COMMENTS) + items(REELS)
    assert [item.text for item in got] == [
        "Merci Léa, à samedi prochain ! 😊",
        "Quelle belle initiative, bravo à l'équipe du café réparation 👏",
        "Yes, it's still available, come by on Wednesday!",
        "On a hâte de voir la suite 🎬",
    ]
    assert {item.kind for item in got} == {"comment"}
    assert got[0].created_at == datetime(2024, 3, 5, 17, 33, 20, tzinfo=UTC)
    assert all(item.parent_external_id is None for item in got)
    assert json.loads(got[1].raw)["string_map_data"]["Media Owner"]["value"] == "cafe.repar.nantes"


def test_ids_are_the_same_in_a_later_export_and_differ_between_entries(tmp_path: Path) -> None:
    ids = [item.external_id for item in items(POSTS)]
    assert len(set(ids)) == 4
    assert ids[0].startswith("post:1709647400:")
    moved = json.loads(POSTS.read_text(encoding="ascii"))
    for post in moved:
        for media in post["media"]:
            media["uri"] = "your_instagram_activity/" + media["uri"]
    later = tmp_path / "posts_1.json"
    later.write_text(json.dumps(list(reversed(moved)), indent=4), encoding="ascii")
    assert sorted(item.external_id for item in items(later)) == sorted(ids)
    two = write(tmp_path, "posts_2.json", [photo(1_700_000_000, "", "a/1.jpg"), photo(1_700_000_000, "", "a/2.jpg")])
    assert len({item.external_id for item in items(two)}) == 2


def test_the_source_is_the_account_named_in_the_export_else_the_file(tmp_path: Path) -> None:
    for path in (POSTS, COMMENTS, REELS):
        info = instagram.describe(path, ParseOptions())
        assert (info.kind, info.key, info.name, info.channel, info.url) == (
            "instagram_json",
            "instagram:ressourcerie.canal",
            "@ressourcerie.canal on Instagram",
            "instagram",
            "https://www.instagram.com/ressourcerie.canal/",
        )
    alone = Path(shutil.copy(POSTS, tmp_path))
    assert instagram.describe(alone, ParseOptions()).key == "instagram:posts_1"
    assert instagram.describe(alone, ParseOptions(source_key="insta")).key == "insta"
    author = items(alone)[0].author
    assert author is not None
    assert author.key == "export-owner"


def test_unreadable_entries_are_skipped_and_reported(tmp_path: Path) -> None:
    posts = write(tmp_path, "posts_1.json", [photo(1_700_000_000), 7, {"media": []}, photo(1_700_000_100)])
    errors = [(e.where, e.problem) for e in entries(posts) if isinstance(e, ItemError)]
    assert errors == [
        ("line 11", "not a post object: skipped"),
        ("line 12", "post without a creation_timestamp (Unix seconds): skipped"),
    ]
    broken = [said(1_700_000_000), {"string_map_data": {"Comment": {"value": "x"}}}, {"string_map_data": {}}]
    comments = write(tmp_path, "reels_comments.json", {"comments_reels_comments": broken})
    errors = [(e.where, e.problem) for e in entries(comments) if isinstance(e, ItemError)]
    assert errors == [
        ("comments_reels_comments[1]", 'comment without its "Time" (Unix seconds): skipped'),
        ("comments_reels_comments[2]", 'comment without its "Comment" value: skipped'),
    ]


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        ('[\n {"media": [{"uri": "a.jpg", "creation_timestamp": 17', "line 2", "malformed JSON"),
        ('{\n "comments_media_comments": [\n  {"string_map_data": ', "line 3", "malformed JSON"),
        ('{\n "comments_media_comments": "none"\n}', "comments_media_comments", "is not a list of comments"),
        ('{\n "profile_user": []\n}', None, "not an Instagram export of posts or comments"),
        ("", None, "the file is empty"),
        ("media,title\n", "line 1", "expected a JSON array or object"),
    ],
)
def test_a_broken_file_is_refused_in_one_line(tmp_path: Path, text: str, where: str | None, problem: str) -> None:
    path = tmp_path / "posts_1.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match=problem) as caught:
        entries(path)
    assert caught.value.where == where
    assert "\n" not in str(caught.value)


def test_hostile_html_and_huge_captions_are_kept_as_plain_data(tmp_path: Path, sqlite_engine: Engine) -> None:
    hostile = '<a href="javascript:alert(1)">gagnez</a><iframe src=//x></iframe> \x1b[31m rouge'
    huge = "Réemploi ♻️ " * 40_000
    path = write(tmp_path, "posts_1.json", [photo(1_700_000_000, hostile), photo(1_700_000_001, huge)])
    assert [(item.text, item.html) for item in items(path)] == [(hostile, None), (huge, None)]
    import_file(sqlite_engine, path)
    with Session(sqlite_engine) as session:
        assert {m.text: m.html for m in session.scalars(select(Message))} == {hostile: None, huge: None}


def test_importing_the_export_twice_creates_no_duplicates(engine: Engine) -> None:
    first = [import_file(engine, path) for path in (POSTS, COMMENTS, REELS)]
    again = [import_file(engine, path) for path in (POSTS, COMMENTS, REELS)]
    assert [(r.format, r.counts.new, r.counts.errors) for r in first] == [
        ("instagram_json", 4, 0),
        ("instagram_json", 3, 0),
        ("instagram_json", 1, 0),
    ]
    assert [(r.counts.new, r.counts.updated, r.counts.unchanged) for r in again] == [(0, 0, 4), (0, 0, 3), (0, 0, 1)]
    with Session(engine) as session:
        [source] = session.scalars(select(Source)).all()
        assert (source.key, source.channel) == ("instagram:ressourcerie.canal", "instagram")
        assert Counter(m.kind for m in session.scalars(select(Message))) == {"post": 4, "comment": 4}
        [author] = session.scalars(select(Author)).all()
        assert (author.channel, author.handle, author.display_name) == (
            "instagram",
            "ressourcerie.canal",
            "Ressourcerie du Canal",
        )


def test_the_export_is_detected_and_facebooks_is_not_taken_for_it(tmp_path: Path) -> None:
    names = list(FORMATS)
    assert names.index("instagram_json") < names.index("jsonl")
    for path in (POSTS, COMMENTS, REELS):
        assert detect(path) is instagram
        assert not facebook.sniff(read_head(path), path)
    fb_photo = [{"timestamp": 1, "attachments": [{"data": [{"media": {"uri": "a.jpg", "creation_timestamp": 1}}]}]}]
    fb_first_title = [{"title": "Zoé a ajouté une photo.", **fb_photo[0]}]
    for data in (fb_photo, fb_first_title):
        path = tmp_path / "your_posts_1.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        assert not instagram.sniff(read_head(path), path)
    facebooks = Path(__file__).resolve().parents[1] / "recordings" / "exports" / "facebook" / "your_facebook_activity"
    for path in (facebooks / "posts" / "your_posts_1.json", facebooks / "comments_and_reactions" / "comments.json"):
        assert not instagram.sniff(read_head(path), path)
    other = tmp_path / "liked_posts.json"
    other.write_text(json.dumps({"likes_media_likes": [{"title": "x", "string_list_data": []}]}), encoding="utf-8")
    assert not instagram.sniff(read_head(other), other)


@pytest.mark.realdata
def test_no_file_of_another_format_is_claimed(shared: Path) -> None:
    paths = [p for folder in OTHER_FORMATS for p in sorted((shared / folder).iterdir()) if p.suffix != ".txt"]
    assert len(paths) > 30
    assert [p.name for p in paths if instagram.sniff(read_head(p), p)] == []
