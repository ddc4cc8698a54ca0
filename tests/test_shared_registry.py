"""The shared stack: the Azure ML registry every stage publishes to or deploys from."""

import json

import pytest
import yaml

from components.config import ConfigError
from components.naming import NamingError, shared_names
from components.registry_roles import READER_ACTIONS, reader_role
from planner.views import access_view
from tests.conftest import PROJECT_DIR, SHARED_STACKS, plan, planner_cli

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
    assert shared_plan.outputs["registryReaderRoleName"] == role.inputs["roleName"]


def test_personas_are_granted_on_the_registry_by_the_shared_stack(shared_plan):
    """Groups get registry access here, once for every stage (RB-11): read is the custom reader
    role, by its id under the registry's subscription, after the role exists (RB-12)."""
    settings = yaml.safe_load((PROJECT_DIR / f"Pulumi.{SHARED}.yaml").read_text())["config"][
        "mlinfra:registry"
    ]
    assert settings["personas"], "the shipped shared stack grants the personas the stages used to grant"
    rows = [row for row in access_view(shared_plan) if row["scopeKind"] == "registry"]
    registry_id = shared_plan.outputs["registryId"]
    expected = {(persona["groupObjectId"], persona["access"]) for persona in settings["personas"].values()}
    assert {(row["principal"], row["registryAccess"]) for row in rows} == expected
    for row in rows:
        assert row["principalType"] == "Group" and row["scope"] == registry_id and row["scopeName"] == SHARED
        if row["registryAccess"] == "read":
            assignment = next(r for r in shared_plan.resources if r.urn == row["urn"])
            assert (
                assignment.inputs["roleDefinitionId"] == shared_plan.outputs["registryReaderRoleDefinitionId"]
            )
            assert row["role"] == shared_plan.outputs["registryReaderRoleName"]


GROUP = "8e4b1f6a-2c7d-4a9e-b3f5-6d0c9a8e7b12"
"""A group object id for the registry persona tests."""


def with_registry_personas(personas: dict) -> dict:
    """Config overrides: a public registry (so no private endpoint is needed) with `personas`."""
    return {"mlinfra:registry": {"publicNetworkAccessEnabled": True, "personas": personas}}


def test_a_publishing_persona_gets_azureml_registry_user():
    result = plan(
        SHARED, **with_registry_personas({"mlEngineers": {"groupObjectId": GROUP, "access": "publish"}})
    )
    (row,) = [row for row in access_view(result) if row["scopeKind"] == "registry"]
    assert row["role"] == "AzureML Registry User" and row["registryAccess"] == "publish"
    assert row["scope"].startswith(f"/subscriptions/{result.outputs['subscriptionId']}/")


def test_fails_when_one_group_is_two_registry_personas():
    """Two personas of one group would be one role assignment twice (RB-6, RB-11)."""
    group = GROUP
    with pytest.raises(
        ConfigError,
        match=r"mlinfra:registry.personas: mlEngineers.groupObjectId: got \"8E4B1F6A-2C7D-4A9E-B3F5-6D0C9A8E7B12\"; "
        r"already the group of persona dataScientists \(one group, one persona\)",
    ):
        plan(
            SHARED,
            **with_registry_personas(
                {
                    "dataScientists": {"groupObjectId": group, "access": "read"},
                    "mlEngineers": {"groupObjectId": group.upper(), "access": "read"},
                }
            ),
        )


def test_fails_when_registry_persona_access_is_unknown():
    with pytest.raises(ConfigError, match=r'mlinfra:registry.personas.mlEngineers.access: got "write"'):
        plan(SHARED, **with_registry_personas({"mlEngineers": {"groupObjectId": GROUP, "access": "write"}}))


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
    completed = planner_cli("--stack", SHARED, "--format", "json")
    assert completed.returncode == 0, completed.stderr
    types = [resource["type"] for resource in json.loads(completed.stdout)["resources"]]
    assert REGISTRY in types


def test_policy_pack_checks_the_shared_stack_as_production():
    """`make check` runs over every stack file; the shared stack holds what prod serves."""
    from planner.check_config import stage_traits

    assert stage_traits(SHARED).production is True
    completed = planner_cli("check", "--stack", SHARED)
    assert completed.returncode == 0, completed.stderr
