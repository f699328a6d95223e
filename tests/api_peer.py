"""A local HTTP peer that replays recorded API answers, for the connectors' tests (never the live network).

Routes are keyed by method and path; each holds a queue of answers served in turn (the last one stays), so
a test can script "429 with Retry-After, then the page". A route may also be a function of the request,
for answers that depend on the query (paging by cursor). Every request is noted: method, path, query,
headers and body.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from pilote.sources.http import HttpClient, Limits


@dataclass
class Answer:
    """One recorded answer: status, body (bytes, or anything JSON-able) and headers."""

    body: Any = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.headers.get("Content-Type", "application/json")
        return json.dumps(self.body).encode(), "application/json; charset=utf-8"


@dataclass
class Request:
    """What the peer received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


Responder = Callable[[Request], Answer]


@dataclass
class ApiPeer:
    """A local server on a random port: `routes[(method, path)]` is a list of answers or a responder."""

    server: ThreadingHTTPServer
    routes: dict[tuple[str, str], list[Answer] | Responder] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)

    @property
    def base(self) -> str:
        """The peer's address, e.g. http://127.0.0.1:41234."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def on(self, method: str, path: str, *answers: Answer | Responder) -> None:
        """Answer `method path` with these answers in turn (the last one repeats), or with a responder."""
        if len(answers) == 1 and callable(answers[0]):
            self.routes[(method, path)] = answers[0]
        else:
            self.routes[(method, path)] = [a for a in answers if isinstance(a, Answer)]

    def calls(self, method: str, path: str) -> list[Request]:
        """The requests received on `method path`."""
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def _answer(self, request: Request) -> Answer:
        route = self.routes.get((request.method, request.path))
        if route is None:
            return Answer({"error": f"no route {request.method} {request.path}"}, status=404)
        if callable(route):
            return route(request)
        return route.pop(0) if len(route) > 1 else route[0]


def _handler(peer: ApiPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()),
                              self.rfile.read(length) if length else b"")  # fmt: skip
            peer.requests.append(request)
            answer = peer._answer(request)
            body, content_type = answer.encoded()
            self.send_response(answer.status)
            self.send_header("Content-Type", content_type)
            for name, value in answer.headers.items():
                if name.lower() != "content-type":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def do_DELETE(self) -> None:
            self._serve()

        def do_PATCH(self) -> None:
            self._serve()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def api_peer(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiPeer]:
    """The platform's server, on this machine (proxies bypassed; PILOTE_SYNC_PRIVATE_ADDRESSES for commands)."""
    monkeypatch.setenv("PILOTE_SYNC_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    found = ApiPeer(server)
    server.RequestHandlerClass = _handler(found)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@dataclass
class Sleeps:
    """A stand-in for time.sleep that notes what the client would have waited (tests never sleep)."""

    waited: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)


def local_client(**overrides: Any) -> tuple[HttpClient, Sleeps]:
    """An HttpClient allowed to reach this machine, with a short deadline and recorded sleeps."""
    sleeps = Sleeps()
    options: dict[str, Any] = {"limits": Limits(timeout=5, private=True), "sleep": sleeps, **overrides}
    return HttpClient(**options), sleeps


def recorded(path: Path) -> Any:
    """A recorded JSON body (from ../shared/data or tests/recordings)."""
    return json.loads(path.read_text(encoding="utf-8"))
