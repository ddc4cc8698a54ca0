"""examples/two-workloads: a second workload (`fraud`) next to the shipped one in the same project,
as stacks `fraud-<stage>`. Every physical name, credential subject and CI environment stays
distinct per workload, and the delivery files deploy both workloads' stacks of a stage side by side."""

import itertools
import json
import shutil
from pathlib import Path

import pytest

from mlinfra.config.config_error import ConfigError
from mlinfra.planner import recorder
from mlinfra.planner.recorder import main_program, record
from mlinfra.planner.stackfile import StackConfig, load_stack_config
from mlinfra.repository.delivery_files import _deploy_jobs, stacks_by_stage
from tests.conftest import PROJECT_DIR, STACKS, plan, stage_of

EXAMPLE = PROJECT_DIR / "examples" / "two-workloads"
EXAMPLE_STACKS = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in EXAMPLE.glob("Pulumi.*.yaml"))
FEDERATED = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"


def example_config(stack: str) -> StackConfig:
    return load_stack_config(PROJECT_DIR, stack, EXAMPLE / f"Pulumi.{stack}.yaml")


def shipped_stack(stack: str) -> str:
    """The shipped stack file of the example stack's stage."""
    return next(shipped for shipped in STACKS if stage_of(shipped).name == stage_of(stack).name)


PER_RESOURCE_NAMES = ("azure-native:monitor:DiagnosticSetting",)
"""Extension resources whose name is unique only under the resource they extend (every diagnostic
setting is `mlinfra-diagnostics`), so two workloads rightly share it."""


def physical_names(result) -> set[str]:
    return {
        value
        for resource in result.resources
        if resource.custom
        and not resource.type.startswith("pulumi:providers:")
        and resource.type not in PER_RESOURCE_NAMES
        for key, value in resource.inputs.items()
        if isinstance(value, str)
        and key
        in (
            "resourceGroupName",
            "accountName",
            "vaultName",
            "registryName",
            "workspaceName",
            "displayName",
            "name",
            "resourceName",
        )
    }


def test_the_example_has_stacks_of_several_stages():
    assert len({stage_of(stack).name for stack in EXAMPLE_STACKS}) >= 2


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_each_workload_gets_its_own_names_subjects_and_environments(stack):
    other = recorder.plan_config(PROJECT_DIR, example_config(stack))
    shipped = plan(shipped_stack(stack))
    assert other.one(ENVIRONMENT).inputs["environment"] == stack
    assert physical_names(other) and not physical_names(other) & physical_names(shipped)
    subjects = {r.inputs["subject"] for r in other.of_type(FEDERATED)}
    assert subjects and not subjects & {r.inputs["subject"] for r in shipped.of_type(FEDERATED)}


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_workloads_sharing_one_ml_repository_still_get_distinct_subjects(stack):
    config = example_config(stack)
    shipped = plan(shipped_stack(stack))
    ci = json.loads(config.values["mlinfra:ci"])
    ci["github"]["repository"] = json.loads(
        load_stack_config(PROJECT_DIR, shipped_stack(stack)).values["mlinfra:ci"]
    )["github"]["repository"]
    values = {**config.values, "mlinfra:ci": json.dumps(ci)}
    other = record(main_program(PROJECT_DIR), StackConfig(config.project, stack, values, config.secret_keys))
    assert {r.inputs["subject"] for r in other.of_type(FEDERATED)}.isdisjoint(
        {r.inputs["subject"] for r in shipped.of_type(FEDERATED)}
    )


def test_fails_when_the_stack_name_names_another_workload():
    stack = EXAMPLE_STACKS[0]
    config = example_config(stack)
    wrong = f"churnx-{stage_of(stack).name}"
    with pytest.raises(
        ConfigError,
        match=f'stack name: got "{wrong}"; its workload "churnx" must equal mlinfra:workload "fraud"',
    ):
        record(main_program(PROJECT_DIR), StackConfig(config.project, wrong, config.values, ()))


def test_delivery_files_deploy_both_workloads_of_a_stage_side_by_side(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project / "Pulumi.yaml")
    for stack in STACKS:
        shutil.copy(PROJECT_DIR / f"Pulumi.{stack}.yaml", project)
    for stack in EXAMPLE_STACKS:
        shutil.copy(EXAMPLE / f"Pulumi.{stack}.yaml", project)
    stages = stacks_by_stage(Path(project))
    jobs = {}
    current = None
    for line in _deploy_jobs(stages):
        if line.startswith("  up-"):
            current = line.strip().rstrip(":")
            jobs[current] = None
        elif line.startswith("    needs:") and current:
            jobs[current] = line.split(":", 1)[1].strip()
    ordered = [stacks for _, stacks in stages if stacks]
    for previous, stacks in itertools.pairwise(ordered):
        for stack in stacks:
            assert jobs[f"up-{stack}"] == f"[{', '.join(f'up-{name}' for name in previous)}]"
    assert any(len(stacks) == 2 for stacks in ordered)


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_second_workload_reads_the_shared_registry_with_its_reader_role(stack):
    """The project's one shared registry serves both workloads: a `fraud` stage assigns the reader
    role the shared stack defines (for its own workload) and exports, never one named after `fraud`,
    which no stack defines (RB-12)."""
    from mlinfra.planner.views import access_view
    from tests.conftest import SHARED_STACKS

    shared = plan(SHARED_STACKS[0]).outputs
    other = recorder.plan_config(PROJECT_DIR, example_config(stack))
    rows = [row for row in access_view(other) if row["scopeKind"] == "registry"]
    assert rows and {row["scope"] for row in rows} == {shared["registryId"]}
    readers = [
        r
        for r in other.of_type(ASSIGNMENT)
        if r.urn in {row["urn"] for row in rows if row["registryAccess"] == "read"}
    ]
    assert readers
    assert {r.inputs["roleDefinitionId"] for r in readers} == {shared["registryReaderRoleDefinitionId"]}
    assert all(row["persona"] is None for row in rows), "groups are granted by the shared stack (RB-11)"
