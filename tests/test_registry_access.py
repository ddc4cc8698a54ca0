"""Stages' access to the shared Azure ML registry (components/registry_access.py), from the stack files."""

import json

import pytest

from components.config import ConfigError
from components.registry_roles import READER_ACTIONS, reader_role
from components.roles import ROLES
from planner.diff import diff_plans
from planner.render import to_json
from planner.views import access_view
from tests.conftest import (
    DATA_SCIENCE_STACK,
    PRODUCTION_STACK,
    SHARED_STACKS,
    STACKS,
    first,
    plan,
    setting,
    stacks_where,
)

PUBLISHING_STACKS = stacks_where(
    lambda stack: (
        setting(stack, "registry", {}).get("deploymentIdentity") == "publish"
        and setting(stack, "registry", {}).get("personas", {}).get("mlEngineers") == "read"
    )
)
"""Stages whose deployer publishes to the shared registry and whose ML engineers read it."""

REGISTRY_USER = ROLES["AzureML Registry User"]
OUTBOUND_RULE = "azure-native:machinelearningservices:ManagedNetworkSettingsRule"


@pytest.fixture(scope="module")
def shared_outputs():
    return plan(SHARED_STACKS[0]).outputs


@pytest.fixture(scope="module")
def plans():
    return {stack: plan(stack) for stack in STACKS}


def _registry_rows(result):
    return [row for row in access_view(result) if row["scopeKind"] == "registry"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_stage_grants_on_the_registry_scope(plans, shared_outputs, stack):
    """Assignments at the registry's ARM id, read from the shared stack through a StackReference."""
    result = plans[stack]
    reference = result.one("pulumi:pulumi:StackReference")
    assert reference.inputs["id"].endswith(SHARED_STACKS[0])
    rows = _registry_rows(result)
    assert rows
    assert {row["scope"] for row in rows} == {shared_outputs["registryId"]}
    for row in rows:
        # The registry is in the shared stack's subscription, and so is the role definition id.
        assignment = next(r for r in result.resources if r.urn == row["urn"])
        assert assignment.inputs["roleDefinitionId"].startswith(
            f"/subscriptions/{shared_outputs['subscriptionId']}/"
        )


@pytest.mark.parametrize("stack", STACKS)
def test_only_the_deployment_identity_of_the_publishing_stage_may_publish(plans, stack):
    """AzureML Registry User is registries/read + registries/assets/* (Microsoft Learn, Azure built-in
    roles, "AzureML Registry User"): publish. Everyone else gets the read-only custom role."""
    rows = _registry_rows(plans[stack])
    publishers = [row for row in rows if row["registryAccess"] == "publish"]
    for row in publishers:
        assert row["role"] == REGISTRY_USER.name and row["identity"] == "deployment"
    readers = [row for row in rows if row["registryAccess"] == "read"]
    assert all(row["roleId"] == reader_role("churn").guid for row in readers)
    # The workspace identity deploys from the registry: read only, everywhere.
    assert [row for row in readers if row["identity"] and row["identity"].startswith("mlw-")]
    assert bool(publishers) == (stack == DATA_SCIENCE_STACK)


def test_reader_role_has_no_write_action():
    assert not [action for action in READER_ACTIONS if not action.endswith("/read")]


def test_private_stage_gets_the_registry_outbound_rule(plans, shared_outputs):
    """A PrivateEndpoint outbound rule, sub-resource amlregistry (Microsoft Learn,
    how-to-registry-network-isolation; how-to-managed-network "private endpoint outbound rules")."""
    rules = [
        r for r in plans[PRODUCTION_STACK].of_type(OUTBOUND_RULE) if r.inputs["ruleName"] == "shared-registry"
    ]
    assert len(rules) == 1
    destination = rules[0].inputs["properties"]["destination"]
    assert destination == {
        "serviceResourceId": shared_outputs["registryId"],
        "sparkEnabled": False,
        "subresourceTarget": "amlregistry",
    }
    assert rules[0].inputs["properties"]["type"] == "PrivateEndpoint"


def test_internet_outbound_stage_gets_no_registry_rule(plans):
    assert not [
        r
        for r in plans[DATA_SCIENCE_STACK].of_type(OUTBOUND_RULE)
        if r.inputs["ruleName"] == "shared-registry"
    ]


def test_fails_when_registry_access_has_no_stack():
    with pytest.raises(ConfigError, match=r"mlinfra:registry.stack: required with registry access"):
        plan(DATA_SCIENCE_STACK, **{"mlinfra:registry": {"deploymentIdentity": "publish"}})


def test_no_registry_section_means_no_reference():
    result = plan(DATA_SCIENCE_STACK, **{"mlinfra:registry": None})
    assert not result.of_type("pulumi:pulumi:StackReference")
    assert not _registry_rows(result)


def test_fails_when_registry_persona_is_unknown():
    with pytest.raises(ConfigError, match=r"mlinfra:registry.personas.auditors: not a persona"):
        plan(
            DATA_SCIENCE_STACK,
            **{
                "mlinfra:registry": {"stack": "organization/mlinfra/shared", "personas": {"auditors": "read"}}
            },
        )


def test_fails_when_data_scientists_read_the_registry_outside_data_science_stages():
    with pytest.raises(
        ConfigError, match=r"mlinfra:registry.personas.dataScientists: data scientists get no access"
    ):
        plan(
            PRODUCTION_STACK,
            **{
                "mlinfra:personas": {
                    "mlEngineers": {
                        "groupObjectId": "8e4b1f6a-2c7d-4a9e-b3f5-6d0c9a8e7b12",
                        "roles": {"resourceGroup": ["Reader"]},
                    },
                    "dataScientists": {"groupObjectId": "3c9e2a71-5f4b-4d8e-a6c2-8b1f0e9d7a53"},
                },
                "mlinfra:storage": {"sku": "Standard_GZRS", "sharedKeyAccessEnabled": True},
                "mlinfra:registry": {
                    "stack": "organization/mlinfra/shared",
                    "personas": {"dataScientists": "read"},
                },
            },
        )


def test_fails_when_access_value_is_unknown():
    with pytest.raises(ConfigError, match=r'mlinfra:registry.deploymentIdentity: got "write"'):
        plan(
            DATA_SCIENCE_STACK,
            **{"mlinfra:registry": {"stack": "organization/mlinfra/shared", "deploymentIdentity": "write"}},
        )


def test_fails_when_referenced_stack_has_no_stack_file():
    from planner.stack_references import StackReferenceError

    with pytest.raises(StackReferenceError, match=r"no stack file Pulumi.elsewhere.yaml"):
        plan(
            DATA_SCIENCE_STACK,
            **{"mlinfra:registry": {"stack": "organization/mlinfra/elsewhere", "workspaceIdentity": True}},
        )


def test_diff_says_grant_publish_on_registry():
    stack = first(PUBLISHING_STACKS)
    base = json.loads(to_json(plan(stack, **{"mlinfra:registry": None})))
    head = json.loads(to_json(plan(stack)))
    texts = [finding.text for finding in diff_plans(stack, base, head).findings]
    assert any(
        text.startswith("GRANT publish on registry shared to identity deployment") for text in texts
    ), texts
    assert any(text.startswith("GRANT read on registry shared to persona mlEngineers") for text in texts), (
        texts
    )
