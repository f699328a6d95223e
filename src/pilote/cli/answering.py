"""`pilote inbox reply` and `pilote inbox replies`: answer an item, manage the saved replies, from the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.cli.common import print_json, settings, store
from pilote.errors import Invalid
from pilote.inbox import items, outbox, replies
from pilote.inbox.items import COMMAND_LINE
from pilote.models import OutboundReply, SavedReply
from pilote.terminal import out, safe

replies_app = typer.Typer(no_args_is_help=True, help="The saved replies: list, add, delete.")
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="The workspace (default: the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _answer(row: OutboundReply) -> dict[str, Any]:
    return {"id": row.id, "item_id": row.item_id, "mode": row.mode, "status": row.status, "attempts": row.attempts,
            "error": row.error, "external_id": row.external_id, "next_attempt_at": row.next_attempt_at,
            "text": row.text}  # fmt: skip


def reply_command(
    item: Annotated[int, typer.Argument(help="The inbox item to answer.")],
    text: Annotated[str, typer.Option("--text", help="The answer's text.")] = "",
    saved: Annotated[list[str] | None, typer.Option("--saved", help="A saved reply's shortcut (repeatable).")] = None,
    copied: Annotated[bool, typer.Option("--copied", help="You answered on the platform yourself: record it.")] = False,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer an inbox item through its platform (or, with --copied, record an answer posted by hand)."""
    config = settings()
    with store(config) as engine:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            space = workspaces.resolve(session, slug=workspace)
            found = items.get(session, space.id, item)
            filled = replies.insert(session, found, saved, COMMAND_LINE) if saved else ""
            body = "\n\n".join(part for part in (text.strip(), filled) if part)
            if copied:
                row = outbox.answered(session, space.id, item, body, COMMAND_LINE)
        if not copied:
            if not body:
                raise Invalid("give the answer with --text or --saved SHORTCUT")
            row = outbox.send(engine, config, space.id, item, body, COMMAND_LINE)
    if as_json:
        print_json(_answer(row))
        return
    out.print(f"answer {row.id} to item {item}: [bold]{row.status}[/bold]")
    if row.error:
        out.print(safe(row.error))


@replies_app.command("list")
def list_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The workspace's shared saved replies."""
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        rows = replies.get_all(session, space.id, None)
        if as_json:
            print_json([_saved(r) for r in rows])
            return
        table = Table("id", "shortcut", "title", "language", "text")
        for r in rows:
            table.add_row(str(r.id), "/" + r.shortcut, safe(r.title), r.language or "", safe(r.body[:80]))
        out.print(table)


def _saved(row: SavedReply) -> dict[str, Any]:
    return {"id": row.id, "shortcut": row.shortcut, "title": row.title, "body": row.body, "language": row.language,
            "shared": row.user_id is None}  # fmt: skip


@replies_app.command("add")
def add_command(
    shortcut: Annotated[str, typer.Argument(help="How the composer calls it, e.g. livraison.")],
    title: Annotated[str, typer.Option("--title", help="What it is about.")],
    body: Annotated[str | None, typer.Option("--body", help="Its text ({{author.name}} and other variables).")] = None,
    body_file: Annotated[Path | None, typer.Option("--body-file", help="Read the text from this file.")] = None,
    language: Annotated[str | None, typer.Option("--language", help="Offered only for messages in it.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add a shared saved reply (the command line speaks for the whole team)."""
    if (body is None) == (body_file is None):
        raise Invalid("give the text with --body or --body-file")
    text = body if body is not None else _read(body_file)
    with store() as engine, Session(engine, expire_on_commit=False) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        draft = replies.Draft(shortcut, title, text, language, shared=True)
        row = replies.create(session, space.id, draft, COMMAND_LINE, "admin")
    if as_json:
        print_json(_saved(row))
        return
    out.print(f"saved reply {row.id}: /{row.shortcut}")


def _read(path: Path | None) -> str:
    assert path is not None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise Invalid(f"--body-file {path}: cannot read it ({error})") from None


@replies_app.command("delete")
def delete_command(
    shortcut: Annotated[str, typer.Argument(help="The shortcut of the shared reply to delete.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete a shared saved reply."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        row = replies.by_shortcut(session, space.id, shortcut, None)
        shown = _saved(row)
        replies.delete(session, space.id, row.id, COMMAND_LINE, "admin")
    if as_json:
        print_json(shown)
        return
    out.print(f"deleted /{shown['shortcut']}")
