"""`pilote token`: create (shown once), list and revoke the API's bearer tokens."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import tokens, workspaces
from pilote.accounts import users
from pilote.cli.common import print_json, store
from pilote.terminal import err, out, safe

tokens_app = typer.Typer(no_args_is_help=True, help="API tokens: create, list, revoke.")


@tokens_app.command("create")
def token_create(
    workspace: Annotated[str, typer.Option("--workspace", "-w", help="The workspace the token reads and labels.")],
    name: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    user: Annotated[
        str | None, typer.Option(help="The account it acts for, with its role in the workspace (e-mail).")
    ] = None,
    role: Annotated[
        str | None, typer.Option(help="At most this role (analyst, moderator, manager), below the person's own.")
    ] = None,
) -> None:
    """Create a token for the HTTP API; it is printed once and only its digest is kept."""
    with store() as engine, Session(engine) as session, session.begin():
        owner = users.get(session, email=user) if user else None
        space = workspaces.get(session, slug=workspace)
        token, info = tokens.create(session, workspace=space, name=name, user=owner, role=role)
    sys.stdout.write(token + "\n")
    err.print(f"Token {info.id} ({safe(info.name)}) for {info.workspace!r}: keep it now, it is not shown again.")


@tokens_app.command("list")
def token_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
    """List the tokens (never the tokens themselves)."""
    with store() as engine, Session(engine) as session:
        found = tokens.get_all(session)
    rows: list[dict[str, Any]] = [
        {"id": t.id, "workspace": t.workspace, "user": t.user, "role": t.role, "name": t.name, "prefix": t.prefix,
         "created_at": t.created_at.isoformat(), "last_used_at": t.last_used_at and t.last_used_at.isoformat(),
         "revoked": t.revoked_at is not None}
        for t in found
    ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("No token yet: `pilote token create --workspace W`.")
        return
    table = Table("id", "workspace", "acts for", "name", "starts with", "created", "last used", "state")
    for row in rows:
        state = "revoked" if row["revoked"] else "active"
        used = (row["last_used_at"] or "-")[:16]
        owner = safe(row["user"]) if row["user"] else "(workspace token: manager)"
        if row["role"]:
            owner += f" (at most {row['role']})"
        table.add_row(str(row["id"]), row["workspace"], owner, safe(row["name"]), row["prefix"],
                      row["created_at"][:16], used, state)  # fmt: skip
    out.print(table)


@tokens_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id, from `pilote token list`.")]) -> None:
    """Refuse a token from now on."""
    with store() as engine, Session(engine) as session, session.begin():
        info = tokens.revoke(session, token_id=token_id)
    out.print(f"Token {info.id} ({safe(info.name)}) revoked.")
