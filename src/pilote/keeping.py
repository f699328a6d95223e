"""What workers compute and keep for the pages that cannot compute it per request on a large store: the Members
page's lists (`leaders.kept`, table `kept_list`) and the catalogue's reports of Health and the API (`metrics.kept`,
table `kept_report`). Both follow one rule: a workspace's kept values are computed again when they are missing, or
when the state of the workspace they came from (`stamp`) has moved and they are at least `REFRESH` seconds old;
where nothing is kept yet, a page computes on request only what reads at most a documented number of rows
(`more_than`). Pages, the API and the command line read them through one rule (`served`): a standard view is read
kept; any other view, or nothing kept in a small store, is computed now; a large store's missing values make a page
or the API wait for a worker, while the command line (a patient `Reader`) computes them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Engine, Select, delete, func, select
from sqlalchemy.orm import Session

from pilote import merges
from pilote.leaders.window import coming_hour
from pilote.models import KeptList, KeptReport, MemberMerge, Message, WorkspaceSetting, utcnow

REFRESH = 600  # seconds: a workspace's kept values are computed again at most this often, however busy it is
COST_SHARE = 10  # and at most every this many times what computing them took (a worker's tenth, on a large store)
T = TypeVar("T")
Table = type[KeptList] | type[KeptReport]  # what is kept: a table with a workspace, a stamp, a time


@dataclass(frozen=True, slots=True)
class Kept(Generic[T]):
    """A kept value and when it was computed (None: computed now, on request)."""

    value: T
    computed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reader:
    """Who reads kept values. A page or the API answers at once: nothing where a large store's values are not kept
    yet. The command line waits for a computation (`patient`), told before it starts (`computing`), and computes
    even what is kept when asked to (`fresh`)."""

    patient: bool = False
    fresh: bool = False
    computing: Callable[[], None] | None = None


AT_ONCE = Reader()  # a page or the API


def served(
    kept: Callable[[], Kept[T] | None],
    small: Callable[[], bool],
    compute: Callable[[], T],
    *,
    standard: bool,
    reader: Reader = AT_ONCE,
) -> Kept[T] | None:
    """What a reader gets: a `standard` view (what workers keep) as kept, else computed now when the store is
    `small` or the reader is patient, else None (a worker has not computed it yet: the API answers 503); any other
    view, or a `fresh` one, computed now."""
    if standard and not reader.fresh:
        found = kept()
        if found is not None:
            return found
        if not reader.patient and not small():
            return None
    if reader.computing is not None:
        reader.computing()
    return Kept(compute(), None)


def stamp(session: Session, workspace_id: int, now: datetime | None = None) -> str:
    """The state of a workspace kept values depend on: its newest message (one step of the date index: a message
    imported with an older date is seen at the next hour), its merges (made and undone), the identities said
    to be different people, and the hour the periods end at (so nothing kept is more than an hour behind)."""
    newest = session.execute(select(Message.created_at, Message.id).where(Message.workspace_id == workspace_id)
                             .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)).first()  # fmt: skip
    made, undone = session.execute(
        select(func.count(), func.count(MemberMerge.undone_at)).where(MemberMerge.workspace_id == workspace_id)
    ).one()
    rejected = session.scalar(select(WorkspaceSetting.updated_at).where(
        WorkspaceSetting.workspace_id == workspace_id, WorkspaceSetting.name == merges.REJECTED))  # fmt: skip
    hour = coming_hour(now).isoformat()
    last = f"{newest[0].isoformat()}#{newest[1]}" if newest else "-"
    return f"{last}:{made}:{undone}:{rejected.isoformat() if rejected else '-'}:{hour}"


def due(session: Session, table: Table, workspace_id: int, expected: int, now: datetime | None = None) -> bool:
    """Whether a workspace's kept values should be computed again: fewer than `expected` rows, or some from another
    state (read only then) and the oldest at least `REFRESH` seconds old, or `COST_SHARE` times what computing them
    took last, whichever is longer."""
    kept = session.execute(select(table.stamp, table.computed_at).where(table.workspace_id == workspace_id)).all()
    if len(kept) < expected:
        return True
    cost = session.get(WorkspaceSetting, (workspace_id, _cost_name(table)))
    wait = max(REFRESH, COST_SHARE * float(cost.value)) if cost is not None else REFRESH
    if ((now or utcnow()) - min(computed for _, computed in kept)).total_seconds() < wait:
        return False
    current = stamp(session, workspace_id, now)
    return any(s != current for s, _ in kept)


def keep(
    engine: Engine, table: Table, workspace_id: int, rows: Sequence[KeptList | KeptReport], seconds: float
) -> None:
    """Replace a workspace's kept values by new ones, in one transaction (a reader sees the old or the new), with
    how many seconds computing them took (`due` waits `COST_SHARE` times that before computing them again)."""
    with Session(engine) as session, session.begin():
        session.execute(delete(table).where(table.workspace_id == workspace_id))
        session.add_all(rows)
        session.merge(WorkspaceSetting(workspace_id=workspace_id, name=_cost_name(table), value=f"{seconds:.3f}",
                                       updated_at=utcnow()))  # fmt: skip


def _cost_name(table: Table) -> str:
    return f"kept_cost:{table.__tablename__}"


def forget(session: Session, table: Table, workspace_id: int) -> None:
    """Drop a workspace's kept values (a person erased on request must not stay in them); the clock recomputes."""
    session.execute(delete(table).where(table.workspace_id == workspace_id))


def more_than(session: Session, rows: Select[Any], limit: int) -> bool:
    """Whether a query gives more than `limit` rows, reading at most `limit + 1` of them."""
    return (session.scalar(select(func.count()).select_from(rows.limit(limit + 1).subquery())) or 0) > limit
