"""The Mastodon connector against a local peer replaying recorded answers, and the import of saved API answers."""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api_peer import Answer, ApiPeer, Request, local_client, recorded
from pilote import sources
from pilote.errors import BadInput, Invalid
from pilote.imports import import_file
from pilote.models import Author, Message, Source
from pilote.sources import mastodon, mastodon_json, rss, tabular, wxr, x_archive
from pilote.sources.base import Account, Action, Counters, Item, ItemError, Page, ParseOptions
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus
from pilote.sources.mastodon_status import View, raw, status_item

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings" / "mastodon"
NOW = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
BRAND_ID = "110000000000000001"
STATUSES = f"/api/v1/accounts/{BRAND_ID}/statuses"
EMPTY_CONTEXT = {"ancestors": [], "descendants": []}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mastodon, "clock", lambda: NOW)


def rec(name: str) -> Any:
    return recorded(RECORDINGS / f"{name}.json")


TOKEN = "t0k3n"


def source(peer: ApiPeer, follow: str = "@velolumen", token: str | None = TOKEN, **settings: str) -> Account:
    secrets = {"token": token} if token else {}
    return Account(settings={"instance": peer.base, "follow": follow, **settings}, secrets=secrets)


def sync(client: HttpClient, account: Account, cursor: dict[str, Any] | None = None) -> tuple[list[Page], Any]:
    """Fetch until the connector says nothing more is waiting, as the sync does."""
    pages: list[Page] = []
    state = cursor or {}
    while True:
        page = mastodon.fetch(client, account, state)
        pages.append(page)
        state = page.cursor
        json.dumps(state)  # the cursor is stored as JSON
        if not page.more:
            return pages, state
        assert len(pages) < 100, "the sync does not end"


def items_of(pages: list[Page]) -> list[Item]:
    return [entry for page in pages for entry in page.items if isinstance(entry, Item)]


class Timeline:
    """A timeline as Mastodon pages it: newest first, strictly below `max_id`, `limit` at a time."""

    def __init__(self, statuses: list[dict[str, Any]]) -> None:
        self.statuses = statuses

    def __call__(self, request: Request) -> Answer:
        limit, max_id = int(request.arg("limit") or 20), request.arg("max_id")
        below = [s for s in self.statuses if max_id is None or int(s["id"]) < int(max_id)]
        return Answer(below[:limit])


def made(count: int, *, first: int = 112300000000000000, newest: datetime = NOW) -> list[dict[str, Any]]:
    """`count` statuses of the brand, one an hour back from `newest`, newest first."""
    template = rec("statuses")[0]
    statuses = []
    for n in range(count):
        status = copy.deepcopy(template)
        status["id"] = str(first + (count - n) * 1000)
        status["created_at"] = (newest - timedelta(hours=n)).isoformat().replace("+00:00", "Z")
        status["content"] = f"<p>Message n°{count - n} : nos lampes, vos trajets.</p>"
        status["replies_count"] = 0
        statuses.append(status)
    return statuses


def account_peer(peer: ApiPeer, statuses: list[dict[str, Any]]) -> Timeline:
    timeline = Timeline(statuses)
    peer.on("GET", "/api/v1/accounts/lookup", Answer(rec("account")))
    peer.on("GET", STATUSES, timeline)
    return timeline


def max_ids(peer: ApiPeer, path: str = STATUSES) -> list[str | None]:
    return [request.arg("max_id") for request in peer.calls("GET", path)]


# The connector: paging, backfill and incremental syncs.


def test_the_first_sync_backfills_page_by_page_down_to_backfill_days(api_peer: ApiPeer) -> None:
    statuses = made(100)  # one an hour: 100 hours back
    account_peer(api_peer, statuses)
    client, _ = local_client()
    pages, cursor = sync(client, source(api_peer, backfill_days="3"))
    got = items_of(pages)
    assert [item.external_id for item in got] == [s["id"] for s in statuses[:72]]  # less than 72 hours old
    assert max_ids(api_peer) == [None, statuses[39]["id"]]  # the second page reaches further back: the last
    assert [page.more for page in pages] == [True, False]
    assert cursor["newest"] == statuses[0]["id"]
    assert "pass" not in cursor
    [lookup] = api_peer.calls("GET", "/api/v1/accounts/lookup")
    assert lookup.arg("acct") == "velolumen"
    assert lookup.headers["Authorization"] == "Bearer t0k3n"


def test_a_backfill_goes_on_while_pages_come_and_ends_on_an_empty_one(api_peer: ApiPeer) -> None:
    statuses = made(50)
    account_peer(api_peer, statuses)
    client, _ = local_client()
    pages, _ = sync(client, source(api_peer))
    assert len(items_of(pages)) == 50
    assert max_ids(api_peer) == [None, statuses[39]["id"], statuses[49]["id"]]
    assert pages[-1].items == []


def test_an_incremental_sync_brings_only_what_is_new(api_peer: ApiPeer) -> None:
    timeline = account_peer(api_peer, made(30, newest=NOW - timedelta(days=2)))
    client, _ = local_client()
    _, cursor = sync(client, source(api_peer, recent_days="0"))
    new = made(45, first=112500000000000000)  # higher ids, the last 45 hours
    timeline.statuses = new + timeline.statuses
    api_peer.requests.clear()
    pages, cursor = sync(client, source(api_peer, recent_days="0"), cursor)
    assert [item.external_id for item in items_of(pages)] == [s["id"] for s in new]
    assert max_ids(api_peer) == [None, new[39]["id"]]  # stops on the page that reaches the last sync's newest
    assert cursor["newest"] == new[0]["id"]
    api_peer.requests.clear()
    pages, _ = sync(client, source(api_peer, recent_days="0"), cursor)
    assert items_of(pages) == []
    assert max_ids(api_peer) == [None]


def test_recent_statuses_are_read_again_and_an_edit_comes_as_another_payload(api_peer: ApiPeer) -> None:
    statuses = made(10)
    account_peer(api_peer, statuses)
    client, _ = local_client()
    first, cursor = sync(client, source(api_peer))
    edited = statuses[4]
    edited["content"] = "<p>Message corrigé : la Phare 800 fait bien 800 lumens.</p>"
    edited["edited_at"] = (NOW + timedelta(minutes=5)).isoformat()
    again, _ = sync(client, source(api_peer), cursor)
    before = {item.external_id: item for item in items_of(first)}
    after = {item.external_id: item for item in items_of(again)}
    assert set(after) == set(before)  # the last recent_days (3 by default) are read again
    assert after[edited["id"]].raw != before[edited["id"]].raw
    assert after[edited["id"]].edited_at == NOW + timedelta(minutes=5)
    assert after[edited["id"]].text == "Message corrigé : la Phare 800 fait bien 800 lumens."
    assert all(after[i].raw == before[i].raw for i in after if i != edited["id"])


def test_an_interrupted_backfill_resumes_where_it_stopped(api_peer: ApiPeer) -> None:
    statuses = made(90)
    account_peer(api_peer, statuses)
    client, _ = local_client()
    page = mastodon.fetch(client, source(api_peer), {})
    api_peer.requests.clear()
    pages, _ = sync(client, source(api_peer), page.cursor)
    assert max_ids(api_peer) == [statuses[39]["id"], statuses[79]["id"], statuses[89]["id"]]
    assert len(items_of([page, *pages])) == 90


# The replies to the account's statuses, and deletions.


def test_replies_to_the_accounts_posts_are_read_from_their_context_in_one_thread(api_peer: ApiPeer) -> None:
    account_peer(api_peer, rec("statuses"))
    api_peer.on("GET", "/api/v1/statuses/112400000000000300/context", Answer(rec("context")))
    client, _ = local_client()
    pages, cursor = sync(client, source(api_peer))
    assert len(pages) == 3  # the timeline, its end, then the one post with replies
    replies = {item.external_id: item for item in pages[-1].items if isinstance(item, Item)}
    assert {i: (r.kind, r.parent_external_id, r.thread_external_id) for i, r in replies.items()} == {
        "112400000000000310": ("reply", "112400000000000300", "112400000000000300"),
        "112400000000000320": ("reply", "112400000000000310", "112400000000000300"),
        "112400000000000330": ("reply", "112400000000000300", "112400000000000300"),
    }
    handles = {r.author.handle for r in replies.values() if r.author}
    assert handles == {"margaux@piste.example", "velolumen@social.example", "tom@social.example"}
    assert replies["112400000000000310"].text == "@velolumen Superbe ! Elle tient la pluie ?"
    assert cursor["watch"]["112400000000000300"][0] == 2
    assert cursor["contexts"] == []


def test_a_context_is_read_again_only_when_the_reply_count_changed(api_peer: ApiPeer) -> None:
    statuses = rec("statuses")
    account_peer(api_peer, statuses)
    context = "/api/v1/statuses/112400000000000300/context"
    api_peer.on("GET", context, Answer(rec("context")))
    client, _ = local_client()
    _, cursor = sync(client, source(api_peer))
    _, cursor = sync(client, source(api_peer), cursor)
    assert len(api_peer.calls("GET", context)) == 1
    statuses[0]["replies_count"] = 3
    _, cursor = sync(client, source(api_peer), cursor)
    assert len(api_peer.calls("GET", context)) == 2
    assert cursor["watch"]["112400000000000300"][0] == 3


def test_a_recent_status_gone_from_the_timeline_whose_context_answers_404_is_reported_deleted(
    api_peer: ApiPeer,
) -> None:
    statuses = made(5)
    timeline = account_peer(api_peer, statuses)
    client, _ = local_client()
    _, cursor = sync(client, source(api_peer))
    gone = statuses[2]["id"]
    timeline.statuses = [s for s in statuses if s["id"] != gone]
    api_peer.on("GET", f"/api/v1/statuses/{gone}/context", Answer({"error": "Record not found"}, 404))
    pages, cursor = sync(client, source(api_peer), cursor)
    assert [page.deleted for page in pages] == [[], [], [gone]]
    assert gone not in cursor["watch"]
    assert len(cursor["watch"]) == 4


def test_a_status_that_is_still_there_but_left_the_timeline_is_no_longer_watched(api_peer: ApiPeer) -> None:
    statuses = made(3)
    timeline = account_peer(api_peer, statuses)
    client, _ = local_client()
    _, cursor = sync(client, source(api_peer))
    hidden = statuses[1]["id"]
    timeline.statuses = [statuses[0], statuses[2]]
    api_peer.on("GET", f"/api/v1/statuses/{hidden}/context", Answer(EMPTY_CONTEXT))
    pages, cursor = sync(client, source(api_peer), cursor)
    assert all(page.deleted == [] for page in pages)
    assert hidden not in cursor["watch"]


# Errors: rate limits, server errors, credentials, malformed answers.


def test_a_429_in_the_middle_of_paging_is_waited_and_the_sync_goes_on(api_peer: ApiPeer) -> None:
    statuses = made(60)
    timeline = Timeline(statuses)
    limited = [True]

    def answer(request: Request) -> Answer:
        if request.arg("max_id") and limited.pop() if limited else False:
            return Answer({"error": "Too many requests"}, 429, {"Retry-After": "12"})
        return timeline(request)

    api_peer.on("GET", "/api/v1/accounts/lookup", Answer(rec("account")))
    api_peer.on("GET", STATUSES, answer)
    client, sleeps = local_client(clock=lambda: 0.0)
    pages, _ = sync(client, source(api_peer))
    assert len(items_of(pages)) == 60
    assert 12.0 in sleeps.waited
    assert max_ids(api_peer) == [None, statuses[39]["id"], statuses[39]["id"], statuses[59]["id"]]


def test_server_errors_are_retried_then_stop_the_sync_with_its_cursor_kept(api_peer: ApiPeer) -> None:
    statuses = made(60)
    account_peer(api_peer, statuses)
    client, _ = local_client()
    first = mastodon.fetch(client, source(api_peer), {})
    api_peer.on("GET", STATUSES, Answer(b"Bad gateway", 502), Answer(statuses[40:]))
    second = mastodon.fetch(client, source(api_peer), first.cursor)
    assert len(second.items) == 20
    api_peer.on("GET", STATUSES, Answer(b"We're sorry, but something went wrong", 500))
    with pytest.raises(HttpStatus, match="500") as raised:
        mastodon.fetch(client, source(api_peer), first.cursor)
    assert raised.value.status == 500
    assert first.cursor["pass"]["max_id"] == statuses[39]["id"]  # where the next sync resumes


def test_a_refused_token_is_an_auth_failure_in_plain_words(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api/v1/accounts/lookup", Answer({"error": "The access token is invalid"}, 401))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"refused the credentials .*The access token is invalid"):
        mastodon.fetch(client, source(api_peer, token="expired"), {})
    assert len(api_peer.requests) == 1


def test_mentions_need_a_token_and_a_token_must_look_like_one(api_peer: ApiPeer) -> None:
    client, _ = local_client()
    with pytest.raises(AuthFailed, match="needs an access token"):
        mastodon.fetch(client, source(api_peer, "mentions", token=None), {})
    with pytest.raises(AuthFailed, match="copy it again"):
        mastodon.fetch(client, source(api_peer, "mentions", token="abc\r\nX-Evil: 1"), {})
    assert api_peer.requests == []


def test_an_unknown_account_says_which(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api/v1/accounts/lookup", Answer({"error": "Record not found"}, 404))
    client, _ = local_client()
    with pytest.raises(FetchFailed, match="knows no account @nobody"):
        mastodon.fetch(client, source(api_peer, "@nobody"), {})


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"<html>Maintenance</html>", "not JSON"),
        (b'{"error": "This method requires an authenticated user"}', "not a list of statuses"),
        (b'[{"id": "1", "created_at": "2025-03-11T10:00:00Z"', "not JSON"),
    ],
)
def test_a_malformed_timeline_stops_the_sync_with_nothing_read(api_peer: ApiPeer, body: bytes, problem: str) -> None:
    api_peer.on("GET", "/api/v1/timelines/tag/velotaf", Answer(body, headers={"Content-Type": "application/json"}))
    client, _ = local_client()
    with pytest.raises(FetchFailed, match=problem):
        mastodon.fetch(client, source(api_peer, "#velotaf"), {})


def test_a_malformed_context_stops_the_sync_and_keeps_the_status_queued(api_peer: ApiPeer) -> None:
    account_peer(api_peer, rec("statuses"))
    api_peer.on("GET", "/api/v1/statuses/112400000000000300/context", Answer([1, 2, 3]))
    client, _ = local_client()
    cursor = mastodon.fetch(client, source(api_peer), {}).cursor
    cursor = mastodon.fetch(client, source(api_peer), cursor).cursor
    with pytest.raises(FetchFailed, match="not a context"):
        mastodon.fetch(client, source(api_peer), cursor)
    assert cursor["contexts"] == [["112400000000000300", 2, "2025-03-10T09:00:00+00:00"]]


def test_unreadable_entries_are_item_errors_and_the_rest_of_the_page_is_read(api_peer: ApiPeer) -> None:
    statuses = rec("tag")
    page = [{"id": "112400000000000460", "created_at": "yesterday"}, "?", statuses[0], {**statuses[1], "account": None}]
    api_peer.on("GET", "/api/v1/timelines/tag/velotaf", Answer(page), Answer([]))
    client, _ = local_client()
    pages, _ = sync(client, source(api_peer, "#velotaf"))
    errors = [entry for entry in pages[0].items if isinstance(entry, ItemError)]
    assert [e.problem for e in errors] == [
        "an entry without an id or a date: skipped",
        "an entry without an id or a date: skipped",
        "status 112400000000000440: no account object: skipped",
    ]
    assert [item.external_id for item in items_of(pages)] == [statuses[0]["id"]]


def test_hostile_content_is_kept_as_data(api_peer: ApiPeer) -> None:
    status = rec("tag")[0]
    status["content"] = "<p>Bonjour<script>alert('x')</script> <img src=x onerror=alert(1)></p>" + "é" * 2_000_000
    status["account"]["url"] = "javascript:alert(1)"
    status["url"] = "javascript:alert(2)"
    status["spoiler_text"] = "<b>CW</b>"
    api_peer.on("GET", "/api/v1/timelines/tag/velotaf", Answer([status]), Answer([]))
    client, _ = local_client()
    [item] = items_of(sync(client, source(api_peer, "#velotaf"))[0])
    assert item.html is not None
    assert "<script>" in item.html  # the store sanitises it
    assert item.text.startswith("Bonjour\n")
    assert "alert" not in item.text
    assert len(item.text) > 2_000_000
    assert item.url == "https://social.example/users/tom/statuses/112400000000000450"  # the uri, not the script
    assert item.author is not None
    assert item.author.url is None
    assert item.author.handle == "tom@127.0.0.1"  # no profile address: qualified by the instance that answered
    assert item.title == "<b>CW</b>"


# Mentions and hashtags.


def test_mentions_are_read_from_the_notifications(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api/v1/notifications", Answer(rec("notifications")), Answer([]))
    client, _ = local_client()
    pages, cursor = sync(client, source(api_peer, "mentions"))
    got = {item.external_id: item for item in items_of(pages)}
    assert {i: item.kind for i, item in got.items()} == {
        "112400000000000400": "mention",
        "112400000000000330": "reply",
    }
    assert got["112400000000000400"].author is not None
    assert got["112400000000000400"].author.handle == "lea@roue.example"
    first = api_peer.calls("GET", "/api/v1/notifications")[0]
    assert first.query["types[]"] == ["mention"]
    assert first.headers["Authorization"] == "Bearer t0k3n"
    assert max_ids(api_peer, "/api/v1/notifications") == [None, "9000"]
    assert cursor["newest"] == "9001"


def test_a_hashtag_is_read_from_its_timeline(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api/v1/timelines/tag/velotaf", Answer(rec("tag")), Answer([]))
    client, _ = local_client()
    pages, _ = sync(client, source(api_peer, "#VeloTaf", token=None))
    got = items_of(pages)
    assert [(i.kind, i.language, i.author.handle if i.author else None) for i in got] == [
        ("post", "en", "tom@social.example"),
        ("post", "fr", "margaux@piste.example"),
    ]
    assert "Authorization" not in api_peer.requests[0].headers


def test_the_client_keeps_a_pace_of_one_request_a_second(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api/v1/timelines/tag/velotaf", Answer(rec("tag")), Answer([]))
    client, sleeps = local_client(clock=lambda: 50.0)
    sync(client, source(api_peer, "#velotaf"))
    assert client.pace == mastodon.PACE == 1.0
    assert sleeps.waited == [1.0]


# Reading statuses.


def test_a_boost_is_a_share_of_the_original_by_the_account_that_boosted() -> None:
    boost = rec("statuses")[1]
    item = status_item(boost, "here")
    assert isinstance(item, Item)
    assert (item.kind, item.external_id, item.parent_external_id) == ("share", "112400000000000250", None)
    assert item.author is not None
    assert item.author.handle == "velolumen@social.example"
    assert item.text == "Atelier réparation gratuit samedi, venez avec vos lampes qui clignotent !"
    assert item.url == "https://velo.example/@atelier/112400000000000280"


def test_a_post_naming_the_brand_is_a_mention_and_the_brands_own_posts_are_posts() -> None:
    post = rec("notifications")[0]["status"]
    brand = View(brand="velolumen@social.example")
    kinds = [kind_of(post, brand), kind_of(post, View()), kind_of(rec("statuses")[0], brand)]
    assert kinds == ["mention", "post", "post"]


def kind_of(status: dict[str, Any], view: View) -> str:
    item = status_item(status, "here", view)
    assert isinstance(item, Item)
    return item.kind


def test_counters_are_likes_boosts_and_replies() -> None:
    item = status_item(rec("statuses")[0], "here")
    assert isinstance(item, Item)
    assert item.counters == Counters(likes=52, shares=14, replies=2)


def test_the_raw_payload_leaves_out_the_askers_state_and_the_accounts_counters() -> None:
    status = rec("statuses")[0]
    seen_by_another = {**copy.deepcopy(status), "favourited": True, "bookmarked": False, "filtered": []}
    seen_by_another["account"]["followers_count"] = 99_999
    assert raw(seen_by_another) == raw(status)
    assert '"followers_count"' not in raw(status)
    assert json.loads(raw(status))["content"] == status["content"]


# Replying.


def test_a_reply_is_posted_addressed_to_the_author_and_comes_back_as_an_item(api_peer: ApiPeer) -> None:
    parent = rec("context")["descendants"][2]
    api_peer.on("POST", "/api/v1/statuses", Answer(rec("posted")))
    client, _ = local_client()
    action = Action("reply", parent["id"], raw(parent), "Yes, we ship to Belgium (3 to 5 days).")
    done = mastodon.act(client, source(api_peer), action)
    [sent] = api_peer.calls("POST", "/api/v1/statuses")
    assert sent.json() == {
        "status": "@tom Yes, we ship to Belgium (3 to 5 days).",
        "in_reply_to_id": "112400000000000330",
        "visibility": "public",
    }
    assert sent.headers["Authorization"] == "Bearer t0k3n"
    assert len(sent.headers["Idempotency-Key"]) == 64
    assert done.item is not None
    assert (done.item.external_id, done.item.kind, done.item.parent_external_id) == (
        "112400000000000500",
        "reply",
        "112400000000000330",
    )
    assert "replied on 127.0.0.1" in done.detail


def test_a_reply_to_a_boost_answers_the_original_with_its_visibility(api_peer: ApiPeer) -> None:
    boost = rec("statuses")[1]
    boost["reblog"]["visibility"] = "unlisted"
    api_peer.on("POST", "/api/v1/statuses", Answer(rec("posted")))
    client, _ = local_client()
    mastodon.act(client, source(api_peer), Action("reply", boost["id"], raw(boost), "@atelier@velo.example Merci !"))
    sent = api_peer.calls("POST", "/api/v1/statuses")[0].json()
    assert sent == {"status": "@atelier@velo.example Merci !", "in_reply_to_id": "112400000000000280",
                    "visibility": "unlisted"}  # fmt: skip


def test_actions_mastodon_does_not_have_and_replies_without_a_token_are_refused(api_peer: ApiPeer) -> None:
    client, _ = local_client()
    status = rec("statuses")[0]
    for kind in ("approve", "hold", "spam", "trash", "hide"):
        with pytest.raises(Invalid, match="reply, not"):
            mastodon.act(client, source(api_peer), Action(kind, status["id"], raw(status)))
    with pytest.raises(Invalid, match="needs some text"):
        mastodon.act(client, source(api_peer), Action("reply", status["id"], raw(status), "  "))
    with pytest.raises(AuthFailed, match="replying on Mastodon needs an access token"):
        mastodon.act(client, source(api_peer, token=None), Action("reply", status["id"], raw(status), "Merci"))
    assert api_peer.requests == []


# Settings.


def test_sources_are_keyed_by_instance_and_account_hashtag_or_mentions() -> None:
    def info(follow: str) -> tuple[str, str, str | None]:
        found = mastodon.describe(Account({"instance": "Mastodon.Social/", "follow": follow}))
        assert (found.kind, found.channel) == ("mastodon", "mastodon")
        return found.key, found.name, found.url

    assert info("@VeloLumen") == ("mastodon.social/@VeloLumen", "@velolumen@mastodon.social",
                                  "https://mastodon.social/@VeloLumen")  # fmt: skip
    assert info("velolumen@mastodon.social")[0] == "mastodon.social/@velolumen"
    assert info("@atelier@velo.example")[0] == "mastodon.social/@atelier@velo.example"
    assert info("#VéloTaf") == ("mastodon.social/tags/vélotaf", "#vélotaf on mastodon.social",
                                "https://mastodon.social/tags/vélotaf")  # fmt: skip
    assert info("mentions")[0] == "mastodon.social/mentions"


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"follow": "@brand"}, "instance: give"),
        ({"instance": "ftp://mastodon.social", "follow": "@brand"}, "http"),
        ({"instance": "mastodon.social", "follow": "brand with spaces"}, "follow 'brand with spaces'"),
        ({"instance": "mastodon.social", "follow": "@brand", "backfill_days": "a month"}, "backfill_days"),
    ],
)
def test_settings_that_cannot_work_are_refused_in_plain_words(settings: dict[str, str], problem: str) -> None:
    client, _ = local_client()
    with pytest.raises(Invalid, match=problem):
        mastodon.fetch(client, Account(settings), {})


def test_every_setting_and_action_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "connectors" / "mastodon.md").read_text(encoding="utf-8")
    for setting in mastodon.settings:
        assert f"`{setting.name}`" in text, setting.name
    for action in mastodon.actions:
        assert f"`{action}`" in text, action


# Real recorded answers (an account's statuses, a context, timelines).


@pytest.mark.realdata
def test_a_real_accounts_statuses_backfill_down_to_backfill_days_with_the_contexts_of_its_posts(
    api_peer: ApiPeer, shared: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    statuses = [s for n in range(5) for s in recorded(shared / "mastodon" / f"get_account_statuses_limit_{n}.json")]
    owner = statuses[0]["account"]
    monkeypatch.setattr(mastodon, "clock", lambda: datetime(2025, 6, 25, tzinfo=UTC))
    api_peer.on("GET", "/api/v1/accounts/lookup", Answer(owner))
    api_peer.on("GET", f"/api/v1/accounts/{owner['id']}/statuses", Timeline(statuses))
    floor = datetime(2024, 6, 25, tzinfo=UTC)
    recent = [s for s in statuses if datetime.fromisoformat(s["created_at"]) >= floor]
    with_replies = [s["id"] for s in recent if s["replies_count"] and not s["reblog"]]
    for status_id in with_replies:
        api_peer.on("GET", f"/api/v1/statuses/{status_id}/context", Answer(EMPTY_CONTEXT))
    client, _ = local_client()
    pages, cursor = sync(client, source(api_peer, "@schochastics@fosstodon.org", backfill_days="365"))
    got = items_of(pages)
    assert [item.external_id for item in got] == [s["id"] for s in recent]
    assert 40 < len(recent) < 100
    assert {item.author.handle for item in got if item.author} == {"schochastics@fosstodon.org"}
    assert [r.path.split("/")[4] for r in api_peer.requests if r.path.endswith("/context")] == with_replies
    assert cursor["newest"] == statuses[0]["id"]


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("name", "count", "kinds"),
    [
        ("get_account_statuses_limit_0.json", 20, {"post": 12, "reply": 8}),
        ("get_account_statuses_limit_1.json", 20, {"reply": 16, "post": 4}),
        ("get_account_statuses_limit_2.json", 20, {"post": 12, "reply": 7, "share": 1}),
        ("get_account_statuses_limit_3.json", 20, {"post": 10, "reply": 10}),
        ("get_account_statuses_limit_4.json", 20, {"reply": 11, "post": 9}),
        ("get_context_default.json", 59, {"reply": 59}),
        ("get_status_default.json", 1, {"post": 1}),
        ("get_status_instance.json", 1, {"post": 1}),
        ("get_timeline_hashtag_default.json", 5, {"post": 5}),
        ("get_timeline_public_default.json", 20, {"post": 18, "reply": 2}),
        ("get_timeline_public_instance_local.json", 10, {"post": 8, "reply": 2}),
    ],
)
def test_every_real_file_of_statuses_is_recognised_and_read(
    shared: Path, name: str, count: int, kinds: dict[str, int]
) -> None:
    path = shared / "mastodon" / name
    assert mastodon_json.sniff(path.read_bytes()[:65536], path)
    assert not tabular.JSONL.sniff(path.read_bytes()[:65536], path) or path.read_bytes().lstrip()[:1] == b"{"
    entries = list(mastodon_json.parse(path, ParseOptions()))
    assert all(isinstance(entry, Item) for entry in entries)
    items = [entry for entry in entries if isinstance(entry, Item)]
    assert len(items) == count
    assert dict(Counter(item.kind for item in items)) == kinds
    assert all(item.author and "@" in item.author.handle for item in items)
    assert all(item.created_at.tzinfo is not None for item in items)
    assert all(item.text for item in items if item.kind != "share")


@pytest.mark.realdata
def test_the_real_context_holds_59_replies_from_50_authors_in_one_thread(shared: Path) -> None:
    path = shared / "mastodon" / "get_context_default.json"
    items = [entry for entry in mastodon_json.parse(path, ParseOptions()) if isinstance(entry, Item)]
    ids = {item.external_id for item in items}
    root = "109294719267373593"  # the status the context is about: the answer does not include it
    assert len(items) == 59
    assert len({item.author.key for item in items if item.author}) == 50
    assert {item.thread_external_id for item in items} == {root}
    assert all(item.parent_external_id in ids | {root} for item in items)
    assert sum(item.parent_external_id in ids for item in items) == 16
    assert sum(item.parent_external_id == root for item in items) == 43
    info = mastodon_json.describe(path, ParseOptions())
    assert (info.kind, info.key) == ("mastodon", "mastodon.social/@austinkocher")
    assert info.name == "@austinkocher@mastodon.social"


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["get_favourited_by_default.json", "get_reblogged_by_default.json"])
def test_real_lists_of_accounts_are_refused_as_accounts_not_posts(shared: Path, name: str) -> None:
    path = shared / "mastodon" / name
    assert mastodon_json.sniff(path.read_bytes()[:65536], path)
    with pytest.raises(BadInput, match=r"holds Mastodon accounts .* not posts"):
        list(mastodon_json.parse(path, ParseOptions()))
    with pytest.raises(BadInput, match="not posts"):
        mastodon_json.describe(path, ParseOptions())


@pytest.mark.realdata
def test_saved_pages_of_one_account_import_into_its_source_and_a_page_saved_twice_changes_nothing(
    shared: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sources.FORMATS, mastodon_json.name, mastodon_json)
    folder = shared / "mastodon"
    for n in range(5):
        report = import_file(engine, folder / f"get_account_statuses_limit_{n}.json", format="mastodon_json")
        assert report.counts.new == 20
    report = import_file(engine, folder / "get_status_default.json", format="mastodon_json")
    assert (report.counts.new, report.counts.updated) == (0, 0)  # the same status, asked another way
    with Session(engine) as session:
        [found] = session.scalars(select(Source)).all()
        assert (found.kind, found.key, found.channel) == ("mastodon", "fosstodon.org/@schochastics", "mastodon")
        messages = session.scalars(select(Message)).all()
        assert len(messages) == 100
        replies = [m for m in messages if m.parent_external_id in {n.external_id for n in messages}]
        assert len(replies) == 6  # his answers to his own posts: the others answer statuses not saved
        assert all(m.parent_id is not None for m in replies)
        assert {a.handle for a in session.scalars(select(Author))} == {"schochastics@fosstodon.org"}


@pytest.mark.realdata
def test_the_real_context_imports_with_its_replies_linked(
    shared: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sources.FORMATS, mastodon_json.name, mastodon_json)
    report = import_file(engine, shared / "mastodon" / "get_context_default.json", format="mastodon_json")
    assert report.counts.new == 59
    with Session(engine) as session:
        messages = session.scalars(select(Message)).all()
        assert sum(m.parent_id is not None for m in messages) == 16
        assert len(session.scalars(select(Author)).all()) == 50


# Files of saved answers.


def write(tmp_path: Path, name: str, data: Any, *, indent: int | None = 1) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False, indent=indent), encoding="utf-8")
    return path


def test_a_saved_context_reads_its_ancestors_and_replies_in_one_thread(tmp_path: Path) -> None:
    statuses, context = rec("statuses"), rec("context")
    context["ancestors"] = [statuses[2], {**statuses[0], "in_reply_to_id": statuses[2]["id"]}]
    path = write(tmp_path, "context.json", context)
    items = [e for e in mastodon_json.parse(path, ParseOptions()) if isinstance(e, Item)]
    assert [item.thread_external_id for item in items] == [None] + ["112400000000000200"] * 4


def test_saved_notifications_bring_their_mentions_only(tmp_path: Path) -> None:
    notes = rec("notifications")
    notes.append({"id": "8999", "type": "follow", "created_at": "2025-03-10T08:00:00Z", "account": notes[0]["account"]})
    path = write(tmp_path, "notifications.json", notes)
    items = [e for e in mastodon_json.parse(path, ParseOptions()) if isinstance(e, Item)]
    assert [(item.external_id, item.kind) for item in items] == [
        ("112400000000000400", "mention"),
        ("112400000000000330", "reply"),
    ]
    info = mastodon_json.describe(path, ParseOptions())
    assert (info.key, info.name) == ("social.example/mentions", "Mentions on social.example")


def test_a_saved_hashtag_timeline_belongs_to_the_hashtag(tmp_path: Path) -> None:
    info = mastodon_json.describe(write(tmp_path, "tag.json", rec("tag")), ParseOptions())
    assert (info.key, info.name, info.url) == ("social.example/tags/velotaf", "#velotaf on social.example",
                                               "https://social.example/tags/velotaf")  # fmt: skip
    info = mastodon_json.describe(write(tmp_path, "tag.json", rec("tag")), ParseOptions(source_key="velotaf"))
    assert info.key == "velotaf"


def test_the_sniffer_takes_mastodon_json_and_leaves_json_lines_and_other_formats(tmp_path: Path) -> None:
    statuses = rec("statuses")
    lines = tmp_path / "statuses.jsonl"
    lines.write_text("\n".join(json.dumps(s) for s in statuses) + "\n", encoding="utf-8")
    one_line = write(tmp_path, "one.json", statuses[0], indent=None)
    pretty = write(tmp_path, "context.json", rec("context"))
    tweets = tmp_path / "tweets.js"
    tweets.write_text('window.YTD.tweets.part0 = [{"tweet": {"id_str": "1", "in_reply_to_id": null}}]')
    plain = write(tmp_path, "other.json", [{"id": 1, "text": "Bonjour", "reblogs_count": 2}])

    def sniffed(path: Path) -> bool:
        return mastodon_json.sniff(path.read_bytes()[:65536], path)

    assert [sniffed(p) for p in (one_line, pretty, lines, tweets, plain)] == [True, True, False, False, False]
    assert tabular.JSONL.sniff(lines.read_bytes(), lines)
    assert not any(fmt.sniff(pretty.read_bytes(), pretty) for fmt in (wxr, rss, x_archive))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{\n "ancestors": [],\n "descendants": [\n  {"id": "1"', "malformed JSON"),
        ('[\n {"id": "1", "content": "<p>x</p>"},\n {"id": ', "malformed JSON"),
        ('{\n "ancestors": {},\n "descendants": []\n}', "must be lists"),
        ('{\n "error": "Record not found"\n}', "the API's error"),
        ("   ", "the file is empty"),
        ('"a string"', "expected a JSON array or object"),
    ],
)
def test_a_damaged_or_foreign_file_is_bad_input(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "saved.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput, match=problem):
        list(mastodon_json.parse(path, ParseOptions()))
