"""`pilote source delete`, `pilote workspace delete` and `pilote deletions`: delete after typing the name, and
read the record of what was deleted."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import deletions, workspaces
from pilote.accounts import audit
from pilote.cli.common import print_json, store
from pilote.errors import Invalid, NotFound
from pilote.models import Deletion, Source, Workspace
from pilote.terminal import err, out, safe

YesOpt = Annotated[bool, typer.Option("--yes", help="Do not ask to type the name (for scripts).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def delete_source_command(
    source_id: Annotated[int, typer.Argument(help="Source id (`pilote source list`).", show_default=False)],
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a source and everything it holds (messages, their labels and analysis, the authors who wrote
    only there, its import runs), after you type its name; a record of the deletion is kept."""
    with store() as engine:
        with Session(engine) as session:
            source = session.get(Source, source_id)
            if source is None:
                raise NotFound(f"no source {source_id}: `pilote source list` shows them")
            space = session.get_one(Workspace, source.workspace_id)
            held = deletions.messages_of(session, workspace_id=space.id, source_id=source_id)
            what = f"source {source_id} ({source.name}) of workspace {space.slug!r}"
            name = source.name
        if not yes:
            _confirm(f"This deletes {what}: {held:,} messages and everything they hold, for good.", name, what)
        with Session(engine, expire_on_commit=False) as session, session.begin():
            done = deletions.delete_source(session, workspace_id=space.id, source_id=source_id, by=audit.CLI)
    _report(done, as_json)


def delete_workspace_command(
    slug: Annotated[str, typer.Argument(help="The workspace's name (`pilote workspace list`).", show_default=False)],
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a workspace and everything it holds (sources, messages, radar, incidents, tokens), after you
    type its name; a record of the deletion is kept."""
    with store() as engine:
        with Session(engine) as session:
            space = workspaces.get(session, slug=slug)
            held = deletions.messages_of(session, workspace_id=space.id)
        if not yes:
            what = f"workspace {slug!r}"
            _confirm(f"This deletes {what}: {held:,} messages and everything else it holds, for good.", slug, what)
        with Session(engine, expire_on_commit=False) as session, session.begin():
            done = workspaces.delete(session, slug=slug, by=audit.CLI)
    _report(done, as_json)


def deletions_command(as_json: JsonOpt = False) -> None:
    """List the sources and workspaces deleted: what, how many messages, by whom and when."""
    with store() as engine, Session(engine) as session:
        found = deletions.get_all(session)
        rows = [deletions.as_json(d) for d in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("Nothing deleted yet.")
        return
    table = Table("when", "kind", "workspace", "name", "messages", "by")
    for row in rows:
        table.add_row(row["deleted_at"][:16], row["kind"], safe(row["workspace"]), safe(row["name"]),
                      f"{row['messages']:,}", row["deleted_by"])  # fmt: skip
    out.print(table)


def can_ask() -> bool:
    """Whether someone is at a terminal to type a confirmation."""
    return sys.stdin.isatty()


def _confirm(warning: str, name: str, what: str) -> None:
    """Ask the person to type the name, as GitHub does; refuse without a terminal to ask on."""
    if not can_ask():
        raise Invalid(f"deleting {what} needs a confirmation and there is no terminal to ask on: pass --yes")
    err.print(safe(warning))
    typed = err.input(safe(f"To confirm, type the name ({name}): "))
    deletions.check_confirmation(typed, name, what)


def _report(done: Deletion, as_json: bool) -> None:
    if as_json:
        print_json(deletions.as_json(done))
        return
    counts = deletions.counts(done)
    details = "; ".join(f"{name.replace('_', ' ')}: {n:,}" for name, n in counts.items() if n and name != "messages")
    what = (
        f"source {done.name!r} of workspace {done.workspace!r}"
        if done.kind == "source"
        else f"workspace {done.workspace!r}"
    )
    out.print(safe(f"Deleted {what}: {done.messages:,} messages" + (f" ({details})." if details else ".")))
