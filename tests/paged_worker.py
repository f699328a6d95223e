"""`pilote worker` with the tests' own platform registered: what the workers' test runs as processes."""

from __future__ import annotations

import sys

import paged_connector
from pilote import sources
from pilote.cli import app

if __name__ == "__main__":
    sources.CONNECTORS["paged"] = paged_connector  # type: ignore[assignment]
    app(["worker", *sys.argv[1:]], prog_name="pilote")
