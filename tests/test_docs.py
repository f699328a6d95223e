"""The documentation is part of the product: settings and commands that are not documented fail here."""

from __future__ import annotations

from pathlib import Path

import typer

from pilote import metrics
from pilote.cli import app
from pilote.config import Settings
from pilote.messages import EXPORT_FIELDS
from pilote.metrics import docs as metrics_docs
from pilote.sources import FORMATS

DOCS = Path(__file__).resolve().parents[1] / "docs"
README = (DOCS.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"`PILOTE_{name.upper()}`" in text, name


def test_every_export_field_is_documented() -> None:
    text = (DOCS / "export.md").read_text(encoding="utf-8")
    for field in EXPORT_FIELDS:
        assert f"`{field}`" in text, field


def test_every_import_format_is_listed_in_the_readme() -> None:
    for name in FORMATS:
        assert f"`{name}`" in README, name


def test_every_command_appears_in_the_readme_tour() -> None:
    for name in typer.main.get_command(app).commands:  # type: ignore[attr-defined]
        assert f"pilote {name}" in README, name


def test_the_readme_gives_the_two_commands() -> None:
    assert "make run" in README
    assert "make test" in README


def test_the_metrics_page_is_the_registry_s() -> None:
    text = (DOCS / "metrics.md").read_text(encoding="utf-8")
    assert metrics_docs.MARK in text
    assert text == metrics_docs.render(text), "run: python -m pilote.metrics.docs docs/metrics.md"
    for name in metrics.CATALOGUE:
        assert f"`{name}`" in text, name
