from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote.errors import BadInput
from pilote.imports import import_file
from pilote.models import Message
from pilote.sources import detect, x_archive
from pilote.sources.base import Item, ItemError, ParseOptions


def tweet(tid: str, text: str = "Bonjour", *, reply_to: str | None = None, lang: str = "fr", likes: str = "3") -> Any:
    body: dict[str, Any] = {
        "id_str": tid,
        "id": tid,
        "created_at": "Fri Mar 06 13:02:05 +0000 2026",
        "full_text": text,
        "lang": lang,
        "favorite_count": likes,
        "retweet_count": "1",
        "entities": {"hashtags": [], "urls": []},
    }
    if reply_to:
        body["in_reply_to_status_id_str"] = reply_to
    return {"tweet": body}


def archive(folder: Path, *elements: Any, name: str = "tweets.js", part: str = "tweets.part0") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"window.YTD.{part} = " + json.dumps(list(elements), indent=2), encoding="utf-8")
    return path


def account(folder: Path) -> None:
    data = [{"account": {"accountId": "42", "username": "cafevelo", "accountDisplayName": "Café Vélo"}}]
    (folder / "account.js").write_text("window.YTD.account.part0 = " + json.dumps(data), encoding="utf-8")


def parse(path: Path) -> list[Item | ItemError]:
    return list(x_archive.parse(path, ParseOptions()))


def items_of(path: Path) -> dict[str, Item]:
    return {entry.external_id: entry for entry in parse(path) if isinstance(entry, Item)}


def read_array(text: str, chunk_size: int) -> list[tuple[int, Any]]:
    return list(x_archive.iter_json_array(io.StringIO(text), Path("t.js"), chunk_size))


def test_tweets_become_posts_replies_and_shares(tmp_path: Path) -> None:
    path = archive(tmp_path, tweet("1"), tweet("2", "@zoe oui", reply_to="1"), tweet("3", "RT @zoe: selle"))
    items = items_of(path)
    assert [(i.external_id, i.kind, i.parent_external_id, i.thread_external_id) for i in items.values()] == [
        ("1", "post", None, None),
        ("2", "reply", "1", None),
        ("3", "share", None, None),
    ]
    assert items["1"].created_at == datetime(2026, 3, 6, 13, 2, 5, tzinfo=UTC)
    assert items["1"].url == "https://x.com/i/status/1"
    assert items["1"].counters is not None
    assert (items["1"].counters.likes, items["1"].counters.shares) == (3, 1)


def test_text_is_unescaped_once_and_kept_as_plain_text(tmp_path: Path) -> None:
    item = items_of(archive(tmp_path, tweet("1", "a &lt;b&gt; &amp; c &amp;lt;")))["1"]
    assert (item.text, item.html) == ("a <b> & c &lt;", None)


@pytest.mark.parametrize(
    ("lang", "expected"), [("fr", "fr"), ("und", None), ("zxx", None), ("qme", None), ("in", "id")]
)
def test_languages_without_a_real_code_are_dropped(tmp_path: Path, lang: str, expected: str | None) -> None:
    assert items_of(archive(tmp_path, tweet("1", lang=lang)))["1"].language == expected


def test_the_raw_payload_is_the_whole_element_as_stable_json(tmp_path: Path) -> None:
    first = items_of(archive(tmp_path / "a", tweet("1")))["1"].raw
    reordered = {"tweet": dict(reversed(list(tweet("1")["tweet"].items())))}
    assert json.loads(first) == tweet("1")
    assert items_of(archive(tmp_path / "b", reordered))["1"].raw == first


def test_the_owner_in_account_js_is_the_author_and_names_the_source(tmp_path: Path) -> None:
    path = archive(tmp_path / "data", tweet("1"))
    account(tmp_path / "data")
    author = items_of(path)["1"].author
    assert author is not None
    assert (author.key, author.handle, author.name, author.url) == (
        "id:42",
        "cafevelo",
        "Café Vélo",
        "https://x.com/cafevelo",
    )
    info = x_archive.describe(path, ParseOptions())
    assert (info.kind, info.key, info.name, info.channel) == ("x_archive", "x:42", "@cafevelo on X", "x")


def test_without_account_js_the_owner_is_a_placeholder_and_the_archive_folder_names_the_source(tmp_path: Path) -> None:
    path = archive(tmp_path / "twitter-2026-03-06" / "data", tweet("1"))
    author = items_of(path)["1"].author
    assert author is not None
    assert (author.key, author.handle) == ("archive-owner", "archive owner")
    assert x_archive.describe(path, ParseOptions()).key == "x:twitter-2026-03-06"
    assert x_archive.describe(path, ParseOptions(source_key="mine")).key == "mine"


def test_later_parts_and_older_names_are_detected_and_read(tmp_path: Path) -> None:
    part = archive(tmp_path, tweet("1"), name="tweets-part1.js", part="tweets.part1")
    old = archive(tmp_path, tweet("2"), name="tweet.js", part="tweet.part0")
    assert detect(part) is x_archive
    assert detect(old) is x_archive
    assert list(items_of(part)) == ["1"]
    assert list(items_of(old)) == ["2"]


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 8, 13, 4096])
def test_the_array_reader_gives_the_same_elements_and_lines_whatever_the_chunk_size(chunk_size: int) -> None:
    text = (
        '\ufeffwindow.YTD.tweets.part0 = [\r\n  {"a": "x]y,\\"z\\"", "n": [1, 2]},\n'
        '  12345,\n  -1.5e3 ,\n  "é\\u00e9",\n\n  [[], {}], true, null\n];\n'
    )
    assert read_array(text, chunk_size) == [
        (2, {"a": 'x]y,"z"', "n": [1, 2]}),
        (3, 12345),
        (4, -1500.0),
        (5, "éé"),
        (7, [[], {}]),
        (7, True),
        (7, None),
    ]


@pytest.mark.parametrize("chunk_size", [1, 7, 4096])
def test_the_array_reader_accepts_a_plain_json_array_and_an_empty_one(chunk_size: int) -> None:
    assert read_array('[{"tweet": {}}]', chunk_size) == [(1, {"tweet": {}})]
    assert read_array("window.YTD.tweets.part0 = [ ]", chunk_size) == []


@pytest.mark.parametrize(
    ("text", "location", "problem"),
    [
        ('x = [\n{"a": 1},\n{"a": tru},\n{"a": 2}]', "line 3", "malformed JSON"),
        ('x = [\n{"a": 1}\n{"a": 2}]', "line 3", "expected ',' or ']'"),
        ('x = [\n{"a": 1},\n{"a": "cut', "line 3", "malformed JSON: Unterminated string"),
        ('x = [\n{"a": 1}', "line 2", "found the end of the file"),
        ('x = [\n{"a": 1}]\nalert(1)', "line 3", "unexpected text after the end of the array"),
        ("<html>not an archive</html>", "line 1", "expected a JSON array"),
    ],
)
def test_malformed_or_truncated_arrays_raise_bad_input_with_a_line(text: str, location: str, problem: str) -> None:
    for chunk_size in (1, 4096):
        with pytest.raises(BadInput, match=problem) as caught:
            read_array(text, chunk_size)
        assert caught.value.where == location


@pytest.mark.parametrize("chunk_size", [1, 4096])
def test_an_archive_cut_anywhere_raises_bad_input_with_a_line(chunk_size: int) -> None:
    text = "window.YTD.tweets.part0 = " + json.dumps([tweet("1"), tweet("22")], indent=1)
    for cut in range(1, len(text)):
        with pytest.raises(BadInput) as caught:
            read_array(text[:cut], chunk_size)
        assert (caught.value.where or "").startswith("line "), (cut, caught.value)


def test_a_truncated_archive_file_names_the_file_and_line(tmp_path: Path) -> None:
    path = archive(tmp_path, tweet("1"), tweet("2"))
    path.write_text(path.read_text()[:-60], encoding="utf-8")
    with pytest.raises(BadInput, match=r"tweets\.js: line \d+: malformed JSON"):
        parse(path)


def test_an_element_that_is_not_a_tweet_object_is_an_item_error(tmp_path: Path) -> None:
    entries = parse(archive(tmp_path, tweet("1"), {"like": {}}, "text", {"tweet": {"full_text": "no id"}}, tweet("2")))
    errors = [entry for entry in entries if isinstance(entry, ItemError)]
    assert len(errors) == 3
    assert all(e.where.startswith("line ") for e in errors)
    assert [entry.external_id for entry in entries if isinstance(entry, Item)] == ["1", "2"]


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tweets.js"
    path.write_text("\n", encoding="utf-8")
    with pytest.raises(BadInput, match="the file is empty"):
        parse(path)


def _real_tweets(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    return [element["tweet"] for element in json.loads(text[text.index("=") + 1 :])]


@pytest.mark.realdata
def test_the_real_archive_yields_every_tweet_with_its_kind(shared: Path) -> None:
    path = shared / "x_archive" / "tweets.js"
    tweets = _real_tweets(path)
    items = parse(path)
    assert all(isinstance(item, Item) for item in items)
    assert [item.external_id for item in items if isinstance(item, Item)] == [t["id_str"] for t in tweets]
    replies = sum(bool(t.get("in_reply_to_status_id_str")) for t in tweets)
    assert sum(isinstance(item, Item) and item.kind == "reply" for item in items) == replies
    assert detect(path) is x_archive


@pytest.mark.realdata
def test_importing_the_real_archive_links_replies_within_it(shared: Path, engine: Engine) -> None:
    path = shared / "x_archive" / "tweets.js"
    tweets = _real_tweets(path)
    ids = {t["id_str"] for t in tweets}
    in_file = {t["id_str"]: t["in_reply_to_status_id_str"] for t in tweets if t.get("in_reply_to_status_id_str") in ids}
    assert in_file  # the archive has self-threads
    report = import_file(engine, path)
    assert report.counts.new == len(tweets)
    with Session(engine) as session:
        messages = {m.external_id: m for m in session.scalars(select(Message))}
    assert len(messages) == len(tweets)
    for child, parent in in_file.items():
        assert messages[child].parent_id == messages[parent].id
        assert messages[child].thread_id == messages[parent].thread_id is not None
    assert all(m.thread_id is not None for m in messages.values())
