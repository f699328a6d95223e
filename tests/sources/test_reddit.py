"""Reddit: subreddit listings and thread forests read through the OAuth API (replayed by the local peer),
actions, and `pilote import` of saved API answers (reddit_json)."""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api_peer import Answer, ApiPeer, Request, Responder, local_client, recorded
from factories import mutate
from pilote.errors import BadInput, Invalid
from pilote.imports import import_file
from pilote.models import Message
from pilote.sources import FORMATS, detect, reddit, reddit_api, reddit_things
from pilote.sources.base import Account, Action, Item, ItemError, Page, ParseOptions
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus, RateLimited
from pilote.sources.xmlsafe import read_head

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings" / "reddit"
T0 = 1741600800.0  # the recordings' first post: 2025-03-10 10:00 UTC
TOKEN = "/api/v1/access_token"  # an address


def rec(name: str) -> Any:
    return recorded(RECORDINGS / name)


def account(peer: ApiPeer, secrets: Mapping[str, str] | None = None, **settings: str) -> Account:
    shown = {"subreddit": "velolumen", "client_id": "appli-pilote", "backfill_days": "0",
             "token_url": peer.url(TOKEN), "api_url": peer.base, **settings}  # fmt: skip
    return Account(settings=shown, secrets=dict({"client_secret": "secret-de-l-appli"} if secrets is None else secrets))


def tokens(peer: ApiPeer, *values: str) -> None:
    answers = [Answer({"access_token": v, "token_type": "bearer", "expires_in": 86400, "scope": "*"}) for v in values]
    peer.on("POST", TOKEN, *answers)


def by_after(pages: Mapping[str | None, Any]) -> Responder:
    """A listing answered by its `after` parameter, as Reddit pages."""
    return lambda request: Answer(pages[request.arg("after")])


def subreddit(peer: ApiPeer) -> None:
    """The recorded subreddit: two pages of posts and two of comments."""
    tokens(peer, "jeton-1")
    peer.on("GET", "/r/velolumen/new.json", by_after({None: rec("new_page1.json"), "t3_1b0004": rec("new_page2.json")}))
    peer.on("GET", "/r/velolumen/comments.json",
            by_after({None: rec("comments_page1.json"), "t1_k90004": rec("comments_page2.json")}))  # fmt: skip


def sync(client: HttpClient, source: Account, cursor: Mapping[str, Any] | None = None) -> tuple[list[Page], Any]:
    """Fetch until the connector says nothing more waits, as a sync does; the pages and the last cursor."""
    pages, cursor = [], dict(cursor or {})
    for _ in range(50):
        page = reddit.fetch(client, source, cursor)
        json.dumps(page.cursor)  # the cursor must be JSON-able
        pages.append(page)
        cursor = page.cursor
        if not page.more:
            return pages, cursor
    raise AssertionError("the sync never ended")


def items(pages: list[Page]) -> dict[str, Item]:
    return {entry.external_id: entry for page in pages for entry in page.items if isinstance(entry, Item)}


def form(request: Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body.decode()).items()}


@pytest.fixture(autouse=True)
def fresh_tokens() -> None:
    """Tokens and quotas are kept per process: each test starts without any."""
    reddit_api.forget()


def advancing_client(**overrides: Any) -> tuple[HttpClient, list[float]]:
    """A client whose clock moves only by what it sleeps: waits are exact."""
    now, waited = [100.0], []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    return local_client(clock=lambda: now[0], sleep=sleep, **overrides)[0], waited


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The wall clock the connector's windows are measured on: a day after the recordings, until a test moves it."""
    now = [T0 + 86400]
    monkeypatch.setattr(reddit, "now", lambda: now[0])
    return now


# Subreddit listings


def test_a_first_sync_backfills_posts_then_comments_page_by_page(api_peer: ApiPeer, clock: list[float]) -> None:
    subreddit(api_peer)
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer))
    assert [page.more for page in pages] == [True, True, True, False]
    found = items(pages)
    assert list(found) == ["t3_1b0005", "t3_1b0004", "t3_1b0003", "t3_1b0002",
                           "t1_k90006", "t1_k90005", "t1_k90004", "t1_k90003", "t1_k90002", "t1_k90001"]  # fmt: skip
    assert cursor == {"stage": "new", "new": {"mark": "t3_1b0005", "top": None, "after": None},
                      "comments": {"mark": "t1_k90006", "top": None, "after": None}}  # fmt: skip
    assert [r.arg("after") for r in api_peer.calls("GET", "/r/velolumen/new.json")] == [None, "t3_1b0004"]
    assert {r.arg("limit") for r in api_peer.requests if r.method == "GET"} == {"100"}
    assert {r.arg("raw_json") for r in api_peer.requests if r.method == "GET"} == {"1"}


def test_posts_and_comments_are_mapped_with_their_parents_threads_authors_and_counters(
    api_peer: ApiPeer, clock: list[float]
) -> None:
    subreddit(api_peer)
    found = items(sync(local_client()[0], account(api_peer))[0])
    post = found["t3_1b0004"]
    assert (post.kind, post.title, post.thread_external_id, post.parent_external_id) == (
        "post", "Battery died after two weeks", "t3_1b0004", None)  # fmt: skip
    assert post.text == "My Lumen 800 won't charge anymore & the LED blinks red. Anyone else?"
    assert post.url == "https://www.reddit.com/r/velolumen/comments/1b0004/battery_died_after_two_weeks/"
    assert post.created_at.isoformat() == "2025-03-10T11:00:00+00:00"
    assert post.counters is not None
    assert (post.counters.likes, post.counters.replies) == (5, 1)
    assert post.author is not None
    assert post.author.key == "user:night_rider_42"
    assert post.author.url == "https://www.reddit.com/user/night_rider_42/"
    link = found["t3_1b0003"]
    assert link.text == "https://velolumen.example/blog/rain-test"  # a link post says where it points
    reply = found["t1_k90006"]
    assert (reply.kind, reply.parent_external_id, reply.thread_external_id) == ("reply", "t1_k90005", "t3_1b0005")
    assert found["t1_k90005"].kind == "comment"
    assert reply.html is not None
    assert reply.html.startswith('<div class="md"><p>Oui, le support')
    assert reply.text == "Oui, le support a cassé chez moi aussi au bout de 3 mois."
    assert reply.edited_at is None
    assert reply.labels == ()
    raw = json.loads(reply.raw)
    assert raw["kind"] == "t1"
    assert raw["data"]["name"] == "t1_k90006"
    assert "link_title" not in raw["data"]
    assert "replies" not in raw["data"]


def test_a_deleted_comment_never_seen_is_kept_as_a_placeholder_for_its_replies(
    api_peer: ApiPeer, clock: list[float]
) -> None:
    subreddit(api_peer)
    found = items(sync(local_client()[0], account(api_peer))[0])
    gone = found["t1_k90002"]
    assert (gone.text, gone.author, gone.labels) == ("[deleted]", None, (("status", "deleted"),))
    assert found["t1_k90003"].parent_external_id == "t1_k90002"


def test_the_next_sync_brings_only_what_is_newer_than_the_mark(api_peer: ApiPeer, clock: list[float]) -> None:
    subreddit(api_peer)
    client, _ = local_client()
    _, cursor = sync(client, account(api_peer))
    api_peer.requests.clear()
    api_peer.on("GET", "/r/velolumen/new.json", Answer(rec("new_later.json")))
    api_peer.on("GET", "/r/velolumen/comments.json", Answer(rec("comments_later.json")))
    clock[0] = T0 + 30 * 86400  # a month later: nothing is recent enough to read again
    pages, cursor = sync(client, account(api_peer), cursor)
    assert list(items(pages)) == ["t3_1b0006", "t1_k90007"]
    assert [page.deleted for page in pages] == [[], []]
    assert [r.arg("after") for r in api_peer.requests if r.method == "GET"] == [None, None]  # one page each
    assert cursor["new"]["mark"] == "t3_1b0006"
    assert cursor["comments"]["mark"] == "t1_k90007"


def test_the_recent_window_is_read_again_for_edits_and_deletions(api_peer: ApiPeer, clock: list[float]) -> None:
    subreddit(api_peer)
    client, _ = local_client()
    first, cursor = sync(client, account(api_peer))
    before = items(first)
    api_peer.on("GET", "/r/velolumen/new.json", Answer(rec("new_later.json")))
    api_peer.on("GET", "/r/velolumen/comments.json", Answer(rec("comments_later.json")))
    clock[0] = T0 + 90600  # a day after the first posts: the last 24 hours hold k90005 and k90006
    pages, _ = sync(client, account(api_peer), cursor)
    found = items(pages)
    assert list(found) == ["t3_1b0006", "t3_1b0005", "t1_k90007", "t1_k90006"]
    edited = found["t1_k90006"]
    assert edited.raw != before["t1_k90006"].raw
    assert edited.edited_at is not None
    assert edited.edited_at.isoformat() == "2025-03-10T12:30:00+00:00"
    assert edited.text.endswith("Édit : remplacé gratuitement par le SAV !")
    assert found["t3_1b0005"].counters is not None
    assert found["t3_1b0005"].counters.likes == 25
    # Seen before with its words, now "[deleted]": reported, not fetched again over the stored text.
    assert pages[1].deleted == ["t1_k90005"]


def test_the_first_sync_goes_back_backfill_days_only(api_peer: ApiPeer, clock: list[float]) -> None:
    subreddit(api_peer)
    clock[0] = T0 + 9000  # half an hour after the newest post
    pages, _ = sync(local_client()[0], account(api_peer, backfill_days="0.0613"))  # 88 minutes
    assert list(items(pages)) == ["t3_1b0005", "t1_k90006", "t1_k90005", "t1_k90004"]
    assert [r.arg("after") for r in api_peer.calls("GET", "/r/velolumen/new.json")] == [None]
    assert [r.arg("after") for r in api_peer.calls("GET", "/r/velolumen/comments.json")] == [None, "t1_k90004"]


def test_a_429_with_retry_after_in_the_middle_of_paging_is_waited_then_the_sync_goes_on(
    api_peer: ApiPeer, clock: list[float]
) -> None:
    subreddit(api_peer)
    second = [Answer({"message": "Too Many Requests", "error": 429}, 429, {"Retry-After": "7"}),
              Answer(rec("new_page2.json"))]  # fmt: skip
    api_peer.on("GET", "/r/velolumen/new.json",
                lambda r: Answer(rec("new_page1.json")) if r.arg("after") is None else second.pop(0))  # fmt: skip
    client, sleeps = local_client()
    pages, _ = sync(client, account(api_peer))
    assert len(items(pages)) == 10
    assert 7.0 in sleeps.waited
    assert len(api_peer.calls("GET", "/r/velolumen/new.json")) == 3


def test_server_errors_are_retried_then_stop_the_sync_with_the_cursor_where_it_was(
    api_peer: ApiPeer, clock: list[float]
) -> None:
    subreddit(api_peer)
    api_peer.on("GET", "/r/velolumen/comments.json", Answer(b"upstream", 502), Answer(rec("comments_page1.json")))
    client, _ = local_client()
    page = reddit.fetch(client, account(api_peer), {"stage": "comments"})
    assert len(page.items) == 3
    api_peer.on("GET", "/r/velolumen/comments.json", Answer(b"down", 500))
    with pytest.raises(HttpStatus, match="500"):
        reddit.fetch(client, account(api_peer), page.cursor)
    assert len(api_peer.calls("GET", "/r/velolumen/comments.json")) == 2 + 4


def test_an_expired_token_is_replaced_once_mid_sync(api_peer: ApiPeer, clock: list[float]) -> None:
    subreddit(api_peer)
    tokens(api_peer, "jeton-1", "jeton-2")
    api_peer.on("GET", "/r/velolumen/comments.json",
                lambda r: Answer(rec("comments_page1.json")) if r.headers["Authorization"] == "bearer jeton-2"
                else Answer({"message": "Unauthorized", "error": 401}, 401))  # fmt: skip
    page = reddit.fetch(local_client()[0], account(api_peer), {"stage": "comments"})
    assert len(page.items) == 3
    assert [r.headers["Authorization"] for r in api_peer.calls("GET", "/r/velolumen/comments.json")] == [
        "bearer jeton-1", "bearer jeton-2"]  # fmt: skip
    assert len(api_peer.calls("POST", TOKEN)) == 2


def test_a_token_refused_again_is_auth_failed_in_plain_words(api_peer: ApiPeer, clock: list[float]) -> None:
    tokens(api_peer, "jeton-1", "jeton-2")
    api_peer.on("GET", "/r/velolumen/new.json", Answer({"message": "Forbidden", "error": 403}, 403))
    with pytest.raises(AuthFailed, match=r"even with a new access token .*private or banned"):
        reddit.fetch(local_client()[0], account(api_peer), {})
    assert len(api_peer.calls("GET", "/r/velolumen/new.json")) == 2


def test_the_token_request_carries_the_app_credentials_and_a_refusal_says_which(
    api_peer: ApiPeer, clock: list[float]
) -> None:
    api_peer.on("POST", TOKEN, Answer({"message": "Unauthorized", "error": 401}, 401))
    with pytest.raises(AuthFailed, match=r"client id and secret .*reddit.com/prefs/apps"):
        reddit.fetch(local_client()[0], account(api_peer), {})
    [sent] = api_peer.calls("POST", TOKEN)
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"appli-pilote:secret-de-l-appli").decode()
    assert form(sent) == {"grant_type": "client_credentials"}
    assert sent.headers["User-Agent"].startswith("Pilote/")


def test_a_revoked_refresh_token_is_auth_failed_in_plain_words(api_peer: ApiPeer, clock: list[float]) -> None:
    api_peer.on("POST", TOKEN, Answer({"error": "invalid_grant"}))
    source = account(api_peer, {"client_secret": "s", "refresh_token": "rafraichir-1"})
    with pytest.raises(AuthFailed, match=r"invalid_grant\): it was revoked"):
        reddit.fetch(local_client()[0], source, {})
    assert form(api_peer.calls("POST", TOKEN)[0]) == {"grant_type": "refresh_token", "refresh_token": "rafraichir-1"}


def test_an_installed_app_without_secret_asks_for_an_installed_client_token(
    api_peer: ApiPeer, clock: list[float]
) -> None:
    subreddit(api_peer)
    reddit.fetch(local_client()[0], account(api_peer, {}), {})
    sent = form(api_peer.calls("POST", TOKEN)[0])
    assert sent["grant_type"] == "https://oauth.reddit.com/grants/installed_client"


def test_requests_keep_reddit_pace_of_one_every_0_6_s(api_peer: ApiPeer, clock: list[float]) -> None:
    subreddit(api_peer)
    client, waited = advancing_client()
    reddit.fetch(client, account(api_peer), {})
    reddit.fetch(client, account(api_peer), {"stage": "comments"})
    assert waited == [pytest.approx(0.6)] * 2  # the token, then each listing in its turn
    assert client.pace == 0  # the client given is left as it was


def test_an_exhausted_quota_is_waited_when_short_and_stops_the_sync_when_long(
    api_peer: ApiPeer, clock: list[float]
) -> None:
    tokens(api_peer, "jeton-1")
    empty = {"X-Ratelimit-Remaining": "0.0", "X-Ratelimit-Used": "100", "X-Ratelimit-Reset": "5"}
    api_peer.on("GET", "/r/velolumen/new.json", Answer(rec("new_page1.json"), headers=empty),
                Answer(rec("new_page2.json")))  # fmt: skip
    client, waited = advancing_client(pace=reddit_api.PACE)
    page = reddit.fetch(client, account(api_peer), {})
    assert len(page.items) == 2
    assert waited == [pytest.approx(0.6)]
    reddit.fetch(client, account(api_peer), page.cursor)
    assert waited[1:] == [pytest.approx(5.0)]
    api_peer.on("GET", "/r/velolumen/comments.json",
                Answer(rec("comments_page1.json"), headers={**empty, "X-Ratelimit-Reset": "540"}))  # fmt: skip
    page = reddit.fetch(client, account(api_peer), {"stage": "comments"})
    assert len(page.items) == 3  # this page is kept; the next request would wait 9 minutes
    with pytest.raises(RateLimited, match="used up for 540 s") as raised:
        reddit.fetch(client, account(api_peer), page.cursor)
    assert raised.value.retry_after == 540


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(b'{"kind": "Listing", "data": {"children": [', headers={"Content-Type": "application/json"}),
         "not JSON"),
        (Answer({"kind": "t1", "data": {"id": "k90001"}}), "not a listing"),
        (Answer([rec("new_page1.json")]), "not a listing .*a list of 1"),
        (Answer({"kind": "Listing", "data": {"children": "none"}}), "not a listing"),
    ],
)  # fmt: skip
def test_a_malformed_answer_is_a_plain_error_and_nothing_half_parsed(
    api_peer: ApiPeer, clock: list[float], answer: Answer, message: str
) -> None:
    tokens(api_peer, "jeton-1")
    api_peer.on("GET", "/r/velolumen/new.json", answer)
    with pytest.raises(FetchFailed, match=message):
        reddit.fetch(local_client()[0], account(api_peer), {})


def test_unreadable_things_are_item_errors_and_the_rest_of_the_page_imports(
    api_peer: ApiPeer, clock: list[float]
) -> None:
    page1 = rec("new_page1.json")
    page1["data"]["children"].insert(1, {"kind": "t3", "data": {"id": "1b0009", "title": "sans date"}})
    page1["data"]["children"].insert(0, "not a thing")
    tokens(api_peer, "jeton-1")
    api_peer.on("GET", "/r/velolumen/new.json", Answer(page1))
    page = reddit.fetch(local_client()[0], account(api_peer), {})
    errors = [entry for entry in page.items if isinstance(entry, ItemError)]
    assert [e.problem for e in errors] == [
        "not a Reddit post (t3) or comment (t1) but 'None': skipped", "created_utc is not a time: skipped"]  # fmt: skip
    assert [e.external_id for e in page.items if isinstance(e, Item)] == ["t3_1b0005", "t3_1b0004"]


def test_hostile_content_is_kept_as_data(api_peer: ApiPeer, clock: list[float]) -> None:
    page1 = rec("comments_page1.json")
    data = page1["data"]["children"][0]["data"]
    data["body"] = "<script>alert(1)</script> " + "é" * 2_000_000
    data["body_html"] = '<div class="md"><p>Salut <script>alert("x")</script><img src=x onerror=alert(2)></p></div>'
    data["author"] = "<b>moi</b>"
    tokens(api_peer, "jeton-1")
    api_peer.on("GET", "/r/velolumen/comments.json", Answer(page1))
    page = reddit.fetch(local_client()[0], account(api_peer), {"stage": "comments"})
    hostile = page.items[0]
    assert isinstance(hostile, Item)
    assert hostile.text == "Salut"
    assert hostile.html is not None
    assert "<script>" in hostile.html
    assert "é" * 2_000_000 in hostile.raw
    assert hostile.author is not None
    assert hostile.author.handle == "<b>moi</b>"


# One thread


def thread_peer(peer: ApiPeer) -> None:
    tokens(peer, "jeton-1")
    peer.on("GET", "/comments/1b0005.json", Answer(rec("thread.json")))
    peer.on("GET", "/api/morechildren.json", Answer(rec("morechildren.json")))
    peer.on("GET", "/comments/1b0005/_/k90006.json", Answer(rec("continue.json")))


def test_a_thread_is_read_with_its_more_stubs_and_its_replies_resolve_to_their_parents(
    api_peer: ApiPeer, clock: list[float]
) -> None:
    thread_peer(api_peer)
    source = account(api_peer, subreddit="", thread="https://www.reddit.com/r/velolumen/comments/1b0005/retour/")
    pages, cursor = sync(local_client()[0], source)
    assert [page.more for page in pages] == [True, True, False]
    found = items(pages)
    assert sorted(found) == ["t1_k90005", "t1_k90006", "t1_k90008", "t1_k9000a", "t1_k9000b", "t1_k9000c", "t3_1b0005"]
    parents = {key: item.parent_external_id for key, item in found.items()}
    assert parents == {"t3_1b0005": None, "t1_k90008": "t3_1b0005", "t1_k90005": "t3_1b0005",
                       "t1_k90006": "t1_k90005", "t1_k9000a": "t1_k90005", "t1_k9000b": "t1_k9000a",
                       "t1_k9000c": "t1_k90006"}  # fmt: skip
    assert {item.thread_external_id for item in found.values()} == {"t3_1b0005"}
    [more] = api_peer.calls("GET", "/api/morechildren.json")
    assert (more.arg("link_id"), more.arg("children"), more.arg("api_type")) == ("t3_1b0005", "k9000a,k9000b", "json")
    assert cursor == {"mark": "t1_k9000c", "synced": True}


def test_a_thread_sync_later_expands_only_stubs_newer_than_the_mark(api_peer: ApiPeer, clock: list[float]) -> None:
    thread_peer(api_peer)
    source = account(api_peer, subreddit="", thread="1b0005")
    _, cursor = sync(local_client()[0], source)
    later = rec("thread.json")
    comments = later[1]["data"]["children"]
    comments[1]["data"]["replies"]["data"]["children"][1]["data"]["children"] += ["k9000e"]
    deleted = comments[0]["data"]
    deleted.update(body="[removed]", body_html="<p>[removed]</p>", removed_by_category="moderator")
    api_peer.on("GET", "/comments/1b0005.json", Answer(later))
    api_peer.requests.clear()
    pages, cursor = sync(local_client()[0], source, cursor)
    [more] = api_peer.calls("GET", "/api/morechildren.json")
    assert more.arg("children") == "k9000e"
    assert api_peer.calls("GET", "/comments/1b0005/_/k90006.json") == []  # an old comment: read at the first sync
    assert pages[0].deleted == ["t1_k90008"]
    assert "t1_k90008" not in items(pages)


def test_thread_expansions_stop_at_their_bound(
    api_peer: ApiPeer, clock: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    thread_peer(api_peer)
    monkeypatch.setattr(reddit, "MAX_EXPANSIONS", 1)
    pages, cursor = sync(local_client()[0], account(api_peer, subreddit="", thread="t3_1b0005"))
    assert len(pages) == 2
    assert api_peer.calls("GET", "/comments/1b0005/_/k90006.json") == []
    assert cursor["synced"] is True


def test_a_thread_answer_of_another_shape_is_a_plain_error(api_peer: ApiPeer, clock: list[float]) -> None:
    tokens(api_peer, "jeton-1")
    api_peer.on("GET", "/comments/1b0005.json", Answer(rec("new_page1.json")))
    with pytest.raises(FetchFailed, match="not a thread"):
        reddit.fetch(local_client()[0], account(api_peer, subreddit="", thread="1b0005"), {})


# Actions


def moderator(peer: ApiPeer) -> Account:
    peer.on("POST", TOKEN, Answer({"access_token": "jeton-moderateur", "token_type": "bearer", "expires_in": 3600}))
    return account(peer, {"client_secret": "secret-de-l-appli", "refresh_token": "rafraichir-1"})


def test_a_reply_is_posted_as_the_account_and_comes_back_as_an_item(api_peer: ApiPeer) -> None:
    source = moderator(api_peer)
    api_peer.on("POST", "/api/comment", Answer(rec("comment_posted.json")))
    done = reddit.act(local_client()[0], source, Action("reply", "t1_k90005", "{}", "Merci ! Nous vous envoyons…"))
    [sent] = api_peer.calls("POST", "/api/comment")
    assert sent.headers["Authorization"] == "bearer jeton-moderateur"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(sent) == {"api_type": "json", "thing_id": "t1_k90005", "text": "Merci ! Nous vous envoyons…"}
    assert form(api_peer.calls("POST", TOKEN)[0])["grant_type"] == "refresh_token"
    assert done.item is not None
    assert (done.item.external_id, done.item.kind, done.item.parent_external_id) == ("t1_k9000d", "reply", "t1_k90005")
    assert done.detail == "replied on Reddit as u/VeloLumen_Team"


@pytest.mark.parametrize(
    ("kind", "path", "sent", "detail"),
    [
        ("approve", "/api/approve", {"id": "t1_k90005"}, "approved on Reddit"),
        ("spam", "/api/remove", {"id": "t1_k90005", "spam": "true"}, "removed on Reddit as spam"),
        ("trash", "/api/remove", {"id": "t1_k90005", "spam": "false"}, "removed on Reddit"),
    ],
)
def test_moderation_actions_send_the_right_request(
    api_peer: ApiPeer, kind: str, path: str, sent: dict[str, str], detail: str
) -> None:
    source = moderator(api_peer)
    api_peer.on("POST", path, Answer({}))
    done = reddit.act(local_client()[0], source, Action(kind, "t1_k90005", "{}"))
    [request] = api_peer.calls("POST", path)
    assert form(request) == sent
    assert request.headers["Authorization"] == "bearer jeton-moderateur"
    assert (done.item, done.detail) == (None, detail)


def test_a_reply_reddit_refuses_says_why(api_peer: ApiPeer) -> None:
    source = moderator(api_peer)
    refusal = {"json": {"errors": [["THREAD_LOCKED", "Comments are locked.", "parent"]]}}
    api_peer.on("POST", "/api/comment", Answer(refusal))
    with pytest.raises(FetchFailed, match=r"Reddit refused the reply: THREAD_LOCKED: Comments are locked\."):
        reddit.act(local_client()[0], source, Action("reply", "t3_1b0005", "{}", "Bonjour"))


def test_actions_reddit_does_not_allow_or_cannot_do_are_invalid(api_peer: ApiPeer) -> None:
    client = local_client()[0]
    with pytest.raises(Invalid, match="'hold'"):
        reddit.act(client, moderator(api_peer), Action("hold", "t1_k90005", "{}"))
    with pytest.raises(Invalid, match="refresh_token"):
        reddit.act(client, account(api_peer), Action("approve", "t1_k90005", "{}"))
    with pytest.raises(Invalid, match="not a Reddit post or comment"):
        reddit.act(client, moderator(api_peer), Action("approve", "k90005", "{}"))
    with pytest.raises(Invalid, match="needs some text"):
        reddit.act(client, moderator(api_peer), Action("reply", "t1_k90005", "{}", "  "))
    assert api_peer.requests == []


# Settings


def test_describe_names_a_subreddit_or_a_thread(api_peer: ApiPeer) -> None:
    info = reddit.describe(account(api_peer, subreddit="https://www.reddit.com/r/VeloLumen/"))
    assert (info.kind, info.key, info.name, info.channel, info.url) == (
        "reddit", "reddit.com/r/velolumen", "r/VeloLumen", "reddit", "https://www.reddit.com/r/VeloLumen/")  # fmt: skip
    for ref in ("https://old.reddit.com/r/velolumen/comments/1b0005/retour/", "https://redd.it/1b0005", "t3_1b0005"):
        info = reddit.describe(account(api_peer, subreddit="", thread=ref))
        assert (info.key, info.url) == ("reddit.com/comments/1b0005", "https://www.reddit.com/comments/1b0005/")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"subreddit": "", "thread": ""}, "not both"),
        ({"thread": "1b0005"}, "not both"),
        ({"subreddit": "vélo lumen"}, "give its name"),
        ({"subreddit": "", "thread": "https://example.org/x"}, "give its address"),
        ({"client_id": ""}, "client_id"),
        ({"backfill_days": "trente"}, "backfill_days 'trente': give a number"),
        ({"api_url": "ftp://oauth.reddit.com"}, "api_url"),
    ],
)
def test_settings_that_cannot_work_are_invalid_in_plain_words(
    api_peer: ApiPeer, settings: dict[str, str], message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        reddit.describe(account(api_peer, **settings))


def test_the_module_declares_what_the_lead_wires() -> None:
    assert reddit.name == "reddit"
    assert reddit.actions == ("reply", "approve", "spam", "trash")
    secret = {s.name for s in reddit.settings if s.secret}
    assert secret == {"client_secret", "refresh_token"}
    assert [s.name for s in reddit.settings if s.required] == ["client_id"]
    assert reddit.FORMAT.name == "reddit_json"


# Saved API answers: `pilote import` (reddit_json)


def parsed(path: Path) -> list[Item | ItemError]:
    return list(reddit.FORMAT.parse(path, ParseOptions()))


def sniffed(path: Path) -> bool:
    return reddit.FORMAT.sniff(read_head(path), path)


def test_saved_reddit_answers_are_recognised_and_nothing_else(tmp_path: Path) -> None:
    for name in ("new_page1.json", "thread.json", "morechildren.json", "comment_posted.json"):
        assert sniffed(RECORDINGS / name), name
    others = {
        "lines.jsonl": '{"id": "1", "text": "Bonjour", "kind": "comment"}\n{"id": "2", "text": "Salut"}\n',
        "statuses.json": '[{"id": "1", "content": "<p>Salut</p>", "account": {"acct": "zoe"}}]',
        "feed.xml": '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
        "comments.csv": 'id,link_id,author,created_utc,body\nc1,t3_a,zoe,1700000000,"{""kind"": ""t1""}"\n',
    }
    for name, text in others.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert not sniffed(tmp_path / name), name


def test_a_saved_listing_imports_with_the_connector_parsing() -> None:
    path = RECORDINGS / "comments_page1.json"
    info = reddit.FORMAT.describe(path, ParseOptions())
    assert (info.kind, info.key, info.name, info.channel) == ("reddit_json", "reddit.com/r/velolumen", "r/velolumen",
                                                              "reddit")  # fmt: skip
    entries = parsed(path)
    assert [e.external_id for e in entries if isinstance(e, Item)] == ["t1_k90006", "t1_k90005", "t1_k90004"]
    fetched = reddit_things.read(recorded(path)["data"]["children"][0], "here")
    assert isinstance(fetched, Item)
    assert entries[0] == fetched


def test_a_saved_thread_nests_replies_after_their_parents_and_passes_over_more_stubs() -> None:
    entries = parsed(RECORDINGS / "thread.json")
    pairs = [(e.external_id, e.parent_external_id) for e in entries if isinstance(e, Item)]
    assert pairs == [("t3_1b0005", None), ("t1_k90008", "t3_1b0005"), ("t1_k90005", "t3_1b0005"),
                     ("t1_k90006", "t1_k90005")]  # fmt: skip
    assert [e for e in entries if isinstance(e, ItemError)] == []


def test_json_lines_of_things_and_recorded_interactions_with_string_bodies_import(tmp_path: Path) -> None:
    lines = tmp_path / "things.jsonl"
    lines.write_text("".join(json.dumps(c) + "\n" for c in rec("comments_page2.json")["data"]["children"]))
    assert sniffed(lines)
    assert [e.external_id for e in parsed(lines) if isinstance(e, Item)] == ["t1_k90003", "t1_k90002", "t1_k90001"]
    cassette = tmp_path / "cassette.json"
    interactions = [
        {"request": {"method": "POST", "uri": "https://www.reddit.com/api/v1/access_token"},
         "response": {"status": {"code": 200}, "body": {"string": json.dumps(rec("token.json"))}}},
        {"request": {"method": "GET", "uri": "https://oauth.reddit.com/comments/1b0005/?raw_json=1"},
         "response": {"status": {"code": 200}, "body": {"string": json.dumps(rec("thread.json"))}}},
        {"request": {"method": "GET", "uri": "https://oauth.reddit.com/api/morechildren/"},
         "response": {"status": {"code": 200}, "body": {"string": json.dumps(rec("morechildren.json"))}}},
    ]  # fmt: skip
    cassette.write_text(json.dumps({"http_interactions": interactions, "recorded_with": "betamax/0.8.1"}, indent=2))
    assert sniffed(cassette)
    entries = parsed(cassette)
    assert [e for e in entries if isinstance(e, ItemError)] == []  # the token answer is passed over
    assert len(entries) == 6
    assert reddit.FORMAT.describe(cassette, ParseOptions()).key == "reddit.com/r/velolumen"


def test_a_damaged_file_is_bad_input_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('{"kind": "Listing",\n "data": {\n  "children": [\n   {"kind": "t1", "data": {"id": "a"', "utf-8")
    with pytest.raises(BadInput, match=r"cut.json: line 4: malformed JSON"):
        parsed(path)
    empty = tmp_path / "empty.json"
    empty.write_text("  \n")
    with pytest.raises(BadInput, match="empty"):
        parsed(empty)


def test_a_value_of_another_shape_is_an_item_error_and_the_rest_imports(tmp_path: Path) -> None:
    path = tmp_path / "two.json"
    path.write_text(json.dumps(rec("new_page2.json")) + '\n{"statuses": []}\n')
    entries = parsed(path)
    assert [e.external_id for e in entries if isinstance(e, Item)] == ["t3_1b0003", "t3_1b0002"]
    assert entries[2] == ItemError("line 2", "not a Reddit listing, thread, post or comment: skipped")


SAMPLES = {  # file: (entries, distinct ids, posts, entries without author)
    "TestSubmission.test_comments.json": (3, 3, 1, 0),
    "TestSubredditListings.test_comments.json": (100, 100, 0, 0),
    "TestSubredditStreams.test_comments.json": (1193, 417, 0, 0),
    "TestCommentForest.test_replace__all_large.json": (1435, 1429, 4, 173),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_shared_samples_import(shared: Path, name: str) -> None:
    path = shared / "reddit" / name
    assert sniffed(path)
    entries = parsed(path)
    found = [e for e in entries if isinstance(e, Item)]
    assert len(found) == len(entries)  # no errors
    total, distinct, posts, anonymous = SAMPLES[name]
    assert (len(found), len({e.external_id for e in found})) == (total, distinct)
    assert sum(e.kind == "post" for e in found) == posts
    assert sum(e.author is None for e in found) == anonymous
    assert all(e.created_at.tzinfo is not None and e.thread_external_id for e in found)
    assert all(e.author is None or e.author.key == f"user:{e.author.handle.lower()}" for e in found)


@pytest.mark.realdata
def test_the_large_forest_holds_the_thread_the_csv_sample_holds(shared: Path) -> None:
    found = {e.external_id: e for e in parsed(shared / "reddit" / "TestCommentForest.test_replace__all_large.json")
             if isinstance(e, Item)}  # fmt: skip
    with (shared / "reddit" / "announcements_n49rw_comments.csv").open(encoding="utf-8") as handle:
        ids = {f"t1_{row['id']}" for row in csv.DictReader(handle)}
    assert len(ids) == 1428
    assert set(found) == ids | {"t3_n49rw"}
    assert all(e.parent_external_id in found for e in found.values() if e.kind != "post")
    gone = [e for e in found.values() if ("status", "deleted") in e.labels]
    assert gone
    assert all(e.text in ("[deleted]", "[removed]") for e in gone)


@pytest.mark.realdata
def test_the_csv_sample_is_still_the_csv_importer_s(shared: Path) -> None:
    path = shared / "reddit" / "announcements_n49rw_comments.csv"
    assert not sniffed(path)
    assert detect(path).name == "csv"


@pytest.mark.realdata
def test_the_large_forest_imports_with_every_reply_under_its_parent(
    shared: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(FORMATS, reddit.FORMAT.name, reddit.FORMAT)  # this test only: the lead registers it
    path = shared / "reddit" / "TestCommentForest.test_replace__all_large.json"
    report = import_file(engine, path, format="reddit_json")
    assert report.counts.new == 1429
    assert report.counts.errors == 0
    with Session(engine) as session:
        messages = session.scalars(select(Message)).all()
        root = next(m for m in messages if m.external_id == "t3_n49rw")
        assert all(m.thread_id == root.id for m in messages)
        by_id = {m.id: m for m in messages}
        assert all(by_id[m.parent_id].external_id == m.parent_external_id for m in messages if m.parent_id)
        assert sum(m.parent_id is None for m in messages) == 1
    again = import_file(engine, path, format="reddit_json")
    # The post was fetched four times with four fuzzed scores: each observation updates its counters again.
    assert (again.counts.new, again.counts.updated, again.counts.unchanged) == (0, 4, 1431)


def test_every_setting_and_action_is_documented() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "connectors" / "reddit.md").read_text(encoding="utf-8")
    for name in [s.name for s in reddit.settings] + list(reddit.actions):
        assert f"`{name}`" in text, name


@pytest.mark.parametrize(
    ("fields", "labels"),
    [
        ({"spam": True, "removed": True}, (("status", "spam"), ("spam", "spam"))),
        ({"removed_by_category": "automod_filtered"}, (("status", "pending"),)),
        ({"removed_by_category": "moderator"}, (("status", "deleted"),)),  # a moderator still sees the words
        ({"removed": True}, (("status", "deleted"),)),
        ({"approved": True, "approved_by": "VeloLumen_Team"}, (("status", "approved"),)),
        ({"body": "[removed]", "body_html": "<p>[removed]</p>"}, (("status", "deleted"),)),
    ],
)
def test_moderation_fields_become_labels(fields: dict[str, Any], labels: tuple[tuple[str, str], ...]) -> None:
    thing = rec("comments_page1.json")["data"]["children"][1]
    thing["data"].update(fields)
    entry = reddit_things.read(thing, "here")
    assert isinstance(entry, Item)
    assert entry.labels == labels


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None)
@given(field=st.sampled_from(sorted(rec("thread.json")[1]["data"]["children"][1]["data"])), value=JSON_VALUES)
def test_any_field_of_any_type_is_read_or_an_item_error(field: str, value: Any) -> None:
    thing = rec("thread.json")[1]["data"]["children"][1]
    thing["data"][field] = value
    entry = reddit_things.read(thing, "here")
    if isinstance(entry, Item):
        json.loads(entry.raw)
        assert entry.created_at.tzinfo is not None
    for nested in reddit_things.forest(thing):
        reddit_things.read(nested, "nested")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    action=st.sampled_from(["truncate", "insert", "delete", "flip", "latin1"]),
    offset=st.integers(0, 10**5),
    noise=st.binary(min_size=1, max_size=8),
)
def test_a_damaged_saved_answer_is_bad_input_or_item_errors_never_a_crash(
    tmp_path: Path, action: str, offset: int, noise: bytes
) -> None:
    path = tmp_path / "damaged.json"
    path.write_bytes(mutate((RECORDINGS / "thread.json").read_bytes(), action, offset, noise))
    try:
        entries = parsed(path)
    except BadInput:
        return
    assert all(isinstance(entry, Item | ItemError) for entry in entries)
