"""The real stack files: each stage's plan keeps that stage's invariants (rule IDs from
docs/security-model.md), and all stages together keep the cross-stage ones.

All plans come from the session fixture `stack_plans`: the real `__main__.py` with the
real `Pulumi.<stage>.yaml`, recorded under the mock engine.
"""

import importlib
import inspect
import json
from functools import cache

import pytest

from mlinfra.planner.mock_cloud import physical_name
from tests.conftest import PRODUCTION_STACKS, STACKS, STATEFUL_TYPES, stack_config, stage_of, with_stack_file
from tests.test_naming import azure_accepts

PRIVATE_STACKS = PRODUCTION_STACKS
"""Production stacks: private by the production rules (mlinfra/config/rules/production_rules.py)."""
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"

RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
LOGS = "azure-native:operationalinsights:Workspace"
INSIGHTS = "azure-native:applicationinsights:Component"
REGISTRY = "azure-native:containerregistry:Registry"
WORKSPACE = "azure-native:machinelearningservices:Workspace"

NAME_RULE = {
    RESOURCE_GROUP: "resource_group",
    STORAGE: "storage_account",
    VAULT: "key_vault",
    LOGS: "log_analytics",
    INSIGHTS: "application_insights",
    REGISTRY: "container_registry",
    WORKSPACE: "workspace",
    "azure-native:managedidentity:UserAssignedIdentity": "deployment_identity",
    "azuread:index/application:Application": "deployment_identity",
}
"""Resource type -> the Azure naming rule (tests/test_naming.py) its physical name must keep."""
GLOBALLY_UNIQUE = (STORAGE, VAULT, REGISTRY)

ARM_PROVIDER = {
    STORAGE: "Microsoft.Storage/storageAccounts",
    VAULT: "Microsoft.KeyVault/vaults",
    INSIGHTS: "Microsoft.Insights/components",
    REGISTRY: "Microsoft.ContainerRegistry/registries",
}
WORKSPACE_DEPENDENCY_INPUT = {
    STORAGE: "storageAccount",
    VAULT: "keyVault",
    INSIGHTS: "applicationInsights",
    REGISTRY: "containerRegistry",
}


@cache
def taggable(type_: str) -> bool:
    """Whether the azure-native resource takes Azure tags, read from the SDK's own signature."""
    package, module, name = type_.split(":")
    if package != "azure-native":
        return False  # Entra objects and providers take no Azure tags
    resource_class = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    return "tags" in inspect.signature(resource_class._internal_init).parameters


def stack_file(stack: str) -> dict:
    return stack_config(stack).values


def subscription(stack: str) -> str:
    return stack_file(stack)["azure-native:subscriptionId"]


# --- dev -----------------------------------------------------------------------------


@with_stack_file("dev")
def test_dev_is_reachable_experimental_and_disposable(stack_plans):
    """Pulumi.dev.yaml: public, internet outbound, nothing protected (a torn-down dev is rebuilt)."""
    plan = stack_plans["dev"]
    workspace = plan.one(WORKSPACE).inputs
    assert workspace["publicNetworkAccess"] == "Enabled"
    assert workspace["managedNetwork"]["isolationMode"] == "AllowInternetOutbound"
    # The repository's OIDC subject-claim template outlives the stack on purpose: other stacks of
    # the repository trust the subject it makes GitHub emit (mlinfra/access/github_oidc.py).
    protected = [
        r.name
        for r in plan.resources
        if (r.protect or r.retain_on_delete) and not r.type.endswith("OidcSubjectClaimCustomizationTemplate")
    ]
    assert protected == []


# --- preprod and prod ----------------------------------------------------------------


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_stage_workspace_is_private_with_approved_outbound_only(stack_plans, stack):
    workspace = stack_plans[stack].one(WORKSPACE).inputs
    assert workspace["publicNetworkAccess"] == "Disabled"  # ML-1
    assert workspace.get("allowPublicAccessWhenBehindVnet", False) is False  # ML-1
    assert workspace["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"  # ML-3
    assert workspace["hbiWorkspace"] is True  # ML-9


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_stage_storage_is_private_and_keyless(stack_plans, stack):
    plan = stack_plans[stack]
    account = plan.one(STORAGE).inputs
    assert account["allowBlobPublicAccess"] is False  # ST-1
    assert account["publicNetworkAccess"] == "Disabled"  # ST-2
    assert account["networkRuleSet"]["defaultAction"] == "Deny"  # ST-2
    assert "AzureServices" in account["networkRuleSet"]["bypass"]  # ST-2
    assert account["allowSharedKeyAccess"] is False  # ST-3, explicit
    assert account["minimumTlsVersion"] == "TLS1_2"  # ST-4
    assert account["enableHttpsTrafficOnly"] is True  # ST-5
    assert account["allowCrossTenantReplication"] is False  # ST-6
    assert plan.one(WORKSPACE).inputs["systemDatastoresAuthMode"] == "Identity"  # ML-7


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_stage_key_vault_is_rbac_purge_protected_and_private(stack_plans, stack):
    properties = stack_plans[stack].one(VAULT).inputs["properties"]
    assert properties["enableRbacAuthorization"] is True  # KV-1
    assert properties["enablePurgeProtection"] is True  # KV-2
    assert properties["enableSoftDelete"] is True  # KV-3
    assert 7 <= properties["softDeleteRetentionInDays"] <= 90  # KV-3
    assert properties["publicNetworkAccess"] == "Disabled"  # KV-4
    assert properties["networkAcls"]["defaultAction"] == "Deny"  # KV-4


@with_stack_file("prod")
def test_prod_key_vault_keeps_deleted_secrets_90_days(stack_plans):
    """Pulumi.prod.yaml keeps the longest retention Key Vault allows."""
    assert stack_plans["prod"].one(VAULT).inputs["properties"]["softDeleteRetentionInDays"] == 90  # KV-3


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_stage_registry_is_premium_and_private(stack_plans, stack):
    registry = stack_plans[stack].one(REGISTRY).inputs
    assert registry["sku"]["name"] == "Premium"  # ACR-3
    assert registry["publicNetworkAccess"] == "Disabled"  # ACR-3


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_stage_stateful_resources_are_protected_and_retained(stack_plans, stack):
    plan = stack_plans[stack]
    for type_ in STATEFUL_TYPES:  # PU-3
        resource = plan.one(type_)
        assert (resource.protect, resource.retain_on_delete) == (True, True), type_


# --- every stage ---------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_stage_keeps_the_rules_for_all_stages(stack_plans, stack):
    plan = stack_plans[stack]
    account = plan.one(STORAGE).inputs
    assert account["allowBlobPublicAccess"] is False  # ST-1
    assert isinstance(account["allowSharedKeyAccess"], bool)  # ST-3: explicit, never left out
    assert account["minimumTlsVersion"] == "TLS1_2"  # ST-4
    assert account["enableHttpsTrafficOnly"] is True  # ST-5
    assert account["allowCrossTenantReplication"] is False  # ST-6
    properties = plan.one(VAULT).inputs["properties"]
    assert properties["enableRbacAuthorization"] is True  # KV-1
    assert properties.get("enablePurgeProtection", True) is True  # KV-2: never sent as false
    assert 7 <= properties["softDeleteRetentionInDays"] <= 90  # KV-3
    registry = plan.one(REGISTRY).inputs
    assert registry["adminUserEnabled"] is False  # ACR-1
    assert registry["anonymousPullEnabled"] is False  # ACR-2
    if account["allowSharedKeyAccess"] is False:  # ML-7, the cross-resource invariant
        assert plan.one(WORKSPACE).inputs["systemDatastoresAuthMode"] == "Identity"


@pytest.mark.parametrize("stack", STACKS)
def test_stage_workspace_uses_explicit_dependencies(stack_plans, stack):
    # ML-8: the workspace gets the ARM id of each dependency the stage creates, and waits for it.
    plan = stack_plans[stack]
    workspace = plan.one(WORKSPACE)
    group = plan.one(RESOURCE_GROUP).inputs["resourceGroupName"]
    for type_, key in WORKSPACE_DEPENDENCY_INPUT.items():
        dependency = plan.one(type_)
        name = physical_name(type_, dependency.inputs)
        expected = f"/subscriptions/{subscription(stack)}/resourceGroups/{group}/providers/{ARM_PROVIDER[type_]}/{name}"
        assert workspace.inputs[key] == expected, key
        assert dependency.urn in workspace.dependencies, key
    assert (
        plan.one(INSIGHTS)
        .inputs["workspaceResourceId"]
        .endswith(f"/Microsoft.OperationalInsights/workspaces/{plan.one(LOGS).inputs['workspaceName']}")
    )


@pytest.mark.parametrize("stack", STACKS)
def test_stage_physical_names_are_valid(stack_plans, stack):
    checked = set()
    for resource in stack_plans[stack].resources:
        if resource.type in NAME_RULE:
            name = physical_name(resource.type, resource.inputs)
            assert name and azure_accepts(NAME_RULE[resource.type], name), (resource.type, name)
            checked.add(resource.type)
    assert checked >= set(STATEFUL_TYPES)


@pytest.mark.parametrize("stack", STACKS)
def test_stage_tags_every_taggable_resource(stack_plans, stack):
    expected = {
        **json.loads(stack_file(stack).get("mlinfra:tags", "{}")),
        "workload": stack_file(stack)["mlinfra:workload"],
        "stage": stack,
        "managed-by": "pulumi",
    }
    tagged = [r for r in stack_plans[stack].resources if r.custom and taggable(r.type)]
    assert {r.type for r in tagged} >= set(STATEFUL_TYPES)
    for resource in tagged:
        assert resource.inputs.get("tags") == expected, resource.name


@pytest.mark.parametrize("stack", STACKS)
def test_stage_resources_form_one_tree(stack_plans, stack):
    plan = stack_plans[stack]
    urns = {resource.urn for resource in plan.resources}
    roots = [resource for resource in plan.resources if resource.parent is None]
    assert [root.type for root in roots] == [ROOT_STACK_TYPE]
    orphans = [r.name for r in plan.resources if r.parent is not None and r.parent not in urns]
    assert orphans == []
    assert len(urns) == len(plan.resources)  # no URN registered twice


@pytest.mark.parametrize("stack", STACKS)
def test_stage_deploys_to_its_own_subscription_and_region(stack_plans, stack):
    plan = stack_plans[stack]
    assert plan.outputs["stage"] == stage_of(stack).name
    assert plan.outputs["subscriptionId"] == subscription(stack)
    assert plan.outputs["workspaceId"].startswith(f"/subscriptions/{subscription(stack)}/resourceGroups/")
    location = stack_file(stack)["azure-native:location"]
    for type_ in STATEFUL_TYPES:
        assert plan.one(type_).inputs["location"] == location, type_


def test_no_two_stages_share_a_globally_unique_name(stack_plans):
    seen: dict[str, str] = {}
    for stack in STACKS:
        for type_ in GLOBALLY_UNIQUE:
            name = physical_name(type_, stack_plans[stack].one(type_).inputs)
            assert name not in seen, f"{type_} {name!r} is used by {seen.get(name)} and {stack}"
            seen[name] = stack
    assert len(seen) == len(STACKS) * len(GLOBALLY_UNIQUE)


def test_no_two_stages_share_a_resource_group_or_workspace_name(stack_plans):
    for type_ in (RESOURCE_GROUP, WORKSPACE):
        names = [physical_name(type_, stack_plans[stack].one(type_).inputs) for stack in STACKS]
        assert len(set(names)) == len(STACKS), type_
