from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from factories import item, target
from pilote.ingest import write_batch
from pilote.linking import relink
from pilote.models import Author, Engagement, Label, Message


def write(engine: Engine, items: list, slug: str = "acme") -> tuple[int, int, int]:
    t = target(engine, slug)
    with engine.begin() as conn:
        counts = write_batch(conn, t, items)
        relink(conn, source_id=t.source_id)
    return counts.new, counts.updated, counts.unchanged


def by_external(engine: Engine) -> dict[str, Message]:
    with Session(engine) as session:
        return {m.external_id: m for m in session.scalars(select(Message))}


def test_reimporting_the_same_items_creates_nothing(engine: Engine) -> None:
    items = [item("p1"), item("c1", parent="p1", thread="p1"), item("c2", parent="c1", thread="p1")]
    assert write(engine, items) == (3, 0, 0)
    assert write(engine, items) == (0, 0, 3)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 3


def test_an_edited_text_updates_the_message_in_place(engine: Engine) -> None:
    write(engine, [item("p1", "première version")])
    assert write(engine, [item("p1", "version corrigée")]) == (0, 1, 0)
    messages = by_external(engine)
    assert len(messages) == 1
    assert messages["p1"].text == "version corrigée"


def test_changed_counters_keep_the_values_they_replace_as_a_snapshot(engine: Engine) -> None:
    write(engine, [item("p1", likes=3)])
    write(engine, [item("p1", likes=3)])
    write(engine, [item("p1", likes=9)])
    write(engine, [item("p1", likes=12)])
    with Session(engine) as session:
        likes = session.scalars(select(Engagement.likes).order_by(Engagement.captured_at)).all()
        captured = session.scalars(select(Engagement.captured_at).order_by(Engagement.captured_at)).all()
    assert likes == [3, 9]  # the history; the message holds the latest
    assert by_external(engine)["p1"].likes == 12
    assert all(moment.tzinfo is not None for moment in captured)


def test_children_arriving_before_their_parents_are_linked_once_the_parents_land(engine: Engine) -> None:
    write(engine, [item("r2", parent="r1", minutes=2), item("r1", parent="p", minutes=1)])
    orphans = by_external(engine)
    assert orphans["r2"].parent_id == orphans["r1"].id
    assert orphans["r1"].parent_id is None
    assert orphans["r2"].thread_id == orphans["r1"].id  # the orphan leads its own thread for now
    write(engine, [item("p")])
    linked = by_external(engine)
    assert linked["r1"].parent_id == linked["p"].id
    assert {linked[k].thread_id for k in ("p", "r1", "r2")} == {linked["p"].id}


def test_named_threads_are_resolved_even_when_parents_are_missing(engine: Engine) -> None:
    write(engine, [item("post"), item("c9", parent="ghost", thread="post")])
    messages = by_external(engine)
    assert messages["c9"].parent_id is None
    assert messages["c9"].thread_id == messages["post"].id


NEWEST_FIRST = [  # as a platform lists them: replies before what they answer, the post last
    item("c4", parent="c2", thread="p", minutes=4), item("c3", parent="c2", thread="p", minutes=3),
    item("c2", parent="c1", thread="p", minutes=2), item("c1", parent="p", thread="p", minutes=1), item("p"),
]  # fmt: skip


def test_a_batch_listed_newest_first_is_linked_in_the_batch_itself(engine: Engine) -> None:
    assert write(engine, NEWEST_FIRST) == (5, 0, 0)
    messages = by_external(engine)
    parents = {key: messages[key].parent_id for key in ("c4", "c3", "c2", "c1")}
    assert parents == {"c4": messages["c2"].id, "c3": messages["c2"].id, "c2": messages["c1"].id,
                       "c1": messages["p"].id}  # fmt: skip
    assert {message.thread_id for message in messages.values()} == {messages["p"].id}


def test_rows_are_inserted_after_the_parent_and_thread_root_of_their_batch(sqlite_engine: Engine) -> None:
    inserted: list[int] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if many and statement.startswith("INSERT INTO message "):
            inserted.extend(row[0] for row in parameters)  # the id comes first

    event.listen(sqlite_engine, "before_cursor_execute", note)
    write(sqlite_engine, NEWEST_FIRST)
    messages = by_external(sqlite_engine)
    at = {message_id: position for position, message_id in enumerate(inserted)}
    assert len(at) == 5
    for message in messages.values():
        for points_at in {message.parent_id, message.thread_id} - {None, message.id}:
            assert at[points_at] < at[message.id]


def test_a_parent_cycle_leaves_the_messages_unthreaded_instead_of_looping(engine: Engine) -> None:
    write(engine, [item("a", parent="b"), item("b", parent="a")])
    messages = by_external(engine)
    assert messages["a"].parent_id == messages["b"].id
    assert messages["a"].thread_id is None
    assert messages["b"].thread_id is None


def test_authors_are_shared_across_messages_of_a_channel(engine: Engine) -> None:
    write(engine, [item("p1", author="zoé"), item("p2", author="zoé"), item("p3", author="yann")])
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Author)) == 2


def test_import_labels_are_replaced_when_the_message_changes(engine: Engine) -> None:
    write(engine, [item("c1", labels=(("status", "pending"),))])
    write(engine, [item("c1", "edited", labels=(("status", "spam"), ("spam", "spam")))])
    with Session(engine) as session:
        labels = {(row.name, row.value) for row in session.execute(select(Label.name, Label.value))}
    assert labels == {("status", "spam"), ("spam", "spam")}


def test_workspaces_do_not_see_each_others_sources(engine: Engine) -> None:
    write(engine, [item("p1")], slug="one")
    assert write(engine, [item("p1")], slug="two") == (1, 0, 0)


def test_nul_characters_are_dropped_because_postgresql_refuses_them(engine: Engine) -> None:
    write(engine, [item("p1", "a\x00b")])
    assert by_external(engine)["p1"].text == "ab"
