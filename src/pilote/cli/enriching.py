"""`pilote enrich`: analyse the messages that need it, with a progress bar per analyzer."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from pilote import enrich, workspaces
from pilote.cli.common import parse_when, print_json, store
from pilote.enrich.pipeline import EnrichReport, run
from pilote.inbox import intake as inbox_intake
from pilote.inbox import rejudged
from pilote.models import Workspace
from pilote.progress import bar
from pilote.terminal import err, out


def enrich_workspace(
    engine: Engine,
    workspace: str | None,
    *,
    since: str | None = None,
    force: bool = False,
    names: list[str] | None = None,
    workers: int | None = None,
) -> EnrichReport:
    """Run the analyzers on one workspace with progress on stderr (also used after imports), then bring what
    needs the team into the inbox."""
    analyzers = enrich.get(names)
    with Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
    with bar(err, thread=False) as progress:  # no refresh thread: the pipeline forks its workers
        tasks = {a.name: progress.add_task(f"{a.name}", total=None) for a in analyzers}

        def report(name: str, done: int, total: int) -> None:
            progress.update(tasks[name], completed=done, total=total)  # 0 to do reads "0/0", done
            progress.refresh()

        result = run(engine, analyzers, workspace_id=space.id, since=parse_when(since, "--since"), force=force,
                     progress=report, workers=workers)  # fmt: skip
    inbox_intake.take_new(engine, space.id)  # what the analysis says needs the team goes to the inbox
    rejudged.follow(engine, space.id, result.rejudged)  # and its items follow the messages judged again
    return result


def analyse_now(engine: Engine, workspace_id: int) -> None:
    """What the command line does with what an import or a sync brought: analyse it now, with progress."""
    with Session(engine) as session:
        slug = session.get_one(Workspace, workspace_id).slug
    enrich_workspace(engine, slug)


def enrich_command(
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Only messages from this date on.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Analyse again even what is up to date.")] = False,
    analyzer: Annotated[list[str] | None, typer.Option("--analyzer", help="Only this analyzer (repeatable).")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Worker processes (default: 2 on 2 cores or more).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Understand messages offline: language, keyphrases, sentence vectors and the four heads by default (the
    vectors unless PILOTE_EMBEDDINGS=false); --analyzer NAME for some only."""
    with store() as engine:
        result = enrich_workspace(engine, workspace, since=since, force=force, names=analyzer, workers=workers)
    if as_json:
        spent = {k: round(v, 3) for k, v in result.seconds.items()}
        print_json(
            {
                "analysed": result.analysed,
                "seconds": spent,
                "elapsed": round(result.elapsed, 3),
                "workers": result.workers,
                "judged_again": len(result.rejudged),
            }
        )
        return
    for name, count in result.analysed.items():
        seconds = result.seconds[name]
        rate = f" ({count / seconds:,.0f}/s of its own time)" if count and seconds else ""
        out.print(f"{name}: {count:,} messages analysed{rate}")
    if result.rejudged:
        out.print(f"{len(result.rejudged):,} messages judged again: older messages arrived before them")
    out.print(f"done in {result.elapsed:.1f}s")
