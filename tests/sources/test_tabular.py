from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, aliased

from pilote.errors import BadInput, Invalid
from pilote.imports import check, import_file
from pilote.models import Author, Label, Message
from pilote.sources import columns, detect, tabular
from pilote.sources.base import Countable, Item, ItemError, ParseOptions

HEADER = "id,created_at,text,author,parent_id,likes"
ROWS = [
    "1,2024-05-01T09:00:00Z,Bonjour à tous,zoe,,3",
    "2,2024-05-01T10:00:00Z,Merci !,paul,1,0",
]


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def table(tmp_path: Path, *lines: str, name: str = "export.csv") -> Path:
    return write(tmp_path, name, "\n".join(lines) + "\n")


def jsonl(tmp_path: Path, *objects: object, name: str = "export.jsonl") -> Path:
    return write(tmp_path, name, "".join(orjson.dumps(o).decode() + "\n" for o in objects))


def parse(path: Path, *mapping: tuple[str, str], fmt: tabular.Tabular | None = None) -> list[Item | ItemError]:
    chosen = fmt or (tabular.CSV if path.suffix in {".csv", ".tsv", ".txt"} else tabular.JSONL)
    return list(chosen.parse(path, ParseOptions(mapping=mapping)))


def items(entries: list[Item | ItemError]) -> list[Item]:
    return [entry for entry in entries if isinstance(entry, Item)]


def errors(entries: list[Item | ItemError]) -> list[ItemError]:
    return [entry for entry in entries if isinstance(entry, ItemError)]


def test_columns_are_found_by_their_aliases_whatever_their_case(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        "Message_ID,Published,Body,Screen_Name,Display_Name,Reply_To,Conversation_ID,Favorite_Count,Lang,Permalink",
        "m2,2024-05-01T10:00:00+02:00,Oui,zoe42,Zoé,m1,m1,7,fr,https://example.org/m2",
    )
    [item] = items(parse(path))
    assert (item.external_id, item.text, item.parent_external_id, item.thread_external_id) == ("m2", "Oui", "m1", "m1")
    assert item.created_at.isoformat() == "2024-05-01T08:00:00+00:00"
    assert item.author is not None
    assert (item.author.handle, item.author.name) == ("zoe42", "Zoé")
    assert item.counters is not None
    assert item.counters.likes == 7
    assert (item.language, item.url, item.kind) == ("fr", "https://example.org/m2", "comment")


def test_map_names_columns_the_aliases_do_not_know_and_wins_over_them(tmp_path: Path) -> None:
    path = table(tmp_path, "Numéro,Horodatage,body,Résumé", "7,1714550400,le corps,le résumé")
    [item] = items(parse(path, ("external_id", "Numéro"), ("created_at", "HORODATAGE"), ("text", "résumé")))
    assert (item.external_id, item.text) == ("7", "le résumé")
    assert item.created_at.isoformat() == "2024-05-01T08:00:00+00:00"


def test_an_empty_map_column_ignores_a_field(tmp_path: Path) -> None:
    path = table(tmp_path, "id,date,text,name", "1,2024-05-01,Salut,Not a person")
    [item] = items(parse(path, ("author_name", "")))
    assert item.author is None


def test_map_naming_a_missing_column_or_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = table(tmp_path, HEADER, *ROWS)
    with pytest.raises(BadInput, match=r"--map text=corps: no such column; columns found: id, created_at"):
        parse(path, ("text", "corps"))
    with pytest.raises(Invalid, match="unknown field 'texte'"):
        parse(path, ("texte", "text"))


def test_dotted_paths_reach_into_nested_json_objects(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path,
        {"id_str": "9", "created_at": "Fri Mar 06 13:02:05 +0000 2026", "full_text": "Hi",
         "user": {"Screen_Name": "ada", "name": "Ada"}},
        {"id_str": "10", "created_at": "Fri Mar 06 13:03:05 +0000 2026", "full_text": "Yo", "user": None},
    )  # fmt: skip
    first, second = items(
        parse(path, ("external_id", "id_str"), ("author_handle", "user.screen_name"), ("author_name", "user.name"))
    )
    assert first.author is not None
    assert (first.author.handle, first.author.name) == ("ada", "Ada")
    assert first.created_at.isoformat() == "2026-03-06T13:02:05+00:00"
    assert second.author is None
    assert second.external_id == "10"


def test_jsonl_keys_may_change_from_line_to_line(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path,
        {"id": 1, "date": 1714550400, "text": "racine"},
        {"id": 2, "date": 1714550460, "text": "réponse", "parent": 1, "score": 4},
    )
    first, second = items(parse(path))
    assert (first.parent_external_id, first.kind, first.counters) == (None, "post", None)
    assert (second.parent_external_id, second.kind) == ("1", "comment")
    assert second.counters is not None
    assert second.counters.likes == 4


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_column_name(tmp_path: Path) -> None:
    csv_path = write(tmp_path, "bom.csv", "\ufeff" + HEADER + "\n" + ROWS[0] + "\n")
    json_path = write(tmp_path, "bom.jsonl", '\ufeff{"id": "1", "date": "2024-05-01", "text": "a"}\n')
    assert [i.external_id for i in items(parse(csv_path))] == ["1"]
    assert [i.external_id for i in items(parse(json_path))] == ["1"]


@pytest.mark.parametrize(("delimiter", "name"), [(";", "export.csv"), ("\t", "export.tsv"), ("|", "export.csv")])
def test_semicolon_tab_and_pipe_delimiters_are_detected_from_the_header(
    tmp_path: Path, delimiter: str, name: str
) -> None:
    lines = [line.replace(",", delimiter) for line in (HEADER, *ROWS)]
    path = table(tmp_path, lines[0], '1;2024-05-01T09:00:00Z;"Un, deux";zoe;;3'.replace(";", delimiter), name=name)
    [item] = items(parse(path))
    assert (item.text, item.author and item.author.handle) == ("Un, deux", "zoe")


def test_quoted_cells_may_span_lines_and_later_rows_keep_their_line_numbers(tmp_path: Path) -> None:
    path = table(tmp_path, HEADER, '1,2024-05-01T09:00:00Z,"Ligne 1\nLigne ""2""\n",zoe,,3', "2,not a date,x,paul,,0")
    first, second = parse(path)
    assert isinstance(first, Item)
    assert first.text == 'Ligne 1\nLigne "2"'
    assert second == ItemError("line 5", "id 2: 'not a date' is not a date Pilote knows (ISO 8601, RFC 2822 "
                                         "or Unix time): skipped")  # fmt: skip


def test_a_latin1_file_is_refused_with_its_line_and_read_with_the_right_encoding(tmp_path: Path) -> None:
    path = write(
        tmp_path, "latin.csv", "\n".join([HEADER, "1,2024-05-01,ok,zoe,,1", "2,2024-05-01,Café,zoé,,1"]), "latin-1"
    )
    with pytest.raises(BadInput) as caught:
        parse(path)
    assert caught.value.where == "line 3"
    assert caught.value.hint is not None
    assert "--encoding latin-1" in caught.value.hint
    read = tabular.CSV.parse(path, ParseOptions(encoding="latin-1"))
    assert [i.text for i in items(list(read))] == ["ok", "Café"]


def test_unknown_and_utf16_encodings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="unknown encoding 'klingon'"):
        list(tabular.JSONL.parse(jsonl(tmp_path, {"id": 1}), ParseOptions(encoding="klingon")))
    with pytest.raises(BadInput, match="UTF-16"):
        parse(write(tmp_path, "wide.csv", HEADER + "\n" + ROWS[0], "utf-16"))


def test_a_missing_required_column_names_the_field_the_columns_and_the_map_hint(tmp_path: Path) -> None:
    path = table(tmp_path, "id,quand,text", "1,2024-05-01,a")
    with pytest.raises(BadInput) as caught:
        parse(path)
    assert "no column for created_at" in caught.value.problem
    assert "columns found: id, quand, text" in caught.value.problem
    assert caught.value.hint == "name the column with --map created_at=COLUMN"


def test_a_title_or_html_column_is_enough_without_text(tmp_path: Path) -> None:
    path = table(tmp_path, "id,date,html", "1,2024-05-01,<p>Bonjour</p>")
    [item] = items(parse(path))
    assert (item.text, item.html) == ("", "<p>Bonjour</p>")
    with pytest.raises(BadInput, match="no column for text"):
        parse(table(tmp_path, "id,date,score", "1,2024-05-01,3", name="b.csv"))


@pytest.mark.parametrize("content", ["", "\n\n", HEADER + "\n", HEADER + "\n\n"])
def test_an_empty_or_header_only_csv_is_refused(tmp_path: Path, content: str) -> None:
    with pytest.raises(BadInput):
        parse(write(tmp_path, "empty.csv", content))


def test_bad_rows_are_skipped_with_their_line_while_the_rest_imports(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        HEADER,
        ROWS[0],
        "2,2024-05-01,short",
        ",2024-05-01,no id,zoe,,1",
        "4,2024-05-01,a\x00b,zoe,,1",
        ROWS[1],
    )
    entries = parse(path)
    assert [i.external_id for i in items(entries)] == ["1", "2"]
    assert errors(entries) == [
        ItemError("line 3", "3 cells where the header has 6: skipped"),
        ItemError("line 4", "no id: skipped"),
        ItemError("line 5", "contains NUL characters: skipped"),
    ]


def test_an_invalid_json_line_is_skipped_while_the_others_import(tmp_path: Path) -> None:
    good = '{"id": "%s", "date": "2024-05-01", "text": "a"}'
    path = write(tmp_path, "x.jsonl", "\n".join([good % 1, "{broken", "", "[1, 2]", good % 2, '"text"']) + "\n")
    entries = parse(path)
    assert [i.external_id for i in items(entries)] == ["1", "2"]
    assert [e.where for e in errors(entries)] == ["line 2", "line 4", "line 6"]
    assert "not valid JSON" in errors(entries)[0].problem
    assert items(entries)[0].raw == good % 1


def test_a_file_whose_first_line_is_not_a_json_object_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "x.jsonl", '\n[{"id": 1}]\n')
    with pytest.raises(BadInput, match="not an object") as caught:
        parse(path)
    assert caught.value.where == "line 2"


@pytest.mark.parametrize(("cells", "expected"), [
    (("3", "1", "", "120"), (3, 1, None, 120)),
    (("12.0", "abc", "-4", " 7 "), (12, None, -4, 7)),
    (("1.5", "99999999999999999999", "", ""), (None, None, None, None)),
])  # fmt: skip
def test_counters_are_whole_numbers_or_none(
    tmp_path: Path, cells: tuple[str, ...], expected: tuple[int | None, ...]
) -> None:
    path = table(
        tmp_path, "id,date,text,likes,retweet_count,num_comments,impressions", "1,2024-05-01,a," + ",".join(cells)
    )
    [item] = items(parse(path))
    counters = item.counters
    found = (counters.likes, counters.shares, counters.replies, counters.views) if counters else (None,) * 4
    assert found == expected


@pytest.mark.parametrize(("spam", "status", "labels"), [
    ("1", "", (("spam", "spam"),)), ("TRUE", "approved", (("spam", "spam"), ("status", "approved"))),
    ("ham", "", (("spam", "ham"),)), ("no", "pending", (("spam", "ham"), ("status", "pending"))),
    ("", "", ()), ("maybe", "trash", (("status", "trash"),)),
])  # fmt: skip
def test_spam_and_status_columns_become_labels(
    tmp_path: Path, spam: str, status: str, labels: tuple[tuple[str, str], ...]
) -> None:
    [item] = items(parse(table(tmp_path, "id,date,text,spam,status", f"1,2024-05-01,a,{spam},{status}")))
    assert item.labels == labels


def test_json_booleans_and_numbers_are_read_as_spam_flags(tmp_path: Path) -> None:
    path = jsonl(
        tmp_path,
        {"id": 1, "date": "2024-05-01", "text": "a", "spam": True},
        {"id": 2, "date": "2024-05-01", "text": "b", "spam": 0},
    )
    assert [i.labels for i in items(parse(path))] == [(("spam", "spam"),), (("spam", "ham"),)]


def test_reddit_fullnames_become_bare_ids_and_deleted_authors_nobody(tmp_path: Path) -> None:
    path = table(
        tmp_path,
        "id,parent_id,link_id,author,created_utc,score,subreddit,body",
        "c2,t1_c1,t3_abc,[deleted],1323313370.0,2,announcements,Yes",
        "c1,t3_abc,t3_abc,alice,1323313360.0,5,announcements,First",
    )
    reply, top = items(parse(path))
    assert (reply.parent_external_id, reply.thread_external_id, reply.author, reply.kind) == (
        "c1",
        "abc",
        None,
        "comment",
    )
    assert top.parent_external_id == "abc"
    assert top.author is not None
    assert top.author.handle == "alice"
    info = tabular.CSV.describe(path, ParseOptions())
    assert (info.key, info.channel, info.name) == ("reddit:announcements", "reddit", "r/announcements")


def test_the_source_is_the_file_stem_unless_named(tmp_path: Path) -> None:
    path = jsonl(tmp_path, {"id": 1, "date": "2024-05-01", "text": "a"}, name="forum-2024.jsonl")
    info = tabular.JSONL.describe(path, ParseOptions())
    assert (info.kind, info.key, info.channel) == ("jsonl", "forum-2024", "jsonl:forum-2024")
    assert tabular.JSONL.describe(path, ParseOptions(source_key="forum")).key == "forum"


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("export.csv", HEADER + "\n", "csv"),
    ("export.tsv", "id\tdate\ttext\n", "csv"),
    ("export.txt", "id;date;text\n", "csv"),
    ("export.jsonl", '{"id": 1}\n', "jsonl"),
    ("export.ndjson", '\n  {"id": 1}\n', "jsonl"),
])  # fmt: skip
def test_files_are_detected_by_name_and_first_line(tmp_path: Path, name: str, content: str, expected: str) -> None:
    assert detect(write(tmp_path, name, content)).name == expected


def test_every_mapped_field_has_a_converter_and_a_typed_value() -> None:
    assert set(columns.CONVERTERS) == set(columns.FIELDS) == set(columns.Values.__annotations__)


def test_a_text_file_without_known_columns_is_not_taken_for_csv(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="unknown format"):
        detect(write(tmp_path, "notes.txt", "shopping, milk, eggs\n"))


def count(engine: Engine, *conditions: object) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Message).where(*conditions)) or 0  # type: ignore[arg-type]


def test_importing_twice_changes_nothing_and_an_edited_text_is_an_update(engine: Engine, tmp_path: Path) -> None:
    path = table(tmp_path, HEADER, *ROWS, "3,2024-05-01T11:00:00Z,Et moi ?,zoe,2,1")
    first = import_file(engine, path)
    assert (first.counts.new, first.counts.unchanged, first.counts.errors) == (3, 0, 0)
    again = import_file(engine, path)
    assert (again.counts.new, again.counts.updated, again.counts.unchanged) == (0, 0, 3)
    path.write_text(path.read_text().replace("Merci !", "Merci beaucoup !"))
    edited = import_file(engine, path)
    assert (edited.counts.new, edited.counts.updated, edited.counts.unchanged) == (0, 1, 2)
    assert count(engine, Message.text == "Merci beaucoup !") == 1


def test_parents_are_resolved_when_the_child_comes_first(engine: Engine, tmp_path: Path) -> None:
    path = jsonl(
        tmp_path,
        {"id": "r2", "date": "2024-05-01T10:05:00Z", "text": "re: re", "parent_id": "r1", "spam": "yes"},
        {"id": "r1", "date": "2024-05-01T10:01:00Z", "text": "re", "parent_id": "p"},
        {"id": "p", "date": "2024-05-01T10:00:00Z", "text": "post", "title": "Annonce"},
    )
    report = import_file(engine, path)
    assert (report.format, report.counts.new) == ("jsonl", 3)
    parent = aliased(Message)
    with Session(engine) as session:
        pairs = session.execute(
            select(Message.external_id, parent.external_id).join(parent, Message.parent_id == parent.id)
        )
        assert {child: up for child, up in pairs} == {"r2": "r1", "r1": "p"}
        root = session.scalar(select(Message.id).where(Message.external_id == "p"))
        assert set(session.scalars(select(Message.thread_id))) == {root}
        assert session.scalar(select(Label.value).where(Label.name == "spam")) == "spam"


def stored(engine: Engine) -> dict[str, tuple[str, str | None, str]]:
    """Each message as stored: external id → (text, author's handle, date)."""
    with Session(engine) as session:
        rows = session.execute(
            select(Message.external_id, Message.text, Author.handle, Message.created_at).outerjoin(
                Author, Author.id == Message.author_id
            )
        )
        return {ident: (text, handle, created.isoformat()[:16]) for ident, text, handle, created in rows}


def test_the_mapping_is_part_of_the_raw_payload_only_when_one_is_given(tmp_path: Path) -> None:
    path = table(tmp_path, "id,date,text,summary", "1,2024-05-01,Bonjour,Salut")
    [plain] = items(parse(path))
    [mapped] = items(parse(path, ("Text", "SUMMARY"), ("author_name", "")))
    record = {"date": "2024-05-01", "id": "1", "summary": "Salut", "text": "Bonjour"}
    assert orjson.loads(plain.raw) == record
    assert orjson.loads(mapped.raw) == {"map": {"author_name": "", "text": "summary"}, "record": record}


def test_a_reimport_with_a_corrected_map_updates_the_messages_and_back(engine: Engine, tmp_path: Path) -> None:
    path = table(
        tmp_path,
        "id,date,updated,text,summary,author,editor",
        "1,2024-05-01T09:00:00Z,2024-06-01T09:00:00Z,Bonjour à tous,Salut,zoe,admin",
        "2,2024-05-01T10:00:00Z,2024-06-01T10:00:00Z,Merci pour tout,Merci,paul,admin",
    )
    wrong = (("created_at", "updated"), ("text", "summary"), ("author_handle", "editor"))
    right = {"1": ("Bonjour à tous", "zoe", "2024-05-01T09:00"), "2": ("Merci pour tout", "paul", "2024-05-01T10:00")}
    mistaken = {"1": ("Salut", "admin", "2024-06-01T09:00"), "2": ("Merci", "admin", "2024-06-01T10:00")}
    first = import_file(engine, path, options=ParseOptions(mapping=wrong))
    assert stored(engine) == mistaken
    fixed = import_file(engine, path)  # the accepted names were right all along
    assert (fixed.counts.new, fixed.counts.updated, fixed.resumed_from) == (0, 2, 0)
    assert fixed.run_id != first.run_id  # another mapping is another run, never a resumed one
    assert stored(engine) == right
    assert import_file(engine, path).counts.unchanged == 2
    back = import_file(engine, path, options=ParseOptions(mapping=wrong))
    assert (back.counts.updated, stored(engine)) == (2, mistaken)
    assert import_file(engine, path, options=ParseOptions(mapping=wrong)).counts.unchanged == 2
    assert count(engine) == 2


def test_a_jsonl_import_corrected_with_a_map_reads_its_nested_author(engine: Engine, tmp_path: Path) -> None:
    path = jsonl(
        tmp_path,
        {"id": "a", "date": "2024-05-01T09:00:00Z", "text": "Salut", "author": "bot", "user": {"screen_name": "ada"}},
        {"id": "b", "date": "2024-05-01T09:05:00Z", "text": "Oui", "author": "bot", "user": {"screen_name": "bob"}},
    )
    import_file(engine, path)
    assert {handle for _, handle, _ in stored(engine).values()} == {"bot"}
    fixed = import_file(engine, path, options=ParseOptions(mapping=(("author_handle", "user.screen_name"),)))
    assert (fixed.counts.updated, fixed.counts.unchanged) == (2, 0)
    assert {ident: handle for ident, (_, handle, _) in stored(engine).items()} == {"a": "ada", "b": "bob"}
    undone = import_file(engine, path)
    assert (undone.counts.updated, {handle for _, handle, _ in stored(engine).values()}) == (2, {"bot"})


@pytest.mark.realdata
def test_a_real_export_imported_with_swapped_columns_is_put_right_by_a_new_map(engine: Engine, shared: Path) -> None:
    path = shared / "youtube_spam" / "Youtube01-Psy.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = {row["COMMENT_ID"]: row for row in csv.DictReader(handle)}
    swapped = import_file(
        engine, path, options=ParseOptions(mapping=(("text", "AUTHOR"), ("author_handle", "CONTENT")))
    )
    assert swapped.counts.new == len(rows)
    fixed = import_file(engine, path, options=ParseOptions(mapping=(("spam", "label"),)))
    assert (fixed.counts.new, fixed.counts.updated, fixed.counts.unchanged) == (0, len(rows), 0)
    found = stored(engine)
    assert all(found[ident][0] == row["CONTENT"].strip() for ident, row in rows.items())
    assert all(found[ident][1] == row["AUTHOR"].strip() for ident, row in rows.items())
    with Session(engine) as session:
        spam = session.scalar(select(func.count()).where(Label.name == "spam", Label.value == "spam"))
    assert spam == sum(1 for row in rows.values() if row["label"] == "1")
    assert import_file(engine, path, options=ParseOptions(mapping=(("spam", "label"),))).counts.unchanged == len(rows)


@pytest.mark.realdata
def test_the_reddit_thread_csv_imports_out_of_the_box(engine: Engine, shared: Path, tmp_path: Path) -> None:
    path = shared / "reddit" / "announcements_n49rw_comments.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ids = {row["id"] for row in rows}
    replies_in_file = sum(1 for row in rows if row["parent_id"].startswith("t1_") and row["parent_id"][3:] in ids)
    report = import_file(engine, path)
    assert (report.format, report.counts.new, report.counts.errors) == ("csv", len(rows), 0)
    assert count(engine) == len(rows)
    assert count(engine, Message.parent_id.is_not(None)) == replies_in_file
    # The post is not in the export: the comments still make one conversation, led by the first one written.
    first = min(rows, key=lambda row: (float(row["created_utc"]), row["id"]))["id"]
    assert threads(engine) == {first: len(rows)}
    post = "id,parent_id,link_id,author,created_utc,score,subreddit,body\n"
    post += "n49rw,,t3_n49rw,a,1323313000.0,1,announcements,Post\n"
    (tmp_path / "post.csv").write_text(post, encoding="utf-8")
    import_file(engine, tmp_path / "post.csv")  # the post arrives: the whole thread moves under it
    assert threads(engine) == {"n49rw": len(rows) + 1}
    assert count(engine, Message.parent_id.is_not(None)) == len(rows)


def threads(engine: Engine) -> dict[str, int]:
    """Each thread's root, by external id, and how many messages it holds."""
    root = aliased(Message)
    query = (
        select(root.external_id, func.count())
        .select_from(Message)
        .join(root, root.id == Message.thread_id)
        .group_by(root.external_id)
    )
    with Session(engine) as session:
        return {ref: int(n) for ref, n in session.execute(query)}


VALID_CSV = ("\n".join([HEADER, *ROWS, '3,2024-05-02,"multi\nline",ana,2,']) + "\n").encode()
VALID_JSONL = b"".join(
    orjson.dumps({"id": n, "date": f"2024-05-0{n}", "text": "é", "author": {"name": "x"}, "likes": n}) + b"\n"
    for n in range(1, 5)
)
mutation = st.one_of(
    st.tuples(st.just("truncate"), st.integers(0, 400)),
    st.tuples(st.just("insert"), st.integers(0, 400), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("swap"), st.integers(0, 6), st.integers(0, 6)),
)


def mutate(data: bytes, steps: list[tuple[object, ...]]) -> bytes:
    for step in steps:
        if step[0] == "truncate":
            data = data[: int(str(step[1]))]
        elif step[0] == "insert":
            at = int(str(step[1])) % (len(data) + 1)
            data = data[:at] + bytes(step[2]) + data[at:]  # type: ignore[call-overload]
        else:
            lines = data.split(b"\n")
            i, j = (int(str(n)) % len(lines) for n in step[1:])
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from([tabular.CSV, tabular.JSONL]), steps=st.lists(mutation, min_size=1, max_size=4))
def test_damaged_files_yield_items_or_item_errors_or_refuse_with_bad_input(
    tmp_path: Path, fmt: tabular.Tabular, steps: list[tuple[object, ...]]
) -> None:
    path = tmp_path / f"damaged.{fmt.name}"
    path.write_bytes(mutate(VALID_CSV if fmt is tabular.CSV else VALID_JSONL, steps))
    try:
        entries = list(fmt.parse(path, ParseOptions()))
    except BadInput:
        return
    assert all(isinstance(entry, Item | ItemError) for entry in entries)


# count(): what pilote.imports.check runs before anything is written


def outcome(run: Callable[[], object]) -> object:
    """What a call returns, or the text of the BadInput or Invalid it raises."""
    try:
        return run()
    except (BadInput, Invalid) as error:
        return f"{type(error).__name__}: {error}"


def count_and_entries(path: Path, fmt: tabular.Tabular, options: ParseOptions | None = None) -> tuple[object, object]:
    options = options or ParseOptions()
    return outcome(lambda: fmt.count(path, options)), outcome(lambda: len(list(fmt.parse(path, options))))


GOOD_LINE = '{"id": "%s", "date": "2024-05-01", "text": "é"}'
JSONL_FILES = {
    "blank and whitespace-only lines": ("\n".join(["", GOOD_LINE % 1, "", "  \t ", GOOD_LINE % 2, "\n"]), 2),
    "bad JSON, arrays and strings in the middle": ("\n".join([GOOD_LINE % 1, "{broken", "[1]", '"x"', "nul"]), 5),
    "a byte order mark": ("\ufeff" + GOOD_LINE % 1 + "\n" + GOOD_LINE % 2 + "\n", 2),
    "a byte order mark alone on the first line": ("\ufeff\n" + GOOD_LINE % 1 + "\n", 1),
    "CRLF endings and blank CRLF lines": ("\r\n".join([GOOD_LINE % 1, "", " ", GOOD_LINE % 2, ""]) + "\r\n", 2),
    "no newline at the end": (GOOD_LINE % 1 + "\n" + GOOD_LINE % 2, 2),
    "a last line of spaces without newline": (GOOD_LINE % 1 + "\n   ", 1),
    "objects with other keys and no id": (GOOD_LINE % 1 + '\n{"other": 1}\n{"id": 3}\n', 3),
}
CSV_FILES = {
    "multi-line quoted cells": (HEADER + '\n1,2024-05-01,"a\n\nb",zoe,,1\n2,2024-05-01,"c\r\nd",paul,,\n', 2),
    "blank lines and bad rows": ("\n".join([HEADER, "", ROWS[0], "2,2024-05-01,short", "", "3,x,\x00,zoe,,1"]), 3),
    "a byte order mark and CRLF endings": ("\ufeff" + "\r\n".join([HEADER, *ROWS]) + "\r\n", 2),
    "an unclosed quote that swallows the rest": ("\n".join([HEADER, ROWS[0], '2,2024-05-01,"open,zoe,,1', *ROWS]), 2),
}


@pytest.mark.parametrize(("content", "expected"), JSONL_FILES.values(), ids=JSONL_FILES.keys())
def test_jsonl_count_is_the_number_of_entries_parse_yields(tmp_path: Path, content: str, expected: int) -> None:
    path = write(tmp_path, "x.jsonl", content)
    assert count_and_entries(path, tabular.JSONL) == (expected, expected)


@pytest.mark.parametrize(("content", "expected"), CSV_FILES.values(), ids=CSV_FILES.keys())
def test_csv_count_is_the_number_of_entries_parse_yields(tmp_path: Path, content: str, expected: int) -> None:
    path = write(tmp_path, "x.csv", content)
    assert count_and_entries(path, tabular.CSV) == (expected, expected)


def test_count_does_not_refuse_a_jsonl_for_a_bad_line_after_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, "x.jsonl", "\n".join([GOOD_LINE % 1, "{broken", "[1, 2]", GOOD_LINE % 2]) + "\n")
    assert tabular.JSONL.count(path, ParseOptions()) == 4
    assert len(errors(parse(path))) == 2


@pytest.mark.parametrize(("name", "content", "options"), [
    ("empty.jsonl", "", ParseOptions()),
    ("blank.jsonl", "\n \n\r\n", ParseOptions()),
    ("array.jsonl", '\n[{"id": 1}]\n' + GOOD_LINE % 2 + "\n", ParseOptions()),
    ("broken.jsonl", "{broken\n" + GOOD_LINE % 2 + "\n", ParseOptions()),
    ("latin.jsonl", '{"id": "1", "text": "caf\xe9"}\n', ParseOptions()),
    ("nodate.jsonl", '{"id": 1, "text": "a"}\n' + GOOD_LINE % 2 + "\n", ParseOptions()),
    ("wide.jsonl", GOOD_LINE % 1 + "\n", ParseOptions(encoding="utf-16")),
    ("klingon.jsonl", GOOD_LINE % 1 + "\n", ParseOptions(encoding="klingon")),
    ("mapped.jsonl", GOOD_LINE % 1 + "\n", ParseOptions(mapping=(("texte", "text"),))),
    ("empty.csv", "", ParseOptions()),
    ("header.csv", HEADER + "\n\n", ParseOptions()),
    ("latin.csv", "\n".join([HEADER, *ROWS, "3,2024-05-01,caf\xe9,zoe,,1", *ROWS]), ParseOptions()),
    ("cr.csv", HEADER + "\r" + ROWS[0] + "\r", ParseOptions()),
    ("nodate.csv", "id,quand,text\n1,2024-05-01,a\n", ParseOptions()),
    ("mapped.csv", HEADER + "\n" + ROWS[0] + "\n", ParseOptions(mapping=(("text", "corps"),))),
    ("wide.csv", HEADER + "\n" + ROWS[0] + "\n", ParseOptions()),
])  # fmt: skip
def test_count_refuses_what_parse_refuses_with_the_same_error(
    tmp_path: Path, name: str, content: str, options: ParseOptions
) -> None:
    encoding = {"latin": "latin-1", "wide": "utf-16"}.get(name.split(".")[0], "utf-8")
    path = write(tmp_path, name, content, encoding)
    fmt = tabular.CSV if name.endswith(".csv") else tabular.JSONL
    counted, entries = count_and_entries(path, fmt, options)
    assert isinstance(counted, str)
    assert counted == entries


@pytest.mark.parametrize("content", [
    "\n".join([GOOD_LINE % 1, "x" * 100, "", " " * 100, GOOD_LINE % 2]) + "\n",
    GOOD_LINE % 1 + "\n" + "y" * 64 + "\n" + " " * 64,
    GOOD_LINE % 1 + "\n" + " " * 63 + "\n" + "z" * 63,
    GOOD_LINE % 1 + "\n" + " " * 64 + "\r\n\n",
])  # fmt: skip
def test_count_treats_overlong_lines_and_read_boundaries_as_parse_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    monkeypatch.setattr(tabular, "MAX_LINE_BYTES", 64)
    path = write(tmp_path, "long.jsonl", content)
    for size in (1, 2, 7, 64, 1 << 20):
        monkeypatch.setattr(tabular, "READ_BYTES", size)
        counted, entries = count_and_entries(path, tabular.JSONL)
        assert counted == entries, size


def test_the_import_check_counts_without_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = jsonl(tmp_path, *({"id": n, "date": "2024-05-01", "text": "a"} for n in range(3)))
    assert isinstance(tabular.JSONL, Countable)
    assert isinstance(tabular.CSV, Countable)

    def no_parse(path: Path, options: ParseOptions) -> Iterator[Item | ItemError]:
        raise AssertionError("check parsed the file")

    monkeypatch.setattr(tabular.JSONL, "parse", no_parse)
    assert check(tabular.JSONL, path, ParseOptions()) == 3


blank_line = st.sampled_from([b"", b" ", b"\t", b"\r", b" \r", b"\x0b\x0c"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fmt=st.sampled_from([tabular.CSV, tabular.JSONL]),
    steps=st.lists(mutation, max_size=4),
    blanks=st.lists(st.tuples(st.integers(0, 8), blank_line), max_size=4),
    read_bytes=st.sampled_from([1, 3, 16, 1 << 20]),
)
def test_count_agrees_with_parse_on_damaged_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fmt: tabular.Tabular,
    steps: list[tuple[object, ...]],
    blanks: list[tuple[int, bytes]],
    read_bytes: int,
) -> None:
    lines = mutate(VALID_CSV if fmt is tabular.CSV else VALID_JSONL, steps).split(b"\n")
    for at, blank in blanks:
        lines.insert(at % (len(lines) + 1), blank)
    path = tmp_path / f"damaged.{fmt.name}"
    path.write_bytes(b"\n".join(lines))
    monkeypatch.setattr(tabular, "READ_BYTES", read_bytes)
    counted, entries = count_and_entries(path, fmt)
    assert counted == entries
