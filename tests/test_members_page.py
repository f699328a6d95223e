"""The Members page: the opinion leaders of a period, and the suggested merges a moderator decides."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from accounts_support import log_in, make_user, sign_in
from pilote import leaders, merges
from pilote.accounts import audit
from pilote.config import Settings
from pilote.models import AuditEntry, Author, MemberMerge, Workspace
from pilote.simulate import simulate
from pilote.web.app import create_app


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """Three weeks of a small demo community ending today (SQLite and PostgreSQL), nobody signed in yet."""
    simulate(engine, workspace="demo", days=21, members=50, seed=5)
    with TestClient(create_app(settings, engine)) as served:
        yield served


def space_id(engine: Engine) -> int:
    with Session(engine) as session:
        found = session.scalar(select(Workspace.id).where(Workspace.slug == "demo"))
        assert found is not None
        return found


def twins(engine: Engine) -> list[int]:
    """Two identities of one person on two channels, the same handle on each: a suggestion to decide."""
    workspace_id = space_id(engine)
    with Session(engine) as session, session.begin():
        made = [
            Author(workspace_id=workspace_id, channel=channel, key=f"twin-{channel}", handle="zephyrin_velo",
                   display_name="Zéphyrin")
            for channel in ("mastodon", "bluesky")
        ]  # fmt: skip
        session.add_all(made)
        session.flush()
        return sorted(a.id for a in made)


def suggested(client: TestClient) -> list[str]:
    page = lxml_html.fromstring(client.get("/w/demo/members").text)
    return [str(row) for row in page.xpath("//section[@data-list='suggestions']//tr/@data-authors")]


def test_an_analyst_sees_the_four_lists_of_the_leaders_service_without_buttons(
    client: TestClient, engine: Engine
) -> None:
    sign_in(client, email="analyst@example.org", role="analyst", workspace="demo")
    twins(engine)
    response = client.get("/w/demo/members?period=30d")
    assert response.status_code == 200
    page = lxml_html.fromstring(response.text)
    assert page.xpath("//a[@aria-current='page']/text()") == ["Members"]
    with Session(engine) as session:
        workspace_id = space_id(engine)
        expected = leaders.leaders(session, workspace_id, leaders.window(session, workspace_id, period="30d"))
    shown_any = False
    for name in ("ambassadors", "detractors", "bridges", "rising"):
        section = page.xpath(f"//section[@data-list='{name}']")[0]
        rows = [int(a) for a in section.xpath(".//tr/@data-author")]
        assert rows == [p.author_id for p in getattr(expected, name)]
        if rows:
            shown_any = True
            first = getattr(expected, name)[0]
            assert section.xpath(f".//a[@href='/w/demo/members/{first.author_id}']/text()") == [first.name]
        else:
            assert section.xpath("string(.//p[@class='empty'])").startswith("Nobody")
    assert shown_any
    assert suggested(client)
    assert not page.xpath("//form[@action='/w/demo/members/merges']")  # an analyst reads only


def test_an_analyst_may_not_merge_nor_reject(client: TestClient, engine: Engine) -> None:
    sign_in(client, email="analyst@example.org", role="analyst", workspace="demo")
    pair = twins(engine)
    for path in ("merges", "rejections"):
        answer = client.post(f"/w/demo/members/{path}", data={"authors": pair}, follow_redirects=False)
        assert answer.status_code == 403
    with Session(engine) as session:
        assert session.scalars(select(MemberMerge)).all() == []
        assert merges.rejected(session, space_id(engine)) == set()


def test_a_moderator_merges_a_suggestion_and_it_leaves_the_list(client: TestClient, engine: Engine) -> None:
    make_user(engine, "mod@example.org", "moderator", "demo")
    log_in(client, "mod@example.org")
    pair = twins(engine)
    key = ",".join(map(str, pair))
    assert key in suggested(client)
    page = lxml_html.fromstring(client.get("/w/demo/members").text)
    buttons = page.xpath(f"//tr[@data-authors='{key}']//form[@action='/w/demo/members/merges']//button/text()")
    assert buttons == ["Merge"]
    answer = client.post("/w/demo/members/merges", data={"authors": pair, "period": "7d"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/w/demo/members?period=7d&done=merged"
    shown = lxml_html.fromstring(client.get(answer.headers["location"]).text)
    assert "Merged" in shown.xpath("string(//p[@class='notice'])")
    assert key not in suggested(client)
    with Session(engine) as session:
        record = session.scalars(select(MemberMerge)).one()
        assert record.created_by == "mod@example.org"
        assert record.confidence is not None
        assert "same handle" in record.evidence
        members = {session.get_one(Author, a).member_id for a in pair}
        assert len(members) == 1
        assert None not in members


def test_a_moderator_says_not_the_same_person_and_the_pair_is_no_longer_suggested(
    client: TestClient, engine: Engine
) -> None:
    make_user(engine, "mod@example.org", "moderator", "demo")
    log_in(client, "mod@example.org")
    pair = twins(engine)
    answer = client.post("/w/demo/members/rejections", data={"authors": pair}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/w/demo/members?period=30d&done=rejected"
    assert ",".join(map(str, pair)) not in suggested(client)
    with Session(engine) as session:
        assert (pair[0], pair[1]) in merges.rejected(session, space_id(engine))
        assert session.scalars(select(MemberMerge)).all() == []


def test_the_french_page_speaks_french(client: TestClient, engine: Engine) -> None:
    make_user(engine, "mod@example.org", "moderator", "demo")
    log_in(client, "mod@example.org")
    made = twins(engine)
    page = lxml_html.fromstring(client.get("/w/demo/members", headers={"Accept-Language": "fr"}).text)
    assert page.xpath("//a[@aria-current='page']/text()") == ["Membres"]
    assert page.xpath("//section[@data-list='ambassadors']/h2/text()") == ["Ambassadeurs"]
    assert "Ce n’est pas la même personne" in page.xpath("//form[@action='/w/demo/members/rejections']//button/text()")
    pair = ",".join(map(str, made))
    evidence = page.xpath(f"normalize-space(//tr[@data-authors='{pair}']/td[3])")
    assert evidence == "même identifiant sur mastodon et bluesky (zephyrin_velo)"  # kept in English, said in French


def test_an_unknown_period_is_refused(client: TestClient) -> None:
    sign_in(client, email="analyst@example.org", role="analyst", workspace="demo")
    assert client.get("/w/demo/members?period=1y").status_code in (400, 422)


def test_a_moderator_undoes_a_recorded_merge_from_the_page(client: TestClient, engine: Engine) -> None:
    make_user(engine, "mod@example.org", "moderator", "demo")
    log_in(client, "mod@example.org")
    pair = twins(engine)
    client.post("/w/demo/members/merges", data={"authors": pair}, follow_redirects=False)
    with Session(engine) as session:
        record = session.scalars(select(MemberMerge)).one()
    page = lxml_html.fromstring(client.get("/w/demo/members").text)
    row = f"//section[@data-list='merges']//tr[@data-merge='{record.id}']"
    assert page.xpath(f"{row}//a/text()") == ["Zéphyrin", "Zéphyrin"]
    assert page.xpath(f"{row}//form/@action") == [f"/w/demo/members/merges/{record.id}/undo"]
    answer = client.post(f"/w/demo/members/merges/{record.id}/undo", data={"period": "7d"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/w/demo/members?period=7d&done=unmerged"
    shown = lxml_html.fromstring(client.get(answer.headers["location"]).text)
    assert "Undone" in shown.xpath("string(//p[@class='notice'])")
    assert shown.xpath(f"{row}//form") == []  # an undone merge has no button
    assert "undone by mod@example.org" in shown.xpath(f"string({row})")
    with Session(engine) as session:
        assert {session.get_one(Author, a).member_id for a in pair} == {None}
        assert session.get_one(MemberMerge, record.id).undone_by == "mod@example.org"
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "members unmerged")).one()
        assert entry.actor == "mod@example.org"
        assert entry.target == f"merge {record.id}"
    again = client.post(f"/w/demo/members/merges/{record.id}/undo", follow_redirects=False)
    assert again.status_code == 422
    assert "was undone already" in again.text


def test_an_analyst_sees_the_recorded_merges_without_undo(client: TestClient, engine: Engine) -> None:
    pair = twins(engine)
    with Session(engine) as session, session.begin():
        merge_id = merges.merge(session, space_id(engine), pair, by=audit.CLI).id
    sign_in(client, email="analyst@example.org", role="analyst", workspace="demo")
    page = lxml_html.fromstring(client.get("/w/demo/members").text)
    assert page.xpath(f"//tr[@data-merge='{merge_id}']//a/text()") == ["Zéphyrin", "Zéphyrin"]
    assert page.xpath("//section[@data-list='merges']//form") == []
    answer = client.post(f"/w/demo/members/merges/{merge_id}/undo", follow_redirects=False)
    assert answer.status_code == 403
