"""`pilote source ...` and `pilote sync`: the feeds Pilote fetches itself, and every source's state."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import schedule, sync, workspaces
from pilote.accounts import audit
from pilote.cli import platforms as platform_commands
from pilote.cli.common import print_json, settings, store
from pilote.cli.enriching import analyse_now
from pilote.errors import NotFound
from pilote.models import Source, Workspace
from pilote.progress import bar
from pilote.sources import http
from pilote.terminal import err, out, safe
from pilote.views import sources as views

source_app = typer.Typer(no_args_is_help=True, help="Sources: add a feed or a platform, list, pause, resume, delete.")
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@source_app.command("add-feed")
def add_feed(
    url: Annotated[str, typer.Argument(help="The feed's address (http or https).", show_default=False)],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add an RSS or Atom feed: `pilote sync` fetches it now, `pilote serve` keeps it up to date."""
    with store() as engine, Session(engine) as session, session.begin():
        source = sync.add_feed(session, workspace, url)
        space = session.get_one(Workspace, source.workspace_id)
        found = {"id": source.id, "workspace": space.slug, "name": source.name, "url": source.url}
    if as_json:
        print_json(found)
        return
    out.print(safe(f"Feed {found['url']} added to {found['workspace']!r} as source {found['id']}."))
    out.print(f"Fetch it now with `pilote sync --source {found['id']}`; `pilote serve` syncs it on schedule.")


@source_app.command("list")
def list_sources(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """List a workspace's sources: kind, status, messages, address and last sync or import."""
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        rows = [_row(row) for row in views.sources(session, space.id)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("No source yet: `pilote source add-feed URL`, `pilote source add PLATFORM`, or `pilote import FILE`.")
        return
    table = Table("id", "name", "kind", "status", "messages", "last run")
    for row in rows:
        table.add_row(str(row["id"]), safe(row["name"]), row["kind"], row["status"], f"{row['messages']:,}",
                      safe(row["summary"]))  # fmt: skip
    out.print(table)


def _row(row: views.SourceRow) -> dict[str, Any]:
    state = row.sync
    return {
        "id": row.id, "name": row.name, "kind": "feed" if state and row.kind == "rss" else row.kind,
        "channel": row.channel, "url": row.url, "status": row.status, "messages": row.messages,
        "summary": row.summary, "last_run_at": row.last_run_at.isoformat() if row.last_run_at else None,
        "sync": None if state is None else {
            "checked_at": state.checked_at, "outcome": state.outcome, "error": state.error,
            "new": state.new, "updated": state.updated, "unchanged": state.unchanged,
        },
    }  # fmt: skip


@source_app.command("pause")
def pause(source_id: Annotated[int, typer.Argument(help="Source id (`pilote source list`).")]) -> None:
    """Stop syncing a source on schedule until it is resumed."""
    _set_status(source_id, "paused")


@source_app.command("resume")
def resume(source_id: Annotated[int, typer.Argument(help="Source id (`pilote source list`).")]) -> None:
    """Sync a paused source on schedule again."""
    _set_status(source_id, "active")


def _set_status(source_id: int, status: str) -> None:
    with store() as engine, Session(engine) as session, session.begin():
        source = session.get(Source, source_id)
        if source is None:
            raise NotFound(f"no source {source_id}: `pilote source list` shows them")
        row = views.set_status(session, source.workspace_id, source_id, status)
    out.print(safe(f"Source {source_id} ({row.name}) is {status}."))


def sync_command(
    workspace: WorkspaceOpt = None,
    source: Annotated[int | None, typer.Option("--source", help="Only this source (even if paused).")] = None,
    timeout: Annotated[float, typer.Option(min=1, max=300, help="Seconds a fetch may take.")] = 30.0,
    as_json: JsonOpt = False,
) -> None:
    """Fetch feeds and platforms now (every active one, or --source ID), import and analyse what is new; exit 1
    if one fails."""
    with store() as engine:
        ids = _chosen(engine, workspace, source)
        with Session(engine) as session, session.begin():  # the audit log: who asked for these syncs
            for source_id in ids:
                sync.note_requested(session, session.get_one(Source, source_id), by=audit.CLI)
        with bar(err) as progress:
            task = progress.add_task("syncing", total=len(ids))

            def report(what: str, done: sync.SyncReport | None) -> None:
                progress.update(task, description=f"syncing {what}", advance=0 if done is None else 1)

            config = settings()
            limits = http.Limits.of(config, timeout=timeout)
            reports = schedule.sync_all(engine, config, ids, limits=limits, progress=report,
                                        analyse=partial(analyse_now, engine))  # fmt: skip
    failed = [r for r in reports if r.status == "failed"]
    if as_json:
        print_json({"syncs": [r.as_json() for r in reports], "failed": len(failed)})
    elif reports:
        out.print(_table(reports))
    else:
        out.print(
            "Nothing to sync: add a feed with `pilote source add-feed URL`, or a platform with "
            "`pilote source add PLATFORM`."
        )
    for r in failed:
        where = f"{r.kind} {r.url} (source {r.source_id})" if r.url else f"source {r.source_id}"
        read = r.new + r.updated + r.unchanged
        kept = (
            f"the {read:,} messages read before it are kept"
            if read and r.kind != "feed"
            else "nothing from this sync was written"
        )
        err.print("[red]error:[/red]", safe(f"{where}: {r.error} — {kept}."))
    if failed:
        raise typer.Exit(1)


def _chosen(engine: Any, workspace: str | None, source: int | None) -> list[int]:
    """The sources to sync: the one named, or the active fetched sources of a workspace (of all, without
    --workspace)."""
    with Session(engine) as session:
        space = workspaces.get(session, slug=workspace) if workspace else None
        fetched = schedule.fetched(session, space.id if space else None)
        if source is not None:
            if source not in {f.id for f in fetched}:
                raise NotFound(f"no feed or platform source {source} here: `pilote source list` shows the sources")
            return [source]
        return [f.id for f in fetched if f.status == "active"]


def _table(reports: list[sync.SyncReport]) -> Table:
    table = Table(title="Sync summary", title_justify="left")
    table.add_column("source", overflow="fold")
    for name in ("status", "new", "updated", "unchanged", "seconds"):
        table.add_column(name, justify="left" if name == "status" else "right", no_wrap=True)
    for r in reports:
        table.add_row(safe(f"{r.source_id} {r.source}".strip()), r.status, f"{r.new:,}", f"{r.updated:,}",
                      f"{r.unchanged:,}", f"{r.seconds:.1f}")  # fmt: skip
    return table


source_app.command("add")(platform_commands.add)
source_app.command("credentials")(platform_commands.credentials)
source_app.command("platforms")(platform_commands.list_platforms)
