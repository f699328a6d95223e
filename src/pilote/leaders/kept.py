"""The Members page's lists kept in the store: the leaders and the graph of 7, 30 and 90 days, and the merge
suggestions.

Computing them reads every interaction of the period and every identity of the workspace: seconds to minutes on a
large store, too long for a page. A worker computes them (`refresh`, queued by the clock: jobs.py) and keeps them
in `kept_list` with the state of the workspace they come from (`keeping.stamp`: its newest message, its merges
and rejections, the hour the periods end at); the clock queues a refresh when that state has moved and the lists
are at least `REFRESH` seconds old (the rule `metrics.kept` follows too: `pilote.keeping`). The page reads them
(`leaders_of`, `picture_of`, `suggestions_of`, as the API and the command line do) and says when they were
computed; where nothing is kept yet, it computes on request if the period is small (`ON_REQUEST` messages), and the
command line whatever the size (`keeping.served`). A kept list is exactly what computing on
request gives at the moment it was computed (docs/leaders.md).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from pydantic import TypeAdapter
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from pilote import keeping, merges
from pilote.keeping import AT_ONCE, Kept, Reader, more_than, stamp
from pilote.keeping import REFRESH as REFRESH
from pilote.leaders.graph import interactions, node_key
from pilote.leaders.lists import Leaders, leaders, listed
from pilote.leaders.picture import Picture, drawn, picture
from pilote.leaders.scores import measure
from pilote.leaders.window import DEFAULT, PERIODS, Window, window
from pilote.models import Author, KeptList, Message, utcnow
from pilote.views.members import Tally, identities, tally

ON_REQUEST = 20_000  # messages in a period (identities in a workspace): at most this many, computed on request
LIMIT = 20  # people per list, as the page shows them
SUGGESTIONS = 200  # suggestions kept, so that those merged or rejected since still leave the page's 20
T = TypeVar("T")
_LEADERS = TypeAdapter(Leaders)
_SUGGESTIONS = TypeAdapter(list[merges.Suggestion])
_TALLY = TypeAdapter(Tally)
_PICTURE = TypeAdapter(Picture)


def due(session: Session, workspace_id: int, now: datetime | None = None) -> bool:
    """Whether a workspace's lists should be computed again: missing, or from another state and old enough."""
    expected = 2 * len(PERIODS) + 1  # lists and graph per period, the suggestions; the busiest people's counts besides
    return keeping.due(session, KeptList, workspace_id, expected, now)


def refresh(engine: Engine, workspace_id: int, *, now: datetime | None = None, force: bool = False) -> bool:
    """Compute and keep a workspace's lists if they are due (or `force`); whether it did."""
    with Session(engine) as session:
        if not force and not due(session, workspace_id, now):
            return False
        started = time.monotonic()
        state = stamp(session, workspace_id, now)
        values = {}
        for period in PERIODS:  # the period's interactions read and measured once, for the lists and the graph
            span = window(session, workspace_id, period=period, now=now)
            found = interactions(session, workspace_id, span.since, span.until)
            measured = measure(found.weights())
            lists = listed(session, workspace_id, span, found, measured, limit=LIMIT)
            values[f"leaders:{period}"] = _LEADERS.dump_json(lists)
            values[f"graph:{period}"] = _PICTURE.dump_json(drawn(session, workspace_id, span, found, measured, lists))
        values["suggestions"] = _SUGGESTIONS.dump_json(merges.suggest(session, workspace_id, limit=SUGGESTIONS))
        values |= {f"member:{node}": _TALLY.dump_json(counts) for node, counts in _busiest(session, workspace_id)}
        computed = now or utcnow()
    rows = [KeptList(workspace_id=workspace_id, name=name, stamp=state,
            value=value.decode(), computed_at=computed) for name, value in values.items()]  # fmt: skip
    keeping.keep(engine, KeptList, workspace_id, rows, time.monotonic() - started)
    return True


def _busiest(session: Session, workspace_id: int) -> list[tuple[int, Tally]]:
    """The message counts of the people with more than ON_REQUEST messages, for their pages (one grouped scan of
    the workspace's messages by author finds them)."""
    busy = (
        select(Message.author_id)
        .where(Message.workspace_id == workspace_id, Message.author_id.is_not(None))
        .group_by(Message.author_id)
        .having(func.count() > ON_REQUEST)
    )
    found: dict[int, Tally] = {}
    for author in session.scalars(select(Author).where(Author.id.in_(busy)).order_by(Author.id)):
        node = node_key(author.member_id, author.id)
        if node not in found:
            found[node] = tally(session, [a.id for a in identities(session, author)])
    return list(found.items())


def member_counts(session: Session, author: Author) -> Kept[Tally] | None:
    """A busy person's message counts as a worker kept them, or None (their page counts them then)."""
    row = session.get(KeptList, (author.workspace_id, f"member:{node_key(author.member_id, author.id)}"))
    return Kept(_TALLY.validate_json(row.value), row.computed_at) if row is not None else None


def busy(session: Session, author: Author) -> bool:
    """Whether a person has more than ON_REQUEST messages (counted through the author index, no further)."""
    ids = [a.id for a in identities(session, author)]
    return more_than(session, select(Message.id).where(Message.author_id.in_(ids)), ON_REQUEST)


def forget(session: Session, workspace_id: int) -> None:
    """Drop a workspace's kept lists (a person erased on request must not stay in them); the clock recomputes."""
    keeping.forget(session, KeptList, workspace_id)


def leaders_of(session: Session, workspace_id: int, period: str | None = None, *, since: datetime | None = None,
               until: datetime | None = None, limit: int = LIMIT,
               reader: Reader = AT_ONCE) -> Kept[Leaders] | None:  # fmt: skip
    """The leaders of a period, at most `limit` per list, with when they were computed: a standard period (7d, 30d,
    90d up to the coming hour, at most `LIMIT` per list) as a worker kept it, or computed now when the period is
    small; None while a worker has not computed it yet (`keeping.served`). Dates, `all` or a larger limit are
    computed now."""
    span = window(session, workspace_id, period=period, since=since, until=until)
    standard = (period or DEFAULT) in PERIODS and since is None and until is None and limit <= LIMIT
    found = keeping.served(lambda: _kept(session, workspace_id, f"leaders:{period or DEFAULT}", _LEADERS),
                           lambda: _small(session, workspace_id, span),
                           lambda: leaders(session, workspace_id, span, limit=LIMIT if standard else limit),
                           standard=standard, reader=reader)  # fmt: skip
    if found is None:
        return None
    lists = found.value
    return Kept(replace(lists, ambassadors=lists.ambassadors[:limit], detractors=lists.detractors[:limit],
                        bridges=lists.bridges[:limit], rising=lists.rising[:limit], computed_at=found.computed_at),
                found.computed_at)  # fmt: skip


def picture_of(session: Session, workspace_id: int, period: str | None = None, *, since: datetime | None = None,
               until: datetime | None = None, reader: Reader = AT_ONCE) -> Kept[Picture] | None:  # fmt: skip
    """The graph of a period as the Members page draws it, with when it was computed: a standard period as a worker
    kept it, or computed now when the period is small; None while a worker has not computed it yet. Dates and
    `all` are computed now."""
    span = window(session, workspace_id, period=period, since=since, until=until)
    standard = (period or DEFAULT) in PERIODS and since is None and until is None
    found = keeping.served(lambda: _kept(session, workspace_id, f"graph:{period or DEFAULT}", _PICTURE),
                           lambda: _small(session, workspace_id, span), lambda: picture(session, workspace_id, span),
                           standard=standard, reader=reader)  # fmt: skip
    return Kept(replace(found.value, computed_at=found.computed_at), found.computed_at) if found else None


def _kept(session: Session, workspace_id: int, name: str, adapter: TypeAdapter[T]) -> Kept[T] | None:
    row = session.get(KeptList, (workspace_id, name))
    return Kept(adapter.validate_json(row.value), row.computed_at) if row is not None else None


def _small(session: Session, workspace_id: int, span: Window) -> bool:
    """Whether a period holds at most ON_REQUEST messages (counted through the date index, no further)."""
    some = select(Message.id).where(Message.workspace_id == workspace_id, Message.created_at >= span.since,
                                    Message.created_at < span.until)  # fmt: skip
    return not more_than(session, some, ON_REQUEST)


def suggestions_of(
    session: Session, workspace_id: int, limit: int, *, reader: Reader = AT_ONCE
) -> Kept[list[merges.Suggestion]] | None:
    """The merge suggestions, most certain first: up to `SUGGESTIONS` as a worker kept them (without those merged
    or rejected since), or computed now in a small workspace; None while a worker has not computed them yet. More
    are computed now."""
    few = select(Author.id).where(Author.workspace_id == workspace_id)
    return keeping.served(lambda: _kept_suggestions(session, workspace_id, limit),
                          lambda: not more_than(session, few, ON_REQUEST),
                          lambda: merges.suggest(session, workspace_id, limit=limit),
                          standard=limit <= SUGGESTIONS, reader=reader)  # fmt: skip


def _kept_suggestions(session: Session, workspace_id: int, limit: int) -> Kept[list[merges.Suggestion]] | None:
    row = session.get(KeptList, (workspace_id, "suggestions"))
    if row is None:
        return None
    found = _SUGGESTIONS.validate_json(row.value)
    ids = {a for s in found for a in s.authors}
    member_of: dict[int, int | None] = {
        author: member
        for author, member in session.execute(select(Author.id, Author.member_id).where(Author.id.in_(ids)))
    }
    apart = merges.rejected(session, workspace_id)
    still = [s for s in found if all(a in member_of for a in s.authors) and not _settled(s, member_of, apart)]
    return Kept(still[:limit], row.computed_at)


def _settled(suggestion: merges.Suggestion, member_of: dict[int, int | None], apart: set[tuple[int, int]]) -> bool:
    """Whether a person decided on a suggested pair since: merged into one member, or said to be two people."""
    first, second = sorted(suggestion.authors)
    one = member_of[first] is not None and member_of[first] == member_of[second]
    return one or (first, second) in apart
