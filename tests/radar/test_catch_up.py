"""A long backlog is caught up a chunk per transaction, in time order, with the same outcome as in one pass; and
on SQLite a sign-in during the clock's first turn gets the write lock between two chunks."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from radar_helpers import baseline, burst, lately, soon, write
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from accounts_support import sign_in
from pilote.config import Settings
from pilote.jobs import Jobs
from pilote.models import Alert, Incident, Message, RadarAuthor, RadarCursor, RadarPoint, RadarSeries, utcnow
from pilote.radar import watch
from pilote.radar.watch import tick
from pilote.web.app import create_app


def outcome(engine: Engine) -> dict[str, Any]:
    """Everything the radar wrote, without the ids the database chose."""
    with Session(engine) as session:
        cursor = session.scalars(select(RadarCursor)).one()
        return {
            "points": sorted(
                session.execute(
                    select(RadarPoint.series, RadarPoint.at, RadarPoint.value, RadarPoint.expected, RadarPoint.score)
                ).all()
            ),
            "alerts": sorted(session.execute(select(Alert.series, Alert.at, Alert.value, Alert.severity)).all()),
            "incidents": sorted(session.execute(select(Incident.started_at, Incident.past, Incident.alerts)).all()),
            "detectors": sorted(session.execute(select(RadarSeries.name, RadarSeries.state)).all()),
            "authors": sorted(session.execute(select(RadarAuthor.author_id, RadarAuthor.first_at)).all()),
            "cursor": (cursor.last_message_id, cursor.bucket, cursor.bucket_at, cursor.late, cursor.catch_up_until),
        }


def forget_the_radar(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in ("delivery", "incident", "radar_point", "radar_series", "radar_cursor", "radar_author"):
            conn.execute(text(f"DELETE FROM {table}"))


def test_a_backlog_caught_up_in_chunks_ends_as_one_pass_would(engine: Engine, settings: Settings) -> None:
    start = lately(30)
    history = baseline(start - timedelta(days=2), start) + burst(start - timedelta(days=1), 40) + burst(start, 40)
    write(engine, history[::-1])  # newest first, as exports come: ids run against time
    now = soon()
    whole = tick(engine, settings, now=now, chunk=len(history))
    in_one_pass = outcome(engine)
    forget_the_radar(engine)
    chunked = tick(engine, settings, now=now, chunk=97)
    assert outcome(engine) == in_one_pass
    assert (chunked.messages, chunked.late, chunked.buckets) == (whole.messages, whole.late, whole.buckets)
    assert in_one_pass["alerts"]
    assert in_one_pass["cursor"][3] == 0  # not one message counted late
    assert in_one_pass["cursor"][4] is None


def test_a_sign_in_during_the_first_clock_turn_waits_for_the_lock_and_succeeds(
    sqlite_settings: Settings, sqlite_engine: Engine
) -> None:
    start = lately(30)
    write(sqlite_engine, baseline(start - timedelta(days=4), start, per_bucket=2 * watch.CHUNK // 1000))
    with sqlite_engine.begin() as conn:  # imported a while ago: the radar does not wait for the writes to settle
        conn.execute(update(Message).values(fetched_at=utcnow() - timedelta(hours=1)))
    with Session(sqlite_engine) as session:
        stored = session.scalar(select(func.count()).select_from(Message)) or 0
        newest = session.scalar(select(Message.id).order_by(Message.id.desc()).limit(1))
    assert stored > 2 * watch.CHUNK
    jobs = Jobs(sqlite_settings)
    turn = threading.Thread(target=jobs.step)
    caught_up_midway = threading.Event()
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        turn.start()
        while turn.is_alive() and not caught_up_midway.is_set():  # until a chunk is committed and more remain
            with Session(sqlite_engine) as session:
                if session.scalar(select(RadarCursor.catch_up_until)) is not None:
                    caught_up_midway.set()
            turn.join(0.01)
        sign_in(client)  # fails unless its write gets the lock within the busy timeout
        turn.join()
    jobs.engine.dispose()
    assert caught_up_midway.is_set(), "the radar caught up its backlog in one transaction"
    with Session(sqlite_engine) as session:
        cursor = session.scalars(select(RadarCursor)).one()
    assert (cursor.last_message_id, cursor.catch_up_until) == (newest, None)
