"""`pilote erase` (a person, on request), `pilote erasures` (their records) and `pilote workspace retention`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pilote import privacy, workspaces
from pilote.accounts import audit
from pilote.cli.common import print_json, store
from pilote.cli.deleting import can_ask
from pilote.errors import Invalid
from pilote.models import Erasure
from pilote.terminal import err, out, safe

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="Say how many messages would go; change nothing.")]


def erase_command(
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="The workspace.", show_default=False)],
    author: Annotated[int | None, typer.Option(help="An author id (`pilote messages`, the Members page).")] = None,
    channel: Annotated[str | None, typer.Option(help="With --handle: the identity's channel (e.g. x).")] = None,
    handle: Annotated[str | None, typer.Option(help="With --channel: the identity's handle.")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask to type the name (for scripts).")] = False,
    dry_run: DryOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Erase a person on request: all their identities (those merged with this one too), every message of theirs
    and what hangs on them; other people's replies stay. The record keeps counts only, and later imports skip
    the person's messages."""
    with store() as engine:
        with Session(engine) as session:
            space = workspaces.get(session, slug=workspace)
            author_id = _author(session, space.id, author, channel, handle)
            who = privacy.person(session, workspace_id=space.id, author_id=author_id)
            held = privacy.messages_of(session, who)
        what = f"{len(who.author_ids)} identities and {held:,} messages of one person in workspace {workspace!r}"
        if dry_run:
            out.print(safe(f"Would erase {what}; nothing was changed."))
            return
        if not yes:
            _confirm(f"This erases {what}, for good.", who.name)
        with Session(engine, expire_on_commit=False) as session, session.begin():
            done = privacy.erase(session, who, by=audit.CLI)
    _report(done, as_json)


def erasures_command(
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Only this workspace's.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """The records of erasures and retention runs: what went, by whom and when (no personal data)."""
    with store() as engine, Session(engine) as session:
        rows = [privacy.as_json(found) for found in privacy.get_all(session, workspace=workspace)]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("Nothing erased yet.")
        return
    table = Table("when", "kind", "workspace", "messages", "by", "reference")
    for row in rows:
        reference = str(row["reference"] or "-")[:16]
        table.add_row(str(row["erased_at"])[:16], str(row["kind"]), safe(str(row["workspace"])),
                      f"{row['messages']:,}", safe(str(row["erased_by"])), reference)  # fmt: skip
    out.print(table)


def retention_command(
    slug: Annotated[str, typer.Argument(help="The workspace.", show_default=False)],
    days: Annotated[str | None, typer.Argument(help="Days to keep messages (by their date), or off.")] = None,
    dry_run: DryOpt = False,
    now: Annotated[
        bool, typer.Option("--now", help="Delete what is past the period now (else the clock does).")
    ] = False,
) -> None:
    """Set how long a workspace keeps its messages (older ones are deleted by the clock of `pilote serve` and
    `pilote worker`, in batches); without DAYS, say what is set and how many messages are past it."""
    chosen = _days(days)
    with store() as engine:
        with Session(engine) as session:
            space = workspaces.get(session, slug=slug)
            current = privacy.retention(session, space.id)
            period = chosen if days is not None else current
            due = privacy.expired(session, workspace_id=space.id, days=period) if period else 0
        if dry_run or days is None:
            kept = f"{period} days" if period else "for ever"
            out.print(safe(f"Workspace {slug!r} keeps messages {kept}: {due:,} messages are older than that."))
            return
        with Session(engine) as session, session.begin():
            privacy.set_retention(session, workspace_id=space.id, days=chosen, by=audit.CLI)
        out.print(safe(f"Workspace {slug!r} now keeps messages " + (f"{chosen} days." if chosen else "for ever.")))
        if now and chosen:
            _apply(engine, space.id)


def _apply(engine: Engine, workspace_id: int) -> None:
    done = privacy.apply_retention(engine, workspace_id=workspace_id)
    out.print(f"Deleted {done.messages if done else 0:,} messages past the period.")


def _days(value: str | None) -> int | None:
    if value is None or value.strip().lower() == "off":
        return None
    if not value.strip().isdigit():
        raise Invalid(f"retention {value!r}: give a number of days (e.g. 365), or off")
    return int(value)


def _author(session: Session, workspace_id: int, author: int | None, channel: str | None, handle: str | None) -> int:
    if author is not None:
        return author
    if channel and handle:
        return privacy.find(session, workspace_id=workspace_id, channel=channel, handle=handle)
    raise Invalid("say whom to erase: --author ID, or --channel and --handle")


def _confirm(warning: str, name: str) -> None:
    """Ask for the person's name, as a deletion asks for the source's."""
    if not can_ask():
        raise Invalid("erasing a person needs a confirmation and there is no terminal to ask on: pass --yes")
    err.print(safe(warning))
    typed = err.input(safe(f"To confirm, type the person's name ({name}): "))
    if (typed or "").strip() != name.strip():
        raise Invalid(f"to erase this person, type their name exactly: {name!r}; nothing was erased")


def _report(done: Erasure, as_json: bool) -> None:
    if as_json:
        print_json(privacy.as_json(done))
        return
    counts = privacy.as_json(done)["counts"]
    assert isinstance(counts, dict)
    details = "; ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in counts.items() if v and k != "messages")
    out.print(safe(f"Erased on request (record {done.id}): {done.messages:,} messages" +
                   (f" ({details})." if details else ".")))  # fmt: skip
