"""The `mlinfra` command (issue 31): a console script from pyproject.toml that the Makefile, the
pipelines and the docs run, the same as `python -m mlinfra`, with every subcommand listed."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from mlinfra.cli import COMMANDS
from tests.conftest import PROJECT_DIR, STACKS, planner_cli

SCRIPT = Path(sys.executable).with_name("mlinfra")
"""The script uv installed into the venv this suite runs in."""


def test_pyproject_declares_the_console_script_and_installs_the_package():
    """uv installs the project (editable) only with `tool.uv.package = true`, and then creates the
    scripts of `[project.scripts]` in the venv's bin/ (uv docs, "Configuring projects": build
    systems and entry points)."""
    project = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    assert project["project"]["scripts"] == {"mlinfra": "mlinfra.cli:run"}
    assert project["tool"]["uv"]["package"] is True
    assert project["build-system"]["build-backend"] == "uv_build"
    assert all("==" in requirement for requirement in project["build-system"]["requires"])  # pinned


def test_the_installed_script_runs_the_cli_from_anywhere(tmp_path):
    """From another directory too: the editable install, not the working directory, finds the package."""
    assert SCRIPT.is_file() and os.access(SCRIPT, os.X_OK)
    result = subprocess.run([str(SCRIPT), "--help"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: mlinfra ")


def test_help_lists_plan_and_every_subcommand():
    result = planner_cli("--help")
    listed = re.findall(r"(?m)^  ([a-z][a-z-]+) {2,}\S", result.stdout.split("commands:", 1)[1])
    assert listed == ["plan", *COMMANDS]


def test_plan_is_the_default_command():
    """`mlinfra plan --stack S` and `mlinfra --stack S` print the same plan."""
    named = planner_cli("plan", "--stack", STACKS[0], "--format", "json")
    bare = planner_cli("--stack", STACKS[0], "--format", "json")
    assert named.returncode == bare.returncode == 0
    assert named.stdout == bare.stdout


def test_every_subcommand_module_has_a_main():
    import importlib

    for name, (module, summary) in COMMANDS.items():
        assert callable(importlib.import_module(module).main), name
        assert summary, name


def test_the_makefile_and_pipelines_call_the_script_not_the_old_module():
    """`python -m planner` is gone with the package move; nothing the repository runs may call it."""
    runners = [PROJECT_DIR / "Makefile", *PROJECT_DIR.glob(".github/workflows/*.yml")]
    runners += [*PROJECT_DIR.glob("azure-pipelines*.yml"), *PROJECT_DIR.glob("templates/*.yml")]
    for path in runners:
        text = path.read_text(encoding="utf-8")
        assert "-m planner" not in text, path.name
    assert "MLINFRA := $(VENV)/bin/mlinfra" in (PROJECT_DIR / "Makefile").read_text()


def test_the_old_module_name_is_an_alias_of_the_command():
    """Scripts written before the package layout call `python -m planner`: it plans the same."""
    old = subprocess.run(
        [sys.executable, "-m", "planner", "--stack", STACKS[0], "--format", "json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    new = planner_cli("--stack", STACKS[0], "--format", "json")
    assert old.returncode == new.returncode == 0, old.stderr
    assert old.stdout == new.stdout
