"""Resolving parents and thread roots after items land, in set-based SQL that works on both databases.

A message names its parent and thread by external id; the ids are resolved here, so items may arrive
in any order and across imports. A message without a named thread belongs to the thread of its
parent; a root, or an orphan whose parent is not in the store, starts its own. When an orphan's
parent arrives later, its subtree is moved under the parent's thread.
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Connection, Table, and_, bindparam, delete, select, update
from sqlalchemy.orm import aliased

from pilote.models import Enrichment, Message

m = cast(Table, Message.__table__)
enrichment = cast(Table, Enrichment.__table__)
CHUNK = 5000


def relink(conn: Connection, *, source_id: int) -> int:
    """Resolve every unresolved parent and thread in a source; returns how many parents were linked."""
    linked = _link_parents(conn, source_id)
    _link_named_threads(conn, source_id)
    _reset_subtrees(conn, source_id, linked)
    _link_chain_threads(conn, source_id)
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


def _link_named_threads(conn: Connection, source_id: int) -> None:
    root = aliased(Message)
    query = (
        select(m.c.id, root.id.label("root"))
        .join(root, and_(root.source_id == m.c.source_id, root.external_id == m.c.thread_external_id))
        .where(m.c.source_id == source_id, m.c.thread_id.is_(None), m.c.thread_external_id.is_not(None))
    )
    pairs = [{"_id": row.id, "_root": row.root} for row in conn.execute(query)]
    if pairs:
        statement = update(m).where(m.c.id == bindparam("_id")).values(thread_id=bindparam("_root"))
        conn.execute(statement, pairs)


def _reset_subtrees(conn: Connection, source_id: int, linked: list[int]) -> None:
    """Orphans that just found their parent led threads of their own: hand those back to relinking."""
    for start in range(0, len(linked), CHUNK):
        chunk = linked[start : start + CHUNK]
        conn.execute(
            update(m)
            .where(m.c.source_id == source_id, m.c.thread_external_id.is_(None), m.c.thread_id.in_(chunk))
            .values(thread_id=None)
        )


def _link_chain_threads(conn: Connection, source_id: int) -> None:
    unplaced = and_(m.c.source_id == source_id, m.c.thread_id.is_(None), m.c.thread_external_id.is_(None))
    conn.execute(update(m).where(unplaced, m.c.parent_id.is_(None)).values(thread_id=m.c.id))
    parent = aliased(Message)
    parent_thread = select(parent.thread_id).where(parent.id == m.c.parent_id).scalar_subquery()
    while True:  # one level of depth per pass; stops when nothing more can be placed (cycles stay unplaced)
        result = conn.execute(
            update(m)
            .where(unplaced, m.c.parent_id.is_not(None), parent_thread.is_not(None))
            .values(thread_id=parent_thread)
        )
        if result.rowcount == 0:
            break
