"""`python -m pilote` runs the command line."""

from pilote.cli import app

app(prog_name="pilote")
