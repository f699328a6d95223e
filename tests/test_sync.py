"""Feeds Pilote fetches itself, from a local HTTP peer (never the live network), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accounts_support import sign_in
from pilote import jobs, schedule, sync, workspaces
from pilote.cli import app
from pilote.config import Settings
from pilote.errors import Invalid
from pilote.models import ImportRun, Message, Source
from pilote.sources import http
from pilote.web.app import create_app

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def rss(posts: range, *, title: str = "Vélo Lumen <blog>") -> bytes:
    """An RSS 2.0 feed of posts numbered as given, newest first, as a blog would serve it."""
    items = "".join(
        f"""<item><title>Post {n}</title><link>https://velo.example/post-{n}/</link>
        <guid isPermaLink="false">https://velo.example/?p={n}</guid>
        <pubDate>{format_datetime(T + timedelta(hours=n))}</pubDate><dc:creator>Alice</dc:creator>
        <description>Le vélo numéro {n} roule bien &amp; vite.</description></item>"""
        for n in reversed(posts)
    )
    title = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return (
        f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>{title}</title>
<link>https://velo.example/</link><description>Bikes</description>{items}</channel></rss>"""
    ).encode()


@dataclass
class Route:
    """What the peer answers on one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: str | None = None
    last_modified: str | None = None
    location: str | None = None  # a redirect
    hang: bool = False  # answer nothing until the test ends
    claimed_length: int | None = None  # a Content-Length header that the body does not honour
    streamed: bool = False  # no Content-Length: the body ends when the connection closes
    drip: bool = False  # the body a byte at a time, a byte every 0.2 s


@dataclass
class Peer:
    """A local HTTP server on a random port, answering from `routes` and noting every request."""

    server: ThreadingHTTPServer
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"


def _handler(peer: Peer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            peer.requests.append((self.path, dict(self.headers.items())))
            route = peer.routes.get(self.path, Route(status=404, body=b"not here", content_type="text/plain"))
            if route.hang:
                peer.release.wait(30)
                return
            fresh = (route.etag and self.headers.get("If-None-Match") == route.etag) or (
                route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified
            )
            self.send_response(304 if fresh else route.status)
            for name, value in (("ETag", route.etag), ("Last-Modified", route.last_modified),
                                ("Location", route.location), ("Content-Type", route.content_type)):  # fmt: skip
                if value:
                    self.send_header(name, value)
            if fresh:
                self.end_headers()
                return
            if not route.streamed:
                self.send_header("Content-Length", str(route.claimed_length or len(route.body)))
            self.end_headers()
            if not route.drip:
                self.wfile.write(route.body)
                return
            for byte in route.body:
                if peer.release.wait(0.2):
                    return
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client gave up
                    return

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[Peer]:
    """The feed server, on this machine: proxies from the environment are bypassed for it, and the commands
    that read their settings from the environment may reach it (PILOTE_SYNC_PRIVATE_ADDRESSES)."""
    monkeypatch.setenv("PILOTE_SYNC_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    found = Peer(server)
    server.RequestHandlerClass = _handler(found)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.release.set()
    server.shutdown()
    server.server_close()


LOCAL = http.Limits(private=True)  # the peer is on this machine
STRICT = http.Limits(timeout=1, max_bytes=10_000, private=True)


def add(engine: Engine, url: str, workspace: str = "default") -> int:
    with Session(engine) as session, session.begin():
        if not workspaces.get_all(session):
            workspaces.create(session, slug=workspace)
        return sync.add_feed(session, workspace, url).id


def messages(engine: Engine) -> int:
    with Session(engine) as session:
        return session.scalar(select(func.count()).select_from(Message)) or 0


def runs(engine: Engine, source_id: int) -> list[ImportRun]:
    with Session(engine) as session:
        return list(session.scalars(select(ImportRun).where(ImportRun.source_id == source_id).order_by(ImportRun.id)))


def state(engine: Engine, source_id: int) -> tuple[Source, sync.FeedState]:
    with Session(engine) as session:
        source = session.get_one(Source, source_id)
        found = sync.feed_state(source)
        assert found is not None
        return source, found


# --- adding a feed ---


@pytest.mark.parametrize(
    ("url", "problem"),
    [("ftp://velo.example/feed", "http:// or https://"), ("file:///etc/passwd", "http:// or https://"),
     ("https://alice:secret@velo.example/feed", "remove the user name and password"),
     ("velo.example/feed", "http:// or https://"), ("https://velo.example/" + "a" * 600, "at most 500")],
)  # fmt: skip
def test_only_plain_http_addresses_without_credentials_are_accepted(
    sqlite_engine: Engine, url: str, problem: str
) -> None:
    with pytest.raises(Invalid, match=problem), Session(sqlite_engine) as session:
        sync.add_feed(session, None, url)


def test_addresses_with_accents_are_sent_in_their_ascii_form_and_broken_ones_refused(sqlite_engine: Engine) -> None:
    assert sync.check_url(" https://vélo.example:8080/flux/été?q=ça ") == (
        "https://xn--vlo-bma.example:8080/flux/%C3%A9t%C3%A9?q=%C3%A7a"
    )
    for broken in ("http://[::1/feed", "http://a..b/feed"):
        with pytest.raises(Invalid, match="feed address"):
            sync.check_url(broken)


def test_a_feed_at_an_address_with_accents_syncs(engine: Engine, peer: Peer) -> None:
    peer.routes["/flux/%C3%A9t%C3%A9"] = Route(rss(range(1, 3)))
    source_id = add(engine, peer.url("/flux/été"))
    assert sync.sync_source(engine, source_id, limits=LOCAL).new == 2


def test_the_same_feed_cannot_be_added_twice(sqlite_engine: Engine) -> None:
    add(sqlite_engine, "https://velo.example/feed/")
    with pytest.raises(Invalid, match="already a feed"):
        add(sqlite_engine, "https://velo.example/feed")


# --- syncing ---


def test_a_first_sync_imports_the_feed_into_its_source(engine: Engine, peer: Peer) -> None:
    peer.routes["/feed"] = Route(rss(range(1, 4)), etag='"v1"')
    source_id = add(engine, peer.url("/feed"))
    analysed: list[int] = []
    report = sync.sync_source(
        engine, source_id, limits=LOCAL, analyse=lambda ws: analysed.append(ws) or jobs.analyse(engine, ws)
    )
    source, found = state(engine, source_id)
    assert (report.status, report.new, report.not_modified) == ("synced", 3, False)
    assert analysed == [source.workspace_id]  # handed to the analysis once, after the sync was recorded
    assert messages(engine) == 3
    assert source.name == "Vélo Lumen <blog>"  # named after the feed once it is read
    assert (found.outcome, found.etag, found.new) == ("imported", '"v1"', 3)
    assert [run.path for run in runs(engine, source_id)] == [peer.url("/feed")]  # not the temporary file
    assert "Pilote/" in peer.requests[0][1]["User-Agent"]
    with Session(engine) as session:  # the radar and the cockpit read analysed messages
        assert session.scalar(select(func.count()).where(Message.language.is_not(None))) == 3


def test_a_second_sync_is_not_modified_when_the_server_answers_304(engine: Engine, peer: Peer) -> None:
    peer.routes["/etag"] = Route(rss(range(1, 4)), etag='"v1"')
    peer.routes["/dated"] = Route(rss(range(10, 12)), last_modified="Mon, 02 Mar 2026 09:00:00 GMT")
    by_etag, by_date = add(engine, peer.url("/etag")), add(engine, peer.url("/dated"))
    for source_id in (by_etag, by_date):
        sync.sync_source(engine, source_id, limits=LOCAL)
        again = sync.sync_source(engine, source_id, limits=LOCAL)
        assert (again.status, again.not_modified, again.new, again.unchanged) == ("not-modified", True, 0, 0)
        assert len(runs(engine, source_id)) == 1  # nothing new: no import run
        assert state(engine, source_id)[1].outcome == "not-modified"
    assert peer.requests[1][1]["If-None-Match"] == '"v1"'
    assert peer.requests[3][1]["If-Modified-Since"] == "Mon, 02 Mar 2026 09:00:00 GMT"
    assert messages(engine) == 5


def test_the_same_bytes_again_are_not_modified_even_without_validators(engine: Engine, peer: Peer) -> None:
    peer.routes["/feed"] = Route(rss(range(1, 4)))
    source_id = add(engine, peer.url("/feed"))
    sync.sync_source(engine, source_id, limits=LOCAL)
    assert sync.sync_source(engine, source_id, limits=LOCAL).not_modified
    assert len(runs(engine, source_id)) == 1


def test_a_changed_feed_adds_only_what_is_new(engine: Engine, peer: Peer) -> None:
    peer.routes["/feed"] = Route(rss(range(1, 4)), etag='"v1"')
    source_id = add(engine, peer.url("/feed"))
    sync.sync_source(engine, source_id, limits=LOCAL)
    peer.routes["/feed"] = Route(rss(range(2, 6)), etag='"v2"')  # post 1 left the feed, 4 and 5 arrived
    report = sync.sync_source(engine, source_id, limits=LOCAL)
    assert (report.status, report.new, report.updated, report.unchanged) == ("synced", 2, 0, 2)
    assert messages(engine) == 5
    assert state(engine, source_id)[1].etag == '"v2"'


def test_redirects_are_followed_within_limits_and_only_to_http(engine: Engine, peer: Peer) -> None:
    peer.routes["/feed"] = Route(rss(range(1, 3)))
    peer.routes["/old"] = Route(status=301, location="/feed")
    for n in range(7):  # /loop0 -> /loop1 -> ... -> /loop6 -> /feed: too many
        peer.routes[f"/loop{n}"] = Route(status=302, location=f"/loop{n + 1}" if n < 6 else "/feed")
    peer.routes["/ftp"] = Route(status=302, location="ftp://velo.example/feed")
    moved = add(engine, peer.url("/old"))
    assert sync.sync_source(engine, moved, limits=LOCAL).new == 2
    with pytest.raises(sync.SyncError, match="more than 5 redirects"):
        sync.sync_source(engine, add(engine, peer.url("/loop0")), limits=LOCAL)
    with pytest.raises(sync.SyncError, match="does not follow"):
        sync.sync_source(engine, add(engine, peer.url("/ftp")), limits=LOCAL)
    assert messages(engine) == 2


def _refused_url() -> str:
    with socket.socket() as free:  # a port nothing listens on once this socket is closed
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    return f"http://127.0.0.1:{port}/feed"


FAILURES: dict[str, tuple[Route | None, str]] = {
    "404": (Route(status=404, body=b"gone"), "404 Not Found: there is no feed at this address"),
    "500": (Route(status=500, body=b"oops"), "500 Internal Server Error: the site has a problem"),
    "timeout": (Route(hang=True), "no complete answer within 1 s"),
    "slow body": (Route(rss(range(1, 3)), drip=True), "within 1 s"),
    "oversize": (Route(rss(range(1, 200)), streamed=True), "the feed is larger than 10 kB"),
    "claimed oversize": (Route(b"<rss>", claimed_length=60_000_000), "the feed is larger than"),
    "not a feed": (Route(b"<!doctype html><html><body>Hello</body></html>", content_type="text/html"),
                   "the address returned text/html, not an RSS or Atom feed"),
    "broken feed": (Route(b'<?xml version="1.0"?><rss><channel><item><title>x'), "malformed XML"),
    "refused": (None, "refused the connection"),
}  # fmt: skip


@pytest.mark.parametrize("failure", FAILURES)
def test_each_failure_is_recorded_in_plain_words_and_writes_nothing(engine: Engine, peer: Peer, failure: str) -> None:
    route, words = FAILURES[failure]
    if route is not None:
        peer.routes["/feed"] = route
    url = peer.url("/feed") if route is not None else _refused_url()
    source_id = add(engine, url)
    with pytest.raises(sync.SyncError, match=words) as raised:
        sync.sync_source(engine, source_id, limits=http.Limits(timeout=1, max_bytes=10_000, private=True))
    _source, found = state(engine, source_id)
    [run] = runs(engine, source_id)
    assert url in str(raised.value)
    assert "pilote-feed-" not in str(raised.value)  # the temporary file is not the reader's business
    assert found.outcome == "failed"
    assert words in (found.error or "")
    assert (run.status, run.path) == ("failed", url)
    assert words in (run.message or "")
    assert messages(engine) == 0
    with pytest.raises(sync.SyncError):  # failing again updates the same record instead of piling them up
        sync.sync_source(engine, source_id, limits=http.Limits(timeout=1, max_bytes=10_000, private=True))
    assert len(runs(engine, source_id)) == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_feed_on_this_machine_or_its_network_is_refused_unless_allowed(engine: Engine, peer: Peer, host: str) -> None:
    peer.routes["/feed"] = Route(rss(range(1, 3)))
    url = peer.url("/feed").replace("127.0.0.1", host)
    source_id = add(engine, url)
    with pytest.raises(sync.SyncError, match="a private or local address") as raised:
        sync.sync_source(engine, source_id)  # the default: public addresses only
    assert "set PILOTE_SYNC_PRIVATE_ADDRESSES=true" in str(raised.value)
    assert peer.requests == []  # refused before connecting, not after
    _source, found = state(engine, source_id)
    assert found.outcome == "failed"
    assert messages(engine) == 0
    assert sync.sync_source(engine, source_id, limits=LOCAL).new == 2


ADDRESSES = {
    "127.0.0.1": False, "10.1.2.3": False, "172.16.0.1": False, "192.168.1.10": False, "100.64.0.1": False,
    "169.254.169.254": False, "0.0.0.0": False, "224.0.0.1": False,  # noqa: S104 (a value, not a bind)
    "255.255.255.255": False, "::1": False,
    "fe80::1%eth0": False, "fc00::1": False, "::ffff:127.0.0.1": False, "::ffff:169.254.169.254": False,
    "ff02::1": False, "93.184.216.34": True, "8.8.8.8": True, "2606:4700:4700::1111": True,
    "::ffff:93.184.216.34": True, "64:ff9b::a9fe:a9fe": False, "2002:a9fe:a9fe::": False, "::169.254.169.254": False,
    "fec0::1": False, "2001:0:4136:e378:8000:63bf:3fff:fdd2": False, "2002:5db8:d822::": True,
}  # fmt: skip


def test_only_addresses_on_the_public_internet_count_as_public() -> None:
    assert {address: http._public(address) for address in ADDRESSES} == ADDRESSES


def test_through_a_proxy_the_feed_s_own_address_is_checked(
    engine: Engine, peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proxy (here the peer, on this machine) is the administrator's; what it is asked to fetch is not."""
    monkeypatch.setenv("http_proxy", peer.url(""))
    monkeypatch.delenv("no_proxy")
    monkeypatch.delenv("NO_PROXY")
    public, metadata = "http://93.184.216.34/feed", "http://169.254.169.254/latest/meta-data/"
    peer.routes[public] = Route(rss(range(1, 3)))  # a proxy is asked for the whole address
    assert sync.sync_source(engine, add(engine, public)).new == 2
    with pytest.raises(
        sync.SyncError, match=re.escape("169.254.169.254 is at 169.254.169.254, a private or local address")
    ):
        sync.sync_source(engine, add(engine, metadata))
    assert [path for path, _ in peer.requests] == [public]


def test_the_cli_refuses_a_local_feed_unless_the_setting_allows_it(
    run: Callable[..., Any], peer: Peer, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer.routes["/feed"] = Route(rss(range(1, 3)))
    assert run("source", "add-feed", peer.url("/feed")).exit_code == 0
    monkeypatch.setenv("PILOTE_SYNC_PRIVATE_ADDRESSES", "false")
    refused = run("sync")
    assert refused.exit_code == 1
    assert "private or local address" in " ".join(refused.stderr.split())
    monkeypatch.setenv("PILOTE_SYNC_PRIVATE_ADDRESSES", "true")
    assert orjson.loads(run("sync", "--json").stdout)["syncs"][0]["new"] == 2


def test_sync_due_skips_paused_and_recent_feeds_and_survives_a_failing_one(
    engine: Engine, settings: Settings, peer: Peer
) -> None:
    peer.routes["/a"] = Route(rss(range(1, 3)))
    peer.routes["/b"] = Route(rss(range(5, 8)))
    peer.routes["/broken"] = Route(status=500)
    first, paused, broken = add(engine, peer.url("/a")), add(engine, peer.url("/b")), add(engine, peer.url("/broken"))
    with Session(engine) as session, session.begin():
        session.get_one(Source, paused).status = "paused"
    local = settings.model_copy(update={"sync_private_addresses": True})
    reports = schedule.sync_due(engine, local)
    assert {r.source_id: r.status for r in reports} == {first: "synced", broken: "failed"}
    assert schedule.sync_due(engine, local) == []  # synced a moment ago: not due before PILOTE_SYNC_INTERVAL
    later = datetime.now(UTC) + timedelta(seconds=settings.sync_interval + 1)
    assert sorted(r.source_id for r in schedule.sync_due(engine, local, now=later)) == [first, broken]
    assert messages(engine) == 2


# --- the command line ---


@pytest.fixture
def run(settings: Settings, env_for: Callable[[Settings], None]) -> Callable[..., Any]:
    env_for(settings)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def test_the_cli_adds_lists_and_syncs_a_feed(run: Callable[..., Any], peer: Peer) -> None:
    peer.routes["/feed"] = Route(rss(range(1, 4)), etag='"v1"')
    added = run("source", "add-feed", peer.url("/feed"), "--json")
    assert added.exit_code == 0, added.stderr
    source_id = orjson.loads(added.stdout)["id"]
    first = run("sync", "--json")
    assert first.exit_code == 0, first.stderr
    [report] = orjson.loads(first.stdout)["syncs"]
    assert (report["source_id"], report["status"], report["new"]) == (source_id, "synced", 3)
    assert report["not_modified"] is False
    assert all(m["language"] for m in orjson.loads(run("messages", "--json").stdout))  # analysed, as after an import
    again = run("sync", "--source", str(source_id), "--json")
    assert orjson.loads(again.stdout)["syncs"][0]["not_modified"] is True
    table = run("sync")
    assert "not-modified" in table.stdout
    assert "Sync summary" in table.stdout
    listed = orjson.loads(run("source", "list", "--json").stdout)
    assert listed[0]["kind"] == "feed"
    assert listed[0]["url"] == peer.url("/feed")
    assert listed[0]["summary"] == "Last sync: nothing new since the one before."
    assert run("source", "pause", str(source_id)).exit_code == 0
    assert orjson.loads(run("sync", "--json").stdout)["syncs"] == []  # paused: left alone
    assert "Vélo Lumen" in run("source", "list").stdout


@pytest.mark.parametrize("failure", ["404", "500", "timeout", "claimed oversize", "not a feed", "refused"])
def test_the_cli_says_what_failed_where_and_exits_1(run: Callable[..., Any], peer: Peer, failure: str) -> None:
    route, words = FAILURES[failure]
    if route is not None:
        peer.routes["/feed"] = route
    url = peer.url("/feed") if route is not None else _refused_url()
    assert run("source", "add-feed", url).exit_code == 0
    result = run("sync", "--timeout", "1")
    assert result.exit_code == 1
    message = " ".join(result.stderr.split())  # the terminal wraps long lines
    assert f"error: feed {url} (source 1):" in message
    assert words in message
    assert "nothing from this sync was written" in message
    listed = orjson.loads(run("source", "list", "--json").stdout)[0]
    assert listed["sync"]["outcome"] == "failed"
    assert listed["messages"] == 0


def test_every_sync_command_has_help(run: Callable[..., Any]) -> None:
    for command in (["sync"], ["source"], ["source", "add-feed"], ["source", "list"], ["source", "pause"]):
        assert run(*command, "--help").exit_code == 0, command


# --- the cockpit and the jobs ---


def test_the_sources_page_adds_a_feed_and_syncs_it_now(settings: Settings, engine: Engine, peer: Peer) -> None:
    peer.routes["/feed"] = Route(rss(range(1, 4), title="<script>alert(1)</script> Blog"), etag='"v1"')
    with Session(engine) as session, session.begin():
        workspaces.create(session, slug="default")
    local = settings.model_copy(update={"sync_private_addresses": True})
    with TestClient(create_app(local, engine)) as client:
        sign_in(client)
        refused = client.post("/w/default/sources/feeds", data={"url": "javascript:alert(1)"})
        added = client.post("/w/default/sources/feeds", data={"url": peer.url("/feed")})
        source_id = added.url.params["synced"]
        peer.routes["/feed"] = Route(rss(range(1, 5), title="<script>alert(1)</script> Blog"), etag='"v2"')
        synced = client.post(f"/w/default/sources/{source_id}/sync")
        peer.routes["/feed"] = Route(status=503)
        failed = client.post(f"/w/default/sources/{source_id}/sync")
        french = client.get("/w/default/sources", headers={"Accept-Language": "fr"})
        foreign = client.post(f"/w/default/sources/{source_id}/sync", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 422
    assert "The feed was not added" in refused.text
    assert added.status_code == 200
    assert "Synced" in added.text
    assert "3 new, 0 updated, 0 unchanged" in added.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Blog" in added.text
    assert "<script>alert" not in added.text
    assert peer.url("/feed") in added.text
    assert "1 new, 0 updated, 3 unchanged" in synced.text
    assert "503 Service Unavailable" in failed.text
    assert "nothing from it was written" in failed.text
    assert "Synchroniser maintenant" in french.text
    assert foreign.status_code == 403
    assert messages(engine) == 4


def test_a_due_feed_is_synced_by_serve_s_jobs(settings: Settings, engine: Engine, peer: Peer) -> None:
    peer.routes["/feed"] = Route(rss(range(1, 4)))
    add(engine, peer.url("/feed"))
    settings = settings.model_copy(update={"sync_private_addresses": True})
    assert [r.new for r in jobs.sync_tick(engine, settings)] == [3]
    peer.routes["/other"] = Route(rss(range(20, 22)))
    add(engine, peer.url("/other"))
    with jobs.running(settings.model_copy(update={"radar_interval": 0.2})):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and messages(engine) < 5:  # wait on the condition, not a duration
            time.sleep(0.1)
    assert messages(engine) == 5
