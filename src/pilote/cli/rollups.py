"""`pilote rollups rebuild`: recount a workspace's dashboard rollups from its messages."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from pilote import rollups, workspaces
from pilote.cli.common import store
from pilote.terminal import out

rollups_app = typer.Typer(no_args_is_help=True, help="The counts dashboards read: rebuild them.")
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")]


@rollups_app.command("rebuild")
def rollups_rebuild(
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")
    ] = None,
) -> None:
    """Recount every hour of a workspace (they are kept up to date by imports and enrichment otherwise)."""
    started = time.perf_counter()
    with store() as engine:
        with Session(engine) as session:
            space = workspaces.resolve(session, slug=workspace)
        with engine.begin() as conn:
            rows = rollups.rebuild(conn, space.id)
    out.print(f"Rollups of {space.slug!r} rebuilt: {rows:,} rows in {time.perf_counter() - started:.1f} s.")
