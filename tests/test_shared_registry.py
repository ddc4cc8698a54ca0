"""The shared stack: the Azure ML registry every stage publishes to or deploys from."""

import json

import pytest
import yaml

from mlinfra.config.config_error import ConfigError
from mlinfra.facts.naming import NamingError, shared_names
from mlinfra.facts.registry_roles import READER_ACTIONS, reader_role
from mlinfra.planner.views import access_view
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


SHIPPED_REGISTRY = yaml.safe_load((PROJECT_DIR / f"Pulumi.{SHARED}.yaml").read_text())["config"][
    "mlinfra:registry"
]
REASON = "dev publishes from GitHub-hosted runners"


def private_registry(**changes) -> dict:
    """Config overrides: the shipped registry with public network access off."""
    settings = {k: v for k, v in SHIPPED_REGISTRY.items() if k != "publicNetworkAccessReason"}
    return {"mlinfra:registry": {**settings, "publicNetworkAccessEnabled": False, **changes}}


def endpoints_by_target(result) -> dict[str, tuple[list[str], list[str]]]:
    """privateLinkServiceId -> (group ids, zone names) of every private endpoint of a plan."""
    zones = {
        group.inputs["privateEndpointName"]: [
            config["privateDnsZoneId"].rsplit("/", 1)[-1] for config in group.inputs["privateDnsZoneConfigs"]
        ]
        for group in result.of_type("azure-native:network:PrivateDnsZoneGroup")
    }
    found = {}
    for endpoint in result.of_type("azure-native:network:PrivateEndpoint"):
        (connection,) = endpoint.inputs["privateLinkServiceConnections"]
        found[connection["privateLinkServiceId"]] = (
            connection["groupIds"],
            zones[endpoint.inputs["privateEndpointName"]],
        )
    return found


def test_private_registry_has_endpoints_for_its_api_storage_and_acr_in_each_region():
    """A private registry's clients download models from its storage and pull images from its ACR,
    so each of those gets an endpoint too, in every region (MicrosoftDocs/azure-ai-docs
    articles/machine-learning/how-to-registry-network-isolation.md: "create a private endpoint from
    the existing virtual network to Azure Machine Learning registry and associated resources
    (storage and ACR)"; sub-resources amlregistry, blob, registry with their zones, Learn
    private-link/private-endpoint-dns). The targets are the ids the service reports in
    regionDetails[].storageAccountDetails[].systemCreatedStorageAccount.armResourceId and
    regionDetails[].acrDetails[].systemCreatedAcrAccount.armResourceId (azure-rest-api-specs
    machinelearningservices 2025-12-01 examples/Registries/get.json), answered offline by
    mlinfra.planner.mock_cloud.registry_regions."""
    from mlinfra.planner.mock_cloud import registry_regions

    result = plan(SHARED, **private_registry())
    registry = result.one(REGISTRY)
    assert registry.inputs["publicNetworkAccess"] == "Disabled"
    registry_id = result.outputs["registryId"]
    found = endpoints_by_target(result)
    assert found.pop(registry_id) == (["amlregistry"], ["privatelink.api.azureml.ms"])
    regions = registry_regions(
        registry.inputs["regionDetails"], registry.inputs["registryName"], result.outputs["subscriptionId"]
    )
    assert [region["location"] for region in regions] == ["westeurope", "northeurope"]
    expected = {}
    for region in regions:
        (storage,) = region["storageAccountDetails"]
        (acr,) = region["acrDetails"]
        expected[storage["systemCreatedStorageAccount"]["armResourceId"]["resourceId"]] = (
            ["blob"],
            ["privatelink.blob.core.windows.net"],
        )
        expected[acr["systemCreatedAcrAccount"]["armResourceId"]["resourceId"]] = (
            ["registry"],
            ["privatelink.azurecr.io"],
        )
    assert found == expected and len(expected) == 4
    for target in expected:
        assert f"/resourceGroups/azureml-rg-{registry.inputs['registryName']}_" in target
    # Each endpoint waits for the registry whose output names its target.
    for endpoint in result.of_type("azure-native:network:PrivateEndpoint"):
        assert registry.urn in endpoint.dependencies


def test_shipped_registry_is_public_for_dev_runners_and_keeps_its_private_endpoints(shared_plan):
    """The design of docs/networking.md, "Registry": dev publishes from GitHub-hosted runners on
    the Internet, so the shipped registry keeps public access, with the reason in config; private
    clients still use the five endpoints (Learn how-to-registry-network-isolation, "Scenario:
    workspace configuration is secure and Azure Machine Learning registry is public")."""
    assert SHIPPED_REGISTRY["publicNetworkAccessEnabled"] is True
    assert SHIPPED_REGISTRY["publicNetworkAccessReason"].strip()
    assert shared_plan.one(REGISTRY).inputs["publicNetworkAccess"] == "Enabled"
    groups = sorted(groups[0] for groups, _ in endpoints_by_target(shared_plan).values())
    assert groups == ["amlregistry", "blob", "blob", "registry", "registry"]


def test_public_registry_without_endpoint_config_has_no_endpoint():
    result = plan(
        SHARED,
        **{
            "mlinfra:registry": {
                "publicNetworkAccessEnabled": True,
                "publicNetworkAccessReason": REASON,
                "replicationRegions": [],
            }
        },
    )
    assert result.one(REGISTRY).inputs["publicNetworkAccess"] == "Enabled"
    assert not result.of_type("azure-native:network:PrivateEndpoint")


def test_fails_when_public_registry_gives_no_reason():
    with pytest.raises(
        ConfigError,
        match=r"mlinfra:registry: publicNetworkAccessReason: required when publicNetworkAccessEnabled is true",
    ):
        plan(SHARED, **{"mlinfra:registry": {"publicNetworkAccessEnabled": True}})
    with pytest.raises(ConfigError, match=r"publicNetworkAccessReason: required"):
        plan(
            SHARED,
            **{"mlinfra:registry": {"publicNetworkAccessEnabled": True, "publicNetworkAccessReason": " "}},
        )


def test_fails_when_private_registry_gives_a_reason():
    with pytest.raises(
        ConfigError,
        match=r"mlinfra:registry: publicNetworkAccessReason: only with publicNetworkAccessEnabled true",
    ):
        plan(SHARED, **private_registry(publicNetworkAccessReason=REASON))


@pytest.mark.parametrize("zone", ["privatelink.blob.core.windows.net", "privatelink.azurecr.io"])
def test_fails_when_storage_or_acr_zone_is_missing(zone):
    endpoint = dict(SHIPPED_REGISTRY["privateEndpoint"])
    endpoint["dnsZoneIds"] = {k: v for k, v in endpoint["dnsZoneIds"].items() if k != zone}
    with pytest.raises(
        ConfigError, match=rf"mlinfra:registry.privateEndpoint: dnsZoneIds: expected the zone\(s\) {zone}"
    ):
        plan(SHARED, **private_registry(privateEndpoint=endpoint))


def test_system_created_id_reads_output_types_and_dicts():
    """regionDetails arrives as RegistryRegionArmDetailsResponse values (Python names) under the
    engine; a missing id (before the service created the account) is an error, not an endpoint to
    nothing (pulumi_azure_native machinelearningservices outputs.py SystemCreatedStorageAccountResponse:
    "armResourceId ... This is populated once the storage account is created")."""
    from pulumi_azure_native.machinelearningservices import outputs

    from mlinfra.shared.shared_registry import system_created_id

    storage_id = (
        "/subscriptions/s/resourceGroups/azureml-rg-r_x/providers/Microsoft.Storage/storageAccounts/a"
    )
    acr_id = (
        "/subscriptions/s/resourceGroups/azureml-rg-r_x/providers/Microsoft.ContainerRegistry/registries/c"
    )
    typed = [
        outputs.RegistryRegionArmDetailsResponse(
            location="northeurope",
            storage_account_details=[
                outputs.StorageAccountDetailsResponse(
                    system_created_storage_account=outputs.SystemCreatedStorageAccountResponse(
                        arm_resource_id=outputs.ArmResourceIdResponse(resource_id=storage_id)
                    )
                )
            ],
            acr_details=[
                outputs.AcrDetailsResponse(
                    system_created_acr_account=outputs.SystemCreatedAcrAccountResponse(
                        arm_resource_id=outputs.ArmResourceIdResponse(resource_id=acr_id)
                    )
                )
            ],
        )
    ]
    assert system_created_id(typed, "northeurope", "storage") == storage_id
    assert system_created_id(typed, "North Europe", "acr") == acr_id
    camel = [
        {
            "location": "westeurope",
            "storageAccountDetails": [
                {"systemCreatedStorageAccount": {"armResourceId": {"resourceId": storage_id}}}
            ],
            "acrDetails": [{"systemCreatedAcrAccount": {}}],
        }
    ]
    assert system_created_id(camel, "westeurope", "storage") == storage_id
    with pytest.raises(ValueError, match="no container registry id for region westeurope"):
        system_created_id(camel, "westeurope", "acr")
    with pytest.raises(ValueError, match="no storage account id for region northeurope"):
        system_created_id(camel, "northeurope", "storage")


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


def test_the_reader_role_is_kept_while_stages_assign_it(shared_plan):
    """Review-3 R10: every stage assigns the reader role, and ARM refuses to delete a role
    definition that has assignments ("Before you can delete a custom role, you must remove any role
    assignments that use the custom role", RoleDefinitionHasAssignments: Microsoft Learn, "Azure
    custom roles"), so a teardown or a replacement of the shared stack would fail on it.
    It is protected and retained like the registry."""
    role = shared_plan.one("azure-native:authorization:RoleDefinition")
    assert role.protect and role.retain_on_delete


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
    return {
        "mlinfra:registry": {
            "publicNetworkAccessEnabled": True,
            "publicNetworkAccessReason": REASON,
            "personas": personas,
        }
    }


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
                "mlinfra:registry": {
                    "publicNetworkAccessEnabled": True,
                    "publicNetworkAccessReason": REASON,
                    "replicationRegions": ["westeurope"],
                }
            },
        )


def test_fails_when_replication_region_is_unknown():
    with pytest.raises(ConfigError, match=r'mlinfra:registry.replicationRegions.0: got "mars"'):
        plan(
            SHARED,
            **{
                "mlinfra:registry": {
                    "publicNetworkAccessEnabled": True,
                    "publicNetworkAccessReason": REASON,
                    "replicationRegions": ["mars"],
                }
            },
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
        plan(
            SHARED,
            **{
                "mlinfra:registry": {
                    "publicNetworkAccessEnabled": True,
                    "publicNetworkAccessReason": REASON,
                    "sku": "Basic",
                }
            },
        )


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
    from mlinfra.review.check_config import stage_traits

    assert stage_traits(SHARED).production is True
    completed = planner_cli("check", "--stack", SHARED)
    assert completed.returncode == 0, completed.stderr
