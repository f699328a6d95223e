"""A reproducible demo community: the fictitious bike maker Vélo Lumen, its blog, forum and social mentions.

`simulate` writes a few months of a bilingual community into a workspace, through the same upsert as
real imports, with spam waves and a bad buzz whose ground truth is in each message's raw payload and
in the report. See docs/demo.md.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from pilote.errors import Invalid
from pilote.ingest import Counts
from pilote.simulate import followers, store
from pilote.simulate import replies as saved_replies
from pilote.simulate.clock import Window
from pilote.simulate.records import Episode
from pilote.simulate.timeline import unfold

__all__ = ["Episode", "SimulationReport", "simulate"]

BATCH_SIZE = 2000
DAYS = (7, 3650)
MEMBERS = (50, 500_000)


@dataclass(slots=True)
class SimulationReport:
    """What a simulation wrote, and where its ground-truth episodes lie."""

    workspace: str
    seed: int
    start: datetime
    end: datetime
    members: int
    messages: int
    kinds: dict[str, int]
    sources: dict[str, int]
    counts: Counts
    pruned: int
    episodes: list[Episode]
    seconds: float


def simulate(
    engine: Engine,
    *,
    workspace: str,
    days: int = 90,
    members: int = 5000,
    seed: int = 1,
    end: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationReport:
    """Write the demo community into `workspace` (created if missing) and say what it holds.

    The window is the `days` days before `end`; without `end`, before the current hour (UTC), so that the
    demo runs up to the present (ending it at midnight left today empty: a false collapse on the Overview);
    pass `end` for a reproducible window (a naive `end` is taken as UTC). The same seed, days, members and
    end always write the same messages: a re-run changes nothing, and a run with other settings replaces the
    demo that was there.
    """
    started = time.perf_counter()
    window = _window(days, members, end)
    timeline = unfold(seed, window, members)
    items = store.items(timeline.drafts, window)
    settings = {"seed": seed, "days": days, "members": members, "end": window.moment(window.hours).isoformat()}
    targets = store.open_sources(engine, workspace, settings)
    pruned = store.prune(engine, targets, items)
    counts = store.write(engine, targets, items, BATCH_SIZE, progress)
    store.write_followers(engine, targets["social"], followers.observations(seed, window, timeline.episodes))
    saved_replies.seed(engine, next(iter(targets.values())).workspace_id)
    return SimulationReport(
        workspace=workspace,
        seed=seed,
        start=window.start,
        end=window.moment(window.hours),
        members=timeline.members,
        messages=len(timeline.drafts),
        kinds=dict(sorted(Counter(d.kind for d in timeline.drafts).items())),
        sources={key: len(values) for key, values in items.items()},
        counts=counts,
        pruned=pruned,
        episodes=timeline.episodes,
        seconds=time.perf_counter() - started,
    )


def _window(days: int, members: int, end: datetime | None) -> Window:
    if not DAYS[0] <= days <= DAYS[1]:
        raise Invalid(f"days={days}: the demo needs between {DAYS[0]} and {DAYS[1]} days (its episodes need room)")
    if not MEMBERS[0] <= members <= MEMBERS[1]:
        raise Invalid(f"members={members}: choose between {MEMBERS[0]} and {MEMBERS[1]}")
    if end is None:
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    elif end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    end = end.astimezone(UTC).replace(microsecond=0)
    return Window(start=end - timedelta(days=days), days=days)
