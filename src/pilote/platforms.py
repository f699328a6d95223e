"""Platforms Pilote reads through their APIs: add a connector source, sync it page by page, act through it.

A connector source is a `source` whose kind names a connector (`sources.CONNECTORS`): its `settings` hold
what the user chose (JSON), its `credentials` the secrets, encrypted (`vault`), its `cursor` where the next
sync starts, its `state` the last sync's outcome. A sync asks the connector for pages until one says there is
no more; each page goes through the intake, and the page's cursor is saved in the transaction of its last
batch, so a crash mid-sync resumes from the last page written, and fetching a page again writes no
duplicate (items are upserted by external id). What a page says of the source's own account's audience
(followers...) is kept in that transaction too (`audience`). A failure (credentials refused, rate limit, the platform
down, a malformed answer) is recorded on the source in plain words; what earlier pages wrote stays.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import asdict
from datetime import timedelta
from typing import Any, NoReturn

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.orm import Session

from pilote import audience, intake, sources, vault, workspaces
from pilote.accounts import audit
from pilote.config import Settings
from pilote.errors import Invalid, NotFound, PiloteError
from pilote.ingest import Target
from pilote.leases import DatabaseLeases, Leases
from pilote.models import Message, Source, Workspace, json_object, utcnow
from pilote.sources.base import Account, Action, Connector, Done, Page
from pilote.sources.http import HttpClient, RateLimited
from pilote.sync import SyncError, SyncReport, SyncState, alone
from pilote.texts import N_

UNEXPECTED = N_("unexpected error in Pilote (%(error)s)")
MAX_PAGES = 100_000  # a connector that never says "no more" must not hold the sync for ever


def is_platform(source: Source) -> bool:
    """Whether Pilote reads this source through a platform's API."""
    return source.kind in sources.CONNECTORS and source.state is not None


def add(
    session: Session, settings: Settings, *, workspace: str | None, kind: str, values: Mapping[str, str],
    by: audit.Actor = audit.CLI,
) -> Source:  # fmt: skip
    """A new connector source (in the caller's transaction); its secrets are stored encrypted (the audit log
    names them, never their values)."""
    connector = sources.get_connector(kind)
    chosen, secrets = split(connector, values)
    space = workspaces.resolve(session, slug=workspace, create_default=True)
    info = connector.describe(Account(chosen, secrets))
    found = session.scalar(
        select(Source).where(Source.workspace_id == space.id, Source.kind == info.kind, Source.key == info.key)
    )
    if found is not None and found.state is not None:
        raise Invalid(
            N_("%(name)s is already a source of %(slug)r (source %(id)s): `pilote sync --source %(id)s` syncs it, "
               "`pilote source credentials %(id)s` changes its secrets"),
            web=N_("%(name)s is already a source of %(slug)r (source %(id)s): Sync now on its row syncs it, and "
                   "Enter new credentials there changes its secrets"),
            name=info.name, slug=space.slug, id=found.id,
        )  # fmt: skip
    source = found or Source(workspace_id=space.id, kind=info.kind, key=info.key, name=info.name,
                             channel=info.channel, url=info.url)  # fmt: skip
    source.settings = json.dumps(chosen, sort_keys=True)
    source.credentials = vault.seal(settings, secrets)
    source.state = json.dumps(asdict(SyncState()), sort_keys=True)
    session.add(source)
    session.flush()
    after = {"kind": source.kind, "key": source.key, "settings": chosen, "secrets": sorted(secrets)}  # names only
    audit.record(session, actor=by, action="source added", target=f"source {source.id}", workspace_id=space.id,
                 after=after)  # fmt: skip
    return source


def split(connector: Connector, values: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The values as settings and secrets, checked against what the connector asks."""
    known = {setting.name: setting for setting in connector.settings}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise Invalid(N_("%(name)s has no setting %(unknown)s: it takes %(known)s"), name=connector.name,
                      unknown=", ".join(unknown), known=", ".join(known))  # fmt: skip
    missing = [s.name for s in connector.settings if s.required and not (values.get(s.name) or "").strip()]
    if missing:
        raise Invalid(N_("%(name)s needs %(missing)s"), name=connector.name, missing=", ".join(missing))
    chosen = {k: v.strip() for k, v in values.items() if v.strip() and not known[k].secret}
    secrets = {k: v for k, v in values.items() if v.strip() and known[k].secret}  # a password keeps its spaces
    return chosen, secrets


def set_credentials(
    session: Session, settings: Settings, source_id: int, secrets: Mapping[str, str], *, by: audit.Actor = audit.CLI
) -> Source:
    """Replace a connector source's secrets (those not given are kept); the next sync uses them."""
    source = _platform_source(session, source_id)
    connector = sources.get_connector(source.kind)
    names = {s.name for s in connector.settings if s.secret}
    unknown = sorted(set(secrets) - names)
    if unknown:
        raise Invalid(N_("%(name)s has no secret %(unknown)s: its secrets are %(known)s"), name=connector.name,
                      unknown=", ".join(unknown), known=", ".join(names))  # fmt: skip
    try:
        kept = vault.unseal(settings, source.credentials)
    except Invalid:  # the key that sealed them is lost: the new secrets replace them all
        kept = {}
    kept.update({k: v for k, v in secrets.items() if v.strip()})
    source.credentials = vault.seal(settings, kept)
    changed = sorted(k for k, v in secrets.items() if v.strip())  # their names, never their values
    audit.record(session, actor=by, action="source credentials changed", target=f"source {source.id}",
                 workspace_id=source.workspace_id, after={"secrets": changed})  # fmt: skip
    return source


def account(settings: Settings, source: Source) -> Account:
    """What the user entered for this source, its secrets decrypted."""
    chosen = {str(k): str(v) for k, v in json_object(source.settings).items()}
    return Account(chosen, vault.unseal(settings, source.credentials))


def _platform_source(session: Session, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None or not is_platform(source):
        raise NotFound(N_("no platform source %(id)s: `pilote source list` shows the sources"),
                       web=N_("no platform source %(id)s"), id=source_id)  # fmt: skip
    return source


def sync_platform(
    engine: Engine,
    settings: Settings,
    source_id: int,
    *,
    client: HttpClient | None = None,
    analyse: intake.Analyse | None = None,
    leases: Leases | None = None,
) -> SyncReport:
    """Fetch what is new from the platform into the source, page by page; raises SyncError (recorded on the
    source) when the platform or the credentials fail. `analyse` gets the workspace if anything changed."""
    with alone(leases or DatabaseLeases(engine), source_id):  # one lease per source, shared with feeds
        return _sync(engine, settings, source_id, client or HttpClient.of(settings), analyse)


def _sync(
    engine: Engine, settings: Settings, source_id: int, client: HttpClient, analyse: intake.Analyse | None
) -> SyncReport:
    started = time.perf_counter()
    with Session(engine) as session:
        source = _platform_source(session, source_id)
        space = session.get_one(Workspace, source.workspace_id)
        report = SyncReport(source.id, space.slug, source.name, source.url or source.key, kind=source.kind)
        connector = sources.get_connector(source.kind)
        target = Target(workspace_id=space.id, source_id=source.id, channel=source.channel)
        cursor = json_object(source.cursor)
        try:
            who = account(settings, source)
        except PiloteError as error:
            _fail(engine, report, error, started)
    try:
        _pages(engine, settings, connector, client, who, cursor, target, report)
    except Exception as error:  # recorded on the source whatever it is: else it would be due again at once
        problem = error if isinstance(error, PiloteError) else PiloteError(UNEXPECTED, error=repr(error))
        changed = bool(report.new or report.updated)  # the pages written before the failure are analysed too
        intake.finish(engine, workspace_id=target.workspace_id, source_id=source_id, changed=changed,
                      analyse=analyse)  # fmt: skip
        wait = error.retry_after if isinstance(error, RateLimited) else None
        _fail(engine, report, problem, started, wait)
    changed = bool(report.new or report.updated)
    intake.finish(engine, workspace_id=target.workspace_id, source_id=source_id, changed=changed, analyse=analyse)
    _record(engine, report, "imported" if changed or report.unchanged else "not-modified", None)
    report.status = "synced" if changed or report.unchanged else "not-modified"
    report.seconds = time.perf_counter() - started
    return report


def _pages(
    engine: Engine,
    settings: Settings,
    connector: Connector,
    client: HttpClient,
    who: Account,
    cursor: dict[str, Any],
    target: Target,
    report: SyncReport,
) -> None:
    """Page after page until the connector says there is no more; each page's cursor lands with it. A cursor
    seen before in this sync (paging that does not move) stops it as a failure instead of looping. PostgreSQL's
    planner statistics are refreshed after the 1st, 2nd, 4th, 8th… page that brought new messages, as an import
    does after its batches: each page is a stream of its own for the intake, which never reaches a second batch."""
    seen = {json.dumps(cursor, sort_keys=True)}
    growing = 0
    for _ in range(MAX_PAGES):
        page = connector.fetch(client, who, cursor)

        def checkpoint(conn: Connection, _done: intake.Written, last: bool, page: Page = page) -> None:
            if last:
                intake.mark_deleted(conn, target.source_id, page.deleted)
                audience.record(conn, workspace_id=target.workspace_id, source_id=target.source_id, seen=page.audience)
                conn.execute(update(Source).where(Source.id == target.source_id)
                             .values(cursor=json.dumps(page.cursor, sort_keys=True), last_run_at=utcnow()))  # fmt: skip

        done = intake.write(engine, target, page.items, batch_size=settings.batch_size, checkpoint=checkpoint)
        report.new, report.updated = report.new + done.counts.new, report.updated + done.counts.updated
        report.unchanged, report.errors = report.unchanged + done.counts.unchanged, report.errors + done.counts.errors
        if done.counts.new:
            growing += 1
            if growing & (growing - 1) == 0:
                intake.refresh_statistics(engine)
        if not page.more:
            return
        moved = json.dumps(page.cursor, sort_keys=True)
        if moved in seen:
            raise Invalid(N_("%(name)s gave a page cursor it had already given (%(cursor)s): the paging does not "
                             "move, so the sync stopped; the pages before are kept"),
                          name=connector.name, cursor=moved[:120])  # fmt: skip
        seen.add(moved)
        cursor = page.cursor


def _fail(
    engine: Engine, report: SyncReport, error: PiloteError, started: float, wait: float | None = None
) -> NoReturn:
    message = str(error)
    _record(engine, report, "failed", (message, error.record()), wait)
    report.status, report.error, report.seconds = "failed", message, time.perf_counter() - started
    raise SyncError(f"{report.source} (source {report.source_id}): {message}", report) from None


def _record(
    engine: Engine,
    report: SyncReport,
    outcome: str,
    failure: tuple[str, dict[str, Any]] | None,
    wait: float | None = None,
) -> None:
    """The sync's outcome on its source, in plain words (and as a record a page translates); `wait`: seconds the
    platform asked for (Retry-After)."""
    error, problem = failure or (None, None)
    now = utcnow()
    with Session(engine) as session, session.begin():
        source = session.get_one(Source, report.source_id)
        state = SyncState(checked_at=now.isoformat(), outcome=outcome, error=error, problem=problem,
                          new=report.new,
                          updated=report.updated, unchanged=report.unchanged,
                          not_before=(now + timedelta(seconds=wait)).isoformat() if wait else None)  # fmt: skip
        source.state = json.dumps(asdict(state), sort_keys=True)
        source.last_run_at = utcnow()


def act(engine: Engine, settings: Settings, message_id: int, kind: str, *, text: str | None = None,
        client: HttpClient | None = None) -> Done:  # fmt: skip
    """Carry out an action on a message through its platform (reply, approve, hold, spam, trash, hide); a
    reply is written to the store at once."""
    with Session(engine) as session:
        message = session.get(Message, message_id)
        if message is None:
            raise NotFound(N_("no message %(id)s"), id=message_id)
        source = _platform_source(session, message.source_id)
        connector = sources.get_connector(source.kind)
        if kind not in connector.actions:
            allowed = ", ".join(connector.actions) or "none"
            raise Invalid(N_("%(name)s does not allow %(kind)r through its API (it allows: %(allowed)s)"),
                          name=connector.name, kind=kind, allowed=allowed)  # fmt: skip
        if kind == "reply" and not (text or "").strip():
            raise Invalid(N_("a reply needs a text"))
        who = account(settings, source)
        target = Target(workspace_id=source.workspace_id, source_id=source.id, channel=source.channel)
        action = Action(kind, message.external_id, message.raw or "", text)
    done = connector.act(client or HttpClient.of(settings), who, action)
    if done.item is not None:
        intake.write(engine, target, [done.item], batch_size=1)
        intake.finish(engine, workspace_id=target.workspace_id, source_id=target.source_id, changed=False)
    return done


def request_sync(session: Session, workspace_id: int, source_id: int, *, by: audit.Actor = audit.CLI) -> Source:
    """Make a platform source due now: the scheduler of `pilote serve` reads it within seconds, in its own
    thread (a first sync may read a long history: no web request waits for it)."""
    source = _platform_source(session, source_id)
    if source.workspace_id != workspace_id:
        raise NotFound(N_("no platform source %(id)s in this workspace"), id=source_id)
    state = json_object(source.state)
    state["checked_at"] = None
    source.state = json.dumps(state, sort_keys=True)
    audit.record(session, actor=by, action="source sync requested", target=f"source {source.id}",
                 workspace_id=workspace_id)  # fmt: skip
    return source
