from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session, aliased

from factories import item, target
from pilote import rollups, workspaces
from pilote.imports import import_file
from pilote.ingest import Target, write_batch
from pilote.linking import relink
from pilote.models import InboxItem, Message, RollupDirty, Workspace
from pilote.sources.base import Item, ParseOptions

Tree = list[tuple[str, str | None, str | None]]  # external id, parent named, thread named
Structure = dict[str, tuple[str | None, str | None]]  # external id → (parent, thread), by external ids

CHAIN = 40  # deeper than a batch: each batch of a newest-first file holds replies whose parent comes later


def reply_tree() -> Tree:
    """Oldest first: threads, a deep chain, a named thread whose parent never arrives, a named thread whose root
    never arrives (a Reddit export of a thread's comments), orphans, a cycle."""
    tree: Tree = [("post-a", None, None), ("post-b", None, None), ("wp-post", None, None)]
    tree += [(f"chain-{i}", f"chain-{i - 1}" if i else "post-a", None) for i in range(CHAIN)]
    tree += [("b1", "post-b", None), ("b2", "b1", None), ("b3", "post-b", None)]
    tree += [("wp-c1", "wp-ghost", "wp-post"), ("wp-c2", "wp-c1", "wp-post")]
    tree += [("lost-1", "never-exported", None), ("lost-2", "lost-1", None), ("lost-3", "lost-2", None)]
    tree += [("r-c1", "r-post", "r-post"), ("r-c2", "r-c1", "r-post"), ("r-c3", "r-post", "r-post")]
    tree += [("x", "y", None), ("y", "x", None), ("x1", "x", None)]
    return tree


def expected_structure(stand_in: str = "r-c1") -> Structure:
    """`stand_in`: the first written of the comments whose post is missing (the files give times in their order)."""
    expected: Structure = {"post-a": (None, "post-a"), "post-b": (None, "post-b"), "wp-post": (None, "wp-post")}
    expected |= {f"chain-{i}": (f"chain-{i - 1}" if i else "post-a", "post-a") for i in range(CHAIN)}
    expected |= {"b1": ("post-b", "post-b"), "b2": ("b1", "post-b"), "b3": ("post-b", "post-b")}
    expected |= {"wp-c1": (None, "wp-post"), "wp-c2": ("wp-c1", "wp-post")}  # the named thread, its parent missing
    expected |= {"lost-1": (None, "lost-1"), "lost-2": ("lost-1", "lost-1"), "lost-3": ("lost-2", "lost-1")}
    # One conversation although its post is missing: its first comment written stands in for the root.
    expected |= {"r-c1": (None, stand_in), "r-c2": ("r-c1", stand_in), "r-c3": (None, stand_in)}
    expected |= {"x": ("y", None), "y": ("x", None), "x1": ("x", None)}  # a cycle stays unthreaded
    return expected


def write_jsonl(path: Path, tree: Tree) -> Path:
    lines = [
        json.dumps({"id": ref, "created_at": f"2026-03-01T12:{minute // 60:02d}:{minute % 60:02d}+00:00",
                    "text": f"message {ref}", "parent_id": parent, "thread_id": thread})
        for minute, (ref, parent, thread) in enumerate(tree)
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    return path


def new_workspace(engine: Engine, slug: str) -> str:
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug=slug)
    return slug


def structure(engine: Engine, slug: str) -> Structure:
    """Each message's parent and thread, named by their external ids."""
    parent, root = aliased(Message), aliased(Message)
    query = (
        select(Message.external_id, parent.external_id, root.external_id)
        .join(Workspace, Workspace.id == Message.workspace_id)
        .outerjoin(parent, parent.id == Message.parent_id)
        .outerjoin(root, root.id == Message.thread_id)
        .where(Workspace.slug == slug)
    )
    with Session(engine) as session:
        return {ref: (parent_ref, thread_ref) for ref, parent_ref, thread_ref in session.execute(query)}


@pytest.mark.parametrize("batch_size", [7, 1000])
def test_a_reply_tree_gets_the_same_parents_and_threads_whether_it_comes_oldest_or_newest_first(
    engine: Engine, tmp_path: Path, batch_size: int
) -> None:
    tree = reply_tree()
    oldest, newest = new_workspace(engine, "oldest"), new_workspace(engine, "newest")
    import_file(engine, write_jsonl(tmp_path / "oldest.jsonl", tree), workspace=oldest, batch_size=batch_size)
    import_file(engine, write_jsonl(tmp_path / "newest.jsonl", tree[::-1]), workspace=newest, batch_size=batch_size)
    assert structure(engine, oldest) == expected_structure()
    assert structure(engine, newest) == expected_structure(stand_in="r-c3")


def test_replies_imported_before_their_post_join_its_thread_when_the_post_is_imported(
    engine: Engine, tmp_path: Path
) -> None:
    tree = reply_tree()
    chain = [entry for entry in tree if entry[0].startswith("chain-")]
    slug, options = new_workspace(engine, "blog"), ParseOptions(source_key="blog")
    import_file(engine, write_jsonl(tmp_path / "replies.jsonl", chain[::-1]), workspace=slug, options=options,
                batch_size=7)  # fmt: skip
    before = structure(engine, slug)
    assert before["chain-0"] == (None, "chain-0")  # its post is not there yet: it leads a thread of its own
    assert {thread for _, thread in before.values()} == {"chain-0"}
    import_file(engine, write_jsonl(tmp_path / "post.jsonl", tree[:1]), workspace=slug, options=options)
    after = structure(engine, slug)
    assert after["chain-0"] == ("post-a", "post-a")
    assert {thread for _, thread in after.values()} == {"post-a"}
    assert after[f"chain-{CHAIN - 1}"] == (f"chain-{CHAIN - 2}", "post-a")


def test_a_batch_written_newest_first_places_every_reply_in_its_thread_at_once(engine: Engine) -> None:
    """Within a batch, parents are written first: nothing is left for relinking."""
    t = target(engine)
    items = [item("p"), *(item(f"r{i}", parent=f"r{i - 1}" if i else "p", minutes=i + 1) for i in range(30))]
    with engine.begin() as conn:
        write_batch(conn, t, items[::-1])  # no relink
    with Session(engine) as session:
        ids = {ref: id_ for ref, id_ in session.execute(select(Message.external_id, Message.id))}
        rows = session.execute(select(Message.external_id, Message.parent_id, Message.thread_id)).all()
    assert {ref: (parent, thread) for ref, parent, thread in rows} == {
        "p": (None, ids["p"]),
        **{f"r{i}": (ids[f"r{i - 1}"] if i else ids["p"], ids["p"]) for i in range(30)},
    }


def test_a_thread_whose_post_is_missing_is_one_conversation_until_the_post_arrives(
    engine: Engine, tmp_path: Path
) -> None:
    """A Reddit export of a thread's comments holds no post: the comments still make one thread, led by the
    first written; when the post is imported, the whole thread moves under it, replies that name no thread too."""
    tree: Tree = [("r-post", None, None), ("c1", "r-post", "r-post"), ("c2", "c1", "r-post"), ("c3", "c2", None)]
    tree += [("c4", "r-post", "r-post"), ("other-c1", "r-other", "r-other")]
    slug, options = new_workspace(engine, "reddit"), ParseOptions(source_key="reddit")
    import_file(engine, write_jsonl(tmp_path / "comments.jsonl", tree[1:4]), workspace=slug, options=options)
    import_file(engine, write_jsonl(tmp_path / "more.jsonl", tree[4:]), workspace=slug, options=options,
                batch_size=1)  # fmt: skip
    before = structure(engine, slug)
    assert before == {
        "c1": (None, "c1"), "c2": ("c1", "c1"), "c3": ("c2", "c1"), "c4": (None, "c1"), "other-c1": (None, "other-c1"),
    }  # fmt: skip
    import_file(engine, write_jsonl(tmp_path / "post.jsonl", tree[:1]), workspace=slug, options=options)
    after = structure(engine, slug)
    assert after == {
        "r-post": (None, "r-post"), "c1": ("r-post", "r-post"), "c2": ("c1", "r-post"), "c3": ("c2", "r-post"),
        "c4": ("r-post", "r-post"), "other-c1": (None, "other-c1"),
    }  # fmt: skip


def _threads(engine: Engine) -> dict[str, str]:
    """Each message's thread root, by external ids."""
    return {ref: thread or "" for ref, (_, thread) in _all(engine).items()}


def _all(engine: Engine) -> Structure:
    parent, root = aliased(Message), aliased(Message)
    query = (
        select(Message.external_id, parent.external_id, root.external_id)
        .outerjoin(parent, parent.id == Message.parent_id)
        .outerjoin(root, root.id == Message.thread_id)
    )
    with Session(engine) as session:
        return {ref: (parent_ref, thread_ref) for ref, parent_ref, thread_ref in session.execute(query)}


def _write(engine: Engine, where: Target, items: list[Item]) -> None:
    with engine.begin() as conn:
        write_batch(conn, where, items)
        relink(conn, source_id=where.source_id)


def test_a_thread_moved_to_an_older_first_comment_then_to_its_post_takes_its_hours_and_inbox_items(
    engine: Engine,
) -> None:
    where = target(engine)
    day = 24 * 60
    _write(engine, where, [item("c2", parent="post", thread="post", minutes=4 * day),
                           item("r2", parent="c2", thread="post", minutes=4 * day + 5)])  # fmt: skip
    with Session(engine) as session, session.begin():
        ids = dict(session.execute(select(Message.external_id, Message.id)).all())
        c2 = session.get_one(Message, ids["c2"])
        author = c2.author_id
        session.add(InboxItem(workspace_id=where.workspace_id, key=f"{c2.id}:{author}", source_id=where.source_id,
                              first_message_id=c2.id, author_id=author, channel=where.channel,
                              opened_at=c2.created_at, last_at=c2.created_at))  # fmt: skip
        session.execute(delete(RollupDirty))
    assert _threads(engine) == {"c2": "c2", "r2": "c2"}
    _write(engine, where, [item("c1", parent="post", thread="post", minutes=0)])  # older: it leads from now on
    assert _threads(engine) == {"c1": "c1", "c2": "c1", "r2": "c1"}
    with Session(engine) as session:
        ids = dict(session.execute(select(Message.external_id, Message.id)).all())
        hours = {(w, h) for w, h in session.execute(select(RollupDirty.workspace_id, RollupDirty.hour))}
        moved = {(where.workspace_id, rollups.hour_of(m.created_at)) for m in session.scalars(select(Message))
                 if m.external_id in ("c2", "r2")}  # fmt: skip
        assert moved <= hours
        assert session.scalars(select(InboxItem.key)).one() == f"{ids['c1']}:{author}"
    _write(engine, where, [item("post", "le billet", minutes=-60)])  # the root: the whole thread moves under it
    assert set(_threads(engine).values()) == {"post"}
    with Session(engine) as session:
        assert session.scalars(select(InboxItem.key)).one() == f"{_id(session, 'post')}:{author}"


def _id(session: Session, ref: str) -> int:
    return session.scalars(select(Message.id).where(Message.external_id == ref)).one()


def test_two_stand_ins_of_one_thread_are_merged_into_the_first_written(engine: Engine) -> None:
    """Two writers relinking at once could each make a stand-in for the same thread: the next relink merges them."""
    where = target(engine)
    _write(
        engine, where, [item("a1", parent="t", thread="t", minutes=1), item("a2", parent="t", thread="t", minutes=2)]
    )
    with engine.begin() as conn:  # as two writers would have left them
        conn.execute(update(Message).where(Message.external_id == "a2").values(thread_id=Message.id))
    assert _threads(engine) == {"a1": "a1", "a2": "a2"}
    _write(engine, where, [item("a3", parent="a2", thread="t", minutes=3)])
    assert _threads(engine) == {"a1": "a1", "a2": "a1", "a3": "a1"}
