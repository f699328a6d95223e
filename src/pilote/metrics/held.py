"""The messages a worker holds between two refreshes of a workspace's kept reports, read again only where they
changed.

Computing the kept reports reads every message of the workspace's history (`facts.load`): at a million messages,
that read is about half of the refresh. A worker refreshes a workspace's reports after each import, so it keeps
what it read (`Facts`) and, the next time, reads again only the hours whose messages changed since: the rollups
recount every hour a write touches (an import, an analysis, a person's decision, a relinked reply, a deletion
or a moved date), and note each recount (`rollups.recounted_since`); hours still waiting for their recount, and
those of messages whose ids came after the newest seen, are read again too. Anything the rollups do not follow
forces a whole read: another team, merged identities, a source added or moved to another channel, a read older
than the recounts' notes. A whole read also happens at least every `WHOLE_EVERY`, so a change that escaped the
notes is not held longer than that.

The held facts are those of the whole workspace (the kept reports' view, no filter), of at most `HOLD_MAX`
messages over all workspaces (the least recently refreshed are let go first): about 0.4 GB per million messages.
A larger workspace is read whole each time. docs/metrics.md, "Speed".
"""

from __future__ import annotations

import itertools
import threading
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from pilote import community, rollups
from pilote.metrics.facts import EVERYTHING, Facts, Focus, Piece, load, people
from pilote.models import Message, Workspace, utcnow
from pilote.rollups import hour_of, hour_start

HOLD_MAX = 2_000_000  # messages held over all workspaces of a process
WHOLE_EVERY = timedelta(hours=1)  # the held facts are read whole at least this often
SLACK = timedelta(minutes=15)  # recounts noted this long before a read are read again (clocks, open transactions)
# Each window read again reaches this far beyond its hours: a message within a millisecond of an hour's edge (its
# time is held rounded to the millisecond; SQLite's hour of a time rounds too) is read again with its hour,
# whichever side of the edge it was held on and the database puts it now (moved to another date, deleted).
EDGE = timedelta(milliseconds=4)


@dataclass(slots=True)
class _Held:
    facts: Facts
    window: tuple[datetime, datetime]  # what the facts hold: the messages written in [start, end)
    read_with: Any  # the workspace, its sources' channels, merged identities and team (`_read_with`)
    read_at: datetime  # when the read began: what changed after it (less SLACK) is read again
    newest: int  # the workspace's highest message id when the read began: the hours of later ones are read again
    whole_at: datetime  # when the facts were last read whole
    used: int = 0  # when it was last refreshed (a counter: the least recent is let go first)


_held: weakref.WeakKeyDictionary[Engine, dict[int, _Held]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_clock = itertools.count(1)


class Reading:
    """One refresh's read (`metrics.reports(read=...)`): `facts.load`'s facts of the whole workspace, from those
    held when they are, with what changed since read again; `keep` holds them once the reports are computed (no
    other refresh takes them while they are in use)."""

    def __init__(self) -> None:
        self.read: tuple[Engine, int, _Held] | None = None
        self.whole: bool | None = None  # whether the last read was whole (None: none yet, or of a filtered view)

    def __call__(self, conn: Connection, workspace_id: int, start: datetime, end: datetime,
                 focus: Focus = EVERYTHING) -> Facts:  # fmt: skip
        if focus != EVERYTHING:
            return load(conn, workspace_id, start, end, focus)
        began = utcnow()
        found = _read_with(conn, workspace_id)
        newest = conn.scalar(select(func.max(Message.id)).where(Message.workspace_id == workspace_id)) or 0
        with _lock:
            held = _held.get(conn.engine, {}).pop(workspace_id, None)
        facts, whole_at = None, began
        if held is not None and held.read_with == found and began - held.whole_at < WHOLE_EVERY:
            facts, whole_at = _again(conn, workspace_id, held, start, end), held.whole_at
        self.whole = facts is None
        if facts is None:
            facts, whole_at = load(conn, workspace_id, start, end), began
        self.read = (conn.engine, workspace_id, _Held(facts, (start, end), found, began, newest, whole_at))
        return facts

    def keep(self) -> None:
        """Hold what was read for the next refresh, if it fits in HOLD_MAX (the least recently refreshed other
        workspaces are let go to make room)."""
        if self.read is None:
            return
        engine, workspace_id, held = self.read
        self.read = None
        held.facts.cache.clear()
        held.used = next(_clock)
        size = len(held.facts.every[0])
        if size > HOLD_MAX:
            return
        with _lock:
            others = sorted((other.used, store, key) for store, kept in _held.items() for key, other in kept.items())
            total = size + sum(len(_held[store][key].facts.every[0]) for _, store, key in others)
            for _, store, key in others:
                if total <= HOLD_MAX:
                    break
                total -= len(_held[store].pop(key).facts.every[0])
            _held.setdefault(engine, {})[workspace_id] = held


def _read_with(conn: Connection, workspace_id: int) -> Any:
    """What the held facts were read with and the rollups' notes do not follow: the workspace itself (SQLite gives
    a workspace made again the id of one deleted), its sources' channels, merged identities and team."""
    made = conn.scalar(select(Workspace.created_at).where(Workspace.id == workspace_id))
    return made, people(conn, workspace_id), community.team_ids(conn, workspace_id)


def _again(conn: Connection, workspace_id: int, held: _Held, start: datetime, end: datetime) -> Facts | None:
    """The held facts with the windows that changed read again, or None when the notes cannot say what changed
    (or the sources, merges or team changed while the windows were read: the pieces would not fit)."""
    runs, known = rollups.recounted_since(conn, workspace_id, held.read_at - SLACK)
    if not known:
        return None
    # Messages written since, by their ids too: an import notes their hours, but a writer that did not is seen.
    added = select(Message.created_at).where(Message.workspace_id == workspace_id, Message.id > held.newest)
    runs += [(hour, hour) for hour in {hour_of(moment) for moment in conn.scalars(added)}]
    old = held.window
    changed = [(hour_start(first), hour_start(last + 1)) for first, last in runs]
    if start < old[0]:
        changed.append((start, old[0]))
    if end > old[1]:
        changed.append((old[1], end))
    pieces: list[Piece] = []
    if old[0] < start:
        pieces.append((old[0], start, None))
    for first, last in _merged(changed):
        first, last = max(first - EDGE, start), min(last + EDGE, end)
        if first < last:
            pieces.append((first, last, load(conn, workspace_id, first, last)))
    if end < old[1]:
        pieces.append((end, old[1], None))
    if _read_with(conn, workspace_id) != held.read_with:
        return None
    return held.facts.replaced(conn, start, end, sorted(pieces, key=lambda piece: piece[0]))


def _merged(windows: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Windows that overlap or touch, as one."""
    found: list[tuple[datetime, datetime]] = []
    for first, last in sorted(windows):
        if found and first <= found[-1][1]:
            found[-1] = (found[-1][0], max(found[-1][1], last))
        else:
            found.append((first, last))
    return found
