"""The deployment files (deploy/compose.yaml, its Dockerfile, docs/deploy.md's units) name only commands, options
and settings that exist: they cannot be run here (no container engine), so they are checked against the CLI."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from pilote.cli import app
from pilote.config import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
SETTINGS = {f"PILOTE_{name.upper()}" for name in Settings.model_fields}


def problems(argv: list[str]) -> list[str]:
    """What is wrong with a `pilote …` command line: unknown commands, options, or missing values."""
    assert argv[0].endswith("pilote"), argv
    command: Any = typer.main.get_command(app)  # typer's own copy of click: read by duck typing
    words = argv[1:]
    while hasattr(command, "commands") and words and not words[0].startswith("-"):
        found = command.commands.get(words[0])
        if found is None:
            return [f"no command {words[0]!r} in {' '.join(argv)}"]
        command, words = found, words[1:]
    if hasattr(command, "commands"):
        return [f"{' '.join(argv)} names a group, not a command"]
    options = {name: param for param in command.params if param.param_type_name == "option" for name in param.opts}
    options |= {
        name: param for param in command.params if param.param_type_name == "option" for name in param.secondary_opts
    }
    arguments = [param for param in command.params if param.param_type_name == "argument"]
    wrong, positional = [], 0
    while words:
        word, words = words[0], words[1:]
        if word.startswith("--"):
            name, _, value = word.partition("=")
            option = options.get(name)
            if option is None:
                wrong.append(f"no option {name} in {' '.join(argv)}")
            elif not option.is_flag and not value:
                if not words:
                    wrong.append(f"{name} without its value in {' '.join(argv)}")
                words = words[1:]
        else:
            positional += 1
    if positional > len(arguments):
        wrong.append(f"{positional} arguments for {len(arguments)} in {' '.join(argv)}")
    return wrong


def compose() -> dict[str, dict[str, object]]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]  # type: ignore[no-any-return]


def pilote_services() -> dict[str, dict[str, object]]:
    return {name: s for name, s in compose().items() if s.get("image") == "pilote:latest"}


def test_the_checker_refuses_what_does_not_exist() -> None:
    assert problems(["pilote", "serve", "--no-jobs", "--port", "8000"]) == []
    assert problems(["pilote", "serve", "--no-such-option"])
    assert problems(["pilote", "serve", "--port"])
    assert problems(["pilote", "no-such-command"])
    assert problems(["pilote", "user", "create", "a@example.org", "b@example.org", "--role", "admin"])


def test_every_command_of_the_compose_file_exists() -> None:
    services = pilote_services()
    assert {"init", "web-1", "web-2", "worker", "tools"} <= set(services)
    for name, service in services.items():
        command = service["command"]
        assert isinstance(command, list), name
        assert problems(command) == [], name
    assert services["web-1"]["command"][:3] == ["pilote", "serve", "--no-jobs"]  # type: ignore[index]
    assert services["worker"]["command"][:2] == ["pilote", "worker"]  # type: ignore[index]


def test_the_commands_in_comments_and_the_image_exist() -> None:
    commented = re.findall(r"run --rm (?:-T )?tools (pilote [^<\n`]+)", (DEPLOY / "compose.yaml").read_text())
    assert commented
    for line in commented:
        assert problems(shlex.split(line)) == [], line
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    found = re.search(r"^CMD (\[.*\])$", dockerfile, re.M)
    assert found is not None
    assert problems(json.loads(found.group(1))) == []


def test_the_units_of_the_deployment_guide_exist() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    starts = re.findall(r"^ExecStart=\S*/(pilote .*)$", guide, re.M)
    assert len(starts) >= 3
    for line in starts:
        assert problems(shlex.split(line)) == [], line


@pytest.mark.parametrize("name", ["compose.yaml", "Dockerfile", ".env.example"])
def test_every_setting_named_exists(name: str) -> None:
    text = (DEPLOY / name).read_text()
    named = set(re.findall(r"\bPILOTE_[A-Z_]+\b", text))
    assert named - SETTINGS == set()
    if name == "compose.yaml":
        for service in pilote_services().values():
            assert set(service["environment"]) <= SETTINGS  # type: ignore[arg-type]
            assert {"PILOTE_DATABASE_URL", "PILOTE_REDIS_URL", "PILOTE_SECRET_KEY"} <= set(service["environment"])  # type: ignore[arg-type]


def test_the_proxy_reaches_every_server_and_probes_readiness() -> None:
    caddy = (DEPLOY / "Caddyfile").read_text()
    servers = {name for name, s in pilote_services().items() if "serve" in s["command"]}  # type: ignore[operator]
    assert servers == {"web-1", "web-2"}
    for server in servers:
        assert f"{server}:8000" in caddy
    assert "health_uri /ready" in caddy
    for server in servers:
        check = compose()[server]["healthcheck"]["test"]  # type: ignore[index]
        assert any("/ready" in part for part in check)
