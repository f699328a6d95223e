"""Each alert says what rose, against what expectation, and how sure the detector is: in the crisis room and the
API's incidents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import html
from radar_helpers import baseline, burst, lately, soon, write
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from accounts_support import sign_in
from pilote import tokens, workspaces
from pilote.config import Settings
from pilote.models import Alert, Incident
from pilote.radar.watch import tick
from pilote.web.app import create_app


@pytest.fixture
def cockpit(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """A workspace with a live incident: a calm stream, then a burst of negative messages by newcomers."""
    start = lately(30)
    write(engine, baseline(start - timedelta(days=2), start) + burst(start, 99))
    write(engine, burst(start, 3), slug="other")
    tick(engine, settings, now=soon())
    with TestClient(create_app(settings, engine)) as client:
        yield sign_in(client)


def _alerts(engine: Engine) -> tuple[Incident, list[Alert]]:
    with Session(engine) as session:
        incident = session.scalars(select(Incident)).one()
        return incident, list(session.scalars(select(Alert).where(Alert.incident_id == incident.id)))


def _token(engine: Engine, slug: str) -> dict[str, str]:
    with Session(engine) as session, session.begin():
        token, _ = tokens.create(session, workspace=workspaces.get(session, slug=slug), name="tests")
    return {"Authorization": f"Bearer {token}"}


def test_the_room_names_what_rose_the_expectation_the_ratio_and_the_score(cockpit: TestClient, engine: Engine) -> None:
    incident, alerts = _alerts(engine)
    cockpit.cookies.set("pilote_lang", "en")
    page = html.fromstring(cockpit.get(f"/w/acme/incidents/{incident.id}").text)
    [table] = page.xpath("//table[.//th[text()='What rose']]")
    headers = [" ".join(th.text_content().split()) for th in table.xpath(".//th")]
    assert headers == ["Alert", "What rose", "Value", "Expected", "Ratio", "Detector score", "Severity"]
    rows = [[" ".join(td.text_content().split()) for td in tr.xpath("td")] for tr in table.xpath(".//tbody/tr")]
    assert len(rows) == len(alerts)
    names = {"mentions": "messages", "negative": "negative messages", "reach": "reach",
             "negative_share": "share of negative messages", "newcomers": "share of first-time authors",
             "newcomer_reach": "reach of first-time authors"}  # fmt: skip
    ordered = sorted(alerts, key=lambda a: (a.at, a.id))
    assert [row[1] for row in rows] == [names.get(a.series, a.series) for a in ordered]
    for row, alert in zip(rows, ordered, strict=True):
        assert row[4] == (f"× {round(alert.value / alert.expected, 2):g}" if alert.expected > 0 else "nothing expected")
        assert row[5] == f"{round(alert.score, 2):g}"
    cockpit.cookies.set("pilote_lang", "fr")
    french = html.fromstring(cockpit.get(f"/w/acme/incidents/{incident.id}").text)
    assert french.xpath("//th[text()='Ce qui a monté']")
    assert french.xpath("//th[text()='Score du détecteur']")


def test_the_api_lists_incidents_and_gives_each_alert_its_reasons(cockpit: TestClient, engine: Engine) -> None:
    incident, alerts = _alerts(engine)
    headers = _token(engine, "acme")
    listed = cockpit.get("/api/v1/incidents", headers=headers).json()
    assert [(i["id"], i["past"], i["alerts"]) for i in listed] == [(incident.id, False, len(alerts))]
    assert cockpit.get("/api/v1/incidents", params={"show": "past"}, headers=headers).json() == []
    detail: dict[str, Any] = cockpit.get(f"/api/v1/incidents/{incident.id}", headers=headers).json()
    assert len(detail["alert_list"]) == len(alerts)
    for alert in detail["alert_list"]:
        assert {"series", "at", "value", "expected", "ratio", "score", "severity", "explanation"} <= set(alert)
        assert alert["ratio"] == (round(alert["value"] / alert["expected"], 2) if alert["expected"] > 0 else None)
        assert 0 <= alert["score"] <= 1
        assert alert["severity"] in ("low", "medium", "high")
        assert alert["explanation"]["first_messages"]
    assert "deliveries" not in detail
    assert detail["log"][0]["kind"] == "opened"


def test_an_incident_of_another_workspace_is_not_found(cockpit: TestClient, engine: Engine) -> None:
    incident, _ = _alerts(engine)
    response = cockpit.get(f"/api/v1/incidents/{incident.id}", headers=_token(engine, "other"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert cockpit.get("/api/v1/incidents", headers=_token(engine, "other")).json() == []
    assert cockpit.get("/api/v1/incidents").status_code == 401
