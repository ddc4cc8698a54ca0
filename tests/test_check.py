"""`mlinfra check` and `policy-config`: every shipped stack and example is clean (the
check's evaluation in-process, on the plans the other tests share), and, as a user or CI runs the
commands, a violation injected into a component of a scratch copy of the repository
fails the check, the pack starts the way the Pulumi CLI starts it, and `mlinfra diff` reports the
violations a change introduces."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mlinfra.planner.recorder import plan_config
from mlinfra.planner.stackfile import load_stack_config
from mlinfra.review.check import check_plan, policy_findings
from mlinfra.review.check_config import load_pack
from tests.conftest import (
    CATALOG,
    NON_PRODUCTION_STACK,
    PRODUCTION_STACK,
    PROJECT_DIR,
    STACKS,
    copy_repository,
    planner_cli,
)

EXAMPLES = sorted(PROJECT_DIR.glob("examples/*/Pulumi.*.yaml"))
"""Example stack files: each is checked as the stack its file name says, with --config-file."""


def _planner(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mlinfra", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen) -> subprocess.CompletedProcess:
    stdout, stderr = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def _example_stack(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def test_there_are_examples_to_check():
    assert EXAMPLES


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_is_clean(stack_plans, stack):
    assert check_plan(stack_plans[stack].to_json(), PROJECT_DIR, stack) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_example_is_clean(path):
    stack = _example_stack(path)
    plan = plan_config(PROJECT_DIR, load_stack_config(PROJECT_DIR, stack, path))
    assert check_plan(plan.to_json(), PROJECT_DIR, stack) == []


def _scratch_copy(tmp_path: Path) -> Path:
    """The repository without venvs, git data and caches."""
    return copy_repository(tmp_path / "repo", "bench")


@pytest.mark.long
def test_fails_when_a_component_turns_on_public_blob_access(tmp_path):
    """A code change, not a config change, weakens a resource: the check catches it, blocking in
    a production stage and advisory in the others."""
    project = _scratch_copy(tmp_path)
    module = project / "mlinfra" / "stage" / "ml_workspace.py"
    source = module.read_text()
    assert "allow_blob_public_access=False," in source
    module.write_text(source.replace("allow_blob_public_access=False,", "allow_blob_public_access=True,", 1))
    # Both stacks in one process (the SDKs load once); each stack's report is its own block.
    both = _finish(
        _planner(
            "check",
            "--stack",
            NON_PRODUCTION_STACK,
            "--stack",
            PRODUCTION_STACK,
            "--project-dir",
            str(project),
            cwd=project,  # the copy's own `mlinfra`, as a checkout runs its code
        )
    )
    assert both.returncode == 1, both.stderr  # the highest status: prod's mandatory violation
    reports = _reports(both.stdout)
    assert "mandatory storage-no-public-blob-access" in reports[PRODUCTION_STACK]
    assert "advisory  storage-no-public-blob-access" in reports[NON_PRODUCTION_STACK]
    assert "mandatory" not in reports[NON_PRODUCTION_STACK].split("\n", 1)[1]


def _reports(stdout: str) -> dict[str, str]:
    """`mlinfra check` text output of several stacks -> stack: its block (from `stack <name>:`)."""
    blocks = re.split(r"^(?=stack \S+: )", stdout, flags=re.MULTILINE)
    return {block.split(":", 1)[0].removeprefix("stack "): block for block in blocks if block}


def test_several_stacks_are_checked_in_one_run_with_the_highest_status():
    clean = planner_cli("check", *[arg for stack in STACKS for arg in ("--stack", stack)])
    assert clean.returncode == 0, clean.stderr
    assert sorted(_reports(clean.stdout)) == sorted(STACKS)


def test_several_stacks_name_their_stack_on_each_error_line(tmp_path):
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"all": "mandatory"}))
    result = planner_cli(
        "check", "--stack", NON_PRODUCTION_STACK, "--stack", PRODUCTION_STACK, "--policy-config", str(config)
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: stack {stack}: policy pack config: ml-workspace-production-isolation: production is required"
        for stack in (NON_PRODUCTION_STACK, PRODUCTION_STACK)  # the first error does not stop the second
    ]


@pytest.mark.parametrize(
    "extra,needle",
    [
        (["--config-file", "Pulumi.x.yaml"], "--config-file takes one --stack; got 2"),
        (["--format", "json"], "--format json takes one --stack; got 2"),
    ],
)
def test_fails_when_an_option_of_one_stack_meets_several(extra, needle):
    result = planner_cli("check", "--stack", NON_PRODUCTION_STACK, "--stack", PRODUCTION_STACK, *extra)
    assert result.returncode == 2 and needle in result.stderr


def test_fails_when_the_policy_config_lacks_the_production_trait(tmp_path):
    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"all": "mandatory"}))
    result = planner_cli("check", "--stack", PRODUCTION_STACK, "--policy-config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: policy pack config: ml-workspace-production-isolation: production is required"
    ]


def test_policy_config_is_the_stages(tmp_path):
    """What CI hands `pulumi preview|up --policy-pack-config`: mandatory for production stages."""
    output = tmp_path / "prod.json"
    prod = planner_cli("policy-config", "--stack", PRODUCTION_STACK, "--output", str(output))
    dev = planner_cli("policy-config", "--stack", NON_PRODUCTION_STACK)
    assert prod.returncode == dev.returncode == 0
    prod_config, dev_config = json.loads(output.read_text()), json.loads(dev.stdout)
    assert prod_config["all"] == "mandatory" and dev_config["all"] == "advisory"
    names = {policy.name for policy in load_pack(PROJECT_DIR).POLICIES}
    assert {key for key in prod_config if key != "all"} == names
    assert all(prod_config[name] == {"production": True} for name in names)
    assert all(dev_config[name] == {"production": False} for name in names)


def test_fails_when_the_policy_config_is_asked_for_a_stack_that_is_not_a_stage():
    result = planner_cli("policy-config", "--stack", "qa")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: stack 'qa' is not a stage; stages: {', '.join(CATALOG)}"


def test_pack_starts_the_way_the_pulumi_cli_runs_it():
    """The CLI runs a Python pack as `python <pack dir> ...` (pulumi/pulumi
    sdk/python/cmd/pulumi-language-python `RunPlugin`), and the pack answers with the port of its
    gRPC server on the first line of stdout (pulumi_policy/policy.py `PolicyPack`)."""
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_DIR / "policy")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()
    assert first.isdigit(), process.stderr.read()


def test_pack_runs_in_the_projects_locked_venv():
    """PulumiPolicy.yaml says how the CLI runs the pack: the uv toolchain on the repository's venv,
    whose uv.lock pins pulumi-policy next to the SDKs the program uses (tests/test_dependencies.py
    checks the uv path of every project file)."""
    import tomllib

    import yaml

    manifest = yaml.safe_load((PROJECT_DIR / "policy" / "PulumiPolicy.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert manifest["runtime"]["options"] == {"toolchain": "uv", "virtualenv": "../venv"}
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    assert "pulumi-policy==1.21.0" in pyproject["project"]["dependencies"]


def test_diff_reports_the_violations_a_change_introduces(stack_plans):
    base = stack_plans[PRODUCTION_STACK].to_json()
    head = json.loads(json.dumps(base))
    registry = next(r for r in head["resources"] if r["type"] == "azure-native:containerregistry:Registry")
    registry["inputs"]["adminUserEnabled"] = True
    findings = policy_findings(PRODUCTION_STACK, base, head, PROJECT_DIR)
    assert [(f.category, f.urn) for f in findings] == [("policy", registry["urn"])]
    assert "mandatory registry-no-local-auth" in findings[0].text and "ACR-1" in findings[0].text
    assert policy_findings(PRODUCTION_STACK, base, base, PROJECT_DIR) == []
    assert (
        policy_findings(PRODUCTION_STACK, {"error": "cannot plan"}, head, PROJECT_DIR)[0].category == "policy"
    )


def test_fails_when_the_policy_config_file_is_not_json(tmp_path):
    config = tmp_path / "policy-config.json"
    config.write_text("all: mandatory\n")
    result = planner_cli("check", "--stack", NON_PRODUCTION_STACK, "--policy-config", str(config))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --policy-config {config}: Expecting value")
