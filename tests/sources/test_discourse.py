"""The Discourse connector against a local peer replaying recorded forum answers (tests/recordings/discourse)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api_peer import Answer, ApiPeer, Request, local_client, recorded
from factories import target
from pilote.errors import Invalid
from pilote.ingest import Counts, write_batch
from pilote.linking import relink
from pilote.models import Label, Message
from pilote.sources import discourse
from pilote.sources.base import Account, Action, Connector, Item, ItemError, Page
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus

RECORDINGS = Path(__file__).resolve().parents[1] / "recordings" / "discourse"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "connectors" / "discourse.md"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def body(name: str) -> Any:
    return recorded(RECORDINGS / f"{name}.json")


@pytest.fixture(autouse=True)
def now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The recordings' present: 1 December 2026 at noon."""
    monkeypatch.setattr(discourse, "_now", lambda: NOW)


def account(peer: ApiPeer, **settings: str) -> Account:
    chosen = {"url": peer.base, "api_username": "equipe_cyclonord", "backfill_days": "90", **settings}
    secrets = {"api_key": chosen.pop("api_key", "d1sc0urse-k3y")}
    if not secrets["api_key"]:
        secrets = {}
    return Account(settings={k: v for k, v in chosen.items() if v}, secrets=secrets)


def posts_pages(pages: Mapping[str | None, str], default: Any = None) -> Any:
    """/posts.json by its `before` parameter."""

    def answer(request: Request) -> Answer:
        name = pages.get(request.arg("before"))
        return Answer(body(name)) if name else Answer(default or {"latest_posts": []})

    return answer


def chunk_of(name: str) -> Any:
    """/t/{id}/posts.json: the recorded posts whose ids were asked for."""

    def answer(request: Request) -> Answer:
        wanted = {int(i) for i in request.query.get("post_ids[]", [])}
        found = body(name)
        found["post_stream"]["posts"] = [p for p in found["post_stream"]["posts"] if p["id"] in wanted]
        return Answer(found)

    return answer


BACKFILL = {None: "posts_latest", "1012": "posts_before_1012", "1005": "posts_before_1005", "1001": "posts_before_1001"}


def serve_forum(peer: ApiPeer, *, new: bool = False) -> None:
    """The forum before (the backfill's pages) or after three new posts (the latest page)."""
    peer.on("GET", "/posts.json", posts_pages({**BACKFILL, None: "posts_latest_new" if new else "posts_latest"}))
    for topic in (101, 102, 103, 104, 105):
        peer.on("GET", f"/t/{topic}.json", Answer(body(f"t{topic}")))
    peer.on("GET", "/t/104/22.json", Answer(body("t104_22")))
    peer.on("GET", "/t/101/posts.json", chunk_of("t101_posts"))
    peer.on("GET", "/t/104/posts.json", chunk_of("t104_posts"))
    peer.on("GET", "/latest.json", Answer(body("latest")))
    peer.on("GET", "/c/support/5.json", Answer(body("category_support")))


def sync(client: HttpClient, source: Account, start: Mapping[str, Any] | None = None) -> tuple[list[Page], Any]:
    """A whole sync: fetch until a page says nothing more is waiting; the pages and the last cursor."""
    pages: list[Page] = []
    cursor = json.loads(json.dumps(start or {}))
    while True:
        page = discourse.fetch(client, source, cursor)
        pages.append(page)
        cursor = json.loads(json.dumps(page.cursor))  # stored as JSON on the source between pages
        if not page.more:
            return pages, cursor
        assert len(pages) < 50, "the sync does not end"


def items(pages: list[Page]) -> dict[str, Item]:
    found: dict[str, Item] = {}
    for page in pages:
        for entry in page.items:
            assert isinstance(entry, Item), entry
            found[entry.external_id] = entry
    return found


def befores(peer: ApiPeer) -> list[str | None]:
    return [r.arg("before") for r in peer.calls("GET", "/posts.json")]


def test_the_module_is_a_connector_whose_settings_and_actions_are_documented() -> None:
    connector: Connector = discourse
    text = DOCS.read_text(encoding="utf-8")
    for setting in connector.settings:
        assert f"`{setting.name}`" in text, setting.name
    for action in connector.actions:
        assert f"`{action}`" in text, action
    assert [s.name for s in connector.settings if s.secret] == ["api_key"]


def test_a_first_sync_pages_down_the_latest_posts_until_backfill_days_ago(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer, recheck_days="0"))
    assert befores(api_peer) == [None, "1012", "1005", "1001"]
    assert [len(page.items) for page in pages] == [5, 5, 4, 0]  # the last page: posts older than 90 days
    assert all(page.more for page in pages[:-1])
    assert cursor == {"top": 1016}
    found = items(pages)
    assert sorted(found) == [str(i) for i in (1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1010, 1012, 1013, 1014,
                                              1015, 1016)]  # fmt: skip
    assert api_peer.calls("GET", "/latest.json") == []


def test_posts_become_topics_comments_and_nested_replies_by_post_ids(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    found = items(sync(client, account(api_peer, recheck_days="0"))[0])
    first = found["1001"]
    assert (first.kind, first.parent_external_id, first.thread_external_id) == ("post", None, "1001")
    assert first.title == "Freins hydrauliques qui grincent après la pluie"
    assert first.url == f"{api_peer.base}/t/freins-hydrauliques-qui-grincent-apres-la-pluie/101"
    assert first.text.startswith("Bonjour à tous,\n\nDepuis les dernières pluies")
    assert first.html is not None
    assert first.html.startswith("<p>Bonjour à tous,</p>")
    assert first.created_at == datetime(2026, 11, 20, 8, 12, 31, 402000, tzinfo=UTC)
    places = {k: (found[k].kind, found[k].parent_external_id, found[k].thread_external_id) for k in found}
    assert places["1002"] == ("comment", "1001", "1001")
    assert places["1004"] == ("reply", "1002", "1001")  # answers post number 2
    assert places["1006"] == ("reply", "1004", "1001")  # answers the answer: nested
    assert places["1013"] == ("reply", "1004", "1001")
    assert places["1015"] == ("reply", "1014", "1003")
    assert places["1016"] == ("comment", "1008", "1008")
    assert found["1002"].title is None
    assert found["1006"].url == f"{api_peer.base}/t/freins-hydrauliques-qui-grincent-apres-la-pluie/101/4"


def test_authors_counters_and_languages_come_from_the_post(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    found = items(sync(client, account(api_peer, recheck_days="0"))[0])
    team = found["1014"]
    assert team.author is not None
    assert (team.author.key, team.author.handle, team.author.name) == (
        "user:equipe_cyclonord",
        "equipe_cyclonord",
        "Équipe Cyclo Nord",
    )
    assert team.author.url == f"{api_peer.base}/u/equipe_cyclonord"
    assert team.counters is not None
    assert (team.counters.likes, team.counters.replies, team.counters.views) == (3, 1, 28)
    quiet = found["1007"]
    assert quiet.counters is not None
    assert quiet.counters.likes == 0
    assert found["1003"].author is not None
    assert found["1003"].author.handle == "tom.baker"
    assert all(item.language is None for item in found.values())  # the forum gives no locale per post


def test_the_first_post_of_each_topic_is_looked_up_once_per_page(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    sync(client, account(api_peer, recheck_days="0"))
    # Page 1 needs the first posts of topics 101, 102 and 103; page 2 those of 101 and 102; page 3 none.
    assert len(api_peer.calls("GET", "/t/101.json")) == 2
    assert len(api_peer.calls("GET", "/t/102.json")) == 2
    assert len(api_peer.calls("GET", "/t/103.json")) == 1


def test_an_incremental_sync_brings_only_the_posts_above_the_high_water_mark(api_peer: ApiPeer) -> None:
    serve_forum(api_peer, new=True)
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer, recheck_days="0"), {"top": 1016})
    assert befores(api_peer) == [None]
    assert cursor == {"top": 1019}
    found = items(pages)
    assert sorted(found) == ["1017", "1018", "1019"]
    assert (found["1019"].kind, found["1019"].title) == ("post", "Display flickers after firmware 2.3")
    assert (found["1018"].kind, found["1018"].parent_external_id, found["1018"].thread_external_id) == (
        "comment",
        "1001",
        "1001",
    )
    # Post 23 of topic 104 answers post 22, beyond the first chunk: the window around it names both.
    assert (found["1017"].kind, found["1017"].parent_external_id, found["1017"].thread_external_id) == (
        "reply",
        "921",
        "900",
    )
    assert len(api_peer.calls("GET", "/t/104/22.json")) == 1
    assert api_peer.calls("GET", "/t/104.json") == []


def test_a_backfill_then_an_incremental_sync_brings_only_the_new_posts(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    source = account(api_peer, recheck_days="0")
    first, cursor = sync(client, source)
    serve_forum(api_peer, new=True)
    second, cursor = sync(client, source, cursor)
    assert len(items(first)) == 14
    assert sorted(items(second)) == ["1017", "1018", "1019"]
    assert befores(api_peer) == [None, "1012", "1005", "1001", None]
    assert cursor == {"top": 1019}


def store(engine: Engine, pages: list[Page]) -> Counts:
    """Each page written as the intake writes it, then what could not be linked at once."""
    counts, where = Counts(), target(engine, key="forum")
    with engine.begin() as conn:
        for page in pages:
            counts.add(write_batch(conn, where, [entry for entry in page.items if isinstance(entry, Item)]))
        relink(conn, source_id=where.source_id)
    return counts


def test_synced_posts_land_threaded_and_a_second_sync_updates_only_what_changed(
    api_peer: ApiPeer, sqlite_engine: Engine
) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer, recheck_days="0"))
    assert store(sqlite_engine, pages).new == 14
    serve_forum(api_peer, new=True)
    counts = store(sqlite_engine, sync(client, account(api_peer), cursor)[0])
    # New: three posts, the deleted and the hidden ones, and topic 104's older posts; updated: the edit.
    assert (counts.new, counts.updated, counts.unchanged) == (3 + 2 + 22, 1, 7)
    with Session(sqlite_engine) as session:
        stored = {m.external_id: m for m in session.scalars(select(Message))}
        named = {m.id: key for key, m in stored.items()}
        labels = {(named[label.message_id], label.name, label.value) for label in session.scalars(select(Label))}
    assert (stored["1006"].parent_id, stored["1006"].thread_id) == (stored["1004"].id, stored["1001"].id)
    assert (stored["1017"].parent_id, stored["1017"].thread_id) == (stored["921"].id, stored["900"].id)
    assert stored["1015"].thread_id == stored["1003"].id
    assert ("1009", "status", "deleted") in labels
    assert ("1011", "status", "pending") in labels


def test_a_sync_with_nothing_new_asks_for_one_page(api_peer: ApiPeer) -> None:
    serve_forum(api_peer, new=True)
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer, recheck_days="0"), {"top": 1019})
    assert (befores(api_peer), cursor, [len(p.items) for p in pages]) == ([None], {"top": 1019}, [0])


def test_many_new_posts_are_paged_down_to_the_high_water_mark_before_it_moves(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    source = account(api_peer, recheck_days="0")
    first = discourse.fetch(client, source, {"top": 1004})
    assert first.more
    assert first.cursor == {"top": 1004, "before": 1012, "goal": 1016, "since": None}
    pages, cursor = sync(client, source, first.cursor)
    assert befores(api_peer) == [None, "1012", "1005"]
    assert cursor == {"top": 1016}
    assert sorted(items([first, *pages])) == [str(i) for i in (1005, 1006, 1007, 1008, 1010, 1012, 1013, 1014, 1015,
                                                              1016)]  # fmt: skip


def test_active_topics_are_read_again_for_edits_likes_hidden_and_deleted_posts(api_peer: ApiPeer) -> None:
    serve_forum(api_peer, new=True)
    client, _ = local_client()
    pages, cursor = sync(client, account(api_peer), {"top": 1016})
    assert cursor == {"top": 1019}
    # Bumped in the last three days: 105, 101 and 104; the pinned welcome topic and older ones are not read.
    assert pages[1].cursor == {"top": 1019, "recheck": [101, 104]}
    read_again = [r.path for r in api_peer.requests if r.path.startswith("/t/")]
    assert read_again[-5:] == ["/t/105.json", "/t/101.json", "/t/101/posts.json", "/t/104.json", "/t/104/posts.json"]
    [chunk] = api_peer.calls("GET", "/t/101/posts.json")
    assert chunk.query["post_ids[]"] == ["1009", "1011", "1013", "1018"]
    [chunk] = api_peer.calls("GET", "/t/104/posts.json")
    assert chunk.query["post_ids[]"] == ["920", "921", "1017"]
    assert len(api_peer.calls("GET", "/latest.json")) == 1
    topic = items(pages[2:3])
    assert sorted(topic) == ["1001", "1002", "1004", "1006", "1009", "1011", "1013", "1018"]
    assert topic["1009"].labels == (("status", "deleted"),)  # deleted by a moderator
    assert topic["1011"].labels == (("status", "pending"),)  # hidden by flags
    assert topic["1011"].edited_at is None  # hiding moved updated_at; no new version
    assert (topic["1011"].parent_external_id, topic["1011"].thread_external_id) == ("1006", "1001")
    assert len(items(pages[3:4])) == 23


def test_an_edited_post_comes_again_with_another_payload_and_its_edit_time(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    before = items(sync(client, account(api_peer, recheck_days="0"))[0])
    serve_forum(api_peer, new=True)
    after = items(sync(client, account(api_peer), {"top": 1016})[0])
    old, new = before["1013"], after["1013"]
    assert old.edited_at is None
    assert new.edited_at == datetime(2026, 11, 25, 14, 22, 7, 415000, tzinfo=UTC)
    assert old.raw != new.raw
    assert "tutoriel vidéo" in new.text
    assert "tutoriel" not in old.text
    assert json.loads(new.raw)["version"] == 2


def test_a_post_read_from_its_topic_has_the_same_payload_as_from_the_latest_posts(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    before = items(sync(client, account(api_peer, recheck_days="0"))[0])
    serve_forum(api_peer, new=True)
    after = items(sync(client, account(api_peer), {"top": 1016})[0])
    for key in ("1001", "1002", "1004", "1006"):  # unchanged: the store sees nothing to update
        assert before[key].raw == after[key].raw, key
        assert before[key].title == after[key].title
    kept = json.loads(after["1001"].raw)
    assert kept["topic_title"] == "Freins hydrauliques qui grincent après la pluie"
    assert "raw" not in kept
    assert "read" not in kept
    assert "can_edit" not in kept
    assert kept["actions_summary"] == [{"count": 1, "id": 2}]


def test_posts_withdrawn_by_their_author_are_labelled_deleted(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    pages, _ = sync(client, account(api_peer, recheck_days="0"))
    found = items(pages)
    assert found["1010"].labels == (("status", "deleted"),)
    assert found["1010"].edited_at is None  # withdrawing moves updated_at, but is not an edit
    assert all(item.labels == () for key, item in found.items() if key != "1010")
    assert all(page.deleted == [] for page in pages)  # Discourse says it on the post, not in a list


def test_a_429_in_the_middle_of_paging_is_waited_and_the_sync_goes_on(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    answers = [Answer(body("error_rate_limit"), 429, {"Retry-After": "7"})]
    pages = posts_pages(BACKFILL)

    def limited(request: Request) -> Answer:
        if request.arg("before") == "1012" and answers:
            return answers.pop()
        return pages(request)  # type: ignore[no-any-return]

    api_peer.on("GET", "/posts.json", limited)
    client, sleeps = local_client()
    found, cursor = sync(client, account(api_peer, recheck_days="0"))
    assert 7.0 in sleeps.waited
    assert befores(api_peer) == [None, "1012", "1012", "1005", "1001"]
    assert len(items(found)) == 14
    assert cursor == {"top": 1016}


def test_server_errors_are_retried_then_stop_the_sync_where_it_was(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    api_peer.on("GET", "/latest.json", Answer(b"<h1>Bad gateway</h1>", 502), Answer(body("latest")))
    client, sleeps = local_client()
    page = discourse.fetch(client, account(api_peer), {"top": 1019, "recheck": None})
    assert page.cursor == {"top": 1019, "recheck": [101, 104]}
    assert any(1 <= wait <= 1.25 for wait in sleeps.waited)  # the first backoff
    api_peer.on("GET", "/posts.json", Answer(b"<h1>Internal error</h1>", 500))
    with pytest.raises(HttpStatus, match="500 Internal Server Error") as raised:
        discourse.fetch(client, account(api_peer), {"top": 0, "before": 1012, "goal": 1016, "since": None})
    assert raised.value.status == 500
    assert len(api_peer.calls("GET", "/posts.json")) == 4


def test_a_refused_api_key_is_said_in_plain_words_and_not_retried(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/posts.json", Answer(body("error_invalid_access"), 403))
    client, _ = local_client()
    with pytest.raises(AuthFailed) as raised:
        discourse.fetch(client, account(api_peer), {})
    message = str(raised.value)
    assert "refused the API key of user 'equipe_cyclonord'" in message
    assert "(HTTP 403: You are not permitted to view the requested resource. The API username or key is invalid.)" in (
        message
    )
    assert "Admin > API > Keys" in message
    assert len(api_peer.calls("GET", "/posts.json")) == 1


def test_a_private_forum_read_without_a_key_says_a_key_is_needed(api_peer: ApiPeer) -> None:
    refused = {"errors": ["You need to be logged in."], "error_type": "not_logged_in"}
    api_peer.on("GET", "/posts.json", Answer(refused, 403))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"refused to be read without an API key \(HTTP 403: You need to be logged in"):
        discourse.fetch(client, account(api_peer, api_key="", api_username=""), {})
    [sent] = api_peer.requests
    assert "Api-Key" not in sent.headers
    assert "Api-Username" not in sent.headers


def test_the_key_and_its_user_are_sent_at_the_forums_pace(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, sleeps = local_client(clock=lambda: 100.0)  # the clock stands still: each request waits its turn
    sync(client, account(api_peer, recheck_days="0"))
    assert {(r.headers["Api-Key"], r.headers["Api-Username"]) for r in api_peer.requests} == {
        ("d1sc0urse-k3y", "equipe_cyclonord")
    }
    # 60 requests a minute by default: one a second.
    assert sleeps.waited == [float(n) for n in range(1, len(api_peer.requests))]
    faster, sleeps = local_client(clock=lambda: 100.0)
    sync(faster, account(api_peer, recheck_days="0", requests_per_minute="600"))
    assert sleeps.waited[:3] == pytest.approx([0.1, 0.2, 0.3])


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (Answer(b'{"latest_posts": [{"id": 10', headers={"Content-Type": "application/json"}), "not JSON"),
        (Answer({"topic_list": {"topics": []}}), "without a latest_posts list: is http://127.0.0.1:"),
        (Answer(["not", "an", "object"]), "without a latest_posts list"),
    ],
)
def test_a_body_that_is_not_json_or_not_latest_posts_stops_with_a_plain_error(
    api_peer: ApiPeer, answer: Answer, problem: str
) -> None:
    api_peer.on("GET", "/posts.json", answer)
    client, _ = local_client()
    with pytest.raises(FetchFailed, match=problem):
        discourse.fetch(client, account(api_peer), {})


def test_a_topic_view_of_the_wrong_shape_stops_the_page_with_a_plain_error(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    api_peer.on("GET", "/t/103.json", Answer({"errors": [], "post_stream": "gone"}))
    client, _ = local_client()
    with pytest.raises(FetchFailed, match="without a post_stream"):
        discourse.fetch(client, account(api_peer), {})


def test_a_topic_gone_meanwhile_leaves_its_posts_without_a_place(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    api_peer.on("GET", "/t/103.json", Answer({"errors": ["The requested URL or resource could not be found."]}, 404))
    client, _ = local_client()
    page = discourse.fetch(client, account(api_peer), {})
    found = items([page])
    assert (found["1016"].parent_external_id, found["1016"].thread_external_id) == (None, None)
    assert found["1013"].parent_external_id == "1004"


def test_hostile_html_and_huge_text_are_kept_as_data_and_bad_posts_are_item_errors(api_peer: ApiPeer) -> None:
    page = body("posts_latest")
    hostile, huge, broken, undated = (dict(page["latest_posts"][i]) for i in range(4))
    hostile["cooked"] = '<p>Salut</p><script>alert("vol de session")</script><img src=x onerror="alert(1)">'
    huge["cooked"] = "<p>" + "très long message " * 60_000 + "</p>"
    broken["id"] = "1014; DROP TABLE message"
    undated["created_at"] = "hier soir"
    page["latest_posts"] = [hostile, huge, broken, undated, *page["latest_posts"][4:], "not a post"]
    serve_forum(api_peer)
    api_peer.on("GET", "/posts.json", Answer(page))
    client, _ = local_client()
    result = discourse.fetch(client, account(api_peer), {})
    entries = {e.external_id if isinstance(e, Item) else e.where: e for e in result.items}
    assert entries["1016"].html == hostile["cooked"]  # type: ignore[union-attr]  # the store sanitises it
    assert entries["1016"].text == "Salut"  # type: ignore[union-attr]
    assert len(entries["1015"].text) == len("très long message " * 60_000) - 1  # type: ignore[union-attr]
    errors = [e for e in result.items if isinstance(e, ItemError)]
    assert [e.problem for e in errors] == [
        "no numeric id, topic_id or post_number: skipped",
        "created_at: 'hier soir' is not a date Pilote knows (ISO 8601, RFC 2822 or Unix time): skipped",
    ]
    assert result.cursor["before"] == 1012


def test_a_category_setting_reads_only_that_category(api_peer: ApiPeer) -> None:
    serve_forum(api_peer)
    client, _ = local_client()
    source = account(api_peer, category="support/5")
    info = discourse.describe(source)
    host = api_peer.base.split("://")[1]
    assert (info.key, info.name, info.channel) == (f"{host}/c/support/5", f"{host} (support)", f"discourse:{host}")
    assert info.url == f"{api_peer.base}/c/support/5"
    pages, cursor = sync(client, source)
    assert cursor == {"top": 1016}
    assert [len(page.items) for page in pages[:4]] == [3, 2, 3, 0]  # topics 101 and 103 only
    assert api_peer.calls("GET", "/latest.json") == []
    assert len(api_peer.calls("GET", "/c/support/5.json")) == 1
    assert sorted(items(pages[4:])) == ["1001", "1002", "1004", "1006", "1009", "1011", "1013", "1018"]


def test_describe_names_the_forum_and_refuses_unclear_settings(api_peer: ApiPeer) -> None:
    info = discourse.describe(Account({"url": "https://Forum.Cyclonord.example/"}))
    assert (info.kind, info.key, info.channel, info.url) == (
        "discourse",
        "forum.cyclonord.example",
        "discourse:forum.cyclonord.example",
        "https://forum.cyclonord.example",
    )
    pasted = Account({"url": "https://example.org/forum", "category": "https://example.org/forum/c/aide/velos/7"})
    assert discourse.describe(pasted).key == "example.org/forum/c/aide/velos/7"
    with pytest.raises(Invalid, match="the setting url is missing"):
        discourse.describe(Account({}))
    with pytest.raises(Invalid, match=r"give its slug and id, e\.g\. support/12"):
        discourse.describe(Account({"url": "https://example.org", "category": "support"}))
    client, _ = local_client()
    with pytest.raises(Invalid, match="api_key and api_username go together"):
        discourse.fetch(client, account(api_peer, api_username=""), {})
    with pytest.raises(Invalid, match="the setting backfill_days is '-3'"):
        discourse.fetch(client, account(api_peer, backfill_days="-3"), {})
    assert api_peer.requests == []


def action(kind: str, post_id: int, text: str | None = None) -> Action:
    posts = (p for name in ("t101", "t101_posts", "t102") for p in body(name)["post_stream"]["posts"])
    post = next(p for p in posts if p["id"] == post_id)
    return Action(kind, str(post_id), json.dumps(post), text)


def test_a_reply_is_posted_to_the_topic_under_the_post_and_comes_back_as_an_item(api_peer: ApiPeer) -> None:
    api_peer.on("POST", "/posts.json", Answer(body("reply_created")))
    client, _ = local_client()
    done = discourse.act(client, account(api_peer), action("reply", 1014, "Thanks Yannick, good idea."))
    [sent] = api_peer.calls("POST", "/posts.json")
    assert sent.json() == {"topic_id": 102, "raw": "Thanks Yannick, good idea.", "reply_to_post_number": 5}
    assert (sent.headers["Api-Key"], sent.headers["Api-Username"]) == ("d1sc0urse-k3y", "equipe_cyclonord")
    assert sent.headers["Content-Type"] == "application/json"
    assert done.item is not None
    assert (done.item.external_id, done.item.kind, done.item.parent_external_id) == ("1020", "reply", "1014")
    assert done.item.text == "Thanks Yannick, good idea. We now sell a neoprene cover too."
    assert done.detail == f"replied as equipe_cyclonord on {api_peer.base.split('://')[1]}: {done.item.url}"


def test_a_reply_to_the_first_post_is_a_comment_on_the_topic(api_peer: ApiPeer) -> None:
    created = body("reply_created") | {"reply_to_post_number": None}
    api_peer.on("POST", "/posts.json", Answer(created))
    client, _ = local_client()
    done = discourse.act(client, account(api_peer), action("reply", 1003, "Bonjour Tom !"))
    assert api_peer.calls("POST", "/posts.json")[0].json() == {"topic_id": 102, "raw": "Bonjour Tom !"}
    assert done.item is not None
    assert (done.item.kind, done.item.parent_external_id, done.item.thread_external_id) == ("comment", "1003", "1003")


def test_a_reply_the_forum_refuses_or_queues_says_so(api_peer: ApiPeer) -> None:
    api_peer.on("POST", "/posts.json", Answer(body("error_reply_too_short"), 422))
    client, _ = local_client()
    with pytest.raises(Invalid, match=r"refused it: Body is too short \(minimum is 20 characters\)"):
        discourse.act(client, account(api_peer), action("reply", 1014, "Merci"))
    queued = {"action": "enqueued", "pending_post": {"id": 77, "raw": "Merci"}, "pending_count": 1, "success": True}
    api_peer.on("POST", "/posts.json", Answer(queued))
    done = discourse.act(client, account(api_peer), action("reply", 1014, "Merci beaucoup pour votre patience"))
    assert (done.item, done.detail.endswith("queued the reply for its moderators' approval")) == (None, True)


@pytest.mark.parametrize(("kind", "flag"), [("hide", "4"), ("spam", "8")])
def test_hide_and_spam_flag_the_post_as_a_moderator_taking_action(api_peer: ApiPeer, kind: str, flag: str) -> None:
    api_peer.on("POST", "/post_actions.json", Answer(body("flag_hidden")))
    client, _ = local_client()
    done = discourse.act(client, account(api_peer), action(kind, 1011))
    [sent] = api_peer.calls("POST", "/post_actions.json")
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.body.decode()) == {
        "id": ["1011"],
        "post_action_type_id": [flag],
        "flag_topic": ["false"],
        "take_action": ["true"],
    }
    assert sent.headers["Api-Username"] == "equipe_cyclonord"
    assert done.item is None
    assert "post 1011 flagged" in done.detail
    assert "hidden" in done.detail


def test_approve_shows_a_hidden_post_again_and_trash_deletes_one(api_peer: ApiPeer) -> None:
    api_peer.on("PUT", "/posts/1011/unhide.json", Answer(b""))
    api_peer.on("DELETE", "/posts/1009.json", Answer(b""))
    api_peer.on("DELETE", "/posts/1001.json", Answer(b""))
    client, _ = local_client()
    assert "shown again" in discourse.act(client, account(api_peer), action("approve", 1011)).detail
    assert "deleted on" in discourse.act(client, account(api_peer), action("trash", 1009)).detail
    assert "deleted with its topic" in discourse.act(client, account(api_peer), action("trash", 1001)).detail
    assert [(r.method, r.path) for r in api_peer.requests] == [
        ("PUT", "/posts/1011/unhide.json"),
        ("DELETE", "/posts/1009.json"),
        ("DELETE", "/posts/1001.json"),
    ]


def test_actions_need_a_key_a_synced_post_and_one_of_the_platforms_actions(api_peer: ApiPeer) -> None:
    client, _ = local_client()
    with pytest.raises(Invalid, match="cannot be put on 'hold' here: use one of reply, approve, hide, spam, trash"):
        discourse.act(client, account(api_peer), action("hold", 1011))
    with pytest.raises(Invalid, match="needs an API key and its user"):
        discourse.act(client, account(api_peer, api_key="", api_username=""), action("hide", 1011))
    with pytest.raises(Invalid, match="is not a Discourse post as synced"):
        discourse.act(client, account(api_peer), Action("hide", "1011", '{"id": 1011}'))
    with pytest.raises(Invalid, match="is not a Discourse post as synced"):
        discourse.act(client, account(api_peer), Action("hide", "1012", action("hide", 1011).raw))
    with pytest.raises(Invalid, match="a reply needs some text"):
        discourse.act(client, account(api_peer), action("reply", 1014, "  "))
    assert api_peer.requests == []


def test_a_moderation_the_key_may_not_do_is_refused_in_plain_words(api_peer: ApiPeer) -> None:
    refused = {"errors": ["You are not permitted to view the requested resource."], "error_type": "invalid_access"}
    api_peer.on("POST", "/post_actions.json", Answer(refused, 403))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match="may read these posts \\(and moderate them, to hide or delete\\)"):
        discourse.act(client, account(api_peer), action("hide", 1011))
