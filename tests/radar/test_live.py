"""Alerts are about now: history read after its time makes past episodes nobody hears of; news still alerts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from alembic import command
from alembic.config import Config
from peers import SECRET, Mailbox, Peer
from radar_helpers import baseline, burst, lately, soon, write
from sqlalchemy import Engine, column, func, insert, select, table
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from pilote.cli import app
from pilote.config import Settings
from pilote.db import alembic_config
from pilote.models import Delivery, Incident, IncidentEvent, RadarCursor, RadarPoint
from pilote.radar import rules
from pilote.radar.live import AHEAD, HORIZON
from pilote.radar.watch import TickReport, tick


@pytest.fixture
def told(settings: Settings, smtp: tuple[Mailbox, int], peer: Peer) -> Settings:
    """Settings whose e-mails reach the local SMTP server and whose webhooks may reach this machine."""
    _, port = smtp
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_sender": "radar@example.org",
                "sync_private_addresses": True}
    )  # fmt: skip


def listen(engine: Engine, peer: Peer) -> None:
    """The workspace's team: an e-mail address, a webhook, and someone for escalations."""
    space_id = write(engine, []).workspace_id
    with Session(engine) as session, session.begin():
        rules.add_recipient(session, workspace_id=space_id, kind="email", target="cm@example.org")
        rules.add_recipient(session, workspace_id=space_id, kind="webhook", target=f"{peer.url}/hook", secret=SECRET)
        rules.add_recipient(session, workspace_id=space_id, kind="email", target="boss@example.org", on="escalation")


def incidents_of(engine: Engine) -> list[Incident]:
    with Session(engine) as session:
        return list(session.scalars(select(Incident).order_by(Incident.id)))


def deliveries(engine: Engine) -> list[Delivery]:
    with Session(engine) as session:
        return list(session.scalars(select(Delivery).order_by(Delivery.id)))


def test_a_backfill_of_old_messages_opens_no_live_incident_and_tells_no_one(
    engine: Engine, told: Settings, smtp: tuple[Mailbox, int], peer: Peer
) -> None:
    listen(engine, peer)
    start = lately(0) - timedelta(days=40)  # a crisis forty days ago, imported (or synced) today
    write(engine, baseline(start - timedelta(days=2), start) + burst(start, 40))
    report = tick(engine, told, now=soon())
    later = tick(engine, told, now=soon() + timedelta(hours=3))  # long past any escalation delay
    [episode] = incidents_of(engine)
    assert (report.alerts, later.alerts, later.escalated) == ([], [], [])
    assert report.past_alerts
    assert (episode.past, episode.status, episode.started_at) == (True, "resolved", start)
    assert (deliveries(engine), smtp[0].messages, peer.received) == ([], [], [])


def test_a_burst_within_the_horizon_opens_a_live_incident_and_the_team_hears_of_it(
    engine: Engine, told: Settings, smtp: tuple[Mailbox, int], peer: Peer
) -> None:
    listen(engine, peer)
    start = lately(30)
    write(engine, baseline(start - timedelta(days=2), start) + burst(start, 40))
    report = tick(engine, told, now=soon())
    [incident] = incidents_of(engine)
    assert report.alerts
    assert report.past_alerts == []
    assert (incident.past, incident.status, incident.started_at) == (False, "open", start)
    assert [(d.reason, d.target, d.status) for d in deliveries(engine)] == [
        ("opened", "cm@example.org", "sent"), ("opened", f"{peer.url}/hook", "sent")
    ]  # fmt: skip
    assert smtp[0].recipients == [["cm@example.org"]]
    assert [(r["body"]["event"], r["valid"]) for r in peer.received] == [("incident.opened", True)]


def test_messages_a_sync_brings_late_still_count_and_alert_within_the_horizon(
    engine: Engine, settings: Settings
) -> None:
    start = lately(15)
    write(engine, baseline(start - timedelta(days=2), start))
    first = tick(engine, settings, now=soon())  # the bucket of `start` is decided: empty, nothing to say
    write(engine, burst(start, 40))  # the next sync brings the last fifteen minutes at once
    second = tick(engine, settings, now=soon())
    [incident] = incidents_of(engine)
    assert (first.alerts, first.late, second.late) == ([], 0, 0)
    assert second.alerts
    assert (incident.past, incident.status, incident.started_at) == (False, "open", start)
    with Session(engine) as session:
        value = session.scalar(select(RadarPoint.value).where(RadarPoint.series == "negative", RadarPoint.at == start))
    assert value == 40.0


def test_messages_older_than_the_horizon_cannot_join_what_the_detectors_learnt(
    engine: Engine, settings: Settings
) -> None:
    start = lately(0) - HORIZON - timedelta(minutes=30)
    write(engine, baseline(start - timedelta(days=2), start + timedelta(hours=1)))
    tick(engine, settings, now=soon())
    write(engine, burst(start, 40))  # history synced after the detectors learnt its time
    report = tick(engine, settings, now=soon())
    assert report.late == 40
    assert incidents_of(engine) == []


def test_messages_dated_in_the_future_open_no_incident_in_the_future(engine: Engine, settings: Settings) -> None:
    now = soon()
    start = lately(0)
    soon_after = start + timedelta(minutes=30)  # a clock a little ahead: counted when its time comes
    far = datetime(2031, 1, 1, tzinfo=UTC)  # a wrong date: never counted
    write(
        engine, baseline(start - timedelta(days=2), start) + burst(soon_after, 40) + burst(far, 40, author_prefix="x")
    )
    report = tick(engine, settings, now=now)
    assert report.ahead == 40
    assert incidents_of(engine) == []
    assert _latest_point(engine) < now
    with Session(engine) as session:
        cursor = session.scalars(select(RadarCursor)).one()
    assert cursor.bucket_at is not None
    assert cursor.bucket_at < now + AHEAD
    at_its_time = tick(engine, settings, now=soon_after + timedelta(minutes=10))
    [incident] = incidents_of(engine)
    assert at_its_time.alerts
    assert (incident.started_at, incident.past) == (soon_after, False)
    assert _latest_point(engine) < soon_after + timedelta(minutes=10)


def _latest_point(engine: Engine) -> datetime:
    with Session(engine) as session:
        latest = session.scalar(select(func.max(RadarPoint.at)))
    assert latest is not None
    return latest


def test_a_tick_with_nothing_new_decides_nothing_again(engine: Engine, settings: Settings) -> None:
    start = lately(30)
    write(engine, baseline(start - timedelta(days=2), start) + burst(start, 40))
    now = soon()
    first = tick(engine, settings, now=now)
    again: TickReport = tick(engine, settings, now=now)
    assert first.alerts
    assert (again.alerts, again.buckets) == ([], 0)
    assert len(incidents_of(engine)) == 1


def test_incidents_opened_about_history_before_0012_become_past_episodes(engine: Engine) -> None:
    """Migration 0012: an incident whose opening was "not_notified" was about history; it is resolved then."""
    space_id = write(engine, []).workspace_id
    opened, later = datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    _move(engine, command.downgrade, "0011")
    with engine.begin() as conn:
        for number, first in ((1, "not_notified"), (2, "notified"), (3, "not_notified")):
            conn.execute(insert(_BEFORE_0012).values(
                id=number, workspace_id=space_id, status="resolved" if number == 3 else "open", severity="high",
                title="Surge", started_at=opened - timedelta(days=300), last_alert_at=opened, alerts=1,
                opened_at=opened, resolved_at=later if number == 3 else None,
            ))  # fmt: skip
            for kind, at in (("opened", opened), ("alert", opened), (first, opened)):
                conn.execute(insert(IncidentEvent.__table__).values(incident_id=number, at=at, kind=kind))
        conn.execute(insert(IncidentEvent.__table__).values(incident_id=2, at=later, kind="not_notified"))
    _move(engine, command.upgrade, "head")
    with Session(engine) as session:
        found = {i.id: (i.past, i.status, i.resolved_at) for i in session.scalars(select(Incident))}
    assert found == {1: (True, "resolved", opened), 2: (False, "open", None), 3: (True, "resolved", later)}


_BEFORE_0012 = table(
    "incident", *(column(name) for name in ("id", "workspace_id", "status", "severity", "title", "started_at",
                                            "last_alert_at", "alerts", "opened_at", "resolved_at"))
)  # fmt: skip


def _move(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        step(config, revision)


def test_the_cli_tells_past_episodes_from_live_incidents(
    engine: Engine, settings: Settings, env_for: Callable[[Settings], None]
) -> None:
    env_for(settings)
    old, start = lately(0) - timedelta(days=40), lately(30)
    then = baseline(old - timedelta(days=2), old) + burst(old, 40, author_prefix="then")
    # Loud: the episode forty days ago raised the detectors' bar, which comes down only as buckets are fed.
    write(engine, then + baseline(start - timedelta(days=2), start) + burst(start, 100))
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), catch_exceptions=False)

    watched = run("watch", "--once")
    past = orjson.loads(run("incident", "list", "--past", "--json").stdout)
    live = orjson.loads(run("incident", "list", "--live", "--json").stdout)
    assert "about the past (past episodes)" in watched.stderr
    assert [(i["past"], i["status"]) for i in past] == [(True, "resolved")]
    assert [(i["past"], i["status"]) for i in live] == [(False, "open")]
    assert "past episode" in run("incident", "list").stdout
    assert "past episode" in run("incident", "show", str(past[0]["id"])).stdout
    refused = run("incident", "reopen", str(past[0]["id"]))
    assert refused.exit_code == 1
    assert "past episode" in refused.stderr
