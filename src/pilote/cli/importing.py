"""`pilote import`: progress while it runs, then a summary table (or --json)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import Engine

from pilote.cli.common import print_json, settings, store
from pilote.cli.enriching import enrich_workspace
from pilote.errors import Invalid, PiloteError
from pilote.imports import ImportReport, import_file
from pilote.progress import bar
from pilote.sources.base import ParseOptions
from pilote.terminal import err, out, safe


def _mapping(pairs: list[str]) -> tuple[tuple[str, str], ...]:
    mapping = []
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field.strip() or not column.strip():
            raise Invalid(f"--map {pair!r}: write it as field=column, e.g. --map text=body")
        mapping.append((field.strip(), column.strip()))
    return tuple(mapping)


def import_command(
    paths: Annotated[list[Path], typer.Argument(help="Export files to import.", show_default=False)],
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")
    ] = None,
    format: Annotated[str | None, typer.Option("--format", "-f", help="Skip detection: wxr, rss, csv...")] = None,
    map_: Annotated[list[str] | None, typer.Option("--map", help="CSV/JSONL: field=column (repeatable).")] = None,
    encoding: Annotated[str, typer.Option(help="CSV/JSONL text encoding.")] = "utf-8",
    source: Annotated[str | None, typer.Option("--source", help="Source key: merge exports of one place.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    no_enrich: Annotated[bool, typer.Option("--no-enrich", help="Do not analyse the new messages now.")] = False,
) -> None:
    """Import exports (WordPress, RSS/Atom, Disqus, CSV, JSONL, X archive); re-importing is safe."""
    options = ParseOptions(encoding=encoding, mapping=_mapping(map_ or []), source_key=source)
    with store() as engine:
        # The enrichment that follows recounts the dashboards' hours once for every file: not each import too.
        reports, failures = _import_all(engine, paths, workspace, format, options, refresh_rollups=no_enrich)
        if not no_enrich:
            for slug in sorted({report.workspace for report in reports if report.counts.new or report.counts.updated}):
                enrich_workspace(engine, slug)
    if as_json:
        print_json({"imports": [_as_json(report) for report in reports], "failed": failures})
    elif reports:
        out.print(_table(reports))
    for report in reports:
        for sample in report.error_samples:
            err.print("[yellow]skipped[/yellow]", safe(f"{report.path}: {sample}"))
    if failures:
        raise typer.Exit(1)


def _import_all(
    engine: Engine,
    paths: list[Path],
    workspace: str | None,
    format: str | None,
    options: ParseOptions,
    *,
    refresh_rollups: bool,
) -> tuple[list[ImportReport], list[str]]:
    """Each file on its own: a refused file is reported and the others still import."""
    reports: list[ImportReport] = []
    failures: list[str] = []
    for path in paths:
        try:
            reports.append(_import_one(engine, path, workspace, format, options, refresh_rollups))
        except KeyboardInterrupt:
            err.print(
                "[yellow]interrupted:[/yellow]",
                safe(f"{path} stopped at a checkpoint; run the same command again to resume."),
            )
            raise typer.Exit(130) from None
        except PiloteError as error:
            failures.append(str(error))
            err.print("[red]error:[/red]", safe(f"{error} — nothing from this file was written."))
    return reports, failures


def _import_one(
    engine: Engine, path: Path, workspace: str | None, format: str | None, options: ParseOptions, refresh_rollups: bool
) -> ImportReport:
    with bar(err) as progress:
        task = progress.add_task(f"{path.name}: checking", total=None)

        def report(phase: str, done: int, total: int) -> None:
            progress.update(task, description=f"{path.name}: {phase}", completed=done, total=total or None)

        return import_file(
            engine,
            path,
            workspace=workspace,
            format=format,
            options=options,
            progress=report,
            batch_size=settings().batch_size,
            refresh_rollups=refresh_rollups,
        )


def _as_json(report: ImportReport) -> dict[str, Any]:
    return {
        "path": report.path, "format": report.format, "workspace": report.workspace, "source": report.source,
        "run_id": report.run_id, "total": report.total, "new": report.counts.new, "updated": report.counts.updated,
        "unchanged": report.counts.unchanged, "errors": report.counts.errors, "erased": report.counts.erased,
        "resumed_from": report.resumed_from,
        "seconds": round(report.seconds, 3), "cpu_seconds": round(report.cpu_seconds, 3),
        "error_samples": report.error_samples,
    }  # fmt: skip


def _table(reports: list[ImportReport]) -> Table:
    table = Table(title="Import summary", title_justify="left")
    table.add_column("file", overflow="fold")
    for name in ("format", "new", "updated", "unchanged", "errors", "rate"):
        table.add_column(name, justify="left" if name == "format" else "right", no_wrap=True)
    for r in reports:
        rate = r.total / r.seconds if r.seconds else 0.0
        table.add_row(
            safe(Path(r.path).name), r.format, f"{r.counts.new:,}", f"{r.counts.updated:,}",
            f"{r.counts.unchanged:,}", f"{r.counts.errors:,}", f"{rate:,.0f}/s",
        )  # fmt: skip
    skipped = sum(r.counts.erased for r in reports)
    if skipped:
        table.caption = f"{skipped:,} messages skipped: their author was erased on request."
    return table
