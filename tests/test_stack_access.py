"""Access invariants of each real stack file (reference section (c), RB-1..RB-7, T-20..T-23)."""

import json
import subprocess
import sys
from collections import Counter

import pytest

from components.roles import ROLES, role_from_definition_id
from planner.views import access_view
from tests.conftest import PROJECT_DIR, STACKS

RA = "azure-native:authorization:RoleAssignment"
DATA_SCIENTIST = ROLES["AzureML Data Scientist"].guid
DS_GROUP = "3c9e2a71-5f4b-4d8e-a6c2-8b1f0e9d7a53"  # dev's dataScientists group
FORBIDDEN = {ROLES[name].guid for name in ("Owner", "User Access Administrator")}


def assignments(plan):
    return plan.of_type(RA)


@pytest.mark.parametrize("stack", ["preprod", "prod"])
def test_no_data_scientist_grant_outside_dev(stack_plans, stack):
    view = access_view(stack_plans[stack])
    assert not [e for e in view if e["persona"] == "dataScientists"]
    assert not [e for e in view if e["principal"] == DS_GROUP]  # T-20: not under another name either


def test_dev_data_scientists_match_the_matrix(stack_plans):
    roles = {
        (e["scopeKind"], e["role"])
        for e in access_view(stack_plans["dev"])
        if e["persona"] == "dataScientists"
    }
    assert roles == {
        ("workspace", "AzureML Data Scientist"),
        ("workspace", "AzureML Compute Operator"),
        ("storageAccount", "Storage Blob Data Contributor"),
        ("storageAccount", "Storage File Data Privileged Contributor"),
        ("resourceGroup", "Reader"),
    }


@pytest.mark.parametrize("stack", ["preprod", "prod"])
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
    view = [e for e in access_view(plan) if e["identity"] == "deployment"]
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

    again = plan("prod")
    assert [a.inputs["roleAssignmentName"] for a in assignments(again)] == [
        a.inputs["roleAssignmentName"] for a in assignments(stack_plans["prod"])
    ]


def test_json_access_view_and_text_matrix():
    result = subprocess.run(
        [sys.executable, "-m", "planner", "--stack", "dev", "--format", "json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
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
    text = subprocess.run(
        [sys.executable, "-m", "planner", "--stack", "dev"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    matrix = text[text.index("Access (") :]
    header = matrix.splitlines()[2]
    assert "Principal" in header and "workspace" in header and "storageAccount" in header
    assert "persona dataScientists (Group)" in matrix and "identity deployment (ServicePrincipal)" in matrix
