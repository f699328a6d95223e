"""`pilote inbox rules`: the inbox's rules — list, add, edit, delete, move, preview (docs/inbox.md, "Rules")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.cli.common import parse_when, print_json, store
from pilote.errors import BadInput, Invalid
from pilote.inbox import conditions, rules
from pilote.inbox.items import COMMAND_LINE
from pilote.terminal import out, safe

rules_app = typer.Typer(no_args_is_help=True, help="Rules: conditions on new messages → actions on their items.")
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
FileOpt = Annotated[Path | None, typer.Option("--file", "-f", help="The rule as a JSON file (see docs/inbox.md).")]
NameOpt = Annotated[str | None, typer.Option("--name", help="The rule's name.")]
IfOpt = Annotated[
    list[str] | None,
    typer.Option("--if", help="A condition: intent=question,complaint · language!=fr · spam>=0.8 · toxicity<=0.2 · "
                 "keywords=refund,remboursé · keywords-all=… · keywords-none=… · author=new (repeat: all must hold)."),
]  # fmt: skip
DoOpt = Annotated[
    list[str] | None,
    typer.Option("--do", help="An action: assign=3,4 · tag=refund · priority=high · spam · hide · status=ignored · "
                 "notify=lead@example.org · notify=user:3 · notify=recipient:2 (repeat, in order)."),
]  # fmt: skip
StopOpt = Annotated[bool | None, typer.Option("--stop/--no-stop", help="Later rules do not run on what this matches.")]
EnabledOpt = Annotated[bool | None, typer.Option("--enable/--disable", help="Switch the rule on or off.")]


@rules_app.command("list")
def list_rules(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The workspace's rules in the order they run."""
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        shown = [rules.as_json(rule) for rule in rules.get_all(session, space.id)]
    if as_json:
        print_json({"rules": shown})
        return
    if not shown:
        out.print("No rule yet: add one with `pilote inbox rules add --name … --if … --do …`.")
        return
    table = Table("#", "id", "name", "on", "stop", "conditions", "actions")
    for rule in shown:
        table.add_row(str(rule["position"]), str(rule["id"]), safe(rule["name"]), "yes" if rule["enabled"] else "no",
                      "yes" if rule["stop"] else "", safe(json.dumps(rule["conditions"], ensure_ascii=False)),
                      safe(json.dumps(rule["actions"], ensure_ascii=False)))  # fmt: skip
    out.print(table)


@rules_app.command("add")
def add(file: FileOpt = None, name: NameOpt = None, when: IfOpt = None, do: DoOpt = None, stop: StopOpt = None,
        enabled: EnabledOpt = None, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:  # fmt: skip
    """Add a rule after the others, from a JSON file or from flags."""
    data = given(file, {"conditions": [], "actions": []}, name, when, do, stop, enabled)
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        shown = rules.as_json(rules.create(session, space.id, data, COMMAND_LINE))
    _done(shown, as_json, "added")


@rules_app.command("edit")
def edit(rule_id: Annotated[int, typer.Argument(help="The rule's id (`pilote inbox rules list`).")],
         file: FileOpt = None, name: NameOpt = None, when: IfOpt = None, do: DoOpt = None, stop: StopOpt = None,
         enabled: EnabledOpt = None, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:  # fmt: skip
    """Change a rule: what a file or the flags give replaces what it had (conditions and actions as a whole)."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        current = rules.as_json(rules.get(session, space.id, rule_id))
        data = given(file, current, name, when, do, stop, enabled)
        shown = rules.as_json(rules.update(session, space.id, rule_id, data, COMMAND_LINE))
    _done(shown, as_json, "changed")


@rules_app.command("delete")
def delete(rule_id: Annotated[int, typer.Argument(help="The rule's id.")], workspace: WorkspaceOpt = None,
           as_json: JsonOpt = False) -> None:  # fmt: skip
    """Remove a rule (what it did stays done)."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        rules.delete(session, space.id, rule_id, COMMAND_LINE)
    if as_json:
        print_json({"deleted": rule_id})
        return
    out.print(f"Rule {rule_id} deleted.")


@rules_app.command("move")
def move(rule_id: Annotated[int, typer.Argument(help="The rule's id.")],
         up: Annotated[bool, typer.Option("--up/--down", help="Earlier (up) or later (down) in the order.")],
         places: Annotated[int, typer.Option(min=1, help="How many places.")] = 1,
         workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:  # fmt: skip
    """Move a rule earlier or later in the order the rules run."""
    by = -places if up else places
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        ordered = [rules.as_json(r) for r in rules.move(session, space.id, rule_id, by, COMMAND_LINE)]
    if as_json:
        print_json({"rules": ordered})
        return
    out.print(" → ".join(f"{r['position']}. {safe(r['name'])}" for r in ordered))


@rules_app.command("preview")
def preview(file: FileOpt = None, name: NameOpt = None, when: IfOpt = None, do: DoOpt = None,
            days: Annotated[int, typer.Option(min=1, max=90, help="How many days back.")] = 30,
            until: Annotated[str | None, typer.Option(help="The period's end (default: now), e.g. 2026-03-31.")] = None,
            workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:  # fmt: skip
    """What a rule would have done to the last days' new messages; nothing is saved or changed."""
    data = given(file, {"name": "preview", "conditions": [], "actions": []}, name, when, do, None, None)
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        shown = rules.preview(session, space.id, data, days=days, now=parse_when(until, "--until"))
    if as_json:
        print_json({"since": shown.since, "until": shown.until, "read": shown.read, "matched": shown.matched,
                    "changes": shown.changes, "sample": shown.sample})  # fmt: skip
        return
    out.print(f"{shown.matched:,} of {shown.read:,} new messages tried in the last {days} days match.")
    for change in shown.changes:
        out.print(f"- {safe(json.dumps(change['action'], ensure_ascii=False))}: {change['items']:,} items")
    for card in shown.sample:
        out.print(f"  {card['created_at']:%Y-%m-%d %H:%M} {safe(card['author'] or '?')}: {safe(card['text'][:100])}")


def _done(shown: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        print_json(shown)
        return
    out.print(f"Rule {shown['id']} ({safe(shown['name'])}) {what}, in place {shown['position']}.")


def given(file: Path | None, base: dict[str, Any], name: str | None, when: list[str] | None, do: list[str] | None,
          stop: bool | None, enabled: bool | None) -> dict[str, Any]:  # fmt: skip
    """The rule the command means: the file's (or `base`), with what the flags say over it."""
    data = {k: v for k, v in base.items() if k not in ("id", "position")}
    if file is not None:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise BadInput(file, None, f"not a JSON rule: {error}", "see docs/inbox.md, Rules") from None
        if not isinstance(data, dict):
            raise BadInput(file, None, "a rule is a JSON object", "see docs/inbox.md, Rules")
    if name is not None:
        data["name"] = name
    if when:
        data["conditions"] = parse_conditions(when)
    if do:
        data["actions"] = [parse_action(a) for a in do]
    for flag, value in (("stop", stop), ("enabled", enabled)):
        if value is not None:
            data[flag] = value
    return data


def parse_conditions(given: list[str]) -> list[dict[str, Any]]:
    """`--if` flags as conditions (keywords, keywords-all and keywords-none make one condition)."""
    found: list[dict[str, Any]] = []
    words: dict[str, Any] = {}
    for text in given:
        for op in (">=", "<=", "!=", "="):
            key, sep, value = text.partition(op)
            if sep:
                break
        else:
            raise Invalid(f"--if {text!r}: write key=value, key!=value, key>=number or key<=number")
        key, values = key.strip(), [v.strip() for v in value.split(",") if v.strip()]
        if key in ("keywords", "keywords-any", "keywords-all", "keywords-none") and op == "=":
            words.setdefault("key", "keywords")
            words[{"keywords": "any"}.get(key, key.removeprefix("keywords-"))] = values
        elif key in conditions.PROBABILITIES and op in (">=", "<="):
            found.append({"key": key, "min" if op == ">=" else "max": _number(value, text)})
        elif op in ("=", "!="):
            found.append({"key": key, "in": [int(v) if key == "source" and v.isdigit() else v for v in values]}
                         | ({"not": True} if op == "!=" else {}))  # fmt: skip
        else:
            raise Invalid(f"--if {text!r}: {op} is for spam and toxicity")
    return found + ([words] if words else [])


def _number(value: str, text: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise Invalid(f"--if {text!r}: {value!r} is not a number") from None


def parse_action(text: str) -> dict[str, Any]:
    """A `--do` flag as an action."""
    kind, _, value = text.partition("=")
    kind, value = kind.strip(), value.strip()
    if kind == "assign":
        return {"type": kind, "to": [int(v) if v.strip().isdigit() else v for v in value.split(",")]}
    if kind == "tag":
        return {"type": kind, "tags": [v.strip() for v in value.split(",") if v.strip()]}
    if kind in ("priority", "status"):
        return {"type": kind, kind: value}
    if kind == "notify":
        target, _, number = value.partition(":")
        if target in ("user", "recipient") and number.isdigit():
            return {"type": kind, target: int(number)}
        return {"type": kind, "email": value}
    return {"type": kind}
