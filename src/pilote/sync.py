"""Feeds Pilote fetches itself: an RSS or Atom address, synced on a schedule into one source.

A feed is a source of the `rss` importer (so that what it brings lands where uploads of the same export
would, through `import_file`) whose `url` is the feed's address and whose `state` column holds:
the validators of the last fetch (ETag, Last-Modified, the body's SHA-256) and the last sync's outcome.
A fetch goes to a temporary file first, within a size cap and a deadline; the importer then checks the
whole file before writing anything, so a failed sync leaves nothing half-written. A fetch only connects to
public addresses unless PILOTE_SYNC_PRIVATE_ADDRESSES allows the machine's own network: the address is
checked once resolved, on the very socket that connects (no second lookup that a hostile DNS answer could
change), at every redirect too. docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from pilote import intake, workspaces
from pilote.accounts import audit
from pilote.errors import Invalid, NotFound, PiloteError
from pilote.imports import import_file
from pilote.leases import Busy, DatabaseLeases, Leases, hold
from pilote.models import ImportRun, Source, Workspace, json_object, utcnow
from pilote.sources import http, rss
from pilote.sources.base import ParseOptions
from pilote.sources.http import DEFAULT_LIMITS, Fetched, Limits, fetch_file
from pilote.sources.xmlsafe import iter_elements, read_head
from pilote.texts import N_

MAX_FEED_URL = 500  # the source key holds the address, and keys are at most 500 characters
Progress = Callable[[str, "SyncReport | None"], None]


class SyncError(PiloteError):
    """A sync that failed; it is recorded on its source, and nothing of it was written."""

    http_status = 502

    def __init__(self, message: str, report: SyncReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(slots=True)
class SyncState:
    """What a source Pilote fetches keeps between syncs, in its `state` column (JSON)."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    checked_at: str | None = None  # ISO 8601, UTC: the last sync, whatever its outcome
    outcome: str | None = None  # imported, not-modified or failed
    error: str | None = None
    problem: dict[str, Any] | None = None  # the error's record (`PiloteError.record`): pages say it in their words
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    not_before: str | None = None  # ISO 8601, UTC: the platform asked to wait until then (429 Retry-After)

    @property
    def checked(self) -> datetime | None:
        """When the last sync ran."""
        return datetime.fromisoformat(self.checked_at) if self.checked_at else None

    @property
    def waits_until(self) -> datetime | None:
        """Until when the platform asked Pilote not to come back."""
        return datetime.fromisoformat(self.not_before) if self.not_before else None


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
    kind: str = "feed"  # or the platform's name

    @property
    def not_modified(self) -> bool:
        """Whether the feed had nothing new since the last sync (HTTP 304, or the same bytes)."""
        return self.status == "not-modified"

    def as_json(self) -> dict[str, Any]:
        """The report for `--json`."""
        return {**asdict(self), "not_modified": self.not_modified, "seconds": round(self.seconds, 3)}


def check_url(url: str) -> str:
    """The feed's address, stripped and in ASCII, if Pilote may fetch it (`http.check_url`)."""
    return http.check_url(url, what="feed address", max_length=MAX_FEED_URL)


def feed_state(source: Source) -> SyncState | None:
    """The feed state of a source, or None if Pilote does not fetch it as a feed."""
    if source.kind != rss.name or not source.url or source.state is None:
        return None
    return state_of(source)


def state_of(source: Source) -> SyncState:
    """The last sync's state of a source Pilote fetches (empty for one never synced)."""
    known = SyncState.__dataclass_fields__
    return SyncState(**{key: value for key, value in json_object(source.state).items() if key in known})


def _save_state(source: Source, state: SyncState) -> None:
    source.state = json.dumps(asdict(state), sort_keys=True)


def add_feed(session: Session, workspace: str | None, url: str, *, by: audit.Actor = audit.CLI) -> Source:
    """Add a feed to a workspace (in the caller's transaction); it is fetched by the next sync."""
    url = check_url(url)
    space = workspaces.resolve(session, slug=workspace, create_default=True)
    parts = urlsplit(url)
    key = parts.netloc.lower() + parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")
    found = session.scalar(
        select(Source).where(Source.workspace_id == space.id, Source.kind == rss.name, Source.key == key)
    )
    if found is not None and feed_state(found) is not None:
        raise Invalid(
            N_("%(url)s is already a feed of %(slug)r: `pilote sync --source %(id)s` syncs it"),
            web=N_("%(url)s is already a feed of %(slug)r: Sync now on its row syncs it"),
            url=url,
            slug=space.slug,
            id=found.id,
        )
    source = found or Source(
        workspace_id=space.id, kind=rss.name, key=key, name=key, channel=f"blog:{key.split('/')[0]}"
    )
    source.url = url
    _save_state(source, SyncState())
    session.add(source)
    session.flush()
    audit.record(session, actor=by, action="source added", target=f"source {source.id}", workspace_id=space.id,
                 after={"kind": source.kind, "url": url})  # fmt: skip
    return source


def note_requested(session: Session, source: Source, *, by: audit.Actor) -> None:
    """Record in the audit log that a person asked for a sync of a source now (the sync records its outcome)."""
    audit.record(session, actor=by, action="source sync requested", target=f"source {source.id}",
                 workspace_id=source.workspace_id)  # fmt: skip


@contextmanager
def alone(leases: Leases, source_id: int) -> Iterator[None]:
    """Hold the source's lease for one sync, whichever process or host runs it; a second sync of it meanwhile
    is refused in plain words."""
    try:
        with hold(leases, f"sync:{source_id}"):
            yield
    except Busy:
        raise Busy(f"source {source_id} is being synced already: wait for that sync to finish") from None


def sync_source(
    engine: Engine,
    source_id: int,
    *,
    limits: Limits = DEFAULT_LIMITS,
    analyse: intake.Analyse | None = None,
    leases: Leases | None = None,
) -> SyncReport:
    """Fetch a feed and import what is new into its source through the intake (`analyse` gets the workspace
    when something changed); raises SyncError, recorded on the source, when it fails. The source's lease is
    held in `leases` (default: the store's)."""
    with alone(leases or DatabaseLeases(engine), source_id):
        return _sync(engine, source_id, limits, analyse)


def _sync(engine: Engine, source_id: int, limits: Limits, analyse: intake.Analyse | None) -> SyncReport:
    started = time.perf_counter()
    with Session(engine) as session:
        source = session.get(Source, source_id)
        state = feed_state(source) if source is not None else None
        if source is None or state is None:
            raise NotFound(N_("no feed source %(id)s: `pilote source list` shows them"),
                           web=N_("no feed source %(id)s"), id=source_id)  # fmt: skip
        space = session.get_one(Workspace, source.workspace_id)
        report = SyncReport(source.id, space.slug, source.name, source.url or "")
    folder = Path(tempfile.mkdtemp(prefix="pilote-feed-"))
    try:
        fetched = fetch(report.url, folder / "feed.xml", state, limits)
        title: str | None = None
        changed = False
        if fetched.path is None or fetched.sha256 == state.sha256:
            report.status = "not-modified"
        else:
            entries, title = _entries(fetched, report.url)
            if entries:
                changed = _import(engine, fetched.path, report)
    except PiloteError as error:
        message = str(error).replace(str(folder / "feed.xml"), report.url)
        _record_failure(engine, report, state, (message, named(error, folder / "feed.xml", report.url)),
                        folder / "feed.xml")  # fmt: skip
        report.status, report.error, report.seconds = "failed", message, time.perf_counter() - started
        raise SyncError(f"feed {report.url} (source {source_id}): {message}", report) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _record_success(engine, report, fetched, title)
    if changed and analyse is not None:  # after the sync is recorded: what it wrote stays, whatever the analysis does
        with Session(engine) as session:
            space = workspaces.get(session, slug=report.workspace)
        analyse(space.id)
    report.seconds = time.perf_counter() - started
    return report


def _entries(fetched: Fetched, url: str) -> tuple[bool, str | None]:
    """Refuse what is not a feed; whether it has entries (without, a sync with nothing new) and its title."""
    assert fetched.path is not None
    if not rss.sniff(read_head(fetched.path), fetched.path):
        what = fetched.content_type.split(";")[0].strip() or "something"
        raise Invalid(
            N_("the address returned %(what)s, not an RSS or Atom feed: give the feed's own address "
               "(often ending in /feed, /rss or /atom.xml)"),
            what=what,
        )  # fmt: skip
    if next(iter_elements(fetched.path, rss.ENTRY_TAGS), None) is None:
        return False, None
    name = rss.describe(fetched.path, ParseOptions(source_key=url)).name  # the key when the feed has no title
    return True, name if name != url else None


def _import(engine: Engine, path: Path, report: SyncReport) -> bool:
    """Import the feed into its source; whether it changed anything."""
    options = ParseOptions(source_key=_key(engine, report.source_id))
    done = import_file(engine, path, workspace=report.workspace, format=rss.name, options=options)
    report.run_id = done.run_id
    counts = done.counts
    report.new, report.updated, report.unchanged, report.errors = (counts.new, counts.updated, counts.unchanged,
                                                                   counts.errors)  # fmt: skip
    return bool(counts.new or counts.updated)


def _key(engine: Engine, source_id: int) -> str:
    with Session(engine) as session:
        return session.get_one(Source, source_id).key


def _record_success(engine: Engine, report: SyncReport, fetched: Fetched, title: str | None) -> None:
    """Keep the validators and the outcome; name the source after its feed on first sight."""
    with Session(engine) as session, session.begin():
        source = session.get_one(Source, report.source_id)
        state = feed_state(source) or SyncState()
        if fetched.path is not None:
            state.etag, state.last_modified, state.sha256 = fetched.etag, fetched.last_modified, fetched.sha256
        state.checked_at, state.error, state.problem = utcnow().isoformat(), None, None
        state.outcome = "not-modified" if report.not_modified else "imported"
        state.new, state.updated, state.unchanged = report.new, report.updated, report.unchanged
        if report.run_id is not None:
            session.execute(update(ImportRun).where(ImportRun.id == report.run_id).values(path=report.url))
            if source.name == source.key and title:  # still the name add_feed gave it
                source.name = title
        source.last_run_at = utcnow()
        _save_state(source, state)
        report.source = source.name


def named(error: PiloteError, tmp: Path, url: str) -> dict[str, Any]:
    """An error's record naming the feed's address instead of the temporary file it was fetched into."""
    record = error.record()
    if record.get("path") == str(tmp):
        record["path"] = url
    record["params"] = {k: v.replace(str(tmp), url) if isinstance(v, str) else v for k, v in record["params"].items()}
    return record


def _record_failure(
    engine: Engine, report: SyncReport, state: SyncState, failure: tuple[str, dict[str, Any]], tmp: Path
) -> None:
    """The failure as the source's last run, in plain words (and as a record a page translates); the previous
    failure is reused, not piled up."""
    message, problem = failure
    with Session(engine) as session, session.begin():
        source = session.get_one(Source, report.source_id)
        state = feed_state(source) or state
        state.checked_at, state.outcome, state.error = utcnow().isoformat(), "failed", message
        state.problem = problem
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


def fetch(url: str, path: Path, state: SyncState, limits: Limits = DEFAULT_LIMITS) -> Fetched:
    """GET the feed into `path`, conditionally on the last fetch's validators; `path` None means 304."""
    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1",
    }
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return fetch_file(url, path, headers, limits)
