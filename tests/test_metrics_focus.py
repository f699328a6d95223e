"""Every metric read over a part of a workspace: one source, one language, one topic (a keyphrase), beside the
channel; the same values on the fast path and the straightforward one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import sign_in
from factories import T0, item, target
from pilote import enrich, metrics, tokens
from pilote.cli import app
from pilote.config import Settings
from pilote.enrich.pipeline import run as enrich_run
from pilote.errors import NotFound
from pilote.ingest import write_batch
from pilote.models import Enrichment, Message, Source, Workspace
from pilote.simulate import simulate
from pilote.web.app import create_app

WEEK = (T0 - timedelta(hours=1), T0 + timedelta(days=7))
# external id → (source, author, parent, language, keyphrases)
MESSAGES = {
    "p1": ("blog.a", "alice", None, "fr", ["vélo électrique"]),
    "c1": ("blog.a", "bob", "p1", "fr", ["batterie"]),
    "c2": ("blog.a", "carol", "p1", "en", ["battery life"]),
    "q1": ("blog.b", "dave", None, "en", ["batterie vélo"]),
    "d1": ("blog.b", "erin", "q1", "fr", ["selle"]),
}


def two_blogs(engine: Engine) -> int:
    """Two blogs of one workspace, in two languages, each message with its keyphrases; the workspace's id."""
    ids: dict[str, int] = {}
    for key in ("blog.a", "blog.b"):
        where = target(engine, key=key)
        mine = [(e, m) for e, m in MESSAGES.items() if m[0] == key]
        with engine.begin() as conn:
            write_batch(conn, where, [item(e, f"text {e}", parent=m[2], author=m[1], minutes=n) for n, (e, m) in
                                      enumerate(mine)])  # fmt: skip
            query = select(Message.external_id, Message.id).where(Message.source_id == where.source_id)
            ids.update((e, i) for e, i in conn.execute(query))
    with engine.begin() as conn:
        for external_id, (_, _, _, language, phrases) in MESSAGES.items():
            conn.execute(update(Message).where(Message.id == ids[external_id]).values(language=language))
            value = orjson.dumps({"keyphrases": {"keyphrases": phrases}}).decode()
            conn.execute(insert(Enrichment).values(message_id=ids[external_id], versions="{}", value=value,
                                                   updated_at=T0))  # fmt: skip
    return where.workspace_id


def figures(engine: Engine, workspace_id: int, **asked: Any) -> dict[str, Any]:
    with Session(engine) as session:
        only = metrics.narrow(session, workspace_id, **asked)
        found = metrics.report(session, workspace_id, *WEEK, focus=only).as_json()
    return {name: entry["value"] for name, entry in found["metrics"].items()}


@pytest.mark.parametrize(
    ("asked", "posts", "active"),
    [
        ({}, 2, 5),
        ({"language": "fr"}, 1, 3),  # p1, c1, d1
        ({"language": "FR "}, 1, 3),
        ({"source": "blog.a"}, 1, 3),  # p1, c1, c2
        ({"channel": "blog:blog.b"}, 1, 2),
        ({"topic": "batterie"}, 1, 2),  # c1, and q1 whose phrase holds the word
        ({"topic": "Vélo"}, 2, 2),  # p1, q1
        ({"topic": "batt"}, 0, 0),  # whole words only
        ({"topic": "vélo", "language": "en"}, 1, 1),  # q1
        ({"topic": "100%_"}, 0, 0),  # LIKE's wildcards are the topic's own characters
    ],
)
def test_every_metric_reads_the_part_asked_for(engine: Engine, asked: dict[str, str], posts: int, active: int) -> None:
    values = figures(engine, two_blogs(engine), **asked)
    assert (values["posts"], values["active_members"]) == (posts, active)


def test_an_unknown_source_is_refused(engine: Engine) -> None:
    workspace_id = two_blogs(engine)
    with Session(engine) as session, pytest.raises(NotFound, match="no source 'nowhere'"):
        metrics.narrow(session, workspace_id, source="nowhere")


def test_the_report_says_what_it_read(engine: Engine) -> None:
    workspace_id = two_blogs(engine)
    with Session(engine) as session:
        only = metrics.narrow(session, workspace_id, source="blog.b", language="en", topic=" Batterie  vélo ")
        found = metrics.report(session, workspace_id, *WEEK, focus=only).as_json()
    assert (found["language"], found["topic"], found["channel"]) == ("en", "batterie vélo", None)
    assert len(found["sources"]) == 1
    assert found["metrics"]["posts"]["value"] == 1


END = datetime(2026, 6, 1, tzinfo=UTC)


def test_the_fast_path_gives_the_straightforward_values_for_a_language_and_a_topic(engine: Engine) -> None:
    simulate(engine, workspace="demo", days=120, members=60, seed=3, end=END)
    with Session(engine) as session:
        workspace_id = session.scalars(select(Workspace.id).where(Workspace.slug == "demo")).one()
    enrich_run(engine, enrich.get(["language", "keyphrases"]), workspace_id=workspace_id, workers=1)
    with Session(engine) as session:
        for only in (metrics.Focus(language="fr"), metrics.Focus(topic="vélo")):
            fast = metrics.report(session, workspace_id, END - timedelta(days=30), END, focus=only).as_json()
            plain = metrics.report(session, workspace_id, END - timedelta(days=30), END, focus=only, summed=False)
            assert fast == plain.as_json()
            assert fast["metrics"]["active_members"]["value"] > 0
            whole = metrics.report(session, workspace_id, END - timedelta(days=30), END).as_json()
            assert fast["metrics"]["active_members"]["value"] < whole["metrics"]["active_members"]["value"]


def test_the_command_line_and_the_api_take_the_same_filters(engine: Engine, settings: Settings, env_for: Any) -> None:
    workspace_id = two_blogs(engine)
    env_for(settings)
    asked = {"since": WEEK[0].isoformat(), "until": WEEK[1].isoformat(), "source": "blog.a", "language": "fr",
             "topic": "batterie"}  # fmt: skip
    result = CliRunner().invoke(app, ["metrics", "--json", *(f"--{name}={value}" for name, value in asked.items())])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert (printed["metrics"]["posts"]["value"], printed["metrics"]["active_members"]["value"]) == (0, 1)  # c1
    with Session(engine) as session, session.begin():
        secret, _ = tokens.create(session, workspace=session.get_one(Workspace, workspace_id), name="test")
    with TestClient(create_app(settings, engine)) as client:
        response = client.get("/api/v1/metrics", params=asked, headers={"Authorization": f"Bearer {secret}"})
        unknown = client.get("/api/v1/metrics", params={"source": "nowhere"},
                             headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert response.status_code == 200, response.text
    served = response.json()
    assert served["metrics"] == printed["metrics"]
    assert [served[k] for k in ("sources", "language", "topic")] == [
        printed[k] for k in ("sources", "language", "topic")
    ]
    assert unknown.status_code == 404
    refused = CliRunner().invoke(app, ["metrics", "--source", "nowhere"])
    assert refused.exit_code == 1
    assert "no source 'nowhere'" in refused.output


def test_the_health_page_reads_the_part_asked_for_and_keeps_it(
    sqlite_settings: Settings, sqlite_engine: Engine
) -> None:
    two_blogs(sqlite_engine)
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
        with Session(sqlite_engine) as session:
            blog_b = session.scalars(select(Source.id).where(Source.key == "blog.b")).one()
        asked = {"since": "2026-02-28", "until": "2026-03-07", "source": str(blog_b), "language": "fr"}
        page = lxml_html.fromstring(client.get("/w/acme/health", params=asked).text)
        everything = lxml_html.fromstring(client.get("/w/acme/health", params={"period": "7d"}).text)
        unknown = client.get("/w/acme/health", params={**asked, "source": "999"})
    assert page.xpath("normalize-space(//tr[@data-metric='active_members']/td[contains(@class, 'value')])") == "1"
    assert page.xpath("//select[@name='source']/option[@selected]/@value") == [str(blog_b)]
    assert page.xpath("//input[@name='language']/@value") == ["fr"]
    assert "language=fr" in page.xpath("//a[@data-csv]/@href")[0]
    assert all("language=fr" in href for href in page.xpath("//div[@class='periods']/a[not(@data-csv)]/@href"))
    assert "blog.b" in page.xpath("normalize-space(//p[@class='lede'])")
    assert not everything.xpath("//select[@name='source']/option[@selected]")
    assert unknown.status_code == 404
