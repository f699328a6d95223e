"""A period still running is compared with the same elapsed span of the period before: the figures, and the
previous period's line, bucket by bucket, up to the same minute (issue 15, item 8)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from pilote import rollups
from pilote.imports import import_file
from pilote.models import Message, Workspace
from pilote.views import explorer, overview

NOW = datetime(2026, 3, 9, 14, 30, tzinfo=UTC)  # a Monday, half way through its 14:00 hour
UNTIL = datetime(2026, 3, 9, 15, tzinfo=UTC)  # where the page's "7 days" and "24 hours" end: the coming full hour


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def load(engine: Engine, path: Path, written: dict[str, datetime]) -> int:
    """One message per name, written at its moment; the workspace's id."""
    rows = [{"id": name, "created_at": moment.isoformat(), "text": f"Message {name}", "author": name}
            for name, moment in written.items()]  # fmt: skip
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    import_file(engine, path)
    with Session(engine) as session:
        return session.scalars(select(Workspace.id)).one()


def seen(engine: Engine, workspace_id: int, start: datetime, end: datetime, bucket: str, now: datetime) -> Any:
    with Session(engine) as session:
        return overview.overview(session, workspace_id, start, end, bucket, now=now)


WEEK = {
    "a0": at(2, 20), "a1": at(3, 10), "a2": at(9, 9), "a3": at(9, 14, 10),  # this period, up to 14:30 today
    "b0": at(23, 16, month=2), "b1": at(24, 10, month=2),  # the period before: its first and second days
    "b2": at(2, 9), "b3": at(2, 14, 10),  # its last day before 14:30...
    "b4": at(2, 14, 45), "b5": at(2, 14, 59),  # ...and after: in the same hour, but later than today has run
}  # fmt: skip


def test_a_running_week_is_compared_with_the_week_before_up_to_the_same_minute(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", WEEK)
    shown = seen(engine, workspace_id, UNTIL - timedelta(days=7), UNTIL, "day", NOW)
    assert len(shown.volume_by_channel.starts) == 8  # Mar 2 from 15:00, Mar 3 ... Mar 9 up to now
    assert shown.running == 7
    assert shown.until == NOW
    assert list(shown.volume_by_channel.lines.values()) == [[1, 1, 0, 0, 0, 0, 0, 2]]
    assert shown.previous_volume == [1, 1, 0, 0, 0, 0, 0, 2]  # b0, b1; b2 and b3 but not b4 and b5
    messages = shown.figures["messages"]
    assert (messages.value, messages.previous, messages.change) == (4, 4, 0.0)


def test_a_period_over_is_compared_with_the_whole_period_before(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", WEEK)
    shown = seen(engine, workspace_id, UNTIL - timedelta(days=7), UNTIL, "day", NOW + timedelta(days=30))
    assert shown.running is None
    assert shown.until == UNTIL
    assert shown.previous_volume == [1, 1, 0, 0, 0, 0, 0, 4]
    assert (shown.figures["messages"].value, shown.figures["messages"].previous) == (4, 6)


def test_the_running_hour_is_compared_with_the_same_minutes_a_day_before(engine: Engine, tmp_path: Path) -> None:
    written = {"now": at(9, 14, 5), "then": at(8, 14, 20), "later": at(8, 14, 40), "early": at(7, 16, 5)}
    workspace_id = load(engine, tmp_path / "m.jsonl", written)
    shown = seen(engine, workspace_id, UNTIL - timedelta(hours=24), UNTIL, "hour", NOW)
    assert shown.running == 23
    assert shown.previous_volume == [0, 1] + [0] * 21 + [1]  # 16:05 two days ago; 14:20 but not 14:40 yesterday
    assert (shown.figures["messages"].value, shown.figures["messages"].previous) == (1, 2)


def test_weeks_of_the_period_before_are_its_spans_matching_this_period_s_weeks(engine: Engine, tmp_path: Path) -> None:
    # Ten days to Wednesday March 11, 14:30, by calendar week (from Monday): the period before is the ten days
    # before, and each of its buckets the same span ten days earlier, not its own calendar weeks.
    written = {
        "p4": at(19, 20, month=2),  # → the first bucket's match (Sunday March 1 from 15:00, ten days earlier)
        "p1": at(20, 10, month=2),  # → the week of March 2's match (February 20 to 27)
        "p2": at(28, 12, month=2),  # → this week's match (February 27 to March 1, 14:30)
        "p3": at(1, 14, 40),  # later than this week has run, ten days earlier
        "n1": at(10, 8),
    }
    workspace_id = load(engine, tmp_path / "m.jsonl", written)
    now = at(11, 14, 30)
    shown = seen(engine, workspace_id, at(1, 15), at(11, 15), "week", now)
    assert [start.date().isoformat() for start in shown.volume_by_channel.starts] == [
        "2026-02-23", "2026-03-02", "2026-03-09",
    ]  # fmt: skip
    assert shown.previous_volume == [1, 1, 1]
    assert (shown.figures["messages"].value, shown.figures["messages"].previous) == (1, 3)


def test_nothing_is_drawn_for_the_days_still_to_come(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", WEEK)
    shown = seen(engine, workspace_id, at(3, 0), at(13, 0), "day", NOW)  # March 3 to 12: today is March 9
    assert shown.running == 6
    assert shown.previous_volume[7:] == [None, None, None]
    assert shown.previous_volume[:7] == [0, 0, 1, 1, 0, 0, 0]  # ten days earlier: Feb 21 to 27 (b0 and b1)


def test_part_of_an_hour_is_counted_by_the_rules_the_rollups_keep(engine: Engine, tmp_path: Path) -> None:
    workspace_id = load(engine, tmp_path / "m.jsonl", WEEK)
    with Session(engine) as session, session.begin():
        b3 = session.scalars(select(Message.id).where(Message.external_id == "b3")).one()
        explorer.label(session, b3, "sentiment", "negative")
        explorer.label(session, b3, "intent", "question")
    names = rollups.HOURLY
    hour = rollups.hour_of(at(2, 14))
    with Session(engine) as session:
        conn = session.connection()
        whole = rollups.between(conn, workspace_id, names, rollups.hour_start(hour), rollups.hour_start(hour + 1))
        assert whole == rollups.sums(conn, workspace_id, names, hour, hour)
        part = rollups.between(conn, workspace_id, names, rollups.hour_start(hour), at(2, 14, 30))
        figures = overview.figures(session, workspace_id, overview.period(UNTIL - timedelta(days=7), UNTIL), NOW)
    assert part["messages"] == {"": (1, 0)}
    assert part["sentiment"] == {"negative": (1, 0)}
    assert part["unanswered"] == {"question": (1, 0)}
    assert (figures["negative"].value, figures["negative"].previous) == (0, 1)
    assert (figures["needs_answer"].value, figures["needs_answer"].previous) == (0, 1)


def test_a_period_shorter_than_an_hour_is_never_compared_with_itself() -> None:
    """The API takes any bounds: forty minutes inside one hour were compared with the same forty minutes."""
    short = overview.Period(at(9, 10, 40), at(9, 11, 20))
    ran, before = overview.elapsed(short, NOW)
    assert ran == short
    assert before.end <= short.start
    assert before == overview.Period(at(9, 10), at(9, 10, 40))
    whole = overview.Period(UNTIL - timedelta(days=7), UNTIL)  # whole hours: exactly the period's length earlier
    assert overview.elapsed(whole, NOW)[1] == overview.Period(UNTIL - timedelta(days=14), NOW - timedelta(days=7))
