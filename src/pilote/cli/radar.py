"""`pilote radar`: backtest the detector on any history, and score it on the NAB benchmark."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from pilote.cli.common import print_json
from pilote.errors import Invalid
from pilote.radar import nab
from pilote.radar.backtest import backtest
from pilote.radar.detectors import SENSITIVITIES
from pilote.terminal import out, safe

radar_app = typer.Typer(no_args_is_help=True, help="The bad-buzz radar: backtest and benchmark its detectors.")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _sensitivity(value: str) -> str:
    if value not in SENSITIVITIES:
        raise Invalid(f"--sensitivity {value}: use one of {', '.join(SENSITIVITIES)}")
    return value


@radar_app.command("backtest")
def backtest_command(
    file: Annotated[Path, typer.Argument(help="A CSV file `timestamp,value` with a regular step.")],
    sensitivity: Annotated[str, typer.Option(help="low, medium or high.")] = "medium",
    as_json: JsonOpt = False,
) -> None:
    """Print the alerts the detector would have raised on a `timestamp,value` history."""
    alerts = backtest(file, _sensitivity(sensitivity))
    if as_json:
        print_json({"file": str(file), "sensitivity": sensitivity, "alerts": [a.as_json() for a in alerts]})
        return
    if not alerts:
        out.print(f"No alert at {sensitivity} sensitivity.")
        return
    table = Table("timestamp", "score", "severity")
    for alert in alerts:
        table.add_row(safe(alert.timestamp), f"{alert.score:.3f}", alert.severity)
    out.print(table)
    out.print(f"{len(alerts)} alert(s) at {sensitivity} sensitivity.")


@radar_app.command("nab")
def nab_command(
    data: Annotated[Path, typer.Option("--data", help="A folder with NAB's layout (realTweets/, labels/).")],
    as_json: JsonOpt = False,
) -> None:
    """Score the detector on NAB's realTweets files, beside the published detectors."""
    result = nab.run(data)
    if as_json:
        print_json(
            {
                "profiles": {
                    name: {
                        "sensitivity": nab.SENSITIVITY_FOR[name],
                        "score": round(score, 2),
                        "windows_detected": result.detected[name][0],
                        "windows": result.detected[name][1],
                        "false_alerts": result.detected[name][2],
                        "median_delay_minutes": result.median_delay_minutes[name],
                    }
                    for name, score in result.ours.items()
                },
                "published": {d: {p: round(s, 2) for p, s in by.items()} for d, by in result.published.items()},
            }
        )
        return
    _print_nab(result)


def _print_nab(result: nab.NabResult) -> None:
    names = list(nab.PROFILES)
    table = Table("detector", *names, title="NAB realTweets, normalised scores (higher is better)")
    table.add_row("[bold]pilote[/bold]", *(f"[bold]{result.ours[n]:.1f}[/bold]" for n in names))
    ranked = sorted(result.published.items(), key=lambda item: -item[1].get("standard", 0.0))
    for detector, scores in ranked:
        table.add_row(safe(detector), *(f"{scores[n]:.1f}" if n in scores else "-" for n in names))
    out.print(table)
    for name in names:
        found, windows, false_alerts = result.detected[name]
        delay = result.median_delay_minutes[name]
        said = f"{delay:.0f} min" if delay is not None else "-"
        out.print(
            f"{name} ({nab.SENSITIVITY_FOR[name]}): {found}/{windows} windows detected, {false_alerts} false "
            f"alert(s), median delay from window start to first alert {said}"
        )
