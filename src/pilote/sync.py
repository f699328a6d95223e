"""Feeds Pilote fetches itself: an RSS or Atom address, synced on a schedule into one source.

A feed is a source of the `rss` importer (so that what it brings lands where uploads of the same export
would, through `import_file`) whose `url` is the feed's address and whose `settings` hold a `feed` object:
the validators of the last fetch (ETag, Last-Modified, the body's SHA-256) and the last sync's outcome.
A fetch goes to a temporary file first, within a size cap and a deadline; the importer then checks the
whole file before writing anything, so a failed sync leaves nothing half-written. A fetch only connects to
public addresses unless PILOTE_SYNC_PRIVATE_ADDRESSES allows the machine's own network: the address is
checked once resolved, on the very socket that connects (no second lookup that a hostile DNS answer could
change), at every redirect too. docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import json
import shutil
import socket
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from pilote import __version__, enrich, workspaces
from pilote.config import Settings
from pilote.enrich.pipeline import run as enrich_run
from pilote.errors import Invalid, NotFound, PiloteError
from pilote.imports import import_file
from pilote.models import ImportRun, Source, Workspace, utcnow
from pilote.sources import rss
from pilote.sources.base import ParseOptions
from pilote.sources.xmlsafe import iter_elements, read_head

USER_AGENT = f"Pilote/{__version__} (feed sync; self-hosted community cockpit)"
MAX_URL = 500  # the source key holds the address, and keys are at most 500 characters
CHUNK = 1 << 16
Progress = Callable[[str, "SyncReport | None"], None]


class SyncError(PiloteError):
    """A sync that failed; it is recorded on its source, and nothing of it was written."""

    http_status = 502

    def __init__(self, message: str, report: SyncReport) -> None:
        super().__init__(message)
        self.report = report


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


@dataclass(slots=True)
class FeedState:
    """What a feed source keeps between syncs, in its `settings` (JSON) under "feed"."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    checked_at: str | None = None  # ISO 8601, UTC: the last sync, whatever its outcome
    outcome: str | None = None  # imported, not-modified or failed
    error: str | None = None
    new: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def checked(self) -> datetime | None:
        """When the last sync ran."""
        return datetime.fromisoformat(self.checked_at) if self.checked_at else None


@dataclass(slots=True)
class SyncReport:
    """What one sync of one feed did."""

    source_id: int
    workspace: str
    source: str
    url: str
    status: str = "synced"  # synced, not-modified or failed
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0
    run_id: int | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def not_modified(self) -> bool:
        """Whether the feed had nothing new since the last sync (HTTP 304, or the same bytes)."""
        return self.status == "not-modified"

    def as_json(self) -> dict[str, Any]:
        """The report for `--json`."""
        return {**asdict(self), "not_modified": self.not_modified, "seconds": round(self.seconds, 3)}


@dataclass(slots=True)
class _Fetched:
    path: Path | None  # None: not modified (304)
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""
    sha256: str = ""
    title: str | None = None  # the feed's own name, read once it is known to be a feed


def check_url(url: str) -> str:
    """The address, stripped, if Pilote may fetch it: http or https, a host, no credentials; a host or path
    written with accents is turned into its ASCII form (IDNA, percent-encoding), as a browser does."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise Invalid(f"feed address {url[:80]!r}: not a valid address; copy it again from the browser") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise Invalid(f"feed address {url!r}: give a full http:// or https:// address, e.g. https://example.org/feed")
    if parts.username is not None or parts.password is not None:
        raise Invalid(f"feed address {host}: remove the user name and password from the address")
    if len(url) > MAX_URL or any(c.isspace() or ord(c) < 32 for c in url):
        raise Invalid(f"feed address {url[:80]!r}: at most {MAX_URL} characters, without spaces")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise Invalid(f"feed address {url[:80]!r}: {host!r} is not a valid host name") from None
    if url.isascii():
        return url
    netloc = ascii_host + (f":{port}" if port is not None else "")
    safe = "/:@!$&'()*+,;=%~-._"
    path, query = quote(parts.path, safe=safe), quote(parts.query, safe=safe + "?")
    return urlunsplit((parts.scheme, netloc, path, query, quote(parts.fragment, safe=safe)))


def feed_state(source: Source) -> FeedState | None:
    """The feed state of a source, or None if Pilote does not fetch it."""
    try:
        settings = json.loads(source.settings or "{}")
    except ValueError:
        return None
    found = settings.get("feed") if isinstance(settings, dict) else None
    if source.kind != rss.name or not source.url or not isinstance(found, dict):
        return None
    known = FeedState.__dataclass_fields__
    return FeedState(**{key: value for key, value in found.items() if key in known})


def _save_state(source: Source, state: FeedState) -> None:
    try:
        settings = json.loads(source.settings or "{}")
    except ValueError:
        settings = {}
    settings = settings if isinstance(settings, dict) else {}
    settings["feed"] = asdict(state)
    source.settings = json.dumps(settings, sort_keys=True)


def add_feed(session: Session, workspace: str | None, url: str) -> Source:
    """Add a feed to a workspace (in the caller's transaction); it is fetched by the next sync."""
    url = check_url(url)
    space = workspaces.resolve(session, slug=workspace, create_default=True)
    parts = urlsplit(url)
    key = parts.netloc.lower() + parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")
    found = session.scalar(
        select(Source).where(Source.workspace_id == space.id, Source.kind == rss.name, Source.key == key)
    )
    if found is not None and feed_state(found) is not None:
        raise Invalid(f"{url} is already a feed of {space.slug!r}: `pilote sync --source {found.id}` syncs it")
    source = found or Source(
        workspace_id=space.id, kind=rss.name, key=key, name=key, channel=f"blog:{key.split('/')[0]}"
    )
    source.url = url
    _save_state(source, FeedState())
    session.add(source)
    session.flush()
    return source


def feeds(session: Session, workspace_id: int | None = None) -> list[Source]:
    """The feed sources (of one workspace, or all), by id."""
    query = select(Source).where(Source.kind == rss.name, Source.url.is_not(None)).order_by(Source.id)
    if workspace_id is not None:
        query = query.where(Source.workspace_id == workspace_id)
    return [source for source in session.scalars(query) if feed_state(source) is not None]


def due(session: Session, settings: Settings, now: datetime | None = None) -> list[int]:
    """Active feeds whose last sync is older than PILOTE_SYNC_INTERVAL (or that never synced)."""
    before = (now or utcnow()) - timedelta(seconds=settings.sync_interval)
    found = []
    for source in feeds(session):
        checked = feed_state(source).checked  # type: ignore[union-attr]  # feeds() keeps feeds only
        if source.status == "active" and (checked is None or checked <= before):
            found.append(source.id)
    return found


def sync_due(engine: Engine, settings: Settings, *, now: datetime | None = None) -> list[SyncReport]:
    """Sync every feed that is due; a failing feed is recorded and the others still sync."""
    with Session(engine) as session:
        ids = due(session, settings, now)
    return sync_all(engine, ids, limits=Limits.of(settings))


def sync_all(
    engine: Engine, source_ids: list[int], *, limits: Limits = Limits(), progress: Progress | None = None
) -> list[SyncReport]:
    """Sync each feed on its own: a failure becomes a failed report (already recorded on its source)."""
    reports = []
    for source_id in source_ids:
        if progress is not None:
            progress(f"source {source_id}", None)
        try:
            report = sync_source(engine, source_id, limits=limits)
        except SyncError as error:
            report = error.report
        except PiloteError as error:  # not a feed, or being synced by someone else: nothing recorded
            report = SyncReport(source_id, "", "", "", status="failed", error=str(error))
        except Exception as error:  # a defect of ours must not stop the feeds after this one
            report = SyncReport(source_id, "", "", "", status="failed", error=f"unexpected error: {error!r}")
        reports.append(report)
        if progress is not None:
            progress(f"source {source_id}", report)
    return reports


_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _lock(source_id: int) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(source_id, threading.Lock())


def sync_source(engine: Engine, source_id: int, *, limits: Limits = Limits(), analyse: bool = True) -> SyncReport:
    """Fetch a feed and import what is new into its source (then analyse it, as an upload is); raises
    SyncError, recorded on the source, when it fails."""
    lock = _lock(source_id)
    if not lock.acquire(blocking=False):
        raise Invalid(f"source {source_id} is being synced already: wait for that sync to finish")
    try:
        return _sync(engine, source_id, limits, analyse)
    finally:
        lock.release()


def _sync(engine: Engine, source_id: int, limits: Limits, analyse: bool) -> SyncReport:
    started = time.perf_counter()
    with Session(engine) as session:
        source = session.get(Source, source_id)
        state = feed_state(source) if source is not None else None
        if source is None or state is None:
            raise NotFound(f"no feed source {source_id}: `pilote source list` shows them")
        space = session.get_one(Workspace, source.workspace_id)
        report = SyncReport(source.id, space.slug, source.name, source.url or "")
    folder = Path(tempfile.mkdtemp(prefix="pilote-feed-"))
    try:
        fetched = fetch(report.url, folder / "feed.xml", state, limits)
        if fetched.path is None or fetched.sha256 == state.sha256:
            report.status, analyse = "not-modified", False
        elif _has_entries(fetched, report.url):
            analyse = _import(engine, fetched.path, report, analyse)
    except PiloteError as error:
        message = str(error).replace(str(folder / "feed.xml"), report.url)
        _record_failure(engine, report, state, message, folder / "feed.xml")
        report.status, report.error, report.seconds = "failed", message, time.perf_counter() - started
        raise SyncError(f"feed {report.url} (source {source_id}): {message}", report) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _record_success(engine, report, fetched)
    if (
        analyse and report.new + report.updated
    ):  # after the sync is recorded: what it wrote stays written whatever the analysis does
        with Session(engine) as session:
            space = workspaces.get(session, slug=report.workspace)
        enrich_run(engine, enrich.get(None), workspace_id=space.id, workers=1)  # small feeds; serve: a thread
    report.seconds = time.perf_counter() - started
    return report


def _has_entries(fetched: _Fetched, url: str) -> bool:
    """Refuse what is not a feed; a feed without entries is a sync with nothing new."""
    assert fetched.path is not None
    if not rss.sniff(read_head(fetched.path), fetched.path):
        what = fetched.content_type.split(";")[0].strip() or "something"
        raise Invalid(
            f"the address returned {what}, not an RSS or Atom feed: give the feed's own address "
            "(often ending in /feed, /rss or /atom.xml)"
        )
    if next(iter_elements(fetched.path, rss.ENTRY_TAGS), None) is None:
        return False
    name = rss.describe(fetched.path, ParseOptions(source_key=url)).name  # the key when the feed has no title
    fetched.title = name if name != url else None
    return True


def _import(engine: Engine, path: Path, report: SyncReport, analyse: bool) -> bool:
    """Import the feed into its source; whether its new messages should be analysed."""
    options = ParseOptions(source_key=_key(engine, report.source_id))
    done = import_file(engine, path, workspace=report.workspace, format=rss.name, options=options)
    report.run_id = done.run_id
    counts = done.counts
    report.new, report.updated, report.unchanged, report.errors = (counts.new, counts.updated, counts.unchanged,
                                                                   counts.errors)  # fmt: skip
    return analyse and bool(counts.new or counts.updated)


def _key(engine: Engine, source_id: int) -> str:
    with Session(engine) as session:
        return session.get_one(Source, source_id).key


def _record_success(engine: Engine, report: SyncReport, fetched: _Fetched) -> None:
    """Keep the validators and the outcome; name the source after its feed on first sight."""
    with Session(engine) as session, session.begin():
        source = session.get_one(Source, report.source_id)
        state = feed_state(source) or FeedState()
        if fetched.path is not None:
            state.etag, state.last_modified, state.sha256 = fetched.etag, fetched.last_modified, fetched.sha256
        state.checked_at, state.error = utcnow().isoformat(), None
        state.outcome = "not-modified" if report.not_modified else "imported"
        state.new, state.updated, state.unchanged = report.new, report.updated, report.unchanged
        if report.run_id is not None:
            session.execute(update(ImportRun).where(ImportRun.id == report.run_id).values(path=report.url))
            if source.name == source.key and fetched.title:  # still the name add_feed gave it
                source.name = fetched.title
        source.last_run_at = utcnow()
        _save_state(source, state)
        report.source = source.name


def _record_failure(engine: Engine, report: SyncReport, state: FeedState, message: str, tmp: Path) -> None:
    """The failure as the source's last run, in plain words; the previous failure is reused, not piled up."""
    with Session(engine) as session, session.begin():
        source = session.get_one(Source, report.source_id)
        state = feed_state(source) or state
        state.checked_at, state.outcome, state.error = utcnow().isoformat(), "failed", message
        state.new = state.updated = state.unchanged = 0
        _save_state(source, state)
        session.execute(  # an import that failed part-way names the temporary file: name the feed instead
            update(ImportRun)
            .where(ImportRun.path == str(tmp))
            .values(path=report.url, message=func.replace(ImportRun.message, str(tmp), report.url))
        )
        fingerprint = hashlib.sha256(f"feed|{source.id}".encode()).hexdigest()
        newest = session.scalar(
            select(ImportRun).where(ImportRun.source_id == source.id).order_by(ImportRun.id.desc()).limit(1)
        )
        if newest is None or newest.fingerprint != fingerprint:
            newest = ImportRun(workspace_id=source.workspace_id, source_id=source.id, path=report.url,
                               format=rss.name, fingerprint=fingerprint, total=0)  # fmt: skip
            session.add(newest)
        newest.status, newest.message, newest.started_at = "failed", message, utcnow()
        newest.finished_at = newest.started_at


class FetchFailed(PiloteError):
    """The feed could not be fetched: the message says why in plain words, and what to do."""


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
                f"it redirects to {newurl[:200]!r}, which Pilote does not follow (http and https only, no credentials)"
            ) from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


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
        f"{host} is at {address}, a private or local address: Pilote only fetches feeds from public addresses. "
        "For a feed on your own network, set PILOTE_SYNC_PRIVATE_ADDRESSES=true"
    )


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
    administrator's and may be anywhere; the feed's host is checked here instead, by its addresses (the proxy
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


def fetch(url: str, path: Path, state: FeedState, limits: Limits = Limits()) -> _Fetched:
    """GET the feed into `path`, conditionally on the last fetch's validators; `path` None means 304."""
    headers = {
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",  # the parser reads the bytes as they come: no compressed body
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
    }
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    opener = urllib.request.build_opener(
        _Redirects(limits.max_redirects), _GuardedHTTP(limits.private), _GuardedHTTPS(limits.private)
    )
    deadline = time.monotonic() + limits.timeout
    try:
        request = urllib.request.Request(url, headers=headers)  # noqa: S310  # check_url allowed http(s) only
        with opener.open(request, timeout=limits.timeout) as response:
            return _save(response, path, limits, deadline)
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == 304:
            return _Fetched(None)
        raise FetchFailed(_http_problem(error.code, error.reason, limits)) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        raise FetchFailed(_network_problem(url, error, limits)) from None
    except ValueError as error:  # an address urllib cannot send (UnicodeError is one)
        raise FetchFailed(f"the address cannot be fetched ({error}); check it and add the feed again") from None


def _save(response: IO[bytes], path: Path, limits: Limits, deadline: float) -> _Fetched:
    """Stream the body to `path` within the size cap and the deadline, hashing it on the way."""
    headers = response.headers  # type: ignore[attr-defined]
    length = headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limits.max_bytes:
        raise FetchFailed(_too_big(int(length), limits))
    digest, size = hashlib.sha256(), 0
    reader = getattr(response, "read1", response.read)  # whatever has arrived, not a full chunk: the deadline holds
    with path.open("wb") as out:
        while chunk := _read_before(response, reader, deadline, limits):
            size += len(chunk)
            if size > limits.max_bytes:
                raise FetchFailed(_too_big(size, limits))
            if time.monotonic() > deadline:
                raise FetchFailed(_slow(limits))
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise FetchFailed("the server sent an empty answer instead of a feed; Pilote tries again at the next sync")
    return _Fetched(path, etag=headers.get("ETag"), last_modified=headers.get("Last-Modified"),
                    content_type=headers.get("Content-Type", ""), sha256=digest.hexdigest())  # fmt: skip


def _read_before(response: Any, reader: Any, deadline: float, limits: Limits) -> bytes:
    """The next bytes of the body, waiting at most until the deadline (a server sending a byte now and then
    must not hold the sync, and the feeds after it, for ever)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchFailed(_slow(limits))
    sock = getattr(getattr(getattr(response, "fp", None), "raw", None), "_sock", None)
    if sock is not None:
        sock.settimeout(max(left, 0.05))
    try:
        chunk: bytes = reader(CHUNK)
    except TimeoutError:
        raise FetchFailed(_slow(limits)) from None
    return chunk


def _too_big(size: int, limits: Limits) -> str:
    return (f"the feed is larger than {_bytes(limits.max_bytes)} ({_bytes(size)} or more) and was refused: "
            "give a smaller feed (most sites can limit how many items theirs lists)")  # fmt: skip


def _bytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB" if size >= 1e6 else f"{size / 1e3:,.0f} kB"


def _slow(limits: Limits) -> str:
    return f"no complete answer within {limits.timeout:g} s: the site is slow or down; Pilote tries again later"


def _http_problem(code: int, reason: str, limits: Limits) -> str:
    answered = f"the server answered {code} {reason}".rstrip()
    if 300 <= code < 400:
        return f"more than {limits.max_redirects} redirects ({answered}): check the address in a browser"
    if code in (404, 410):
        return f"{answered}: there is no feed at this address; check it on the site (the feed may have moved)"
    if code in (401, 403):
        return f"{answered}: the feed is private or refuses Pilote; check it in a browser"
    if code == 429:
        return f"{answered}: the site limits how often it may be read; Pilote tries again at the next sync"
    if code >= 500:
        return f"{answered}: the site has a problem of its own; Pilote tries again at the next sync"
    return f"{answered}: check the address in a browser"


def _network_problem(url: str, error: BaseException, limits: Limits) -> str:
    host = urlsplit(url).hostname or url
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, socket.gaierror):
        return f"the name {host} could not be found (DNS): check the address, and this machine's network"
    if isinstance(reason, ConnectionRefusedError):
        return f"{host} refused the connection: check the address and its port, or whether the site is up"
    if isinstance(reason, TimeoutError):
        return _slow(limits)
    if isinstance(reason, ssl.SSLError | ssl.CertificateError):
        return f"the secure connection to {host} failed ({reason}): check the address, or the site's certificate"
    if isinstance(reason, ConnectionError | http.client.HTTPException):
        return "the connection was cut before the feed was complete; Pilote tries again at the next sync"
    return f"{host} could not be reached ({reason}); Pilote tries again at the next sync"
