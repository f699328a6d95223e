"""The one HTTP client every fetch goes through: feeds, connectors and webhook alerts.

Whatever Pilote fetches is named by a user or by a stranger's content, so every request is guarded the same
way: http and https only, no credentials in the address, public addresses only unless
PILOTE_SYNC_PRIVATE_ADDRESSES allows the machine's own network (each address a name resolves to is checked
on the very socket that connects to it, at every redirect too), a deadline, a size cap, at most a few
redirects. `HttpClient` adds what an API needs on top: JSON, retries with backoff on 5xx and
dropped connections, `Retry-After` on 429 and 503, and a pace per host. docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import random
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import orjson

from pilote import __version__
from pilote.config import Settings
from pilote.errors import Invalid, PiloteError, fill
from pilote.texts import N_

USER_AGENT = f"Pilote/{__version__} (self-hosted community cockpit)"
MAX_URL = 2000
CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class Limits:
    """How far a fetch may go: total seconds, bytes and redirects, and whether to addresses that are not
    public (loopback, private networks, link-local such as a cloud's metadata service)."""

    timeout: float = 30.0
    max_bytes: int = 50 * 1024 * 1024
    max_redirects: int = 5
    private: bool = False

    @classmethod
    def of(cls, settings: Settings, **overrides: Any) -> Limits:
        """The limits the settings give (PILOTE_SYNC_PRIVATE_ADDRESSES), with `overrides`."""
        return cls(**{"private": settings.sync_private_addresses, **overrides})


DEFAULT_LIMITS = Limits()


@dataclass(slots=True)
class Fetched:
    path: Path | None  # None: not modified (304)
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""
    sha256: str = ""


def check_url(url: str, *, what: str = "address", max_length: int = MAX_URL) -> str:
    """The address, stripped, if Pilote may fetch it: http or https, a host, no credentials; a host or path
    written with accents is turned into its ASCII form (IDNA, percent-encoding), as a browser does."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise Invalid(
            N_("%(what)s %(url)r: not a valid address; copy it again from the browser"), what=what, url=url[:80]
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise Invalid(
            N_("%(what)s %(url)r: give a full http:// or https:// address, e.g. https://example.org/feed"),
            what=what,
            url=url,
        )
    if parts.username is not None or parts.password is not None:
        raise Invalid(N_("%(what)s %(host)s: remove the user name and password from the address"), what=what, host=host)
    if len(url) > max_length or any(c.isspace() or ord(c) < 32 for c in url):
        raise Invalid(
            N_("%(what)s %(url)r: at most %(max_length)s characters, without spaces"),
            what=what,
            url=url[:80],
            max_length=max_length,
        )
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise Invalid(
            N_("%(what)s %(url)r: %(host)r is not a valid host name"), what=what, url=url[:80], host=host
        ) from None
    if url.isascii():
        return url
    netloc = ascii_host + (f":{port}" if port is not None else "")
    safe = "/:@!$&'()*+,;=%~-._"
    path, query = quote(parts.path, safe=safe), quote(parts.query, safe=safe + "?")
    return urlunsplit((parts.scheme, netloc, path, query, quote(parts.fragment, safe=safe)))


Said = tuple[str, dict[str, Any]]  # an English template and its values (pilote.texts translates it)


class FetchFailed(PiloteError):
    """An address could not be fetched: the message says why in plain words, and what to do. `transient`:
    the same request may well work in a moment (a dropped connection, a timeout)."""

    def __init__(self, message: str, *, transient: bool = False, **params: Any) -> None:
        super().__init__(message, **params)
        self.transient = transient

    @classmethod
    def of(cls, said: Said, *, transient: bool = False) -> FetchFailed:
        """The failure for a (template, values) pair."""
        return cls(said[0], transient=transient, **said[1])


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows at most `limit` redirects, and only to addresses Pilote may fetch."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.max_redirections = limit  # type: ignore[misc]  # a class default that urllib reads per instance

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        try:
            check_url(newurl)
        except Invalid:
            fp.close()
            raise FetchFailed(
                N_("it redirects to %(url)r, which Pilote does not follow (http and https only, no credentials)"),
                url=newurl[:200],
            ) from None
        follow = super().redirect_request(req, fp, code, msg, headers, newurl)
        if follow is not None and _origin(req.full_url) != _origin(follow.full_url):
            for name in [n for n in follow.headers if _secret_header(n)]:  # never to another host or to http
                del follow.headers[name]
        return follow


SECRET_HEADERS = ("authorization", "cookie", "key", "token", "secret", "password", "api-username")


def _secret_header(name: str) -> bool:
    """Whether a header may carry credentials (Authorization, Api-Key, X-Auth-Token...)."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_HEADERS)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port


def _connect(address: tuple[str, int], timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
             source_address: Any = None, *, private: bool) -> socket.socket:  # fmt: skip
    """`socket.create_connection`, to public addresses only unless `private`: each address the name resolves
    to is checked, and the socket connects to that very address."""
    host, port = address
    refused: list[str] = []
    failure: OSError | None = None
    for family, kind, protocol, _, where in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if not (private or _public(str(where[0]))):
            refused.append(str(where[0]))
            continue
        sock = socket.socket(family, kind, protocol)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(where)
            return sock
        except OSError as error:
            sock.close()
            failure = error
    if failure is not None:
        raise failure
    raise _refusal(host, refused[0] if refused else "no address")


def _refusal(host: str, address: str) -> FetchFailed:
    return FetchFailed(
        N_("%(host)s is at %(address)s, a private or local address: Pilote only fetches from public addresses. "
           "For a feed or a server on your own network, set PILOTE_SYNC_PRIVATE_ADDRESSES=true"),
        host=host, address=address,
    )  # fmt: skip


_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _public(address: str) -> bool:
    """Whether an IP address is on the public internet (not loopback, private, link-local, reserved...); an
    IPv6 address that carries an IPv4 one (mapped, 6to4, Teredo, NAT64) is judged by the IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 address may carry its zone: fe80::1%eth0
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in _NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None:
            return _public(str(inner))
        if ip in _IPV4_COMPATIBLE or ip.is_site_local:
            return False
    return ip.is_global and not ip.is_multicast


def _proxied(req: Any, private: bool) -> bool:
    """Whether the request goes through a proxy (from the environment: `http_proxy`...). The proxy is the
    administrator's and may be anywhere; the target's host is checked here instead, by its addresses (the proxy
    then resolves the name again: a DNS answer could change in between, which a direct connection rules out)."""
    proxied = bool(req.has_proxy() or req._tunnel_host)
    if proxied and not private:
        target = urlsplit(req.full_url)
        host = target.hostname or ""
        port = target.port or (443 if target.scheme == "https" else 80)
        for *_, where in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            if not _public(str(where[0])):
                raise _refusal(host, str(where[0]))
    return proxied


class _GuardedConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, private: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = partial(_connect, private=private)


class _GuardedTLSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, private: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = partial(_connect, private=private)


class _GuardedHTTP(urllib.request.HTTPHandler):
    """http:// through `_connect`."""

    def __init__(self, private: bool) -> None:
        super().__init__()
        self.private = private

    def http_open(self, req: Any) -> Any:
        private = _proxied(req, self.private) or self.private
        return self.do_open(partial(_GuardedConnection, private=private), req)


class _GuardedHTTPS(urllib.request.HTTPSHandler):
    """https:// through `_connect` (the certificate is checked against the host name, as usual)."""

    def __init__(self, private: bool) -> None:
        super().__init__()
        self.private = private

    def https_open(self, req: Any) -> Any:
        context = self._context  # type: ignore[attr-defined]  # the handler's own SSL context
        private = _proxied(req, self.private) or self.private
        return self.do_open(partial(_GuardedTLSConnection, private=private), req, context=context)


def guarded_opener(limits: Limits) -> urllib.request.OpenerDirector:
    """An opener that connects to allowed addresses only and follows redirects within the limits."""
    return urllib.request.build_opener(
        _Redirects(limits.max_redirects), _GuardedHTTP(limits.private), _GuardedHTTPS(limits.private)
    )


def fetch_file(url: str, path: Path, headers: Mapping[str, str], limits: Limits = DEFAULT_LIMITS) -> Fetched:
    """GET `url` into `path` (with `headers`, e.g. a conditional GET's validators); `path` None means 304."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}  # bytes as they come
    opener = guarded_opener(limits)
    deadline = time.monotonic() + limits.timeout
    try:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310  # check_url allowed http(s) only
        with opener.open(request, timeout=limits.timeout) as response:
            return _save(response, path, limits, deadline)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 304:
            return Fetched(None)
        raise FetchFailed.of(_http_problem(error.code, error.reason, limits)) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise FetchFailed.of(_network_problem(url, error, limits)) from None
    except ValueError as error:  # an address urllib cannot send (UnicodeError is one)
        raise FetchFailed(
            N_("the address cannot be fetched (%(error)s); check it and add the feed again"), error=error
        ) from None


def _save(response: IO[bytes], path: Path, limits: Limits, deadline: float) -> Fetched:
    """Stream the body to `path` within the size cap and the deadline, hashing it on the way."""
    headers = response.headers  # type: ignore[attr-defined]
    length = headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limits.max_bytes:
        raise FetchFailed.of(_too_big(int(length), limits))
    digest, size = hashlib.sha256(), 0
    reader = getattr(response, "read1", response.read)  # whatever has arrived, not a full chunk: the deadline holds
    with path.open("wb") as out:
        while chunk := _read_before(response, reader, deadline, limits):
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchFailed.of(_too_big(size, limits))
            if time.monotonic() > deadline:
                raise FetchFailed.of(_slow(limits), transient=True)
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise FetchFailed(N_("the server sent an empty answer instead of a feed; Pilote tries again at the next sync"))
    return Fetched(path, etag=headers.get("ETag"), last_modified=headers.get("Last-Modified"),
                    content_type=headers.get("Content-Type", ""), sha256=digest.hexdigest())  # fmt: skip


def _read_before(response: Any, reader: Any, deadline: float, limits: Limits) -> bytes:
    """The next bytes of the body, waiting at most until the deadline (a server sending a byte now and then
    must not hold the sync, and the feeds after it, for ever)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchFailed.of(_slow(limits), transient=True)
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(left, 0.05))
    try:
        chunk: bytes = reader(CHUNK)
    except TimeoutError:
        raise FetchFailed.of(_slow(limits), transient=True) from None
    return chunk


def _too_big(size: int, limits: Limits) -> Said:
    return (N_("the feed is larger than %(most)s (%(size)s or more) and was refused: give a smaller feed (most sites "
               "can limit how many items theirs lists)"),
            {"most": _bytes(limits.max_bytes), "size": _bytes(size)})  # fmt: skip


def _bytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} kB"


def _slow(limits: Limits) -> Said:
    return (N_(
"no complete answer within %(seconds)s s: the site is slow or down; Pilote tries "
"again later"
),
            {"seconds": f"{limits.timeout:g}"})  # fmt: skip


def _http_problem(code: int, reason: str, limits: Limits) -> Said:
    said = {"status": f"{code} {reason}".rstrip(), "most": limits.max_redirects}
    if 300 <= code < 400:
        return N_("more than %(most)s redirects (the server answered %(status)s): check the address in a browser"), said
    if code in (404, 410):
        return N_("the server answered %(status)s: there is no feed at this address; check it on the site (the feed "
                  "may have moved)"), said  # fmt: skip
    if code in (401, 403):
        return N_("the server answered %(status)s: the feed is private or refuses Pilote; check it in a browser"), said
    if code == 429:
        return N_("the server answered %(status)s: the site limits how often it may be read; Pilote tries again at "
                  "the next sync"), said  # fmt: skip
    if code >= 500:
        return N_("the server answered %(status)s: the site has a problem of its own; Pilote tries again at the next "
                  "sync"), said  # fmt: skip
    return N_("the server answered %(status)s: check the address in a browser"), said


def _network_problem(url: str, error: BaseException, limits: Limits) -> Said:
    host = urlsplit(url).hostname or url
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    said = {"host": host, "reason": str(reason)}
    if isinstance(reason, socket.gaierror):
        return N_("the name %(host)s could not be found (DNS): check the address, and this machine's network"), said
    if isinstance(reason, ConnectionRefusedError):
        return N_("%(host)s refused the connection: check the address and its port, or whether the site is up"), said
    if isinstance(reason, TimeoutError):
        return _slow(limits)
    if isinstance(reason, ssl.SSLError | ssl.CertificateError):
        return N_("the secure connection to %(host)s failed (%(reason)s): check the address, or the site's "
                  "certificate"), said  # fmt: skip
    if isinstance(reason, ConnectionError | http.client.HTTPException):
        return N_("the connection was cut before the feed was complete; Pilote tries again at the next sync"), {}
    return N_("%(host)s could not be reached (%(reason)s); Pilote tries again at the next sync"), said


class RateLimited(FetchFailed):
    """The platform asks Pilote to wait longer than a sync should: the sync stops, its cursor kept."""

    def __init__(self, message: str, retry_after: float, **params: Any) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after


class HttpStatus(FetchFailed):
    """The platform answered with an error status that retrying will not fix (`status`, when an HTTP one)."""

    def __init__(self, message: str, status: int | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        self.status = status


class AuthFailed(HttpStatus):
    """The platform refused the credentials (401, 403 or its own word for an expired token)."""


@dataclass(slots=True)
class Response:
    """A complete answer: status, headers (names in lower case), body and the address that answered."""

    status: int
    headers: dict[str, str]
    body: bytes
    url: str

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is the platform's fault, said in plain words."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError as error:
            host = urlsplit(self.url).hostname or self.url
            raise FetchFailed(
                N_(
                    "%(host)s answered with something that is not JSON (%(error)s, %(count)s bytes); "
                    "Pilote tries again at the next sync"
                ),
                host=host,
                error=error,
                count=f"{len(self.body):,}",
            ) from None


RETRIED_STATUSES = frozenset({500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass
class HttpClient:
    """Requests within `limits`, retried `retries` times on 5xx and dropped connections (exponential backoff
    with jitter), waiting what `Retry-After` asks on 429 and 503 up to `max_wait` seconds (beyond, the sync
    stops with RateLimited and resumes from its cursor later), and at least `pace` seconds between two
    requests to one host. `sleep` and `clock` are the standard ones; tests pass their own."""

    limits: Limits = field(default_factory=Limits)
    retries: int = 3
    max_wait: float = 60.0
    pace: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _next: dict[str, float] = field(default_factory=dict, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(cls, settings: Settings, **overrides: Any) -> HttpClient:
        """A client within the settings' limits (PILOTE_SYNC_PRIVATE_ADDRESSES)."""
        return cls(limits=Limits.of(settings), **overrides)

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        """GET `url` (with `params` in its query) and parse the JSON answer."""
        return self.request("GET", url, params=params, **kwargs).json()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | None = None,
    ) -> Response:
        """Send one request, retried as the class says; raises FetchFailed (or a subclass) in plain words."""
        url = with_query(check_url(url), params)
        body = orjson.dumps(json) if json is not None else data
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "identity",
                **self.headers, **(headers or {})}  # fmt: skip
        if json is not None:
            sent["Content-Type"] = "application/json"
        attempt = 0
        while True:
            self._wait_turn(url)
            try:
                response = self._send(method, url, sent, body)
            except FetchFailed as error:
                if not error.transient or attempt >= self.retries or method.upper() not in IDEMPOTENT:
                    raise
                self.sleep(_backoff(attempt))
                attempt += 1
                continue
            delay = self._delay(response, attempt, method.upper() in IDEMPOTENT)
            if delay is None:
                return _checked(response)
            self.sleep(delay)
            attempt += 1

    def _delay(self, response: Response, attempt: int, idempotent: bool) -> float | None:
        """How long to wait before asking again, or None when the answer is final. A request that changes
        something (a reply: POST) is sent again only after a 429, which says it was not carried out: after a
        5xx or a dropped connection it may have been, and a second reply would be posted."""
        if response.status not in (429, *RETRIED_STATUSES) or (response.status != 429 and not idempotent):
            return None
        host = urlsplit(response.url).hostname or response.url
        wait = retry_after(response.headers.get("retry-after"))
        if response.status == 429 or wait is not None:
            wait = _backoff(attempt) if wait is None else wait
            if wait > self.max_wait or attempt >= self.retries:
                raise RateLimited(
                    f"{host} limits how often it may be asked (HTTP {response.status}, wait {wait:,.0f} s); "
                    "the sync stopped where it was and goes on at the next one",
                    wait,
                )
            return wait
        if attempt >= self.retries:
            return None
        return _backoff(attempt)

    def _wait_turn(self, url: str) -> None:
        """At least `pace` seconds between two requests to one host (threads share the client)."""
        if self.pace <= 0:
            return
        host = urlsplit(url).netloc
        with self._guard:
            now = self.clock()
            turn = max(now, self._next.get(host, now))
            self._next[host] = turn + self.pace
        if turn > now:
            self.sleep(turn - now)

    def _send(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Response:
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310  # checked
        deadline = time.monotonic() + self.limits.timeout
        try:
            with guarded_opener(self.limits).open(request, timeout=self.limits.timeout) as answer:
                return Response(answer.status, _lower(answer.headers), _read_all(answer, self.limits, deadline),
                                answer.url)  # fmt: skip
        except urllib.error.HTTPError as error:
            with error:
                content = _read_all(error, self.limits, deadline) if error.fp is not None else b""
                return Response(error.code, _lower(error.headers), content, error.url or url)
        except FetchFailed:
            raise
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            raise FetchFailed.of(_network_problem(url, error, self.limits), transient=_dropped(error)) from None
        except ValueError as error:
            raise FetchFailed(
                N_("the address %(url)r cannot be fetched (%(error)s)"), url=url[:200], error=error
            ) from None


def with_query(url: str, params: Mapping[str, Any] | None) -> str:
    """`url` with `params` added to its query (None values left out, lists repeated)."""
    if not params:
        return url
    pairs = [(k, v) for k, v in params.items() if v is not None]
    query = urlencode([(k, x) for k, v in pairs for x in (v if isinstance(v, list | tuple) else [v])])
    return url + ("&" if urlsplit(url).query else "?") + query if query else url


def retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _backoff(attempt: int) -> float:
    """1, 2, 4... seconds, with up to a quarter of jitter so that retries of many syncs do not line up."""
    base = float(2**attempt)
    return base + random.uniform(0, base / 4)  # jitter, not secrecy


def _dropped(error: BaseException) -> bool:
    """Errors worth trying again: a dropped or refused connection, a timeout; not a name that does not exist,
    nor a certificate that does not match."""
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, socket.gaierror | ssl.SSLError | ssl.CertificateError):
        return False
    return isinstance(reason, ConnectionError | TimeoutError | http.client.HTTPException | OSError)


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers.items() if headers is not None else [])}


def _read_all(response: Any, limits: Limits, deadline: float) -> bytes:
    """The whole body within the size cap and the deadline."""
    length = response.headers.get("Content-Length", "") if response.headers is not None else ""
    if length.isdigit() and int(length) > limits.max_bytes:
        raise FetchFailed.of(_too_big_answer(int(length), limits))
    reader = getattr(response, "read1", response.read)
    parts, size = [], 0
    while chunk := _read_before(response, reader, deadline, limits):
        size += len(chunk)
        if size > limits.max_bytes:
            raise FetchFailed.of(_too_big_answer(size, limits))
        parts.append(chunk)
    return b"".join(parts)


def _too_big_answer(size: int, limits: Limits) -> Said:
    return (N_("the answer is larger than %(most)s (%(size)s or more) and was refused"),
            {"most": _bytes(limits.max_bytes), "size": _bytes(size)})  # fmt: skip


def _checked(response: Response) -> Response:
    """The response if its status is a success; otherwise the error a person can act on."""
    if response.status < 300:
        return response
    host = urlsplit(response.url).hostname or response.url
    said = response.body[:300].decode("utf-8", "replace").strip()
    detail = f" ({said})" if said else ""
    if response.status in (401, 403):
        raise AuthFailed(
            N_(
                "%(host)s refused the credentials (HTTP %(code)s)%(detail)s: check them, or enter new "
                "ones (an expired token or a revoked application password is the usual cause)"
            ),
            response.status,
            host=host,
            code=response.status,
            detail=detail,
        )
    problem = fill(*_http_problem(response.status, http.client.responses.get(response.status, ""), Limits()))
    raise HttpStatus(problem.replace("feed", "resource") + detail, response.status)
