"""One owner per role assignment (RB-6, RB-11): across every stack a project deploys together (the
shipped stack files, and each example's stack files in place of or next to them), no two stacks plan
a role assignment with the same name, nor the same (principal, role, scope) under another name.

Either would be one Azure role assignment managed by two stacks: `pulumi destroy` of one stack
deletes the other's access, and a second name for the same (principal, role, scope) fails with
`RoleAssignmentExists` (RB-6). An assignment is addressed by its name under its scope,
`{scope}/providers/Microsoft.Authorization/roleAssignments/{name}` (MicrosoftDocs/azure-docs
articles/role-based-access-control/role-assignments-rest.md)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from mlinfra.planner.recorder import Plan, plan_config
from mlinfra.planner.stackfile import load_stack_config
from mlinfra.planner.views import access_view
from tests.conftest import PROJECT_DIR, SHARED_STACKS, STACKS, plan

ASSIGNMENT = "azure-native:authorization:RoleAssignment"
EXAMPLES = sorted(path for path in (PROJECT_DIR / "examples").iterdir() if list(path.glob("Pulumi.*.yaml")))
"""Every example directory with stack files."""


def _stack_name(path: Path) -> str:
    return path.name[len("Pulumi.") : -len(".yaml")]


def deployable_sets() -> dict[str, dict[str, Path | None]]:
    """Set name -> stack -> its stack file (None: the project's own). An example's stack replaces
    the project's stack of the same name (`examples/azure-devops/Pulumi.prod.yaml`) or joins them."""
    project: dict[str, Path | None] = dict.fromkeys((*STACKS, *SHARED_STACKS))
    sets = {"project": project}
    for example in EXAMPLES:
        files = {_stack_name(path): path for path in sorted(example.glob("Pulumi.*.yaml"))}
        sets[example.name] = {**project, **files}
    return sets


SETS = deployable_sets()


@pytest.fixture(scope="module")
def plans() -> dict[tuple[str, Path | None], Plan]:
    """Each distinct stack file planned once."""
    result = {}
    for stacks in SETS.values():
        for stack, path in stacks.items():
            if (stack, path) not in result:
                result[(stack, path)] = (
                    plan(stack)
                    if path is None
                    else plan_config(PROJECT_DIR, load_stack_config(PROJECT_DIR, stack, path))
                )
    return result


IDENTITY_TYPES = (
    "azuread:index/servicePrincipal:ServicePrincipal",
    "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:machinelearningservices:Workspace",
)
"""Resources whose identity a stack creates: its deployment identity, its workspace's system identity."""


def _principal(result: Plan, resource) -> str:
    """A group by its object id (config: the same group in every stack that names it). A service
    principal the stack creates is that stack's own in Azure; the planner's placeholder ids follow
    logical names, which repeat across stacks, so it is keyed by its stack."""
    principal = str(resource.inputs["principalId"]).lower()
    types = {urn.split("::")[-2].split("$")[-1] for urn in resource.dependencies}
    created_here = resource.inputs["principalType"] == "ServicePrincipal" and types & set(IDENTITY_TYPES)
    return f"{result.stack}:{principal}" if created_here else principal


def _assignments(result: Plan) -> Iterator[tuple[str, tuple[str, str, str]]]:
    """(name, (principal, role GUID, scope)) of every role assignment the plan makes."""
    for resource in result.of_type(ASSIGNMENT):
        inputs = resource.inputs
        yield (
            str(inputs["roleAssignmentName"]).lower(),
            (
                _principal(result, resource),
                str(inputs["roleDefinitionId"]).rsplit("/", 1)[-1].lower(),
                str(inputs["scope"]).lower(),
            ),
        )


def clashes(plans: dict[str, Plan]) -> list[str]:
    """Each role assignment name, and each (principal, role, scope), planned by two stacks."""
    found = []
    owners: dict[object, str] = {}
    for stack, result in plans.items():
        for name, triple in _assignments(result):
            for key in (("name", name), ("principal, role, scope", triple)):
                if key in owners and owners[key] != stack:
                    found.append(f"{key[0]} {key[1]}: in {owners[key]} and {stack}")
                owners.setdefault(key, stack)
    return found


def test_every_example_with_stack_files_is_covered():
    assert {"two-workloads", "single-workspace"} <= {example.name for example in EXAMPLES}
    assert all(set(SETS[example.name]) >= set(SETS["project"]) for example in EXAMPLES)


def test_the_shared_registry_is_granted_on_by_several_stacks(plans):
    """What this guards: the registry is one scope that the shared stack and the stages grant on."""
    registry = plans[(SHARED_STACKS[0], None)].outputs["registryId"].lower()
    granting = {
        stack
        for stack in SETS["project"]
        if any(scope == registry for _, (_, _, scope) in _assignments(plans[(stack, None)]))
    }
    assert len(granting) >= 3, granting


@pytest.mark.parametrize("name", SETS)
def test_no_two_stacks_plan_the_same_role_assignment(plans, name):
    assert not clashes({stack: plans[(stack, path)] for stack, path in SETS[name].items()})


def test_fails_when_two_stacks_grant_one_group_on_the_registry(plans):
    """The check catches what RB-11 prevents: a second stack with the shared stack's group grants
    (as every stage had before) clashes on the name or on (principal, role, scope)."""
    shared = plans[(SHARED_STACKS[0], None)]
    found = clashes({SHARED_STACKS[0]: shared, "copy": shared})
    groups = [row["principal"] for row in access_view(shared) if row["persona"]]
    assert groups
    assert all(
        any(group in text and f"in {SHARED_STACKS[0]} and copy" in text for text in found) for group in groups
    )
