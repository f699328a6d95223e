"""`pilote backup FILE` and `pilote restore FILE`: the whole store, taken while Pilote runs."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from pilote import backups
from pilote.cli.common import print_json, store
from pilote.progress import counting_bar
from pilote.terminal import err, out, safe

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def backup_command(
    file: Annotated[Path, typer.Argument(help="The backup to write (refused if it exists).")],
    as_json: JsonOpt = False,
) -> None:
    """Back up the whole store while Pilote runs (SQLite's online backup, or pg_dump for PostgreSQL)."""
    with store() as engine, counting_bar(err, f"{file.name}: copying", 0) as tick:
        done = backups.backup(engine, file, progress=lambda copied, total: tick(done=copied, total=total))
    _report(done, "backed up into", as_json)


def restore_command(
    file: Annotated[Path, typer.Argument(help="A file `pilote backup` wrote.")],
    as_json: JsonOpt = False,
) -> None:
    """Restore a backup into an empty store, then bring its schema up to date."""
    with store() as engine, counting_bar(err, f"{file.name}: restoring", 0) as tick:
        done = backups.restore(engine, file, progress=lambda copied, total: tick(done=copied, total=total))
    _report(done, "restored from", as_json)


def _report(done: backups.Backup, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(asdict(done) | {"path": str(done.path)})
        return
    out.print(
        f"{done.workspaces:,} workspace(s) and {done.messages:,} message(s) {verb} {safe(str(done.path))} "
        f"({done.engine}, {done.bytes / 1e6:,.1f} MB)"
    )
