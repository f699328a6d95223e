"""Rich progress bars with count, rate and ETA, on stderr so that stdout stays scriptable."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f}/s" if speed else "", style="progress.data.speed")


def bar(console: Console, *, thread: bool = True) -> Progress:
    """A progress display: what, bar, done/total, rate, elapsed, time left. With `thread=False` it has no
    refresh thread and redraws only when its owner calls `refresh()` (a process that forks workers must
    not run other threads)."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False, auto_refresh=thread,
    )  # fmt: skip


Tick = Callable[..., None]


@contextmanager
def counting_bar(console: Console, description: str, total: int) -> Iterator[Tick]:
    """A bar and a `tick()` to advance it by one, or `tick(done=N, total=M)` to set it."""
    with bar(console) as progress:
        task = progress.add_task(description, total=total or None)

        def tick(done: int | None = None, total: int | None = None) -> None:
            if done is None:
                progress.advance(task)
            else:
                progress.update(task, completed=done, total=total or None)

        yield tick
