"""The estate verifier's registry paths (mlinfra/estate/reachability.py, EV-12 registry part and
EV-13): every stage that publishes to or reads from the shared registry has a path from its
pipeline's runners and from its workspace's managed network, and a registry with private clients
has endpoints for its storage and ACR in every region (docs/networking.md, "Registry")."""

import copy
import dataclasses

import pytest

from mlinfra.estate import prerequisites, reachability
from mlinfra.estate.inventory import StackPlan, plan_estate
from mlinfra.estate.reachability import APPROVE, registry_parts, registry_paths
from tests.conftest import PROJECT_DIR, SHARED_STACKS, first, setting, stacks_where

REGISTRY = "azure-native:machinelearningservices:Registry"
RULE = "azure-native:machinelearningservices:ManagedNetworkSettingsRule"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ENDPOINT = "azure-native:network:PrivateEndpoint"
SHARED = SHARED_STACKS[0]
APPROVER_GUID = "b556d68e-0be0-4f35-a333-ad7ee1ce17ea"
"""Azure AI Enterprise Network Connection Approver (Microsoft Learn, built-in roles, AI + machine learning)."""


def _section(stack: str, key: str) -> dict:
    value = setting(stack, key, {})
    return value if isinstance(value, dict) else {}


def _registry(stack: str) -> dict:
    return _section(stack, "registry")


def _isolation(stack: str) -> str:
    return _section(stack, "workspace").get("isolationMode", "AllowOnlyApprovedOutbound")


USERS = stacks_where(lambda stack: bool(_registry(stack).get("stack")))
"""The stages that use the shared registry."""
PUBLISHER = first(stacks_where(lambda stack: _registry(stack).get("deploymentIdentity") == "publish"))
PRIVATE_READERS = stacks_where(
    lambda stack: (
        _registry(stack).get("deploymentIdentity") == "read"
        and bool(_section(stack, "ci").get("runnerGroup"))
    )
)
APPROVED_OUTBOUND = first(
    stacks_where(lambda stack: stack in USERS and _isolation(stack) == "AllowOnlyApprovedOutbound")
)


@pytest.fixture(scope="module")
def estate() -> list[StackPlan]:
    return plan_estate(PROJECT_DIR)


def _paths(stacks: list[StackPlan]) -> dict[tuple[str, str], reachability.RegistryPath]:
    network = reachability.build_network(stacks, prerequisites.load(PROJECT_DIR))
    registries = reachability._registries(stacks)
    return {
        (path.stack.stack, path.client): path
        for stack in stacks
        if stack.kind == "stage"
        for path in registry_paths(stack, registries, network)
    }


def _findings(stacks: list[StackPlan], rule: str) -> list[str]:
    network = reachability.build_network(stacks, prerequisites.load(PROJECT_DIR))
    return [f.message for f in reachability.check_paths(stacks, network) if f.rule == rule]


def _edit(stacks: list[StackPlan], stack: str, change) -> list[StackPlan]:
    """A copy of the estate where `change(plan)` has edited the plan of `stack`."""
    edited = []
    for item in stacks:
        if item.stack == stack:
            plan = copy.deepcopy(item.plan)
            change(plan)
            item = dataclasses.replace(item, plan=plan)
        edited.append(item)
    return edited


def _private_registry(plan) -> None:
    plan.one(REGISTRY).inputs["publicNetworkAccess"] = "Disabled"


def test_every_publishing_and_reading_stage_has_a_path_in_the_shipped_estate(estate):
    """dev publishes from GitHub-hosted runners through the registry's public access (Learn
    machine-learning/how-to-registry-network-isolation, "Scenario: workspace configuration is
    secure and Azure Machine Learning registry is public": the identity needs AzureML Registry User);
    preprod and prod read from their private runners; every managed network has its own
    private-endpoint rule, approved by the workspace's identity (how-to-managed-network.md,
    "Approval of private endpoints")."""
    paths = _paths(estate)
    expected = {(stack, "runners") for stack in USERS if _registry(stack).get("deploymentIdentity")} | {
        (stack, "managed network") for stack in USERS if _isolation(stack) != "Disabled"
    }
    assert set(paths) == expected and (PUBLISHER, "runners") in expected and PRIVATE_READERS
    assert all(path.exists for path in paths.values()), [p.problem for p in paths.values() if not p.exists]
    assert paths[(PUBLISHER, "runners")].use == "publish"
    assert paths[(PUBLISHER, "runners")].via.startswith("public network access")
    assert {paths[(stack, "runners")].use for stack in PRIVATE_READERS} == {"read"}
    for stack, client in expected:
        if client == "managed network":
            assert paths[(stack, client)].via.startswith("outbound rule shared-registry")
    assert not _findings(estate, "EV-12") and not _findings(estate, "EV-13")


def test_dev_with_allow_internet_outbound_still_gets_the_registry_rule(estate):
    """The rule is made whatever the isolation mode: how-to-managed-network.md says PE outbound
    rules work in AllowInternetOutbound too ("Regardless of the outbound mode ... traffic to Azure
    resources can be configured to use a private endpoint"; review-3 B3)."""
    assert _isolation(PUBLISHER) == "AllowInternetOutbound"
    dev = next(s for s in estate if s.stack == PUBLISHER)
    (workspace,) = dev.plan.of_type("azure-native:machinelearningservices:Workspace")
    assert workspace.inputs["managedNetwork"]["isolationMode"] == "AllowInternetOutbound"
    (rule,) = [r for r in dev.plan.of_type(RULE) if r.inputs["ruleName"] == "shared-registry"]
    destination = rule.inputs["properties"]["destination"]
    assert destination["subresourceTarget"] == "amlregistry"
    assert destination["serviceResourceId"].endswith("/registries/mlr-churn-weu")
    # The approval grant comes first: the rule depends on it (through the chain of rules).
    (approver,) = [
        a for a in dev.plan.of_type(ASSIGNMENT) if a.inputs["roleDefinitionId"].endswith(APPROVER_GUID)
    ]
    assert approver.inputs["scope"] == destination["serviceResourceId"]
    assert approver.inputs["roleDefinitionId"].startswith(
        "/subscriptions/00000000-0000-0000-0000-000000000020/"
    )
    rules = dev.plan.of_type(RULE)
    assert approver.urn in rules[0].dependencies


def test_a_private_registry_is_unreachable_from_hosted_runners_but_reachable_from_private_ones(estate):
    """With public access off, the Internet has no path ("Clients need to be connected to the VNet
    to which the registry is connected with a private endpoint", how-to-registry-network-isolation);
    preprod's private runners (hub-connected) reach the registry's endpoint in the shared spoke."""
    stacks = _edit(estate, SHARED, _private_registry)
    paths = _paths(stacks)
    dev = paths[(PUBLISHER, "runners")]
    assert not dev.exists
    assert (
        "(GitHub-hosted runners on the Internet) cannot reach the shared registry mlr-churn-weu (publish)"
        in dev.problem
    )
    assert "registry and storage account in westeurope" in dev.problem
    for stack in PRIVATE_READERS:
        path = paths[(stack, "runners")]
        assert path.exists, path.problem
        assert path.via.startswith("private endpoint registry-endpoint in ")
        assert path.via.endswith("/virtualnetworks/vnet-spoke-ml-shared-weu")
    assert len(_findings(stacks, "EV-12")) == 1


def test_a_managed_network_without_the_rule_is_a_finding(estate):
    def drop(plan):
        plan.resources = [
            r for r in plan.resources if not (r.type == RULE and r.inputs["ruleName"] == "shared-registry")
        ]

    (message,) = _findings(_edit(estate, APPROVED_OUTBOUND, drop), "EV-12")
    assert message.startswith(
        f"{APPROVED_OUTBOUND}'s managed network (AllowOnlyApprovedOutbound) has no private-endpoint outbound rule"
    )


def test_a_rule_without_the_approval_grant_would_stay_pending(estate):
    """R2: after April 30th, 2025 the service no longer grants the workspace identity approval on
    the target (how-to-managed-network.md, "Approval of private endpoints")."""

    def drop(plan):
        plan.resources = [
            r
            for r in plan.resources
            if not (r.type == ASSIGNMENT and r.inputs["roleDefinitionId"].endswith(APPROVER_GUID))
        ]

    (message,) = _findings(_edit(estate, PRIVATE_READERS[-1], drop), "EV-12")
    assert "would stay Pending" in message and APPROVE in message


def test_registry_endpoints_are_needed_for_storage_and_acr_in_every_region(estate):
    shared = next(s for s in estate if s.stack == SHARED)
    parts = registry_parts(shared, shared.plan.one(REGISTRY))
    assert sorted((region, kind) for region, kind, _ in parts) == [
        ("northeurope", "container registry"),
        ("northeurope", "storage account"),
        ("westeurope", "container registry"),
        ("westeurope", "storage account"),
    ]
    storage_neu = next(
        part for region, kind, part in parts if (region, kind) == ("northeurope", "storage account")
    )

    def drop(plan):
        plan.resources = [
            r
            for r in plan.resources
            if not (
                r.type == ENDPOINT
                and r.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"] == storage_neu
            )
        ]

    (message,) = _findings(_edit(estate, SHARED, drop), "EV-13")
    assert "system-created storage account in northeurope has no private endpoint" in message


def test_a_public_registry_without_endpoints_needs_none_for_storage_and_acr(estate):
    def drop(plan):
        plan.resources = [r for r in plan.resources if r.type != ENDPOINT]

    assert not _findings(_edit(estate, SHARED, drop), "EV-13")
    # ... but a private one does (the old EV-13 of review-3 F1).
    stacks = _edit(estate, SHARED, lambda plan: (drop(plan), _private_registry(plan)))
    (message,) = _findings(stacks, "EV-13")
    assert "storage account in westeurope, container registry in westeurope" in message
