"""`pilote doctor`: what works in this deployment, and the one thing to do for what does not."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from pilote import doctor
from pilote.cli.common import print_json, settings
from pilote.terminal import out, safe

MARKS = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]fail[/red]"}


def doctor_command(as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
    """Check the store, the queue, the workers, the disk, the keys and the versions; exit 1 if something fails."""
    found = doctor.examine(settings())
    failed = any(check.state == "fail" for check in found)
    if as_json:
        print_json({"ok": not failed, "checks": [check.as_json() for check in found]})
    else:
        table = Table("check", "state", "found", "what to do")
        for check in found:
            table.add_row(check.name, MARKS[check.state], safe(check.found), safe(check.fix or ""))
        out.print(table)
    if failed:
        raise typer.Exit(1)
