"""Access invariants of each real stack file (docs/security-model.md section M, RB-1..RB-7, T-20..T-23)."""

import json
from collections import Counter

import pytest

from mlinfra.facts.roles import ROLES, role_from_definition_id
from mlinfra.planner.views import access_view
from tests.conftest import (
    DATA_SCIENCE_STACKS,
    PRODUCTION_STACK,
    PRODUCTION_STACKS,
    STACKS,
    planner_cli,
    stage_of,
)

RA = "azure-native:authorization:RoleAssignment"
DATA_SCIENTIST = ROLES["AzureML Data Scientist"].guid
DS_GROUP = "00000000-0000-0000-0000-000000000007"  # dev's dataScientists group
FORBIDDEN = {ROLES[name].guid for name in ("Owner", "User Access Administrator")}


def assignments(plan):
    """The stage's own assignments; those on the shared registry (another subscription, a custom
    reader role, the connection approver) are covered by tests/test_registry_access.py."""
    return [
        a
        for a in plan.of_type(RA)
        if "/providers/Microsoft.MachineLearningServices/registries/" not in str(a.inputs.get("scope", ""))
    ]


def stage_view(plan):
    return [e for e in access_view(plan) if e["scopeKind"] != "registry"]


@pytest.mark.parametrize("stack", [stack for stack in STACKS if not stage_of(stack).data_science])
def test_no_data_scientist_grant_outside_dev(stack_plans, stack):
    view = access_view(stack_plans[stack])
    assert not [e for e in view if e["persona"] == "dataScientists"]
    assert not [e for e in view if e["principal"] == DS_GROUP]  # T-20: not under another name either


@pytest.mark.parametrize("stack", DATA_SCIENCE_STACKS)
def test_dev_data_scientists_match_the_matrix(stack_plans, stack):
    roles = {
        (e["scopeKind"], e["role"])
        for e in stage_view(stack_plans[stack])
        if e["persona"] == "dataScientists"
    }
    assert roles == {
        ("workspace", "AzureML Data Scientist"),
        ("workspace", "AzureML Compute Operator"),
        ("storageAccount", "Storage Blob Data Contributor"),
        ("storageAccount", "Storage File Data Privileged Contributor"),
        ("resourceGroup", "Reader"),
    }


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_ml_engineers_operate_preprod_and_prod(stack_plans, stack):
    roles = {
        (e["scopeKind"], e["role"]) for e in access_view(stack_plans[stack]) if e["persona"] == "mlEngineers"
    }
    assert ("workspace", "AzureML Data Scientist") in roles and ("resourceGroup", "Reader") in roles


@pytest.mark.parametrize("stack", STACKS)
def test_no_owner_or_user_access_administrator_anywhere(stack_plans, stack):
    guids = {a.inputs["roleDefinitionId"].rsplit("/", 1)[1] for a in assignments(stack_plans[stack])}
    assert guids and not guids & FORBIDDEN


@pytest.mark.parametrize("stack", STACKS)
def test_no_privileged_role_for_a_group(stack_plans, stack):
    for a in assignments(stack_plans[stack]):
        if a.inputs["principalType"] == "Group":
            assert not role_from_definition_id(a.inputs["roleDefinitionId"]).privileged


@pytest.mark.parametrize("stack", STACKS)
def test_every_assignment_has_an_explicit_principal_type_and_catalog_role(stack_plans, stack):
    for a in assignments(stack_plans[stack]):
        assert a.inputs.get("principalType") in ("Group", "ServicePrincipal")  # RB-5, T-23
        assert role_from_definition_id(a.inputs["roleDefinitionId"]) is not None  # RB-2
        sub = stack_plans[stack].outputs["subscriptionId"]
        assert a.inputs["roleDefinitionId"].startswith(
            f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_each_scope_role_principal_appears_once(stack_plans, stack):
    triples = Counter(
        (a.inputs["scope"], a.inputs["roleDefinitionId"], a.inputs["principalId"])
        for a in assignments(stack_plans[stack])
    )
    assert triples and max(triples.values()) == 1
    names = [a.inputs["roleAssignmentName"] for a in assignments(stack_plans[stack])]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("stack", STACKS)
def test_nothing_is_granted_at_subscription_scope(stack_plans, stack):
    for a in assignments(stack_plans[stack]):
        assert "/resourceGroups/" in a.inputs["scope"]


@pytest.mark.parametrize("stack", STACKS)
def test_deployment_identity_gets_the_pipeline_roles_on_its_own_stage(stack_plans, stack):
    plan = stack_plans[stack]
    view = [e for e in stage_view(plan) if e["identity"] == "deployment"]
    assert {(e["scopeKind"], e["role"]) for e in view} == {
        ("workspace", "AzureML Data Scientist"),
        ("storageAccount", "Storage Blob Data Contributor"),
    }
    assert all(e["principal"] == plan.outputs["principalObjectId"] for e in view)
    assert all(plan.outputs["resourceGroupName"] in e["scope"] for e in view)


def test_each_stage_has_its_own_identity(stack_plans):
    names = {stack_plans[s].outputs["deploymentIdentityName"] for s in STACKS}
    ids = {stack_plans[s].outputs["clientId"] for s in STACKS}
    assert len(names) == len(ids) == len(STACKS)


@pytest.mark.parametrize("stack", STACKS)
def test_stack_outputs_give_pipelines_what_they_need(stack_plans, stack):
    outputs = stack_plans[stack].outputs
    for key in (
        "clientId",
        "tenantId",
        "subscriptionId",
        "principalObjectId",
        "workspaceName",
        "resourceGroupName",
    ):
        assert outputs[key] and outputs[key] != "[secret]"


def test_role_assignment_names_are_stable_across_runs(stack_plans):
    from tests.conftest import plan

    again = plan(PRODUCTION_STACK)
    assert [a.inputs["roleAssignmentName"] for a in assignments(again)] == [
        a.inputs["roleAssignmentName"] for a in assignments(stack_plans[PRODUCTION_STACK])
    ]


def test_json_access_view_and_text_matrix():
    result = planner_cli("--stack", DATA_SCIENCE_STACKS[0], "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    entry = next(
        e
        for e in document["access"]
        if e["persona"] == "dataScientists" and e["role"] == "AzureML Data Scientist"
    )
    assert (
        entry["principalType"] == "Group"
        and entry["roleId"] == DATA_SCIENTIST
        and entry["scopeKind"] == "workspace"
    )
    assert set(entry) >= {"principal", "principalType", "persona", "identity", "role", "roleId", "scope"}
    text = planner_cli("--stack", DATA_SCIENCE_STACKS[0]).stdout
    matrix = text[text.index("Access (") :]
    header = matrix.splitlines()[2]
    assert "Principal" in header and "workspace" in header and "storageAccount" in header
    assert "persona dataScientists (Group)" in matrix and "identity deployment (ServicePrincipal)" in matrix


ENDPOINT = "azure-native:network:PrivateEndpoint"
STORAGE = "azure-native:storage:StorageAccount"
READER = ROLES["Reader"].guid


@pytest.mark.parametrize("stack", STACKS)
def test_workspace_identity_reads_the_storage_private_endpoints_when_storage_is_private(stack_plans, stack):
    """ "If the workspace associated Azure storage account has public network access disabled,
    ensure the private endpoint created in the client virtual network is granted the Reader role
    to your workspace managed identity. This applies to both blob and file storage private
    endpoints." (MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-managed-network.md)"""
    plan = stack_plans[stack]
    workspace_name = plan.outputs["workspaceName"]
    storage_endpoints = [
        endpoint.inputs["privateEndpointName"]
        for endpoint in plan.of_type(ENDPOINT)
        if endpoint.inputs["privateLinkServiceConnections"][0]["groupIds"][0] in ("blob", "file")
    ]
    readers = sorted(
        entry["scope"].rsplit("/", 1)[-1]
        for entry in access_view(plan)
        if entry["identity"] == workspace_name and entry["roleId"] == READER
    )
    if plan.one(STORAGE).inputs["publicNetworkAccess"] == "Disabled":
        assert len(storage_endpoints) == 2 and readers == sorted(storage_endpoints)
        assert all(
            entry["principalType"] == "ServicePrincipal"
            for entry in access_view(plan)
            if entry["identity"] == workspace_name
        )
    else:
        assert not readers


KEYLESS_DATA_ROLES = {
    "blob": {"Storage Blob Data Contributor", "Storage Blob Data Reader"},
    "file": {"Storage File Data Privileged Contributor", "Storage File Data Privileged Reader"},
}


@pytest.mark.parametrize("stack", STACKS)
def test_every_workspace_persona_holds_blob_and_file_data_roles_on_keyless_storage(stack_plans, stack):
    """ "These users must be assigned the Storage Blob Data Contributor and Storage File Data
    Privileged Contributor roles ... If these users only need read access, use the Storage Blob
    Data Reader and Storage File Data Privileged Reader roles instead" (MicrosoftDocs/azure-ai-docs
    articles/machine-learning/how-to-disable-local-auth-storage.md)."""
    plan = stack_plans[stack]
    if plan.one(STORAGE).inputs["allowSharedKeyAccess"]:
        return
    view = access_view(plan)
    personas = {e["persona"] for e in view if e["persona"] and e["scopeKind"] == "workspace"}
    assert personas, "a key-less stage without a workspace persona tests nothing"
    for persona in personas:
        storage_roles = {
            e["role"]
            for e in view
            if e["persona"] == persona and e["scopeKind"] in ("storageAccount", "resourceGroup")
        }
        for service, roles in KEYLESS_DATA_ROLES.items():
            assert storage_roles & roles, (persona, service)
