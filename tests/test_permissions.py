"""`mlinfra permissions`: derived from the plan, for every stack, and docs/identities.md's tables."""

import json
import subprocess
import sys

import pytest

from mlinfra.planner.stackfile import load_stack_config
from mlinfra.review.permissions import (
    DEPLOYER,
    PREVIEW,
    SUBNET_JOIN,
    WORKSPACE_PE_ACTIONS,
    ZONE_JOIN,
    requirements,
)
from mlinfra.review.permissions_command import BEGIN, END, PAGE, tables_section
from tests.conftest import (
    GITHUB_STACKS,
    JOINED_NETWORK_STACKS,
    NON_PRODUCTION_STACK,
    PROJECT_DIR,
    STACKS,
    first,
    plan,
    planner_cli,
    setting,
    stacks_where,
    with_catalog_stage,
)

MANAGED_NETWORK_STACKS = stacks_where(
    lambda stack: (
        setting(stack, "workspace", {}).get("isolationMode")
        in ("AllowOnlyApprovedOutbound", "AllowInternetOutbound")
    )
)
ENTRA_APPLICATION_STACKS = stacks_where(
    lambda stack: setting(stack, "deploymentIdentity", {}).get("kind") == "entra-application"
)
REVIEWED_GITHUB_STACKS = tuple(
    stack for stack in GITHUB_STACKS if setting(stack, "ci")["github"].get("reviewers")
)
"""GitHub stages with reviewers: the deployer reads the organization's members and teams."""


def reqs(stack_plans, stack):
    return requirements(
        stack_plans[stack], load_stack_config(PROJECT_DIR, stack).values["azure-native:subscriptionId"]
    )


@pytest.mark.parametrize("stack", STACKS)
def test_runs_for_every_stack(stack):
    result = planner_cli("permissions", "--stack", stack, "--format", "json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert {item["identity"] for item in found} == {DEPLOYER, PREVIEW}


def test_unknown_stack_exits_2():
    result = subprocess.run(
        [sys.executable, "-m", "mlinfra", "permissions", "--stack", "nope"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and "nope" in result.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_deployer_holds_contributor_on_the_subscription_not_the_group(stack_plans, stack):
    """The program creates its resource group, which a resource-group-scoped role cannot (issue 16)."""
    found = reqs(stack_plans, stack)
    sub = load_stack_config(PROJECT_DIR, stack).values["azure-native:subscriptionId"]
    contributor = [r for r in found if r.identity == DEPLOYER and r.permission == "Contributor"]
    assert [r.scope for r in contributor] == [f"/subscriptions/{sub}"]
    group = stack_plans[stack].one("azure-native:resources:ResourceGroup").inputs["resourceGroupName"]
    assert group in contributor[0].why
    assert not any("Owner" in r.permission or "User Access Administrator" in r.permission for r in found)


@pytest.mark.parametrize("stack", JOINED_NETWORK_STACKS)
def test_cross_subscription_hub_zones_and_existing_subnet(stack_plans, stack):
    found = reqs(stack_plans, stack)
    network = setting(stack, "network")["privateEndpoints"]
    zone_scopes = {r.scope for r in found if r.permission == ", ".join(ZONE_JOIN)}
    assert zone_scopes == set(network["dnsZoneIds"].values())
    assert all("another subscription" in r.why for r in found if r.scope in zone_scopes)
    assert {r.scope for r in found if r.permission == ", ".join(SUBNET_JOIN)} == {network["subnetId"]}


def test_no_join_rights_for_a_stage_that_creates_its_network():
    """A stage that creates its virtual network and zones needs no join rights outside it (tried on
    a stage that otherwise joins a landing zone)."""
    stack = first(JOINED_NETWORK_STACKS)
    p = plan(
        stack,
        **{
            "mlinfra:network": {
                "privateEndpoints": {
                    "virtualNetwork": {"addressSpace": "10.20.0.0/16", "endpointSubnetPrefix": "10.20.1.0/24"}
                }
            },
            # Its own zones: its own monitoring scope (the hub's is joined only from the hub's zones).
            "mlinfra:monitoring": {},
        },
    )
    found = requirements(p, load_stack_config(PROJECT_DIR, stack).values["azure-native:subscriptionId"])
    assert not [r for r in found if "join/action" in r.permission]


@pytest.mark.parametrize("stack", MANAGED_NETWORK_STACKS)
def test_managed_network_workspace_needs_private_endpoint_connections(stack_plans, stack):
    """Microsoft Learn, "Workspace managed virtual network isolation": the identity that creates a
    managed-network workspace needs privateEndpointConnections/read and write on it."""
    found = reqs(stack_plans, stack)
    workspace = [r for r in found if WORKSPACE_PE_ACTIONS[0] in r.permission]
    assert len(workspace) == 1 and WORKSPACE_PE_ACTIONS[1] in workspace[0].permission
    name = stack_plans[stack].one("azure-native:machinelearningservices:Workspace").inputs["workspaceName"]
    assert workspace[0].scope.endswith(f"/providers/Microsoft.MachineLearningServices/workspaces/{name}")


def test_no_private_endpoint_connection_rights_without_managed_network():
    p = plan(
        NON_PRODUCTION_STACK,
        **{"mlinfra:workspace": {"isolationMode": "Disabled", "highBusinessImpact": False}},
    )
    found = requirements(p, "x")
    assert not [r for r in found if WORKSPACE_PE_ACTIONS[0] in r.permission]


def test_entra_and_graph_follow_the_identity_kind(stack_plans):
    stack = first(ENTRA_APPLICATION_STACKS)
    entra = reqs(stack_plans, stack)
    assert any(
        r.permission.startswith("Application.ReadWrite.OwnedBy") for r in entra if r.identity == DEPLOYER
    )
    assert any(r.permission.startswith("Application.Read.All") for r in entra if r.identity == PREVIEW)
    managed = requirements(plan(stack, **{"mlinfra:deploymentIdentity": {"kind": "managed-identity"}}), "x")
    assert not [r for r in managed if r.system == "Entra ID"]


@pytest.mark.parametrize("stack", REVIEWED_GITHUB_STACKS)
def test_github_permissions_per_repository(stack_plans, stack):
    found = reqs(stack_plans, stack)
    repository = setting(stack, "ci")["github"]["repository"]
    github = {(r.identity, r.permission) for r in found if r.system == "GitHub"}
    assert {
        (DEPLOYER, "Administration: write"),
        (DEPLOYER, "Environments: write"),
        (PREVIEW, "Administration: read"),
        (PREVIEW, "Environments: read"),
        (DEPLOYER, "Members: read"),
    } <= github
    assert all(r.scope in (f"repository {repository}", "organization") for r in found if r.system == "GitHub")


def test_preview_identity_only_reads(stack_plans):
    for stack in STACKS:
        for r in reqs(stack_plans, stack):
            if r.identity == PREVIEW:
                assert "write" not in r.permission.lower() and "Contributor" not in r.permission


def test_the_identities_guide_holds_the_generated_tables():
    readme = (PROJECT_DIR / PAGE).read_text()
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    assert readme[start:end] == tables_section(PROJECT_DIR), "run `venv/bin/mlinfra permissions --write`"


@with_catalog_stage("prod")  # examples/azure-devops/Pulumi.prod.yaml is a stack file of stage prod
def test_azure_devops_stage_needs_project_rights():
    """An Azure DevOps stage (examples/azure-devops) lists the project rights its resources need."""
    result = planner_cli(
        *("permissions", "--stack", "prod", "--format", "json"),
        *("--config-file", "examples/azure-devops/Pulumi.prod.yaml"),
    )
    assert result.returncode == 0, result.stderr
    ado = [item for item in json.loads(result.stdout) if item["system"] == "Azure DevOps"]
    deployer = " ".join(item["permission"] for item in ado if item["identity"] == DEPLOYER)
    assert "Service connections: Creator" in deployer and "Environments: Creator" in deployer
    assert [item["permission"] for item in ado if item["identity"] == PREVIEW] == ["Reader (project)"]


def test_registry_grants_need_rights_on_the_registry_only(stack_plans):
    """A stage's registry grants are on the shared stack's registry; the shared stack's own group
    grants (RB-11) on the group of the registry it creates, which does not exist before its first run.
    Neither is counted with the subscription's catalog-role assignments."""
    from tests.conftest import SHARED_STACKS

    shared = plan(SHARED_STACKS[0])
    registry_id = shared.outputs["registryId"]
    shared_found = requirements(
        shared, load_stack_config(PROJECT_DIR, SHARED_STACKS[0]).values["azure-native:subscriptionId"]
    )
    rbac = [r for r in shared_found if r.permission.startswith("Role Based Access Control Administrator")]
    assert [(r.scope, r.why) for r in rbac] == [
        (
            registry_id.split("/providers/", 1)[0],
            f"{len(shared.of_type('azure-native:authorization:RoleAssignment'))} role assignments on the "
            "registry this stack creates",
        )
    ]
    assert shared.outputs["registryReaderRoleName"] in rbac[0].permission
    for stack in STACKS:
        on_registry = [r for r in reqs(stack_plans, stack) if r.scope == registry_id]
        assert len(on_registry) == 1 and on_registry[0].why.endswith("on the shared registry"), stack
