"""Building the heads shipped in the package (a developer's command, not a user's):

    python -m pilote.enrich.ship [--task sentiment] [--data ../shared/data]

writes src/pilote/enrich/models/<task>.npz and its model card, and prints the held-out scores. `pilote models
train` runs the same recipe for an installation and writes into $PILOTE_HOME/models instead: the package's
own files change only through this command, and only in a checkout of the repository.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pilote.enrich.datasets import shared_folder
from pilote.enrich.heads import path_of
from pilote.enrich.tasks import TASKS
from pilote.enrich.training import REPO_DATA, train


def ship(names: list[str], shared: Path) -> None:
    """Train each task's head on the shared data and the repository's files, into the package."""
    if not REPO_DATA.is_dir():
        raise SystemExit(f"{REPO_DATA}: no such folder; ship models from a checkout of the repository")
    if not shared.is_dir():
        raise SystemExit(f"--data {shared}: no such folder; point it (or PILOTE_SHARED_DATA) at the shared data")
    for name in names:
        _, measured = train(TASKS[name], shared, REPO_DATA, path_of(name))
        print(f"{name} → {path_of(name)}")
        for metric, value in measured.items():
            print(f"  {metric}: {value:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m pilote.enrich.ship", description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=list(TASKS), help="one task (default: all)")
    parser.add_argument("--data", type=Path, default=None, help="the shared data folder (default ../shared/data)")
    arguments = parser.parse_args()
    ship([arguments.task] if arguments.task else list(TASKS), arguments.data or shared_folder())


if __name__ == "__main__":
    main()
