"""Write the catalogue table of docs/metrics.md from the registry: `python -m pilote.metrics.docs docs/metrics.md`."""

from __future__ import annotations

import sys
from pathlib import Path

from pilote.metrics import markdown

MARK = "<!-- written from src/pilote/metrics (python -m pilote.metrics.docs docs/metrics.md); do not edit below -->\n"


def render(text: str) -> str:
    """The page with everything after MARK written again from the registry."""
    head = text.split(MARK, 1)[0] if MARK in text else text.rstrip("\n") + "\n\n"
    return head + MARK + "\n" + markdown()


def main(argv: list[str]) -> int:
    """Rewrite the page named on the command line."""
    path = Path(argv[0])
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
