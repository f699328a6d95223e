"""LinkedIn's data export: the member's Shares.csv and Comments.csv, detected by their header row."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote.errors import BadInput
from pilote.imports import import_file
from pilote.models import Author, Message, Source
from pilote.sources import FORMATS, detect, facebook, instagram, linkedin, tabular
from pilote.sources.base import Item, ItemError, ParseOptions
from pilote.sources.xmlsafe import read_head

EXPORT = Path(__file__).resolve().parents[1] / "recordings" / "exports" / "linkedin"
SHARES = EXPORT / "Shares.csv"
COMMENTS = EXPORT / "Comments.csv"
SHARES_HEADER = "Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility"
FEED = "https://www.linkedin.com/feed/update/"
OTHER_FORMATS = ("mastodon", "bluesky", "reddit", "x_archive", "wordpress_wxr", "disqus", "youtube_spam")


def write(folder: Path, name: str, *lines: str) -> Path:
    path = folder / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def entries(path: Path) -> list[Item | ItemError]:
    return list(linkedin.parse(path, ParseOptions()))


def items(path: Path) -> list[Item]:
    return [entry for entry in entries(path) if isinstance(entry, Item)]


def test_shares_are_posts_identified_by_the_urn_of_their_link() -> None:
    got = items(SHARES)
    assert [(item.external_id, item.kind) for item in got] == [
        ("urn:li:share:7170000000000000001", "post"),
        ("urn:li:ugcPost:7171000000000000002", "post"),
        ("urn:li:share:7171500000000000003", "post"),
    ]
    assert got[0].created_at == datetime(2024, 3, 5, 14, 2, 11, tzinfo=UTC)
    assert got[0].url == FEED + "urn%3Ali%3Ashare%3A7170000000000000001"
    assert got[2].text == ""
    assert got[0].author is not None
    assert (got[0].author.key, got[0].author.name) == ("name:camille rousseau", "Camille Rousseau")


def test_quoted_texts_keep_their_lines_quotes_commas_and_accents() -> None:
    first = items(SHARES)[0]
    assert first.text == (
        "Bilan 2023 de la Ressourcerie du Canal : 2,3 tonnes d'objets remis en circulation.\n\n"
        'Merci aux 40 bénévoles qui ont rendu ça possible. "On ne jette plus, on répare", comme dit Théo.'
    )
    assert first.html is None


def test_comments_name_the_post_of_their_link_as_parent() -> None:
    got = items(COMMENTS)
    assert [(item.kind, item.parent_external_id) for item in got] == [
        ("comment", "urn:li:ugcPost:7171000000000000002"),
        ("comment", "urn:li:activity:7169000000000000009"),
        ("comment", "urn:li:activity:7172000000000000010"),
    ]
    assert got[1].text == (
        'Très belle initiative !\nOn serait ravis d\'échanger sur vos ateliers "zéro déchet" au printemps.'
    )
    assert got[1].created_at == datetime(2024, 3, 9, 8, 1, 2, tzinfo=UTC)
    assert got[1].url == FEED + "urn%3Ali%3Aactivity%3A7169000000000000009"
    assert got[0].external_id.startswith("comment:1709809933:")


def test_a_shares_id_without_a_urn_and_a_comments_id_are_stable_and_distinct(tmp_path: Path) -> None:
    path = write(tmp_path, "Shares.csv", SHARES_HEADER, "2024-01-02 10:00:00,,Bonne année !,,,PUBLIC",
                 "2024-01-02 10:00:00,,Bonne année à tous !,,,PUBLIC")  # fmt: skip
    ids = [item.external_id for item in items(path)]
    assert len(set(ids)) == 2
    assert ids[0].startswith("post:1704189600:")
    assert [item.external_id for item in items(path)] == ids
    rows = [f"2024-01-02 10:00:00,{FEED}urn:li:activity:{n},Bravo" for n in (1, 2)]
    same_text = write(tmp_path, "Comments.csv", "Date,Link,Message", *rows)
    assert len({item.external_id for item in items(same_text)}) == 2


def test_the_source_is_the_member_of_profile_csv_else_the_file(tmp_path: Path) -> None:
    for path in (SHARES, COMMENTS):
        info = linkedin.describe(path, ParseOptions())
        assert (info.kind, info.key, info.name, info.channel) == (
            "linkedin_csv",
            "linkedin:camille rousseau",
            "Camille Rousseau on LinkedIn",
            "linkedin",
        )
    alone = Path(shutil.copy(SHARES, tmp_path))
    assert linkedin.describe(alone, ParseOptions()).key == "linkedin:Shares"
    assert linkedin.describe(alone, ParseOptions(source_key="camille")).key == "camille"
    author = items(alone)[0].author
    assert author is not None
    assert author.key == "export-owner"


def test_unreadable_rows_are_skipped_and_reported_with_their_line(tmp_path: Path) -> None:
    path = write(tmp_path, "Comments.csv", "Date,Link,Message", f"2024-01-02 10:00:00,{FEED}urn:li:activity:1,Oui",
                 "hier,https://www.linkedin.com/x,Non", "2024-01-03 10:00:00,trop,de,cellules", "",
                 f'2024-01-04 10:00:00,{FEED}urn:li:activity:1,"Sur\ndeux lignes"',
                 "99999999999999999999999999,https://www.linkedin.com/x,Non")  # fmt: skip
    got = entries(path)
    errors = [(e.where, e.problem) for e in got if isinstance(e, ItemError)]
    assert [where for where, _ in errors] == ["line 3", "line 4", "line 8"]
    assert "'hier' is not a date" in errors[0][1]
    assert errors[1][1] == "4 cells where the header has 3: skipped"
    assert [item.text for item in got if isinstance(item, Item)] == ["Oui", "Sur\ndeux lignes"]


def test_a_cell_beyond_the_csv_limit_is_skipped_and_long_texts_are_kept(tmp_path: Path, sqlite_engine: Engine) -> None:
    hostile = '<script>alert("x")</script><b onclick=alert(1)>gras</b>'
    long = "Économie circulaire, " * 5_000  # 105,000 characters
    quoted = hostile.replace('"', '""')
    rows = [f'2024-01-01 10:00:00,,"{quoted}",,,PUBLIC', f"2024-01-02 10:00:00,,{'x' * 200_000},,,PUBLIC",
            f'2024-01-03 10:00:00,,"{long}",,,PUBLIC']  # fmt: skip
    path = write(tmp_path, "Shares.csv", SHARES_HEADER, *rows)
    got = entries(path)
    assert [item.text for item in got if isinstance(item, Item)] == [hostile, long]
    assert [e.problem for e in got if isinstance(e, ItemError)] == [
        "unreadable CSV (field larger than field limit (131072)): skipped"
    ]
    report = import_file(sqlite_engine, path)
    assert (report.counts.new, report.counts.errors) == (2, 1)
    with Session(sqlite_engine) as session:
        assert {m.text: m.html for m in session.scalars(select(Message))} == {hostile: None, long: None}


@pytest.mark.parametrize(
    ("content", "where", "problem"),
    [
        (b"", None, "the file is empty"),
        (SHARES_HEADER.encode() + b"\r\n", None, "a header line but no rows"),
        (b"Date,Text\r\n2024-01-01,Bonjour\r\n", "line 1", "not LinkedIn's Shares.csv or Comments.csv"),
        (b"Date,Link,Message\r\n2024-01-01,https://www.linkedin.com/x,Caf\xe9\r\n", "line 2", "not valid utf-8"),
    ],
)
def test_a_broken_file_is_refused_in_one_line(tmp_path: Path, content: bytes, where: str | None, problem: str) -> None:
    path = tmp_path / "Comments.csv"
    path.write_bytes(content)
    with pytest.raises(BadInput, match=problem) as caught:
        entries(path)
    assert caught.value.where == where
    assert "\n" not in str(caught.value)


def test_a_bom_and_bare_newlines_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "Comments.csv"
    path.write_bytes(
        b"\xef\xbb\xbfDate,Link,Message\n2024-01-01 08:00:00,https://www.linkedin.com/feed/update/urn:li:share:5,Oui\n"
    )
    assert detect(path) is linkedin
    [item] = items(path)
    assert (item.text, item.parent_external_id) == ("Oui", "urn:li:share:5")


def test_importing_the_export_twice_creates_no_duplicates_and_links_a_comment_to_its_post(engine: Engine) -> None:
    first = [import_file(engine, path) for path in (SHARES, COMMENTS)]
    again = [import_file(engine, path) for path in (SHARES, COMMENTS)]
    assert [(r.format, r.counts.new, r.counts.errors) for r in first] == [("linkedin_csv", 3, 0)] * 2
    assert [(r.counts.new, r.counts.updated, r.counts.unchanged) for r in again] == [(0, 0, 3)] * 2
    with Session(engine) as session:
        [source] = session.scalars(select(Source)).all()
        assert (source.kind, source.key, source.channel) == ("linkedin_csv", "linkedin:camille rousseau", "linkedin")
        messages = {m.external_id: m for m in session.scalars(select(Message))}
        post = messages["urn:li:ugcPost:7171000000000000002"]
        linked = [m for m in messages.values() if m.parent_id is not None]
        assert [(m.kind, m.parent_id, m.thread_id) for m in linked] == [("comment", post.id, post.thread_id)]
        assert [a.display_name for a in session.scalars(select(Author))] == ["Camille Rousseau"]


def test_the_exports_headers_are_detected_before_the_generic_csv_importer(tmp_path: Path) -> None:
    names = list(FORMATS)
    assert names.index("linkedin_csv") < names.index("csv")
    assert detect(SHARES) is linkedin
    assert detect(COMMENTS) is linkedin
    assert tabular.CSV.sniff(read_head(SHARES), SHARES)  # what it would have been taken for
    for path in (SHARES, COMMENTS, EXPORT / "Profile.csv"):
        assert not facebook.sniff(read_head(path), path)
        assert not instagram.sniff(read_head(path), path)
    assert not linkedin.sniff(read_head(EXPORT / "Profile.csv"), EXPORT / "Profile.csv")
    other = write(tmp_path, "links.csv", "Date,Link,Message", "2024-01-01,https://example.org/a,Bonjour")
    assert detect(other) is tabular.CSV


@pytest.mark.realdata
def test_no_file_of_another_format_is_claimed(shared: Path) -> None:
    paths = [p for folder in OTHER_FORMATS for p in sorted((shared / folder).iterdir()) if p.suffix != ".txt"]
    assert len([p for p in paths if p.suffix == ".csv"]) >= 4
    assert [p.name for p in paths if linkedin.sniff(read_head(p), p)] == []


def test_a_file_with_lone_carriage_returns_is_not_taken_for_an_export(tmp_path: Path) -> None:
    path = tmp_path / "Comments.csv"
    path.write_bytes(
        b"Date,Link,Message\r2024-01-01 08:00:00,https://www.linkedin.com/feed/update/urn:li:share:5,Oui\r"
    )
    assert not linkedin.sniff(read_head(path), path)
    with pytest.raises(BadInput, match=r"not LinkedIn's Shares\.csv or Comments\.csv"):
        entries(path)
