"""Deleting a source or a workspace with everything it holds, in one transaction, and keeping a record of it.

A source takes with it its messages and what hangs on them (labels, enrichment, engagement snapshots,
sentence vectors, SQLite's full-text rows, by trigger), the authors left with no message in the workspace,
its import runs; the rollups of the hours its messages were in are recounted (a trigger notes them). A
workspace takes everything it holds, radar and incidents included. Each deletion leaves a `deletion` row,
which has no foreign key to the workspace: it outlives it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, delete, exists, func, not_, or_, select, update
from sqlalchemy.orm import Session

from pilote import rollups
from pilote.accounts import audit
from pilote.errors import Invalid, NotFound
from pilote.models import (
    Author,
    Deletion,
    Embedding,
    Engagement,
    Enrichment,
    ImportRun,
    Incident,
    Label,
    Member,
    Message,
    MessageTrace,
    RadarCursor,
    RollupDirty,
    RollupRecounted,
    Source,
    Workspace,
    json_object,
)
from pilote.texts import N_

# Columns that point at a message or an import run without an index of their own (imports would pay for one
# on every row): each row deleted makes the database look for the rows pointing at it (ON DELETE SET NULL),
# a full scan each without an index. Indexes built for the deletion and dropped in its transaction make those
# look-ups seeks: 16,000 messages of 24,000 took 155 s on SQLite and 12 s on PostgreSQL, 1 s and 2 s with them.
UNINDEXED = ("thread_id", "import_run_id")


def delete_source(session: Session, *, workspace_id: int, source_id: int, by: audit.Actor) -> Deletion:
    """Delete a source of a workspace and everything it holds (see the module); returns the record kept."""
    source = session.get(Source, source_id)
    if source is None or source.workspace_id != workspace_id:
        raise NotFound(N_("no source %(id)s in this workspace"), id=source_id)
    workspace = session.get_one(Workspace, workspace_id)
    conn = session.connection()
    with lookups(conn):
        counts = delete_messages(conn, Message.source_id == source_id)
        counts["authors"] = forget_authors(conn, workspace_id)
        counts["import_runs"] = _rows(conn, delete(ImportRun).where(ImportRun.source_id == source_id))
        conn.execute(delete(Source).where(Source.id == source_id))
    rollups.refresh_dirty(conn)
    rewind_radar(conn)
    session.expunge(source)
    key = f"{source.kind}:{source.key}"
    found = _record(session, "source", workspace.slug, source.name, key, counts, by)
    audit.record(session, actor=by, action="source deleted", target=f"source {source_id}", workspace_id=workspace_id,
                 before={"name": source.name, "kind": source.kind, "key": source.key}, after=counts)  # fmt: skip
    return found


def delete_workspace(session: Session, *, workspace_id: int, by: audit.Actor) -> Deletion:
    """Delete a workspace and everything it holds; returns the record kept (which outlives it), and an audit entry
    (with no workspace: its own goes with it)."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound(f"no workspace {workspace_id}")
    conn = session.connection()
    counts = {"sources": _count(conn, Source, Source.workspace_id == workspace_id)}
    with lookups(conn):
        counts |= delete_messages(conn, Message.workspace_id == workspace_id, orphans=False)  # none stay
        counts["authors"] = _count(conn, Author, Author.workspace_id == workspace_id)
        counts["import_runs"] = _count(conn, ImportRun, ImportRun.workspace_id == workspace_id)
        counts["incidents"] = _count(conn, Incident, Incident.workspace_id == workspace_id)
        # The rest goes with the workspace's row: sources, authors, members, import runs, the radar's state,
        # incidents and their alerts, rollups, team accounts, tokens, saved searches, fine-tuned models.
        conn.execute(delete(Workspace).where(Workspace.id == workspace_id))
        conn.execute(delete(RollupDirty).where(RollupDirty.workspace_id == workspace_id))  # noted by the trigger
        conn.execute(delete(RollupRecounted).where(RollupRecounted.workspace_id == workspace_id))
    rewind_radar(conn)
    session.expunge(workspace)
    audit.record(session, actor=by, action="workspace deleted", target=f"workspace {workspace.slug}",
                 before={"slug": workspace.slug, "name": workspace.name}, after=counts)  # fmt: skip
    return _record(session, "workspace", workspace.slug, workspace.name, None, counts, by)


def delete_messages(conn: Connection, where: ColumnElement[bool], *, orphans: bool = True) -> dict[str, int]:
    """Delete the messages matching `where` and what hangs on them, one statement per table (children first:
    cascading row by row costs more); returns how many rows went from each. Their hours are noted in
    `rollup_dirty` and their full-text rows removed, by triggers; so are the hours of the replies that stay
    (`orphans`: the database sets their parent or thread to none). Run it inside `lookups` when import runs go
    too."""
    ids = select(Message.id).where(where)
    if orphans:
        _note_orphans(conn, where, ids)
    conn.execute(delete(MessageTrace).where(MessageTrace.message_id.in_(ids)))  # derived (`traces`): not counted
    counts = {
        name: _rows(conn, delete(table).where(table.message_id.in_(ids)))
        for name, table in (("labels", Label), ("engagement", Engagement), ("enrichment", Enrichment),
                            ("embeddings", Embedding))
    }  # fmt: skip
    counts["messages"] = _rows(conn, delete(Message).where(where))
    return counts


def _note_orphans(conn: Connection, where: ColumnElement[bool], ids: Any) -> None:
    """Note the hours of the messages that stay but answer, or belong to the thread of, one that goes: the
    database sets their parent or thread to none (`ON DELETE SET NULL`), which no trigger sees."""
    under = select(Message.id).where(or_(Message.parent_id.in_(ids), Message.thread_id.in_(ids)), not_(where))
    rollups.mark(conn, list(conn.scalars(under)))


def messages_of(session: Session, *, workspace_id: int, source_id: int | None = None) -> int:
    """How many messages a deletion would take: a source's, or a whole workspace's (to say so before asking)."""
    mine = Message.workspace_id == workspace_id if source_id is None else Message.source_id == source_id
    return _count(session.connection(), Message, mine)


def get(session: Session, deletion_id: int) -> Deletion:
    """One deletion's record."""
    found = session.get(Deletion, deletion_id)
    if found is None:
        raise NotFound(f"no deletion {deletion_id}")
    return found


def get_all(session: Session) -> list[Deletion]:
    """Every deletion's record, newest first."""
    return list(session.scalars(select(Deletion).order_by(Deletion.deleted_at.desc(), Deletion.id.desc())))


def counts(deletion: Deletion) -> dict[str, int]:
    """What a deletion removed, per kind of row."""
    return {name: int(value) for name, value in json_object(deletion.counts).items()}


def as_json(deletion: Deletion) -> dict[str, Any]:
    """A deletion's record for scripts (`--json`)."""
    return {
        "id": deletion.id, "kind": deletion.kind, "workspace": deletion.workspace, "name": deletion.name,
        "key": deletion.key, "messages": deletion.messages, "counts": counts(deletion),
        "deleted_by": deletion.deleted_by, "deleted_at": deletion.deleted_at.isoformat(),
    }  # fmt: skip


def check_confirmation(typed: str | None, name: str, what: str) -> None:
    """Invalid unless the person typed the name of what they delete (as GitHub asks for a repository's)."""
    if (typed or "").strip() != name.strip():
        raise Invalid(
            N_("to delete %(what)s, type its name exactly: %(name)r; nothing was deleted"), what=what, name=name
        )


@contextmanager
def lookups(conn: Connection) -> Iterator[None]:
    """Indexes on UNINDEXED for the length of a deletion. Not dropped when it fails: its rollback undoes them."""
    names = [f"ix_deleting_{column}_{secrets.token_hex(4)}" for column in UNINDEXED]
    for name, column in zip(names, UNINDEXED, strict=True):
        conn.exec_driver_sql(f"CREATE INDEX {name} ON message ({column})")
    yield
    for name in names:
        conn.exec_driver_sql(f"DROP INDEX {name}")


def forget_authors(conn: Connection, workspace_id: int) -> int:
    """Delete the workspace's authors left with no message (their team marks and radar register go with
    them), then the members left with no author; returns how many authors went."""
    alone = Author.workspace_id == workspace_id, ~exists().where(Message.author_id == Author.id)
    gone = _rows(conn, delete(Author).where(*alone))
    empty = Member.workspace_id == workspace_id, ~exists().where(Author.member_id == Member.id)
    conn.execute(delete(Member).where(*empty))
    return gone


def rewind_radar(conn: Connection) -> None:
    """The radar reads each workspace's messages after the last id it saw; SQLite gives the next messages the
    ids after the highest left, which may be below that mark once the newest messages are deleted. Bring the
    marks back to the highest id left: nothing it has not seen is below it, and nothing is read twice."""
    newest = select(func.coalesce(func.max(Message.id), 0)).scalar_subquery()
    conn.execute(update(RadarCursor).where(RadarCursor.last_message_id > newest).values(last_message_id=newest))


def _count(conn: Connection, table: Any, where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())


def _rows(conn: Connection, statement: Any) -> int:
    return int(conn.execute(statement).rowcount)


def _record(
    session: Session, kind: str, workspace: str, name: str, key: str | None, counts: dict[str, int], by: audit.Actor
) -> Deletion:
    found = Deletion(
        kind=kind, workspace=workspace, name=name, key=key, messages=counts["messages"],
        counts=orjson.dumps(counts, option=orjson.OPT_SORT_KEYS).decode(), deleted_by=by.name,
    )  # fmt: skip
    session.add(found)
    session.flush()
    return found
