"""Connector sources through the intake: credentials at rest, page after page, cursors, crashes, deletions.

A small platform of the tests' own (`paged`) speaks plain JSON over real HTTP to the local peer, so that
what is tested here is Pilote's side of every connector: the platforms' own modules have their own tests.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import sign_in
from api_peer import Answer, ApiPeer, Request, local_client
from pilote import jobs, platforms, rollups, schedule, sources, vault, workspaces
from pilote.cli import app
from pilote.config import Settings
from pilote.errors import Invalid
from pilote.models import Label, Message, Source
from pilote.sources.base import Account, Action, Done, Item, ItemError, Page, Setting, SourceInfo, person
from pilote.sources.http import HttpClient
from pilote.sync import SyncError
from pilote.web.app import create_app


def _item(data: dict[str, Any]) -> Item | ItemError:
    if "id" not in data:
        return ItemError("an item", "no id")
    when = datetime(2026, 12, 1, int(data["id"]) % 24, tzinfo=UTC)
    return Item(external_id=str(data["id"]), kind="reply" if data.get("parent") else "post",
                created_at=when, raw=json.dumps(data, sort_keys=True),
                text=data.get("text", ""), parent_external_id=data.get("parent"),
                author=person(name=data.get("who", "anon"), handle=data.get("who")))  # fmt: skip


def _module() -> ModuleType:
    """A connector module as the registry expects one: names and three functions."""
    module = ModuleType("paged")
    module.name = "paged"  # type: ignore[attr-defined]
    module.description = "a paged JSON API (tests)"  # type: ignore[attr-defined]
    module.settings = (Setting("base", "the API's address"), Setting("token", "an access token", secret=True))  # type: ignore[attr-defined]
    module.actions = ("reply",)  # type: ignore[attr-defined]

    def describe(account: Account) -> SourceInfo:
        return SourceInfo("paged", account.get("base"), "Paged API", "paged:test", account.get("base"))

    def fetch(client: HttpClient, account: Account, cursor: Mapping[str, Any]) -> Page:
        body = client.get_json(account.get("base") + "/items", params={"after": cursor.get("after")},
                               headers={"Authorization": f"Bearer {account.get('token')}"})  # fmt: skip
        items = [_item(data) for data in body["items"]]
        after = body.get("next") or cursor.get("after")
        return Page(items, {"after": after}, more=bool(body.get("next")), deleted=body.get("deleted", []))

    def act(client: HttpClient, account: Account, action: Action) -> Done:
        made = client.request("POST", account.get("base") + "/replies", json={"to": action.external_id,
                                                                               "text": action.text}).json()  # fmt: skip
        return Done(_item(made) if "id" in made else None, "posted")  # type: ignore[arg-type]

    module.describe, module.fetch, module.act = describe, fetch, act  # type: ignore[attr-defined]
    return module


@pytest.fixture
def paged(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = _module()
    monkeypatch.setitem(sources.CONNECTORS, "paged", module)  # type: ignore[arg-type]
    monkeypatch.setitem(sys.modules, "paged", module)
    return module


PAGES = {
    None: {"items": [{"id": "1", "text": "Premier message", "who": "ana"},
                     {"id": "2", "text": "Une réponse", "parent": "1", "who": "bob"}], "next": "c1"},
    "c1": {"items": [{"id": "3", "text": "Another reply", "parent": "2", "who": "cy"}, {"broken": True}],
           "next": "c2"},
    "c2": {"items": [{"id": "4", "text": "Dernier", "parent": "9", "who": "dee"}], "next": None},
    "c3": {"items": [], "next": None},
}  # fmt: skip


def _serve(pages: dict[str | None, Any], failing: frozenset[str | None] = frozenset()) -> Any:
    def respond(request: Request) -> Answer:
        after = request.arg("after")
        if request.headers.get("Authorization") != "Bearer s3cret":
            return Answer({"error": "The access token expired"}, 401)
        if after in failing:
            return Answer(b"upstream down", 503)
        return Answer(pages.get(after, {"items": [], "next": None}))

    return respond


def _add(engine: Engine, settings: Settings, peer: ApiPeer, token: str = "s3cret") -> int:
    with Session(engine) as session, session.begin():
        return platforms.add(session, settings, workspace=None, kind="paged",
                             values={"base": peer.base, "token": token}).id  # fmt: skip


def _sync(engine: Engine, settings: Settings, source_id: int) -> platforms.SyncReport:
    client, _sleeps = local_client()
    return platforms.sync_platform(engine, settings, source_id, client=client)


def _count(engine: Engine, model: type[Message] | type[Label]) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_secrets_are_stored_encrypted_and_only_the_key_opens_them(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    source_id = _add(engine, settings, api_peer)
    with Session(engine) as session:
        source = session.get_one(Source, source_id)
        assert "s3cret" not in (source.credentials or "")
        assert "s3cret" not in (source.settings or "")
        assert platforms.account(settings, source).secrets == {"token": "s3cret"}
        other = settings.model_copy(update={"secret_key": Fernet.generate_key().decode()})
        with pytest.raises(Invalid, match="cannot be decrypted with the current secret key"):
            platforms.account(other, source)
    assert (settings.home / "secret.key").stat().st_mode & 0o077 == 0  # readable by its owner only


def test_a_sync_reads_every_page_and_the_next_one_starts_from_the_cursor(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    api_peer.on("GET", "/items", _serve(PAGES))
    source_id = _add(engine, settings, api_peer)
    report = _sync(engine, settings, source_id)
    assert (report.new, report.errors, report.status) == (4, 1, "synced")
    with Session(engine) as session:
        source = session.get_one(Source, source_id)
        assert json.loads(source.cursor or "{}") == {"after": "c2"}
        replies = dict(session.execute(select(Message.external_id, Message.parent_id)).all())
        ids = dict(session.execute(select(Message.external_id, Message.id)).all())
    assert replies["2"] == ids["1"]
    assert replies["3"] == ids["2"]
    assert replies["4"] is None  # its parent was never seen
    api_peer.requests.clear()
    again = _sync(engine, settings, source_id)
    assert [r.arg("after") for r in api_peer.requests] == ["c2"]
    assert (again.new, again.status) == (0, "synced")


def test_a_sync_refreshes_the_planner_statistics_after_the_1st_2nd_4th_page_that_brought_new_messages(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    pages = {None: {"items": [{"id": "1"}], "next": "c1"}} | {
        f"c{n}": {"items": [{"id": str(n + 1)}] if n != 2 else [], "next": f"c{n + 1}" if n < 6 else None}
        for n in range(1, 7)
    }  # seven pages, the third empty: six bring new messages
    api_peer.on("GET", "/items", _serve(pages))
    refreshed: list[int] = []

    def refresh(_engine: Engine) -> None:
        refreshed.append(_count(engine, Message))

    monkeypatch.setattr(platforms.intake, "refresh_statistics", refresh)
    source_id = _add(engine, settings, api_peer)
    assert _sync(engine, settings, source_id).new == 6
    assert refreshed == [1, 2, 4]  # messages in the store each time: after new pages 1, 2 and 4
    refreshed.clear()
    assert _sync(engine, settings, source_id).new == 0
    assert refreshed == []  # a sync that brings nothing new leaves the statistics alone


def test_a_sync_cut_short_keeps_whole_pages_and_resumes_without_duplicates(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    api_peer.on("GET", "/items", _serve(PAGES, failing=frozenset({"c1"})))
    source_id = _add(engine, settings, api_peer)
    with pytest.raises(SyncError, match="503") as raised:
        _sync(engine, settings, source_id)
    assert raised.value.report.status == "failed"
    with Session(engine) as session:
        source = session.get_one(Source, source_id)
        assert json.loads(source.cursor or "{}") == {"after": "c1"}  # the first page landed with its cursor
        state = json.loads(source.state or "{}")
    assert state["outcome"] == "failed"
    assert "503" in state["error"]
    assert _count(engine, Message) == 2
    api_peer.on("GET", "/items", _serve(PAGES))
    report = _sync(engine, settings, source_id)
    assert (report.new, _count(engine, Message)) == (2, 4)
    api_peer.on("GET", "/items", _serve({**PAGES, "c2": PAGES[None] | {"next": None}}))
    with Session(engine) as session, session.begin():
        session.get_one(Source, source_id).cursor = json.dumps({"after": "c2"})  # the platform sends page 1 again
    assert _sync(engine, settings, source_id).unchanged == 2
    assert _count(engine, Message) == 4


def test_refused_credentials_are_said_in_plain_words_and_the_other_sources_still_sync(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    api_peer.on("GET", "/items", _serve(PAGES))
    expired = _add(engine, settings, api_peer, token="old")
    with Session(engine) as session, session.begin():  # a second source of the same platform, in another place
        good = platforms.add(session, settings, workspace=None, kind="paged",
                             values={"base": api_peer.base + "/", "token": "s3cret"}).id  # fmt: skip
    reports = schedule.sync_all(engine, settings.model_copy(update={"sync_private_addresses": True}), [expired, good])
    assert [r.status for r in reports] == ["failed", "synced"]
    assert "refused the credentials" in (reports[0].error or "")
    assert "The access token expired" in (reports[0].error or "")
    with Session(engine) as session, session.begin():
        platforms.set_credentials(session, settings, expired, {"token": "s3cret"})
    assert _sync(engine, settings, expired).status == "synced"


def test_what_the_platform_deleted_keeps_its_words_and_leaves_the_counts(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    api_peer.on("GET", "/items", _serve(PAGES))
    source_id = _add(engine, settings, api_peer)
    _sync(engine, settings, source_id)
    api_peer.on("GET", "/items", _serve({"c2": {"items": [], "next": None, "deleted": ["3", "404"]}}))
    _sync(engine, settings, source_id)
    with Session(engine) as session:
        labels = session.execute(
            select(Message.external_id, Label.value).join(Label, Label.message_id == Message.id)
            .where(Label.name == "status")
        ).all()  # fmt: skip
        text = session.scalar(select(Message.text).where(Message.external_id == "3"))
    assert labels == [("3", "deleted")]
    assert text == "Another reply"


def test_a_reply_goes_through_the_platform_and_lands_in_the_store(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    api_peer.on("GET", "/items", _serve(PAGES))
    api_peer.on("POST", "/replies", Answer({"id": "50", "text": "Merci !", "parent": "1", "who": "brand"}))
    source_id = _add(engine, settings, api_peer)
    _sync(engine, settings, source_id)
    with Session(engine) as session:
        first = session.scalars(select(Message.id).where(Message.external_id == "1")).one()
    client, _ = local_client()
    done = platforms.act(engine, settings, first, "reply", text="Merci !", client=client)
    assert done.detail == "posted"
    assert api_peer.calls("POST", "/replies")[0].json() == {"to": "1", "text": "Merci !"}
    with Session(engine) as session:
        parent = session.scalar(select(Message.parent_id).where(Message.external_id == "50"))
    assert parent == first
    with pytest.raises(Invalid, match="does not allow 'spam'"):
        platforms.act(engine, settings, first, "spam", client=client)


def test_the_command_line_adds_a_platform_with_secrets_from_standard_input_only(
    settings: Settings, api_peer: ApiPeer, paged: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PILOTE_HOME", str(settings.home))
    if settings.database_url:
        monkeypatch.setenv("PILOTE_DATABASE_URL", settings.database_url)
    api_peer.on("GET", "/items", _serve(PAGES))
    runner = CliRunner()
    refused = runner.invoke(app, ["source", "add", "paged", "--set", f"base={api_peer.base}", "--set", "token=x"])
    assert refused.exit_code == 1
    assert "never given with --set" in refused.output
    added = runner.invoke(app, ["source", "add", "paged", "--set", f"base={api_peer.base}", "--json"],
                          input="token=s3cret\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    source_id = json.loads(added.stdout)["id"]
    synced = runner.invoke(app, ["sync", "--source", str(source_id), "--json"])
    assert synced.exit_code == 0, synced.output
    assert json.loads(synced.stdout)["syncs"][0]["new"] == 4
    listed = runner.invoke(app, ["source", "list", "--json"])
    assert "s3cret" not in listed.output
    [row] = json.loads(listed.stdout)
    assert (row["kind"], row["sync"]["outcome"], row["messages"]) == ("paged", "imported", 4)


def test_the_sources_page_connects_a_platform_and_never_shows_its_secrets(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    api_peer.on("GET", "/items", _serve(PAGES))
    local = settings.model_copy(update={"sync_private_addresses": True})
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="default")
    with TestClient(create_app(local, engine)) as client:
        sign_in(client)
        form = client.get("/w/default/sources")
        assert "Connect a platform" in form.text
        assert 'type="password" name="token"' in form.text
        refused = client.post("/w/default/sources/platforms", data={"kind": "paged", "base": api_peer.base})
        assert refused.status_code == 422
        assert "paged needs token" in refused.text
        added = client.post("/w/default/sources/platforms",
                            data={"kind": "paged", "base": api_peer.base, "token": "s3cret"})  # fmt: skip
        assert "is connected" in added.text
        with Session(engine) as session:
            source_id = session.scalars(select(Source.id)).one()
        queued = client.post(f"/w/default/sources/{source_id}/sync")
        assert "will be read within a few seconds" in queued.text  # no request waits for a platform's history
        assert [r.new for r in jobs.sync_tick(engine, local)] == [4]  # what `pilote serve`'s scheduler does
        synced = client.get("/w/default/sources")
        assert "4 new" in synced.text
        saved = client.post(f"/w/default/sources/{source_id}/credentials", data={"token": "n3w"})
        assert "New credentials saved" in saved.text
    assert "s3cret" not in added.text + synced.text + saved.text
    assert jobs.run_waiting(local, engine) == 1  # the sync's analysis was queued, not run in its thread
    with Session(engine) as session:
        assert platforms.account(local, session.get_one(Source, source_id)).secrets == {"token": "n3w"}


def test_an_unexpected_error_is_recorded_so_the_source_is_not_due_again_at_once(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    api_peer.on("GET", "/items", Answer({"items": [5], "next": None}))  # the toy connector trips on a number
    source_id = _add(engine, settings, api_peer)
    with pytest.raises(SyncError, match="unexpected error in Pilote"):
        _sync(engine, settings, source_id)
    with Session(engine) as session:
        assert schedule.due(session, settings) == []  # failed a moment ago: tried again at the next interval


def test_paging_that_does_not_move_stops_the_sync_instead_of_looping(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    loop = {None: {"items": [{"id": "1"}], "next": "a"}, "a": {"items": [{"id": "2"}], "next": "a"}}
    api_peer.on("GET", "/items", _serve(loop))
    source_id = _add(engine, settings, api_peer)
    with pytest.raises(SyncError, match="paging does not move"):
        _sync(engine, settings, source_id)
    assert len(api_peer.requests) == 2
    assert _count(engine, Message) == 2  # the pages before are kept


def test_new_credentials_can_be_entered_after_the_key_was_lost(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    source_id = _add(engine, settings, api_peer)
    (settings.home / "secret.key").unlink()  # lost: a new key is made, which cannot open the old secrets
    with Session(engine) as session, session.begin():
        platforms.set_credentials(session, settings, source_id, {"token": "again"})
    with Session(engine) as session:
        assert platforms.account(settings, session.get_one(Source, source_id)).secrets == {"token": "again"}


def test_a_key_file_others_can_read_or_that_cannot_be_made_is_said_in_plain_words(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType, tmp_path: Path
) -> None:
    _add(engine, settings, api_peer)
    (settings.home / "secret.key").chmod(0o644)
    with pytest.raises(Invalid, match="chmod 600"):
        vault.key(settings)
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("x")
    with pytest.raises(Invalid, match="cannot be read or created"):
        vault.key(settings.model_copy(update={"secret_key_file": blocked / "secret.key"}))


def test_a_secrets_line_without_a_name_is_refused_without_being_echoed(
    settings: Settings, api_peer: ApiPeer, paged: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PILOTE_HOME", str(settings.home))
    added = CliRunner().invoke(app, ["source", "add", "paged", "--set", f"base={api_peer.base}"],
                               input="VERYSECRETTOKEN\n")  # fmt: skip
    assert added.exit_code == 1
    assert "write it as name=value" in added.output
    assert "VERYSECRET" not in added.output


def test_a_message_the_platform_deleted_leaves_the_dashboards_counts(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    api_peer.on("GET", "/items", _serve(PAGES))
    source_id = _add(engine, settings, api_peer)
    _sync(engine, settings, source_id)
    with Session(engine) as session:
        space = session.get_one(Source, source_id).workspace_id
    with engine.connect() as conn:
        before = rollups.sums(conn, space, ["source"], 0, 2**40 - 1)["source"]
    api_peer.on("GET", "/items", _serve({"c2": {"items": [], "next": None, "deleted": ["3"]}}))
    _sync(engine, settings, source_id)
    with engine.connect() as conn:
        after = rollups.sums(conn, space, ["source"], 0, 2**40 - 1)["source"]
    assert sum(v[0] for v in before.values()) == 4
    assert sum(v[0] for v in after.values()) == 3


def test_a_platform_that_asks_to_wait_is_not_asked_again_before_the_time_it_gave(
    settings: Settings, engine: Engine, api_peer: ApiPeer, paged: ModuleType
) -> None:
    api_peer.on("GET", "/items", Answer({"error": "slow down"}, 429, {"Retry-After": "7200"}))
    source_id = _add(engine, settings, api_peer)
    with pytest.raises(SyncError, match="limits how often"):
        _sync(engine, settings, source_id)
    quick = settings.model_copy(update={"sync_interval": 60})
    later = datetime.now(UTC) + timedelta(minutes=30)
    with Session(engine) as session:
        assert schedule.due(session, quick, now=later) == []  # past the interval, not past the wait
        assert schedule.due(session, quick, now=later + timedelta(hours=2)) == [source_id]
