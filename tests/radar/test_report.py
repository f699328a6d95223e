"""The crisis room's pages: past episodes apart from live incidents, and a report that stands on its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime
from fastapi.testclient import TestClient
from lxml import html
from radar_helpers import Msg, baseline, burst, lately, soon, write
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from accounts_support import sign_in
from pilote.config import Settings
from pilote.models import Alert, Incident
from pilote.radar import rules
from pilote.radar.watch import tick
from pilote.web.app import create_app

HOSTILE = "<script>alert(1)</script>"
ZONE = "Asia/Tokyo"  # nine hours ahead of UTC all year: a time shown in UTC cannot pass for it


@pytest.fixture
def cockpit(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """A workspace whose rule is in Tokyo's time, with a past episode forty days ago and a live incident now."""
    old, start = lately(0) - timedelta(days=40), lately(30)
    hostile = Msg(start + timedelta(seconds=250), author=HOSTILE, text="<b>bold</b> & angry", negative=True, likes=100)
    then = baseline(old - timedelta(days=2), old) + burst(old, 40, author_prefix="then")
    # Loud: the episode forty days ago raised the detectors' bar, which comes down only as buckets are fed.
    now = baseline(start - timedelta(days=2), start) + burst(start, 99) + [hostile]
    space_id = write(engine, then + now).workspace_id
    with Session(engine) as session, session.begin():
        rules.update(session, workspace_id=space_id, timezone=ZONE)
    tick(engine, settings, now=soon())
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client)
        client.cookies.set("pilote_tz", "Europe/Paris")  # the reader's zone: the report keeps the workspace's
        yield client


def incident(engine: Engine, *, past: bool) -> Incident:
    with Session(engine) as session:
        return session.scalars(select(Incident).where(Incident.past.is_(past))).one()


def test_the_list_tells_past_episodes_from_live_incidents(cockpit: TestClient, engine: Engine) -> None:
    live, past = incident(engine, past=False), incident(engine, past=True)
    listed = {show: _numbers(cockpit.get(f"/w/acme/incidents{show}").text) for show in ("", "?show=live", "?show=past")}
    assert listed == {"": {live.id, past.id}, "?show=live": {live.id}, "?show=past": {past.id}}
    page = html.fromstring(cockpit.get("/w/acme/incidents").text)
    assert page.xpath("string(//tr[.//a[text()=$n]]//span[contains(@class, 'past')])", n=str(past.id)) == "past episode"
    refused = cockpit.get("/w/acme/incidents?show=old")
    assert (refused.status_code, "use live or past" in refused.text) == (422, True)
    room = html.fromstring(cockpit.get(f"/w/acme/incidents/{past.id}").text)
    assert room.xpath("//button[@name='action']") == []  # nothing to acknowledge, resolve or reopen
    assert "A past episode" in room.xpath("string(//p[@class='notice'])")
    assert room.xpath("//form[contains(@action, '/note')]")  # the log still takes notes


def _numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r'href="/w/acme/incidents/(\d+)"', text)}


def test_the_exported_report_stands_on_its_own(cockpit: TestClient, engine: Engine) -> None:
    live = incident(engine, past=False)
    response = cockpit.get(f"/w/acme/incidents/{live.id}/report.html")
    document = html.fromstring(response.text)
    assert response.headers["content-disposition"] == f'attachment; filename="incident-{live.id}-acme.html"'
    # Its styles inside, a rule for every class it uses; nothing to fetch, no script, no cockpit menu, no form.
    [style] = document.xpath("//style")
    used = {name for value in document.xpath("//body//@class") for name in value.split()}
    assert used
    assert {name for name in used if not re.search(rf"\.{name}\b", style.text)} == set()
    assert ".grid > section" in style.text  # the rules as written, not escaped into nothing
    assert document.xpath("//script | //link | //nav | //form | //header | //img | //iframe | //base") == []
    assert not [h for h in document.xpath("//@href | //@src") if not h.startswith(("https://", "http://"))]
    [policy] = document.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")
    assert "default-src 'none'" in policy
    assert "script-src" not in policy
    # Times in the workspace's zone (its alert rule's), whatever the reader's.
    text = document.text_content()
    with Session(engine) as session:
        first_alert = session.scalars(select(Alert).where(Alert.incident_id == live.id).order_by(Alert.at)).first()
    assert first_alert is not None
    assert format_datetime(first_alert.at, "medium", tzinfo=ZoneInfo(ZONE), locale="en") in text
    assert format_datetime(first_alert.at, "medium", tzinfo=ZoneInfo("Europe/Paris"), locale="en") not in text
    assert f"Times are shown in {ZONE}." in document.xpath("string(//footer)")
    # People's words are text, never markup.
    assert HOSTILE in text
    assert "<b>bold</b> & angry" in text
    assert document.xpath("//p[@class='text']/b") == []
