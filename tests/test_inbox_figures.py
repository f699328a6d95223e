"""Team figures from the inbox's records: handled, first response, resolution, service level, backlog by age;
the metrics catalogue's response figures read the same records. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import sign_in
from factories import T0, item, target
from pilote import metrics, tokens
from pilote.accounts import users
from pilote.accounts.audit import Actor
from pilote.cli import app
from pilote.config import Settings
from pilote.inbox import figures, intake, items
from pilote.ingest import Target, write_batch
from pilote.models import InboxEvent, InboxItem, Message, Workspace
from pilote.web.app import create_app
from test_inbox import team, write

PASSWORD = "a long enough password"
DAY = timedelta(days=1)
NOW = T0 + 2 * DAY
H = timedelta(hours=1)


def _item(session: Session, where: Target, message_id: int, *, opened: datetime, priority: int = 2,
          channel: str | None = None, status: str = "new", last: datetime | None = None,
          hidden: bool = False) -> InboxItem:  # fmt: skip
    row = InboxItem(workspace_id=where.workspace_id, key=f"k{message_id}", source_id=where.source_id,
                    first_message_id=message_id, last_message_id=message_id, channel=channel or where.channel,
                    status=status, priority=priority, opened_at=opened, last_at=last or opened, hidden=hidden,
                    due_at=opened + timedelta(hours=24), reasons="question", version=1)  # fmt: skip
    session.add(row)
    session.flush()
    return row


def built(engine: Engine, t0: datetime = T0) -> tuple[Target, dict[str, int], dict[str, int]]:
    """Items with known times around [t0, t0 + 1 day): their ids by letter, and the accounts by name."""
    T0 = t0  # noqa: N806 (the times below read as offsets of the period's start)
    where = target(engine)
    authors = "abcdefghij"
    with engine.begin() as conn:
        write_batch(conn, where, [item(x, author=f"p{x}", minutes=i) for i, x in enumerate(authors)])
    with Session(engine) as session, session.begin():
        msg: dict[str, int] = {e: i for e, i in session.execute(select(Message.external_id, Message.id))}
        space = session.get_one(Workspace, where.workspace_id)
        mod = users.create(session, email="mod@example.org", password=PASSWORD, display_name="Mo", role="moderator",
                           workspace=space)  # fmt: skip
        ana = users.create(session, email="ana@example.org", password=PASSWORD, display_name="Ana",
                           role="moderator", workspace=space)  # fmt: skip
        session.flush()
        ws = where.workspace_id
        made = {
            "a": _item(session, where, msg["a"], opened=T0),
            "b": _item(session, where, msg["b"], opened=T0 + H),
            "c": _item(session, where, msg["c"], opened=T0 + 2 * H, priority=3),
            "d": _item(session, where, msg["d"], opened=T0 + 3 * H, priority=1, status="open"),
            "e": _item(session, where, msg["e"], opened=T0 + 4 * H, priority=1),
            "f": _item(session, where, msg["f"], opened=T0 + 5 * H, channel="x", last=T0 + 2 * DAY - H / 2),
            "g": _item(session, where, msg["g"], opened=T0 - 2 * H, priority=1),  # before the period
            "h": _item(session, where, msg["h"], opened=T0 + 6 * H, priority=1),
            "i": _item(session, where, msg["i"], opened=T0 + 7 * H, hidden=True),  # hidden by a rule
            "j": _item(session, where, msg["j"], opened=T0 + 8 * H, status="pending"),
        }
        ids = {k: v.id for k, v in made.items()}
        by_mod, by_ana = Actor(mod.email, user_id=mod.id), Actor(ana.email, user_id=ana.id)
        items.touch_answered(session, made["a"], by_mod, at=T0 + H)  # 1 h, within 4 h
        _on_platform(session, made["b"], T0 + 3 * H)  # 2 h, within 4 h, by a team account on the platform
        items.touch_answered(session, made["c"], by_ana, at=T0 + 5 * H)  # 3 h: urgent, due within 1 h
        items.set_status(session, ws, [ids["e"]], "spam", by_mod, now=T0 + 5 * H)
        items.set_status(session, ws, [ids["g"]], "done", by_mod, now=T0 + 2 * H)  # 4 h after it opened
        items.set_status(session, ws, [ids["h"]], "done", by_mod, now=T0 + 7 * H)  # closed without an answer
        accounts = {"mod": mod.id, "ana": ana.id}
    return where, ids, accounts


def _on_platform(session: Session, row: InboxItem, at: datetime) -> None:
    """What the intake writes when a team account answers on the platform."""
    row.responded_at, row.status, row.resolved_at, row.due_at = at, "done", at, None
    session.execute(insert(InboxEvent), [
        {"workspace_id": row.workspace_id, "item_id": row.id, "user_id": None, "kind": "answered",
         "after": orjson.dumps({"message_id": row.first_message_id}).decode(), "at": at},
        {"workspace_id": row.workspace_id, "item_id": row.id, "user_id": None, "kind": "status",
         "before": '{"status":"new"}', "after": '{"status":"done"}', "at": at},
    ])  # fmt: skip


def team_figures(engine: Engine, workspace_id: int, **options: Any) -> figures.Figures:
    with engine.connect() as conn:
        return figures.team(conn, workspace_id, T0, T0 + DAY, now=NOW, **options)


def test_the_team_s_figures_count_what_each_person_and_channel_handled_and_how_fast(engine: Engine) -> None:
    where, ids, _ = built(engine)
    found = team_figures(engine, where.workspace_id)
    total = found.total
    assert total.asked == 7  # a b c d f h j (e is spam, g opened before the period, i is hidden)
    assert (total.first_response.count, total.response_rate) == (3, 42.8571)
    assert (total.first_response.median_hours, total.first_response.p90_hours) == (2.0, 2.8)
    assert total.handled == 6  # a b c e g h closed in the period
    assert (total.resolution.count, total.resolution.median_hours, total.resolution.p90_hours) == (5, 2.0, 3.6)
    assert (total.sla_met, total.sla_missed, total.sla_share) == (3, 4, 42.8571)  # met: a b h (closed in time)
    assert set(total.missed) == {ids["c"], ids["d"], ids["f"], ids["j"]}  # late; unanswered past due (j: pending)
    people = {row.key: row for row in found.people}
    assert set(people) == {"Mo", "Ana", figures.TEAM_ON_PLATFORM}
    mo, ana, platform = people["Mo"], people["Ana"], people[figures.TEAM_ON_PLATFORM]
    assert (mo.handled, mo.first_response.count, mo.first_response.median_hours, mo.sla_share) == (4, 1, 1.0, 100.0)
    assert (mo.resolution.count, mo.resolution.median_hours) == (3, 1.0)  # a, g, h (e was spam: no resolution)
    assert (ana.handled, ana.first_response.median_hours, ana.sla_missed, ana.missed) == (1, 3.0, 1, (ids["c"],))
    assert (platform.handled, platform.first_response.median_hours, platform.sla_met) == (1, 2.0, 1)
    channels = {row.key: row for row in found.channels}
    assert (channels["x"].asked, channels["x"].sla_missed, channels["x"].handled) == (1, 1, 0)
    assert channels[where.channel].asked == 6
    assert found.backlog == {"under_1h": 1, "1h_4h": 0, "4h_24h": 0, "1d_3d": 1, "over_3d": 0}  # f, d (j waits)
    assert found.backlog_by_channel == {where.channel: {**dict.fromkeys(found.backlog, 0), "1d_3d": 1},
                                        "x": {**dict.fromkeys(found.backlog, 0), "under_1h": 1}}  # fmt: skip
    only_x = team_figures(engine, where.workspace_id, channel="x")
    assert (only_x.total.asked, only_x.total.handled, sum(only_x.backlog.values())) == (1, 0, 1)
    assert orjson.loads(orjson.dumps(found.as_json()))["total"]["sla"]["share"] == 42.8571
    assert found.start == T0 - 2 * H  # the inbox's records start with its first item


def test_the_metrics_catalogue_and_the_team_figures_agree_on_a_period(engine: Engine) -> None:
    where = target(engine)
    write(engine, where, [
        item("post", "Nouveau vélo", author="blog"),
        item("c1", "Livré quand ?", parent="post", thread="post", minutes=5),
        item("c2", "Et la garantie ?", parent="post", thread="post", minutes=10, author="bob"),
        item("c3", "Toujours rien !", parent="post", thread="post", minutes=20, author="carol"),
        item("r1", "Demain !", parent="c1", thread="post", minutes=65, author="blog"),
    ], c1={"intent": "question"}, c2={"intent": "question"}, c3={"intent": "complaint"})  # fmt: skip
    team(engine, where, "blog")
    intake.take_new(engine, where.workspace_id, now=T0 + DAY)
    with Session(engine) as session, session.begin():
        space = session.get_one(Workspace, where.workspace_id)
        mod = users.create(session, email="mod@example.org", password=PASSWORD, display_name="Mo", role="moderator",
                           workspace=space)  # fmt: skip
        bob = session.scalars(select(InboxItem).order_by(InboxItem.id)).all()[1]
        items.touch_answered(session, bob, Actor(mod.email, user_id=mod.id), at=T0 + timedelta(minutes=130))
    since, until = T0 - H, T0 + DAY
    with Session(engine) as session:
        values = {f.name: f for f in metrics.report(session, where.workspace_id, since, until).figures}
        found = figures.team(session.connection(), where.workspace_id, since, until)
    total = found.total
    assert total.asked == 3
    assert values["response_rate"].value == total.response_rate == pytest.approx(200 / 3, abs=1e-3)
    assert values["first_response_median"].value == total.first_response.median_hours == 1.5
    assert values["first_response_p90"].value == total.first_response.p90_hours == 1.9
    assert "team inbox" in (values["response_rate"].note or "")
    assert values["response_by_member"].value == {
        "Mo": {"answers": 1, "median_hours": 2.0, "p90_hours": 2.0},
        figures.TEAM_ON_PLATFORM: {"answers": 1, "median_hours": 1.0, "p90_hours": 1.0},
    }
    by_channel = values["response_by_channel"].value
    assert by_channel == {row.key: {"asked": row.asked, "response_rate": row.response_rate,
                                    "median_hours": row.first_response.median_hours,
                                    "p90_hours": row.first_response.p90_hours} for row in found.channels}  # fmt: skip


def test_without_inbox_records_the_catalogue_reads_the_messages(engine: Engine) -> None:
    where = target(engine)
    write(engine, where, [
        item("post", "Nouveau vélo", author="blog"),
        item("c1", "Livré quand ?", parent="post", thread="post", minutes=5),
        item("r1", "Demain !", parent="c1", thread="post", minutes=65, author="blog"),
    ], c1={"intent": "question"})  # fmt: skip
    team(engine, where, "blog")
    with Session(engine) as session:
        values = {f.name: f for f in metrics.report(session, where.workspace_id, T0 - H, T0 + DAY).figures}
    assert (values["response_rate"].value, values["first_response_median"].value) == (100.0, 1.0)
    assert values["response_rate"].note is None


def test_pilote_inbox_figures_prints_json_and_a_table(engine: Engine, settings: Settings, env_for: Any) -> None:
    built(engine)
    env_for(settings)
    args = ["inbox", "figures", "--since", T0.isoformat(), "--until", (T0 + DAY).isoformat()]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    printed = orjson.loads(result.stdout)
    assert (printed["total"]["asked"], printed["total"]["handled"]) == (7, 6)
    assert {row["key"] for row in printed["people"]} == {"Mo", "Ana", figures.TEAM_ON_PLATFORM}
    assert set(printed["backlog"]) == {key for key, _ in figures.AGES}
    shown = CliRunner().invoke(app, args)
    assert shown.exit_code == 0, shown.output
    assert "Ana" in shown.stdout
    assert "Per channel" in shown.stdout
    bad = CliRunner().invoke(app, ["inbox", "figures", "--since", "2026-03-02", "--until", "2026-03-01"])
    assert bad.exit_code == 1
    assert "must come after" in bad.stderr


def test_the_page_its_csv_and_the_api_show_the_team_s_figures(settings: Settings, engine: Engine) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - 2 * DAY  # the page's periods end now
    where, ids, accounts = built(engine, start)
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client, email="lead@example.org", role="analyst", workspace="acme")
        english = client.get("/w/acme/inbox/figures", params={"period": "7d"})
        french = client.get("/w/acme/inbox/figures", params={"period": "7d"}, headers={"Accept-Language": "fr"})
        exported = client.get("/w/acme/inbox/figures.csv", params={"period": "7d"})
        refused = client.get("/w/acme/inbox/figures", params={"period": "2y"})
        refused_fr = client.get("/w/acme/inbox/figures", params={"period": "2y"}, headers={"Accept-Language": "fr"})
    assert english.status_code == 200, english.text
    assert "Team figures" in english.text
    assert f'data-person="{accounts["ana"]}"' in english.text
    assert "the team (on the platform)" in english.text
    assert 'href="/w/acme/threads/' in english.text  # the items behind a missed service level, each a link
    assert "data-chart=" in english.text
    assert "/static/vendor/echarts.min.js" in english.text
    assert "Chiffres de l’équipe" in french.text
    assert "l’équipe (sur la plateforme)" in french.text
    assert exported.headers["content-type"].startswith("text/csv")
    lines = exported.text.splitlines()
    assert lines[0].startswith("scope,key,asked,handled")
    assert any(line.startswith("person,Ana,,1,") for line in lines)
    assert "team,all,8,6," in exported.text  # the 7 days hold g too (opened 2 hours before the others)
    assert "backlog,under_1h" in exported.text
    assert refused.status_code == 422  # an unknown period is refused in words, the reader's
    assert "choose 7d, 30d or 90d" in refused.text
    assert refused_fr.status_code == 422
    assert "choose 7d" not in refused_fr.text
    with Session(engine) as session, session.begin():
        secret, _ = tokens.create(session, workspace=session.get_one(Workspace, where.workspace_id), name="api")
    with TestClient(create_app(settings, engine)) as client:
        answer = client.get("/api/v1/inbox/figures", params={"period": "7d"},
                            headers={"Authorization": f"Bearer {secret}"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["total"]["asked"], body["total"]["handled"]) == (8, 6)
    assert ids["c"] in body["total"]["sla"]["missed_items"]


def test_the_backlog_and_the_assignee_counts_read_an_index_alone(sqlite_engine: Engine) -> None:
    built(sqlite_engine)
    item = InboxItem
    unassigned = select(func.count()).where(item.workspace_id == 1, item.hidden.is_(False),
                                            item.status.in_(("new", "open")), item.assignee_id.is_(None))  # fmt: skip
    backlog = select(item.last_at).where(item.workspace_id == 1, item.channel == "x",
                                         item.status.in_(("new", "open")), item.hidden.is_(False))  # fmt: skip
    with sqlite_engine.connect() as conn:
        for query in (unassigned, backlog):
            sql = str(query.compile(sqlite_engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
            assert "COVERING INDEX" in plan, plan  # no row of the table is read (migration 0020)
