"""`pilote metrics`: the catalogue's values for a period beside the period before it; competitors' keywords."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import metrics, workspaces
from pilote.cli.common import parse_when, patient, print_json, say_computed, store
from pilote.metrics import conversation, kept
from pilote.terminal import out, safe

metrics_app = typer.Typer(help="Metrics that matter: engagement, response, community health.")
WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
FreshOpt = Annotated[bool, typer.Option("--fresh", help="Compute now, even where a worker kept the values.")]


@metrics_app.callback(invoke_without_command=True)
def metrics_command(
    ctx: typer.Context,
    workspace: WorkspaceOpt = None,
    period: Annotated[str | None, typer.Option(help="7d, 30d (default), 90d or all, up to now.")] = None,
    since: Annotated[str | None, typer.Option(help="Start (a date or an ISO 8601 time).")] = None,
    until: Annotated[str | None, typer.Option(help="End, excluded (default: now).")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel (e.g. blog:example.org).")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source (its id, name or key).")] = None,
    language: Annotated[str | None, typer.Option(help="Only messages in this language (e.g. fr).")] = None,
    topic: Annotated[
        str | None, typer.Option(help="Only messages with this keyphrase, or one holding its words.")
    ] = None,
    fresh: FreshOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Every metric of the catalogue (docs/metrics.md) for the period, with the previous period beside it: a
    standard period over the whole workspace as a worker kept it (`computed_at`), anything else computed now."""
    if ctx.invoked_subcommand is not None:
        return
    start, end = parse_when(since, "--since"), parse_when(until, "--until")
    reader = patient("the metrics", fresh=fresh)
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        only = metrics.narrow(session, space.id, channel=channel, source=source, language=language, topic=topic)
        served = kept.report_of(session, space.id, period, since=start, until=end, focus=only, reader=reader)
    assert served is not None  # a patient reader waits for the computation
    found = served.value
    if as_json:
        print_json(found.as_json() | {"computed_at": served.computed_at})
        return
    say_computed(served.computed_at)
    title = f"{found.since:%Y-%m-%d %H:%M} → {found.until:%Y-%m-%d %H:%M} UTC"
    table = Table("metric", "value", "previous", "unit", title=title)
    tables = [figure for figure in found.figures if isinstance(figure.value, dict)]
    for figure in found.figures:
        if figure not in tables:
            table.add_row(figure.name, _shown(figure.value), _shown(figure.previous), figure.unit)
    out.print(table)
    for figure in tables:
        out.print(safe(f"{figure.name} ({figure.unit}):"))
        for key, value in figure.value.items():
            out.print(safe(f"  {key}: {_shown(value)}"))
    for figure in found.figures:
        if figure.note:
            out.print(safe(f"{figure.name}: {figure.note}"))


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{key} {_shown(inner)}" for key, inner in value.items())
    if isinstance(value, list):
        return " ".join(_shown(inner) for inner in value)
    return str(value)


competitors_app = typer.Typer(no_args_is_help=True, help="Keyword sets for share of voice (`us` is ours).")
metrics_app.add_typer(competitors_app, name="competitors")


@competitors_app.command("set")
def set_command(
    name: Annotated[str, typer.Argument(help="A competitor's name, or `us` for the organisation.")],
    keywords: Annotated[list[str] | None, typer.Argument(help="Words that name it; none removes the set.")] = None,
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set one keyword set (replacing it), or remove it when no keyword is given."""
    with store() as engine, Session(engine) as session, session.begin():
        space = workspaces.resolve(session, slug=workspace)
        sets = conversation.set_competitor(session, space.id, name, keywords or [])
    _print(sets, as_json)


@competitors_app.command("list")
def list_command(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """The keyword sets of share of voice."""
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        sets = conversation.competitors(session, space.id)
    _print(sets, as_json)


def _print(sets: dict[str, list[str]], as_json: bool) -> None:
    if as_json:
        print_json({"competitors": sets})
        return
    if not sets:
        out.print("No keyword set: `pilote metrics competitors set us OURNAME`, then one per competitor.")
    for name, words in sets.items():
        out.print(safe(f"{name}: {', '.join(words)}"))
