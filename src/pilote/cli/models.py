"""`pilote models`: train the classifier heads and measure them on labelled files they never saw."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from pilote.cli.common import print_json

if TYPE_CHECKING:
    from pilote.enrich.training import Scores
from pilote.enrich.heads import in_force, load, own_path
from pilote.errors import Invalid
from pilote.terminal import err, out

# The names only: the tasks themselves load scikit-learn, which the rest of the CLI does not need.
TASK_NAMES = ("sentiment", "spam", "toxicity", "intent")

models_app = typer.Typer(no_args_is_help=True, help="Train and evaluate the sentiment, spam, toxicity, intent heads.")

TaskOpt = Annotated[str | None, typer.Option("--task", help="sentiment, spam, toxicity or intent (default: all).")]


def _tasks(name: str | None) -> list[str]:
    if name is None:
        return list(TASK_NAMES)
    if name not in TASK_NAMES:
        raise Invalid(f"--task {name}: use one of {', '.join(TASK_NAMES)}")
    return [name]


@models_app.command("train")
def train_command(
    task: TaskOpt = None,
    data: Annotated[Path | None, typer.Option("--data", help="Shared data folder (default ../shared/data).")] = None,
    workspace: Annotated[
        str | None, typer.Option("--workspace", "-w", help="Fine-tune its heads on the labels people set.")
    ] = None,
) -> None:
    """Train this installation's heads into $PILOTE_HOME/models (used over the shipped ones), print their scores.

    With --workspace, fine-tune that workspace's heads on the labels people set in the cockpit instead (stored
    in the database). The package's own heads are never written (developers: `python -m pilote.enrich.ship`).
    """
    if workspace is not None:
        _train_workspace(workspace, _tasks(task))
        return
    from pilote.enrich.datasets import shared_folder
    from pilote.enrich.tasks import TASKS
    from pilote.enrich.training import REPO_DATA, train

    shared = data or shared_folder()
    if not shared.is_dir():
        raise Invalid(f"--data {shared}: no such folder; point it (or PILOTE_SHARED_DATA) at the shared data")
    if not REPO_DATA.is_dir():
        raise Invalid(f"{REPO_DATA}: no such folder; the team's labelled files come with a checkout of Pilote")
    for name in _tasks(task):
        err.print(f"training {name}…")
        _, measured = train(TASKS[name], shared, REPO_DATA, own_path(name))
        out.print(f"[bold]{name}[/bold] → {own_path(name)} (used instead of the shipped head)")
        for metric, value in measured.items():
            out.print(f"  {metric}: {value:.1f}")


def _train_workspace(slug: str, names: list[str]) -> None:
    from sqlalchemy.orm import Session

    from pilote import workspaces
    from pilote.cli.common import store
    from pilote.cli.enriching import enrich_workspace
    from pilote.enrich import finetune
    from pilote.enrich.classifiers import head

    tuned: list[str] = []
    with store() as engine:
        with Session(engine) as session:
            space = workspaces.resolve(session, slug=slug)
        for name in names:
            try:
                with engine.begin() as conn:
                    done = finetune.train_workspace(conn, space.id, name, head(name))
            except Invalid as error:
                if len(names) == 1:
                    raise
                err.print(f"{name}: skipped, {error}")
                continue
            counts = ", ".join(f"{label} {n}" for label, n in done.per_class.items())
            out.print(f"[bold]{name}[/bold] fine-tuned for {space.slug} on {done.labels} labels ({counts})")
            tuned.append(name)
        if not tuned:
            raise Invalid(f"workspace {space.slug} has too few human labels to fine-tune any head: label more messages")
        enrich_workspace(engine, space.slug, force=True, names=tuned)


@models_app.command("eval")
def eval_command(
    task: Annotated[str, typer.Option("--task", help="sentiment, spam, toxicity or intent.")],
    data: Annotated[Path, typer.Option("--data", help="A labelled file the model was not trained on.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the scores as JSON.")] = False,
) -> None:
    """Macro-F1, accuracy, per-class scores and confusion matrix of a head on a labelled file.

    A sentiment file labelled negative/positive only (reviews) is scored on those two classes: positive when
    P(positive) >= P(negative), the model's neutral ignored; the output says so.
    """
    from pilote.enrich.training import TWO_CLASS_NOTE, evaluate

    scores, scope = evaluate(load(in_force(_tasks(task)[0])), data)
    note = TWO_CLASS_NOTE if scores.two_class else None
    if as_json:
        print_json({"macro_f1": scores.macro_f1, "accuracy": scores.accuracy, "per_class": scores.per_class,
                    "confusion": scores.confusion, "rows": scope, "two_class": scores.two_class,
                    "note": note})  # fmt: skip
        return
    _render(task, scores, scope, note)


def _render(task: str, scores: Scores, scope: str, note: str | None) -> None:
    out.print(f"[bold]{task}[/bold] on {scope}: macro-F1 {scores.macro_f1:.1f}, accuracy {scores.accuracy:.1f}")
    if note:
        out.print(f"Scored on {note}.")
    table = Table("class", "precision", "recall", "F1", "support")
    for name, row in scores.per_class.items():
        table.add_row(name, f"{row['precision']:.1f}", f"{row['recall']:.1f}", f"{row['f1']:.1f}", str(row["support"]))
    out.print(table)
    confusion = Table("true \\ predicted", *scores.confusion)
    for name, counts in scores.confusion.items():
        confusion.add_row(name, *(str(v) for v in counts.values()))
    out.print(confusion)
