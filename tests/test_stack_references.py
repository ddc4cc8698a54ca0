"""Offline answers to `pulumi.StackReference` (mlinfra/planner/stack_references.py)."""

import json

import pulumi
import pytest

from mlinfra.planner import stack_references
from mlinfra.planner.stack_references import StackReferenceError, parse_reference
from tests.conftest import PROJECT_DIR, SHARED_STACKS, STACKS, plan, run_program, stack_config

SHARED = SHARED_STACKS[0]


def _reference(name: str):
    def program():
        reference = pulumi.StackReference("registry-stack", stack_name=name)
        pulumi.export("registryId", reference.get_output("registryId"))

    return program


def test_reference_answers_with_the_referenced_stacks_planned_outputs():
    shared = plan(SHARED)
    result = run_program(_reference(f"organization/mlinfra/{SHARED}"))
    assert result.outputs["registryId"] == shared.outputs["registryId"]


def test_plan_shows_the_reference():
    result = run_program(_reference(SHARED))
    reference = result.one("pulumi:pulumi:StackReference")
    assert reference.name == "registry-stack"
    assert reference.inputs == {"id": SHARED}


def test_fails_when_referenced_stack_has_no_stack_file():
    with pytest.raises(StackReferenceError, match=r"no stack file Pulumi.nowhere.yaml"):
        run_program(_reference("organization/mlinfra/nowhere"))


def test_fails_when_reference_names_another_project():
    with pytest.raises(StackReferenceError, match=r"project 'other' is not this project"):
        run_program(_reference("organization/other/shared"))


def test_fails_on_a_cycle(monkeypatch):
    monkeypatch.setattr(stack_references, "_chain", [SHARED])  # as while planning SHARED
    with pytest.raises(
        StackReferenceError, match=rf"a cycle of stack references: {SHARED} -> dev -> {SHARED}"
    ):
        run_program(_reference(SHARED))


@pytest.mark.parametrize("name", ["", "a/b", "a//c", "a/b/c/d"])
def test_fails_when_name_is_malformed(name):
    with pytest.raises(StackReferenceError, match="expected <stack> or <organization>/<project>/<stack>"):
        parse_reference(name, "mlinfra")


def test_an_unplanned_reference_is_planned_in_this_process_and_the_program_runs_again(monkeypatch):
    """With nothing cached (cache off, nothing planned here yet) the run that asks is stopped, the
    referenced stack planned in this process, and the program run again: no child process."""
    import subprocess

    from mlinfra.planner import plan_cache

    def no_process(*_args, **_kwargs):
        raise AssertionError("a child process was started")

    monkeypatch.setenv(plan_cache.CACHE_VARIABLE, "off")
    monkeypatch.setattr(stack_references, "_planned_here", {})
    monkeypatch.setattr(subprocess, "run", no_process)
    monkeypatch.setattr(subprocess, "Popen", no_process)
    runs = []

    def program():
        runs.append(1)
        _reference(SHARED)()

    # A config that does not name the stack (one that does gets it planned before the first run).
    named = {key: None for key, value in stack_config().values.items() if "/mlinfra/" in value}
    result = run_program(program, **named)
    assert len(runs) == 2
    assert result.outputs["registryId"] == plan(SHARED).outputs["registryId"]


def test_fails_when_the_referenced_stack_cannot_be_planned(tmp_path):
    """A referenced stack file beside the referencing one that is invalid: one error naming it."""
    from mlinfra.planner.recorder import record
    from mlinfra.planner.stackfile import StackConfig
    from tests.conftest import stack_config

    (tmp_path / f"Pulumi.{SHARED}.yaml").write_text("config:\n  mlinfra:workload: Not-A-Workload\n")
    config = stack_config(STACKS[0])
    beside = StackConfig(
        config.project,
        config.stack,
        config.values,
        config.secret_keys,
        tmp_path / f"Pulumi.{config.stack}.yaml",
    )
    with pytest.raises(
        StackReferenceError, match=rf"stack reference to '{SHARED}': planning it failed: .*workload"
    ):
        record(_reference(SHARED), beside)


PROCESS_MEMO = stack_references._planned_here
"""This process's memo of referenced outputs, as the module made it."""


def test_a_test_that_patches_gets_a_reference_memo_of_its_own(monkeypatch):
    """tests/conftest.py: what a patched program's references planned is kept apart from the
    memo the other tests of this process read."""
    assert stack_references._planned_here is not PROCESS_MEMO and stack_references._planned_here == {}


def test_other_tests_share_the_process_memo():
    assert stack_references._planned_here is PROCESS_MEMO


def test_the_names_a_config_holds_are_this_projects_fully_qualified_stacks():
    from mlinfra.planner.stack_references import named_references

    values = {
        "mlinfra:registry": json.dumps({"stack": "organization/mlinfra/shared", "access": "read"}),
        "mlinfra:workspace": json.dumps({"sharedFrom": "organization/mlinfra/owner"}),
        "mlinfra:other": json.dumps(
            ["organization/otherproject/shared", "a/b", "owner", {"x": "org/mlinfra/later"}]
        ),
        "mlinfra:plain": "organization/mlinfra/shared",
    }
    assert named_references(values, "mlinfra") == [
        "organization/mlinfra/shared",
        "organization/mlinfra/owner",
        "org/mlinfra/later",
    ]


def test_a_stack_that_names_its_reference_in_config_runs_once(monkeypatch):
    """docs/benchmarks.md, "Planner against the floor": the stack the config names is planned first,
    so the program's first run finds it and is not run a second time."""
    from mlinfra.planner import recorder as recorder_module

    stack = next(s for s in STACKS if "organization/mlinfra/" in json.dumps(stack_config(s).values))
    runs: list[str] = []
    real = recorder_module._record_run

    def counting(program, config):
        runs.append(config.stack)
        return real(program, config)

    monkeypatch.setattr(recorder_module, "_record_run", counting)
    monkeypatch.setattr(stack_references, "_planned_here", {})
    monkeypatch.setenv("MLINFRA_PLAN_CACHE", "off")
    recorder_module.record(recorder_module.main_program(PROJECT_DIR), stack_config(stack))
    assert runs.count(stack) == 1, runs
