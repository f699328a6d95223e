"""A person erased on request, and a workspace's retention period: personal data deleted, with a record that
holds none ([privacy.md](../../docs/privacy.md)).

An erasure takes every identity of the person (an author and the identities merged with it as one member),
every message of theirs with what hangs on them (labels, enrichment, sentence vectors, engagement snapshots,
full-text rows, radar and team marks), their member and the merges and rejections that name them, in one
transaction; other people's replies stay, their link to the erased message cut (as the foreign key does); the
rollups of the hours touched are recounted. The record keeps counts and an opaque reference; the identities'
digests are kept so that an import of an old export does not bring the person back (`ingest` skips them).

Retention deletes the messages older than the workspace's period, in batches of one transaction each.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from pilote import deletions, keeping, merges, rollups
from pilote.accounts import audit
from pilote.db import begin_write, retry_locked
from pilote.errors import Invalid, NotFound
from pilote.ingest import identity_digest
from pilote.models import (
    Alert,
    Author,
    Delivery,
    ErasedIdentity,
    Erasure,
    Incident,
    KeptList,
    KeptReport,
    Member,
    MemberMerge,
    Message,
    RadarAuthor,
    TeamAccount,
    Workspace,
    WorkspaceSetting,
    json_object,
    utcnow,
)

RETENTION = "retention_days"  # the workspace setting: how many days messages are kept (none: for ever)
BATCH = 2000  # messages deleted per transaction by retention: short transactions leave the lock to others
MOST_BATCHES = 10  # per clock turn, so that the radar's tick stays on time; the rest at the next turn


@dataclass(frozen=True, slots=True)
class Person:
    """The identities a request names: an author and the identities merged with it."""

    workspace_id: int
    author_ids: list[int]
    digests: list[str]  # of each identity's channel and key (what imports compare), then of its handle
    member_id: int | None
    name: str  # what a person types to confirm (the member's name, else the identity's): never stored

    @property
    def reference(self) -> str:
        """An opaque reference of the request (SHA-256 of the identities' digests): no name, no handle."""
        return hashlib.sha256("\n".join(sorted(self.digests)).encode()).hexdigest()


def person(session: Session, *, workspace_id: int, author_id: int) -> Person:
    """The person an author is, with all their identities (the member's, when merged)."""
    author = session.get(Author, author_id)
    if author is None or author.workspace_id != workspace_id:
        raise NotFound(f"no author {author_id} in this workspace")
    query = select(Author.id, Author.channel, Author.key, Author.handle).where(Author.id == author_id)
    if author.member_id is not None:
        query = select(Author.id, Author.channel, Author.key, Author.handle).where(Author.member_id == author.member_id)
    rows = session.execute(query.order_by(Author.id)).all()
    keys = [identity_digest(r.channel, r.key) for r in rows]
    handles = [handle_digest(r.channel, r.handle) for r in rows]
    member = session.get(Member, author.member_id) if author.member_id is not None else None
    name = member.display_name if member is not None else author.display_name or author.handle
    digests = list(dict.fromkeys(keys + handles))
    return Person(workspace_id, [r.id for r in rows], digests, author.member_id, name)


def handle_digest(channel: str, handle: str) -> str:
    """The opaque reference of a handle on a channel, kept beside the key's so a repeated request by handle is
    recognised (imports compare keys only)."""
    return identity_digest(channel, "\0handle:" + handle)


def find(session: Session, *, workspace_id: int, channel: str, handle: str) -> int:
    """The author with that handle (or key) on that channel, or NotFound saying whether it was erased already."""
    found = session.scalar(
        select(Author.id).where(Author.workspace_id == workspace_id, Author.channel == channel,
                                (Author.handle == handle) | (Author.key == handle)).order_by(Author.id).limit(1)
    )  # fmt: skip
    if found is not None:
        return found
    if was_erased(session, workspace_id=workspace_id, channel=channel, key=handle):
        raise NotFound(f"{handle!r} on {channel} was erased already (on request); imports skip their messages")
    raise NotFound(f"no author {handle!r} on channel {channel!r} in this workspace")


def was_erased(session: Session, *, workspace_id: int, channel: str, key: str) -> bool:
    """Whether the identity with that channel and key (or handle) was erased on request: a repeated request is
    checked so."""
    digests = (identity_digest(channel, key), handle_digest(channel, key))
    return any(session.get(ErasedIdentity, (workspace_id, digest)) is not None for digest in digests)


def messages_of(session: Session, who: Person) -> int:
    """How many messages an erasure would take (to say so before asking)."""
    query = select(func.count()).select_from(Message).where(Message.author_id.in_(who.author_ids))
    return int(session.scalar(query) or 0)


def erase(session: Session, who: Person, *, by: audit.Actor) -> Erasure:
    """Erase a person (see the module) in the session's transaction; returns the record, which names no one."""
    workspace = session.get_one(Workspace, who.workspace_id)
    conn = session.connection()
    ids = who.author_ids
    gone = set(session.scalars(select(Message.id).where(Message.author_id.in_(ids))))
    names = {(name, r.channel) for r in session.execute(select(Author).where(Author.id.in_(ids))).scalars()
             for name in (r.handle, r.display_name) if name}  # fmt: skip
    evidence = _forget_evidence(session, who.workspace_id, gone, names)
    counts = deletions.delete_messages(conn, Message.author_id.in_(ids))  # no import run goes: no `lookups` needed
    counts["alert_evidence"] = evidence
    counts["team_accounts"] = _rows(session, delete(TeamAccount).where(TeamAccount.author_id.in_(ids)))
    counts["radar_authors"] = _rows(session, delete(RadarAuthor).where(RadarAuthor.author_id.in_(ids)))
    counts["merges"] = _forget_merges(session, who)
    counts["rejections"] = _forget_rejections(session, who)
    counts["identities"] = _rows(session, delete(Author).where(Author.id.in_(ids)))
    # The Members page's kept lists may name the person or quote them, the kept metrics reports count their
    # messages (and name a team member): dropped, and computed again by a worker.
    keeping.forget(session, KeptList, who.workspace_id)
    keeping.forget(session, KeptReport, who.workspace_id)
    if who.member_id is not None:
        counts["members"] = _rows(session, delete(Member).where(Member.id == who.member_id))
    rollups.refresh_dirty(conn)
    deletions.rewind_radar(conn)
    record = _record(session, "erasure", workspace.slug, counts, by, reference=who.reference)
    for digest in who.digests:
        known = session.get(ErasedIdentity, (who.workspace_id, digest))
        if known is None:
            session.add(ErasedIdentity(workspace_id=who.workspace_id, digest=digest, erasure_id=record.id))
    audit.record(session, actor=by, action="person erased", target=f"erasure {record.id}",
                 workspace_id=who.workspace_id, after=counts)  # fmt: skip
    session.flush()
    return record


def _forget_merges(session: Session, who: Person) -> int:
    """The merge records that name the person's identities (they hold author ids and their member)."""
    ids = {str(i) for i in who.author_ids}
    query = select(MemberMerge).where(MemberMerge.workspace_id == who.workspace_id)
    found = [m.id for m in session.scalars(query) if _names(m, who.member_id, ids)]
    return _rows(session, delete(MemberMerge).where(MemberMerge.id.in_(found))) if found else 0


def _forget_evidence(session: Session, workspace_id: int, gone: set[int], names: set[tuple[str, str]]) -> int:
    """Take the person's messages and name out of the radar's alert explanations and the notifications' stored
    payloads (which quote messages and name their authors); returns how many were rewritten."""
    changed = 0
    for alert in session.scalars(select(Alert).where(Alert.workspace_id == workspace_id)):
        data = json_object(alert.explanation)
        if _scrub(data, gone, names):
            alert.explanation, changed = json.dumps(data, ensure_ascii=False), changed + 1
    query = select(Delivery).join(Incident, Incident.id == Delivery.incident_id)
    for delivery in session.scalars(query.where(Incident.workspace_id == workspace_id)):
        data = json_object(delivery.payload)
        if isinstance(data.get("alert"), dict) and _scrub(data["alert"], gone, names):
            delivery.payload, changed = json.dumps(data, ensure_ascii=False, default=str), changed + 1
    return changed


def _scrub(evidence: dict[str, Any], gone: set[int], names: set[tuple[str, str]]) -> bool:
    """Remove from an explanation the messages erased and the entries naming the person; whether any went."""
    found = False
    for key in ("first_messages", "most_amplified", "authors"):
        entries = evidence.get(key)
        if not isinstance(entries, list):
            continue
        kept = [e for e in entries if not _names_person(e, gone, names)]
        if len(kept) != len(entries):
            evidence[key], found = kept, True
    return found


def _names_person(entry: Any, gone: set[int], names: set[tuple[str, str]]) -> bool:
    return isinstance(entry, dict) and (entry.get("id") in gone or (entry.get("author"), entry.get("channel")) in names)


def _names(merge: MemberMerge, member_id: int | None, ids: set[str]) -> bool:
    return (member_id is not None and merge.member_id == member_id) or bool(ids & json_object(merge.before).keys())


def _forget_rejections(session: Session, who: Person) -> int:
    """The pairs "not the same person" that name one of the person's identities."""
    pairs = merges.rejected(session, who.workspace_id)
    kept = {p for p in pairs if not set(p) & set(who.author_ids)}
    if kept == pairs:
        return 0
    row = session.get_one(WorkspaceSetting, (who.workspace_id, merges.REJECTED))
    row.value, row.updated_at = orjson.dumps(sorted(kept)).decode(), utcnow()
    return len(pairs) - len(kept)


# --- retention ---


def retention(session: Session, workspace_id: int) -> int | None:
    """The workspace's retention period in days (None: messages are kept for ever)."""
    value = session.scalar(select(WorkspaceSetting.value).where(WorkspaceSetting.workspace_id == workspace_id,
                                                                WorkspaceSetting.name == RETENTION))  # fmt: skip
    found = orjson.loads(value) if value else None
    return found if isinstance(found, int) and found > 0 else None


def set_retention(session: Session, *, workspace_id: int, days: int | None, by: audit.Actor) -> None:
    """Keep the workspace's messages `days` days (by their date), or for ever (None); audited."""
    if days is not None and not 1 <= days <= 36_500:
        raise Invalid(f"retention of {days} days: give 1 to 36500 days, or off")
    before = retention(session, workspace_id)
    row = session.get(WorkspaceSetting, (workspace_id, RETENTION))
    if days is None and row is not None:
        session.delete(row)
    elif days is not None:
        if row is None:
            row = WorkspaceSetting(workspace_id=workspace_id, name=RETENTION, value="null")
            session.add(row)
        row.value, row.updated_at = orjson.dumps(days).decode(), utcnow()
    audit.record(session, actor=by, action="retention changed", target=RETENTION, workspace_id=workspace_id,
                 before={"days": before}, after={"days": days})  # fmt: skip
    session.flush()


def expired(session: Session, *, workspace_id: int, days: int | None = None, now: datetime | None = None) -> int:
    """How many messages the retention period (or one of `days`) would delete now (`--dry-run`)."""
    days = days or retention(session, workspace_id)
    if days is None:
        return 0
    limit = (now or utcnow()) - timedelta(days=days)
    query = select(func.count()).where(Message.workspace_id == workspace_id, Message.created_at < limit)
    return int(session.scalar(query) or 0)


def apply_retention(
    engine: Engine, *, workspace_id: int, now: datetime | None = None, batch: int = BATCH, most: int | None = None
) -> Erasure | None:
    """Delete the workspace's messages older than its period, `batch` per transaction (`most` batches at most),
    with one `retention` record for the run, updated in each batch's transaction. None if nothing was due."""
    record_id: int | None = None
    done = 0
    while most is None or done < most:
        found = retry_locked(partial(_retention_batch, engine, workspace_id, now or utcnow(), batch, record_id))
        if found is None:
            break
        record_id, taken = found
        done += 1
        if taken < batch:
            break
    if record_id is None:
        return None
    with Session(engine, expire_on_commit=False) as session:
        return session.get_one(Erasure, record_id)


def retention_tick(engine: Engine, *, now: datetime | None = None, most: int = MOST_BATCHES) -> int:
    """Apply every workspace's retention period (what the clock runs); how many messages went."""
    with Session(engine) as session:
        spaces = session.scalars(select(WorkspaceSetting.workspace_id).where(WorkspaceSetting.name == RETENTION)).all()
    gone = 0
    for workspace_id in spaces:
        found = apply_retention(engine, workspace_id=workspace_id, now=now, most=most)
        gone += found.messages if found is not None else 0
    return gone


def _retention_batch(
    engine: Engine, workspace_id: int, now: datetime, batch: int, record_id: int | None
) -> tuple[int, int] | None:
    """One batch in one transaction: the oldest expired messages, their authors left with none, the record."""
    with begin_write(engine) as conn, Session(bind=conn) as session:
        days = retention(session, workspace_id)
        if days is None:
            return None
        limit = now - timedelta(days=days)
        ids = list(session.scalars(
            select(Message.id).where(Message.workspace_id == workspace_id, Message.created_at < limit)
            .order_by(Message.created_at, Message.id).limit(batch)
        ))  # fmt: skip
        if not ids:
            return None
        # Without `deletions.lookups`: it builds indexes for import runs' deletion, and none goes here (replies'
        # parent and thread links are found by their own indexes), and a clock job must not build indexes.
        counts = deletions.delete_messages(conn, Message.id.in_(ids))
        counts["authors"] = deletions.forget_authors(conn, workspace_id)
        rollups.refresh_dirty(conn)
        deletions.rewind_radar(conn)
        record = _retention_record(session, workspace_id, record_id, counts, days)
        session.flush()
        return record.id, len(ids)


def _retention_record(
    session: Session, workspace_id: int, record_id: int | None, counts: dict[str, int], days: int
) -> Erasure:
    if record_id is None:
        slug = session.get_one(Workspace, workspace_id).slug
        record = _record(session, "retention", slug, counts, audit.Actor(f"retention ({days} days)"))
        audit.record(session, actor=record.erased_by, action="retention applied", target=f"erasure {record.id}",
                     workspace_id=workspace_id, after={"days": days})  # fmt: skip
        return record
    record = session.get_one(Erasure, record_id)
    total = {k: int(v) for k, v in json_object(record.counts).items()}
    for name, value in counts.items():
        total[name] = total.get(name, 0) + value
    record.counts, record.messages = orjson.dumps(total, option=orjson.OPT_SORT_KEYS).decode(), total["messages"]
    return record


# --- records ---


def get_all(session: Session, *, workspace: str | None = None) -> list[Erasure]:
    """The records of erasures and retention runs, newest first (of one workspace's slug, if given)."""
    query = select(Erasure).order_by(Erasure.id.desc())
    if workspace is not None:
        query = query.where(Erasure.workspace == workspace)
    return list(session.scalars(query))


def as_json(record: Erasure) -> dict[str, object]:
    """A record for scripts (`--json`)."""
    return {"id": record.id, "kind": record.kind, "workspace": record.workspace, "reference": record.reference,
            "messages": record.messages, "counts": json_object(record.counts), "erased_by": record.erased_by,
            "erased_at": record.erased_at.isoformat()}  # fmt: skip


def _record(
    session: Session, kind: str, workspace: str, counts: dict[str, int], by: audit.Actor, reference: str | None = None
) -> Erasure:
    record = Erasure(kind=kind, workspace=workspace, reference=reference, messages=counts["messages"],
                     counts=orjson.dumps(counts, option=orjson.OPT_SORT_KEYS).decode(), erased_by=by.name)  # fmt: skip
    session.add(record)
    session.flush()
    return record


def _rows(session: Session, statement: Any) -> int:
    return int(session.connection().execute(statement).rowcount)
