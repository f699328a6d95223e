"""`pilote source add PLATFORM`, `pilote source credentials ID`, `pilote source platforms`: connector sources.

Secrets (tokens, passwords, API keys) are never command-line arguments, which other users of the machine
and the shell's history can read: they come from `--secrets-file` (`name=value` lines), else are asked for
without echo on a terminal, else read as `name=value` lines from standard input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import platforms, sources
from pilote.cli.common import print_json, settings, store
from pilote.errors import BadInput, Invalid
from pilote.models import Source, Workspace
from pilote.sources.base import Connector
from pilote.terminal import out, safe

SetOpt = Annotated[list[str] | None, typer.Option("--set", help="A setting: name=value (repeatable).")]
SecretsOpt = Annotated[
    Path | None, typer.Option("--secrets-file", help="A file of name=value lines holding the secrets.")
]


def add(
    platform: Annotated[str, typer.Argument(help="wordpress, discourse, mastodon, bluesky, reddit or youtube.")],
    workspace: Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace.")] = None,
    set_: SetOpt = None,
    secrets_file: SecretsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Add a platform Pilote reads through its API (`pilote source platforms` lists each one's settings)."""
    connector = sources.get_connector(platform)
    values = pairs(set_ or [], "--set")
    if any(s.secret for s in connector.settings if s.name in values):
        raise Invalid("secrets are never given with --set (other users can read a command line): use "
                      "--secrets-file, or type them when asked")  # fmt: skip
    values.update(read_secrets(connector, secrets_file, asked=[s.name for s in connector.settings if s.secret]))
    config = settings()
    with store(config) as engine, Session(engine) as session, session.begin():
        source = platforms.add(session, config, workspace=workspace, kind=platform, values=values)
        slug = session.get_one(Workspace, source.workspace_id).slug
        found = {"id": source.id, "workspace": slug, "name": source.name, "kind": source.kind, "url": source.url}
    if as_json:
        print_json(found)
        return
    out.print(safe(f"{connector.name} source {found['id']} ({found['name']}) added to {slug!r}."))
    out.print(f"Fetch it now with `pilote sync --source {found['id']}`; `pilote serve` keeps it up to date.")


def credentials(
    source_id: Annotated[int, typer.Argument(help="Source id (`pilote source list`).")],
    secrets_file: SecretsOpt = None,
) -> None:
    """Enter a platform source's secrets again (an expired token, a new application password)."""
    config = settings()
    with store(config) as engine, Session(engine) as session, session.begin():
        source = session.get(Source, source_id)
        if source is None or not platforms.is_platform(source):
            raise Invalid(f"no platform source {source_id}: `pilote source list` shows the sources")
        connector = sources.get_connector(source.kind)
        asked = [s.name for s in connector.settings if s.secret]
        platforms.set_credentials(session, config, source_id, read_secrets(connector, secrets_file, asked=asked))
    out.print(f"New credentials stored for source {source_id}; the next sync uses them.")


def list_platforms(as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False) -> None:
    """The platforms Pilote can read, with their settings and the actions they allow."""
    connectors = list(sources.CONNECTORS.values())
    if as_json:
        print_json([
            {"name": c.name, "description": c.description, "actions": list(c.actions),
             "settings": [{"name": s.name, "help": s.help, "secret": s.secret, "required": s.required}
                          for s in c.settings]}
            for c in connectors
        ])  # fmt: skip
        return
    table = Table("platform", "settings (* required, secret)", "actions")
    for c in connectors:
        names = [f"{s.name}{'*' if s.required else ''}{' (secret)' if s.secret else ''}" for s in c.settings]
        table.add_row(c.name, ", ".join(names), ", ".join(c.actions) or "—")
    out.print(table)


def pairs(values: list[str], where: str) -> dict[str, str]:
    """name=value pairs."""
    found: dict[str, str] = {}
    for number, pair in enumerate(values, 1):
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():  # the line is not echoed: it may well be a bare token
            raise Invalid(f"{where}, entry {number}: write it as name=value (e.g. token=...)")
        found[name.strip()] = value
    return found


def read_secrets(connector: Connector, path: Path | None, *, asked: list[str]) -> dict[str, str]:
    """The secrets from a file, else asked without echo on a terminal, else name=value lines on stdin."""
    if not asked:
        return {}
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise BadInput(path, None, f"cannot be read ({error})", "give a UTF-8 file of name=value lines") from None
        return pairs([line for line in lines if line.strip() and not line.lstrip().startswith("#")], str(path))
    if sys.stdin.isatty():
        help_of = {s.name: s.help for s in connector.settings}
        typed = {name: typer.prompt(f"{name} ({help_of[name]}; Enter to skip)", default="", hide_input=True,
                                    show_default=False) for name in asked}  # fmt: skip
        return {k: v for k, v in typed.items() if v}
    return pairs([line for line in sys.stdin.read().splitlines() if line.strip()], "standard input")
