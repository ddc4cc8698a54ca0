"""Offline answers to `pulumi.StackReference` (planner/stack_references.py)."""

import pulumi
import pytest

from planner.stack_references import CHAIN_VARIABLE, StackReferenceError, parse_reference
from tests.conftest import SHARED_STACKS, plan, run_program

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
    monkeypatch.setenv(CHAIN_VARIABLE, SHARED)
    with pytest.raises(
        StackReferenceError, match=rf"a cycle of stack references: {SHARED} -> dev -> {SHARED}"
    ):
        run_program(_reference(SHARED))


@pytest.mark.parametrize("name", ["", "a/b", "a//c", "a/b/c/d"])
def test_fails_when_name_is_malformed(name):
    with pytest.raises(StackReferenceError, match="expected <stack> or <organization>/<project>/<stack>"):
        parse_reference(name, "mlinfra")
