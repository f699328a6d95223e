"""The WordPress connector against a local peer replaying recorded wp/v2 answers (tests/recordings/wordpress)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api_peer import Answer, ApiPeer, Request, local_client, recorded
from pilote.errors import Invalid
from pilote.sources import wordpress
from pilote.sources.base import Account, Action, Item, ItemError, Page
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings" / "wordpress"
POSTS, COMMENTS = "/wp-json/wp/v2/posts", "/wp-json/wp/v2/comments"
PASSWORD = "abcd EFGH 1234 ijkl MNOP 5678"  # an invented application password


def answer(name: str) -> Answer:
    """One recorded answer: status, headers (X-WP-Total, X-WP-TotalPages) and body."""
    found = recorded(RECORDINGS / name)
    return Answer(found["body"], found["status"], found["headers"])


def moderator(peer: ApiPeer, **settings: str) -> Account:
    return Account(settings={"site": peer.base, "user": "claire-m", **settings},
                   secrets={"application_password": PASSWORD})  # fmt: skip


def public(peer: ApiPeer) -> Account:
    return Account(settings={"site": peer.base})


class Blog:
    """The recorded blog: the backfill's pages, then (once `live`) what changed before the next sync."""

    def __init__(self, peer: ApiPeer) -> None:
        self.live = False
        peer.on("GET", POSTS, self.posts)
        peer.on("GET", COMMENTS, self.comments)

    def posts(self, request: Request) -> Answer:
        if request.arg("orderby") == "modified":
            return answer("posts-edited.json")
        if request.arg("order") == "asc":
            return answer("posts-new.json")
        return answer(f"posts-{request.arg('page')}.json")

    def comments(self, request: Request) -> Answer:
        if request.arg("status") is None:
            return answer("comments-public.json")
        return answer(f"comments-{'live-' if self.live else ''}{request.arg('page')}.json")


def sync(client: HttpClient, account: Account, cursor: dict[str, Any]) -> tuple[list[Page], dict[str, Any]]:
    """Fetch until a page says nothing more waits, as a sync does; the cursor must stay JSON."""
    pages: list[Page] = []
    while not pages or pages[-1].more:
        pages.append(wordpress.fetch(client, account, cursor))
        cursor = json.loads(json.dumps(pages[-1].cursor))
        assert len(pages) < 20
    return pages, cursor


def items(pages: list[Page]) -> dict[str, Item]:
    found = [item for page in pages for item in page.items]
    assert all(isinstance(item, Item) for item in found), found
    return {item.external_id: item for item in found if isinstance(item, Item)}


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wordpress, "PER_PAGE", 3)  # the recordings' page size


def test_the_first_sync_reads_every_published_post_then_the_comments_page_by_page(api_peer: ApiPeer) -> None:
    Blog(api_peer)
    client, _ = local_client()
    pages, cursor = sync(client, moderator(api_peer), {})
    assert [page.more for page in pages] == [True, True, True, True, False]
    found = items(pages)
    assert len(found) == 4 + 9
    post = found["post:123"]
    assert (post.kind, post.title) == ("post", "Recyclage des chambres à air\xa0: où en est-on\xa0?")
    assert post.thread_external_id == "post:123"
    assert post.created_at == datetime(2025, 3, 10, 9, 15, tzinfo=UTC)
    assert post.edited_at == datetime(2025, 3, 10, 9, 20, tzinfo=UTC)
    assert "412 chambres à air" in post.text
    assert "<strong>" in (post.html or "")
    assert post.author is not None
    assert (post.author.key, post.author.name) == ("user:claire-m", "Claire Martin")
    assert post.url == "https://blog.atelier-lumen.example/2025/03/10/recyclage-chambres-a-air/"
    reply = found["comment:233"]
    assert (reply.kind, reply.parent_external_id, reply.thread_external_id) == ("reply", "comment:232", "post:115")
    top = found["comment:232"]
    assert (top.kind, top.parent_external_id, top.language) == ("comment", "post:115", None)
    assert top.author is not None
    assert top.author.url == "https://samoconnor.example"
    assert found["comment:234"].author is not None
    assert found["comment:234"].author.key == "user:tom"
    assert found["comment:236"].text == "Super initiative\xa0! Où peut-on déposer les chambres à air usagées\xa0?"
    assert found["comment:230"].labels == (("status", "approved"),)
    assert found["comment:238"].labels == (("status", "pending"),)
    assert found["comment:237"].labels == (("status", "spam"), ("spam", "spam"))
    assert found["comment:235"].labels == (("status", "trash"),)
    assert cursor == {"posts": {"date": "2025-03-10T09:15:00Z", "modified": "2025-03-10T09:20:00Z"},
                      "comments": {"top": 238, "recent": [238, 237, 236], "seen_as": "moderator"}}  # fmt: skip


def test_the_backfill_asks_for_published_posts_and_every_comment_status_with_the_credentials(
    api_peer: ApiPeer,
) -> None:
    Blog(api_peer)
    client, _ = local_client()
    sync(client, moderator(api_peer, backfill_days="30"), {})
    first = api_peer.calls("GET", POSTS)[0]
    assert {k: v[0] for k, v in first.query.items()} == {"orderby": "date", "order": "desc", "status": "publish",
                                                         "_embed": "author", "per_page": "3", "page": "1"}  # fmt: skip
    comments = api_peer.calls("GET", COMMENTS)
    assert [c.arg("page") for c in comments] == ["1", "2", "3"]
    assert (comments[0].arg("status"), comments[0].arg("context"), comments[0].arg("orderby")) == ("any", "edit", "id")
    after = datetime.fromisoformat(comments[0].arg("after") or "")
    assert abs(after - (datetime.now(UTC) - timedelta(days=30))) < timedelta(minutes=5)
    token = base64.b64encode(f"claire-m:{PASSWORD}".encode()).decode()
    assert all(r.headers["Authorization"] == f"Basic {token}" for r in api_peer.requests)


def test_a_backfill_of_0_days_reads_the_whole_history(api_peer: ApiPeer) -> None:
    Blog(api_peer)
    client, _ = local_client()
    sync(client, moderator(api_peer, backfill_days="0"), {})
    assert api_peer.calls("GET", COMMENTS)[0].arg("after") is None


def test_the_next_sync_brings_edited_and_new_posts_new_comments_moderation_and_deletions(api_peer: ApiPeer) -> None:
    blog = Blog(api_peer)
    client, _ = local_client()
    first, cursor = sync(client, moderator(api_peer), {})
    before = items(first)
    blog.live = True
    pages, cursor = sync(client, moderator(api_peer), cursor)
    assert len(pages) == 4  # edited posts, new posts, two pages of comments
    found = items(pages)
    edited = found["post:123"]
    assert edited.raw != before["post:123"].raw
    assert edited.edited_at == datetime(2025, 3, 12, 7, 45, tzinfo=UTC)
    assert "Mise à jour" in edited.text
    scheduled = found["post:131"]  # published by WordPress's scheduler: its modification date is older
    assert scheduled.created_at == datetime(2025, 3, 18, 8, tzinfo=UTC)
    assert scheduled.edited_at is None
    assert {"comment:241", "comment:240", "comment:239"} <= found.keys()
    assert found["comment:240"].parent_external_id == "comment:236"
    assert found["comment:238"].labels == (("status", "approved"),)  # approved on the blog since
    assert found["comment:236"].raw != before["comment:236"].raw
    assert "vieux pneus" in found["comment:236"].text
    assert [page.deleted for page in pages] == [[], [], [], ["comment:237"]]  # deleted for good upstream
    edited_query = api_peer.calls("GET", POSTS)[-2]
    assert (edited_query.arg("modified_after"), edited_query.arg("order")) == ("2025-03-10T09:20:00Z", "desc")
    assert api_peer.calls("GET", POSTS)[-1].arg("after") == "2025-03-10T09:14:59Z"
    assert cursor["comments"] == {"top": 241, "recent": [241, 240, 239], "seen_as": "moderator"}
    assert cursor["posts"] == {"date": "2025-03-18T08:00:00Z", "modified": "2025-03-12T07:45:00Z"}


def test_a_quiet_blog_costs_three_requests_per_sync(api_peer: ApiPeer) -> None:
    Blog(api_peer)
    client, _ = local_client()
    _, cursor = sync(client, moderator(api_peer), {})
    api_peer.on("GET", POSTS, Answer([], headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"}))
    api_peer.requests.clear()
    pages, after = sync(client, moderator(api_peer), cursor)
    assert len(api_peer.requests) == 3
    assert [page.deleted for page in pages] == [[], [], []]
    assert after["comments"] == cursor["comments"]
    assert after["posts"] == cursor["posts"]


def test_without_credentials_only_approved_comments_are_read_and_nothing_is_sent(api_peer: ApiPeer) -> None:
    Blog(api_peer)
    client, _ = local_client()
    pages, cursor = sync(client, public(api_peer), {})
    found = items(pages)
    comments = [item for item in found.values() if item.kind != "post"]
    assert len(comments) == 6
    assert all(item.labels == (("status", "approved"),) for item in comments)
    assert all("Authorization" not in request.headers for request in api_peer.requests)
    sent = api_peer.calls("GET", COMMENTS)[0]
    assert sent.arg("status") is None
    assert sent.arg("context") is None
    assert found["comment:236"].author is not None
    assert found["comment:236"].author.key == "name:léa dubois"
    assert found["comment:231"].author is not None
    assert found["comment:231"].author.key == "user:claire-m"
    assert cursor["comments"]["seen_as"] == "public"


def test_a_window_read_with_other_credentials_reports_no_deletion(api_peer: ApiPeer) -> None:
    Blog(api_peer)
    client, _ = local_client()
    _, cursor = sync(client, moderator(api_peer), {})
    pages, _ = sync(client, public(api_peer), cursor)  # the spam and trashed ones are not shown to the public
    assert all(page.deleted == [] for page in pages)


def test_personal_data_stays_out_of_the_raw_payload(api_peer: ApiPeer) -> None:
    Blog(api_peer)
    client, _ = local_client()
    pages, _ = sync(client, moderator(api_peer), {})
    lea = items(pages)["comment:236"]
    raw = json.loads(lea.raw)
    assert {"author_email", "author_ip", "author_user_agent", "_links"}.isdisjoint(raw)
    assert "lea.dubois@" not in lea.raw
    assert "203.0.113" not in lea.raw
    assert lea.author is not None
    assert lea.author.email_hash == raw["author_email_sha256"]
    assert lea.raw == json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    claire = json.loads(items(pages)["comment:231"].raw)
    assert claire["_embedded"] == {"author": [{"id": 2, "link": "https://blog.atelier-lumen.example/author/claire-m/",
                                              "name": "Claire Martin", "slug": "claire-m"}]}  # fmt: skip


def test_a_429_in_the_middle_of_the_backfill_is_waited_and_the_backfill_goes_on(api_peer: ApiPeer) -> None:
    blog = Blog(api_peer)
    limited = [Answer({"code": "too_many_requests"}, 429, {"Retry-After": "5"})]
    api_peer.on("GET", COMMENTS, lambda r: limited.pop() if r.arg("page") == "2" and limited else blog.comments(r))
    client, sleeps = local_client()
    pages, _ = sync(client, moderator(api_peer), {})
    assert sleeps.waited == [5.0]
    assert len(items(pages)) == 13
    assert [c.arg("page") for c in api_peer.calls("GET", COMMENTS)] == ["1", "2", "2", "3"]


def test_server_errors_are_tried_again(api_peer: ApiPeer) -> None:
    blog = Blog(api_peer)
    failures = [Answer(b"<h1>502 Bad Gateway</h1>", 502, {"Content-Type": "text/html"})]
    api_peer.on("GET", POSTS, lambda r: failures.pop() if failures else blog.posts(r))
    client, sleeps = local_client()
    pages, _ = sync(client, moderator(api_peer), {})
    assert len(sleeps.waited) == 1
    assert len(items(pages)) == 13


def test_a_refused_application_password_is_said_in_plain_words(api_peer: ApiPeer) -> None:
    api_peer.on("GET", POSTS, answer("error-incorrect-password.json"))
    client, _ = local_client()
    with pytest.raises(AuthFailed) as refused:
        wordpress.fetch(client, moderator(api_peer), {})
    said = str(refused.value)
    assert "WordPress says: The provided password is an invalid application password. [incorrect_password]" in said
    assert "Application Passwords" in said
    assert "{" not in said
    assert PASSWORD not in said
    assert "abcd" not in said
    assert len(api_peer.requests) == 1


def test_a_user_who_cannot_moderate_is_told_to_use_an_editor(api_peer: ApiPeer) -> None:
    api_peer.on("GET", POSTS, Answer([], headers={"X-WP-TotalPages": "0"}))
    api_peer.on("GET", COMMENTS, answer("error-forbidden-context.json"))
    client, _ = local_client()
    cursor = wordpress.fetch(client, moderator(api_peer), {}).cursor
    with pytest.raises(AuthFailed, match=r"Sorry, you are not allowed to edit comments.*Editor or an Administrator"):
        wordpress.fetch(client, moderator(api_peer), cursor)


def test_a_blog_that_asks_for_a_login_says_so_to_a_source_without_credentials(api_peer: ApiPeer) -> None:
    api_peer.on("GET", POSTS, answer("error-forbidden.json"))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"not allowed to do that.*add a user name and an application password"):
        wordpress.fetch(client, public(api_peer), {})


def test_a_server_that_drops_the_credentials_is_named(api_peer: ApiPeer) -> None:
    api_peer.on("GET", POSTS, answer("error-forbidden.json"))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"did not see the credentials.*Authorization header"):
        wordpress.fetch(client, moderator(api_peer), {})


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (Answer({"code": "rest_no_route", "message": "No route"}), "a JSON dict instead of a list of posts"),
        (Answer(b"<!doctype html><html><body>Welcome</body></html>", headers={"Content-Type": "text/html"}),
         "not JSON"),
        (Answer(b'[{"id": 1, "title": ', headers={"Content-Type": "application/json"}), "not JSON"),
    ],
)  # fmt: skip
def test_a_body_of_the_wrong_shape_is_a_plain_error_and_nothing_is_half_parsed(
    api_peer: ApiPeer, body: Answer, words: str
) -> None:
    api_peer.on("GET", POSTS, body)
    client, _ = local_client()
    with pytest.raises(FetchFailed, match=words):
        wordpress.fetch(client, moderator(api_peer), {})


def test_hostile_content_is_kept_as_data_and_unreadable_comments_are_item_errors(api_peer: ApiPeer) -> None:
    hostile = recorded(RECORDINGS / "comments-3.json")["body"][0]
    hostile["content"]["rendered"] = "<p>Bonjour</p><script>alert('pwn')</script>" + "<b>x</b>" * 200_000
    hostile["author_name"] = "<img src=x onerror=alert(1)>"
    hostile["parent"] = "232; DROP TABLE"
    undated = {**hostile, "id": 999, "date": "0000-00-00T00:00:00", "date_gmt": None}
    api_peer.on("GET", POSTS, Answer([], headers={"X-WP-TotalPages": "0"}))
    listing = [hostile, {"title": "no id"}, "a string", undated]
    api_peer.on("GET", COMMENTS, Answer(listing, headers={"X-WP-TotalPages": "1"}))
    client, _ = local_client()
    pages, _ = sync(client, moderator(api_peer), {})
    [kept, *errors] = [item for page in pages for item in page.items]
    assert isinstance(kept, Item)
    assert "<script>" in (kept.html or "")
    assert "alert" not in kept.text
    assert kept.text.startswith("Bonjour")
    assert len(kept.text) > 200_000
    assert kept.author is not None
    assert kept.author.name == "<img src=x onerror=alert(1)>"
    assert (kept.kind, kept.parent_external_id) == ("comment", "post:115")
    assert [type(error) for error in errors] == [ItemError, ItemError, ItemError]
    assert isinstance(errors[2], ItemError)
    assert "comment 999: no valid date_gmt" in errors[2].problem


def test_a_collection_that_shrinks_while_it_is_read_ends_the_step(api_peer: ApiPeer) -> None:
    api_peer.on("GET", POSTS, lambda r: answer("posts-1.json") if r.arg("page") == "1" else Answer(
        {"code": "rest_post_invalid_page_number", "message": "The page number requested is larger than the number "
         "of pages available.", "data": {"status": 400}}, 400))  # fmt: skip
    api_peer.on("GET", COMMENTS, Answer([], headers={"X-WP-TotalPages": "0"}))
    client, _ = local_client()
    pages, _ = sync(client, moderator(api_peer), {})
    assert len(items(pages)) == 3


def test_comments_that_shrink_while_they_are_read_end_the_step(api_peer: ApiPeer) -> None:
    api_peer.on("GET", POSTS, Answer([], headers={"X-WP-TotalPages": "0"}))
    api_peer.on("GET", COMMENTS, lambda r: Answer(
        {"code": "rest_comment_invalid_page_number", "message": "The page number requested is larger than the "
         "number of pages available.", "data": {"status": 400}}, 400))  # fmt: skip
    client, _ = local_client()
    pages, _ = sync(client, moderator(api_peer), {})
    assert not items(pages)  # the step ended; no failure


def test_a_blog_without_pretty_permalinks_is_read_at_rest_route_and_remembered(api_peer: ApiPeer) -> None:
    blog = Blog(api_peer)
    not_found = Answer(b"<html><title>Page not found</title></html>", 404, {"Content-Type": "text/html"})
    api_peer.on("GET", POSTS, not_found)
    api_peer.on("GET", COMMENTS, not_found)

    def plain(request: Request) -> Answer:
        route = request.arg("rest_route") or ""
        return blog.posts(request) if route == "/wp/v2/posts" else blog.comments(request)

    api_peer.on("GET", "/", plain)
    client, _ = local_client()
    first = wordpress.fetch(client, moderator(api_peer), {})
    assert first.cursor["route"] == "query"
    assert len(first.items) == 3
    api_peer.requests.clear()
    pages, _ = sync(client, moderator(api_peer), first.cursor)
    assert len(items(pages)) == 10
    assert {request.path for request in api_peer.requests} == {"/"}


def test_no_api_at_either_address_is_a_plain_error(api_peer: ApiPeer) -> None:
    client, _ = local_client()
    with pytest.raises(HttpStatus, match=r"no WordPress API at .*/wp-json/ nor at .*rest_route"):
        wordpress.fetch(client, moderator(api_peer), {})


def test_a_reply_posts_the_team_s_text_under_the_comment_and_comes_back_as_an_item(api_peer: ApiPeer) -> None:
    api_peer.on("POST", COMMENTS, answer("reply.json"))
    held = recorded(RECORDINGS / "comments-1.json")["body"][0]
    client, _ = local_client()
    action = Action("reply", "comment:238", json.dumps(held), text="Oui Marc, les pneus aussi ! <3 ")
    done = wordpress.act(client, moderator(api_peer), action)
    [sent] = api_peer.calls("POST", COMMENTS)
    assert sent.json() == {"post": 123, "parent": 238, "content": "Oui Marc, les pneus aussi ! &lt;3"}
    assert sent.headers["Authorization"].startswith("Basic ")
    assert done.item is not None
    assert done.item.external_id == "comment:242"
    assert (done.item.kind, done.item.parent_external_id, done.item.thread_external_id) == (
        "reply", "comment:238", "post:123")  # fmt: skip
    assert done.item.author is not None
    assert done.item.author.key == "user:claire-m"
    assert "claire@" not in done.item.raw
    assert done.detail == "reply posted on 127.0.0.1"


def test_a_reply_to_a_post_is_a_top_level_comment(api_peer: ApiPeer) -> None:
    api_peer.on("POST", COMMENTS, answer("reply.json"))
    client, _ = local_client()
    wordpress.act(client, moderator(api_peer), Action("reply", "post:123", "{}", text="Merci à tous !"))
    assert api_peer.calls("POST", COMMENTS)[0].json() == {"post": 123, "parent": 0, "content": "Merci à tous !"}


@pytest.mark.parametrize(("kind", "status"), [("approve", "approved"), ("hold", "hold"), ("spam", "spam"),
                                              ("trash", "trash")])  # fmt: skip
def test_moderation_sends_the_status_wordpress_names(api_peer: ApiPeer, kind: str, status: str) -> None:
    api_peer.on("POST", f"{COMMENTS}/238", answer("moderated.json"))
    client, _ = local_client()
    done = wordpress.act(client, moderator(api_peer), Action(kind, "comment:238", "{}"))
    [sent] = api_peer.calls("POST", f"{COMMENTS}/238")
    assert sent.json() == {"status": status}
    assert sent.headers["Authorization"].startswith("Basic ")
    assert done.item is not None
    assert done.item.labels == (("status", "spam"), ("spam", "spam"))
    assert done.detail == f"comment 238 is now {status} on 127.0.0.1"


def test_moderating_a_comment_deleted_upstream_says_it_no_longer_exists(api_peer: ApiPeer) -> None:
    api_peer.on("POST", f"{COMMENTS}/237", answer("error-invalid-comment.json"))
    client, _ = local_client()
    with pytest.raises(HttpStatus, match="HTTP 404 \\(it no longer exists on the blog\\): WordPress says: Invalid"):
        wordpress.act(client, moderator(api_peer), Action("spam", "comment:237", "{}"))
    assert len(api_peer.requests) == 1  # a WordPress 404 is not taken for a missing API


@pytest.mark.parametrize(
    ("account", "action", "words"),
    [
        ("public", Action("approve", "comment:238", "{}"), "add a user name and an application password"),
        ("moderator", Action("hide", "comment:238", "{}"), "WordPress has no 'hide'"),
        ("moderator", Action("spam", "post:123", "{}"), "is a post: only comments"),
        ("moderator", Action("reply", "comment:238", "{}", text="Oui"), "names no post"),
        ("moderator", Action("reply", "post:123", "{}", text="  "), "needs some text"),
        ("moderator", Action("approve", "tweet:1", "{}"), "not a WordPress post or comment"),
    ],
)
def test_actions_wordpress_cannot_do_are_refused_before_any_request(
    api_peer: ApiPeer, account: str, action: Action, words: str
) -> None:
    client, _ = local_client()
    chosen = moderator(api_peer) if account == "moderator" else public(api_peer)
    with pytest.raises(Invalid, match=words):
        wordpress.act(client, chosen, action)
    assert api_peer.requests == []


def test_describe_keys_the_blog_by_its_address_on_the_blog_s_channel() -> None:
    addresses = (
        "https://blog.atelier-lumen.example",
        "blog.atelier-lumen.example/",
        "https://blog.atelier-lumen.example/wp-json/wp/v2/",
        "https://blog.atelier-lumen.example/?rest_route=/",
    )
    for address in addresses:
        info = wordpress.describe(Account(settings={"site": address}))
        assert (info.kind, info.key, info.channel, info.url) == (
            "wordpress", "blog.atelier-lumen.example", "blog:blog.atelier-lumen.example",
            "https://blog.atelier-lumen.example/")  # fmt: skip
    assert wordpress.describe(Account(settings={"site": "https://example.org/blog/"})).key == "example.org/blog"


@pytest.mark.parametrize(
    ("settings", "secrets", "words"),
    [
        ({"site": ""}, {}, "give the blog's address"),
        ({"site": "ftp://blog.example.org"}, {}, "http:// or https://"),
        ({"site": "https://blog.example.org", "user": "claire-m"}, {}, "give both"),
        ({"site": "http://blog.example.org", "user": "tom"}, {"application_password": PASSWORD}, "over https only"),
        ({"site": "https://blog.example.org", "backfill_days": "un an"}, {}, "whole number of days"),
    ],
)
def test_settings_are_checked_in_plain_words(settings: dict[str, str], secrets: dict[str, str], words: str) -> None:
    client, _ = local_client()
    with pytest.raises(Invalid, match=words):
        wordpress.fetch(client, Account(settings=settings, secrets=secrets), {})


def test_the_module_is_a_connector() -> None:
    assert wordpress.name == "wordpress"
    assert wordpress.actions == ("reply", "approve", "hold", "spam", "trash")
    secret = [setting.name for setting in wordpress.settings if setting.secret]
    assert secret == ["application_password"]
    assert all(callable(getattr(wordpress, verb)) for verb in ("describe", "fetch", "act"))


def test_a_cursor_of_another_shape_starts_a_new_cycle_instead_of_failing(api_peer: ApiPeer) -> None:
    blog = Blog(api_peer)
    blog.live = True
    client, _ = local_client()
    pages, cursor = sync(client, moderator(api_peer), {"step": "someday", "page": "x", "comments": {"top": 238}})
    assert len(pages) == 4  # edited posts (no mark: nothing asked), new posts, two pages of comments
    assert len(api_peer.requests) == 3
    assert cursor["comments"]["top"] == 241
