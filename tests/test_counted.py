"""What the figures count: drafts, scheduled and private posts are kept but counted nowhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from accounts_support import sign_in
from pilote import messages, rollups, stats
from pilote.config import Settings
from pilote.imports import import_file
from pilote.models import Author, Label, Message, RadarCursor, RadarPoint, Rollup, Workspace
from pilote.radar.watch import tick
from pilote.sources import wxr
from pilote.sources.base import Item, ParseOptions
from pilote.views import explorer, members, overview
from pilote.views.explorer import ExplorerQuery
from pilote.web.app import create_app

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Café Vélo</title><link>https://cafe-velo.example/</link>
"""
COMMENT = """<wp:comment><wp:comment_id>{id}</wp:comment_id><wp:comment_author>Zoé</wp:comment_author>
<wp:comment_date_gmt>2024-05-01 1{id}:00:00</wp:comment_date_gmt><wp:comment_content>Super !</wp:comment_content>
<wp:comment_approved>1</wp:comment_approved><wp:comment_parent>0</wp:comment_parent></wp:comment>"""
# The team's own blog: one published post with two comments, then a draft, a private post and one scheduled
# for 2030, as WordPress exports them.
POSTS = {
    1: ("publish", "2024-05-01 09:00:00", COMMENT.format(id=1) + COMMENT.format(id=2)),
    2: ("draft", "2024-05-02 09:00:00", ""),
    3: ("private", "2024-05-03 09:00:00", ""),
    4: ("future", "2030-01-01 09:00:00", ""),
}
PUBLISHED = 3  # the published post and its two comments


def blog(path: Path, **statuses: str) -> Path:
    """The team's export; `statuses` changes a post's status (`post4="publish"`)."""
    items = []
    for number, (status, date, comments) in POSTS.items():
        status = statuses.get(f"post{number}", status)
        items.append(f"""<item><title>Billet {number}</title><link>https://cafe-velo.example/?p={number}</link>
<dc:creator>admin</dc:creator><content:encoded><![CDATA[<p>Nouvelle selle {number}</p>]]></content:encoded>
<wp:post_id>{number}</wp:post_id><wp:post_date_gmt>{date}</wp:post_date_gmt><wp:status>{status}</wp:status>
<wp:post_type>post</wp:post_type>{comments}</item>""")
    path.write_text(HEAD + "".join(items) + "</channel></rss>", encoding="utf-8")
    return path


def workspace_id(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalars(select(Workspace.id)).one()


def rollup_total(engine: Engine, series: str = "messages") -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.coalesce(func.sum(Rollup.count), 0)).where(Rollup.series == series)))


def last_rollup_hour(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.max(Rollup.hour))))


def test_a_post_keeps_its_wordpress_status_as_a_label(tmp_path: Path) -> None:
    entries = list(wxr.parse(blog(tmp_path / "blog.xml"), ParseOptions()))
    statuses = {e.external_id: dict(e.labels).get("status") for e in entries if isinstance(e, Item)}
    assert statuses == {
        "post:1": "publish", "comment:1": "approved", "comment:2": "approved",
        "post:2": "draft", "post:3": "private", "post:4": "future",
    }  # fmt: skip
    assert [messages.is_counted({"status": s}) for s in ("publish", "approved", "draft", "private", "future")] == [
        True, True, False, False, False,
    ]  # fmt: skip


def test_unpublished_posts_are_kept_but_no_figure_counts_them(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, blog(tmp_path / "blog.xml"))
    space = workspace_id(engine)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 6  # everything is kept, raw included
        everything = overview.figures(session, space, overview.period(datetime(2024, 1, 1, tzinfo=UTC),
                                                                      datetime(2031, 1, 1, tzinfo=UTC)))  # fmt: skip
        in_2030 = overview.figures(session, space, overview.period(datetime(2030, 1, 1, tzinfo=UTC),
                                                                   datetime(2030, 1, 2, tzinfo=UTC)))  # fmt: skip
        store = stats.compute(session, session.get_one(Workspace, space))
        admin = session.scalars(select(Author.id).where(Author.handle == "admin")).one()
        profile = members.member(session, admin)
    assert everything["messages"].value == PUBLISHED
    assert in_2030["messages"].value == 0
    assert rollup_total(engine) == PUBLISHED
    assert rollups.hour_start(last_rollup_hour(engine)) < datetime(2025, 1, 1, tzinfo=UTC)
    assert (store.messages, store.unpublished, store.by_kind) == (PUBLISHED, 3, {"comment": 2, "post": 1})
    assert store.last == datetime(2024, 5, 1, 12, tzinfo=UTC)  # the last comment, not the post of 2030
    assert (profile.messages, profile.last_seen) == (1, datetime(2024, 5, 1, 9, tzinfo=UTC))
    assert [card.title for card in profile.recent] == ["Billet 1"]


def test_the_explorer_leaves_them_out_unless_asked_for_them_alone(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, blog(tmp_path / "blog.xml"))
    space = workspace_id(engine)
    with Session(engine) as session:
        shown = explorer.search(session, ExplorerQuery(space, limit=50)).items
        engaged = explorer.search(session, ExplorerQuery(space, sort="engaged", limit=50)).items
        withheld = explorer.search(session, ExplorerQuery(space, unpublished=True, limit=50)).items
        words = explorer.search(session, ExplorerQuery(space, text="selle", limit=50)).items
    assert len(shown) == len(engaged) == PUBLISHED
    assert sorted(card.title or "" for card in withheld) == ["Billet 2", "Billet 3", "Billet 4"]
    assert [card.title for card in words] == ["Billet 1"]


def test_a_scheduled_post_counts_once_a_new_export_says_it_is_published(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, blog(tmp_path / "blog.xml"))
    report = import_file(engine, blog(tmp_path / "blog.xml", post4="publish", post2="publish"))
    assert (report.counts.updated, report.counts.unchanged) == (2, 4)
    kept = sorted(tuple(r) for r in _rollups(engine))
    with engine.begin() as conn:
        rollups.rebuild(conn, workspace_id(engine))
    assert sorted(tuple(r) for r in _rollups(engine)) == kept  # what a full recount gives
    assert rollup_total(engine) == PUBLISHED + 2
    assert rollups.hour_start(last_rollup_hour(engine)).year == 2030


def test_a_persons_status_label_decides_over_the_import(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, blog(tmp_path / "blog.xml"))
    with Session(engine) as session, session.begin():
        draft = session.scalars(select(Message.id).where(Message.external_id == "post:2")).one()
        published = session.scalars(select(Message.id).where(Message.external_id == "post:1")).one()
        session.add(Label(message_id=draft, name="status", value="publish", origin="user"))
        session.add(Label(message_id=published, name="status", value="draft", origin="user"))
    with Session(engine) as session:
        found = {card.id for card in explorer.search(session, ExplorerQuery(workspace_id(engine), limit=50)).items}
    assert draft in found
    assert published not in found


def test_the_radar_never_reads_a_post_scheduled_for_2030(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    import_file(engine, blog(tmp_path / "blog.xml"))
    report = tick(engine, settings, settle=timedelta(0))
    with Session(engine) as session:
        cursor = session.scalars(select(RadarCursor)).one()
        latest = session.scalar(select(func.max(RadarPoint.at)))
        newest = session.scalar(select(func.max(Message.id)))
    assert (report.messages, report.late) == (PUBLISHED, 0)
    assert cursor.last_message_id == newest  # every message was looked at, once
    assert latest is None or latest.year < 2030
    assert cursor.bucket_at is None or cursor.bucket_at.year < 2030


def test_the_overview_offers_the_period_of_the_last_published_message(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    import_file(engine, blog(tmp_path / "blog.xml"))
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client)
        page = client.get("/w/default/")
        link = lxml_html.fromstring(page.text).xpath("//section[@class='empty']//a/@href")[0]
        drafts = client.get("/w/default/explorer?unpublished=yes")
    assert "No message in this period" in page.text
    assert "end=2024-05-01" in link
    assert drafts.status_code == 200
    badges = lxml_html.fromstring(drafts.text).xpath("//span[contains(@class, 'unpublished')]/text()")
    assert sorted(badges) == ["draft", "private", "scheduled"]


@pytest.mark.realdata
def test_real_wordpress_exports_count_only_their_published_posts(engine: Engine, shared: Path) -> None:
    for path in sorted((shared / "wordpress_wxr").glob("*.xml")):
        import_file(engine, path, workspace=None)
    with Session(engine) as session:
        statuses = dict(session.execute(select(Label.message_id, Label.value).where(Label.name == "status")).all())
        every = session.scalars(select(Message.id)).all()
        space = workspace_id(engine)
        shown = explorer.search(session, ExplorerQuery(space, limit=500)).items
        withheld = explorer.search(session, ExplorerQuery(space, unpublished=True, limit=500)).items
    unpublished = {mid for mid in every if statuses.get(mid) in messages.UNPUBLISHED}
    assert {"draft", "future", "private"} <= {statuses[mid] for mid in unpublished}
    assert rollup_total(engine) == len(every) - len(unpublished)
    assert {card.id for card in withheld} == unpublished
    assert len(shown) == len(every) - len(unpublished)
    # theme-unit-test-data.xml schedules a post for 2030: no figure reaches that year.
    assert rollups.hour_start(last_rollup_hour(engine)) < datetime(2026, 1, 1, tzinfo=UTC)


def _rollups(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        return list(conn.execute(select(Rollup.__table__)))
