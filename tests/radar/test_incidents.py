"""Incidents: one per crisis, updates not floods; acknowledge, resolve, reopen; escalation; rules and floors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from radar_helpers import Msg, baseline, burst, lately, soon, write
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import sign_in
from factories import target
from pilote.cli import app
from pilote.config import Settings
from pilote.errors import Invalid, NotFound
from pilote.models import Delivery, Incident, IncidentEvent
from pilote.radar import incidents, rules
from pilote.radar.incidents import Candidate
from pilote.radar.rules import Rule
from pilote.radar.watch import tick

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def workspace_with_recipients(engine: Engine, *recipients: tuple[str, str, str]) -> int:
    space_id = target(engine).workspace_id
    with Session(engine) as session, session.begin():
        for kind, where, on in recipients:
            rules.add_recipient(session, workspace_id=space_id, kind=kind, target=where, on=on)
    return space_id


def alert_at(session: Session, space_id: int, at: datetime, severity: str = "low", *, rule: Rule = rules.DEFAULT,
             now: datetime | None = None, series: str = "negative") -> Incident:  # fmt: skip
    candidate = Candidate(space_id, series, at, 30.0, 3.0, 0.8, severity)
    alert = incidents.raise_alert(session, candidate, rule=rule, now=now or at + timedelta(minutes=5))
    return incidents.get(session, incident_id=alert.incident_id)


def kinds(session: Session, incident_id: int) -> list[str]:
    return [event.kind for event in incidents.events(session, incident_id=incident_id)]


def test_a_burst_of_alerts_makes_one_incident_with_updates(engine: Engine) -> None:
    space_id = workspace_with_recipients(engine, ("email", "cm@example.org", "always"))
    with Session(engine) as session, session.begin():
        severities = ["low", "low", "medium", "low", "high", "medium"]
        found = [alert_at(session, space_id, NOW + timedelta(minutes=10 * k), s) for k, s in enumerate(severities)]
        assert {incident.id for incident in found} == {found[0].id}
        incident = found[0]
        assert (incident.alerts, incident.severity, incident.started_at) == (6, "high", NOW)
        assert incident.last_alert_at == NOW + timedelta(minutes=50)
        assert kinds(session, incident.id).count("opened") == 1
        assert kinds(session, incident.id).count("alert") == 6
        reasons = [d.reason for d in session.scalars(select(Delivery).order_by(Delivery.id))]
    assert reasons == ["opened", "update", "update"]  # told at the start and when the severity rose, not each time


def test_a_new_crisis_after_the_grouping_window_or_a_resolution_is_a_new_incident(engine: Engine) -> None:
    space_id = workspace_with_recipients(engine)
    other_space = target(engine, slug="other").workspace_id
    with Session(engine) as session, session.begin():
        first = alert_at(session, space_id, NOW)
        later = alert_at(session, space_id, NOW + incidents.GROUP_WINDOW + timedelta(minutes=5))
        assert later.id != first.id
        incidents.resolve(session, incident_id=later.id, actor="zoe", now=NOW + timedelta(days=4))
        again = alert_at(session, space_id, NOW + timedelta(days=4, minutes=5))
        assert again.id not in {first.id, later.id}
        elsewhere = alert_at(session, other_space, NOW + timedelta(days=4, minutes=10))
        assert elsewhere.id != again.id  # incidents never mix workspaces


def test_acknowledge_resolve_and_reopen(engine: Engine) -> None:
    space_id = workspace_with_recipients(engine)
    with Session(engine) as session, session.begin():
        incident = alert_at(session, space_id, NOW)
        incidents.acknowledge(session, incident_id=incident.id, actor="zoe", now=NOW + timedelta(minutes=7))
        assert (incident.status, incident.acknowledged_by) == ("acknowledged", "zoe")
        with pytest.raises(Invalid, match="only an open incident"):
            incidents.acknowledge(session, incident_id=incident.id, actor="zoe", now=NOW)
        assert alert_at(session, space_id, NOW + timedelta(minutes=20)).id == incident.id  # still attaches
        incidents.resolve(session, incident_id=incident.id, actor="max", now=NOW + timedelta(hours=3), note="recall")
        with pytest.raises(Invalid, match="already resolved"):
            incidents.resolve(session, incident_id=incident.id, actor="max", now=NOW)
        incidents.reopen(session, incident_id=incident.id, actor="zoe", now=NOW + timedelta(hours=4))
        assert incident.status == "open"
        assert incident.resolved_at is None
        assert incident.acknowledged_by is None
        assert alert_at(session, space_id, NOW + timedelta(hours=5)).id == incident.id
        assert kinds(session, incident.id) == ["opened", "alert", "acknowledged", "alert", "resolved", "reopened",
                                               "alert"]  # fmt: skip
        with pytest.raises(Invalid, match="only a resolved incident"):
            incidents.reopen(session, incident_id=incident.id, actor="zoe", now=NOW)
        with pytest.raises(NotFound, match="pilote incident list"):
            incidents.get(session, incident_id=incident.id + 100)


def test_an_unacknowledged_incident_escalates_once_to_the_escalation_recipients(engine: Engine) -> None:
    space_id = workspace_with_recipients(
        engine, ("email", "cm@example.org", "always"), ("email", "boss@example.org", "escalation")
    )
    rule = Rule(escalate_after=30)
    with Session(engine) as session, session.begin():
        incident = alert_at(session, space_id, NOW, now=NOW)
        assert incidents.escalate_due(session, workspace_id=space_id, rule=rule, now=NOW + timedelta(minutes=29)) == []
        escalated = incidents.escalate_due(session, workspace_id=space_id, rule=rule, now=NOW + timedelta(minutes=30))
        assert [i.id for i in escalated] == [incident.id]
        assert incidents.escalate_due(session, workspace_id=space_id, rule=rule, now=NOW + timedelta(hours=2)) == []
        sent = [(d.reason, d.target) for d in session.scalars(select(Delivery).order_by(Delivery.id))]
    assert sent == [("opened", "cm@example.org"), ("escalation", "boss@example.org")]


def test_an_acknowledged_incident_does_not_escalate(engine: Engine) -> None:
    space_id = workspace_with_recipients(engine, ("email", "boss@example.org", "escalation"))
    with Session(engine) as session, session.begin():
        incident = alert_at(session, space_id, NOW, now=NOW)
        incidents.acknowledge(session, incident_id=incident.id, actor="zoe", now=NOW + timedelta(minutes=5))
        later = NOW + timedelta(hours=1)
        assert incidents.escalate_due(session, workspace_id=space_id, rule=Rule(escalate_after=30), now=later) == []


def test_quiet_hours_hold_notifications_except_high_severity(engine: Engine) -> None:
    space_id = workspace_with_recipients(engine, ("email", "cm@example.org", "always"))
    rule = Rule(quiet_start="22:00", quiet_end="07:00", timezone="Europe/Paris")
    night = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    silent = target(engine, slug="b").workspace_id  # no recipient there
    other = target(engine, slug="c").workspace_id
    with Session(engine) as session, session.begin():
        rules.add_recipient(session, workspace_id=other, kind="email", target="oncall@example.org")
        alert_at(session, space_id, night - timedelta(minutes=5), "medium", rule=rule, now=night)
        alert_at(session, silent, night - timedelta(minutes=5), rule=rule, now=night)
        alert_at(session, other, night - timedelta(minutes=5), "high", rule=rule, now=night)
        held, urgent = [d.next_attempt_at for d in session.scalars(select(Delivery).order_by(Delivery.id))]
    assert held == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)  # 07:00 in Paris
    assert urgent == night


def test_quiet_hours_follow_the_clock_of_the_rule() -> None:
    rule = Rule(quiet_start="22:00", quiet_end="07:00", timezone="Europe/Paris")
    assert rule.quiet_until(datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) is None
    assert rule.quiet_until(datetime(2026, 7, 1, 3, 0, tzinfo=UTC)) == datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    day = Rule(quiet_start="12:00", quiet_end="14:00")
    assert day.quiet_until(datetime(2026, 7, 1, 13, 0, tzinfo=UTC)) == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
    assert day.quiet_until(datetime(2026, 7, 1, 14, 0, tzinfo=UTC)) is None


def test_minimum_volume_and_reach_keep_small_spikes_quiet() -> None:
    rule = Rule(min_volume=10, min_reach=500, series=("negative", "newcomer_reach"))
    assert not rule.admits("negative", 9.0, messages=9)
    assert rule.admits("negative", 12.0, messages=12)
    assert not rule.admits("newcomer_reach", 499.0, messages=1)
    assert rule.admits("newcomer_reach", 6826.0, messages=1)
    assert not rule.admits("mentions", 500.0, messages=500)  # not watched by this rule
    assert not Rule(enabled=False).admits("negative", 100.0, messages=100)


def test_the_minimum_volume_of_a_rule_silences_a_small_burst(engine: Engine, settings: Settings) -> None:
    start = lately(30)
    write(engine, baseline(start - timedelta(days=2), start) + burst(start, 40))
    with Session(engine) as session, session.begin():
        rules.update(session, workspace_id=target(engine).workspace_id, min_volume=50)
    tick(engine, settings, now=soon())
    with Session(engine) as session:
        assert session.scalars(select(Incident)).all() == []


def test_an_alert_about_old_data_makes_a_past_episode_nobody_is_told_of(engine: Engine) -> None:
    space_id = workspace_with_recipients(engine, ("email", "cm@example.org", "always"))
    with Session(engine) as session, session.begin():
        live_one = alert_at(session, space_id, NOW + timedelta(days=20), now=NOW + timedelta(days=20, minutes=5))
        episode = alert_at(session, space_id, NOW, now=NOW + timedelta(days=20))  # an imported history
        later = alert_at(session, space_id, NOW + timedelta(hours=1), "high", now=NOW + timedelta(days=20))
        assert later.id == episode.id != live_one.id  # grouped like live alerts, never with a live incident
        assert (episode.past, episode.status, episode.severity, episode.alerts) == (True, "resolved", "high", 2)
        assert kinds(session, episode.id)[:3] == ["opened", "past", "alert"]
        assert [d.incident_id for d in session.scalars(select(Delivery))] == [live_one.id]
        escalated = incidents.escalate_due(session, workspace_id=space_id, rule=Rule(), now=NOW + timedelta(days=21))
        assert [i.id for i in escalated] == [live_one.id]
        with pytest.raises(Invalid, match="past episode"):
            incidents.reopen(session, incident_id=episode.id, actor="zoe", now=NOW + timedelta(days=20))
        listed = incidents.get_all(session, workspace_id=space_id, past=True)
        assert [i.id for i in listed] == [episode.id]
        assert [i.id for i in incidents.get_all(session, workspace_id=space_id, past=False)] == [live_one.id]


def test_rules_refuse_what_they_cannot_use(engine: Engine) -> None:
    space_id = target(engine).workspace_id
    with Session(engine) as session, session.begin():
        bad: list[tuple[dict[str, object], str]] = [
            ({"sensitivity": "extreme"}, "use one of low, medium, high"),
            ({"series": ("volume",)}, "series volume"),
            ({"min_volume": -1}, "0 or more"),
            ({"quiet_start": "22:00"}, "a start and an end"),
            ({"quiet_start": "25:00", "quiet_end": "07:00"}, "HH:MM"),
            ({"timezone": "Mars/Olympus"}, "IANA"),
            ({"spam_threshold": 1.5}, "probability"),
            ({"colour": "red"}, "unknown rule field"),
        ]
        for changes, message in bad:
            with pytest.raises(Invalid, match=message):
                rules.update(session, workspace_id=space_id, **changes)
        with pytest.raises(Invalid, match=r"expected name@example\.org"):
            rules.add_recipient(session, workspace_id=space_id, kind="email", target="not an address")
        with pytest.raises(Invalid, match="http:// or https://"):
            rules.add_recipient(session, workspace_id=space_id, kind="webhook", target="file:///etc/passwd")
        with pytest.raises(Invalid, match="email, webhook, slack"):
            rules.add_recipient(session, workspace_id=space_id, kind="pager", target="x")
        changed = rules.update(session, workspace_id=space_id, sensitivity="high", series=("mentions", "negative"))
        assert rules.get(session, workspace_id=space_id) == changed
        assert rules.get(session, workspace_id=space_id).min_volume == rules.DEFAULT.min_volume
        hook = rules.add_recipient(session, workspace_id=space_id, kind="webhook", target="https://hooks.example/x")
        assert hook.secret
        assert len(hook.secret) >= 32


@pytest.fixture
def run(settings: Settings, env_for: Callable[[Settings], None]) -> Callable[..., object]:
    env_for(settings)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def test_the_cli_lists_shows_acknowledges_resolves_and_reopens(
    engine: Engine, settings: Settings, run: Callable[..., object]
) -> None:
    start = lately(30)
    write(engine, baseline(start - timedelta(days=2), start) + burst(start, 40))
    assert run("watch", "--once").exit_code == 0  # type: ignore[attr-defined]
    listed = orjson.loads(run("incident", "list", "--json").stdout)  # type: ignore[attr-defined]
    assert [i["status"] for i in listed] == ["open"]
    number = str(listed[0]["id"])
    shown = run("incident", "show", number)
    assert "angry0" in shown.stdout
    assert "first" in shown.stdout
    assert run("incident", "ack", number, "--by", "zoe").exit_code == 0  # type: ignore[attr-defined]
    assert run("incident", "resolve", number, "--note", "handled").exit_code == 0  # type: ignore[attr-defined]
    assert run("incident", "reopen", number).exit_code == 0  # type: ignore[attr-defined]
    detail = orjson.loads(run("incident", "show", number, "--json").stdout)  # type: ignore[attr-defined]
    assert [e["kind"] for e in detail["log"]][-3:] == ["acknowledged", "resolved", "reopened"]
    assert detail["alert_list"][0]["explanation"]["first_messages"][0]["author"] == "angry0"
    refused = run("incident", "ack", "999")
    assert refused.exit_code == 1
    assert "no incident 999" in refused.stderr


def test_the_cli_sets_and_shows_the_rule_and_its_recipients(run: Callable[..., object], engine: Engine) -> None:
    target(engine)
    assert run("alert-rule", "set", "--sensitivity", "high", "--quiet", "22:00-07:00", "--timezone",
               "Europe/Paris", "--series", "negative,mentions", "--escalate-after", "0").exit_code == 0  # type: ignore[attr-defined]  # fmt: skip
    added = run("alert-rule", "recipient-add", "webhook", "https://hooks.example/pilote")
    assert "Signing secret" in added.stdout  # type: ignore[attr-defined]
    shown = orjson.loads(run("alert-rule", "show", "--json").stdout)  # type: ignore[attr-defined]
    assert shown["sensitivity"] == "high"
    assert shown["series"] == ["negative", "mentions"]
    assert (shown["quiet_start"], shown["quiet_end"], shown["escalate_after"]) == ("22:00", "07:00", None)
    assert [r["kind"] for r in shown["recipients"]] == ["webhook"]
    assert "secret" not in shown["recipients"][0]
    bad = run("alert-rule", "set", "--quiet", "late")
    assert bad.exit_code == 1
    assert "HH:MM-HH:MM" in bad.stderr
    with Session(engine) as session:
        assert session.scalars(select(IncidentEvent)).all() == []


def test_the_crisis_room_shows_the_incident_and_records_the_team_s_actions(engine: Engine, settings: Settings) -> None:
    from fastapi.testclient import TestClient

    from pilote.web import incidents as room_pages
    from pilote.web.app import create_app

    start = lately(30)
    write(engine, baseline(start - timedelta(days=2), start) + burst(start, 40)[:-1]
          + [Msg(start + timedelta(seconds=250), author="<script>alert(1)</script>", text="<b>bold</b> & angry",
                 negative=True, likes=100)])  # fmt: skip
    tick(engine, settings, now=soon())
    application = create_app(settings, engine)
    application.include_router(room_pages.router)  # the one line that mounts the crisis room
    with TestClient(application) as client:
        sign_in(client)
        listing = client.get("/w/acme/incidents")
        assert listing.status_code == 200
        number = int(listing.text.split("/w/acme/incidents/")[1].split('"')[0])
        page = client.get(f"/w/acme/incidents/{number}")
        assert page.status_code == 200
        assert "angry0" in page.text
        assert "First messages" in page.text
        assert "data-chart=" in page.text
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; angry" in page.text
        same_site = {"Origin": "http://testserver"}
        client.post(f"/w/acme/incidents/{number}/status", data={"action": "ack", "by": "zoe"}, headers=same_site)
        client.post(f"/w/acme/incidents/{number}/note", data={"text": "called the supplier", "by": "zoe"},
                    headers=same_site)  # fmt: skip
        client.post(f"/w/acme/incidents/{number}/statement", data={"text": "We are looking into it."},
                    headers=same_site)  # fmt: skip
        report = client.get(f"/w/acme/incidents/{number}/report.html")
        assert 'attachment; filename="incident-' in report.headers["content-disposition"]
        assert "We are looking into it." in report.text
        assert "called the supplier" in report.text
        assert "<form" not in report.text.split("<main", 1)[-1]  # the report is a document, not a page to act on
        missing = client.get(f"/w/acme/incidents/{number + 50}")
        assert missing.status_code == 404
    with Session(engine) as session:
        incident = incidents.get(session, incident_id=number)
        assert (incident.status, incident.acknowledged_by) == ("acknowledged", "zoe")
        assert incidents.statement(session, incident_id=number) == "We are looking into it."
