"""The `pilote` command: thin adapters that parse, call a service, and render (tables or --json)."""

from __future__ import annotations

import errno
import socket
import sys
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.core import TyperGroup

from pilote import __version__, exports, messages, stats, workspaces
from pilote.accounts import users
from pilote.cli.accounts import audit_command, users_app
from pilote.cli.answering import replies_app, reply_command
from pilote.cli.backing_up import backup_command, restore_command
from pilote.cli.common import parse_when, print_json, settings, store
from pilote.cli.deleting import delete_source_command, delete_workspace_command, deletions_command
from pilote.cli.doctoring import doctor_command
from pilote.cli.enriching import enrich_command, enrich_workspace
from pilote.cli.importing import import_command
from pilote.cli.inbox import app as inbox_app
from pilote.cli.inbox_rules import rules_app
from pilote.cli.incidents import incident_app, rule_app, watch_command
from pilote.cli.leaders import leaders_command
from pilote.cli.members import members_app
from pilote.cli.metrics import metrics_app
from pilote.cli.models import models_app
from pilote.cli.privacy import erase_command, erasures_command, retention_command
from pilote.cli.radar import radar_app
from pilote.cli.rollups import rollups_app
from pilote.cli.sources import source_app, sync_command
from pilote.cli.tokens import tokens_app
from pilote.errors import Invalid, PiloteError, Unavailable
from pilote.terminal import err, out, safe


class Group(TyperGroup):
    """Maps every PiloteError to one line on stderr and exit status 1, in this one place."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PiloteError as error:
            err.print("[red]error:[/red]", safe(str(error)))
            raise typer.Exit(error.exit_code) from None


app = typer.Typer(
    cls=Group,
    no_args_is_help=True,
    add_completion=False,
    help="Pilote: the cockpit for the people who run online communities.",
)
workspace_app = typer.Typer(no_args_is_help=True, help="Create, list and delete workspaces.")
app.add_typer(workspace_app, name="workspace")
app.add_typer(models_app, name="models")

WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False) -> None:
    """Pilote: gather, understand and steer your community's conversations."""
    if version:
        out.print(__version__)
        raise typer.Exit()


@app.command()
def init() -> None:
    """Create the store (SQLite under $PILOTE_HOME, or PILOTE_DATABASE_URL) and bring it up to date."""
    with store() as engine:
        out.print(f"Store ready: {engine.url.render_as_string(hide_password=True)}")


@workspace_app.command("create")
def workspace_create(slug: str, name: Annotated[str | None, typer.Option(help="Display name.")] = None) -> None:
    """Create a workspace: one community being managed."""
    with store() as engine, Session(engine) as session, session.begin():
        created = workspaces.create(session, slug=slug, name=name)
        out.print(f"Workspace {created.slug!r} created.")


@workspace_app.command("list")
def workspace_list(as_json: JsonOpt = False) -> None:
    """List the workspaces."""
    with store() as engine, Session(engine) as session:
        found = workspaces.get_all(session)
        rows = [{"slug": w.slug, "name": w.name, "created_at": w.created_at.isoformat()} for w in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("No workspace yet: `pilote workspace create NAME`, or `pilote import FILE` to start.")
        return
    table = Table("workspace", "name", "created")
    for row in rows:
        table.add_row(row["slug"], safe(row["name"]), row["created_at"][:16])
    out.print(table)


@app.command("messages")
def messages_command(
    workspace: WorkspaceOpt = None,
    search: Annotated[str | None, typer.Option(help="Words to find (accents ignored).")] = None,
    author: Annotated[str | None, typer.Option(help="Author handle or name.")] = None,
    since: Annotated[str | None, typer.Option(help="Only messages from this date on.")] = None,
    kind: Annotated[str | None, typer.Option(help="post, comment, reply, mention...")] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List messages, newest first."""
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        where = messages.MessageFilter(
            workspace_id=space.id, search=search, author=author, kind=kind, since=parse_when(since, "--since")
        )
        records = [exports.flat(record) for record in messages.get_all(session, where, limit=limit)]
    if as_json:
        print_json(records)
        return
    if not records:
        out.print("No message matches. Try without filters, or import some: `pilote import FILE`.")
        return
    table = Table("date", "kind", "author", expand=True)
    table.add_column("text", no_wrap=True, overflow="ellipsis", ratio=1)
    for record in records:
        snippet = (record["title"] or record["text"] or "").replace("\n", " ")[:120]
        table.add_row(
            (record["created_at"] or "")[:16], record["kind"], safe(record["author_handle"] or ""), safe(snippet)
        )
    out.print(table)


@app.command("stats")
def stats_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Counts by kind, source and language; first and last dates."""
    with store() as engine, Session(engine) as session:
        result = stats.compute(session, workspaces.resolve(session, slug=workspace))
    if as_json:
        print_json(result.as_json())
        return
    first = result.first.isoformat()[:16] if result.first else "-"
    last = result.last.isoformat()[:16] if result.last else "-"
    out.print(
        f"[bold]{result.workspace}[/bold]: {result.messages:,} messages, {result.authors:,} authors, "
        f"{result.threads:,} threads, from {first} to {last}"
    )
    if result.unpublished:
        out.print(f"and {result.unpublished:,} drafts, scheduled or private posts, kept but not counted")
    for title, counts in (("kind", result.by_kind), ("source", result.by_source), ("language", result.by_language)):
        table = Table(title)
        table.add_column("messages", justify="right")
        for key, value in counts.items():
            table.add_row(safe(key), f"{value:,}")
        out.print(table)


@app.command("export")
def export_command(
    format: Annotated[str, typer.Option("--format", "-f", help="jsonl, csv or parquet.")],
    workspace: WorkspaceOpt = None,
    out_path: Annotated[Path | None, typer.Option("--out", "-o", help="File to write (default: stdout).")] = None,
    search: Annotated[str | None, typer.Option(help="Only messages with these words.")] = None,
    since: Annotated[str | None, typer.Option(help="Only messages from this date on.")] = None,
) -> None:
    """Export one record per message (schema in docs/export.md)."""
    from pilote.progress import counting_bar

    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        where = messages.MessageFilter(workspace_id=space.id, search=search, since=parse_when(since, "--since"))
        records = messages.iter_all(session, where)
        if out_path is None:
            exports.write(records, format=format, out=sys.stdout.buffer)
            return
        with counting_bar(err, "exporting", messages.count(session, where)) as tick:
            written = exports.write(records, format=format, out=out_path, on_row=tick)
    err.print(f"{written:,} messages written to {out_path}")


@app.command()
def simulate(
    workspace: Annotated[str, typer.Option("--workspace", "-w")] = "demo",
    days: Annotated[int, typer.Option(min=7, max=3650)] = 90,
    members: Annotated[int, typer.Option(min=50, max=500_000)] = 5000,
    seed: Annotated[int, typer.Option()] = 1,
    if_absent: Annotated[bool, typer.Option("--if-absent", help="Do nothing if the workspace exists.")] = False,
) -> None:
    """Write a realistic, fictitious community (French and English), reproducible by seed."""
    with store() as engine:
        _simulate(engine, workspace, days, members, seed, if_absent)


def _simulate(engine: Engine, workspace: str, days: int, members: int, seed: int, if_absent: bool) -> None:
    from pilote.progress import counting_bar
    from pilote.simulate import simulate as run_simulation
    from pilote.simulate.store import ended as demo_end

    with Session(engine) as session:
        if if_absent and any(w.slug == workspace for w in workspaces.get_all(session)):
            out.print(f"Workspace {workspace!r} exists: left as it is.")
            end = demo_end(session, workspace)
            if end is not None and end < datetime.now(UTC) - timedelta(days=1):
                out.print(f"Its demo ends on {end:%Y-%m-%d %H:%M} UTC: `pilote simulate --workspace {workspace}` "
                          "brings it up to now (it writes the demo again; labels on its messages may go).")  # fmt: skip
            return
    with counting_bar(err, "simulating", 0) as tick:
        report = run_simulation(
            engine,
            workspace=workspace,
            days=days,
            members=members,
            seed=seed,
            progress=lambda done, total: tick(done=done, total=total),
        )
    enrich_workspace(engine, workspace)
    out.print(f"Workspace {workspace!r}: {report.messages:,} messages from {report.members:,} members.")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    no_jobs: Annotated[
        bool, typer.Option("--no-jobs", help="Serve pages only: syncs, analyses and the radar run elsewhere.")
    ] = False,
) -> None:
    """Serve the cockpit on http://127.0.0.1:8000."""
    import uvicorn

    from pilote.web.app import create_app

    config = settings()
    host, port = host or config.host, port or config.port
    local = host in {"127.0.0.1", "localhost", "::1"}
    with store(config) as engine, Session(engine) as session:  # an unreachable store is one line, not a traceback
        accounts = users.exist(session)
    if not local and not accounts:
        raise Invalid(
            f"--host {host}: no account exists yet, so Pilote serves this machine only; create the first admin "
            "(`pilote user create EMAIL --role admin`, or open http://127.0.0.1:8000 on this machine) first"
        )
    listening = listen(host, port)  # before saying it serves: a port in use is one line, not a traceback
    if local:
        err.print(f"Pilote serves on http://{host}:{port} (this machine only)")
    else:
        err.print(f"Pilote serves on http://{host}:{port}: put an HTTPS proxy in front of it (docs/accounts.md), "
                  "or passwords and sessions cross the network in clear")  # fmt: skip
    from pilote import jobs

    with listening, nullcontext() if no_jobs else jobs.running(config):  # the radar, syncs, analyses
        server = uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning"))
        server.run(sockets=[listening])


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, max=64, help="Jobs run at once by this process.")] = 2,
) -> None:
    """Run syncs, analyses and the radar in this process, with every other worker (stops on SIGTERM or Ctrl-C)."""
    import logging

    from pilote import jobs

    config = settings()
    with store(config):  # an unreachable store or queue is one line, before any job
        jobs.check_queue(config)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    queue = "Redis" if config.redis_url else f"{config.home / 'jobs.db'}"
    err.print(f"Pilote worker: {threads} threads on the queue in {queue} (stop with Ctrl-C or SIGTERM)")
    jobs.Jobs(config, threads=threads).run()


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port and listening, or one line saying why it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
        listening.listen(2048)
    except OSError as error:
        listening.close()
        reason = "already in use" if error.errno == errno.EADDRINUSE else error.strerror
        raise Unavailable(f"cannot listen on {host}:{port}: {reason} (stop what uses it, or set PILOTE_PORT)") from None
    return listening


app.command("import")(import_command)
app.command("enrich")(enrich_command)

# Command groups added by other parts (one registration line each):
# radar
app.add_typer(radar_app, name="radar")
app.add_typer(incident_app, name="incident")
app.add_typer(rule_app, name="alert-rule")
app.command("watch")(watch_command)
# tokens, accounts
app.add_typer(tokens_app, name="token")
app.add_typer(users_app, name="user")
app.command("audit")(audit_command)
app.command("erase")(erase_command)
app.command("erasures")(erasures_command)
workspace_app.command("retention")(retention_command)
app.add_typer(rollups_app, name="rollups")
# feeds
app.add_typer(source_app, name="source")
app.command("sync")(sync_command)
# members
app.add_typer(members_app, name="members")
app.command("leaders")(leaders_command)
# metrics
app.add_typer(metrics_app, name="metrics")
# the inbox: the queue, items, figures (cli/inbox.py), and answering
app.add_typer(inbox_app, name="inbox")
inbox_app.command("reply")(reply_command)
inbox_app.add_typer(replies_app, name="replies")
inbox_app.add_typer(rules_app, name="rules")
# deployment checks
app.command("doctor")(doctor_command)
# backups
app.command("backup")(backup_command)
app.command("restore")(restore_command)
# deletions
source_app.command("delete")(delete_source_command)
workspace_app.command("delete")(delete_workspace_command)
app.command("deletions")(deletions_command)
