"""`pilote leaders`: ambassadors, detractors, bridges and rising members of a period, with their evidence."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from pilote import leaders, workspaces
from pilote.cli.common import parse_when, patient, print_json, say_computed, store
from pilote.leaders import kept
from pilote.terminal import out, safe

WorkspaceOpt = Annotated[str | None, typer.Option("--workspace", "-w", help="Workspace (default: the only one).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
FreshOpt = Annotated[bool, typer.Option("--fresh", help="Compute now, even where a worker kept the values.")]
EXTRA = {"bridges": "betweenness", "rising": "before"}  # the column that shows why they are in that list
PLURALS = {"reply": "replies", "mention": "mentions", "quote": "quotes"}
LISTS = {
    "ambassadors": "Ambassadors: influential, and their messages lean positive",
    "detractors": "Detractors: influential, and their messages lean negative",
    "bridges": "Bridges: in touch with several sub-communities, on the paths between them",
    "rising": "Rising: at least twice as influential as in the period before",
}


def leaders_command(
    workspace: WorkspaceOpt = None,
    period: Annotated[str | None, typer.Option(help="7d, 30d, 90d or all, up to now (default 30d).")] = None,
    since: Annotated[str | None, typer.Option(help="Start date (instead of --period).")] = None,
    until: Annotated[str | None, typer.Option(help="End date, excluded (default: now).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many people per list.")] = 20,
    fresh: FreshOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Opinion leaders of a period, from who answers, mentions and quotes whom (docs/leaders.md): a standard period
    as a worker kept it (`computed_at`), anything else computed now."""
    start, end = parse_when(since, "--since"), parse_when(until, "--until")
    reader = patient("the leaders", fresh=fresh)
    with store() as engine, Session(engine) as session:
        space = workspaces.resolve(session, slug=workspace)
        served = kept.leaders_of(session, space.id, period, since=start, until=end, limit=limit, reader=reader)
    assert served is not None  # a patient reader waits for the computation
    found = served.value
    if as_json:
        print_json(dataclasses.asdict(found))
        return
    say_computed(found.computed_at)
    shown = ", ".join(f"{count} {PLURALS[kind] if count != 1 else kind}" for kind, count in found.interactions.items())
    out.print(f"{found.since:%Y-%m-%d %H:%M} → {found.until:%Y-%m-%d %H:%M} UTC: {found.people} people, {shown}; "
              f"{len(found.communities)} sub-communities of 3 people or more.")  # fmt: skip
    for name, title in LISTS.items():
        _table(title, getattr(found, name), EXTRA.get(name))
    if found.previous_since is None:
        out.print("No period before `all`: nobody is rising.")


def _table(title: str, people: list[leaders.Leader], extra: str | None) -> None:
    if not people:
        out.print(f"{title}: nobody.")
        return
    table = Table(title=title)
    for name in ("person (id)", "influence", *([extra] if extra else []), "reached by", "+/=/−"):
        table.add_column(name, no_wrap=name != "person (id)")
    table.add_column("top message", no_wrap=True, overflow="ellipsis", max_width=26)
    for person in people:
        shown = {"before": f"{person.previous_influence or 0:.2f}", "betweenness": f"{person.betweenness:.3f}"}
        mix = "/".join(str(person.sentiment.get(side, 0)) for side in ("positive", "neutral", "negative"))
        top = " ".join(person.top_messages[0].text.split()) if person.top_messages else ""
        table.add_row(safe(f"{person.name} ({person.author_id})"), f"{person.influence:.2f}",
                      *([shown[extra]] if extra else []), str(person.reached_by), mix, safe(top))  # fmt: skip
    out.print(table)
