"""The tick: new messages feed the series and the detectors, at constant cost, and open incidents."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from radar_helpers import Msg, baseline, burst, lately, soon, write
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from pilote import enrich, jobs
from pilote.config import Settings
from pilote.enrich.pipeline import run as run_enrichment
from pilote.models import (
    Alert,
    Delivery,
    Enrichment,
    Incident,
    Label,
    Message,
    RadarCursor,
    RadarPoint,
    RadarSeries,
    Workspace,
    utcnow,
)
from pilote.radar import rules
from pilote.radar.live import HORIZON
from pilote.radar.series import STEP, bucket_start
from pilote.radar.watch import GRACE, tick

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def points(engine: Engine, series: str) -> dict[datetime, float]:
    with Session(engine) as session:
        rows = session.execute(select(RadarPoint.at, RadarPoint.value).where(RadarPoint.series == series))
        return {at: value for at, value in rows}


def test_series_are_counted_per_bucket_from_new_messages_only(engine: Engine, settings: Settings) -> None:
    write(engine, [Msg(T + timedelta(minutes=1)), Msg(T + timedelta(minutes=2), negative=True, likes=10, shares=5),
                   Msg(T + timedelta(minutes=7), author="newbie", likes=3)])  # fmt: skip
    first = tick(engine, settings, now=soon())
    assert first.messages == 3
    assert points(engine, "mentions") == {T: 2.0, T + timedelta(minutes=5): 1.0}
    assert points(engine, "negative") == {T: 1.0}
    assert points(engine, "negative_share") == {T: 50.0}
    assert points(engine, "reach") == {T: 15.0, T + timedelta(minutes=5): 3.0}
    # Only the first message of "regular" is a first-time author's; "newbie" writes for the first time after it.
    assert points(engine, "newcomers") == {T: 50.0, T + timedelta(minutes=5): 100.0}
    again = tick(engine, settings, now=soon())
    assert again.messages == 0
    assert again.buckets == 0
    with Session(engine) as session:
        states = {row.name: json.loads(row.state) for row in session.scalars(select(RadarSeries))}
    assert {"mentions", "negative", "reach", "newcomer_reach"} <= set(states)
    assert states["mentions"]["detector"]["seen"] >= 2  # the detectors' learning is kept between ticks


def test_a_second_batch_continues_where_the_first_stopped(engine: Engine, settings: Settings) -> None:
    now = soon()
    open_bucket = bucket_start(now - GRACE)  # the bucket the first tick leaves open
    write(engine, [Msg(open_bucket - timedelta(hours=3), author="early"), Msg(open_bucket - timedelta(minutes=30)),
                   Msg(open_bucket - timedelta(minutes=29))])  # fmt: skip
    tick(engine, settings, now=now)  # the detectors learn the buckets that left the horizon
    write(engine, [Msg(open_bucket + timedelta(seconds=1), author="other"),
                   Msg(open_bucket - timedelta(minutes=40), author="synced"),
                   Msg(open_bucket - HORIZON - timedelta(minutes=30), author="late")])  # fmt: skip
    report = tick(engine, settings, now=soon() + STEP)
    assert report.messages == 3
    assert report.late == 1  # older than the live horizon, its bucket learnt: not fed to the detectors
    mentions = points(engine, "mentions")
    assert mentions[open_bucket - timedelta(minutes=30)] == 2.0
    assert mentions[open_bucket - timedelta(minutes=40)] == 1.0  # 40 minutes late, within the horizon: counted
    assert mentions[open_bucket] == 1.0
    assert bucket_start(open_bucket - HORIZON - timedelta(minutes=30)) not in mentions
    with Session(engine) as session:
        cursor = session.scalars(select(RadarCursor)).one()
        assert cursor.late == 1
        assert cursor.last_message_id == session.scalar(select(func.max(Message.id)))


def test_spam_labelled_messages_are_left_out(engine: Engine, settings: Settings) -> None:
    write(engine, [Msg(T), Msg(T, author="farm", spam_label=True), Msg(T, author="farm", spam_label=True)])
    tick(engine, settings, now=soon())
    assert points(engine, "mentions") == {T: 1.0}


def test_a_person_s_label_wins_over_the_moderators_spam_flag(engine: Engine, settings: Settings) -> None:
    write(engine, [Msg(T, spam_label=True), Msg(T, author="farm", spam_label=True)])
    with Session(engine) as session, session.begin():
        first = session.scalars(select(Message.id).order_by(Message.id)).first()
        session.add(Label(message_id=first, name="spam", value="ham", origin="user"))
    tick(engine, settings, now=soon())
    assert points(engine, "mentions") == {T: 1.0}


def test_keyphrases_said_three_times_in_a_bucket_make_series_of_their_own(engine: Engine, settings: Settings) -> None:
    minutes = (0, 1, 2, 11)
    write(engine, [Msg(T + timedelta(minutes=m)) for m in minutes])
    with Session(engine) as session, session.begin():
        ids = list(session.scalars(select(Message.id).order_by(Message.created_at)))
        phrases = ['["Battery latch", "recall"]', '[["battery latch", 0.1]]', '["battery latch", "recall"]',
                   '["battery latch"]']  # fmt: skip
        for message_id, listed in zip(ids, phrases, strict=True):
            value = f'{{"keyphrases": {{"keyphrases": {listed}}}}}'
            session.add(Enrichment(message_id=message_id, versions='{"keyphrases": "1"}', value=value))
    tick(engine, settings, now=soon())
    assert points(engine, "keyphrase:battery latch") == {T: 3.0, T + timedelta(minutes=10): 1.0}
    assert points(engine, "keyphrase:recall") == {}  # twice in a bucket: too rare to make a burst, no series
    with Session(engine) as session:
        assert session.get(RadarSeries, (_workspace(session), "keyphrase:recall")) is None
        state = json.loads(session.get_one(RadarSeries, (_workspace(session), "keyphrase:battery latch")).state)
    # The bucket without the phrase was fed as a zero when the phrase came back.
    assert state["detector"]["seen"] == 3


def _workspace(session: Session) -> int:
    return session.scalars(select(Workspace.id)).one()


def test_a_workspace_still_being_written_waits_for_the_writes_to_settle(engine: Engine, settings: Settings) -> None:
    write(engine, [Msg(T)])
    report = tick(engine, settings, now=utcnow())
    assert report.waiting
    assert report.messages == 0
    assert tick(engine, settings, now=soon()).messages == 1


def test_a_negative_burst_opens_an_incident_with_its_explanation(engine: Engine, settings: Settings) -> None:
    start = lately(30)
    write(engine, baseline(start - timedelta(days=2), start) + burst(start, 40))
    report = tick(engine, settings, now=soon())
    with Session(engine) as session:
        incident = session.scalars(select(Incident)).one()
        alerts = session.scalars(select(Alert).order_by(Alert.at)).all()
    assert report.alerts
    assert incident.started_at == start
    assert alerts[0].series in {"negative", "negative_share", "newcomers"}
    assert {a.at for a in alerts} == {start}  # the detectors stay calm on the baseline before and after
    explanation = json.loads(next(a for a in alerts if a.series == "negative").explanation)
    assert explanation["value"] == 40.0
    assert explanation["ratio"] > 5
    assert [m["author"] for m in explanation["first_messages"]] == [f"angry{k}" for k in range(5)]
    # The hour up to the alert: the burst and the few negative messages of the baseline before it.
    assert 40 < explanation["messages"] < 50
    assert explanation["channels"] == {"blog:social.example": explanation["messages"]}
    assert {a["author"] for a in explanation["authors"]} <= {f"angry{k}" for k in range(40)}


def test_the_rule_decides_which_series_may_alert(engine: Engine, settings: Settings) -> None:
    start = lately(30)
    write(engine, baseline(start - timedelta(days=2), start) + burst(start, 40, negative=False))
    with Session(engine) as session, session.begin():
        space = session.scalars(select(Workspace)).one()
        rules.update(session, workspace_id=space.id, series=("negative",))
    tick(engine, settings, now=soon())
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
        assert points(engine, "mentions")[start] == 40.0  # computed and kept, but not watched by this rule


@pytest.mark.usefixtures("engine")
def test_serve_runs_the_tick_in_the_background(settings: Settings, engine: Engine) -> None:
    config = settings.model_copy(update={"radar_interval": 0.2})
    with jobs.running(config):
        write(engine, [Msg(T), Msg(T + timedelta(minutes=1))])
        deadline = time.monotonic() + 60
        seen = 0
        while time.monotonic() < deadline and seen < 2:  # wait on the condition, not on a duration
            time.sleep(0.2)
            with Session(engine) as session:
                cursor = session.get(RadarCursor, session.scalars(select(Workspace.id)).one())
                seen = 0 if cursor is None else int(cursor.last_message_id)
    assert seen == 2


def test_a_long_first_turn_is_no_warning_but_a_long_turn_after_it_is(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The first turn takes in what came while no clock ran (a new demo's whole history): long is expected then."""
    clock = jobs.Jobs(settings.model_copy(update={"radar_interval": 0.05}))
    turns: list[int] = []

    def turn() -> bool:
        turns.append(len(turns))
        if len(turns) <= 2:
            time.sleep(0.2)
        else:
            clock._stop.set()
        return True

    try:
        with caplog.at_level(logging.INFO, logger="pilote.jobs"):
            clock._every(turn)
    finally:
        clock.engine.dispose()
    long = [(r.levelno, r.getMessage()) for r in caplog.records if "more than the" in r.getMessage()]
    assert [level for level, _ in long] == [logging.INFO, logging.WARNING]
    assert "the first turn" in long[0][1]
    assert "a turn took" in long[1][1]


def test_the_demo_bad_buzz_alerts_within_30_minutes_and_nothing_else_does(
    sqlite_engine: Engine, sqlite_settings: Settings
) -> None:
    from pilote.simulate import simulate

    report = simulate(sqlite_engine, workspace="demo", end=datetime(2026, 11, 1, tzinfo=UTC))
    with Session(sqlite_engine) as session:
        workspace_id = session.scalars(select(Workspace.id)).one()
        rules.add_recipient(session, workspace_id=workspace_id, kind="email", target="cm@example.org")
        session.commit()
    run_enrichment(sqlite_engine, enrich.get(), workspace_id=workspace_id)  # what `pilote simulate` runs
    buzz = next(e for e in report.episodes if e.name == "bad_buzz")
    # Watched as it happens: the radar's clock 40 minutes into the episode, what comes later not yet written.
    as_it_happens = tick(sqlite_engine, sqlite_settings, now=buzz.start + timedelta(minutes=40), settle=timedelta(0))
    live = _alerts_and_incidents(sqlite_engine)
    with Session(sqlite_engine) as session:
        told = [d.reason for d in session.scalars(select(Delivery))]
    _forget_the_radar(sqlite_engine)
    # Imported as history: the same episode, weeks before the radar reads it.
    tick(sqlite_engine, sqlite_settings, now=soon())
    alerts, incidents = _alerts_and_incidents(sqlite_engine)
    assert as_it_happens.alerts, "the bad buzz raised no alert as it happened"
    assert [(i.past, i.status) for i in live[1]] == [(False, "open")]
    assert told == ["opened"]
    assert live[0][0].at + timedelta(minutes=5) - buzz.start <= timedelta(minutes=30)  # decided when it closes
    assert alerts, "the bad buzz raised no alert"
    assert alerts[0].at == live[0][0].at
    assert all(buzz.start <= a.at <= buzz.end for a in alerts), [(a.series, a.at) for a in alerts]
    assert [(i.past, i.status, i.alerts) for i in incidents] == [(True, "resolved", len(alerts))]
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def _alerts_and_incidents(engine: Engine) -> tuple[list[Alert], list[Incident]]:
    with Session(engine) as session:
        alerts = list(session.scalars(select(Alert).order_by(Alert.at)))
        return alerts, list(session.scalars(select(Incident)))


def _forget_the_radar(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in ("delivery", "incident", "radar_point", "radar_series", "radar_cursor", "radar_author"):
            conn.execute(text(f"DELETE FROM {table}"))
