"""The metrics catalogue: values computed by hand on a small community, and on real reply trees."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from factories import T0, item, target
from pilote import community, merges, metrics, rollups, tokens
from pilote.accounts import audit
from pilote.cli import app
from pilote.config import Settings
from pilote.imports import import_file
from pilote.ingest import write_batch
from pilote.metrics import conversation
from pilote.metrics.engagement import percentile
from pilote.metrics.facts import distinct
from pilote.metrics.health import gini, level_of
from pilote.models import Author, Label, Message, Rollup, Workspace
from pilote.sources.base import Counters
from pilote.web.app import create_app

DAY = 24 * 60


def post(ident: str, minutes: int, author: str, **counters: Any) -> Any:
    return dataclasses.replace(item(ident, f"post {ident}", minutes=minutes, author=author),
                               counters=Counters(**counters))  # fmt: skip


def comment(ident: str, parent: str, thread: str, minutes: int, author: str, text: str = "hello", **labels: str) -> Any:
    found = item(ident, text, parent=parent, thread=thread, minutes=minutes, author=author)
    return dataclasses.replace(found, labels=tuple(labels.items()))


def small_community(engine: Engine) -> int:
    """Two posts by the brand, questions answered or not, spam, a deleted comment, old members coming back."""
    where = target(engine)
    items = [
        post("f0", -20 * DAY, "frank"),
        post("p0", -3 * DAY, "alice"),
        post("p1", 0, "brand", likes=10, shares=2, views=100),
        comment("c1", "p1", "p1", 10, "alice", "Lumen rocks?", intent="question", sentiment="positive"),
        comment("c2", "p1", "p1", 20, "bob", "the rival is better", intent="complaint", sentiment="negative"),
        comment("r2", "c2", "p1", 30, "carol", "Rival too", sentiment="neutral"),
        comment("r3", "r2", "p1", 40, "bob"),
        comment("r1", "c1", "p1", 70, "brand", "yes"),
        post("p2", DAY, "brand", likes=4, shares=0),
        comment("c3", "p2", "p2", DAY + 60, "alice", "lumen battery?", intent="question", sentiment="positive"),
        comment("c4", "p2", "p2", DAY + 70, "dave", "Lumen cheap pills", spam="spam"),
        comment("c5", "p2", "p2", DAY + 80, "erin", "[deleted]", status="deleted"),
        comment("r5", "c5", "p2", DAY + 90, "alice"),
        comment("r4", "c3", "p2", DAY + 240, "brand", "here"),
        comment("f2", "p1", "p1", 2000, "frank", "lumen again", sentiment="neutral"),
    ]
    with engine.begin() as conn:
        write_batch(conn, where, items)
        brand = conn.scalar(select(Author.id).where(Author.handle == "brand"))
        assert brand is not None
        community.mark_team(conn, where.workspace_id, [brand])
    return where.workspace_id


def week_report(engine: Engine, workspace_id: int) -> dict[str, Any]:
    with Session(engine) as session:
        found = metrics.report(session, workspace_id, T0, T0 + timedelta(days=7)).as_json()
    return found["metrics"]  # type: ignore[no-any-return]


def test_every_metric_of_a_small_community_matches_the_hand_count(engine: Engine) -> None:
    workspace_id = small_community(engine)
    with Session(engine) as session, session.begin():
        conversation.set_competitor(session, workspace_id, "us", ["Lumen"])
        conversation.set_competitor(session, workspace_id, "Rival", ["rival", ""])
    found = week_report(engine, workspace_id)
    values = {name: entry["value"] for name, entry in found.items()}
    assert values["posts"] == 2
    assert values["comments_per_post"] == 4.5  # p1: c1 c2 r2 r3 r1 f2; p2: c3 r5 r4 (spam and deleted left out)
    assert values["applause"] == 7.0
    assert values["amplification"] == 1.0
    assert values["engagement_rate"] == 18.0  # p1 only has a reach: (10 + 2 + 6) / 100
    assert "per reach" in found["engagement_rate"]["note"]
    assert values["organic_reach"] == 100
    assert values["response_rate"] == pytest.approx(200 / 3, abs=1e-3)  # c1 and c3 by the team; c2 by carol only
    assert (values["first_response_median"], values["first_response_p90"]) == (2.0, 2.8)
    assert values["response_by_member"] == {"brand": {"answers": 2, "median_hours": 2.0, "p90_hours": 2.8}}
    assert values["active_members"] == 4  # alice, bob, carol, frank: not the brand, not spam nor deleted
    assert values["daily_active_members"] == round(5 / 7, 4)
    assert (values["weekly_active_members"], values["monthly_active_members"]) == (4.0, 4.0)
    assert (values["new_members"], values["returning_members"], values["reactivated_members"]) == (2, 1, 1)
    assert values["retention_cohorts"] == {"2026-02-23": {"members": 2, "retained": [0.0]}}
    assert values["member_levels"] == {"1": 0, "2": 0, "3": 2, "4": 2}
    assert values["inactive_regulars"] == 0
    assert values["gini"] == 0.25  # messages per member: 3, 2, 1, 1
    assert values["top10_share"] == values["top1_share"] == round(300 / 7, 4)
    assert values["reply_share"] == round(500 / 9, 4)  # r1 r2 r3 r4 r5 of nine comments; r5 under a deleted one
    assert (values["thread_depth_median"], values["thread_depth_max"]) == (2.5, 3)
    assert values["sentiment_balance"] == 20.0  # +2 -1 and two neutral, from the labels
    assert values["share_of_voice"] == {"Rival": 40.0, "us": 60.0}  # the spam comment naming us is not counted
    previous = {name: entry["previous"] for name, entry in found.items()}
    assert (previous["active_members"], previous["new_members"], previous["returning_members"]) == (1, 1, 0)
    assert previous["posts"] == 1
    assert previous["response_rate"] is None


def test_a_person_s_label_and_a_merge_change_the_figures(engine: Engine) -> None:
    workspace_id = small_community(engine)
    with Session(engine) as session, session.begin():
        c2 = session.scalars(select(Message).where(Message.external_id == "c2")).one()
        session.add(Label(message_id=c2.id, name="intent", value="praise", origin="user"))  # not a complaint
        bob, carol = (session.scalars(select(Author).where(Author.handle == h)).one() for h in ("bob", "carol"))
        merges.merge(session, workspace_id, [bob.id, carol.id], by=audit.Actor("test"))
    values = {name: entry["value"] for name, entry in week_report(engine, workspace_id).items()}
    assert values["response_rate"] == 100.0  # c1 and c3, both answered by the team
    assert values["active_members"] == 3  # bob and carol are one person now
    assert values["gini"] == gini([3, 3, 1])


def test_a_channel_keeps_its_own_messages_only(engine: Engine) -> None:
    workspace_id = small_community(engine)
    with Session(engine) as session:
        found = metrics.report(
            session, workspace_id, T0, T0 + timedelta(days=7), focus=metrics.Focus("nowhere")
        ).as_json()
    assert found["metrics"]["active_members"]["value"] == 0
    assert found["metrics"]["posts"]["value"] == 0


def test_the_small_formulas() -> None:
    assert gini([1, 1, 1, 1]) == 0.0
    assert gini([0, 0, 0, 10]) == 0.75
    assert gini([]) is None
    assert percentile([1.0, 3.0], 0.9) == 2.8
    assert percentile([5.0], 0.5) == 5.0
    assert level_of(12, 10, 5) == "1"
    assert level_of(12, 10, 4) == "2"
    assert level_of(2, 91, 0) == "4"


def test_depths_found_at_once_are_the_walk_s() -> None:
    """Pointer doubling (`Depths.of`) gives each message its depth: a top-level message 0, a parent missing from
    the tree counts as a top-level one, a chain deeper than the walk's cap has its true depth (as the walk gives
    it when it goes down the chain in time order), and a cycle (damaged data) gets the walk's answer for it."""
    parents: dict[int, int | None] = {1: None, 2: 1, 3: 2, 4: 3, 5: 1, 6: 99, 7: 6, 0: None, 8: 0, 10: 11, 11: 10}
    chain = {100 + n: (100 + n - 1 if n else None) for n in range(12_000)}  # deeper than the walk's cap
    parents |= chain
    depths = conversation.Depths.of(parents)
    found = dict(zip(depths.ids.tolist(), depths.depth.tolist(), strict=True))
    known: dict[int, int] = {}
    walked = {i: conversation._depth(parents, i, known) for i in [*chain, 1, 2, 3, 4, 5, 6, 7, 0, 8]}  # in order
    assert {i: found[i] for i in walked} == walked
    assert [found[i] for i in (1, 4, 6, 7, 8, 100 + 11_999)] == [0, 3, 1, 2, 1, 11_999]
    assert (found[10], found[11]) == (conversation._depth(parents, 10, {}), conversation._depth(parents, 11, {}))
    assert depths.at(np.array([7, 4], dtype=np.int64)).tolist() == [2, 3]


@pytest.mark.parametrize("kind", ["whole", "fractions", "wide"])
def test_distinct_rows_are_the_sets_rows(kind: str) -> None:
    """`facts.distinct` finds the distinct rows a Python set of tuples holds, whether the columns fit in one key
    (whole numbers), or are sorted column by column (fractions, or ranges too wide for 64 bits)."""
    rng = np.random.default_rng(7)
    first = rng.integers(-50, 50, 2000).astype(np.float64)
    if kind == "fractions":
        first = first / 3
    second = rng.integers(-(2**40) if kind == "wide" else -30, 2**40 if kind == "wide" else 30, 2000)
    third = rng.integers(0, 3, 2000)
    if kind == "wide":
        second = np.concatenate([second[:-2], [-(2**62), 2**62]])
    order, new = distinct(first, second, third)
    rows = list(zip(first[order][new].tolist(), second[order][new].tolist(), third[order][new].tolist(), strict=True))
    assert sorted(rows) == rows
    assert set(rows) == set(zip(first.tolist(), second.tolist(), third.tolist(), strict=True))
    assert len(rows) == len(set(rows))
    empty, none = distinct(np.zeros(0), np.zeros(0, dtype=np.int64))
    assert (len(empty), len(none)) == (0, 0)


def test_the_cli_and_the_api_print_the_same_catalogue(engine: Engine, settings: Settings, env_for: Any) -> None:
    workspace_id = small_community(engine)
    env_for(settings)
    args = ["metrics", "--since", T0.isoformat(), "--until", (T0 + timedelta(days=7)).isoformat(), "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)  # stderr says it computes now: dates are never kept
    assert set(printed) == {"since", "until", "channel", "sources", "language", "topic", "metrics", "computed_at"}
    assert printed["computed_at"] is None
    assert set(printed["metrics"]) == set(metrics.CATALOGUE)
    assert {"comments_per_post", "reply_share", "response_rate"} <= set(printed["metrics"])
    assert printed["metrics"]["reply_share"]["unit"] == "%"
    assert printed["metrics"]["active_members"] == {"value": 4, "previous": 1, "unit": "members", "note": None}
    with Session(engine) as session, session.begin():
        secret, _ = tokens.create(session, workspace=session.get_one(Workspace, workspace_id), name="test")
    params = {"since": T0.isoformat(), "until": (T0 + timedelta(days=7)).isoformat()}
    with TestClient(create_app(settings, engine)) as client:
        response = client.get("/api/v1/metrics", params=params, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.text
    assert response.json()["metrics"] == printed["metrics"]
    bad = CliRunner().invoke(app, ["metrics", "--period", "2y"])
    assert bad.exit_code != 0
    assert "7d, 30d, 90d or all" in bad.output


# --- real reply trees (third-party data, read in place) ------------------------------------------------------


def _whole(engine: Engine) -> dict[str, Any]:
    with Session(engine) as session:
        workspace_id = session.scalars(select(Message.workspace_id)).first()
        assert workspace_id is not None
        start, end = metrics.span(session, workspace_id, period="all", now=T0 + timedelta(days=36500))
        found = metrics.report(session, workspace_id, start, end).as_json()
    return found["metrics"]  # type: ignore[no-any-return]


def _counted_ids(engine: Engine) -> set[str]:
    with Session(engine) as session:
        query = select(Message.external_id).where(community.counted())
        return set(session.scalars(query))


def _depth(parents: dict[str, str | None], node: str) -> int:
    depth = 0
    while parents.get(node) is not None:
        node, depth = parents[node] or "", depth + 1
    return depth


@pytest.mark.realdata
def test_reply_share_and_depth_of_a_real_reddit_thread(shared: Path, engine: Engine) -> None:
    with (shared / "reddit" / "announcements_n49rw_comments.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert (len(rows), sum(r["parent_id"].startswith("t1_") for r in rows)) == (1428, 893)
    parents: dict[str, str | None] = {f"t1_{r['id']}": r["parent_id"] for r in rows}
    parents["t3_n49rw"] = None
    import_file(engine, shared / "reddit" / "TestCommentForest.test_replace__all_large.json", format="reddit_json")
    kept = [i for i in parents if i in _counted_ids(engine) and parents[i] is not None]
    found = _whole(engine)
    answers = sum(parents[i].startswith("t1_") for i in kept)  # type: ignore[union-attr]
    assert found["reply_share"]["value"] == round(100.0 * answers / len(kept), 4)
    assert found["thread_depth_max"]["value"] == max(_depth(parents, i) for i in kept)
    assert found["thread_depth_median"]["value"] == max(_depth(parents, i) for i in kept)  # one thread


@pytest.mark.realdata
def test_a_reddit_thread_exported_without_its_post_holds_comments_and_no_post(shared: Path, engine: Engine) -> None:
    path = shared / "reddit" / "announcements_n49rw_comments.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    parents: dict[str, str | None] = {f"t1_{r['id']}": r["parent_id"] for r in rows}
    parents |= dict.fromkeys({p for p in parents.values() if p is not None} - parents.keys())  # not in the file
    import_file(engine, path)
    found = _whole(engine)
    comments = list(parents)[: len(rows)]
    assert (found["posts"]["value"], found["comments_per_post"]["value"]) == (0, None)
    deeper = sum(_depth(parents, i) >= 2 for i in comments)
    assert 0 < deeper < len(comments)
    assert found["reply_share"]["value"] == round(100.0 * deeper / len(comments), 4)
    assert found["thread_depth_max"]["value"] == max(_depth(parents, i) for i in comments)
    assert found["thread_depth_median"]["value"] == found["thread_depth_max"]["value"]  # one conversation
    # The dashboards' conversations count every comment in the thread too (days with DAILY_MIN of them at least).
    days = Counter(int(float(r["created_utc"])) // 86400 for r in rows)
    with Session(engine) as session:
        counted = session.scalar(select(func.sum(Rollup.count)).where(Rollup.series == "thread" + rollups.DAY))
    assert counted == sum(n for n in days.values() if n >= rollups.DAILY_MIN)


@pytest.mark.realdata
def test_reply_share_and_depth_of_a_real_mastodon_context(shared: Path, engine: Engine) -> None:
    path = shared / "mastodon" / "get_context_default.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    statuses = data["ancestors"] + data["descendants"]
    # The status they answer is not in the file: the 43 answering it are comments all the same (depth 1).
    parents: dict[str, str | None] = {s["id"]: s["in_reply_to_id"] for s in statuses}
    missing = {parent for parent in parents.values() if parent is not None} - parents.keys()
    parents |= dict.fromkeys(missing)
    import_file(engine, path, format="mastodon_json")
    comments = [s["id"] for s in statuses if parents[s["id"]] is not None]
    assert (len(statuses), len(comments), len(missing)) == (59, 59, 1)
    assert sum(parents[i] in missing for i in comments) == 43
    found = _whole(engine)
    deeper = sum(_depth(parents, i) >= 2 for i in comments)
    assert found["reply_share"]["value"] == round(100.0 * deeper / len(comments), 4)
    assert found["thread_depth_max"]["value"] == max(_depth(parents, i) for i in comments)
