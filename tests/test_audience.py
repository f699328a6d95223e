"""The audience of the workspace's own accounts: follower counts observed at each sync, kept as a time series."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api_peer import Answer, ApiPeer, local_client, recorded
from pilote import audience, intake, platforms
from pilote.config import Settings
from pilote.models import AudienceCount
from pilote.sources import mastodon
from pilote.sources.base import Audience, SourceInfo, count
from pilote.workspaces import resolve

RECORDINGS = Path(__file__).resolve().parent / "recordings" / "mastodon"
NOW = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)


def _mastodon(engine: Engine, settings: Settings, peer: ApiPeer, lookup: Any, follow: str = "@velolumen") -> int:
    peer.on("GET", "/api/v1/accounts/lookup", Answer(lookup))
    peer.on("GET", f"/api/v1/accounts/{lookup['id']}/statuses", Answer([]))
    with Session(engine) as session, session.begin():
        return platforms.add(session, settings, workspace=None, kind="mastodon",
                             values={"instance": peer.base, "follow": follow}).id  # fmt: skip


def _sync_at(engine: Engine, settings: Settings, source_id: int, moment: datetime, mp: pytest.MonkeyPatch) -> None:
    mp.setattr(mastodon, "clock", lambda: moment)
    client, _ = local_client()
    platforms.sync_platform(engine, settings, source_id, client=client)


def _kept(engine: Engine) -> list[tuple[str, datetime, int, int | None, int | None]]:
    with Session(engine) as session:
        rows = session.execute(
            select(AudienceCount.account, AudienceCount.observed_at, AudienceCount.followers, AudienceCount.following,
                   AudienceCount.posts).order_by(AudienceCount.observed_at)
        )  # fmt: skip
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_each_sync_of_a_mastodon_account_keeps_one_observation_of_its_followers(
    settings: Settings, engine: Engine, api_peer: ApiPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookup = recorded(RECORDINGS / "account.json")
    source_id = _mastodon(engine, settings, api_peer, lookup)
    _sync_at(engine, settings, source_id, NOW, monkeypatch)
    grown = copy.deepcopy(lookup) | {"followers_count": 1291, "statuses_count": 342}
    api_peer.on("GET", "/api/v1/accounts/lookup", Answer(grown))
    _sync_at(engine, settings, source_id, NOW + timedelta(hours=1), monkeypatch)
    _sync_at(engine, settings, source_id, NOW + timedelta(hours=1), monkeypatch)  # the same moment: not twice
    assert _kept(engine) == [  # the handle is qualified by the profile's host, as the statuses' authors are
        ("velolumen@social.example", NOW, 1280, 12, 341),
        ("velolumen@social.example", NOW + timedelta(hours=1), 1291, 12, 342),
    ]


@pytest.mark.parametrize("followers", [-3, "lots", None, True, 1.5, 10**12, [12], "12e3"])
def test_a_follower_count_that_cannot_be_one_is_skipped_and_the_sync_goes_on(
    settings: Settings, engine: Engine, api_peer: ApiPeer, monkeypatch: pytest.MonkeyPatch, followers: Any
) -> None:
    lookup = recorded(RECORDINGS / "account.json") | {"followers_count": followers, "following_count": -1}
    source_id = _mastodon(engine, settings, api_peer, lookup)
    _sync_at(engine, settings, source_id, NOW, monkeypatch)
    assert _kept(engine) == []
    lookup["followers_count"] = "1300"  # some platforms send counts as strings of digits
    api_peer.on("GET", "/api/v1/accounts/lookup", Answer(lookup))
    _sync_at(engine, settings, source_id, NOW + timedelta(hours=1), monkeypatch)
    assert [row[2:] for row in _kept(engine)] == [(1300, None, 341)]  # a bad `following` is left out, not kept


def test_a_payload_without_counts_keeps_nothing(
    settings: Settings, engine: Engine, api_peer: ApiPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookup = {key: value for key, value in recorded(RECORDINGS / "account.json").items() if "count" not in key}
    source_id = _mastodon(engine, settings, api_peer, lookup)
    _sync_at(engine, settings, source_id, NOW, monkeypatch)
    assert _kept(engine) == []


def test_observations_without_a_time_zone_or_an_account_are_not_kept(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        space = resolve(session, slug=None, create_default=True)
        source = intake.open_source(session, space.id, SourceInfo("mastodon", "k", "n", "mastodon"))
        seen = [Audience("brand", NOW.replace(tzinfo=None), 10), Audience(" ", NOW, 10), Audience("brand", NOW, 10),
                Audience("brand", NOW, 11)]  # fmt: skip
        added = audience.record(session.connection(), workspace_id=space.id, source_id=source.id, seen=seen)
    assert added == 1
    assert [row[2] for row in _kept(engine)] == [10]


def test_counts_are_whole_numbers_from_zero_to_ten_billion() -> None:
    assert [count(v) for v in (0, 7, "42", " 42 ", 3.0, 10_000_000_000)] == [0, 7, 42, 42, 3, 10_000_000_000]
    assert [count(v) for v in (-1, 10_000_000_001, 2.5, "4.2", "", "-3", False, None, {})] == [None] * 9


@pytest.mark.realdata
def test_a_real_accounts_counts_are_observed_from_its_profile(
    settings: Settings, engine: Engine, api_peer: ApiPeer, monkeypatch: pytest.MonkeyPatch, shared: Path
) -> None:
    owner = recorded(shared / "mastodon" / "get_account_statuses_limit_0.json")[0]["account"]
    source_id = _mastodon(engine, settings, api_peer, owner, follow="@schochastics@fosstodon.org")
    _sync_at(engine, settings, source_id, NOW, monkeypatch)
    assert _kept(engine) == [("schochastics@fosstodon.org", NOW, 1036, 138, 280)]
