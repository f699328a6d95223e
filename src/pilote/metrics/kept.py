"""The Health page's and the API's reports kept in the store: the catalogue over the standard periods.

Computing the catalogue reads every message of a period, of the period before it and of the year member levels
look back on: under a second on a small store, minutes at millions of messages. A worker computes the report of
each standard period (`PERIODS`: the last 7, 30 and 90 days and all, up to the coming hour, over the whole
workspace, no filter: what Health opens on and what `/api/v1/metrics` answers by default) and keeps it in
`kept_report` as the API's JSON, with the state of the workspace it comes from; the clock (jobs.py, job
`metrics.reports`) queues that under the rule the Members page's lists follow (`pilote.keeping`: new messages,
merges, or the hour moved, and the reports at least `REFRESH` seconds old). A reader gets the kept report and when
it was computed (`report_of`, for Health, the API and the command line); where none is kept yet, a workspace of at
most `ON_REQUEST` messages is computed on request, a larger one waits for the worker (the command line computes it:
`keeping.served`). Any other view (days chosen, a filter, two periods compared) is computed on request.
docs/metrics.md, "Kept reports".
"""

from __future__ import annotations

import time
from datetime import datetime

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote import keeping, metrics
from pilote.keeping import AT_ONCE, Kept, Reader, more_than, stamp
from pilote.leaders.window import coming_hour
from pilote.metrics import CATALOGUE, EVERYTHING, Figure, Focus, Report, held
from pilote.models import KeptReport, Message, utcnow

PERIODS = ("30d", "7d", "90d", "all")  # the standard periods, in the order a worker computes them (Health's first)
DEFAULT = "30d"
ON_REQUEST = 20_000  # messages in a workspace: a larger one is "large", its reports never computed on request
RETRY_AFTER = 60  # seconds a reader waiting for a large workspace's first reports is asked to wait (Retry-After)


def window(session: Session, workspace_id: int, period: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """A standard period's bounds: up to the coming hour (as the Health page and the Members lists count it)."""
    return metrics.span(session, workspace_id, period=period, until=coming_hour(now))


def due(session: Session, workspace_id: int, now: datetime | None = None) -> bool:
    """Whether a workspace's reports should be computed again: missing, or from another state and old enough."""
    return keeping.due(session, KeptReport, workspace_id, len(PERIODS), now)


def refresh(engine: Engine, workspace_id: int, *, now: datetime | None = None, force: bool = False) -> bool:
    """Compute and keep a workspace's reports if they are due (or `force`); whether it did."""
    with Session(engine) as session:
        if not force and not due(session, workspace_id, now):
            return False
        started = time.monotonic()
        state = stamp(session, workspace_id, now)
        reading = held.Reading()  # the messages read last time, read again where they changed
        windows = [window(session, workspace_id, p, now) for p in PERIODS]
        found = metrics.reports(session, workspace_id, windows, read=reading)
        values = {period: dump(report) for period, report in zip(PERIODS, found, strict=True)}
        reading.keep()
        computed = now or utcnow()
    rows = [KeptReport(workspace_id=workspace_id, period=period, stamp=state,
            value=value, computed_at=computed) for period, value in values.items()]  # fmt: skip
    keeping.keep(engine, KeptReport, workspace_id, rows, time.monotonic() - started)
    return True


def large(session: Session, workspace_id: int) -> bool:
    """Whether a workspace holds more than `ON_REQUEST` messages (counted through its index, no further)."""
    return more_than(session, select(Message.id).where(Message.workspace_id == workspace_id), ON_REQUEST)


def report_of(session: Session, workspace_id: int, period: str | None = None, *, since: datetime | None = None,
              until: datetime | None = None, focus: Focus = EVERYTHING,
              reader: Reader = AT_ONCE) -> Kept[Report] | None:  # fmt: skip
    """The report asked for, with when it was computed: a standard period over the whole workspace as a worker kept
    it, or computed now in a workspace that is not `large`; None while a worker has not computed it yet
    (`keeping.served`). Dates or a filter are computed now."""
    standard = kept_view(period, dated=since is not None or until is not None, focus=focus)
    if standard:
        bounds = window(session, workspace_id, period or DEFAULT)
    else:
        bounds = metrics.span(session, workspace_id, period=period, since=since, until=until)
    return keeping.served(lambda: _kept(session, workspace_id, period or DEFAULT),
                          lambda: not large(session, workspace_id),
                          lambda: metrics.report(session, workspace_id, *bounds, focus=focus),
                          standard=standard, reader=reader)  # fmt: skip


def kept_view(period: str | None, *, dated: bool, focus: Focus) -> bool:
    """Whether a view is one workers keep: a standard period (no dates) over the whole workspace."""
    return not dated and focus == EVERYTHING and (period or DEFAULT) in PERIODS


def _kept(session: Session, workspace_id: int, period: str) -> Kept[Report] | None:
    row = session.get(KeptReport, (workspace_id, period))
    return Kept(load(row.value), row.computed_at) if row is not None else None


def dump(report: Report) -> str:
    """A report as kept: the API's JSON."""
    return orjson.dumps(report.as_json(), option=orjson.OPT_NON_STR_KEYS).decode()


def load(value: str) -> Report:
    """A kept report (a metric the catalogue no longer has is left out)."""
    found = orjson.loads(value)
    sources = found["sources"]
    focus = Focus(found["channel"], tuple(sources) if sources is not None else None, found["language"], found["topic"])
    figures = [Figure(name, shown["unit"], shown["value"], shown["previous"], CATALOGUE[name].better, shown["note"])
               for name, shown in found["metrics"].items() if name in CATALOGUE]  # fmt: skip
    return Report(datetime.fromisoformat(found["since"]), datetime.fromisoformat(found["until"]), focus, figures)
