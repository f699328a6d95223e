"""The shared HTTP client: retries, Retry-After, pace per host, plain-words errors, guarded addresses."""

from __future__ import annotations

import pytest

from api_peer import Answer, ApiPeer, local_client
from pilote.sources.http import AuthFailed, FetchFailed, HttpClient, HttpStatus, RateLimited, retry_after


def test_a_429_with_retry_after_is_waited_then_asked_again(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api", Answer({"error": "slow down"}, 429, {"Retry-After": "7"}), Answer({"ok": 1}))
    client, sleeps = local_client()
    assert client.get_json(api_peer.url("/api")) == {"ok": 1}
    assert sleeps.waited == [7.0]
    assert len(api_peer.calls("GET", "/api")) == 2


def test_a_wait_longer_than_a_sync_should_stops_it_with_the_wait_said(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api", Answer({}, 429, {"Retry-After": "3600"}))
    client, sleeps = local_client(max_wait=60)
    with pytest.raises(RateLimited, match="wait 3,600 s") as raised:
        client.get_json(api_peer.url("/api"))
    assert raised.value.retry_after == 3600
    assert sleeps.waited == []


def test_server_errors_are_retried_with_growing_waits_then_reported(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api", Answer(b"oops", 502), Answer(b"oops", 503), Answer({"ok": 2}))
    client, sleeps = local_client()
    assert client.get_json(api_peer.url("/api")) == {"ok": 2}
    assert len(sleeps.waited) == 2
    assert 1 <= sleeps.waited[0] < sleeps.waited[1] <= 2.5
    api_peer.on("GET", "/down", Answer(b"down", 500))
    with pytest.raises(HttpStatus, match="500 Internal Server Error") as raised:
        client.get_json(api_peer.url("/down"))
    assert raised.value.status == 500
    assert len(api_peer.calls("GET", "/down")) == 4  # the first try and three retries


def test_refused_credentials_say_so_and_are_not_retried(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/me", Answer({"error": "The access token is invalid"}, 401))
    client, _ = local_client()
    with pytest.raises(AuthFailed, match=r"refused the credentials .*The access token is invalid"):
        client.get_json(api_peer.url("/me"))
    assert len(api_peer.calls("GET", "/me")) == 1


def test_a_body_that_is_not_json_is_a_plain_error(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api", Answer(b'{"statuses": [1, 2', headers={"Content-Type": "application/json"}))
    client, _ = local_client()
    with pytest.raises(FetchFailed, match="not JSON"):
        client.get_json(api_peer.url("/api"))


def test_answers_over_the_size_cap_are_refused(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/big", Answer({"text": "x" * 5000}))
    client, _ = local_client()
    client.limits = client.limits.__class__(timeout=5, max_bytes=1000, private=True)
    with pytest.raises(FetchFailed, match="larger than 1 kB"):
        client.get_json(api_peer.url("/big"))


def test_requests_to_one_host_keep_their_pace(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api", Answer({}))
    now = [100.0]
    client, sleeps = local_client(pace=2.0, clock=lambda: now[0])
    for _ in range(3):
        client.get_json(api_peer.url("/api"))
    assert sleeps.waited == [2.0, 4.0]  # the clock stands still: each waits for its turn


def test_query_parameters_and_json_bodies_are_sent(api_peer: ApiPeer) -> None:
    api_peer.on("POST", "/post", Answer({"id": "9"}))
    client, _ = local_client(headers={"Authorization": "Bearer t0k3n"})
    client.request("POST", api_peer.url("/post"), params={"a": "é", "skip": None, "ids": [1, 2]}, json={"x": 1})
    [sent] = api_peer.calls("POST", "/post")
    assert sent.query == {"a": ["é"], "ids": ["1", "2"]}
    assert sent.json() == {"x": 1}
    assert sent.headers["Authorization"] == "Bearer t0k3n"


def test_this_machine_is_refused_unless_allowed(api_peer: ApiPeer) -> None:
    api_peer.on("GET", "/api", Answer({}))
    with pytest.raises(FetchFailed, match="private or local address"):
        HttpClient(sleep=lambda _s: None).get_json(api_peer.url("/api"))
    assert api_peer.requests == []


def test_retry_after_reads_seconds_and_dates() -> None:
    assert retry_after("120") == 120.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_credentials_never_follow_a_redirect_to_another_host(api_peer: ApiPeer) -> None:
    elsewhere = api_peer.url("/moved").replace("127.0.0.1", "localhost")
    api_peer.on("GET", "/api", Answer(b"", 301, {"Location": elsewhere}))
    api_peer.on("GET", "/moved", Answer({"ok": 3}))
    client, _ = local_client(headers={"Authorization": "Bearer s3cret", "Api-Key": "k3y", "Accept-Language": "fr"})
    assert client.get_json(api_peer.url("/api")) == {"ok": 3}
    [moved] = api_peer.calls("GET", "/moved")
    assert "Authorization" not in moved.headers
    assert "Api-Key" not in moved.headers
    assert moved.headers["Accept-Language"] == "fr"  # what is not a credential still goes


def test_a_request_that_changes_something_is_not_sent_again_after_a_server_error(api_peer: ApiPeer) -> None:
    api_peer.on("POST", "/replies", Answer(b"oops", 502), Answer({"id": "1"}))
    client, sleeps = local_client()
    with pytest.raises(HttpStatus, match="502"):
        client.request("POST", api_peer.url("/replies"), json={"text": "Merci !"})
    assert len(api_peer.calls("POST", "/replies")) == 1  # the reply may have been posted: never twice
    api_peer.on("POST", "/limited", Answer({}, 429, {"Retry-After": "2"}), Answer({"id": "2"}))
    assert client.request("POST", api_peer.url("/limited"), json={}).json() == {"id": "2"}  # 429: not carried out
    assert sleeps.waited == [2.0]


def test_a_redirect_that_is_not_followed_is_an_error_not_a_success(api_peer: ApiPeer) -> None:
    api_peer.on("POST", "/hook", Answer(b"", 308, {"Location": "ftp://example.org/hook"}))
    client, _ = local_client()
    with pytest.raises(FetchFailed, match="does not follow"):
        client.request("POST", api_peer.url("/hook"), json={})
