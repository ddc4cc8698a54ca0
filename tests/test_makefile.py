"""The Makefile's surface (issue 31): `make help` lists every target with one line, and a Make
variable a target would ignore (STACK, CONFIG_FILE) is honoured or refused, never ignored."""

import re
import subprocess

import pytest

from tests.conftest import PROJECT_DIR, STACKS


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )


def targets() -> list[str]:
    text = (PROJECT_DIR / "Makefile").read_text()
    return [m for m in re.findall(r"(?m)^([a-z][a-z-]*):(?!=)", text)]


def test_help_lists_every_target_with_one_line():
    result = make("help")
    assert result.returncode == 0
    listed = dict(re.findall(r"(?m)^  make (\S+) +(.+)$", result.stdout))
    assert set(listed) == set(targets())
    assert all(len(line) > 10 for line in listed.values())


@pytest.mark.parametrize("target", ["verify", "test", "todo", "lint", "diff"])
def test_a_target_over_every_stack_refuses_stack(target):
    result = make("-n", target, f"STACK={STACKS[0]}")
    assert result.returncode != 0
    assert (
        f"make {target} covers every stack: STACK and CONFIG_FILE are for make plan and make check"
        in result.stderr
    )


def test_plan_and_check_honour_stack_and_config_file():
    example = sorted(PROJECT_DIR.glob("examples/*/Pulumi.*.yaml"))[0]
    stack = example.name.removeprefix("Pulumi.").removesuffix(".yaml")
    path = example.relative_to(PROJECT_DIR).as_posix()
    plan = make("-n", "plan", f"STACK={stack}", f"CONFIG_FILE={path}")
    assert f"--stack {stack} --config-file {path}" in plan.stdout
    check = make("-n", "check", f"STACK={STACKS[0]}")
    assert f"mlinfra check --stack {STACKS[0]}" in check.stdout and "for file in" not in check.stdout
