"""The Bluesky connector against recorded XRPC answers, and saved API answers imported as files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api_peer import Answer, ApiPeer, Request, local_client, recorded
from pilote import sources
from pilote.errors import BadInput, Invalid
from pilote.imports import import_file
from pilote.models import Message
from pilote.sources import bluesky, bluesky_json
from pilote.sources.base import Account, Action, Item, ItemError, Page, ParseOptions
from pilote.sources.bluesky_posts import facets_html, post_item
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings" / "bluesky"
OWN = "did:plc:vlmnbrand7xq2kd4wzyjcaaa"
P0 = f"at://{OWN}/app.bsky.feed.post/3lvelocargo2a"
R1 = "at://did:plc:camroule3hqz6ypn4ktbxaaa/app.bsky.feed.post/3lcamreply1aa"
R1A = f"at://{OWN}/app.bsky.feed.post/3lvelooui1aaa"
R2 = "at://did:plc:noorbike2tn5xw7ce3jpaaaa/app.bsky.feed.post/3lnoorreply2a"
M1 = "at://did:plc:samcycles5rjw2uvmd7qkaaa/app.bsky.feed.post/3lsammention1"
Q1 = "at://did:plc:noorbike2tn5xw7ce3jpaaaa/app.bsky.feed.post/3lnoorquote1a"
GONE = "at://did:plc:samcycles5rjw2uvmd7qkaaa/app.bsky.feed.post/3lsamgone0aaa"
XRPC = "/xrpc/"
NOTIFICATIONS = XRPC + "app.bsky.notification.listNotifications"
SESSION = XRPC + "com.atproto.server.createSession"
REFRESH = XRPC + "com.atproto.server.refreshSession"


def rec(name: str) -> Any:
    return recorded(RECORDINGS / f"{name}.json")


@pytest.fixture(autouse=True)
def june_tenth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recordings are of early June 2025: the connector's clock says 10 June, noon."""
    monkeypatch.setattr(bluesky, "_now", lambda: datetime(2025, 6, 10, 12, tzinfo=UTC))


def account(peer: ApiPeer, **settings: str) -> Account:
    return Account(settings={"handle": "velolumen.bsky.social", "service": peer.base, **settings},
                   secrets={"app_password": "abcd-efgh-ijkl-mnop"})  # fmt: skip


def signed_in(peer: ApiPeer) -> None:
    peer.on("POST", SESSION, Answer(rec("session")))


def by_cursor(pages: dict[str | None, Any]) -> Any:
    """A list answered page by page according to the `cursor` asked."""
    return lambda request: Answer(pages[request.arg("cursor")])


def posts_by_uri(request: Request) -> Answer:
    """getPosts: the recorded views of the uris asked, as Bluesky gives them."""
    wanted = request.query.get("uris", [])
    return Answer({"posts": [v for v in rec("posts")["posts"] if v["uri"] in wanted]})


def sync(client: HttpClient, who: Account, cursor: dict[str, Any]) -> tuple[list[Page], dict[str, Any]]:
    """Fetch until the connector says no page is waiting; the pages and the cursor to keep."""
    pages = [bluesky.fetch(client, who, cursor)]
    while pages[-1].more:
        assert len(pages) < 50, "the sync does not end"
        pages.append(bluesky.fetch(client, who, pages[-1].cursor))
    return pages, pages[-1].cursor


def items(pages: list[Page]) -> list[Item]:
    found = [i for page in pages for i in page.items]
    assert not [i for i in found if isinstance(i, ItemError)]
    return [i for i in found if isinstance(i, Item)]


def notifications_peer(peer: ApiPeer) -> dict[str | None, Any]:
    signed_in(peer)
    pages = {None: rec("notifications_1"), "2025-06-08T10:00:00.300Z": rec("notifications_2")}
    peer.on("GET", NOTIFICATIONS, by_cursor(pages))
    peer.on("GET", XRPC + "app.bsky.feed.getPosts", posts_by_uri)
    return pages


# Notifications: backfill, then only what is new.


def test_the_first_sync_backfills_notifications_page_by_page_down_to_backfill_days(api_peer: ApiPeer) -> None:
    notifications_peer(api_peer)
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer, modes="notifications"), {})
    assert len(pages) == 2
    assert pages[0].more
    assert not pages[1].more
    found = {i.external_id: i for i in items(pages)}
    assert list(found) == [R1, M1, Q1]  # likes and follows are not messages; April is beyond 30 days
    asked = api_peer.calls("GET", NOTIFICATIONS)
    assert [r.arg("cursor") for r in asked] == [None, "2025-06-08T10:00:00.300Z"]
    assert asked[0].query["reasons"] == ["mention", "quote", "reply"]
    assert asked[0].arg("limit") == "100"
    assert cursor == {"steps": {"notifications": {"seen": "2025-06-09T18:00:00.100000Z"}}}


def test_notifications_become_the_posts_themselves_with_counters_authors_and_threads(api_peer: ApiPeer) -> None:
    notifications_peer(api_peer)
    client, _ = local_client()
    found = {i.external_id: i for i in items(sync(client, account(api_peer, modes="notifications"), {})[0])}
    reply, mention, quote = found[R1], found[M1], found[Q1]
    assert (reply.kind, mention.kind, quote.kind) == ("reply", "mention", "share")
    assert reply.parent_external_id == P0
    assert reply.thread_external_id == P0
    assert reply.text == "Trop bien ! Il sera disponible en Belgique ?"
    assert reply.created_at == datetime(2025, 6, 9, 17, tzinfo=UTC)
    assert reply.url == "https://bsky.app/profile/camille-roule.bsky.social/post/3lcamreply1aa"
    assert reply.author is not None
    assert reply.author.key == "did:plc:camroule3hqz6ypn4ktbxaaa"
    assert reply.author.name == "Camille Roule"
    assert reply.author.url == "https://bsky.app/profile/camille-roule.bsky.social"
    assert reply.counters is not None
    assert (reply.counters.likes, reply.counters.replies) == (2, 1)
    assert json.loads(reply.raw)["likeCount"] == 2  # the post view from getPosts, not the notification
    assert (mention.language, quote.language) == ("en", "en")
    assert mention.html is not None
    assert 'href="https://bsky.app/profile/did:plc:vlmnbrand7xq2kd4wzyjcaaa"' in mention.html
    [hydration] = api_peer.calls("GET", XRPC + "app.bsky.feed.getPosts")[:1]
    assert hydration.query["uris"] == [R1, M1]


def test_an_incremental_sync_reads_from_the_top_down_to_what_it_saw_last_time(api_peer: ApiPeer) -> None:
    pages = notifications_peer(api_peer)
    client, _ = local_client()
    who = account(api_peer, modes="notifications", recheck_hours="0")
    _, cursor = sync(client, who, {})
    pages[None] = rec("notifications_new")
    before = len(api_peer.calls("GET", NOTIFICATIONS))
    second, cursor = sync(client, who, cursor)
    assert [i.external_id for i in items(second)] == [R2]
    assert [r.arg("cursor") for r in api_peer.calls("GET", NOTIFICATIONS)[before:]] == [None]
    assert cursor["steps"]["notifications"]["seen"] == "2025-06-10T08:00:00.400000Z"


def test_the_recheck_window_reads_recent_posts_again_for_their_counters(api_peer: ApiPeer) -> None:
    pages = notifications_peer(api_peer)
    client, _ = local_client()
    who = account(api_peer, modes="notifications")  # 24 hours by default
    _, cursor = sync(client, who, {})
    pages[None] = rec("notifications_new")
    second, _ = sync(client, who, cursor)
    assert [i.external_id for i in items(second)] == [R2, R1]  # M1 (the 8th, 10:00) is older than the window


def test_one_session_serves_the_whole_sync(api_peer: ApiPeer) -> None:
    notifications_peer(api_peer)
    client, _ = local_client()
    sync(client, account(api_peer, modes="notifications"), {})
    [session] = api_peer.calls("POST", SESSION)
    assert session.json() == {"identifier": "velolumen.bsky.social", "password": "abcd-efgh-ijkl-mnop"}
    assert {r.headers["Authorization"] for r in api_peer.calls("GET", NOTIFICATIONS)} == {"Bearer access-token-one"}


def test_requests_keep_a_pace_of_a_tenth_of_a_second(api_peer: ApiPeer) -> None:
    notifications_peer(api_peer)
    client, sleeps = local_client(clock=lambda: 100.0)
    sync(client, account(api_peer, modes="notifications"), {})
    assert client.pace == 0.1
    assert sleeps.waited[:2] == pytest.approx([0.1, 0.2])  # the clock stands still: each waits for its turn


# What the platform may answer in the middle of a sync.


def test_a_429_in_the_middle_of_paging_is_waited_and_the_sync_goes_on(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    limited = Answer({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, 429, {"Retry-After": "7"})
    answers = {None: [Answer(rec("notifications_1"))], "2025-06-08T10:00:00.300Z": [limited,
               Answer(rec("notifications_2"))]}  # fmt: skip
    api_peer.on("GET", NOTIFICATIONS, lambda r: answers[r.arg("cursor")].pop(0))
    api_peer.on("GET", XRPC + "app.bsky.feed.getPosts", posts_by_uri)
    client, sleeps = local_client()
    pages, _ = sync(client, account(api_peer, modes="notifications"), {})
    assert [i.external_id for i in items(pages)] == [R1, M1, Q1]
    assert 7.0 in sleeps.waited


def test_server_errors_are_retried(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    api_peer.on("GET", NOTIFICATIONS, Answer(b"upstream", 502), Answer(rec("notifications_2") | {"cursor": None}))
    api_peer.on("GET", XRPC + "app.bsky.feed.getPosts", posts_by_uri)
    client, _ = local_client()
    pages, _ = sync(client, account(api_peer, modes="notifications"), {})
    assert [i.external_id for i in items(pages)] == [Q1]
    assert len(api_peer.calls("GET", NOTIFICATIONS)) == 2


def test_an_expired_access_token_is_refreshed_and_the_call_made_again(api_peer: ApiPeer) -> None:
    notifications_peer(api_peer)
    expired = Answer({"error": "ExpiredToken", "message": "Token has expired"}, 400)
    api_peer.on("GET", NOTIFICATIONS, expired, Answer(rec("notifications_2") | {"cursor": None}))
    api_peer.on("POST", REFRESH, Answer(rec("refreshed")))
    client, _ = local_client()
    pages, _ = sync(client, account(api_peer, modes="notifications"), {})
    assert [i.external_id for i in items(pages)] == [Q1]
    [refresh] = api_peer.calls("POST", REFRESH)
    assert refresh.headers["Authorization"] == "Bearer refresh-token-one"
    assert [r.headers["Authorization"] for r in api_peer.calls("GET", NOTIFICATIONS)] == [
        "Bearer access-token-one", "Bearer access-token-two"]  # fmt: skip
    assert len(api_peer.calls("POST", SESSION)) == 1


def test_an_expired_refresh_token_signs_in_again(api_peer: ApiPeer) -> None:
    notifications_peer(api_peer)
    api_peer.on("POST", SESSION, Answer(rec("session")), Answer(rec("refreshed")))
    api_peer.on("GET", NOTIFICATIONS, Answer({"error": "InvalidToken", "message": "Token could not be verified"}, 401),
                Answer(rec("notifications_2") | {"cursor": None}))  # fmt: skip
    api_peer.on("POST", REFRESH, Answer({"error": "ExpiredToken", "message": "Token has expired"}, 400))
    client, _ = local_client()
    sync(client, account(api_peer, modes="notifications"), {})
    assert len(api_peer.calls("POST", SESSION)) == 2
    assert api_peer.calls("GET", NOTIFICATIONS)[-1].headers["Authorization"] == "Bearer access-token-two"


def test_a_refused_app_password_says_so_in_plain_words(api_peer: ApiPeer) -> None:
    refused = {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
    api_peer.on("POST", SESSION, Answer(refused, 401))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"refused to sign in as @velolumen\.bsky\.social") as raised:
        bluesky.fetch(client, account(api_peer), {})
    assert "Invalid identifier or password" in str(raised.value)
    assert "App passwords" in str(raised.value)
    assert "abcd-efgh" not in str(raised.value)
    assert api_peer.calls("GET", NOTIFICATIONS) == []


def test_the_account_password_instead_of_an_app_password_is_explained(api_peer: ApiPeer) -> None:
    asked = {"error": "AuthFactorTokenRequired", "message": "A sign in code has been sent to your email address"}
    api_peer.on("POST", SESSION, Answer(asked, 401))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"code sent by e-mail.*create an app password"):
        bluesky.fetch(client, account(api_peer), {})


def test_a_session_refused_after_renewal_is_an_auth_failure(api_peer: ApiPeer) -> None:
    notifications_peer(api_peer)
    api_peer.on("GET", NOTIFICATIONS, Answer({"error": "InvalidToken", "message": "Bad token"}, 400))
    api_peer.on("POST", REFRESH, Answer(rec("refreshed")))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"refused the session of @velolumen\.bsky\.social.*InvalidToken"):
        bluesky.fetch(client, account(api_peer, modes="notifications"), {})


def test_a_body_that_is_not_json_is_a_plain_error_with_nothing_kept(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    api_peer.on("GET", NOTIFICATIONS, Answer(b'{"notifications": [{"uri": ', headers={"Content-Type": "text/html"}))
    client, _ = local_client()
    with pytest.raises(FetchFailed, match="not JSON"):
        bluesky.fetch(client, account(api_peer, modes="notifications"), {})


def test_json_of_the_wrong_shape_is_a_plain_error_with_nothing_kept(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    api_peer.on("GET", NOTIFICATIONS, Answer({"notifications": {"uri": M1}, "cursor": "x"}))
    client, _ = local_client()
    with pytest.raises(FetchFailed, match=r"without a list of notifications.*nothing of this answer was kept"):
        bluesky.fetch(client, account(api_peer, modes="notifications"), {})


def test_a_refused_request_names_the_call_and_what_bluesky_said(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    refusal = {"error": "InvalidRequest", "message": "Profile not found"}
    api_peer.on("GET", XRPC + "app.bsky.feed.getAuthorFeed", Answer(refusal, 400))
    client, _ = local_client()
    with pytest.raises(FetchFailed, match=r"refused app.bsky.feed.getAuthorFeed \(InvalidRequest: Profile not found\)"):
        bluesky.fetch(client, account(api_peer, modes="author", author="nobody.example"), {})


# Searches, the author's feed, the threads under the account's posts.


def test_a_search_reads_its_pages_newest_first_and_labels_spam(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    search = XRPC + "app.bsky.feed.searchPosts"
    api_peer.on("GET", search, by_cursor({None: rec("search_1"), "2": rec("search_2")}))
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer, modes="search", search="VéloLumen"), {})
    found = items(pages)
    assert [i.kind for i in found] == ["mention", "mention", "mention"]
    assert found[2].labels == (("status", "spam"), ("spam", "spam"))
    first = api_peer.calls("GET", search)[0]
    assert (first.arg("q"), first.arg("sort"), first.arg("since")) == ("VéloLumen", "latest", "2025-05-11T12:00:00Z")
    assert cursor == {"steps": {"search:VéloLumen": {"seen": "2025-06-09T07:00:00Z"}}}


def test_each_search_term_is_its_own_step_after_the_notifications(api_peer: ApiPeer) -> None:
    notifications_peer(api_peer)
    search = XRPC + "app.bsky.feed.searchPosts"
    api_peer.on("GET", search, Answer({"posts": []}))
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer, modes="notifications, search", search="VéloLumen, velolumen.fr"), {})
    assert [r.arg("q") for r in api_peer.calls("GET", search)] == ["VéloLumen", "velolumen.fr"]
    assert [p.cursor.get("step") for p in pages] == ["notifications", "search:VéloLumen", "search:velolumen.fr", None]
    assert set(cursor["steps"]) == {"notifications"}  # a search that found nothing has no mark yet


def test_the_author_feed_keeps_the_posts_and_what_they_answer_but_not_reposts(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    feed = rec("own_posts")
    thread = rec("thread")["thread"]
    answer = {"post": thread["replies"][0]["replies"][0]["post"],
              "reply": {"parent": thread["replies"][0]["post"], "root": thread["post"]}}  # fmt: skip
    deleted_parent = {
        "post": feed["feed"][2]["post"] | {"uri": R1A + "x"},
        "reply": {
            "parent": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": GONE, "notFound": True},
            "root": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": GONE, "notFound": True},
        },
    }
    api_peer.on(
        "GET", XRPC + "app.bsky.feed.getAuthorFeed", Answer({"feed": [answer, feed["feed"][1], deleted_parent]})
    )
    client, _ = local_client()
    [page] = sync(client, account(api_peer, modes="author"), {})[0]
    assert [i.external_id for i in items([page])] == [R1A, R1, P0, R1A + "x"]
    assert page.deleted == [GONE]
    assert api_peer.calls("GET", XRPC + "app.bsky.feed.getAuthorFeed")[0].arg("actor") == OWN


def test_threads_under_the_accounts_recent_posts_bring_replies_and_deletions(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    api_peer.on("GET", XRPC + "app.bsky.feed.getAuthorFeed", Answer(rec("own_posts")))
    api_peer.on("GET", XRPC + "app.bsky.feed.getPostThread", Answer(rec("thread")))
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer, modes="threads", thread_days="14"), {})
    own, thread = pages
    assert [i.external_id for i in items([own])] == [P0, f"at://{OWN}/app.bsky.feed.post/3lvelocalm0aa"]
    assert own.cursor["steps"]["threads"] == {"queue": [P0]}  # the only recent post with replies
    found = {i.external_id: i for i in items([thread])}
    assert list(found) == [R1, R1A, R2]  # the post itself came with the listing
    assert found[R1A].parent_external_id == R1
    assert found[R1A].thread_external_id == P0
    assert found[R1A].kind == "reply"
    assert thread.deleted == [GONE]
    [asked] = api_peer.calls("GET", XRPC + "app.bsky.feed.getPostThread")
    assert (asked.arg("uri"), asked.arg("depth"), asked.arg("parentHeight")) == (P0, "10", "0")
    assert api_peer.calls("GET", XRPC + "app.bsky.feed.getAuthorFeed")[0].arg("filter") == "posts_no_replies"
    assert cursor == {"steps": {}}


def test_a_post_rewritten_upstream_comes_back_with_another_payload(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    api_peer.on("GET", XRPC + "app.bsky.feed.getAuthorFeed", Answer(rec("own_posts")))
    api_peer.on("GET", XRPC + "app.bsky.feed.getPostThread", Answer(rec("thread")), Answer(rec("thread_edited")))
    client, _ = local_client()
    who = account(api_peer, modes="threads", thread_days="14")
    first, cursor = sync(client, who, {})
    second, _ = sync(client, who, cursor)
    before = {i.external_id: i for i in items(first)}[R1]
    after = {i.external_id: i for i in items(second)}[R1]
    assert after.raw != before.raw
    assert after.text == "Trop bien ! Il sera disponible en Belgique et en Suisse ?"
    assert after.counters is not None
    assert after.counters.likes == 4
    assert after.created_at == before.created_at
    assert after.edited_at is None  # Bluesky says nothing of when: docs/connectors/bluesky.md


def test_a_thread_whose_post_was_deleted_reports_the_deletion(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    api_peer.on("GET", XRPC + "app.bsky.feed.getAuthorFeed", Answer(rec("own_posts")))
    api_peer.on("GET", XRPC + "app.bsky.feed.getPostThread",
                Answer({"error": "NotFound", "message": f"Post not found: {P0}"}, 400))  # fmt: skip
    client, _ = local_client()
    pages, _ = sync(client, account(api_peer, modes="threads", thread_days="14"), {})
    assert pages[-1].deleted == [P0]
    assert pages[-1].items == []


def test_hostile_content_is_kept_as_data(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    huge = "<script>alert('x')</script> " + "é" * 200_000
    view = rec("search_2")["posts"][0]
    view["record"] = view["record"] | {"text": huge, "facets": [
        {"index": {"byteStart": 0, "byteEnd": 8}, "features": [{"$type": "app.bsky.richtext.facet#link",
                                                                 "uri": "javascript:alert(1)"}]},
        {"index": {"byteStart": 29, "byteEnd": 31}, "features": [{"$type": "app.bsky.richtext.facet#link",
                                                                   "uri": "https://velolumen.fr/cut"}]},
        {"index": {"byteStart": 30, "byteEnd": 32}, "features": [{"$type": "app.bsky.richtext.facet#link",
                                                                   "uri": "https://velolumen.fr/"}]}]}  # fmt: skip
    api_peer.on("GET", XRPC + "app.bsky.feed.searchPosts", Answer({"posts": [view]}))
    client, _ = local_client()
    [item] = items(sync(client, account(api_peer, modes="search", search="velolumen"), {})[0])
    assert item.text == huge
    assert item.html is not None
    assert "<script>" not in item.html
    assert "javascript:" not in item.html
    assert item.html.startswith(
        '&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; é<a href="https://velolumen.fr/">é</a>é'
    )
    assert "/cut" not in item.html  # a facet cutting a character in two is left out


# Replying.


def test_a_reply_is_posted_under_the_message_with_its_thread_root(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    create = XRPC + "com.atproto.repo.createRecord"
    api_peer.on("POST", create, Answer(rec("created")))
    r1 = next(v for v in rec("posts")["posts"] if v["uri"] == R1)
    client, _ = local_client()
    action = Action("reply", R1, json.dumps(r1), text="Oui ! Dès juillet, détails sur https://velolumen.fr/be.")
    done = bluesky.act(client, account(api_peer), action)
    [sent] = api_peer.calls("POST", create)
    assert sent.headers["Authorization"] == "Bearer access-token-one"
    body = sent.json()
    assert (body["repo"], body["collection"]) == (OWN, "app.bsky.feed.post")
    record = body["record"]
    assert record["reply"] == {"root": {"uri": P0, "cid": r1["record"]["reply"]["root"]["cid"]},
                               "parent": {"uri": R1, "cid": r1["cid"]}}  # fmt: skip
    assert record["text"] == action.text
    assert record["createdAt"] == "2025-06-10T12:00:00.000Z"
    [link] = record["facets"]
    assert link["features"][0]["uri"] == "https://velolumen.fr/be"
    start = len(action.text[: action.text.index("https")].encode())  # type: ignore[index]
    assert link["index"] == {"byteStart": start, "byteEnd": start + len("https://velolumen.fr/be")}
    item = done.item
    assert item is not None
    assert item.external_id == f"at://{OWN}/app.bsky.feed.post/3lveloanswer1"
    assert (item.kind, item.parent_external_id, item.thread_external_id) == ("reply", R1, P0)
    assert item.author is not None
    assert item.author.key == OWN
    assert "velolumen.bsky.social" in done.detail


def test_a_reply_to_a_post_that_answers_nothing_names_it_as_root_too(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    api_peer.on("POST", XRPC + "com.atproto.repo.createRecord", Answer(rec("created")))
    m1 = next(v for v in rec("posts")["posts"] if v["uri"] == M1)
    client, _ = local_client()
    bluesky.act(client, account(api_peer), Action("reply", M1, json.dumps(m1), text="Thank you Sam!"))
    reply = api_peer.calls("POST", XRPC + "com.atproto.repo.createRecord")[0].json()["record"]["reply"]
    assert reply["root"] == reply["parent"] == {"uri": M1, "cid": m1["cid"]}
    assert "facets" not in api_peer.calls("POST", XRPC + "com.atproto.repo.createRecord")[0].json()["record"]


def test_a_reply_bluesky_refuses_says_nothing_was_posted(api_peer: ApiPeer) -> None:
    signed_in(api_peer)
    too_long = {"error": "InvalidRequest", "message": "Record/text must not be longer than 300 graphemes"}
    api_peer.on("POST", XRPC + "com.atproto.repo.createRecord", Answer(too_long, 400))
    m1 = next(v for v in rec("posts")["posts"] if v["uri"] == M1)
    client, _ = local_client()
    with pytest.raises(FetchFailed, match=r"300 graphemes\): nothing was posted"):
        bluesky.act(client, account(api_peer), Action("reply", M1, json.dumps(m1), text="🚲" * 301))
    with pytest.raises(Invalid, match="at most 300 characters"):
        bluesky.act(client, account(api_peer), Action("reply", M1, json.dumps(m1), text="vélo " * 700))


def test_actions_bluesky_does_not_allow_are_refused_before_any_request(api_peer: ApiPeer) -> None:
    client, _ = local_client()
    for kind in ("approve", "hold", "spam", "trash", "hide"):
        with pytest.raises(Invalid, match="only reply"):
            bluesky.act(client, account(api_peer), Action(kind, M1, "{}"))
    with pytest.raises(Invalid, match="uri or cid is missing"):
        bluesky.act(client, account(api_peer), Action("reply", M1, json.dumps({"uri": M1}), text="Merci !"))
    with pytest.raises(Invalid, match="needs text"):
        bluesky.act(client, account(api_peer), Action("reply", M1, "{}", text="  "))
    assert api_peer.requests == []


# Settings and the source.


def test_the_source_is_the_account_on_its_server() -> None:
    info = bluesky.describe(Account(settings={"handle": "@VeloLumen.bsky.social"}))
    assert (info.kind, info.key, info.channel) == ("bluesky", "bsky.social/@velolumen.bsky.social", "bluesky")
    assert info.url == "https://bsky.app/profile/VeloLumen.bsky.social"


def test_settings_that_cannot_work_are_refused_in_plain_words(api_peer: ApiPeer) -> None:
    client, _ = local_client()
    cases = {"modes": ("notifications, mentions", "mentions unknown"), "backfill_days": ("a month", "whole number"),
             "search": (",".join(["x"] * 11), "at most 10")}  # fmt: skip
    for setting, (value, words) in cases.items():
        with pytest.raises(Invalid, match=words):
            bluesky.fetch(client, account(api_peer, **{setting: value}), {})
    with pytest.raises(Invalid, match="needs search terms"):
        bluesky.fetch(client, account(api_peer, modes="search"), {})
    with pytest.raises(Invalid, match="app_password"):
        bluesky.fetch(client, Account(settings={"handle": "velolumen.bsky.social"}), {})
    assert api_peer.requests == []


def test_default_modes_are_notifications_and_threads_with_searches_when_given() -> None:
    assert bluesky.Config.of(Account({"handle": "a.b"}, {"app_password": "p"})).steps == ("notifications", "threads")
    searching = bluesky.Config.of(Account({"handle": "a.b", "search": "vélo"}, {"app_password": "p"}))
    assert searching.steps == ("notifications", "search:vélo", "threads")


# Parsing.


def test_facets_index_utf8_bytes_and_become_links() -> None:
    text = "Vélo → velolumen.fr et #cargo"
    start = len(text[: text.index("velolumen")].encode())
    tag = len(text[: text.index("#")].encode())
    facets = [{"index": {"byteStart": start, "byteEnd": start + 12},
               "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://velolumen.fr/"}]},
              {"index": {"byteStart": tag, "byteEnd": tag + 6},
               "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "cargo"}]}]  # fmt: skip
    assert facets_html(text, facets) == ('Vélo → <a href="https://velolumen.fr/">velolumen.fr</a> et '
                                         '<a href="https://bsky.app/hashtag/cargo">#cargo</a>')  # fmt: skip
    assert facets_html("sans lien", []) is None


def test_a_date_ahead_of_indexing_or_missing_falls_back_to_indexed_at() -> None:
    view = rec("search_2")["posts"][0]
    ahead = post_item(view | {"record": view["record"] | {"createdAt": "2099-01-01T00:00:00Z"}})
    missing = post_item(view | {"record": {k: v for k, v in view["record"].items() if k != "createdAt"}})
    for item in (ahead, missing):
        assert isinstance(item, Item)
        assert item.created_at == datetime(2025, 6, 2, 7, 0, 0, 300000, tzinfo=UTC)
    undated = post_item(view | {"record": {"text": "x"}, "indexedAt": "hier"}, where="posts[0]")
    assert isinstance(undated, ItemError)
    assert "createdAt" in undated.problem


def test_an_author_whose_handle_no_longer_resolves_is_shown_by_did() -> None:
    view = rec("search_2")["posts"][0]
    item = post_item(view | {"author": view["author"] | {"handle": "handle.invalid"}})
    assert isinstance(item, Item)
    assert item.author is not None
    assert item.author.handle == "did:plc:noorbike2tn5xw7ce3jpaaaa"
    assert item.url == "https://bsky.app/profile/did:plc:noorbike2tn5xw7ce3jpaaaa/post/3lnoorsearch3"


# Saved API answers as files.

SAMPLES = {  # file: (items, replies, shares)
    "f_autfeed.json": (73, 38, 8),
    "f_feedfeed.json": (7, 0, 0),
    "f_getlikes.json": (9, 2, 3),
    "f_getposts.json": (1, 0, 0),
    "f_getquotes.json": (2, 0, 2),
    "f_postthread.json": (1, 0, 0),
    "f_search.json": (25, 12, 2),
    "f_timeline.json": (48, 3, 2),
    "n_notifications.json": (18, 14, 1),
}


def parsed(path: Path) -> list[Item]:
    found = list(bluesky_json.parse(path, ParseOptions()))
    assert not [i for i in found if isinstance(i, ItemError)]
    return [i for i in found if isinstance(i, Item)]


@pytest.mark.realdata
@pytest.mark.parametrize(("sample", "expected"), SAMPLES.items())
def test_the_shared_samples_import(shared: Path, sample: str, expected: tuple[int, int, int]) -> None:
    path = shared / "bluesky" / sample
    assert bluesky_json.sniff(path.read_bytes()[:65536], path)
    found = parsed(path)
    kinds = [i.kind for i in found]
    assert (len(found), kinds.count("reply"), kinds.count("share")) == expected
    assert len({i.external_id for i in found}) == len(found)
    assert all(i.author is not None and i.author.key.startswith("did:plc:") for i in found)
    assert all(i.external_id.startswith("at://") and i.url and i.url.startswith("https://bsky.app/") for i in found)


@pytest.mark.realdata
def test_an_author_feed_file_holds_the_posts_its_replies_answer(shared: Path) -> None:
    found = parsed(shared / "bluesky" / "f_autfeed.json")
    ids = {i.external_id for i in found}
    replies = [i for i in found if i.parent_external_id]
    assert sum(1 for i in replies if i.parent_external_id in ids) == 33
    assert all(i.thread_external_id for i in replies)
    assert {i.author.handle for i in found if i.author} >= {"chriskenny.bsky.social"}


@pytest.mark.realdata
def test_the_shared_samples_land_in_one_source_with_replies_linked(
    shared: Path, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sources.FORMATS, "bluesky_json", bluesky_json)  # this test only: the lead registers it
    reports = [import_file(sqlite_engine, shared / "bluesky" / name, format="bluesky_json") for name in SAMPLES]
    assert reports[0].counts.new == 73
    assert {r.source for r in reports} == {"Bluesky"}
    with Session(sqlite_engine) as session:
        messages = {m.external_id: m for m in session.scalars(select(Message))}
    assert len(messages) == sum(r.counts.new for r in reports)
    linked = [m for m in messages.values() if m.parent_external_id in messages]
    assert len(linked) > 33
    assert all(m.parent_id == messages[str(m.parent_external_id)].id for m in linked)
    rooted = [m for m in messages.values() if m.thread_external_id in messages]
    assert len(rooted) > 33
    assert all(m.thread_id == messages[str(m.thread_external_id)].id for m in rooted)


@pytest.mark.realdata
def test_a_notifications_file_keeps_mentions_replies_and_quotes(shared: Path) -> None:
    found = parsed(shared / "bluesky" / "n_notifications.json")
    notes = json.loads((shared / "bluesky" / "n_notifications.json").read_text())["notifications"]
    kept = [n["uri"] for n in notes if n["reason"] in ("mention", "reply", "quote")]
    assert [i.external_id for i in found] == kept
    assert all(i.counters is None for i in found)  # notifications carry no counters


@pytest.mark.realdata
def test_a_file_of_accounts_rather_than_posts_is_refused_with_what_to_save(shared: Path) -> None:
    with pytest.raises(BadInput, match=r"accounts that reposted a post, not posts.*getPostThread"):
        list(bluesky_json.parse(shared / "bluesky" / "f_reposts.json", ParseOptions()))


@pytest.mark.realdata
def test_other_platforms_files_are_not_taken_for_bluesky(shared: Path) -> None:
    others = [p for p in shared.rglob("*") if p.is_file() and p.parent.name != "bluesky"]
    assert others
    assert [p for p in others if bluesky_json.sniff(p.read_bytes()[:65536], p)] == []


def test_json_lines_of_posts_are_left_to_the_jsonl_importer(tmp_path: Path) -> None:
    views = rec("search_1")["posts"]
    lines = tmp_path / "posts.jsonl"
    lines.write_text("".join(json.dumps({"feed": [{"post": v}]}) + "\n" for v in views))
    assert not bluesky_json.sniff(lines.read_bytes(), lines)
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"posts": views}))
    assert bluesky_json.sniff(one.read_bytes(), one)


def test_a_thread_file_brings_every_reply_and_leaves_deleted_ones_out(tmp_path: Path) -> None:
    path = tmp_path / "thread.json"
    path.write_text(json.dumps(rec("thread"), indent=1))
    assert [i.external_id for i in parsed(path)] == [P0, R1, R1A, R2]
    info = bluesky_json.describe(path, ParseOptions())
    assert (info.kind, info.key, info.channel) == ("bluesky_json", "bsky.app", "bluesky")


def test_unreadable_files_are_refused_before_anything_is_read(tmp_path: Path) -> None:
    cases = {"truncated.json": '{"feed": [{"post": {"uri": "at://did:plc:x', "list.json": "[1, 2]",
             "other.json": '{"statuses": []}', "shape.json": '{"posts": {"uri": "at://did:plc:x"}}'}  # fmt: skip
    words = {"truncated.json": "malformed JSON", "list.json": "one JSON object", "other.json": "not a Bluesky answer",
             "shape.json": "not a list"}  # fmt: skip
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(BadInput, match=words[name]):
            list(bluesky_json.parse(path, ParseOptions()))


def test_a_post_that_cannot_be_read_is_skipped_and_the_rest_imports(tmp_path: Path) -> None:
    path = tmp_path / "search.json"
    views = rec("search_1")["posts"]
    path.write_text(json.dumps({"posts": [views[0], {"uri": "not-at"}, {"uri": M1}, views[1]]}, indent=1))
    found = list(bluesky_json.parse(path, ParseOptions()))
    assert [type(i).__name__ for i in found] == ["Item", "ItemError", "ItemError", "Item"]
    assert [i.where for i in found if isinstance(i, ItemError)] == ["posts[1]", f"posts[2] {M1}"]
