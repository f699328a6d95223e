"""The cockpit's pages through an in-process HTTP client, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from babel.dates import format_datetime
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from accounts_support import sign_in
from pilote import deletions, jobs, rollups, workspaces
from pilote.config import Settings, get_settings
from pilote.db import make_engine
from pilote.imports import import_file
from pilote.messages import EXPORT_FIELDS
from pilote.models import Enrichment, Label, Message, Source, Workspace
from pilote.samples import write_wxr
from pilote.simulate import simulate
from pilote.web import i18n
from pilote.web.app import create_app, host_name
from xss_corpus import PAYLOADS, write_corpus

WEB = Path(__file__).resolve().parents[1] / "src" / "pilote" / "web"


def fill(engine: Engine) -> None:
    """A week of a small demo community ending today, its rollups counted."""
    simulate(engine, workspace="demo", days=7, members=50, seed=3)
    with engine.begin() as conn:
        rollups.rebuild(conn, conn.scalar(select(Workspace.id).where(Workspace.slug == "demo")))


@pytest.fixture
def demo(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The demo week served in-process (SQLite and PostgreSQL)."""
    fill(engine)
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client)
        yield client


@pytest.fixture
def sqlite_demo(sqlite_settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    fill(sqlite_engine)
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        yield client


def tree(text: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(text)


def ids_on(page: str) -> list[int]:
    return [int(value) for value in tree(page).xpath("//article[@data-message]/@data-message")]


def engine_of(client: TestClient) -> Engine:
    engine: Engine = client.app.state.engine  # type: ignore[attr-defined]
    return engine


# --- the front door and the empty states ---


def test_an_empty_store_says_how_to_start(sqlite_settings: Settings, sqlite_engine: Engine) -> None:
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        page = client.get("/")
    assert page.status_code == 200
    assert "pilote import FILE" in page.text
    assert "pilote simulate" in page.text


def test_the_front_door_opens_the_workspace_overview(sqlite_demo: TestClient) -> None:
    response = sqlite_demo.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/w/demo/"


def test_an_unknown_workspace_is_a_page_saying_so(sqlite_demo: TestClient) -> None:
    page = sqlite_demo.get("/w/nowhere/explorer")
    assert page.status_code == 404
    assert "no workspace 'nowhere'" in tree(page.text).text_content()
    assert "<html" in page.text


def test_a_workspace_without_messages_points_to_sources(sqlite_settings: Settings, sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        workspaces.create(session, slug="empty")
        session.commit()
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        overview = client.get("/w/empty/")
        explorer = client.get("/w/empty/explorer")
        sources = client.get("/w/empty/sources")
    assert "has no message yet" in overview.text
    assert "No message matches this search" in explorer.text
    assert "No source yet" in sources.text


# --- Overview ---


def test_the_overview_counts_the_messages_of_the_period(demo: TestClient) -> None:
    today = datetime.now(UTC).date()
    first, last = today - timedelta(days=6), today - timedelta(days=1)
    page = demo.get(f"/w/demo/?period=custom&start={first}&end={last}")
    start = datetime.combine(first, datetime.min.time(), UTC)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
    with Session(engine_of(demo)) as session:
        expected = session.scalar(select(func.count()).where(Message.created_at >= start, Message.created_at < end))
    figure = tree(page.text).xpath("//div[@data-figure='messages']/div[@class='value']/text()")[0]
    assert page.status_code == 200
    assert expected
    assert int(re.sub(r"\D", "", figure)) == expected


@pytest.mark.parametrize("period", ["24h", "7d", "30d", "90d"])
def test_every_period_shows_four_time_charts_and_a_mix(sqlite_demo: TestClient, period: str) -> None:
    page = sqlite_demo.get(f"/w/demo/?period={period}")
    charts = [orjson.loads(str(spec)) for spec in tree(page.text).xpath("//div[@data-chart]/@data-chart")]
    assert page.status_code == 200
    assert [chart["type"] for chart in charts] == ["line", "bar", "line", "line", "pie"]
    volume = charts[0]
    assert volume["series"][-1]["key"] == "previous"
    assert all(len(line["data"]) == len(volume["x"]) for line in volume["series"][:-1])


def test_a_period_that_makes_no_sense_is_refused_in_plain_words(sqlite_demo: TestClient) -> None:
    unknown = sqlite_demo.get("/w/demo/?period=3w")
    backwards = sqlite_demo.get("/w/demo/?period=custom&start=2026-03-10&end=2026-03-01")
    assert unknown.status_code == 422
    assert "choose 24h, 7d, 30d, 90d or custom" in unknown.text
    assert backwards.status_code == 422
    assert "the last day comes before the first" in backwards.text


def test_an_old_archive_offers_the_period_where_its_messages_are(
    sqlite_settings: Settings, sqlite_engine: Engine, tmp_path: Path
) -> None:
    import_file(sqlite_engine, write_corpus(tmp_path / "old.jsonl"))
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        page = client.get("/w/default/")
        link = tree(page.text).xpath("//section[@class='empty']//a/@href")[0]
        shown = client.get(link)
    assert "No message in this period" in page.text
    assert "start=2026-09-29&end=2026-10-28" in link
    figure = tree(shown.text).xpath("//div[@data-figure='messages']/div[@class='value']/text()")[0]
    assert int(figure) == len(PAYLOADS)


# --- Explorer ---


def test_explorer_filters_and_pages_through_every_match_once(demo: TestClient) -> None:
    first = demo.get("/w/demo/explorer?kind=comment&sort=oldest")
    seen = ids_on(first.text)
    more = tree(first.text).xpath("//div[@class='more']/a/@hx-get")
    while more:
        page = demo.get(more[0], headers={"HX-Request": "true"})
        assert "<html" not in page.text  # htmx gets the new rows only
        seen += ids_on(page.text)
        more = tree(f"<div>{page.text}</div>").xpath("//div[@class='more']/a/@hx-get")
    with Session(engine_of(demo)) as session:
        expected = list(session.scalars(select(Message.id).where(Message.kind == "comment")))
    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(expected)


def test_explorer_searches_words_and_refills_the_form(sqlite_demo: TestClient) -> None:
    page = sqlite_demo.get("/w/demo/explorer?q=batterie&sort=newest")
    found = ids_on(page.text)
    with Session(engine_of(sqlite_demo)) as session:
        texts = [session.get_one(Message, i) for i in found]
    assert found
    assert all("batter" in f"{m.title or ''} {m.text}".lower() for m in texts)
    assert tree(page.text).xpath("//input[@name='q']/@value") == ["batterie"]


def test_the_source_filter_keeps_one_source_and_stays_chosen(sqlite_demo: TestClient) -> None:
    with Session(engine_of(sqlite_demo)) as session:
        forum = session.scalars(select(Source).where(Source.channel == "forum:demo.example")).one()
        theirs = set(session.scalars(select(Message.id).where(Message.source_id == forum.id)))
    page = sqlite_demo.get(f"/w/demo/explorer?source={forum.id}")
    shown = ids_on(page.text)
    assert shown
    assert set(shown) <= theirs
    assert tree(page.text).xpath("//select[@name='source']/option[@selected]/text()") == [forum.name]


def test_a_bad_filter_is_refused_in_plain_words(sqlite_demo: TestClient) -> None:
    page = sqlite_demo.get("/w/demo/explorer?since=yesterday")
    assert page.status_code == 422
    assert "give a day as YYYY-MM-DD" in page.text


def test_labelling_a_message_spam_decides_over_the_model(demo: TestClient) -> None:
    message_id = ids_on(demo.get("/w/demo/explorer").text)[0]
    card = demo.post(f"/w/demo/messages/{message_id}/label", data={"spam": "spam"}, headers={"HX-Request": "true"})
    labelled = demo.post(f"/w/demo/messages/{message_id}/label", data={"sentiment": "negative", "intent": "question"},
                         headers={"HX-Request": "true"})  # fmt: skip
    spam_only = ids_on(demo.get("/w/demo/explorer?spam=yes").text)
    with Session(engine_of(demo)) as session:
        labels = dict(session.execute(select(Label.name, Label.value).where(Label.message_id == message_id)).all())
    assert card.status_code == 200
    assert card.text.strip().startswith("<article")
    assert 'class="badge spam"' in card.text
    assert "intent: question" in labelled.text
    assert labels == {"spam": "spam", "sentiment": "negative", "intent": "question"}
    assert message_id in spam_only


def test_a_label_the_model_cannot_learn_is_refused(sqlite_demo: TestClient) -> None:
    message_id = ids_on(sqlite_demo.get("/w/demo/explorer").text)[0]
    response = sqlite_demo.post(f"/w/demo/messages/{message_id}/label", data={"sentiment": "furious"})
    assert response.status_code == 422
    assert "use one of positive, neutral, negative" in response.text


def test_a_saved_search_comes_back_with_its_filters(sqlite_demo: TestClient) -> None:
    saved = sqlite_demo.post(
        "/w/demo/explorer/saved", data={"name": "Plaintes", "query": "kind=comment&intent=complaint"}
    )
    page = sqlite_demo.get("/w/demo/explorer")
    link = tree(page.text).xpath("//aside//a[text()='Plaintes']/@href")[0]
    reopened = sqlite_demo.get(link)
    delete = tree(page.text).xpath("//aside//form/@action")[0]
    sqlite_demo.post(delete)
    assert saved.status_code == 200  # followed to the Explorer
    assert "kind=comment" in link
    assert "intent=complaint" in link
    assert tree(reopened.text).xpath("//select[@name='intent']/option[@selected]/@value") == ["complaint"]
    assert "Plaintes" not in sqlite_demo.get("/w/demo/explorer").text


@pytest.mark.parametrize("format", ["csv", "jsonl"])
def test_the_export_holds_exactly_the_current_result(demo: TestClient, format: str) -> None:
    response = demo.get(f"/w/demo/explorer/export?kind=post&format={format}")
    if format == "csv":
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert tuple(rows[0]) == EXPORT_FIELDS
    else:
        rows = [orjson.loads(line) for line in response.text.splitlines()]
    with Session(engine_of(demo)) as session:
        posts = set(session.scalars(select(Message.id).where(Message.kind == "post")))
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert {int(row["id"]) for row in rows} == posts
    assert {row["kind"] for row in rows} == {"post"}


# --- Thread, Member, Sources ---


def test_a_thread_shows_its_replies_under_their_parents(demo: TestClient) -> None:
    with Session(engine_of(demo)) as session:
        reply = session.scalars(
            select(Message).where(Message.parent_id.is_not(None), Message.parent_id != Message.thread_id).limit(1)
        ).one()
        root_id = reply.thread_id
    page = tree(demo.get(f"/w/demo/threads/{reply.id}").text)
    depths = {int(e.get("data-message")): int(e.getparent().get("data-depth")) for e in page.xpath("//article")}
    assert depths[root_id] == 0
    assert depths[reply.id] >= 2
    assert page.xpath("//div[contains(@class, 'focus')]/article/@data-message") == [str(reply.id)]


def test_a_long_thread_shows_a_part_and_loads_the_next_ones_in_reading_order(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    rows = [{"id": "p", "created_at": start.isoformat(), "text": "Une longue discussion", "kind": "post"}]
    for n in range(60):  # a comment answered by a reply each: 121 messages
        for name, parent, minutes in ((f"c{n}", "p", n + 1), (f"r{n}", f"c{n}", 100 + n)):
            at = (start + timedelta(minutes=minutes)).isoformat()
            rows.append({"id": name, "created_at": at, "text": f"message {name}", "parent_id": parent})
    (tmp_path / "long.jsonl").write_text("".join(orjson.dumps(r).decode() + "\n" for r in rows), encoding="utf-8")
    import_file(engine, tmp_path / "long.jsonl")
    with Session(engine) as session:
        ids = dict(session.execute(select(Message.external_id, Message.id)).all())
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client)
        page = client.get(f"/w/default/threads/{ids['p']}")
        shown, more = ids_on(page.text), tree(page.text).xpath("//div[@class='more']/a/@hx-get")
        parts = []
        while more:
            part = client.get(more[0], headers={"HX-Request": "true"})
            parts.append(part.text)
            shown += ids_on(part.text)
            more = tree(part.text).xpath("//div[@class='more']/a/@hx-get")
        deep = client.get(f"/w/default/threads/{ids['r45']}")
    names = {v: k for k, v in ids.items()}
    assert page.status_code == 200
    assert len(ids_on(page.text)) == 50
    assert len(parts) == 2
    assert all("<html" not in part for part in parts)
    assert [names[i] for i in shown[:5]] == ["p", "c0", "r0", "c1", "r1"]
    assert sorted(shown) == sorted(ids.values())
    focused = tree(deep.text)
    assert [names[int(i)] for i in ids_on(deep.text)[:3]] == ["p", "c45", "r45"]
    assert focused.xpath("//div[contains(@class, 'focus')]/article/@data-message") == [str(ids["r45"])]
    assert focused.xpath("//div[contains(@class, 'context')]/@data-depth") == ["0", "1"]


def test_a_member_page_shows_their_messages_and_first_and_last_seen(sqlite_demo: TestClient) -> None:
    with Session(engine_of(sqlite_demo)) as session:
        author_id, count = session.execute(
            select(Message.author_id, func.count()).group_by(Message.author_id).order_by(func.count().desc()).limit(1)
        ).one()
    page = sqlite_demo.get(f"/w/demo/members/{author_id}")
    assert page.status_code == 200
    assert f"{count} messages" in page.text.replace("\u202f", "").replace(",", "")
    assert "first seen" in page.text
    assert "last seen" in page.text
    assert len(tree(page.text).xpath("//div[@data-chart]")) == 2


def test_uploading_an_export_imports_it_and_pausing_a_source_shows(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    path = write_wxr(tmp_path / "blog.xml", posts=2, comments_per_post=3)
    with Session(engine) as session:
        workspaces.create(session, slug="default")
        session.commit()
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client)
        done = client.post("/w/default/sources/import", files={"file": ("blog.xml", path.read_bytes())})
        with Session(engine) as session:
            source_id = session.scalars(select(Source.id)).one()
        paused = client.post(f"/w/default/sources/{source_id}/status", data={"status": "paused"})
        again = client.post("/w/default/sources/import", files={"file": ("blog.xml", path.read_bytes())})
    assert done.status_code == 200
    assert "Imported into" in done.text
    assert "8 new, 0 updated, 0 unchanged" in done.text
    assert "paused" in paused.text
    assert "0 new, 0 updated, 8 unchanged" in again.text
    assert not list((settings.home / "uploads").iterdir())  # the uploaded copy is not kept


def test_an_upload_queues_its_analysis_instead_of_running_it_in_the_request(
    sqlite_settings: Settings, sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = write_wxr(tmp_path / "blog.xml", posts=1, comments_per_post=2)
    with Session(sqlite_engine) as session:
        workspaces.create(session, slug="default")
        session.commit()
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        done = client.post("/w/default/sources/import", files={"file": ("blog.xml", path.read_bytes())})
    assert "3 new" in done.text
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Enrichment)) == 0  # the request did not analyse
    assert jobs.run_waiting(sqlite_settings, sqlite_engine) == 1  # one queued job, run here as serve would
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Enrichment)) == 3
    assert jobs.run_waiting(sqlite_settings, sqlite_engine) == 0


def test_a_source_is_deleted_from_its_page_once_its_name_is_typed(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    import_file(engine, write_wxr(tmp_path / "blog.xml", posts=2, comments_per_post=3))
    import_file(engine, write_corpus(tmp_path / "corpus.jsonl"))
    with Session(engine) as session:
        blog = session.scalars(select(Source.id).where(Source.kind == "wxr")).one()
        everything = session.scalar(select(func.count()).select_from(Message))
    with TestClient(create_app(settings, engine)) as client:
        sign_in(client)
        page = client.get("/w/default/sources")
        confirm = tree(page.text).xpath(f"//section[@data-source='{blog}']//input[@name='confirm']/@data-confirm")
        mistyped = client.post(f"/w/default/sources/{blog}/delete", data={"confirm": "le blog"})
        still = client.get("/w/default/sources")
        done = client.post(f"/w/default/sources/{blog}/delete", data={"confirm": "Le blog de test"})
        french = client.get(str(done.url), headers={"Accept-Language": "fr"})
        again = client.post(f"/w/default/sources/{blog}/delete", data={"confirm": "Le blog de test"})
    assert confirm == ["Le blog de test"]
    assert mistyped.status_code == 422
    assert "The source was not deleted" in mistyped.text
    assert tree(mistyped.text).xpath(f"//section[@data-source='{blog}']//details[@open]")  # the form stays open
    assert f'data-source="{blog}"' in still.text
    assert [r.status_code for r in done.history] == [303]
    assert "Deleted the source Le blog de test and its 8 messages." in done.text
    assert f'data-source="{blog}"' not in done.text
    assert "La source Le blog de test a été supprimée, avec ses 8 messages." in french.text
    assert again.status_code == 404
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == everything - 8
        [record] = deletions.get_all(session)
    assert (record.kind, record.name, record.deleted_by) == ("source", "Le blog de test", "admin@example.org")


def test_a_broken_upload_writes_nothing_and_says_why(sqlite_settings: Settings, sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        workspaces.create(session, slug="default")
        session.commit()
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        page = client.post("/w/default/sources/import", files={"file": ("blog.xml", b"<rss><channel><item>")})
    with Session(sqlite_engine) as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0
    assert page.status_code == 422
    assert "nothing from it was written" in page.text
    assert "blog.xml" in page.text
    assert "uploads" not in page.text  # where the server kept the upload is none of the reader's business


# --- languages, time zones and catalogues ---


def test_the_language_comes_from_the_choice_then_the_browser(sqlite_demo: TestClient) -> None:
    french = sqlite_demo.get("/w/demo/explorer", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    chosen = sqlite_demo.post("/language", data={"language": "en", "next": "/w/demo/explorer"}, follow_redirects=False)
    english = sqlite_demo.get("/w/demo/explorer", headers={"Accept-Language": "fr"})
    assert "Explorateur" in french.text
    assert 'lang="fr-CA"' in french.text  # French, with Canada's forms of dates and numbers
    assert chosen.headers["location"] == "/w/demo/explorer"
    assert "Explorateur" not in english.text
    assert 'lang="en"' in english.text


@pytest.mark.parametrize(
    ("cookie", "header", "expected"),
    [
        (None, "en;q=0.2, fr-BE;q=0.8", "fr"),
        (None, "de-DE, it;q=0.9", "en"),
        (None, "fr;q=0, en-US", "en"),
        (None, "fr;q=abc, en;q=0.5", "en"),
        ("fr", "en", "fr"),
        ("xx", "fr", "fr"),
    ],
)
def test_the_language_is_negotiated(cookie: str | None, header: str, expected: str) -> None:
    assert i18n.negotiate(cookie, header) == expected


def test_the_language_switch_never_sends_the_reader_to_another_site(sqlite_demo: TestClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        response = sqlite_demo.post("/language", data={"language": "fr", "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/"


def test_dates_are_shown_in_the_readers_time_zone(sqlite_demo: TestClient) -> None:
    message_id = ids_on(sqlite_demo.get("/w/demo/explorer").text)[0]
    with Session(engine_of(sqlite_demo)) as session:
        created = session.get_one(Message, message_id).created_at
    sqlite_demo.cookies.set("pilote_tz", "Asia/Tokyo")
    tokyo = tree(sqlite_demo.get("/w/demo/explorer").text)
    sqlite_demo.cookies.set("pilote_tz", "Not/AZone")
    fallback = sqlite_demo.get("/w/demo/explorer").text
    shown = tokyo.xpath(f"//article[@data-message='{message_id}']//time/text()")[0]
    assert shown == format_datetime(created, "short", tzinfo=ZoneInfo("Asia/Tokyo"), locale="en")
    assert shown != format_datetime(created, "short", tzinfo=UTC, locale="en")
    assert "Times are shown in Asia/Tokyo" in tokyo.xpath("string(//footer)")
    assert "Times are shown in UTC" in fallback


def test_every_string_of_the_pages_has_a_french_translation() -> None:
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    with (WEB / "locale/fr/LC_MESSAGES/messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale="fr")
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = {m[2] if isinstance(m[2], str) else m[2][0] for m in extract_from_dir(WEB, method_map, keywords=keywords)}
    untranslated = [msgid for msgid in found if not (catalogue.get(msgid) and all(_strings(catalogue.get(msgid))))]
    assert len(found) > 100
    assert untranslated == []


def _strings(message: object) -> list[str]:
    value = getattr(message, "string", "")
    return list(value) if isinstance(value, tuple) else [value]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_compiled_catalogues_match_their_sources(language: str) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    folder = WEB / "locale" / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po:
        source = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, source)
    assert (folder / "messages.mo").read_bytes() == compiled.getvalue()


# --- safety ---


def test_every_page_forbids_inline_script_and_carries_none(demo: TestClient) -> None:
    with Session(engine_of(demo)) as session:
        message = session.scalars(select(Message).where(Message.author_id.is_not(None)).limit(1)).one()
    for url in ("/w/demo/", "/w/demo/explorer", f"/w/demo/threads/{message.id}", f"/w/demo/members/{message.author_id}",
                "/w/demo/sources"):  # fmt: skip
        page = demo.get(url)
        document = tree(page.text)
        assert page.status_code == 200, url
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "img-src 'self' data:" in page.headers["content-security-policy"]
        assert all(script.get("src") for script in document.xpath("//script")), url
        assert document.xpath("//style | //*[@style]") == [], url
        assert not [a for e in document.iter() for a in e.attrib if a.startswith("on")], url


def test_a_form_posted_by_another_site_is_refused(sqlite_demo: TestClient) -> None:
    message_id = ids_on(sqlite_demo.get("/w/demo/explorer").text)[0]
    url = f"/w/demo/messages/{message_id}/label"
    forged = sqlite_demo.post(url, data={"spam": "spam"}, headers={"Origin": "https://evil.example"})
    hidden = sqlite_demo.post(url, data={"spam": "spam"}, headers={"Origin": "null"})
    fetched = sqlite_demo.post(url, data={"spam": "spam"}, headers={"Sec-Fetch-Site": "cross-site"})
    ours = sqlite_demo.post(url, data={"spam": "ham"}, headers={"Origin": "http://testserver"})
    with Session(engine_of(sqlite_demo)) as session:
        labels = list(session.scalars(select(Label.value).where(Label.message_id == message_id, Label.name == "spam")))
    assert [forged.status_code, hidden.status_code, fetched.status_code] == [403, 403, 403]
    assert ours.status_code == 200
    assert labels == ["ham"]


def test_hostile_messages_are_shown_as_text(sqlite_settings: Settings, sqlite_engine: Engine, tmp_path: Path) -> None:
    import_file(sqlite_engine, write_corpus(tmp_path / "xss.jsonl"))
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        page = client.get("/w/default/explorer")
        more = tree(page.text).xpath("//div[@class='more']/a/@href")
        text = page.text + (client.get(more[0]).text if more else "")
        thread = client.get(f"/w/default/threads/{ids_on(page.text)[0]}").text
    document = tree(text)
    assert set(document.xpath("//script/@src")) == {"/static/vendor/htmx.min.js", "/static/pilote.js"}
    assert all(script.get("src") for script in document.xpath("//script"))
    assert document.xpath("//iframe | //img | //svg | //object | //embed | //meta[@http-equiv] | //base") == []
    assert not [h for h in document.xpath("//@href") if not h.startswith(("/", "https://", "http://", "?"))]
    assert "&lt;script&gt;window.__pwned" in text
    assert all(a.get("rel") == "nofollow noopener ugc" for a in document.xpath("//a[starts-with(@href, 'http')]"))
    assert "<script>window.__pwned" not in thread


def test_vendored_libraries_are_served_and_match_their_recorded_digests(sqlite_demo: TestClient) -> None:
    readme = (WEB / "static/vendor/README.md").read_text()
    for name in ("htmx.min.js", "echarts.min.js", "swagger-ui-bundle.js", "swagger-ui.css"):
        response = sqlite_demo.get(f"/static/vendor/{name}")
        digest = hashlib.sha256(response.content).hexdigest()
        assert response.status_code == 200
        assert f"`{digest}`" in readme
        assert "max-age" in response.headers["cache-control"]


def test_the_package_ships_the_static_files_and_catalogues() -> None:
    import tomllib
    from fnmatch import fnmatch

    patterns = tomllib.loads((WEB.parents[2] / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = WEB.parent
    served = [*(WEB / "static").rglob("*"), *(WEB / "templates").rglob("*"), *(WEB / "locale").glob("*/LC_MESSAGES/*")]
    wanted = [str(path.relative_to(package)) for path in served if path.is_file()]
    missing = [name for name in wanted if not any(fnmatch(name, pattern) for pattern in patterns["pilote"])]
    assert len(wanted) > 20
    assert missing == []


def test_the_readme_shows_every_screenshot_the_browser_tests_take() -> None:
    readme = (WEB.parents[2] / "README.md").read_text()
    shown = set(re.findall(r"\(docs/screenshots/([\w-]+\.png)\)", readme))
    taken = {path.name for path in (WEB.parents[2] / "docs" / "screenshots").glob("*.png")}
    assert shown == taken
    assert {"overview.png", "explorer.png", "thread.png", "member.png", "sources.png"} <= taken


def test_a_host_name_pilote_does_not_answer_to_reads_nothing(sqlite_demo: TestClient) -> None:
    """DNS rebinding: a site that points its own name at 127.0.0.1 sends its name as Host."""
    rebound = sqlite_demo.get("/w/demo/explorer", headers={"Host": "evil.example"})
    api = sqlite_demo.get("/api/v1/sources", headers={"Host": "evil.example:8000"})
    static = sqlite_demo.get("/static/pilote.js", headers={"Host": "evil.example"})
    assert [rebound.status_code, api.status_code, static.status_code] == [400, 400, 400]
    assert "demo" not in rebound.text
    assert "demo" not in api.text
    assert "PILOTE_ALLOWED_HOSTS" in rebound.text
    for ours in ("localhost:8000", "127.0.0.1", "[::1]:8000", "LOCALHOST"):
        assert sqlite_demo.get("/w/demo/explorer", headers={"Host": ours}).status_code == 200, ours


def test_host_names_come_from_the_settings(tmp_path: Path) -> None:
    settings = get_settings(home=tmp_path, allowed_hosts=" Pilote.Example , [::1]", host="10.0.0.5")
    assert settings.hosts == {"pilote.example", "::1", "10.0.0.5"}
    assert [host_name("[::1]:8000"), host_name("a.example:80"), host_name(None)] == ["::1", "a.example", ""]


def test_a_proxy_probes_health_and_readiness(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    with TestClient(create_app(settings, engine)) as client:
        health = client.get("/health", headers={"Host": "10.0.0.7:8000"})  # a probe names the backend's address
        ready = client.get("/ready")
    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert (ready.status_code, ready.json()["status"]) == (200, "ready")
    blank = get_settings(home=tmp_path / "blank", database_url=None)
    unmigrated = make_engine(blank)  # a store whose schema this version has not brought up to date
    with TestClient(create_app(blank, unmigrated)) as client:
        not_ready = client.get("/ready")
    unmigrated.dispose()
    assert (not_ready.status_code, not_ready.json()["store"]) == (503, "schema not up to date")


def test_changes_are_coloured_by_what_is_good_for_the_community_and_small_bases_are_counted_not_percented(
    sqlite_settings: Settings, sqlite_engine: Engine, tmp_path: Path
) -> None:
    def post(i: int, day: int, spam: bool) -> dict[str, object]:
        return {"external_id": f"p{i}", "created_at": f"2026-03-{day:02d}T12:00:00Z", "text": f"Message {i}",
                "author": f"person{i}", "spam": int(spam)}  # fmt: skip

    before = [post(i, 2 + i % 5, spam=i < 2) for i in range(3)]  # 3 messages, 2 spams, the week before
    now = [post(100 + i, 9 + i % 5, spam=i < 5) for i in range(15)]  # 15 messages, 5 spams
    path = tmp_path / "two-weeks.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(row) for row in before + now))
    import_file(sqlite_engine, path)
    with TestClient(create_app(sqlite_settings, sqlite_engine)) as client:
        sign_in(client)
        page = tree(client.get("/w/default/?period=custom&start=2026-03-08&end=2026-03-14").text)
    messages = page.xpath("//div[@data-figure='messages']/div[contains(@class, 'delta')]")[0]
    spam = page.xpath("//div[@data-figure='spam']/div[contains(@class, 'delta')]")[0]
    assert messages.get("class") == "delta good"
    assert spam.get("class") == "delta bad"  # more spam caught: more spam came
    assert messages.text_content().split()[:2] == ["▲", "+12"]  # a difference: 3 before is too few for a percentage
    assert "%" not in messages.text_content()
    assert spam.text_content().split()[:2] == ["▲", "+3"]
