"""Resolving parents and thread roots by external id, on both databases, whatever order items land in.

A message names its parent and thread by external id; the ids are resolved here, so items may arrive
in any order and across imports. A message without a named thread belongs to the thread of its
parent; a root, or an orphan whose parent is not in the store, starts its own. When an orphan's
parent arrives later, its subtree is moved under the parent's thread.

A named thread whose root is not in the store (a Reddit export of a thread's comments without its post, replies
to a post of someone else's) is still one conversation: its first message written stands in for the root (it
leads the thread, `models.STAND_IN`), and when the root is written, everything the stand-in led moves under it
(`hand_over`, called by the writer with the batch it wrote).

Every step costs what the rows it resolves cost, whatever the order they came in: a batch is written
parents first (`parents_first`), so its replies find their thread at once and the database never holds a
reply whose parent is still to come; what is left for `relink` is found by index, and the threads of
chains are read once and resolved in memory (`chain_threads`) instead of one level of depth per query.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Table, and_, bindparam, delete, select, update
from sqlalchemy.orm import aliased

from pilote.models import Enrichment, InboxItem, Message, Source

m = cast(Table, Message.__table__)
enrichment = cast(Table, Enrichment.__table__)
item = cast(Table, InboxItem.__table__)
CHUNK = 5000
# A stand-in root (models.STAND_IN, which its partial index holds): leads the thread it names, not being its root.
STAND_IN = and_(m.c.thread_id == m.c.id, m.c.thread_external_id.is_not(None), m.c.thread_external_id != m.c.external_id)


def parents_first(rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """The positions of `rows` in an order where each comes after the rows of the list it names as parent
    or thread root; otherwise in their own order (a file already in that order is left as it is). A cycle
    is cut where it is met."""
    position = {row["external_id"]: index for index, row in enumerate(rows)}
    seen = [False] * len(rows)
    order: list[int] = []
    for start in range(len(rows)):
        if seen[start]:
            continue
        stack = [start]
        while stack:
            index = stack[-1]
            seen[index] = True
            row = rows[index]
            refs = (position.get(row["parent_external_id"]), position.get(row["thread_external_id"]))
            first = next((ref for ref in refs if ref is not None and not seen[ref]), None)
            if first is None:
                order.append(stack.pop())
            else:
                stack.append(first)
    return order


RELINK_LOCK = 0x11AC  # the first key of the sources' relink locks on PostgreSQL (pg_advisory_xact_lock)


def relink(conn: Connection, *, source_id: int) -> int:
    """Resolve every unresolved parent and thread in a source; returns how many parents were linked. On
    PostgreSQL, one relink of a source at a time (two would each make a stand-in for the same thread)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (RELINK_LOCK, source_id))
    from pilote import rollups  # (rollups imports ingest)

    linked = _link_parents(conn, source_id)
    placed = _link_named_threads(conn, source_id)
    placed += _reset_subtrees(conn, source_id, linked)
    placed += _link_chain_threads(conn, source_id)
    # Their hours are noted for the recount: what reads messages by the hours recounted (the metrics' held
    # facts) sees an old reply take its parent or thread too.
    rollups.mark(conn, sorted(set(linked + placed)))
    return len(linked)


def _link_parents(conn: Connection, source_id: int) -> list[int]:
    parent = aliased(Message)
    query = (
        select(m.c.id, parent.id.label("parent"))
        .join(parent, and_(parent.source_id == m.c.source_id, parent.external_id == m.c.parent_external_id))
        .where(m.c.source_id == source_id, m.c.parent_id.is_(None), m.c.parent_external_id.is_not(None))
    )
    pairs = [{"_id": row.id, "_parent": row.parent} for row in conn.execute(query) if row.id != row.parent]
    if pairs:
        statement = update(m).where(m.c.id == bindparam("_id")).values(parent_id=bindparam("_parent"))
        conn.execute(statement, pairs)
    linked = [pair["_id"] for pair in pairs]
    # A reply analysed before its post arrived was judged without it (the spam head reads the post answered).
    for start in range(0, len(linked), CHUNK):
        conn.execute(delete(enrichment).where(enrichment.c.message_id.in_(linked[start : start + CHUNK])))
    return linked


def _link_named_threads(conn: Connection, source_id: int) -> list[int]:
    root = aliased(Message)
    query = (
        select(m.c.id, root.id.label("root"))
        .join(root, and_(root.source_id == m.c.source_id, root.external_id == m.c.thread_external_id))
        .where(m.c.source_id == source_id, m.c.thread_id.is_(None), m.c.thread_external_id.is_not(None))
    )
    threads = {row.id: row.root for row in conn.execute(query)}
    _set_threads(conn, threads)
    return list(threads) + _stand_in(conn, source_id)


def _set_threads(conn: Connection, threads: Mapping[int, int]) -> None:
    if threads:
        statement = update(m).where(m.c.id == bindparam("_id")).values(thread_id=bindparam("_root"))
        conn.execute(statement, [{"_id": id_, "_root": root} for id_, root in threads.items()])


def hand_over(conn: Connection, source_id: int, arrived: Mapping[str, int]) -> None:
    """Messages just written (`arrived`: external id → id) that are the root of a thread a stand-in leads: what
    the stand-in led moves under the root. Found by the stand-ins' partial index, which holds only them: the
    cost is that of the batch written, whatever the number of stand-ins."""
    _move(conn, source_id, {stand_in: arrived[thread] for thread, _, stand_in in _stand_ins(conn, source_id, arrived)})


def _stand_ins(conn: Connection, source_id: int, threads: Iterable[str]) -> Iterator[tuple[str, Any, int]]:
    """The stand-ins of these threads (external ids), by the partial index that holds only them: thread, time, id."""
    names = list(threads)
    for start in range(0, len(names), CHUNK):
        query = select(m.c.thread_external_id, m.c.created_at, m.c.id).where(
            m.c.source_id == source_id, m.c.thread_external_id.in_(names[start : start + CHUNK]), STAND_IN
        )
        yield from ((thread, created_at, id_) for thread, created_at, id_ in conn.execute(query))


def _move(conn: Connection, source_id: int, moves: Mapping[int, int]) -> None:
    """Every message of the thread each key leads moves to the value's thread; their hours are noted for the
    dashboards' recount, and the inbox's items keyed by the old thread take the new one's key."""
    if not moves:
        return
    from pilote import rollups  # the dashboards' conversations count replies per thread (rollups imports ingest)

    olds = list(moves)
    moved: list[int] = []
    for start in range(0, len(olds), CHUNK):
        moved += conn.scalars(select(m.c.id).where(m.c.thread_id.in_(olds[start : start + CHUNK]))).all()
    statement = update(m).where(m.c.thread_id == bindparam("_old")).values(thread_id=bindparam("_new"))
    conn.execute(statement, [{"_old": old, "_new": new} for old, new in moves.items()])
    rollups.mark(conn, moved)
    _rekey_items(conn, source_id, moved, moves)


def _rekey_items(conn: Connection, source_id: int, moved: list[int], moves: Mapping[int, int]) -> None:
    """Inbox items keyed `old thread:author` (`inbox.intake.conversation`) become `new thread:author`, so that the
    author's next message and the team's answer find them; one whose new key is taken already stays as it is."""
    from pilote.inbox.intake import moved as moved_key  # the inbox's key (the inbox reads the store linked here)

    renamed: dict[int, str] = {}
    for start in range(0, len(moved), CHUNK):
        query = select(item.c.id, item.c.key).where(
            item.c.source_id == source_id, item.c.first_message_id.in_(moved[start : start + CHUNK])
        )
        renamed |= {id_: new for id_, key in conn.execute(query) if (new := moved_key(key, moves)) is not None}
    if not renamed:
        return
    workspace = select(Source.workspace_id).where(Source.id == source_id).scalar_subquery()
    keys = list(set(renamed.values()))
    taken: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        query = select(item.c.key).where(item.c.workspace_id == workspace, item.c.key.in_(keys[start : start + CHUNK]))
        taken |= set(conn.scalars(query))
    pairs = [{"_id": id_, "_key": key} for id_, key in renamed.items() if key not in taken]
    if pairs:
        conn.execute(update(item).where(item.c.id == bindparam("_id")).values(key=bindparam("_key")), pairs)


def _stand_in(conn: Connection, source_id: int) -> list[int]:
    """Messages naming a thread whose root is not in the store join the thread's stand-in root, or the first of
    them written becomes it; returns the messages placed."""
    query = select(m.c.id, m.c.thread_external_id, m.c.created_at).where(
        m.c.source_id == source_id, m.c.thread_id.is_(None), m.c.thread_external_id.is_not(None)
    )
    waiting: dict[str, list[tuple[Any, int]]] = {}
    for id_, thread, created_at in conn.execute(query):
        waiting.setdefault(thread, []).append((created_at, id_))
    if not waiting:
        return []
    leaders: dict[str, list[tuple[Any, int]]] = {}
    for thread, created_at, id_ in _stand_ins(conn, source_id, waiting):
        leaders.setdefault(thread, []).append((created_at, id_))
    threads: dict[int, int] = {}
    moves: dict[int, int] = {}
    for thread, found in waiting.items():
        first = min(found + leaders.get(thread, []))  # the first written leads the thread, from now on if need be
        # An older arrival takes the lead over; so does the oldest of two stand-ins two writers made at once.
        moves.update({id_: first[1] for _, id_ in leaders.get(thread, []) if id_ != first[1]})
        threads.update({id_: first[1] for _, id_ in found})
    _set_threads(conn, threads)
    _move(conn, source_id, moves)
    return list(threads)


def _reset_subtrees(conn: Connection, source_id: int, linked: list[int]) -> list[int]:
    """Orphans that just found their parent led threads of their own: hand those back to relinking; returns the
    messages handed back."""
    reset: list[int] = []
    for start in range(0, len(linked), CHUNK):
        chunk = linked[start : start + CHUNK]
        led = and_(m.c.source_id == source_id, m.c.thread_external_id.is_(None), m.c.thread_id.in_(chunk))
        reset += conn.scalars(select(m.c.id).where(led)).all()
        conn.execute(update(m).where(led).values(thread_id=None))
    return reset


def _link_chain_threads(conn: Connection, source_id: int) -> list[int]:
    """Unplaced messages take the thread of their nearest placed ancestor: one read, one write; returns the
    messages placed."""
    unplaced = and_(m.c.source_id == source_id, m.c.thread_id.is_(None), m.c.thread_external_id.is_(None))
    roots = list(conn.scalars(select(m.c.id).where(unplaced, m.c.parent_id.is_(None))))
    conn.execute(update(m).where(unplaced, m.c.parent_id.is_(None)).values(thread_id=m.c.id))
    parent = m.alias("parent")
    query = select(m.c.id, m.c.parent_id, parent.c.thread_id).join(parent, parent.c.id == m.c.parent_id)
    threads = chain_threads(conn.execute(query.where(unplaced)))
    pairs = [{"_id": id_, "_thread": thread} for id_, thread in threads.items() if thread is not None]
    if pairs:
        statement = update(m).where(m.c.id == bindparam("_id")).values(thread_id=bindparam("_thread"))
        conn.execute(statement, pairs)
    return roots + [pair["_id"] for pair in pairs]


def chain_threads(rows: Iterable[tuple[int, int, int | None]]) -> dict[int, int | None]:
    """Each row's thread from (id, parent id, the parent's thread): the parent's when it has one, else that of
    a parent among the rows, found by walking up the chain once for all of it. A chain that ends in a
    cycle or in a parent still waiting for its thread gets none."""
    parent_of: dict[int, int] = {}
    threads: dict[int, int | None] = {}
    for id_, parent_id, thread in rows:
        parent_of[id_] = parent_id
        if thread is not None:
            threads[id_] = thread
    for start in parent_of:
        walked: list[int] = []
        node = start
        while node not in threads:
            threads[node] = None  # for now: a cycle back to it ends the walk without a thread
            walked.append(node)
            if parent_of[node] not in parent_of:
                break
            node = parent_of[node]
        for member in walked:
            threads[member] = threads[node]
    return threads
