"""The commands read what workers keep as the API does: `pilote leaders`, `pilote metrics` and `pilote members
suggest-merges` print the kept values of a standard period with when they were computed, the API's JSON; `--fresh`,
dates, a filter or nothing kept compute now, said on stderr, whatever the size of the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from factories import item, target
from pilote import tokens, workspaces
from pilote.cli import app
from pilote.config import Settings
from pilote.imports import import_file
from pilote.ingest import write_batch
from pilote.leaders import kept as lists_kept
from pilote.metrics import kept as reports_kept
from pilote.models import utcnow
from pilote.web.app import create_app
from test_leaders import TOWN
from test_metrics import small_community

LAST_DAY_OF_TOWN = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # after its last message: moved to now below


def moved(row: dict[str, object]) -> dict[str, object]:
    """A message of the town of test_leaders as if its last days were the last days before now."""
    written = datetime.fromisoformat(str(row["created_at"]))
    return {**row, "created_at": (utcnow() - (LAST_DAY_OF_TOWN - written)).isoformat()}


@pytest.fixture
def town(engine: Engine, tmp_path: Path) -> int:
    """The town's conversations in the last ten days (and its February a month before)."""
    path = tmp_path / "town.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(moved(row)) for row in TOWN))
    with Session(engine) as session, session.begin():
        workspace_id = workspaces.create(session, slug="acme").id
    import_file(engine, path, workspace="acme")
    return workspace_id


@pytest.fixture
def run(settings: Settings, env_for: Callable[[Settings], None]) -> Callable[..., Result]:
    env_for(settings)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def api(settings: Settings, engine: Engine) -> Iterator[Callable[[str], Any]]:
    """GET an API path with a token of workspace acme; the JSON answered."""
    with TestClient(create_app(settings, engine)) as client:

        def get(path: str) -> Any:
            with Session(engine) as session, session.begin():
                secret, _ = tokens.create(session, workspace=workspaces.get(session, slug="acme"), name="tests")
            answer = client.get(path, headers={"Authorization": f"Bearer {secret}"})
            assert answer.status_code == 200, answer.text
            return answer.json()

        yield get


def printed(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return read(orjson.loads(result.stdout))


def read(value: Any) -> Any:
    """JSON with its times as times (the API writes UTC as Z, the command as +00:00)."""
    if isinstance(value, dict):
        return {key: read(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [read(inner) for inner in value]
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def reply(engine: Engine, tmp_path: Path, external_id: str, parent: str, author: str) -> None:
    """A reply written now, imported into the town's source."""
    path = tmp_path / external_id / "town.jsonl"  # the file's stem names the source
    path.parent.mkdir()
    created = utcnow().replace(microsecond=0).isoformat()
    path.write_bytes(orjson.dumps({"external_id": external_id, "author": author, "parent_id": parent,
                                   "kind": "comment", "created_at": created, "text": external_id}))  # fmt: skip
    import_file(engine, path, workspace="acme")


def test_the_kept_leaders_print_as_the_api_serves_them_and_fresh_computes_what_changed(
    engine: Engine, town: int, run: Callable[..., Result], api: Callable[[str], Any], tmp_path: Path
) -> None:
    assert lists_kept.refresh(engine, town, force=True)
    kept = printed(run("leaders", "-w", "acme", "--period", "30d", "--json"))
    assert kept["computed_at"] is not None
    assert kept["interactions"]["reply"] > 0
    assert kept == read(api("/api/v1/leaders?period=30d"))
    assert printed(run("members", "suggest-merges", "-w", "acme", "--json")) == read(api("/api/v1/members/suggestions"))
    shown = run("leaders", "-w", "acme", "--period", "30d")
    assert "Computed at" in shown.stdout
    assert shown.stderr == ""  # nothing computed
    reply(engine, tmp_path, "late", "a1", "zoe")  # zoe answers ana after the lists were kept
    assert printed(run("leaders", "-w", "acme", "--period", "30d", "--json")) == kept  # kept until a worker's turn
    fresh = run("leaders", "-w", "acme", "--period", "30d", "--fresh", "--json")
    assert "Computing the leaders now" in fresh.stderr
    now = printed(fresh)
    assert now["computed_at"] is None
    assert now["interactions"]["reply"] == kept["interactions"]["reply"] + 1
    assert now["people"] == kept["people"] + 1
    assert "Computed at" not in run("leaders", "-w", "acme", "--period", "30d", "--fresh").stdout


def test_dates_a_filter_or_nothing_kept_compute_now_whatever_the_size(
    engine: Engine, town: int, run: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists_kept, "ON_REQUEST", -1)  # every period and workspace is "large": the API answers 503
    monkeypatch.setattr(reports_kept, "ON_REQUEST", -1)
    for asked in (["leaders", "--period", "30d"], ["metrics", "--period", "7d"], ["members", "suggest-merges"],
                  ["leaders", "--since", "2026-01-01", "--until", "2026-12-01"], ["metrics", "--language", "en"],
                  ["metrics", "--since", "2026-01-01", "--until", "2026-12-01"]):  # fmt: skip
        result = run(*asked, "-w", "acme", "--json")
        assert "now: this can take a while" in result.stderr, asked
        assert printed(result)["computed_at"] is None, asked
    assert lists_kept.refresh(engine, town, force=True)
    dated = run("leaders", "-w", "acme", "--since", "2026-01-01", "--until", "2026-12-01", "--json")
    assert printed(dated)["computed_at"] is None  # dates are never kept
    assert printed(run("leaders", "-w", "acme", "--period", "30d", "--json"))["computed_at"] is not None


def test_the_kept_report_prints_as_the_api_serves_it_and_fresh_computes_what_changed(
    engine: Engine, run: Callable[..., Result], api: Callable[[str], Any]
) -> None:
    workspace_id = small_community(engine)
    assert reports_kept.refresh(engine, workspace_id, force=True)
    kept = printed(run("metrics", "-w", "acme", "--period", "all", "--json"))
    assert kept["computed_at"] is not None
    assert set(kept) == {"since", "until", "channel", "sources", "language", "topic", "metrics", "computed_at"}
    assert kept == read(api("/api/v1/metrics?period=all"))
    shown = run("metrics", "-w", "acme")
    assert "Computed at" in shown.stdout
    assert shown.stderr == ""
    with engine.begin() as conn:  # a comment after the report was kept
        write_batch(
            conn, target(engine), [item("late", "lumen", parent="p1", thread="p1", minutes=3000, author="gina")]
        )
    assert printed(run("metrics", "-w", "acme", "--period", "all", "--json")) == kept
    fresh = run("metrics", "-w", "acme", "--period", "all", "--fresh", "--json")
    assert "Computing the metrics now" in fresh.stderr
    now = printed(fresh)
    assert now["computed_at"] is None
    assert now["metrics"]["comments_per_post"]["value"] > kept["metrics"]["comments_per_post"]["value"]
