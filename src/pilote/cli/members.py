"""`pilote members`: one person, many names — suggested merges, merges and their undoing."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import merges, workspaces
from pilote.accounts import audit
from pilote.cli.common import patient, print_json, say_computed, store
from pilote.leaders import kept
from pilote.terminal import out, safe

members_app = typer.Typer(no_args_is_help=True, help="Members: one person across identities and names.")
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@members_app.command("suggest-merges")
def suggest_merges(
    workspace: WorkspaceOpt = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many suggestions.")] = 50,
    fresh: Annotated[bool, typer.Option("--fresh", help="Compute now, even where a worker kept them.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Identities that look like one person, with the evidence and a confidence; nothing is merged. Up to 200 as a
    worker kept them (`computed_at`, without those merged or rejected since), more computed now."""
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        served = kept.suggestions_of(session, space.id, limit, reader=patient("the merge suggestions", fresh=fresh))
    assert served is not None  # a patient reader waits for the computation
    found = served.value
    if as_json:
        print_json({"suggestions": [s.as_json() for s in found], "computed_at": served.computed_at})
        return
    say_computed(served.computed_at)
    if not found:
        out.print("No suggestion: no two identities share an address, a site, a handle or a name's forms.")
        return
    table = Table("identities", "names", "confidence", "evidence")
    for suggestion in found:
        table.add_row(" ".join(map(str, suggestion.authors)), safe("\n".join(suggestion.names)),
                      f"{suggestion.confidence:.0%}", safe("\n".join(suggestion.evidence)))  # fmt: skip
    out.print(table)
    out.print("Merge the ones that are one person with `pilote members merge ID ID`; `unmerge` takes it back.")


@members_app.command("merge")
def merge(
    authors: Annotated[list[int], typer.Argument(help="Two or more identity ids (from `suggest-merges`).")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Join these identities into one member (recorded; `pilote members unmerge MERGE` undoes it)."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        record = merges.merge(session, space.id, authors, by=audit.CLI)
        shown = merges.as_json(record)
    if as_json:
        print_json(shown)
        return
    out.print(f"Merge {shown['id']}: identities {', '.join(map(str, shown['authors']))} are one member now.")


@members_app.command("unmerge")
def unmerge(
    merge_id: Annotated[int, typer.Argument(help="The merge to take back (`pilote members merges` lists them).")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take a merge back: each identity returns to what it belonged to before."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        shown = merges.as_json(merges.unmerge(session, space.id, merge_id, by=audit.CLI))
    if as_json:
        print_json(shown)
        return
    out.print(f"Merge {merge_id} undone: identities {', '.join(map(str, shown['authors']))} are apart again.")


@members_app.command("reject")
def reject(
    authors: Annotated[list[int], typer.Argument(help="Two or more identity ids that are different people.")],
    workspace: WorkspaceOpt = None,
    undo: Annotated[bool, typer.Option("--undo", help="Forget it: they may be suggested again.")] = False,
) -> None:
    """Say these identities are different people: they are no longer suggested for a merge."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        merges.reject(session, space.id, authors, undo=undo)
    ids = ", ".join(map(str, authors))
    out.print(f"Identities {ids} may be suggested again." if undo else f"Identities {ids} are no longer suggested.")


@members_app.command("merges")
def list_merges(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Every merge of the workspace, newest first, undone ones included."""
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        shown = [merges.as_json(record) for record in merges.merges(session, space.id)]
    if as_json:
        print_json({"merges": shown})
        return
    table = Table("merge", "identities", "by", "when", "undone")
    for row in shown:
        table.add_row(str(row["id"]), " ".join(map(str, row["authors"])), safe(str(row["created_by"])),
                      str(row["created_at"])[:16], str(row["undone_at"] or "")[:16])  # fmt: skip
    out.print(table if shown else "No merge yet: `pilote members suggest-merges` proposes some.")
