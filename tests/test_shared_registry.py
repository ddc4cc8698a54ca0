"""The shared stack: the Azure ML registry every stage publishes to or deploys from."""

import json
import subprocess
import sys

import pytest

from components.config import ConfigError
from components.naming import NamingError, shared_names
from components.registry_roles import READER_ACTIONS, reader_role
from tests.conftest import PROJECT_DIR, SHARED_STACKS, plan

REGISTRY = "azure-native:machinelearningservices:Registry"
SHARED = SHARED_STACKS[0]


@pytest.fixture(scope="module")
def shared_plan():
    return plan(SHARED)


def test_shared_stack_file_exists():
    assert SHARED_STACKS, "the shared stack (Pulumi.shared.yaml) holds the registry the stages use"


def test_registry_is_protected_retained_with_system_identity(shared_plan):
    """protect + retainOnDelete (issue 15); identity type SystemAssigned (azure-native RegistryArgs
    `identity`, ManagedServiceIdentityArgs)."""
    registry = shared_plan.one(REGISTRY)
    assert registry.protect and registry.retain_on_delete
    assert registry.inputs["identity"] == {"type": "SystemAssigned"}
    group = shared_plan.one("azure-native:resources:ResourceGroup")
    assert group.protect and group.retain_on_delete
    assert registry.inputs["tags"]["stage"] == "shared"


def test_registry_regions_are_primary_then_replicas(shared_plan):
    """regionDetails: one RegistryRegionArmDetails per region, each with a system-created storage
    account and ACR (pulumi_azure_native machinelearningservices _inputs.py RegistryRegionArmDetailsArgs)."""
    registry = shared_plan.one(REGISTRY)
    locations = [region["location"] for region in registry.inputs["regionDetails"]]
    assert locations[0] == registry.inputs["location"]
    assert len(locations) == len(set(locations)) >= 2
    for region in registry.inputs["regionDetails"]:
        assert region["acrDetails"][0]["systemCreatedAcrAccount"]["acrAccountSku"] == "Premium"
        storage = region["storageAccountDetails"][0]["systemCreatedStorageAccount"]
        assert storage["allowBlobPublicAccess"] is False


def test_private_registry_has_an_amlregistry_endpoint(shared_plan):
    """Private link sub-resource `amlregistry`, zone privatelink.api.azureml.ms (Microsoft Learn,
    machine-learning/how-to-registry-network-isolation)."""
    registry = shared_plan.one(REGISTRY)
    assert registry.inputs["publicNetworkAccess"] == "Disabled"
    endpoint = shared_plan.one("azure-native:network:PrivateEndpoint")
    connection = endpoint.inputs["privateLinkServiceConnections"][0]
    assert connection["groupIds"] == ["amlregistry"]
    assert connection["privateLinkServiceId"].endswith(
        f"/providers/Microsoft.MachineLearningServices/registries/{registry.inputs['registryName']}"
    )
    zones = shared_plan.one("azure-native:network:PrivateDnsZoneGroup").inputs["privateDnsZoneConfigs"]
    assert [zone["privateDnsZoneId"].rsplit("/", 1)[-1] for zone in zones] == ["privatelink.api.azureml.ms"]


def test_public_registry_has_no_endpoint():
    result = plan(
        SHARED, **{"mlinfra:registry": {"publicNetworkAccessEnabled": True, "replicationRegions": []}}
    )
    assert result.one(REGISTRY).inputs["publicNetworkAccess"] == "Enabled"
    assert not result.of_type("azure-native:network:PrivateEndpoint")


def test_reader_role_reads_only(shared_plan):
    """AzureML Registry User allows registries/assets/* (read, write, delete; Microsoft Learn
    built-in roles, "AzureML Registry User"), so readers get this custom role instead."""
    role = shared_plan.one("azure-native:authorization:RoleDefinition")
    assert role.inputs["permissions"] == [{"actions": list(READER_ACTIONS)}]
    assert all(action.endswith("/read") for action in READER_ACTIONS)
    assert role.inputs["roleDefinitionId"] == reader_role("churn").guid
    assert role.inputs["assignableScopes"] == [role.inputs["scope"]]
    assert shared_plan.outputs["registryReaderRoleDefinitionId"].endswith(reader_role("churn").guid)


def test_fails_when_private_registry_has_no_endpoint():
    with pytest.raises(
        ConfigError, match=r"mlinfra:registry: privateEndpoint: required when publicNetworkAccessEnabled"
    ):
        plan(SHARED, **{"mlinfra:registry": {}})


def test_fails_when_primary_region_is_replicated():
    with pytest.raises(ConfigError, match=r"replicationRegions: westeurope is the primary region"):
        plan(
            SHARED,
            **{
                "mlinfra:registry": {"publicNetworkAccessEnabled": True, "replicationRegions": ["westeurope"]}
            },
        )


def test_fails_when_replication_region_is_unknown():
    with pytest.raises(ConfigError, match=r'mlinfra:registry.replicationRegions.0: got "mars"'):
        plan(
            SHARED,
            **{"mlinfra:registry": {"publicNetworkAccessEnabled": True, "replicationRegions": ["mars"]}},
        )


def test_fails_when_dns_zone_is_missing():
    subnet = (
        "/subscriptions/00000000-0000-0000-0000-000000000020/resourceGroups/rg/providers/"
        "Microsoft.Network/virtualNetworks/vnet/subnets/snet"
    )
    with pytest.raises(ConfigError, match=r"mlinfra:registry.privateEndpoint: dnsZoneIds: expected the zone"):
        plan(SHARED, **{"mlinfra:registry": {"privateEndpoint": {"subnetId": subnet, "dnsZoneIds": {}}}})


def test_fails_when_registry_key_is_unknown():
    with pytest.raises(ConfigError, match=r"mlinfra:registry.sku: unknown key"):
        plan(SHARED, **{"mlinfra:registry": {"publicNetworkAccessEnabled": True, "sku": "Basic"}})


def test_registry_name_rules():
    """registryName: 3-33 characters, letters, digits, '-' and '_', starting with a letter or digit
    (azure-rest-api-specs, machinelearningservices registries.json; how-to-manage-registries)."""
    names = shared_names(workload="churn", location="westeurope")
    assert names.registry == "mlr-churn-weu"
    assert names.resource_group == "rg-churn-shared-weu"
    with pytest.raises(NamingError, match="3-33"):
        shared_names(workload="a" * 30, location="westeurope")


def test_planner_cli_plans_shared_stack():
    completed = subprocess.run(
        [sys.executable, "-m", "planner", "--stack", SHARED, "--format", "json"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    types = [resource["type"] for resource in json.loads(completed.stdout)["resources"]]
    assert REGISTRY in types


def test_policy_pack_checks_the_shared_stack_as_production():
    """`make check` runs over every stack file; the shared stack holds what prod serves."""
    from planner.check_config import stage_traits

    assert stage_traits(SHARED).production is True
    completed = subprocess.run(
        [sys.executable, "-m", "planner", "check", "--stack", SHARED],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
