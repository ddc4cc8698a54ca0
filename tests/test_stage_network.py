"""Private networking: the StageNetwork component, its config refusals, and each stack's exposure."""

import pulumi
import pytest

from mlinfra.config.config_error import ConfigError
from mlinfra.planner.views import network_view
from mlinfra.settings.network_settings import KNOWN_ZONES, REQUIRED_ZONES, PrivateEndpointSettings
from mlinfra.stage.stage_network import ENDPOINT_SUBNET, StageNetwork, StageNetworkArgs
from tests.conftest import (
    CREATED_NETWORK_STACKS,
    JOINED_NETWORK_STACKS,
    NON_PRODUCTION_STACK,
    PRIVATE_STACKS,
    PRODUCTION_STACK,
    PRODUCTION_STACKS,
    PUBLIC_STACKS,
    first,
    plan,
    problem_lines,
    run_program,
    setting,
)

SUB = "00000000-0000-0000-0000-000000000015"
SUBNET = f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet-spoke/subnets/snet-pe"
ZONES = {
    zone: f"/subscriptions/{SUB}/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/{zone}"
    for zone in REQUIRED_ZONES
}
VNET = "azure-native:network:VirtualNetwork"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
ENDPOINT = "azure-native:network:PrivateEndpoint"
DATA_PLANE = (
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:containerregistry:Registry",
    "azure-native:machinelearningservices:Workspace",
)


def build(settings: dict):
    seen = {}

    def program():
        network = StageNetwork(
            "live-network",
            StageNetworkArgs(
                settings=PrivateEndpointSettings.model_validate(settings, by_name=False),
                network_name="vnet-churn-live-weu",
                resource_group_name="rg-churn-live-weu",
                location="westeurope",
                tags={"stage": "live"},
            ),
        )
        seen["link"] = network.link

        async def resolve():
            seen["subnet"] = await pulumi.Output.from_input(network.link.subnet_id).future()

        return resolve()

    return run_program(program, PRODUCTION_STACK), seen


def test_a_created_network_gets_its_subnet_zones_and_links():
    result, seen = build(
        {"virtualNetwork": {"addressSpace": "10.20.0.0/16", "endpointSubnetPrefix": "10.20.1.0/24"}}
    )
    vnet = result.one(VNET).inputs
    assert vnet["virtualNetworkName"] == "vnet-churn-live-weu"
    assert vnet["addressSpace"]["addressPrefixes"] == ["10.20.0.0/16"]
    assert (
        vnet["subnets"][0]["name"] == ENDPOINT_SUBNET
        and vnet["subnets"][0]["addressPrefix"] == "10.20.1.0/24"
    )
    assert seen["subnet"].endswith(f"/virtualNetworks/vnet-churn-live-weu/subnets/{ENDPOINT_SUBNET}")
    assert sorted(z.inputs["privateZoneName"] for z in result.of_type(ZONE)) == sorted(REQUIRED_ZONES)
    assert all(z.inputs["location"] == "global" for z in result.of_type(ZONE))
    links = result.of_type(LINK)
    assert len(links) == len(REQUIRED_ZONES)
    for link in links:
        assert link.inputs["virtualNetwork"]["id"].endswith("/virtualNetworks/vnet-churn-live-weu")
        assert link.inputs["registrationEnabled"] is False
    assert set(seen["link"].dns_zone_ids) == set(REQUIRED_ZONES)


def test_existing_subnet_and_zones_create_nothing():
    result, seen = build({"subnetId": SUBNET, "dnsZoneIds": ZONES})
    assert not result.of_type(VNET) and not result.of_type(ZONE) and not result.of_type(LINK)
    assert seen["subnet"] == SUBNET and dict(seen["link"].dns_zone_ids) == ZONES


def test_created_zones_link_to_an_existing_network():
    result, _ = build({"subnetId": SUBNET})
    assert not result.of_type(VNET)
    assert {link.inputs["virtualNetwork"]["id"] for link in result.of_type(LINK)} == {
        SUBNET.rsplit("/subnets/", 1)[0]
    }


# --- config refusals --------------------------------------------------------------------


def refused(**network) -> str:
    overrides = {
        "mlinfra:network": network,
        "mlinfra:workspace": {"imageBuildCompute": "image-builder"},
        "mlinfra:containerRegistry": {"sku": "Premium"},
    }
    with pytest.raises(ConfigError) as error:
        plan(NON_PRODUCTION_STACK, **overrides)
    return problem_lines(str(error.value))


def test_fails_when_a_private_stage_has_no_private_endpoints():
    message = refused(publicNetworkAccessEnabled=False)
    assert "mlinfra:network: a stage without public network access needs privateEndpoints" in message


@pytest.mark.parametrize(
    "subnet",
    [
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
        SUBNET.replace("/subnets/", "/subnet/"),
        "snet-private-endpoints",
    ],
)
def test_fails_when_the_subnet_id_is_not_a_subnet_id(subnet):
    message = refused(privateEndpoints={"subnetId": subnet})
    assert (
        f'mlinfra:network.privateEndpoints.subnetId: got "{subnet}"; expected a subnet resource id' in message
    )


@pytest.mark.parametrize(
    "endpoints",
    [
        {},
        {
            "subnetId": SUBNET,
            "virtualNetwork": {"addressSpace": "10.1.0.0/16", "endpointSubnetPrefix": "10.1.0.0/24"},
        },
    ],
)
def test_fails_unless_exactly_one_of_subnet_and_network(endpoints):
    assert "exactly one of subnetId" in refused(privateEndpoints=endpoints)


def test_fails_when_a_dns_zone_is_missing_for_an_endpoint():
    zones = {k: v for k, v in ZONES.items() if k != "privatelink.vaultcore.azure.net"}
    message = refused(privateEndpoints={"subnetId": SUBNET, "dnsZoneIds": zones})
    assert (
        "mlinfra:network.privateEndpoints: dnsZoneIds has no zone for privatelink.vaultcore.azure.net"
        in message
    )


def test_fails_when_a_dns_zone_id_names_another_zone():
    zones = {**ZONES, "privatelink.azurecr.io": ZONES["privatelink.blob.core.windows.net"]}
    message = refused(privateEndpoints={"subnetId": SUBNET, "dnsZoneIds": zones})
    assert (
        "dnsZoneIds.privatelink.azurecr.io" in message
        and "expected the id of private DNS zone privatelink.azurecr.io" in message
    )


def test_fails_when_an_unused_dns_zone_is_listed():
    zones = {**ZONES, "privatelink.database.windows.net": ZONES["privatelink.azurecr.io"]}
    assert "dnsZoneIds names zones no endpoint uses: privatelink.database.windows.net" in refused(
        privateEndpoints={"subnetId": SUBNET, "dnsZoneIds": zones}
    )


@pytest.mark.parametrize(
    "space,subnet,needle",
    [
        ("10.20.0.0/33", "10.20.0.0/24", "addressSpace"),
        ("10.20.0.1/16", "10.20.0.0/24", "addressSpace"),
        ("8.8.0.0/16", "8.8.0.0/24", "private IPv4"),
        ("10.20.0.0/16", "10.21.0.0/24", "is not inside addressSpace"),
        ("10.20.0.0/16", "10.20.0.0/29", "too small"),
    ],
)
def test_fails_when_the_network_ranges_are_wrong(space, subnet, needle):
    message = refused(
        privateEndpoints={"virtualNetwork": {"addressSpace": space, "endpointSubnetPrefix": subnet}}
    )
    assert "mlinfra:network.privateEndpoints.virtualNetwork" in message and needle in message


def test_fails_when_a_private_registry_has_no_image_build_compute():
    with pytest.raises(ConfigError) as error:
        plan(first(PRIVATE_STACKS), **{"mlinfra:workspace": {"isolationMode": "AllowOnlyApprovedOutbound"}})
    assert "mlinfra:workspace.imageBuildCompute: required when public network access is off" in str(
        error.value
    )
    assert "ML-10" in str(error.value)


def test_fails_when_a_private_registry_cannot_take_an_endpoint():
    with pytest.raises(ConfigError) as error:
        plan(first(PRIVATE_STACKS), **{"mlinfra:containerRegistry": {"sku": "Standard"}})
    assert 'mlinfra:containerRegistry.sku: got "Standard"' in str(error.value)


# --- the real stack files -----------------------------------------------------------------


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_production_stages_are_private_with_one_endpoint_per_sub_resource(stack_plans, stack):
    view = network_view(stack_plans[stack])
    assert view["public"] == []  # no public network access left on
    # The four data-plane resources, plus Log Analytics and App Insights (ingestion and query, R1).
    assert len(view["exposure"]) == 6 and all(
        e["publicNetworkAccess"] == "Disabled" for e in view["exposure"]
    )
    groups = sorted(endpoint["groupId"] for endpoint in view["privateEndpoints"])
    # A stage on the hub's zones joins the hub's monitoring scope and has no azuremonitor endpoint (F3).
    own_scope = (
        ["azuremonitor"] if stack_plans[stack].of_type("azure-native:monitor:PrivateLinkScope") else []
    )
    assert groups == sorted(["amlworkspace", "blob", "file", "registry", "vault", *own_scope])
    for endpoint in view["privateEndpoints"]:
        assert endpoint["dnsZones"], endpoint["name"]  # each with its DNS zone group
    for type_ in DATA_PLANE:
        target = stack_plans[stack].one(type_)
        assert any(
            e["target"]
            and e["target"].endswith(
                "/"
                + (
                    target.inputs.get("accountName")
                    or target.inputs.get("vaultName")
                    or target.inputs.get("registryName")
                    or target.inputs.get("workspaceName")
                )
            )
            for e in view["privateEndpoints"]
        )


@pytest.mark.parametrize("stack", JOINED_NETWORK_STACKS)
def test_a_joined_stage_uses_the_hub_zones(stack_plans, stack):
    assert not stack_plans[stack].of_type(ZONE) and not stack_plans[stack].of_type(VNET)
    zones = {z for e in network_view(stack_plans[stack])["privateEndpoints"] for z in e["dnsZones"]}
    hub_zones = set(setting(stack, "network")["privateEndpoints"]["dnsZoneIds"].values())
    assert zones and zones <= hub_zones


@pytest.mark.parametrize("stack", CREATED_NETWORK_STACKS)
def test_a_created_network_stage_creates_its_own_zones_unless_it_uses_the_hubs(stack_plans, stack):
    hub_zones = "dnsZoneIds" in setting(stack, "network")["privateEndpoints"]
    assert stack_plans[stack].of_type(VNET)
    assert len(stack_plans[stack].of_type(ZONE)) == (0 if hub_zones else len(KNOWN_ZONES))


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_private_workspaces_name_their_image_build_compute(stack_plans, stack):
    assert stack_plans[stack].one(DATA_PLANE[3]).inputs["imageBuildCompute"] == "image-builder"  # ML-10


@pytest.mark.parametrize("stack", PUBLIC_STACKS)
def test_public_stages_stay_without_network_resources(stack_plans, stack):
    result = stack_plans[stack]
    assert not [
        r
        for r in result.resources
        if r.type.startswith(("azure-native:network:", "azure-native:privatedns:"))
    ]
    assert sorted(network_view(result)["public"]) == sorted(
        [
            result.one(t).inputs.get("accountName")
            or result.one(t).inputs.get("vaultName")
            or result.one(t).inputs.get("registryName")
            or result.one(t).inputs.get("workspaceName")
            for t in DATA_PLANE
        ]
        # Monitoring follows the stage's exposure by default (public ingestion and query).
        + [
            result.one("azure-native:operationalinsights:Workspace").inputs["workspaceName"],
            result.one("azure-native:applicationinsights:Component").inputs["resourceName"],
        ]
    )
