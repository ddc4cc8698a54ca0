"""mlinfra.stage.ml_workspace: MlWorkspace under the recording mock engine.

The component runs on its own (no config loading, no MlStage) in two settings: the secure
defaults, and every relaxable setting relaxed. Assertions are on the registrations recorded
after the program finished.
"""

import re

import pulumi
import pytest

from mlinfra.facts.naming import stage_names
from mlinfra.planner.stackfile import load_stack_config
from mlinfra.settings.network_settings import REQUIRED_ZONES, NetworkSettings
from mlinfra.settings.workspace_settings import (
    ContainerRegistrySettings,
    KeyVaultSettings,
    MonitoringSettings,
    ResourceProtection,
    StorageSettings,
    WorkspaceSettings,
)
from mlinfra.stage.ml_workspace import MlWorkspace, MlWorkspaceArgs
from mlinfra.stage.stage_network import PrivateLink
from tests.conftest import NON_PRODUCTION_STACK, PROJECT_DIR, run_program

NAME = "unit-ml"
COMPONENT_TYPE = "mlinfra:components:MlWorkspace"
RESOURCE_GROUP = "rg-unit-test-weu"
TENANT = "11111111-2222-4333-8444-555555555555"
SUBSCRIPTION = load_stack_config(PROJECT_DIR, NON_PRODUCTION_STACK).values[
    "azure-native:subscriptionId"
]  # what the mocks use
NAMES = stage_names(
    workload="unit", stage="unit", code="unt", location="westeurope", subscription_id=SUBSCRIPTION
)
TAGS = {"workload": "unit", "stage": "unit", "managed-by": "pulumi", "costCenter": "42"}

STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
LOGS = "azure-native:operationalinsights:Workspace"
INSIGHTS = "azure-native:applicationinsights:Component"
REGISTRY = "azure-native:containerregistry:Registry"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
CHILD_TYPES = (STORAGE, VAULT, LOGS, INSIGHTS, REGISTRY, WORKSPACE)
ARM_ID = re.compile(r"/subscriptions/[0-9a-f-]{36}/resourceGroups/[^/]+/providers/[A-Za-z.]+/[A-Za-z]+/[^/]+")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

SUBNET = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-net/providers/Microsoft.Network/"
    "virtualNetworks/vnet-spoke/subnets/snet-private-endpoints"
)
ZONES = {
    zone: f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/{zone}"
    for zone in REQUIRED_ZONES
}
# Settings are built from their config (camelCase) keys, exactly as a stack file spells them.
SECURE = dict(
    network=NetworkSettings.model_validate({"privateEndpoints": {"subnetId": SUBNET, "dnsZoneIds": ZONES}}),
    storage=StorageSettings(),
    key_vault=KeyVaultSettings(),
    container_registry=ContainerRegistrySettings(),
    monitoring=MonitoringSettings(),
    workspace=WorkspaceSettings.model_validate({"imageBuildCompute": "image-builder"}),
    protection=ResourceProtection(),
    private_link=PrivateLink(SUBNET, ZONES, "westeurope", RESOURCE_GROUP, TAGS),
)
RELAXED = dict(
    network=NetworkSettings.model_validate({"publicNetworkAccessEnabled": True}),
    storage=StorageSettings.model_validate({"sku": "Standard_LRS", "sharedKeyAccessEnabled": True}),
    key_vault=KeyVaultSettings.model_validate(
        {"softDeleteRetentionDays": 7, "purgeProtectionEnabled": False}
    ),
    container_registry=ContainerRegistrySettings.model_validate({"sku": "Basic"}),
    monitoring=MonitoringSettings.model_validate({"logRetentionDays": 30}),
    workspace=WorkspaceSettings.model_validate(
        {"isolationMode": "AllowInternetOutbound", "highBusinessImpact": False}
    ),
    protection=ResourceProtection.model_validate({"protect": False, "retainOnDelete": False}),
    private_link=None,
)
SETTINGS = {"secure": SECURE, "relaxed": RELAXED}


def build(settings: dict):
    def program():
        component = MlWorkspace(
            NAME,
            MlWorkspaceArgs(
                names=NAMES,
                subscription_id=SUBSCRIPTION,
                resource_group_name=RESOURCE_GROUP,
                location="westeurope",
                tenant_id=TENANT,
                tags=TAGS,
                **settings,
            ),
        )
        for output in (
            "workspace_id",
            "workspace_name",
            "principal_id",
            "storage_account_id",
            "key_vault_id",
            "container_registry_id",
            "application_insights_id",
            "log_analytics_id",
        ):
            pulumi.export(output, getattr(component, output))

    return program


@pytest.fixture(scope="module")
def plans():
    return {
        variant: run_program(build(settings), NON_PRODUCTION_STACK) for variant, settings in SETTINGS.items()
    }


@pytest.fixture(params=sorted(SETTINGS))
def variant(request):
    return request.param


def inputs(plans, variant, type_):
    return plans[variant].one(type_).inputs


def test_storage_is_hardened_in_every_setting(plans, variant):
    account = inputs(plans, variant, STORAGE)
    assert account["accountName"] == NAMES.storage_account
    assert account["minimumTlsVersion"] == "TLS1_2"  # ST-4
    assert account["enableHttpsTrafficOnly"] is True  # ST-5
    assert account["allowBlobPublicAccess"] is False  # ST-1
    assert account["allowCrossTenantReplication"] is False  # ST-6
    # ST-3: the policy flags a missing property like `true`, so it is sent either way.
    assert account["allowSharedKeyAccess"] is SETTINGS[variant]["storage"].shared_key_access_enabled
    assert account["sku"]["name"] == SETTINGS[variant]["storage"].sku.value


def test_key_vault_is_rbac_authorized_with_configured_retention(plans, variant):
    vault = inputs(plans, variant, VAULT)
    assert vault["vaultName"] == NAMES.key_vault
    properties = vault["properties"]
    assert properties["enableRbacAuthorization"] is True  # KV-1
    assert properties["tenantId"] == TENANT
    assert (
        properties["softDeleteRetentionInDays"] == SETTINGS[variant]["key_vault"].soft_delete_retention_days
    )
    assert "accessPolicies" not in properties or properties["accessPolicies"] == []


def test_purge_protection_is_sent_as_true_when_on(plans):
    assert inputs(plans, "secure", VAULT)["properties"]["enablePurgeProtection"] is True  # KV-2


def test_purge_protection_is_left_out_never_false_when_off(plans):
    # KV-2 is irreversible: Azure rejects `false` on a protected vault, so "off" is absence.
    assert "enablePurgeProtection" not in inputs(plans, "relaxed", VAULT)["properties"]


def test_registry_has_no_admin_user_and_no_anonymous_pull(plans, variant):
    registry = inputs(plans, variant, REGISTRY)
    assert registry["registryName"] == NAMES.container_registry
    assert registry["adminUserEnabled"] is False  # ACR-1
    assert registry["anonymousPullEnabled"] is False  # ACR-2
    assert registry["sku"]["name"] == SETTINGS[variant]["container_registry"].sku.value


def test_app_insights_is_based_on_the_log_analytics_workspace(plans, variant):
    plan = plans[variant]
    insights = plan.one(INSIGHTS)
    log_analytics_id = plan.outputs["log_analytics_id"]
    assert ARM_ID.fullmatch(log_analytics_id)
    assert log_analytics_id.endswith(f"/Microsoft.OperationalInsights/workspaces/{NAMES.log_analytics}")
    assert insights.inputs["workspaceResourceId"] == log_analytics_id
    assert plan.one(LOGS).urn in insights.dependencies
    assert plan.one(LOGS).inputs["retentionInDays"] == SETTINGS[variant]["monitoring"].log_retention_days


def test_workspace_uses_the_dependencies_created_here(plans, variant):
    # ML-8: every dependency passed by the id of the resource this component created.
    plan = plans[variant]
    workspace = plan.one(WORKSPACE)
    expected = {
        "storageAccount": plan.outputs["storage_account_id"],
        "keyVault": plan.outputs["key_vault_id"],
        "applicationInsights": plan.outputs["application_insights_id"],
        "containerRegistry": plan.outputs["container_registry_id"],
    }
    assert {key: workspace.inputs.get(key) for key in expected} == expected
    for key, arm_id in expected.items():
        assert ARM_ID.fullmatch(arm_id), key
    assert expected["storageAccount"].endswith(f"/storageAccounts/{NAMES.storage_account}")
    assert expected["keyVault"].endswith(f"/vaults/{NAMES.key_vault}")
    assert expected["containerRegistry"].endswith(f"/registries/{NAMES.container_registry}")
    assert expected["applicationInsights"].endswith(f"/components/{NAMES.application_insights}")


def test_workspace_waits_for_its_dependencies(plans, variant):
    plan = plans[variant]
    workspace = plan.one(WORKSPACE)
    for type_ in (STORAGE, VAULT, INSIGHTS, REGISTRY):
        assert plan.one(type_).urn in workspace.dependencies, type_


def test_workspace_has_a_system_assigned_identity(plans, variant):
    plan = plans[variant]
    workspace = plan.one(WORKSPACE).inputs
    assert workspace["workspaceName"] == NAMES.workspace
    assert workspace["identity"]["type"] == "SystemAssigned"
    # The component's outputs resolve (a missing mock output would silently give None).
    assert plan.outputs["workspace_name"] == NAMES.workspace
    assert GUID.fullmatch(plan.outputs["principal_id"])
    assert plan.outputs["workspace_id"].endswith(f"/workspaces/{NAMES.workspace}")


@pytest.mark.parametrize(("variant_", "mode"), [("secure", "Identity"), ("relaxed", "AccessKey")])
def test_datastore_auth_follows_shared_key_access(plans, variant_, mode):
    # ML-7: without shared keys the workspace must reach its datastores with its identity.
    assert inputs(plans, variant_, STORAGE)["allowSharedKeyAccess"] is (mode == "AccessKey")
    assert inputs(plans, variant_, WORKSPACE)["systemDatastoresAuthMode"] == mode


def test_workspace_network_isolation_and_hbi_follow_settings(plans, variant):
    workspace = inputs(plans, variant, WORKSPACE)
    settings = SETTINGS[variant]["workspace"]
    assert workspace["managedNetwork"]["isolationMode"] == settings.isolation_mode.value  # ML-3
    assert workspace["hbiWorkspace"] is settings.high_business_impact  # ML-9
    assert workspace.get("allowPublicAccessWhenBehindVnet", False) is False


@pytest.mark.parametrize(
    ("variant_", "access", "default_action"),
    [("secure", "Disabled", "Deny"), ("relaxed", "Enabled", "Allow")],
)
def test_public_network_access_follows_network_settings(plans, variant_, access, default_action):
    assert inputs(plans, variant_, WORKSPACE)["publicNetworkAccess"] == access  # ML-1
    assert inputs(plans, variant_, STORAGE)["publicNetworkAccess"] == access  # ST-2
    assert inputs(plans, variant_, STORAGE)["networkRuleSet"]["defaultAction"] == default_action
    assert inputs(plans, variant_, VAULT)["properties"]["publicNetworkAccess"] == access  # KV-4
    assert inputs(plans, variant_, VAULT)["properties"]["networkAcls"]["defaultAction"] == default_action
    assert inputs(plans, variant_, REGISTRY)["publicNetworkAccess"] == access  # ACR-3


def test_children_are_parented_and_named_after_the_component(plans, variant):
    plan = plans[variant]
    component = plan.one(COMPONENT_TYPE)
    assert component.name == NAME and component.custom is False
    children = [resource for resource in plan.resources if resource.parent == component.urn]
    assert sorted(child.type for child in children if child.type in CHILD_TYPES) == sorted(CHILD_TYPES)
    for child in children:
        assert child.name.startswith(f"{NAME}-"), child.name
    # Nothing escapes the component (every custom resource is one of its children).
    assert {r.urn for r in plan.resources if r.custom} == {child.urn for child in children}


def test_every_child_is_tagged_and_placed(plans, variant):
    for type_ in CHILD_TYPES:
        child = inputs(plans, variant, type_)
        assert child["tags"] == TAGS, type_
        assert child["resourceGroupName"] == RESOURCE_GROUP, type_
        assert child["location"] == "westeurope", type_


def test_protection_follows_resource_protection(plans, variant):
    protection = SETTINGS[variant]["protection"]
    for type_ in CHILD_TYPES:  # all stateful (PU-3)
        child = plans[variant].one(type_)
        assert (child.protect, child.retain_on_delete) == (protection.protect, protection.retain_on_delete), (
            type_
        )


def test_settings_really_differ_between_variants():
    # Guards the parametrized tests above against comparing two identical settings.
    for key in SECURE:
        assert SECURE[key] != RELAXED[key], key


ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"


def test_private_link_puts_every_sub_resource_behind_an_endpoint_with_its_zones(plans):
    plan = plans["secure"]
    endpoints = {
        e.inputs["privateLinkServiceConnections"][0]["groupIds"][0]: e for e in plan.of_type(ENDPOINT)
    }
    assert sorted(endpoints) == ["amlworkspace", "blob", "file", "registry", "vault"]
    targets = {
        group: e.inputs["privateLinkServiceConnections"][0]["privateLinkServiceId"]
        for group, e in endpoints.items()
    }
    assert targets["blob"] == targets["file"] and targets["blob"].endswith(
        f"storageAccounts/{NAMES.storage_account}"
    )
    assert targets["amlworkspace"].endswith(f"workspaces/{NAMES.workspace}")
    assert targets["vault"].endswith(f"vaults/{NAMES.key_vault}") and targets["registry"].endswith(
        f"registries/{NAMES.container_registry}"
    )
    for group, endpoint in endpoints.items():
        assert endpoint.inputs["subnet"]["id"] == SUBNET
        assert endpoint.inputs["privateEndpointName"] == f"pe-{targets[group].rsplit('/', 1)[1]}-{group}"
        assert endpoint.inputs["tags"] == TAGS
    groups = {g.inputs["privateEndpointName"]: g for g in plan.of_type(ZONE_GROUP)}
    assert len(groups) == 5  # one DNS zone group per endpoint (ML-2)
    workspace_zones = [
        c["privateDnsZoneId"].rsplit("/", 1)[1]
        for c in groups[endpoints["amlworkspace"].inputs["privateEndpointName"]].inputs[
            "privateDnsZoneConfigs"
        ]
    ]
    assert workspace_zones == ["privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"]


def test_image_build_compute_is_named_only_when_private(plans):
    assert inputs(plans, "secure", WORKSPACE)["imageBuildCompute"] == "image-builder"  # ML-10
    assert "imageBuildCompute" not in inputs(plans, "relaxed", WORKSPACE)


def test_no_private_link_means_no_endpoints(plans):
    assert not plans["relaxed"].of_type(ENDPOINT) and not plans["relaxed"].of_type(ZONE_GROUP)
