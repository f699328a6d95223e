from __future__ import annotations

import csv
import io
import socket
from collections.abc import Callable
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pilote.cli import app
from pilote.config import Settings
from pilote.samples import write_wxr

Run = Callable[..., "object"]


@pytest.fixture
def run(settings: Settings, env_for: Callable[[Settings], None]) -> Callable[..., object]:
    """Invoke `pilote ...` against the test's store (SQLite and PostgreSQL)."""
    env_for(settings)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> object:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def blog(tmp_path: Path) -> Path:
    return write_wxr(tmp_path / "blog.xml", posts=3, comments_per_post=4)


def test_import_prints_a_summary_and_json_for_scripts(run: Callable[..., object], blog: Path) -> None:
    first = run("import", str(blog))
    assert first.exit_code == 0, first.stderr
    assert "blog.xml" in first.stdout
    assert "15" in first.stdout
    again = run("import", str(blog), "--json")
    summary = orjson.loads(again.stdout)["imports"][0]
    assert (summary["new"], summary["unchanged"], summary["format"]) == (0, 15, "wxr")


def test_a_bad_file_gives_one_error_line_on_stderr_and_exit_1(run: Callable[..., object], tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text('<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item>')
    result = run("import", str(bad))
    assert result.exit_code == 1
    assert "bad.xml: line 1: malformed XML" in result.stderr
    assert "nothing from this file was written" in result.stderr
    assert result.stdout == ""


def test_workspaces_are_created_listed_and_required_when_ambiguous(run: Callable[..., object], blog: Path) -> None:
    assert run("workspace", "create", "acme").exit_code == 0
    assert run("workspace", "create", "Not Valid").exit_code == 1
    assert run("workspace", "create", "beta").exit_code == 0
    listed = orjson.loads(run("workspace", "list", "--json").stdout)
    assert [w["slug"] for w in listed] == ["acme", "beta"]
    ambiguous = run("import", str(blog))
    assert ambiguous.exit_code == 1
    assert "--workspace" in ambiguous.stderr
    assert run("import", str(blog), "--workspace", "beta").exit_code == 0
    missing = run("stats", "--workspace", "nope")
    assert missing.exit_code == 1
    assert "pilote workspace create nope" in missing.stderr


def test_messages_filters_by_words_ignoring_accents_author_and_date(run: Callable[..., object], tmp_path: Path) -> None:
    feed = tmp_path / "m.xml"
    feed.write_text(write_wxr(tmp_path / "x.xml", posts=1, comments_per_post=0).read_text().replace(
        "</item>",
        "<wp:comment><wp:comment_id>1</wp:comment_id><wp:comment_author>Zoé</wp:comment_author>"
        "<wp:comment_date_gmt>2025-01-05 10:00:00</wp:comment_date_gmt>"
        "<wp:comment_content>Le frein arrière grince après la réparation</wp:comment_content>"
        "<wp:comment_parent>0</wp:comment_parent></wp:comment></item>",
    ))  # fmt: skip
    assert run("import", str(feed)).exit_code == 0
    found = orjson.loads(run("messages", "--search", "arriere reparation", "--json").stdout)
    assert [m["author_handle"] for m in found] == ["Zoé"]
    assert orjson.loads(run("messages", "--search", "repar", "--json").stdout)[0]["kind"] == "comment"
    assert orjson.loads(run("messages", "--author", "zoé", "--json").stdout)[0]["text"].startswith("Le frein")
    assert orjson.loads(run("messages", "--since", "2030-01-01", "--json").stdout) == []
    bad_date = run("messages", "--since", "yesterday-ish")
    assert bad_date.exit_code == 1
    assert "--since" in bad_date.stderr


def test_stats_counts_kinds_sources_and_dates(run: Callable[..., object], blog: Path) -> None:
    run("import", str(blog))
    stats = orjson.loads(run("stats", "--json").stdout)
    assert stats["messages"] == 15
    assert stats["by_kind"]["post"] == 3
    assert stats["by_kind"].get("comment", 0) + stats["by_kind"].get("reply", 0) == 12
    assert stats["first"].startswith("2025-01-02")
    assert stats["first"].endswith("+00:00")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_export_writes_one_record_per_message_with_the_documented_fields(
    run: Callable[..., object], blog: Path, tmp_path: Path, fmt: str
) -> None:
    run("import", str(blog))
    out = tmp_path / f"export.{fmt}"
    result = run("export", "--format", fmt, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    if fmt == "jsonl":
        records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    elif fmt == "csv":
        records = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    else:
        records = pq.read_table(out).to_pylist()
    assert len(records) == 15
    expected = {
        "id",
        "workspace",
        "source",
        "kind",
        "external_id",
        "parent_id",
        "thread_id",
        "author_handle",
        "author_name",
        "author_url",
        "created_at",
        "title",
        "text",
        "url",
        "language",
        "labels",
    }
    assert expected <= set(records[0])
    assert all(r["created_at"].endswith("+00:00") for r in records)
    replies = [r for r in records if r["kind"] == "reply"]
    assert replies
    assert all(r["parent_id"] not in (None, "") for r in replies)


def test_export_to_stdout_streams_jsonl(run: Callable[..., object], blog: Path) -> None:
    run("import", str(blog))
    lines = run("export", "--format", "jsonl").stdout.splitlines()
    assert len(lines) == 15
    assert orjson.loads(lines[0])["workspace"] == "default"


def test_parquet_without_a_file_is_refused_with_a_hint(run: Callable[..., object], blog: Path) -> None:
    run("import", str(blog))
    result = run("export", "--format", "parquet")
    assert result.exit_code == 1
    assert "--out" in result.stderr


def test_a_source_is_deleted_once_its_name_is_typed(
    run: Callable[..., object], blog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "forum.jsonl"
    other.write_text('{"id": "1", "date": "2025-01-05T10:00:00Z", "text": "Trottinette"}\n', encoding="utf-8")
    run("import", str(blog))
    run("import", str(other))
    sources = {row["name"]: row["id"] for row in orjson.loads(run("source", "list", "--json").stdout)}
    blog_id = str(sources["Le blog de test"])
    unattended = run("source", "delete", blog_id)
    assert unattended.exit_code == 1
    assert "no terminal to ask on: pass --yes" in unattended.stderr
    monkeypatch.setattr("pilote.cli.deleting.can_ask", lambda: True)
    mistyped = run("source", "delete", blog_id, input="le blog\n")
    assert mistyped.exit_code == 1
    assert "type its name exactly: 'Le blog de test'; nothing was deleted" in mistyped.stderr
    assert orjson.loads(run("stats", "--json").stdout)["messages"] == 16
    done = run("source", "delete", blog_id, input="Le blog de test\n")
    assert done.exit_code == 0, done.stderr
    assert "15 messages and everything they hold, for good" in done.stderr
    assert "Deleted source 'Le blog de test' of workspace 'default': 15 messages (authors: 6;" in done.stdout
    assert orjson.loads(run("stats", "--json").stdout)["messages"] == 1
    [record] = orjson.loads(run("deletions", "--json").stdout)
    assert (record["kind"], record["name"], record["messages"], record["deleted_by"]) == (
        "source", "Le blog de test", 15, "command line",
    )  # fmt: skip
    assert record["counts"]["import_runs"] == 1
    assert run("source", "delete", blog_id, "--yes").exit_code == 1  # gone


def test_a_workspace_is_deleted_with_yes_and_its_record_outlives_it(run: Callable[..., object], blog: Path) -> None:
    run("workspace", "create", "acme")
    run("workspace", "create", "beta")
    run("import", str(blog), "--workspace", "acme")
    run("import", str(blog), "--workspace", "beta")
    done = run("workspace", "delete", "acme", "--yes", "--json")
    assert done.exit_code == 0, done.stderr
    record = orjson.loads(done.stdout)
    assert (record["kind"], record["workspace"], record["messages"]) == ("workspace", "acme", 15)
    assert (record["counts"]["sources"], record["counts"]["import_runs"]) == (1, 1)
    assert [w["slug"] for w in orjson.loads(run("workspace", "list", "--json").stdout)] == ["beta"]
    assert orjson.loads(run("stats", "--json").stdout)["messages"] == 15
    listed = run("deletions")
    assert "acme" in listed.stdout
    assert "workspace" in listed.stdout
    assert run("workspace", "delete", "acme", "--yes").exit_code == 1


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for command in (
        ["init"],
        ["import"],
        ["messages"],
        ["export"],
        ["stats"],
        ["simulate"],
        ["serve"],
        ["workspace", "create"],
        ["workspace", "list"],
        ["workspace", "delete"],
        ["source", "delete"],
        ["deletions"],
    ):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.stdout, command


def test_user_content_cannot_inject_terminal_escapes(run: Callable[..., object], tmp_path: Path) -> None:
    feed = tmp_path / "evil.xml"
    feed.write_text(write_wxr(tmp_path / "x.xml", posts=1, comments_per_post=0).read_text().replace(
        "<wp:post_id>1</wp:post_id>", "<wp:post_id>1</wp:post_id><title>[red]x[/red] &#x9b;2J&#x202e;</title>",
    ))  # fmt: skip
    run("import", str(feed))
    table = run("messages").stdout
    assert "\x1b" not in table
    assert "\x9b" not in table
    assert "\u202e" not in table


def cli(env: dict[str, str], *args: str) -> object:
    """`pilote ...` with these PILOTE_* variables, exceptions not caught: a traceback would fail the test."""
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=False)


def test_configuration_mistakes_are_one_line(tmp_path: Path) -> None:
    """A bad port, an unreachable database, a home that cannot be a folder: one line each, exit 1."""
    home = str(tmp_path / "home")
    port = cli({"PILOTE_HOME": home, "PILOTE_PORT": "abc"}, "serve")
    database = cli({"PILOTE_HOME": home, "PILOTE_DATABASE_URL": "postgresql://nobody:secret@127.0.0.1:1/x"}, "init")
    (tmp_path / "file").write_text("")
    folder = cli({"PILOTE_HOME": str(tmp_path / "file")}, "init")
    for result in (port, database, folder):
        assert result.exit_code == 1, result.output
        assert result.stderr.count("\n") == 1, result.stderr
    assert "PILOTE_PORT='abc'" in port.stderr
    assert "127.0.0.1:1" in database.stderr
    assert "Connection refused" in database.stderr
    assert "PILOTE_DATABASE_URL" in database.stderr
    assert "secret" not in database.stderr
    assert "must be a folder" in folder.stderr


def test_serve_says_when_its_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli({"PILOTE_HOME": str(tmp_path / "home")}, "serve", "--port", str(port))
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}: already in use" in result.stderr
    assert "serves on" not in result.stderr


def test_serve_binds_other_interfaces_only_once_an_account_exists(tmp_path: Path) -> None:
    env = {"PILOTE_HOME": str(tmp_path / "home")}
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104 (a port of all interfaces, taken, so that serve stops at listen)
        taken.listen()
        port = str(taken.getsockname()[1])
        refused = cli(env, "serve", "--host", "0.0.0.0", "--port", port)  # noqa: S104
        assert refused.exit_code == 1
        assert "no account exists yet" in refused.stderr
        assert cli(env, "user", "create", "ada@example.org", "--role", "admin").exit_code == 1  # no password given
        created = CliRunner().invoke(app, ["user", "create", "ada@example.org"], env=env, input="a long password!\n")
        assert created.exit_code == 0, created.output
        allowed = cli(env, "serve", "--host", "0.0.0.0", "--port", port)  # noqa: S104
    assert "no account" not in allowed.stderr
    assert f"cannot listen on 0.0.0.0:{port}: already in use" in allowed.stderr
