"""`pilote incident ...`, `pilote alert-rule ...` and `pilote watch`: the radar's incidents, rules and tick."""

from __future__ import annotations

import getpass
import json
import time
from datetime import timedelta
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import workspaces
from pilote.cli.common import print_json, settings, store
from pilote.errors import Invalid
from pilote.models import utcnow
from pilote.radar import incidents, rules
from pilote.radar.watch import SETTLE, TickReport, tick
from pilote.terminal import err, out, safe

incident_app = typer.Typer(no_args_is_help=True, help="The radar's incidents: list, show, acknowledge, resolve.")
rule_app = typer.Typer(no_args_is_help=True, help="What the radar watches in a workspace, and whom it tells.")

WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who acts (default: your user name).")]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A word for the incident's log.")]


@incident_app.command("list")
def incident_list(
    workspace: WorkspaceOpt = None,
    status: Annotated[str | None, typer.Option(help="open, acknowledged or resolved.")] = None,
    past: Annotated[
        bool | None, typer.Option("--past/--live", help="Only the past episodes found in history, or only live ones.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The workspace's incidents, newest first (past episodes, found in history read after its time, marked)."""
    if status is not None and status not in {"open", "acknowledged", "resolved"}:
        raise Invalid(f"--status {status!r}: use open, acknowledged or resolved")
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        found = incidents.get_all(session, workspace_id=space.id, status=status, past=past)
        rows = [incidents.as_json(session, i) for i in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("No incident. The radar runs with `pilote serve`, or once with `pilote watch`.")
        return
    table = Table("id", "status", "severity", "started", "alerts", "title")
    for row in rows:
        started = row["started_at"].isoformat()[:16]
        state = "past episode" if row["past"] else row["status"]
        table.add_row(str(row["id"]), state, row["severity"], started, str(row["alerts"]), safe(row["title"]))
    out.print(table)


@incident_app.command("show")
def incident_show(incident_id: int, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """One incident: its alerts with their explanation, its log, and its notifications."""
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        found = incidents.get(session, incident_id=incident_id, workspace_id=space.id)
        data = incidents.as_json(session, found, detail=True)
    if as_json:
        print_json(data)
        return
    _print_incident(data)


def _print_incident(data: dict[str, Any]) -> None:
    status = "past episode (found in history read after its time; nobody was told)" if data["past"] else data["status"]
    out.print(safe(f"Incident {data['id']} · {status} · {data['severity']} · {data['title']}"))
    out.print(f"started {data['started_at'].isoformat()[:16]}, {data['alerts']} alert(s)")
    for alert in data["alert_list"]:
        ex = alert["explanation"]
        ratio = f" ({ex['ratio']}× normal)" if ex.get("ratio") else ""
        out.print(safe(f"\n{alert['at'].isoformat()[:16]}  {alert['series']}: {alert['value']:g} against "
                       f"{alert['expected']:.1f} expected{ratio}, {alert['severity']}"))  # fmt: skip
        for title, key in (("first", "first_messages"), ("most amplified", "most_amplified")):
            for message in ex.get(key, [])[:3]:
                out.print(safe(f"  {title}: {message['author']} ({message['channel']}, reach {message['reach']}): "
                               f"{message['text'][:100]}"))  # fmt: skip
        if ex.get("keyphrases"):
            out.print(safe("  keyphrases: " + ", ".join(f"{p} ({n})" for p, n in ex["keyphrases"])))
        out.print(safe("  channels: " + ", ".join(f"{c} ({n})" for c, n in ex.get("channels", {}).items())))
    out.print("\nlog:")
    for event in data["log"]:
        who = f" by {event['actor']}" if event["actor"] else ""
        out.print(safe(f"  {event['at'].isoformat()[:19]} {event['kind']}{who} {event['detail'] or ''}"))
    for delivery in data["deliveries"]:
        error = f" — {delivery['last_error']}" if delivery["last_error"] else ""
        out.print(safe(f"  notification {delivery['kind']} {delivery['target']}: {delivery['status']} "
                       f"after {delivery['attempts']} attempt(s){error}"))  # fmt: skip


@incident_app.command("ack")
def incident_ack(incident_id: int, workspace: WorkspaceOpt = None, by: ByOpt = None) -> None:
    """Acknowledge: someone is on it (stops the escalation)."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        incidents.acknowledge(session, incident_id=incident_id, workspace_id=space.id, actor=_actor(by), now=utcnow())
    out.print(f"Incident {incident_id} acknowledged.")


@incident_app.command("resolve")
def incident_resolve(incident_id: int, workspace: WorkspaceOpt = None, by: ByOpt = None, note: NoteOpt = None) -> None:
    """Resolve: the crisis is over (the recipients are told)."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        rule = rules.get(session, workspace_id=space.id)
        incidents.resolve(session, incident_id=incident_id, workspace_id=space.id, actor=_actor(by), now=utcnow(),
                          note=note, rule=rule)  # fmt: skip
    out.print(f"Incident {incident_id} resolved.")


@incident_app.command("reopen")
def incident_reopen(incident_id: int, workspace: WorkspaceOpt = None, by: ByOpt = None, note: NoteOpt = None) -> None:
    """Reopen a resolved incident: new alerts attach to it again."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        incidents.reopen(session, incident_id=incident_id, workspace_id=space.id, actor=_actor(by), now=utcnow(),
                         note=note)  # fmt: skip
    out.print(f"Incident {incident_id} reopened.")


def _actor(by: str | None) -> str:
    if by:
        return by.strip()[:200]
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


LANGUAGE_HELP = "What it reads: en or fr (none: the account's for an e-mail address, else the workspace's, else en)."


@rule_app.command("show")
def rule_show(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The workspace's rule (defaults when never set) and recipients."""
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        data = _rule_json(session, space.id)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key != "recipients":
            out.print(safe(f"{key}: {value}"))
    for recipient in data["recipients"]:
        reads = f", reads {recipient['language']}" if recipient["language"] else ""
        out.print(
            safe(f"recipient {recipient['id']}: {recipient['kind']} {recipient['target']} ({recipient['on']}{reads})")
        )
    if not data["recipients"]:
        out.print("No recipient yet: `pilote alert-rule recipient-add email you@example.org`.")


def _rule_json(session: Session, workspace_id: int) -> dict[str, Any]:
    rule = rules.get(session, workspace_id=workspace_id)
    data: dict[str, Any] = {name: getattr(rule, name) for name in rule.__dataclass_fields__}
    data["series"] = list(rule.series)
    data["language"] = workspaces.language(session, workspace_id)
    data["recipients"] = [
        {"id": r.id, "kind": r.kind, "target": r.target, "on": r.on, "language": r.language}
        for r in rules.recipients(session, workspace_id=workspace_id)
    ]
    return data


@rule_app.command("set")
def rule_set(
    workspace: WorkspaceOpt = None,
    sensitivity: Annotated[str | None, typer.Option(help="low, medium or high.")] = None,
    series: Annotated[str | None, typer.Option(help="Comma-separated series that may alert.")] = None,
    min_volume: Annotated[int | None, typer.Option(help="Messages in 5 minutes below which nothing alerts.")] = None,
    min_reach: Annotated[int | None, typer.Option(help="Reach in 5 minutes below which reach is quiet.")] = None,
    quiet: Annotated[str | None, typer.Option(help="Quiet hours, e.g. 22:00-07:00, or off.")] = None,
    timezone: Annotated[str | None, typer.Option(help="Time zone of the quiet hours, e.g. Europe/Paris.")] = None,
    escalate_after: Annotated[int | None, typer.Option(help="Minutes before escalation; 0 for never.")] = None,
    spam_threshold: Annotated[float | None, typer.Option(help="Skip what the spam model rates this; 0: off.")] = None,
    enabled: Annotated[bool | None, typer.Option("--on/--off", help="Alerts on or off for this workspace.")] = None,
    language: Annotated[str | None, typer.Option(help=LANGUAGE_HELP + " By default for every recipient.")] = None,
) -> None:  # fmt: skip
    """Change the workspace's rule; what is not given keeps its value."""
    changes: dict[str, Any] = {}
    if quiet is not None:
        changes["quiet_start"], changes["quiet_end"] = rules.parse_quiet(quiet)
    named = {"sensitivity": sensitivity, "min_volume": min_volume, "min_reach": min_reach, "timezone": timezone,
             "enabled": enabled}  # fmt: skip
    changes.update({key: value for key, value in named.items() if value is not None})
    if series is not None:
        changes["series"] = tuple(name.strip() for name in series.split(",") if name.strip())
    if escalate_after is not None:
        changes["escalate_after"] = escalate_after or None
    if spam_threshold is not None:
        changes["spam_threshold"] = spam_threshold or None
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        rules.update(session, workspace_id=space.id, **changes)
        if language is not None:
            workspaces.set_language(session, workspace_id=space.id, language=None if language == "none" else language)
        slug = space.slug
    out.print(f"Alert rule of {slug!r} updated.")


@rule_app.command("recipient-add")
def recipient_add(
    kind: Annotated[str, typer.Argument(help="email, webhook or slack (Slack or Mattermost incoming webhook).")],
    target: Annotated[str, typer.Argument(help="The e-mail address or the webhook URL.")],
    workspace: WorkspaceOpt = None,
    on: Annotated[str, typer.Option(help="always, or escalation (only when nobody acknowledged).")] = "always",
    secret: Annotated[str | None, typer.Option(help="Webhook signing secret (default: generated).")] = None,
    language: Annotated[str | None, typer.Option(help=LANGUAGE_HELP)] = None,
) -> None:
    """Add someone (or something) to tell."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        added = rules.add_recipient(session, workspace_id=space.id, kind=kind, target=target, on=on, secret=secret,
                                    language=language)  # fmt: skip
        shown = added.secret if kind == "webhook" and secret is None else None
        number = added.id
    out.print(f"Recipient {number} added.")
    if shown:
        out.print(f"Signing secret (shown once; verify X-Pilote-Signature with it): {shown}")


@rule_app.command("recipient-language")
def recipient_language(
    recipient_id: int,
    language: Annotated[str, typer.Argument(help="en or fr; none: the account's, else the workspace's.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Choose the language a recipient reads."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        chosen = None if language == "none" else language
        rules.set_recipient_language(session, workspace_id=space.id, recipient_id=recipient_id, language=chosen)
    out.print(f"Recipient {recipient_id} reads {language}.")


@rule_app.command("recipient-remove")
def recipient_remove(recipient_id: int, workspace: WorkspaceOpt = None) -> None:
    """Remove a recipient."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        rules.remove_recipient(session, workspace_id=space.id, recipient_id=recipient_id)
    out.print(f"Recipient {recipient_id} removed.")


def watch_command(
    once: Annotated[bool, typer.Option("--once", help="One tick over what is stored now, then exit.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Run the radar: process what is new, raise alerts, send notifications (`pilote serve` does it too)."""
    config = settings()
    with store(config) as engine:
        while True:
            # Alone, a single tick need not wait for writes to settle: the caller's import is over.
            report = tick(engine, config, settle=timedelta(0) if once else SETTLE)
            _print_report(report, as_json)
            if once:
                return
            time.sleep(config.radar_interval)


def _print_report(report: TickReport, as_json: bool) -> None:
    if as_json:
        sys_out = {key: getattr(report, key) for key in report.__dataclass_fields__}
        out.print(json.dumps(sys_out), markup=False)
        return
    if report.messages or report.alerts or report.past_alerts or report.delivered or report.waiting:
        waiting = f", {len(report.waiting)} workspace(s) still being written" if report.waiting else ""
        past = f", {len(report.past_alerts)} about the past (past episodes)" if report.past_alerts else ""
        skipped = f", {report.late:,} too late and {report.ahead:,} dated ahead not counted" if (
            report.late or report.ahead) else ""  # fmt: skip
        err.print(f"radar: {report.messages:,} new message(s){skipped}, {len(report.alerts)} alert(s){past}, "
                  f"{report.delivered} notification(s) attempted{waiting}")  # fmt: skip
