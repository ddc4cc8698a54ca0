"""Shared test harness: the planner's own recorder, so tests assert on what the planner shows."""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mlinfra.config.stage_catalog import load_catalog
from mlinfra.facts.stack_names import is_shared_stack, split_stack_name
from mlinfra.planner import recorder, stack_references
from mlinfra.planner.plan_cache import CACHE_VARIABLE
from mlinfra.planner.recorder import Plan, record
from mlinfra.planner.stackfile import StackConfig, available_stacks, load_stack_config

PROJECT_DIR = Path(__file__).resolve().parent.parent
# One plan cache for the session's processes and scratch copies of the project (mlinfra/planner/plan_cache.py:
# the key is the content, not the location), unless the caller chose one (or `off`).
os.environ.setdefault(CACHE_VARIABLE, str(PROJECT_DIR / ".cache" / "plans"))
LOCAL_STATE = ("venv", ".venv", ".tools", ".cache", ".git", "__pycache__", ".pytest_cache")
"""Local state, not the repository: never copied into a scratch project. A copy runs on this
checkout's venv and shares the plan cache above; copying `.cache` would also race the workers
that write and prune it (a file listed, then gone, fails the copy)."""


def copy_repository(destination: Path, *also_ignored: str) -> Path:
    """This repository, without its local state (and `also_ignored` names), at `destination`."""
    shutil.copytree(
        PROJECT_DIR,
        destination,
        ignore=shutil.ignore_patterns(*LOCAL_STATE, *also_ignored),
        dirs_exist_ok=True,
    )
    return destination


CATALOG = {stage.name: stage for stage in load_catalog(PROJECT_DIR / "Pulumi.yaml")}
"""The stage catalog of Pulumi.yaml (`mlinfra:stages`), by name, in delivery order."""
STACKS = tuple(stack for stack in available_stacks(PROJECT_DIR) if not is_shared_stack(stack))
"""Every stage's stack file of the project: tests run over these, never over a hard-coded list."""
SHARED_STACKS = tuple(stack for stack in available_stacks(PROJECT_DIR) if is_shared_stack(stack))
"""The shared stack's file(s): the registry every stage uses (not a stage)."""


def stage_of(stack: str):
    """The catalog entry of a stack's stage (`<stage>` or `<workload>-<stage>`)."""
    return CATALOG[split_stack_name(stack)[1]]


PRODUCTION_STACKS = tuple(stack for stack in STACKS if stage_of(stack).production)
DATA_SCIENCE_STACKS = tuple(stack for stack in STACKS if stage_of(stack).data_science)
OTHER_STACKS = tuple(
    stack for stack in STACKS if not stage_of(stack).production and not stage_of(stack).data_science
)
PRODUCTION_STACK = PRODUCTION_STACKS[-1]
"""A production stack file, for tests of the production rules."""
NON_PRODUCTION_STACK = next(stack for stack in STACKS if not stage_of(stack).production)
"""A stack file the production rules do not apply to."""
DATA_SCIENCE_STACK = DATA_SCIENCE_STACKS[0]
"""A data-science stack file, for tests of what only such stages allow."""
STATEFUL_TYPES = (
    "azure-native:resources:ResourceGroup",
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:operationalinsights:Workspace",
    "azure-native:applicationinsights:Component",
    "azure-native:containerregistry:Registry",
    "azure-native:machinelearningservices:Workspace",
)
"""What every stage holds and must protect (PU-3), written out here independently of the code."""
OWNERS = ["00000000-0000-0000-0000-000000000016", "00000000-0000-0000-0000-000000000002"]
"""Owner object ids for tests that build an Entra deployment identity (the dev stack file's)."""


PROBLEM_LINE = re.compile(r"^[\w.-]+\.ya?ml: (?:[\w-]+:)?[^:\s][^:]*: \S")
"""A config problem's line: `<file>: <full key path>: <problem>` (issue 30, "Messages")."""


def problem_lines(message: str) -> str:
    """`message` (a ConfigError's or a refused file's), after checking its form: one problem a
    line, each naming its file and key."""
    lines = message.splitlines()
    assert lines and all(PROBLEM_LINE.match(line) for line in lines), message
    return message


def overridden(config: StackConfig, overrides: dict) -> StackConfig:
    """`config` with `overrides` ("ns:key" -> Python value as the YAML would hold it, None deletes)."""
    values = dict(config.values)
    for key, value in overrides.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value if isinstance(value, str) else json.dumps(value)
    from_project = config.from_project - set(overrides)  # an override is the stack file's value
    return StackConfig(config.project, config.stack, values, config.secret_keys, config.source, from_project)


def stack_config(stack: str = "dev", **overrides) -> StackConfig:
    """The real stack file's config, with `overrides` (see `overridden`)."""
    return overridden(load_stack_config(PROJECT_DIR, stack), overrides)


def plan(stack: str = "dev", **overrides) -> Plan:
    """Plan the real `__main__.py` for `stack`, with config overrides (see `stack_config`). Through
    the plan cache: the same config and code planned by another test or worker is read back."""
    return recorder.plan_config(PROJECT_DIR, stack_config(stack, **overrides))


def run_program(program, stack: str = "dev", **overrides) -> Plan:
    """Run an ad-hoc program (for component tests) with a stack's config and record it.

    A component built on its own has no stage providers above it, so the stack's
    `pulumi:disable-default-providers` applies only when a test sets it (the real program keeps it)."""
    overrides.setdefault("pulumi:disable-default-providers", None)
    return record(program, stack_config(stack, **overrides))


def pytest_collection_modifyitems(items):
    """Tests marked `long` first, the rest in file order: `make test` runs `--dist worksteal`, so
    while one worker is in a long test the other takes the short ones, and the run does not end
    with one worker alone in a long test started last."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


def planner_cli(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess:
    """`mlinfra *args` from `cwd`, run by its `main` in this process: its exit status and
    what it prints, without a child process loading the SDKs again (seconds each time). The tests
    of the process itself (no traceback, `--help`, scratch copies with other code) start one."""
    from mlinfra.cli import main

    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            returncode = main(list(args))
        except SystemExit as exit_:  # argparse's usage errors, as the process would exit
            returncode = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return subprocess.CompletedProcess(
        ["python", "-m", "mlinfra", *args], returncode, stdout.getvalue(), stderr.getvalue()
    )


def _plan_afresh(project_dir: Path, config: StackConfig) -> Plan:
    """`recorder.plan_config` without the plan cache: the program runs, in this process."""
    return recorder.record(recorder.main_program(project_dir), config)


@pytest.fixture(autouse=True)
def _no_cached_plans_under_monkeypatch(request):
    """A test that patches the program in this process must see the patched program run: the plan
    cache keys on files and the environment, not on attributes a test replaced. Stack references
    still read it (the shared stack is planned unpatched first, `_referenced_stacks_planned_first`);
    a reference planned during the test gets a memo of its own, so outputs a patched program
    produced never answer another test's reference (mlinfra/planner/stack_references.py `_planned_here`).
    The plan cache's own tests (marked `plan_cache`) patch around it and keep it."""
    if "monkeypatch" in request.fixturenames and not request.node.get_closest_marker("plan_cache"):
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setattr(recorder, "plan_config", _plan_afresh)
        monkeypatch.setattr(stack_references, "_planned_here", {})


@pytest.fixture(scope="session", autouse=True)
def _referenced_stacks_planned_first():
    """The stacks the stages reference (the shared registry's), planned in this process before any
    test: a stage's first run then reads their outputs from the plan cache instead of stopping to
    plan them and running again (mlinfra/planner/stack_references.py)."""
    for stack in SHARED_STACKS:
        plan(stack)


@pytest.fixture(scope="session")
def stack_plans() -> dict[str, Plan]:
    """The plan of every real stack file, computed once per test session."""
    return {stack: plan(stack) for stack in STACKS}


# --- stack files by their traits: tests select stages by what they hold, never by name ----------


def setting(stack: str, key: str, default=None):
    """A stack's effective `mlinfra:<key>` (project defaults applied), parsed; `default` if unset."""
    raw = stack_config(stack).values.get(f"mlinfra:{key}")
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw  # a plain string


def network_mode(stack: str) -> str:
    """`public`, `created` (the stage creates its network) or `joined` (a landing zone's subnet)."""
    endpoints = setting(stack, "network", {}).get("privateEndpoints")
    if not endpoints:
        return "public"
    return "created" if "virtualNetwork" in endpoints else "joined"


def stacks_where(predicate) -> tuple[str, ...]:
    """The stage stack files for which `predicate(stack)` holds, in STACKS order."""
    return tuple(stack for stack in STACKS if predicate(stack))


PUBLIC_STACKS = stacks_where(lambda stack: network_mode(stack) == "public")
PRIVATE_STACKS = stacks_where(lambda stack: network_mode(stack) != "public")
CREATED_NETWORK_STACKS = stacks_where(lambda stack: network_mode(stack) == "created")
"""Private stages that create their own network (and private DNS zones)."""
JOINED_NETWORK_STACKS = stacks_where(lambda stack: network_mode(stack) == "joined")
"""Private stages that join a landing zone's subnet and the hub's DNS zones."""
GITHUB_STACKS = stacks_where(lambda stack: setting(stack, "ci", {}).get("platform") == "github")


def first(stacks: tuple[str, ...]) -> str:
    """The first of `stacks`, for a test about one stage of a kind; skips when no stage is of it."""
    if not stacks:
        pytest.skip("no stack file of this kind")
    return stacks[0]


def with_stack_file(stack: str):
    """Marks a test of Pulumi.<stack>.yaml itself: skipped when that file does not exist."""
    return pytest.mark.skipif(stack not in STACKS, reason=f"no Pulumi.{stack}.yaml")


def with_catalog_stage(stage: str):
    """Marks a test of a shipped file that names `stage` (an example's stack): skipped when the
    catalog has no such stage."""
    return pytest.mark.skipif(stage not in CATALOG, reason=f"no stage {stage} in mlinfra:stages")
