"""The YouTube connector against recorded YouTube Data API v3 answers, replayed on a local peer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from api_peer import Answer, ApiPeer, Request, local_client, recorded
from pilote.errors import Invalid
from pilote.sources import youtube, youtube_api
from pilote.sources.base import Account, Action, Item, ItemError, Page
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus, RateLimited

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings" / "youtube"
CHANNEL = "UCaTe1ierBr1oche-Paris7w"
NOW = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)
T1, T0, T2, T3 = (f"Ugx{middle}4AaABAg" for middle in ("kP2vQm8RzT4wYb7N", "Lr5sJd2Hq9Vx3Ce6", "Wn7Ab3Kc9Fp1Zs5Q",
                                                        "Hd4Mg8Rt2Lv6Xy0B"))  # fmt: skip
N1, H1, H2, S1 = (f"Ugx{middle}4AaABAg" for middle in ("Va5Tk9Me3Lo7Ux1I", "Hx0Ld4Fe8Gy2Jm6N", "Hz3Qw7Er1Ty5Ui9O",
                                                        "Sp4Am8Mx2Wi6Nn0R"))  # fmt: skip
JEANNE_REPLY = f"{T1}.Mn3Op4Qr5St6Uv7Wx8Yz9A"
PAGE2, PAGE3, PAGE4 = (f"QURTSl9pMFpTNmRKUXo1b1Z4cF9wYWdl{n}==" for n in ("Mg", "Mw", "NA"))
THREADS, COMMENTS, VIDEOS = "/youtube/v3/commentThreads", "/youtube/v3/comments", "/youtube/v3/videos"
MODERATE, TOKEN = "/youtube/v3/comments/setModerationStatus", "/oauth/token"


def body(name: str) -> Any:
    return recorded(RECORDINGS / name)


def raw_answer(name: str, status: int) -> Answer:
    """A recorded error exactly as Google writes it (pretty-printed, its reason far into the body)."""
    return Answer((RECORDINGS / name).read_bytes(), status, {"Content-Type": "application/json; charset=UTF-8"})


@dataclass
class YouTube:
    """The platform as the recordings describe it; a test changes what it answers between syncs."""

    newest: str = "threads_page1.json"
    held: str = "held.json"
    spam: str = "spam.json"
    pages: dict[str, Answer | str] = field(default_factory=lambda: {PAGE2: "threads_page2.json",
                                                                     PAGE3: "threads_page3.json"})  # fmt: skip
    videos: dict[str, Answer | str] = field(default_factory=lambda: {"Tarte_Tatin": "threads_video_tatin.json"})
    expired: set[str] = field(default_factory=set)  # access tokens answered with 401

    def threads(self, request: Request) -> Answer:
        if (request.headers.get("Authorization") or "").removeprefix("Bearer ") in self.expired:
            return raw_answer("unauthorized.json", 401)
        status, token = request.arg("moderationStatus"), request.arg("pageToken")
        if status:
            return Answer(body(self.held if status == "heldForReview" else self.spam))
        if request.arg("id"):
            return Answer(body("left.json"))
        chosen = self.videos[request.arg("videoId") or ""] if request.arg("videoId") else self.newest
        chosen = self.pages[token] if token else chosen
        return chosen if isinstance(chosen, Answer) else Answer(body(chosen))

    def replies(self, request: Request) -> Answer:
        return Answer(body("replies_page2.json" if request.arg("pageToken") else "replies_page1.json"))

    def video_list(self, request: Request) -> Answer:
        wanted = (request.arg("id") or "").split(",")
        listing = body("videos.json")
        return Answer({**listing, "items": [video for video in listing["items"] if video["id"] in wanted]})


@pytest.fixture
def platform(api_peer: ApiPeer) -> YouTube:
    found = YouTube()
    api_peer.on("GET", THREADS, found.threads)
    api_peer.on("GET", COMMENTS, found.replies)
    api_peer.on("GET", VIDEOS, found.video_list)
    api_peer.on("POST", TOKEN, Answer(body("token.json")))
    api_peer.on("POST", COMMENTS, Answer(body("reply_posted.json")))
    api_peer.on("POST", MODERATE, Answer(b"", 204))
    return found


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The time the connector reads (a list to move it forward)."""
    now = [NOW]
    monkeypatch.setattr(youtube, "_now", lambda: now[0])
    return now


@pytest.fixture(autouse=True)
def _no_renewed_tokens() -> Iterator[None]:
    youtube_api._renewed.clear()
    yield
    youtube_api._renewed.clear()


def key_account(peer: ApiPeer, **settings: str) -> Account:
    return Account({"channel": CHANNEL, "api_url": peer.base, **settings}, {"api_key": "AIzaSy-test-key"})


def owner_account(peer: ApiPeer, *, renewable: bool = True, **settings: str) -> Account:
    secrets = {"access_token": "ya29.entered"}
    if renewable:
        secrets |= {"refresh_token": "1//0g-refresh", "client_secret": "GOCSPX-test"}
        settings |= {"client_id": "1234-pilote.apps.googleusercontent.com"}
    return Account({"channel": CHANNEL, "api_url": peer.base, "token_url": peer.url(TOKEN), **settings}, secrets)


def sync(
    client: HttpClient, account: Account, cursor: dict[str, Any] | None = None
) -> tuple[list[Page], dict[str, Any]]:
    """Fetch until the connector says nothing more is waiting, as a sync does."""
    pages: list[Page] = []
    cursor = cursor or {}
    while not pages or pages[-1].more:
        pages.append(youtube.fetch(client, account, cursor))
        cursor = pages[-1].cursor
        assert len(pages) < 30
    return pages, cursor


def found(pages: list[Page]) -> dict[str, Item]:
    return {item.external_id: item for page in pages for item in page.items if isinstance(item, Item)}


def deleted(pages: list[Page]) -> list[str]:
    return [external_id for page in pages for external_id in page.deleted]


def backfilled(api_peer: ApiPeer, account: Account) -> tuple[dict[str, Item], dict[str, Any], HttpClient]:
    client, _ = local_client()
    pages, cursor = sync(client, account)
    return found(pages), cursor, client


def test_a_first_sync_reads_the_channel_newest_first_down_to_the_backfill_limit(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    client, _ = local_client()
    pages, cursor = sync(client, key_account(api_peer))
    listing = api_peer.calls("GET", THREADS)
    assert [call.arg("pageToken") for call in listing] == [None, PAGE2, PAGE3]  # page 3 reaches past 90 days
    assert all(call.arg("allThreadsRelatedToChannelId") == CHANNEL and call.arg("order") == "time" for call in listing)
    assert {call.arg("key") for call in api_peer.requests} == {"AIzaSy-test-key"}
    assert not any("Authorization" in call.headers for call in api_peer.requests)
    assert [page.more for page in pages] == [True, True, False]
    items = found(pages)
    kinds = [item.kind for item in items.values()]
    assert (kinds.count("post"), kinds.count("comment"), kinds.count("reply")) == (3, 10, 10)
    assert cursor["marks"] == {"channel": {"at": "2025-03-19T18:42:10Z", "id": T1}}
    assert "pass" not in cursor


def test_comments_answer_their_video_and_replies_their_comment(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    items, _, _ = backfilled(api_peer, key_account(api_peer))
    video = items["video:Brioche3Lk7"]
    assert (video.kind, video.title, video.language) == ("post", "La brioche feuilletée en 10 étapes", "fr")
    assert video.author is not None
    assert video.author.key == f"channel:{CHANNEL}"
    top = items[T1]
    assert top.text.startswith("Recette testée hier soir")
    assert "c'était" in top.text
    assert (top.parent_external_id, top.thread_external_id) == ("video:Brioche3Lk7", "video:Brioche3Lk7")
    assert top.url == f"https://www.youtube.com/watch?v=Brioche3Lk7&lc={T1}"
    assert top.author is not None
    assert (top.author.key, top.author.handle) == ("channel:UCq8cAm1lleB0ulangeR7xTz", "@camille.boulange")
    assert top.counters is not None
    assert (top.counters.likes, top.counters.replies) == (12, 2)
    assert top.created_at == datetime(2025, 3, 19, 18, 42, 10, tzinfo=UTC)
    assert top.edited_at is None
    reply = items[JEANNE_REPLY]
    assert (reply.kind, reply.parent_external_id, reply.thread_external_id) == ("reply", T1, "video:Brioche3Lk7")
    english = items[T2]
    assert english.text == "Tried this with oat milk\nworked great 👍 5:12 is the key step"
    assert english.html is not None
    assert '<a href="https://www.youtube.com/watch?v=Brioche3Lk7' in english.html
    assert json.loads(top.raw)["snippet"]["totalReplyCount"] == 2
    assert "replies" not in json.loads(top.raw)
    assert items[T3].edited_at == datetime(2025, 3, 12, 21, 10, 44, tzinfo=UTC)


def test_a_thread_with_more_replies_than_it_inlines_is_read_whole(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    items, _, _ = backfilled(api_peer, key_account(api_peer))
    replies = [item for item in items.values() if item.parent_external_id == T2]
    assert len(replies) == 7  # 5 inlined in the thread, 7 from comments.list over two pages
    assert {reply.thread_external_id for reply in replies} == {"video:Brioche3Lk7"}
    asked = api_peer.calls("GET", COMMENTS)
    assert [(call.arg("parentId"), call.arg("pageToken") is None) for call in asked] == [(T2, True), (T2, False)]
    assert len(api_peer.calls("GET", VIDEOS)) == 2  # pages 1 and 2 brought videos not seen before; page 3 none


def test_an_incremental_sync_brings_what_is_new_and_stops_below_the_recheck_window(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    account = key_account(api_peer)
    _, cursor, client = backfilled(api_peer, account)
    before = len(api_peer.requests)
    platform.newest = "threads_incremental.json"
    clock[0] = NOW + timedelta(hours=6)
    pages, cursor = sync(client, account, cursor)
    sent = api_peer.requests[before:]
    assert [(call.path, call.arg("pageToken")) for call in sent] == [(THREADS, None)]  # nothing else to ask
    items = found(pages)
    assert N1 in items
    assert items[N1].text.startswith("Which flour do you use?")
    assert cursor["marks"]["channel"] == {"at": "2025-03-20T16:05:00Z", "id": N1}


def test_an_edited_comment_comes_again_with_its_new_words_and_edited_at(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    account = key_account(api_peer)
    first, cursor, client = backfilled(api_peer, account)
    platform.newest = "threads_incremental.json"
    clock[0] = NOW + timedelta(hours=6)
    pages, _ = sync(client, account, cursor)
    edited = found(pages)[T1]
    assert edited.raw != first[T1].raw
    assert edited.text.endswith("Edit : refaite ce matin à 165°, encore mieux.")
    assert edited.edited_at == datetime(2025, 3, 20, 9, 12, 37, tzinfo=UTC)
    assert edited.created_at == first[T1].created_at


def test_comments_gone_from_the_recheck_window_are_reported_deleted(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    account = key_account(api_peer)
    _, cursor, client = backfilled(api_peer, account)
    platform.newest = "threads_incremental.json"
    clock[0] = NOW + timedelta(hours=6)
    pages, cursor = sync(client, account, cursor)
    assert sorted(deleted(pages)) == sorted([T0, JEANNE_REPLY])  # a thread, and a reply from a re-read thread
    assert T0 not in cursor["threads"]
    assert len(api_peer.calls("GET", COMMENTS)) == 2  # the long thread's replies were not asked again


def test_the_owner_also_reads_held_and_likely_spam_comments_with_their_labels(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    client, _ = local_client()
    pages, cursor = sync(client, owner_account(api_peer))
    statuses = [call.arg("moderationStatus") for call in api_peer.calls("GET", THREADS)]
    assert statuses[:2] == ["heldForReview", "likelySpam"]
    assert set(statuses[2:]) == {None}
    assert {call.headers["Authorization"] for call in api_peer.requests} == {"Bearer ya29.entered"}
    assert not any(call.arg("key") for call in api_peer.requests)
    items = found(pages)
    assert items[H1].labels == (("status", "pending"),)
    assert items[S1].labels == (("status", "pending"), ("spam", "spam"))
    assert items[T1].labels == ()
    assert cursor["queued"] == [H1, H2, S1]


def test_a_held_comment_published_since_comes_back_unlabelled_and_a_rejected_one_is_deleted(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    account = owner_account(api_peer)
    _, cursor, client = backfilled(api_peer, account)
    platform.held, platform.newest = "queue_empty.json", "threads_incremental.json"
    clock[0] = NOW + timedelta(hours=6)
    pages, cursor = sync(client, account, cursor)
    [lookup] = [call for call in api_peer.calls("GET", THREADS) if call.arg("id")]
    assert lookup.arg("id") == f"{H1},{H2}"
    items = found(pages)
    assert items[H1].labels == ()
    assert items[S1].labels == (("status", "pending"), ("spam", "spam"))
    assert sorted(deleted(pages)) == sorted([H2, T0, JEANNE_REPLY])
    assert cursor["queued"] == [S1]


def test_an_expired_access_token_is_renewed_once_and_the_sync_goes_on(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    platform.expired.add("ya29.entered")
    account = owner_account(api_peer)
    client, _ = local_client()
    youtube.fetch(client, account, {})
    [renewal] = api_peer.calls("POST", TOKEN)
    assert renewal.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(renewal.body.decode()) == {"grant_type": ["refresh_token"], "refresh_token": ["1//0g-refresh"],
        "client_id": ["1234-pilote.apps.googleusercontent.com"], "client_secret": ["GOCSPX-test"]}  # fmt: skip
    sync(client, account)
    assert len(api_peer.calls("POST", TOKEN)) == 1  # the renewed token is kept for the next requests
    used = [call.headers["Authorization"] for call in api_peer.calls("GET", THREADS)]
    assert used[0] == "Bearer ya29.entered"
    assert set(used[1:]) == {"Bearer ya29.a0renewed-access-token-for-tests"}


def test_a_refused_refresh_token_stops_the_sync_in_plain_words(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    platform.expired.add("ya29.entered")
    api_peer.on("POST", TOKEN, Answer(body("token_refused.json"), 400))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"refused to renew the access token \(invalid_grant\).*authorise Pilote"):
        youtube.fetch(client, owner_account(api_peer), {})


def test_an_expired_token_that_cannot_be_renewed_is_an_auth_failure(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    platform.expired.add("ya29.entered")
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"refused the access token \(HTTP 401\): it expired or was revoked"):
        youtube.fetch(client, owner_account(api_peer, renewable=False), {})
    assert api_peer.calls("POST", TOKEN) == []


def test_a_refused_api_key_or_a_forbidden_answer_is_an_auth_failure_in_plain_words(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    client, _ = local_client()
    api_peer.on("GET", THREADS, raw_answer("key_invalid.json", 400))
    with pytest.raises(AuthFailed, match=r"refused the API key \(keyInvalid\)"):
        youtube.fetch(client, key_account(api_peer), {})
    api_peer.on("GET", THREADS, raw_answer("forbidden.json", 403))
    with pytest.raises(AuthFailed, match=r"\(forbidden\).*access token of the channel's owner"):
        youtube.fetch(client, owner_account(api_peer), {})


def test_the_daily_quota_used_up_stops_the_sync_and_the_cursor_is_kept(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    assert (RECORDINGS / "quota_exceeded.json").read_bytes().find(b"quotaExceeded") > 300  # past what errors keep
    platform.pages[PAGE2] = raw_answer("quota_exceeded.json", 403)
    account = key_account(api_peer)
    client, sleeps = local_client()
    first = youtube.fetch(client, account, {})
    with pytest.raises(RateLimited, match=r"daily quota .* is used up.*Pilote goes on tomorrow") as stopped:
        youtube.fetch(client, account, first.cursor)
    assert 60 <= stopped.value.retry_after <= 25 * 3600
    assert sleeps.waited == []
    assert len(api_peer.calls("GET", THREADS)) == 2
    platform.pages[PAGE2] = "threads_page2.json"  # the next day
    pages, cursor = sync(client, account, first.cursor)
    assert api_peer.calls("GET", THREADS)[2].arg("pageToken") == PAGE2
    assert len(found([first, *pages])) == 23
    assert cursor["marks"]["channel"]["id"] == T1


def test_a_429_in_the_middle_of_paging_is_waited_and_the_sync_goes_on(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    slow_down = [Answer({"error": {"code": 429, "message": "Too many requests"}}, 429, {"Retry-After": "7"})]

    def answer(request: Request) -> Answer:
        if request.arg("pageToken") == PAGE2 and slow_down:
            return slow_down.pop()
        return platform.threads(request)

    api_peer.on("GET", THREADS, answer)
    client, sleeps = local_client()
    pages, _ = sync(client, key_account(api_peer))
    assert sleeps.waited == [7.0]
    assert len(found(pages)) == 23


def test_server_errors_are_retried_then_stop_the_sync_with_the_cursor_kept(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    platform.pages[PAGE2] = Answer(b"<html>Backend Error</html>", 503, {"Content-Type": "text/html"})
    account = key_account(api_peer)
    client, sleeps = local_client()
    first = youtube.fetch(client, account, {})
    with pytest.raises(HttpStatus, match="503"):
        youtube.fetch(client, account, first.cursor)
    assert len(sleeps.waited) == 3  # three retries, then the sync stops where it was
    assert first.cursor["pass"]["token"] == PAGE2


def test_a_video_with_comments_turned_off_is_skipped_and_the_others_are_read(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    platform.videos["MacaronOff1"] = raw_answer("comments_disabled.json", 403)
    account = key_account(api_peer, videos="MacaronOff1, https://www.youtube.com/watch?v=Tarte_Tatin&t=4")
    client, _ = local_client()
    pages, cursor = sync(client, account)
    assert [call.arg("videoId") for call in api_peer.calls("GET", THREADS)] == ["MacaronOff1", "Tarte_Tatin"]
    items = found(pages)
    assert {item.thread_external_id for item in items.values()} == {"video:Tarte_Tatin"}
    assert len(items) == 5
    assert set(cursor["marks"]) == {"Tarte_Tatin"}


def test_the_whole_channel_refused_for_disabled_comments_is_a_plain_error(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    api_peer.on("GET", THREADS, raw_answer("comments_disabled.json", 403))
    client, _ = local_client()
    with pytest.raises(FetchFailed, match=r"commentsDisabled\) for the whole channel.*videos setting"):
        youtube.fetch(client, key_account(api_peer), {})


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        (Answer(b'{"items": [{"id": "Ugx', headers={"Content-Type": "application/json"}), "not JSON"),
        (Answer({"kind": "youtube#commentThreadListResponse", "items": {"id": "x"}}), "unexpected shape"),
        (Answer(["not", "an", "object"]), "unexpected shape"),
    ],
)
def test_a_body_that_is_not_a_listing_is_a_plain_error_and_nothing_is_kept(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime], answer: Answer, words: str
) -> None:
    platform.pages[PAGE2] = answer
    account = key_account(api_peer)
    client, _ = local_client()
    first = youtube.fetch(client, account, {})
    kept = json.dumps(first.cursor, sort_keys=True)
    with pytest.raises(FetchFailed, match=words):
        youtube.fetch(client, account, first.cursor)
    assert json.dumps(first.cursor, sort_keys=True) == kept


def test_an_unreadable_thread_is_an_item_error_and_the_rest_of_the_page_is_read(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    good = body("threads_page3.json")["items"][0]
    undated = json.loads(json.dumps(good))
    undated["id"] = undated["snippet"]["topLevelComment"]["id"] = "UgxUndated"
    del undated["snippet"]["topLevelComment"]["snippet"]["publishedAt"]
    listing = {"items": ["a string", {"id": "UgxNoSnippet"}, {"id": "UgxNoTop", "snippet": {}}, undated, good]}
    api_peer.on("GET", THREADS, lambda request: Answer(listing))
    client, _ = local_client()
    page = youtube.fetch(client, key_account(api_peer), {})
    errors = [item for item in page.items if isinstance(item, ItemError)]
    assert len(errors) == 4
    assert any("UgxUndated" in error.where for error in errors)
    assert [item.external_id for item in page.items if isinstance(item, Item)] == ["video:Croissnt-24", good["id"]]


def test_hostile_comment_text_is_kept_as_data(api_peer: ApiPeer, platform: YouTube, clock: list[datetime]) -> None:
    thread = body("threads_page3.json")["items"][0]
    snippet = thread["snippet"]["topLevelComment"]["snippet"]
    huge = "Trop bon ! " * 40_000
    snippet["textDisplay"] = '<script>alert("x")</script><img src=x onerror=alert(1)><b>Bravo</b> ' + huge
    snippet["textOriginal"] = '<script>alert("x")</script> Bravo ' + huge
    plain = json.loads(json.dumps(thread))
    plain["id"] = plain["snippet"]["topLevelComment"]["id"] = "UgxNoOriginal"
    del plain["snippet"]["topLevelComment"]["snippet"]["textOriginal"]
    api_peer.on("GET", THREADS, Answer({"items": [thread, plain]}))
    client, _ = local_client()
    items = found([youtube.fetch(client, key_account(api_peer), {})])
    kept = items[thread["id"]]
    assert kept.text == snippet["textOriginal"]  # the words as written, for the store to cap
    assert kept.html == snippet["textDisplay"]  # for the store to sanitise
    derived = items["UgxNoOriginal"].text
    assert "alert" not in derived
    assert derived.startswith("Bravo Trop bon !")


def test_a_reply_is_posted_to_the_thread_and_comes_back_as_an_item(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    items, _, client = backfilled(api_peer, key_account(api_peer))
    account = owner_account(api_peer)
    text = "Merci, on ajoute la précision dans la description ! / Thanks, we'll add it to the description!"
    done = youtube.act(client, account, Action("reply", JEANNE_REPLY, items[JEANNE_REPLY].raw, text))
    [sent] = api_peer.calls("POST", COMMENTS)
    assert sent.arg("part") == "snippet"
    assert sent.headers["Authorization"] == "Bearer ya29.entered"
    assert sent.json() == {"snippet": {"parentId": T1, "textOriginal": text}}  # a reply to a reply joins the thread
    assert done.item is not None
    assert (done.item.kind, done.item.parent_external_id) == ("reply", T1)
    assert done.item.text == body("reply_posted.json")["snippet"]["textOriginal"]
    assert done.detail == "reply posted on YouTube"
    on_top = youtube.act(client, account, Action("reply", T1, items[T1].raw, text))
    assert on_top.item is not None
    assert on_top.item.thread_external_id == "video:Brioche3Lk7"


def test_approve_hold_and_spam_set_the_comment_s_moderation_status(api_peer: ApiPeer, platform: YouTube) -> None:
    client, _ = local_client()
    account = owner_account(api_peer)
    details = [youtube.act(client, account, Action(kind, H1, "{}")).detail for kind in ("approve", "hold", "spam")]
    sent = api_peer.calls("POST", MODERATE)
    assert [(call.arg("id"), call.arg("moderationStatus"), call.arg("banAuthor")) for call in sent] == [
        (H1, "published", "false"), (H1, "heldForReview", "false"), (H1, "rejected", "false")]  # fmt: skip
    assert all(call.headers["Content-Length"] == "0" and call.headers["Authorization"] for call in sent)
    assert details[2] == "comment rejected as spam on YouTube"


def test_actions_youtube_does_not_allow_are_refused_before_any_request(api_peer: ApiPeer, platform: YouTube) -> None:
    client, _ = local_client()
    owner = owner_account(api_peer)
    for account, action, words in [
        (owner, Action("trash", H1, "{}"), "'trash'"),
        (owner, Action("hide", H1, "{}"), "'hide'"),
        (owner, Action("reply", "video:Brioche3Lk7", "{}", "Bonjour"), "a video"),
        (owner, Action("reply", H1, "{}", "   "), "needs some text"),
        (key_account(api_peer), Action("approve", H1, "{}"), "an api_key only reads"),
    ]:
        with pytest.raises(Invalid, match=words):
            youtube.act(client, account, action)
    assert api_peer.requests == []


def test_the_source_is_the_channel_and_unusable_settings_are_refused(api_peer: ApiPeer) -> None:
    account = Account({"channel": f"https://www.youtube.com/channel/{CHANNEL}/videos"}, {"api_key": "k"})
    info = youtube.describe(account)
    assert (info.kind, info.key, info.channel) == ("youtube", f"youtube.com/channel/{CHANNEL}", "youtube")
    assert info.url == f"https://www.youtube.com/channel/{CHANNEL}"
    for settings, secrets, words in [
        ({"channel": "@AtelierBrioche"}, {"api_key": "k"}, "a @handle is not an id"),
        ({"channel": CHANNEL}, {}, "enter an api_key"),
        ({"channel": CHANNEL}, {"refresh_token": "r"}, "client_id and client_secret"),
        ({"channel": CHANNEL, "videos": "not a video"}, {"api_key": "k"}, "not a video id"),
    ]:
        with pytest.raises(Invalid, match=words):
            youtube.describe(Account(settings, secrets))
    client, _ = local_client()
    with pytest.raises(Invalid, match="backfill_days: a whole number"):
        youtube.fetch(client, key_account(api_peer, backfill_days="three months"), {})
    assert api_peer.requests == []


def test_a_page_token_youtube_no_longer_takes_starts_the_listing_again(
    api_peer: ApiPeer, platform: YouTube, clock: list[datetime]
) -> None:
    platform.pages["stale"] = Answer({"error": {"code": 400, "message": "Invalid page token"}}, 400)
    cursor = {"pass": {"step": 0, "started": "2025-03-20T12:00:00Z", "fresh": {}, "queued": [], "token": "stale"}}
    client, _ = local_client()
    pages, end = sync(client, key_account(api_peer), cursor)
    assert [call.arg("pageToken") for call in api_peer.calls("GET", THREADS)] == ["stale", None, PAGE2, PAGE3]
    assert len(found(pages)) == 23
    assert "pass" not in end


def test_the_connector_declares_what_the_registry_needs() -> None:
    assert youtube.name == "youtube"
    assert youtube.actions == ("reply", "approve", "hold", "spam")
    secret = {setting.name for setting in youtube.settings if setting.secret}
    assert secret == {"api_key", "access_token", "refresh_token", "client_secret"}
    assert [setting.name for setting in youtube.settings if setting.required] == ["channel"]
