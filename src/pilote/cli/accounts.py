"""`pilote user` (create, list, role, disable, password) and `pilote audit` (the audit log, filtered, exported)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.accounts import audit, users
from pilote.cli.common import parse_when, print_json, store
from pilote.errors import Invalid
from pilote.terminal import out, safe

users_app = typer.Typer(no_args_is_help=True, help="Accounts: create, list, give roles, disable.")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
WorkspaceOpt = Annotated[
    str | None, typer.Option("--workspace", "-w", help="The workspace of the role (none: every workspace).")
]


def read_password() -> str:
    """The password from standard input (one line), or typed twice at a prompt that does not echo it."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if getpass.getpass("The same password again: ") != first:
        raise Invalid("the two passwords differ")
    return first


@users_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="The person's e-mail: it is their login.")],
    role: Annotated[str, typer.Option(help="admin, manager, moderator or analyst.")] = "admin",
    workspace: WorkspaceOpt = None,
    name: Annotated[str | None, typer.Option(help="Name shown to the team.")] = None,
) -> None:
    """Create an account; the password is read from standard input (or a prompt), never from an argument."""
    password = read_password()
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.get(session, slug=workspace) if workspace else None
        user = users.create(session, email=email, password=password, display_name=name, role=role, workspace=space)
        where = f"{role} of {space.slug!r}" if space else "admin of every workspace"
        out.print(f"Account {safe(user.email)} created: {where}.")


@users_app.command("list")
def user_list(as_json: JsonOpt = False) -> None:
    """List the accounts and their roles."""
    with store() as engine, Session(engine) as session:
        found = users.get_all(session)
    rows: list[dict[str, Any]] = [
        {"email": a.email, "name": a.display_name, "language": a.language, "instance_admin": a.instance_admin,
         "roles": a.roles, "disabled": a.disabled, "created_at": a.created_at.isoformat()}
        for a in found
    ]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("No account yet: `pilote user create EMAIL --role admin`.")
        return
    table = Table("e-mail", "name", "roles", "state")
    for row in rows:
        roles = "admin of every workspace" if row["instance_admin"] else ", ".join(
            f"{role} of {slug}" for slug, role in sorted(row["roles"].items())
        ) or "-"  # fmt: skip
        table.add_row(safe(row["email"]), safe(row["name"]), roles, "disabled" if row["disabled"] else "active")
    out.print(table)


@users_app.command("role")
def user_role(
    email: Annotated[str, typer.Argument(help="The account's e-mail.")],
    role: Annotated[str, typer.Argument(help="admin, manager, moderator, analyst, or none to take it away.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Give a role in a workspace; without --workspace, admin (or none) of every workspace."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.get(session, slug=workspace) if workspace else None
        user = users.get(session, email=email)
        users.set_role(session, user=user, role=role, workspace=space)
        out.print(f"{safe(user.email)}: {role} of {repr(space.slug) if space else 'every workspace'}.")


@users_app.command("disable")
def user_disable(email: Annotated[str, typer.Argument(help="The account's e-mail.")]) -> None:
    """Refuse an account from now on: its sessions end, its API tokens are revoked."""
    with store() as engine, Session(engine) as session, session.begin():
        user = users.get(session, email=email)
        users.disable(session, user=user)
        out.print(f"Account {safe(user.email)} disabled.")


@users_app.command("password")
def user_password(email: Annotated[str, typer.Argument(help="The account's e-mail.")]) -> None:
    """Set a new password (read from standard input or a prompt); the account's sessions end."""
    password = read_password()
    with store() as engine, Session(engine) as session, session.begin():
        user = users.get(session, email=email)
        users.set_password(session, user=user, password=password, actor=audit.COMMAND_LINE)
        out.print(f"Password of {safe(user.email)} changed; its sessions are ended.")


def audit_command(
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Only this workspace's entries.")] = None,
    since: Annotated[str | None, typer.Option(help="From this date or time (e.g. 2026-01-31).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this date or time.")] = None,
    actor: Annotated[str | None, typer.Option(help="Only what this person did (an e-mail, `command line`).")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, or those it begins (`source`).")] = None,
    as_json: JsonOpt = False,
    export: Annotated[str | None, typer.Option(help="Print every matching entry as csv or jsonl.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many entries, newest first (not for --export).")] = 200,
) -> None:
    """The audit log: who changed what, when, from where, before and after; newest first."""
    with store() as engine, Session(engine) as session:
        space = workspaces.get(session, slug=workspace).id if workspace else None
        filters = audit.Filters(workspace_id=space, actor=actor, action=action, since=parse_when(since, "--since"),
                                until=parse_when(until, "--until"))  # fmt: skip
        if export is not None:
            for line in audit.export(audit.every(session, filters), export):
                sys.stdout.write(line)
            return
        entries = audit.get_all(session, limit=limit, filters=filters)
    if as_json:
        print_json([e.as_json() for e in entries])
        return
    table = Table("when", "who", "what", "whom", "workspace", "before", "after", "from")
    for e in entries:
        table.add_row(e.at.isoformat()[:19], safe(e.actor), safe(e.action), safe(e.target), safe(e.workspace or "-"),
                      _brief(e.before), _brief(e.after), safe(e.address or "-"))  # fmt: skip
    out.print(table)


def _brief(value: object) -> str | Text:
    return "-" if value is None else safe(str(value))
