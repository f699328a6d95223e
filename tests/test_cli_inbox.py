"""`pilote inbox`: the queue, one item and what people do to items, from the command line (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from factories import T0, item, target
from pilote.accounts import users
from pilote.cli import app
from pilote.config import Settings
from pilote.inbox import intake
from pilote.models import InboxItem, Workspace
from test_inbox import write

Run = Callable[..., Any]


@pytest.fixture
def run(settings: Settings, env_for: Callable[[Settings], None]) -> Run:
    env_for(settings)
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, ["inbox", *args], catch_exceptions=False)

    return invoke


def three_items(engine: Engine) -> list[int]:
    where = target(engine)
    write(engine, where, [
        item("a", "Livré quand ?", minutes=1),
        item("b", "Colis perdu", minutes=2, author="bob"),
        item("c", "Bonjour", minutes=3, author="carol"),
    ], a={"intent": "question"}, b={"intent": "complaint", "sentiment": "negative"})  # fmt: skip
    intake.take_new(engine, where.workspace_id, now=T0 + timedelta(hours=1))
    with Session(engine) as session, session.begin():
        space = session.get_one(Workspace, where.workspace_id)
        users.create(session, email="mod@example.org", password="a long enough password", role="moderator",
                     workspace=space)  # fmt: skip
        return list(session.scalars(select(InboxItem.id).order_by(InboxItem.id)))


def listed(run: Run, *args: str) -> dict[str, Any]:
    result = run("list", "--json", *args)
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = orjson.loads(result.stdout)
    return found


def test_the_queue_is_listed_page_after_page_with_the_page_s_filters(engine: Engine, run: Run) -> None:
    a, b, c = three_items(engine)
    everything = listed(run)
    assert [row["id"] for row in everything["items"]] == [b, a, c]  # by due time: urgent, high, then normal
    assert everything["after"] is None
    first = listed(run, "--limit", "2")
    rest = listed(run, "--limit", "2", "--after", first["after"])
    assert [row["id"] for row in first["items"] + rest["items"]] == [b, a, c]
    assert [row["id"] for row in listed(run, "--priority", "urgent")["items"]] == [b]
    assert [row["id"] for row in listed(run, "--reason", "question")["items"]] == [a]
    table = run("list")
    assert table.exit_code == 0
    assert "Colis" in table.stdout
    bad = run("list", "--sort", "loudest")
    assert bad.exit_code == 1
    assert "sort 'loudest'" in bad.stderr


def test_people_s_actions_from_the_command_line_are_events_of_the_items(engine: Engine, run: Run) -> None:
    a, b, c = three_items(engine)
    assert orjson.loads(run("assign", str(a), str(b), "mod@example.org", "--json").stdout) == {"changed": [a, b]}
    assert [row["id"] for row in listed(run, "--assignee", "mod@example.org")["items"]] == [b, a]
    assert [row["id"] for row in listed(run, "--assignee", "none")["items"]] == [c]
    assert run("tag", str(a), str(c), "Livraison").exit_code == 0
    assert [row["id"] for row in listed(run, "--tag", "livraison")["items"]] == [a, c]
    assert run("tag", str(c), "livraison", "--remove").exit_code == 0
    assert run("note", str(a), "Rappeler demain").exit_code == 0
    snoozed = run("status", str(a), "snoozed", "--until", "2030-01-01")
    assert snoozed.exit_code == 0, snoozed.output
    assert run("spam", str(c)).exit_code == 0
    shown = orjson.loads(run("show", str(a), "--json").stdout)
    assert (shown["item"]["status"], shown["item"]["tags"]) == ("snoozed", ["livraison"])
    assert [note["text"] for note in shown["notes"]] == ["Rappeler demain"]
    assert [event["kind"] for event in shown["history"]] == ["opened", "assign", "tag", "note", "status"]
    assert shown["messages"][0]["text"] == "Livré quand ?"
    assert orjson.loads(run("show", str(c), "--json").stdout)["item"]["status"] == "spam"
    assert run("spam", str(c), "--not").exit_code == 0
    assert orjson.loads(run("show", str(c), "--json").stdout)["item"]["status"] == "open"
    assert run("assign", str(a), "none").exit_code == 0
    assert orjson.loads(run("show", str(a), "--json").stdout)["item"]["assignee_id"] is None


def test_bad_input_is_one_line_naming_what_is_wrong(engine: Engine, run: Run) -> None:
    a, _, _ = three_items(engine)
    for args, words in (
        (("status", "x1", "done"), "item 'x1'"),
        (("status", str(a)), "give one or more item numbers, then a status"),
        (("status", str(a), "finished"), "status 'finished'"),
        (("status", str(a), "snoozed"), "snooze until a date"),
        (("assign", str(a), "nobody@example.org"), "no account for"),
        (("show", "99999"), "no inbox item 99999"),
        (("tag", str(a), "a b?c"), "use letters, digits and dashes"),
    ):
        result = run(*args)
        assert result.exit_code == 1, args
        assert words in result.stderr, (args, result.stderr)
