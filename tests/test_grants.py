"""The grant mechanism: deterministic GUID names, explicit principal type, ARM role ids."""

import re
import uuid

import pulumi

from mlinfra.access.grants import (
    HolderKind,
    Principal,
    PrincipalType,
    Scope,
    assignment_name,
    description,
    grant,
)
from mlinfra.facts.grant_description import parse_description
from mlinfra.facts.roles import ROLES
from tests.conftest import run_program

SUB = "00000000-0000-0000-0000-000000000012"
GROUP = "00000000-0000-0000-0000-000000000007"
WS_ID = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/mlw"


def group(label="dataScientists", key=GROUP):
    return Principal(key=key, object_id=key, type=PrincipalType.GROUP, holder=HolderKind.PERSONA, label=label)


def scope(name="mlw-churn-dev-weu", id_=WS_ID):
    return Scope("workspace", name, id_)


def test_assignment_name_is_a_deterministic_guid():
    role = ROLES["AzureML Data Scientist"]
    first = assignment_name(SUB, scope(), group(), role)
    assert uuid.UUID(first)
    assert first == assignment_name(SUB, scope(), group(), role)


def test_assignment_name_ignores_guid_case():
    role = ROLES["Reader"]
    assert assignment_name(SUB.upper(), scope(), group(key=GROUP.upper()), role) == assignment_name(
        SUB, scope(), group(), role
    )


def test_assignment_name_differs_per_scope_principal_role_and_subscription():
    role = ROLES["Reader"]
    base = assignment_name(SUB, scope(), group(), role)
    others = {
        assignment_name(SUB, scope(name="mlw-churn-prod-weu"), group(), role),
        assignment_name(SUB, Scope("resourceGroup", "mlw-churn-dev-weu", "x"), group(), role),
        assignment_name(SUB, scope(), group(key="00000000-0000-0000-0000-000000000014"), role),
        assignment_name(SUB, scope(), group(), ROLES["AcrPull"]),
        assignment_name("00000000-0000-0000-0000-000000000003", scope(), group(), role),
    }
    assert base not in others and len(others) == 5


def test_description_round_trips():
    role = ROLES["AzureML Compute Operator"]
    text = description(group(), role, scope())
    assert parse_description(text) == {
        "holder": "persona",
        "label": "dataScientists",
        "role": "AzureML Compute Operator",
        "scope_kind": "workspace",
        "scope_name": "mlw-churn-dev-weu",
    }
    assert parse_description("hand-made assignment") is None


def test_grant_registers_a_role_assignment_with_explicit_type_and_arm_ids():
    role = ROLES["AzureML Data Scientist"]
    sp = Principal(
        key="id-x",
        object_id="11111111-2222-3333-4444-555555555555",
        type=PrincipalType.SERVICE_PRINCIPAL,
        holder=HolderKind.IDENTITY,
        label="deployment",
    )

    def program():
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        grant("p", subscription_id=SUB, principal=sp, role=role, scope=scope(), parent=parent)

    plan = run_program(program)
    assignment = plan.one("azure-native:authorization:RoleAssignment")
    inputs = assignment.inputs
    assert inputs["principalType"] == "ServicePrincipal"  # P1: never the SDK's default "User"
    assert inputs["principalId"] == "11111111-2222-3333-4444-555555555555"
    assert inputs["roleDefinitionId"] == (
        f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/f6c7c914-8db3-469d-8ca1-694a8f32e121"
    )
    assert inputs["scope"] == WS_ID
    assert inputs["roleAssignmentName"] == assignment_name(SUB, scope(), sp, role)
    assert re.fullmatch(r"[0-9a-f-]{36}", inputs["roleAssignmentName"])
    assert assignment.name == "p-deployment-azureml-data-scientist-workspace"
    assert assignment.parent.endswith("test:index:Parent::parent")
