"""The vanity-versus-engagement panel and the per-follower engagement rate, computed by hand on a small fixture."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import sign_in
from factories import T0, item, target
from pilote import audience, community, metrics
from pilote.cli import app
from pilote.config import Settings
from pilote.ingest import write_batch
from pilote.metrics import Focus
from pilote.metrics.catalogue import NO_FOLLOWERS
from pilote.models import Author
from pilote.sources.base import Audience, Counters
from pilote.web import i18n
from pilote.web.app import create_app

WEEK = (T0, T0 + timedelta(days=7))
CHANNEL = "blog:blog.example.org"  # the factories' source; its own account is "brand"


def post(ident: str, minutes: int, author: str, **counters: Any) -> Any:
    return dataclasses.replace(item(ident, f"post {ident}", minutes=minutes, author=author),
                               counters=Counters(**counters))  # fmt: skip


def followed_community(engine: Engine, *, views: int | None = None) -> int:
    """Two posts by the brand (5 and 5 interactions, p1's counting bob's comment), a mention by alice (100), and
    the follower counts of two own accounts: brand 1,000 the day before the week, 1,010 an hour in, 1,040 on day 3,
    2,000 on day 8; shop 500 two hours in and 520 on day 5."""
    where = target(engine)
    items = [post("p1", 0, "brand", likes=3, shares=1, views=views), post("p2", 2 * 24 * 60, "brand", likes=5),
             post("m1", 24 * 60, "alice", likes=100), item("c1", "nice", parent="p1", thread="p1", minutes=30,
                                                           author="bob")]  # fmt: skip
    counts = {"brand": [(-24, 1000), (1, 1010), (72, 1040), (8 * 24, 2000)], "shop": [(2, 500), (5 * 24, 520)]}
    seen = [Audience(account, T0 + timedelta(hours=hours), followers) for account, found in counts.items()
            for hours, followers in found]  # fmt: skip
    with engine.begin() as conn:
        write_batch(conn, where, items)
        brand = conn.scalar(select(Author.id).where(Author.handle == "brand"))
        assert brand is not None
        community.mark_team(conn, where.workspace_id, [brand])
        assert audience.record(conn, workspace_id=where.workspace_id, source_id=where.source_id, seen=seen) == 6
    return where.workspace_id


def figures(engine: Engine, workspace_id: int, span: tuple[datetime, datetime] = WEEK, **focus: Any) -> Any:
    with Session(engine) as session:
        return metrics.report(session, workspace_id, *span, focus=Focus(**focus)).as_json()["metrics"]


def panel(followers: int | None, change: int | None, posts: int, interactions: int, engaged: int) -> dict[str, Any]:
    per_1000 = round(1000 * interactions / followers, 2) if followers else None
    return {"followers": followers, "followers_change": change, "team_posts": posts, "team_interactions": interactions,
            "engaged_members": engaged, "per_1000_followers": per_1000}  # fmt: skip


def test_the_panel_shows_each_channels_last_followers_and_their_change_beside_engagement(engine: Engine) -> None:
    found = figures(engine, followed_community(engine))["vanity_vs_engagement"]
    # brand: last in the week 1,040, from 1,000 before it; shop: 520, from its first count in the week, 500.
    # The team's p1 (3 + 1 + bob's comment) and p2 (5); alice and bob wrote: 2 engaged members; 10 / 1,560 x 1,000
    assert found["value"] == {CHANNEL: panel(1560, 60, 2, 10, 2)}
    assert found["value"][CHANNEL]["per_1000_followers"] == 6.41
    assert found["note"] == (
        "followers: the last count of the period, as the platforms reported it at Pilote's syncs (own accounts: 2)"
    )
    # the week before holds brand's 1,000 only, its first count there: no change
    assert found["previous"] == {CHANNEL: panel(1000, 0, 0, 0, 0)}
    assert found["previous"][CHANNEL]["per_1000_followers"] == 0.0


def test_the_engagement_rate_falls_back_to_the_teams_posts_per_follower_when_no_reach_is_known(engine: Engine) -> None:
    found = figures(engine, followed_community(engine))["engagement_rate"]
    # p1 (5) at the week's start: brand 1,010 (an hour after, nearer than 1,000 a day before) + shop 500 (two hours
    # after); p2 (5) on day 2: brand 1,040 (a day after, nearer than 1,010 47 hours before) + shop 500 (46 hours
    # before, nearer than 520 72 hours after). alice's mention is not the team's: its 100 are not over our followers.
    assert found["value"] == round(100 * 10 / (1510 + 1540), 4) == 0.3279
    assert found["note"] == (
        "per follower: the team's 2 posts on channels with follower counts (of 3 posts), over their channel's followers"
    )


def test_the_nearest_count_may_be_before_the_period_or_after_it(engine: Engine) -> None:
    workspace_id = followed_community(engine)
    found = figures(engine, workspace_id, (T0 + timedelta(days=1), T0 + timedelta(hours=49)))["engagement_rate"]
    # p2 only, at hour 48: brand 1,040 at hour 72 (after the period's end), shop 500 at hour 2 (before its start)
    assert found["value"] == round(100 * 5 / (1040 + 500), 4)
    assert found["note"].startswith("per follower: the team's 1 posts")


def test_a_known_reach_wins_over_followers(engine: Engine) -> None:
    found = figures(engine, followed_community(engine, views=50))["engagement_rate"]
    assert found["value"] == 10.0  # p1 only: (3 + 1 + 1) / 50
    assert found["note"] == "per reach (views) of 1 of 3 posts"


def test_without_follower_counts_the_rate_is_not_computed_and_the_panel_says_why(engine: Engine) -> None:
    workspace_id = followed_community(engine)
    found = figures(engine, workspace_id, (T0 + timedelta(days=10), T0 + timedelta(days=17)))
    assert found["engagement_rate"]["value"] is None
    assert found["engagement_rate"]["note"].startswith("not computed")
    assert found["vanity_vs_engagement"]["value"] == {}  # no count in days 10 to 17, and no post
    # days 3 to 10: brand 1,040 then 2,000, from 1,010 before; shop 520, from 500 before
    assert found["vanity_vs_engagement"]["previous"] == {CHANNEL: panel(2000 + 520, 990 + 20, 0, 0, 0)}
    other = figures(engine, workspace_id, channel="social")
    assert other["vanity_vs_engagement"]["value"] == {}
    assert other["vanity_vs_engagement"]["note"] == NO_FOLLOWERS


def test_the_command_line_says_which_base_the_rate_used(engine: Engine, settings: Settings, env_for: Any) -> None:
    followed_community(engine)
    env_for(settings)
    asked = [
        "metrics",
        "--json",
        "--workspace=acme",
        f"--since={WEEK[0].isoformat()}",
        f"--until={WEEK[1].isoformat()}",
    ]
    result = CliRunner().invoke(app, asked)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)["metrics"]
    assert printed["engagement_rate"]["value"] == 0.3279
    assert printed["engagement_rate"]["note"].startswith("per follower")
    assert printed["vanity_vs_engagement"]["value"][CHANNEL]["followers"] == 1560


def test_the_health_page_shows_the_panel_in_french_or_says_how_to_get_followers(
    engine: Engine, settings: Settings
) -> None:
    followed_community(engine)
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client, email="analyst@example.org", role="analyst", workspace="acme")
        client.cookies.set(i18n.LANGUAGE_COOKIE, "fr")
        query = {"since": WEEK[0].date().isoformat(), "until": (WEEK[1] - timedelta(days=1)).date().isoformat()}
        page = lxml_html.fromstring(client.get("/w/acme/health", params=query).text)
        headings = page.xpath("//table[@data-table='vanity_vs_engagement']//th/text()")
        assert headings == ["abonnés", "évolution des abonnés", "publications de l’équipe", "interactions reçues",
                                "membres engagés", "interactions pour 1 000 abonnés"]  # fmt: skip
        cells = page.xpath("//table[@data-table='vanity_vs_engagement']//tbody/tr/td/text()")
        assert cells[0] == CHANNEL
        assert not page.xpath("//p[@data-empty='followers']")
        client.cookies.set(i18n.LANGUAGE_COOKIE, "en")
        page = lxml_html.fromstring(client.get("/w/acme/health", params={**query, "channel": "social"}).text)
        empty = " ".join(page.xpath("string(//p[@data-empty='followers'])").split())
        assert empty.startswith("No follower count yet. Connect an account whose platform reports followers")
        assert page.xpath("//p[@data-empty='followers']/a/@href") == ["/w/acme/sources"]
