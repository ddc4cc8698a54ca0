"""Private stages end to end (issue 17): runner subnet and hub peering, NSGs, managed-network
outbound rules, compute clusters, the monitoring private link scope, and their config refusals."""

import itertools
import json
import re
from functools import cache

import pytest

from mlinfra.planner.recorder import Plan
from mlinfra.planner.views import network_view
from mlinfra.settings.network_settings import PRIVATE_DNS_ZONES
from mlinfra.settings.outbound_rule_settings import RULE_SETS, FirewallSku, RuleSet
from tests.conftest import (
    CREATED_NETWORK_STACKS,
    JOINED_NETWORK_STACKS,
    PUBLIC_STACKS,
    first,
    plan,
    setting,
    stack_config,
    stacks_where,
    stage_of,
)
from tests.test_config import rejection  # noqa: F401  (the fixture: nothing registered on refusal)

SUB = "00000000-0000-0000-0000-000000000003"
HUB_SUB = "00000000-0000-0000-0000-000000000008"
HUB = f"/subscriptions/{HUB_SUB}/resourceGroups/rg-network-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-hub-weu"
STORAGE_ID = f"/subscriptions/{SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdata"
NSG = "azure-native:network:NetworkSecurityGroup"
VNET = "azure-native:network:VirtualNetwork"
PEERING = "azure-native:network:VirtualNetworkPeering"
GENERIC = "azure-native:resources:Resource"
RULE = "azure-native:machinelearningservices:ManagedNetworkSettingsRule"
COMPUTE = "azure-native:machinelearningservices:Compute"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
SCOPE = "azure-native:monitor:PrivateLinkScope"
SCOPED = "azure-native:monitor:PrivateLinkScopedResource"
LOGS = "azure-native:operationalinsights:Workspace"
INSIGHTS = "azure-native:applicationinsights:Component"
STORAGE = "azure-native:storage:StorageAccount"


def approved_outbound(stack: str) -> bool:
    return setting(stack, "workspace", {}).get("isolationMode") == "AllowOnlyApprovedOutbound"


PRIVATE_STAGES = tuple(stack for stack in CREATED_NETWORK_STACKS if approved_outbound(stack))
"""Stages that create their own network and allow only approved outbound: what most tests here change."""
IMAGE_BUILDING_STACKS = stacks_where(lambda stack: "imageBuildCompute" in setting(stack, "workspace", {}))
PYTHON_PACKAGE_STACKS = stacks_where(
    lambda stack: "python-packages" in setting(stack, "workspace", {}).get("outboundRuleSets", [])
)
PUBLIC_NON_PRODUCTION = tuple(stack for stack in PUBLIC_STACKS if not stage_of(stack).production)


def private_stage() -> str:
    return first(PRIVATE_STAGES)


def section(stack: str, key: str) -> dict:
    return json.loads(stack_config(stack).values[f"mlinfra:{key}"])


def hub_peering(stack: str) -> dict:
    return setting(stack, "network")["privateEndpoints"]["virtualNetwork"].get("hubPeering", {})


HUB_DNS = ["10.0.0.4"]
HUB_ZONES = {
    zone: f"/subscriptions/{HUB_SUB}/resourceGroups/rg-dns-hub/providers/Microsoft.Network/privateDnsZones/{zone}"
    for zone in dict.fromkeys(z for zones in PRIVATE_DNS_ZONES.values() for z in zones)
}


def with_network(**virtual_network) -> dict:
    """A private stage's network section with a created network of this test's own addresses.
    With a hubPeering the network resolves through the hub's DNS and the endpoints register in
    the hub's zones; without one the stage owns its zones (no dnsZoneIds)."""
    network = section(private_stage(), "network")
    endpoints = network["privateEndpoints"]
    hub = "hubPeering" in virtual_network
    endpoints["virtualNetwork"] = {
        "addressSpace": "10.21.0.0/16",
        "endpointSubnetPrefix": "10.21.0.0/24",
        **({"dnsServers": HUB_DNS} if hub else {}),
        **virtual_network,
    }
    if hub:
        endpoints.setdefault("dnsZoneIds", HUB_ZONES)
    else:
        endpoints.pop("dnsZoneIds", None)
    return network


HUB_MONITORING_SCOPE = {
    "mode": "hub",
    "hubScopeId": f"/subscriptions/{HUB_SUB}/resourceGroups/rg-monitoring-hub-weu/providers/Microsoft.Insights/privateLinkScopes/ampls-hub-weu",
}
"""A stage on the hub's zones joins the landing zone's monitoring scope (one per DNS namespace)."""


def with_workspace(stack: str | None = None, **workspace) -> dict:
    return {**section(stack or private_stage(), "workspace"), **workspace}


def refused(rejection, stack: str | None = None, **overrides) -> str:  # noqa: F811
    return rejection.message(stack_config(stack or private_stage(), **overrides))


def vnet_name(result) -> str:
    return result.one(VNET).inputs["virtualNetworkName"]


def seconds(duration: str) -> int:
    """An ISO 8601 duration of minutes or seconds (`PT15M`, `PT90S`), in seconds."""
    match = re.fullmatch(r"PT(\d+)([MS])", duration)
    assert match, duration
    return int(match[1]) * (60 if match[2] == "M" else 1)


# --- 1. a reachable network ------------------------------------------------------------------


@pytest.mark.parametrize("stack", CREATED_NETWORK_STACKS)
def test_every_created_subnet_has_an_nsg_that_denies_internet_inbound(stack_plans, stack):
    """Issue 17 part 1: NSGs on every subnet, inbound from the Internet service tag denied."""
    result = stack_plans[stack]
    subnets = result.one(VNET).inputs["subnets"]
    runners = "runnerSubnet" in setting(stack, "network")["privateEndpoints"]["virtualNetwork"]
    expected = ["snet-private-endpoints", *(["snet-runners"] if runners else [])]
    assert sorted(s["name"] for s in subnets) == expected
    nsg_ids = {s["networkSecurityGroup"]["id"] for s in subnets}
    assert len(nsg_ids) == len(expected) == len(result.of_type(NSG))
    for nsg in result.of_type(NSG):
        (rule,) = nsg.inputs["securityRules"]
        assert (rule["direction"], rule["access"], rule["sourceAddressPrefix"]) == (
            "Inbound",
            "Deny",
            "Internet",
        )
        assert rule["destinationPortRange"] == "*" and rule["protocol"] == "*"
        assert 100 <= rule["priority"] <= 4096  # NSG custom rule priorities (Azure limits)
        assert any(nsg.inputs["networkSecurityGroupName"] in nsg_id for nsg_id in nsg_ids)


@pytest.mark.parametrize(
    "stack",
    [
        stack
        for stack in CREATED_NETWORK_STACKS
        if hub_peering(stack) and hub_peering(stack).get("hubSide", "requested") == "requested"
    ],
)
def test_a_created_network_asks_the_hub_team_for_the_hub_side(stack_plans, stack):
    """A peering connects only once both sides exist (Microsoft Learn, virtual-network-manage-peering,
    "Requirements and constraints": Initiated until the second side is created); the hub's side is
    the hub team's, so the plan says what to create, and the stage's side exists only with the
    peer/action right granted."""
    result = stack_plans[stack]
    hub = hub_peering(stack)["remoteVirtualNetworkId"]
    request = result.outputs["hubPeeringRequest"]
    assert request["hubSide"]["virtualNetworkId"] == hub
    assert request["hubSide"]["remoteVirtualNetworkId"].endswith(f"/virtualNetworks/{vnet_name(result)}")
    assert request["hubSide"]["useRemoteGateways"] is False
    view = network_view(result)
    assert view["hubPeeringRequest"] == request
    if hub_peering(stack).get("peerRight", "requested") == "granted":
        (peering,) = result.of_type(PEERING)
        assert peering.inputs["virtualNetworkName"] == vnet_name(result)
        assert peering.inputs["remoteVirtualNetwork"]["id"] == hub
        assert peering.inputs["allowVirtualNetworkAccess"] is True
        assert view["peerings"][0]["to"] == hub and "grant" not in request
    else:
        assert not result.of_type(PEERING) and request["grant"]["scope"] == hub


@pytest.mark.parametrize("stack", [stack for stack in CREATED_NETWORK_STACKS if hub_peering(stack)])
def test_a_stage_with_a_hub_registers_in_the_hub_zones_and_links_no_zone(stack_plans, stack):
    """Review-3 B2: the stage's endpoints register in the hub's zones and the stage creates and
    links no zone (a second zone of a name on the hub network is refused by Azure, "A virtual
    network cannot be linked to multiple zones with overlapping namespaces"); its network resolves
    through the hub's DNS (Azure-provided DNS does not resolve across a peering: Microsoft Learn,
    virtual-network-manage-peering, "Requirements and constraints")."""
    result = stack_plans[stack]
    assert not result.of_type("azure-native:privatedns:PrivateZone")
    assert not result.of_type("azure-native:privatedns:VirtualNetworkLink")
    hub_zones = set(setting(stack, "network")["privateEndpoints"]["dnsZoneIds"].values())
    zones = {z for e in network_view(result)["privateEndpoints"] for z in e["dnsZones"]}
    assert zones and zones <= hub_zones
    servers = setting(stack, "network")["privateEndpoints"]["virtualNetwork"]["dnsServers"]
    connects = hub_peering(stack).get("peerRight") == "granted" and hub_peering(stack).get(
        "hubSide", "requested"
    ) in ("exists", "managed")
    # The hub's DNS only once the peering connects; until then Azure-provided DNS (test_hub_network).
    assert result.one(VNET).inputs.get("dhcpOptions", {}).get("dnsServers") == (servers if connects else None)


HUB_SIDE_MANAGED = {
    "remoteVirtualNetworkId": HUB,
    "peerRight": "granted",
    "hubSide": "managed",
    "hubAllowsGatewayTransit": True,
    "useRemoteGateways": True,
}
GITHUB_HOSTED_RUNNERS = {
    "kind": "github-hosted",
    "addressPrefix": "10.21.2.0/24",
    "githubDatabaseId": "123456789",
}
BATCH_AND_OUTBOUND_RULES = {
    "batchEndpointsEnabled": True,
    "outboundRules": {
        "data-lake": {"type": "PrivateEndpoint", "serviceResourceId": STORAGE_ID, "subresourceTarget": "dfs"},
        "monitor": {"type": "ServiceTag", "serviceTag": "AzureMonitor"},
        "storage-weu": {"type": "ServiceTag", "serviceTag": "Storage.westeurope", "portRanges": "443,445"},
    },
}
TRAINING_CLUSTERS = {
    "imageBuilder": {"maxNodes": 1},
    "clusters": {
        "cpu-train": {
            "vmSize": "Standard_F8s_v2",
            "maxNodes": 8,
            "minNodes": 1,
            "lowPriority": True,
            "idleSecondsBeforeScaleDown": 90,
        }
    },
}


@cache
def configured_private_stage() -> Plan:
    """The private stage planned once with every setting the tests below change, each away from
    the shipped file: the hub side managed here, GitHub-hosted runners, batch endpoints and outbound
    rules, training clusters, local auth on with the scope's access modes left out. The settings are
    independent (each test checks its own part), and one plan of the largest stage costs about 2 s."""
    return plan(
        private_stage(),
        **{
            "mlinfra:network": with_network(hubPeering=HUB_SIDE_MANAGED, runnerSubnet=GITHUB_HOSTED_RUNNERS),
            "mlinfra:workspace": with_workspace(**BATCH_AND_OUTBOUND_RULES),
            "mlinfra:compute": TRAINING_CLUSTERS,
            "mlinfra:monitoring": {"localAuthEnabled": True, "privateLinkScope": HUB_MONITORING_SCOPE},
        },
    )


def test_the_hub_side_is_created_through_a_hub_provider_when_the_deployer_may_write_there():
    """Review-3 R4: useRemoteGateways only after the hub's side allows gateway transit. Microsoft
    Learn, virtual-network-manage-peering ("Use remote gateways"): "the peered virtual network must
    have a virtual network gateway attached to it and must have the Allow gateway transit checkbox
    checked". So the stage's side depends on the hub's side when the stage creates both."""
    result = configured_private_stage()
    peerings = {p.inputs["virtualNetworkPeeringName"]: p for p in result.of_type(PEERING)}
    back = peerings[f"peer-to-{vnet_name(result)}"]
    assert back.inputs["virtualNetworkName"] == "vnet-hub-weu"
    assert back.inputs["resourceGroupName"] == "rg-network-hub-weu"
    assert back.inputs["remoteVirtualNetwork"]["id"].endswith(f"/virtualNetworks/{vnet_name(result)}")
    assert back.inputs["allowGatewayTransit"] is True  # the hub offers what the spoke uses
    assert back.inputs["useRemoteGateways"] is False
    spoke = peerings["peer-to-vnet-hub-weu"]
    assert spoke.inputs["useRemoteGateways"] is True and back.urn in spoke.dependencies
    provider = result.one("pulumi:providers:azure-native")
    assert provider.inputs["subscriptionId"] == HUB_SUB  # the hub lives in another subscription
    assert "hubPeeringRequest" not in result.outputs


def test_github_hosted_runners_get_a_delegated_subnet_and_network_settings():
    """docs.github.com "Configuring private networking for GitHub-hosted runners": the subnet is
    delegated to GitHub.Network/networkSettings and a networkSettings resource (API 2024-04-02)
    carries businessId (the organization's database id) and subnetId. azure-native 3.29 has no
    typed module for it (no pulumi_azure_native/githubnetwork), so the generic Resource is used."""
    result = configured_private_stage()
    runners = next(s for s in result.one(VNET).inputs["subnets"] if s["name"] == "snet-runners")
    assert [d["serviceName"] for d in runners["delegations"]] == ["GitHub.Network/networkSettings"]
    settings = result.one(GENERIC).inputs
    assert (settings["resourceProviderNamespace"], settings["resourceType"]) == (
        "GitHub.Network",
        "networkSettings",
    )
    assert settings["apiVersion"] == "2024-04-02"
    assert settings["properties"]["businessId"] == "123456789"
    assert settings["properties"]["subnetId"].endswith(
        f"/virtualNetworks/{vnet_name(result)}/subnets/snet-runners"
    )
    # Named like the stage's network: ghns-<workload>-<stage>-<region> beside vnet-<...>.
    assert result.outputs["githubNetworkSettingsId"].endswith(
        "/GitHub.Network/networkSettings/ghns-" + vnet_name(result).removeprefix("vnet-")
    )


@pytest.mark.parametrize(
    "stack",
    [
        stack
        for stack in CREATED_NETWORK_STACKS
        if setting(stack, "network")["privateEndpoints"]["virtualNetwork"].get("runnerSubnet", {}).get("kind")
        == "self-hosted"
    ],
)
def test_self_hosted_runners_get_a_plain_subnet(stack_plans, stack):
    runners = next(s for s in stack_plans[stack].one(VNET).inputs["subnets"] if s["name"] == "snet-runners")
    assert not runners.get("delegations") and not stack_plans[stack].of_type(GENERIC)
    assert stack_plans[stack].outputs["runnerSubnetId"].endswith("/subnets/snet-runners")


@pytest.mark.parametrize(
    "runner,needle",
    [
        ({"kind": "github-hosted", "addressPrefix": "10.21.2.0/24"}, "githubDatabaseId is required"),
        (
            {"kind": "self-hosted", "addressPrefix": "10.21.2.0/24", "githubDatabaseId": "1"},
            "only meaningful with kind github-hosted",
        ),
        ({"kind": "self-hosted", "addressPrefix": "10.22.0.0/24"}, "is not inside addressSpace"),
        ({"kind": "self-hosted", "addressPrefix": "10.21.0.128/25"}, "overlaps endpointSubnetPrefix"),
        ({"kind": "self-hosted", "addressPrefix": "10.21.2.0/29"}, "too small"),
        ({"kind": "azure-hosted", "addressPrefix": "10.21.2.0/24"}, "'github-hosted' or 'self-hosted'"),
    ],
)
def test_fails_when_the_runner_subnet_is_wrong(rejection, runner, needle):  # noqa: F811
    message = refused(rejection, **{"mlinfra:network": with_network(runnerSubnet=runner)})
    assert "mlinfra:network.privateEndpoints.virtualNetwork" in message and needle in message


def test_fails_when_the_hub_network_id_is_not_a_network_id(rejection):  # noqa: F811
    bad = HUB + "/subnets/x"
    message = refused(
        rejection, **{"mlinfra:network": with_network(hubPeering={"remoteVirtualNetworkId": bad})}
    )
    assert (
        f'hubPeering.remoteVirtualNetworkId: got "{bad}"; expected a virtual network resource id' in message
    )


def test_fails_when_hub_zone_links_are_asked_for(rejection):  # noqa: F811
    """Review-3 B2: no stage-created zone is ever linked to the hub network."""
    message = refused(
        rejection,
        **{"mlinfra:network": with_network(hubPeering={"remoteVirtualNetworkId": HUB, "linkDnsZones": True})},
    )
    assert (
        "hubPeering: linkDnsZones: got true; a zone the stage creates is never linked to the hub" in message
    )


# --- 2. managed-network outbound rules ------------------------------------------------------


@pytest.mark.parametrize("stack", PYTHON_PACKAGE_STACKS)
def test_stages_with_python_packages_allow_pip_and_conda_through_fqdn_rules(stack_plans, stack):
    """how-to-managed-network.md, "Scenario: Access public machine learning packages": anaconda.com,
    *.anaconda.com, *.anaconda.org, pypi.org (and PyPI's file host); FQDN rules need the firewall."""
    result = stack_plans[stack]
    rules = {
        r.inputs["ruleName"]: r.inputs["properties"]
        for r in result.of_type(RULE)
        if r.inputs["properties"]["type"]
        == "FQDN"  # the registry's PrivateEndpoint rule: test_registry_access
    }
    assert {name: p["destination"] for name, p in rules.items()} == dict(RULE_SETS[RuleSet.PYTHON_PACKAGES])
    assert {"pypi.org", "files.pythonhosted.org", "*.anaconda.org", "*.anaconda.com"} <= {
        p["destination"] for p in rules.values()
    }
    assert all(p["type"] == "FQDN" and p["category"] == "UserDefined" for p in rules.values())
    sku = setting(stack, "workspace")["firewallSku"]
    assert (
        sku in ("Basic", "Standard") and result.one(WORKSPACE).inputs["managedNetwork"]["firewallSku"] == sku
    )
    workspace = result.one(WORKSPACE).inputs["workspaceName"]
    assert {r.inputs["workspaceName"] for r in result.of_type(RULE)} == {workspace}


@pytest.mark.parametrize("stack", PYTHON_PACKAGE_STACKS)
def test_rules_are_created_one_after_another(stack_plans, stack):
    """Every rule writes the same managed network: each waits for the previous one."""
    rules = stack_plans[stack].of_type(RULE)
    assert len(rules) > 1
    for previous, rule in itertools.pairwise(rules):
        assert previous.urn in rule.dependencies


def test_private_endpoint_and_service_tag_rules_and_batch_storage():
    """Batch endpoints / ParallelRunStep need PE rules to the default storage's queue and table
    (how-to-managed-network.md, "Scenario: Use batch endpoints or ParallelRunStep")."""
    result = configured_private_stage()
    rules = {r.inputs["ruleName"]: r.inputs["properties"] for r in result.of_type(RULE)}
    storage = result.one(STORAGE).inputs["accountName"]
    for target in ("queue", "table"):
        destination = rules[f"storage-{target}"]["destination"]
        assert rules[f"storage-{target}"]["type"] == "PrivateEndpoint"
        assert destination["subresourceTarget"] == target
        assert destination["serviceResourceId"].endswith(f"/storageAccounts/{storage}")
    assert rules["data-lake"]["destination"] == {
        "serviceResourceId": STORAGE_ID,
        "subresourceTarget": "dfs",
        "sparkEnabled": False,
    }
    assert rules["monitor"]["destination"] == {
        "serviceTag": "AzureMonitor",
        "protocol": "TCP",
        "portRanges": "443",
        "action": "Allow",
    }
    assert rules["storage-weu"]["destination"]["portRanges"] == "443,445"
    view = network_view(result)["managedNetwork"]
    assert {r["name"] for r in view["outboundRules"]} == set(rules)


@pytest.mark.parametrize(
    "destination",
    [
        "pypi",
        "*pypi.org",
        "pypi.*.org",
        "a.*.anaconda.org",
        "-bad.org",
        "pypi.org/simple",
        "https://pypi.org",
    ],
)
def test_fails_when_an_fqdn_rule_is_not_a_host_name(rejection, destination):  # noqa: F811
    workspace = with_workspace(outboundRules={"x-rule": {"type": "FQDN", "destination": destination}})
    message = refused(rejection, **{"mlinfra:workspace": workspace})
    assert f'mlinfra:workspace.outboundRules.x-rule.FQDN.destination: got "{destination}"' in message
    assert "wildcard only as a leading '*.'" in message


@pytest.mark.parametrize("tag", ["Internet", "AzureCloud", "Storage.West Europe", "VirtualNetwork"])
def test_fails_when_a_service_tag_is_not_allowed(rejection, tag):  # noqa: F811
    workspace = with_workspace(outboundRules={"tag-rule": {"type": "ServiceTag", "serviceTag": tag}})
    message = refused(rejection, **{"mlinfra:workspace": workspace})
    assert f'serviceTag: got "{tag}"; expected one of AzureActiveDirectory' in message


@pytest.mark.parametrize(
    "rule,needle",
    [
        ({"type": "Firewall", "destination": "pypi.org"}, "does not match any of the expected tags"),
        (
            {"type": "PrivateEndpoint", "serviceResourceId": "stdata", "subresourceTarget": "blob"},
            "resource id",
        ),
        ({"type": "ServiceTag", "serviceTag": "Storage", "portRanges": "70000"}, "expected *, a port"),
        ({"type": "ServiceTag", "serviceTag": "Storage", "protocol": "HTTP"}, "'TCP', 'UDP', 'ICMP' or '*'"),
    ],
)
def test_fails_when_an_outbound_rule_is_malformed(rejection, rule, needle):  # noqa: F811
    message = refused(rejection, **{"mlinfra:workspace": with_workspace(outboundRules={"my-rule": rule})})
    assert "mlinfra:workspace.outboundRules.my-rule" in message and needle in message


def test_the_firewall_versions_are_the_generally_available_ones_the_api_takes():
    """Review-3 R11 found Basic marked preview. MicrosoftDocs/azure-ai-docs how-to-managed-network.md
    (ms.date 2025-05-23), "Select an Azure Firewall version for allowed only approved outbound",
    no longer says "(Preview)": Standard by default, "Optionally, you can select to use a Basic
    version", and "Managed virtual network doesn't support Premium SKU Azure Firewall". The
    setting offers exactly the API's values (azure-native 3.29 machinelearningservices.FirewallSku)."""
    from pulumi_azure_native.machinelearningservices import FirewallSku as ApiFirewallSku

    assert {s.value for s in FirewallSku} == {s.value for s in ApiFirewallSku} == {"Standard", "Basic"}


def test_fails_when_fqdn_rules_have_no_firewall_sku(rejection):  # noqa: F811
    workspace = {k: v for k, v in with_workspace().items() if k != "firewallSku"}
    message = refused(rejection, **{"mlinfra:workspace": workspace})
    assert "mlinfra:workspace.firewallSku: required with FQDN outbound rules" in message
    assert "Standard about USD 1.25/hour" in message


def test_fails_when_fqdn_rules_meet_internet_outbound(rejection):  # noqa: F811
    stack = first(PUBLIC_NON_PRODUCTION)
    workspace = with_workspace(stack, outboundRuleSets=["python-packages"], firewallSku="Basic")
    assert workspace["isolationMode"] == "AllowInternetOutbound"
    message = refused(rejection, stack, **{"mlinfra:workspace": workspace})
    assert (
        "mlinfra:workspace.outboundRules: pypi" in message and "only PrivateEndpoint rules apply" in message
    )


def test_fails_when_rules_meet_a_disabled_managed_network(rejection):  # noqa: F811
    stack = first(PUBLIC_NON_PRODUCTION)
    workspace = with_workspace(stack, isolationMode="Disabled", batchEndpointsEnabled=True)
    assert (
        'mlinfra:workspace.isolationMode: got "Disabled"; outbound rules need a managed network'
        in refused(rejection, stack, **{"mlinfra:workspace": workspace})
    )


def test_fails_when_a_rule_name_clashes_with_a_shipped_rule(rejection):  # noqa: F811
    workspace = with_workspace(outboundRules={"pypi": {"type": "FQDN", "destination": "pypi.org"}})
    assert "mlinfra:workspace.outboundRules: pypi is also a rule of outboundRuleSets" in refused(
        rejection, **{"mlinfra:workspace": workspace}
    )


def test_fails_when_a_rule_set_is_unknown(rejection):  # noqa: F811
    message = refused(rejection, **{"mlinfra:workspace": with_workspace(outboundRuleSets=["npm"])})
    assert "mlinfra:workspace.outboundRuleSets.0: got \"npm\"; expected 'python-packages'" in message


# --- 3. compute ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", IMAGE_BUILDING_STACKS)
def test_private_stages_create_their_image_build_cluster(stack_plans, stack):
    """The cluster imageBuildCompute names: AmlCompute, 0 minimum nodes, idle scale-down, system
    identity, local auth off (ML-11), no public node IP (how-to-managed-network-compute.md)."""
    result = stack_plans[stack]
    builder = setting(stack, "compute", {}).get("imageBuilder", {})
    (cluster,) = result.of_type(COMPUTE)
    inputs = cluster.inputs
    assert inputs["computeName"] == result.one(WORKSPACE).inputs["imageBuildCompute"] == "image-builder"
    assert inputs["workspaceName"] == result.one(WORKSPACE).inputs["workspaceName"]
    assert inputs["identity"]["type"] == "SystemAssigned"
    assert inputs["properties"]["computeType"] == "AmlCompute"
    assert inputs["properties"]["disableLocalAuth"] is True
    props = inputs["properties"]["properties"]
    assert props["enableNodePublicIp"] is False
    assert props["remoteLoginPortPublicAccess"] == "Disabled"
    assert props["vmSize"] == builder.get("vmSize", "Standard_DS3_v2")
    scale = props["scaleSettings"]
    assert (scale["minNodeCount"], scale["maxNodeCount"]) == (0, builder.get("maxNodes", 2))
    # ISO 8601, as in the API examples (PT5M)
    assert seconds(scale["nodeIdleTimeBeforeScaleDown"]) == builder.get("idleSecondsBeforeScaleDown", 900)
    assert network_view(result)["compute"] == [{"name": "image-builder", "nodePublicIp": False}]


def test_training_clusters_come_from_config():
    result = configured_private_stage()
    clusters = {
        c.inputs["computeName"]: c.inputs["properties"]["properties"] for c in result.of_type(COMPUTE)
    }
    assert set(clusters) == {"image-builder", "cpu-train"}
    assert clusters["cpu-train"]["vmPriority"] == "LowPriority"
    assert clusters["cpu-train"]["scaleSettings"]["minNodeCount"] == 1
    assert clusters["cpu-train"]["scaleSettings"]["nodeIdleTimeBeforeScaleDown"] == "PT90S"
    assert clusters["image-builder"]["scaleSettings"]["maxNodeCount"] == 1


def test_a_public_stage_creates_no_builder_and_clusters_with_public_ips_only_when_public(stack_plans):
    stack = first(PUBLIC_STACKS)
    assert not stack_plans[stack].of_type(COMPUTE)
    result = plan(stack, **{"mlinfra:compute": {"clusters": {"cpu": {}}}})
    assert result.one(COMPUTE).inputs["properties"]["properties"]["enableNodePublicIp"] is True


@pytest.mark.parametrize(
    "compute,needle",
    [
        ({"imageBuilder": {"minNodes": 1}}, "the image-build cluster scales to 0"),
        ({"clusters": {"cpu": {"minNodes": 3, "maxNodes": 2}}}, "minNodes 3 is more than maxNodes 2"),
        ({"clusters": {"image-builder": {}}}, "already the image-build cluster"),
        ({"clusters": {"1cpu": {}}}, "1cpu"),
        ({"clusters": {"cpu": {"vmSize": "DS3_v2"}}}, "an Azure VM size"),
        ({"clusters": {"cpu": {"idleSecondsBeforeScaleDown": 30}}}, "from 60 to 86400"),
    ],
)
def test_fails_when_compute_is_wrong(rejection, compute, needle):  # noqa: F811
    message = refused(rejection, **{"mlinfra:compute": compute})
    assert "mlinfra:compute" in message and needle in message


# --- 4. private monitoring ----------------------------------------------------------------
# Whose scope (owned, hub, none) and the refusals: tests/test_compute_and_monitoring.py.


@cache
def owned_scope_stage() -> Plan:
    """A private stage that creates and owns its zones (no hub), so its scope defaults to owned."""
    return plan(private_stage(), **{"mlinfra:network": with_network(), "mlinfra:monitoring": {}})


def test_a_stage_owning_its_zones_scopes_logs_and_insights_behind_its_own_private_link_scope():
    """Both scoped resources, PrivateOnly by default (the stage owns privatelink.monitor.azure.com),
    an azuremonitor endpoint in the five zones Microsoft Learn lists for Azure Monitor
    (private-link/private-endpoint-dns)."""
    result = owned_scope_stage()
    scope = result.one(SCOPE).inputs
    assert scope["location"] == "global"
    assert scope["accessModeSettings"] == {
        "ingestionAccessMode": "PrivateOnly",
        "queryAccessMode": "PrivateOnly",
    }
    linked = {r.inputs["linkedResourceId"].rsplit("/", 1)[-1] for r in result.of_type(SCOPED)}
    assert linked == {result.one(LOGS).inputs["workspaceName"], result.one(INSIGHTS).inputs["resourceName"]}
    assert len(linked) == 2
    endpoint = next(e for e in network_view(result)["privateEndpoints"] if e["groupId"] == "azuremonitor")
    assert endpoint["target"].endswith(f"/privateLinkScopes/{scope['scopeName']}")
    assert [z.rsplit("/", 1)[-1] for z in endpoint["dnsZones"]] == list(PRIVATE_DNS_ZONES["azuremonitor"])
    assert {
        "privatelink.monitor.azure.com",
        "privatelink.oms.opinsights.azure.com",
        "privatelink.ods.opinsights.azure.com",
        "privatelink.agentsvc.azure-automation.net",
        "privatelink.blob.core.windows.net",
    } == set(PRIVATE_DNS_ZONES["azuremonitor"])


@pytest.mark.parametrize("stack", PRIVATE_STAGES + JOINED_NETWORK_STACKS)
def test_private_stages_turn_public_ingestion_query_and_keys_off(stack_plans, stack):
    logs, insights = stack_plans[stack].one(LOGS).inputs, stack_plans[stack].one(INSIGHTS).inputs
    for inputs in (logs, insights):
        assert inputs["publicNetworkAccessForIngestion"] == "Disabled"
        assert inputs["publicNetworkAccessForQuery"] == "Disabled"
    assert insights["disableLocalAuth"] is True and logs["features"]["disableLocalAuth"] is True
    assert network_view(stack_plans[stack])["public"] == []


def test_local_auth_stays_a_setting():
    result = configured_private_stage()
    assert result.one(INSIGHTS).inputs["disableLocalAuth"] is False


def test_access_modes_come_from_config():
    monitoring = {"privateLinkScope": {"ingestionAccessMode": "PrivateOnly", "queryAccessMode": "Open"}}
    result = plan(private_stage(), **{"mlinfra:network": with_network(), "mlinfra:monitoring": monitoring})
    assert result.one(SCOPE).inputs["accessModeSettings"]["queryAccessMode"] == "Open"


@pytest.mark.parametrize("key", ["publicIngestionEnabled", "publicQueryEnabled"])
def test_fails_when_a_private_stage_opens_monitoring(rejection, key):  # noqa: F811
    assert f"mlinfra:monitoring.{key}: got true; must be false when public network access is off" in refused(
        rejection, **{"mlinfra:monitoring": {key: True}}
    )


def test_fails_when_hub_zones_lack_the_monitor_zones(rejection):  # noqa: F811
    """A scope of the stage's own (Open, in the hub's zones) registers its endpoint in all four."""
    stack = first(JOINED_NETWORK_STACKS)
    network = section(stack, "network")
    zones = network["privateEndpoints"]["dnsZoneIds"]
    zones.update({z: HUB_ZONES[z] for z in PRIVATE_DNS_ZONES["azuremonitor"]})
    del zones["privatelink.oms.opinsights.azure.com"]
    monitoring = {
        "privateLinkScope": {"mode": "owned", "ingestionAccessMode": "Open", "queryAccessMode": "Open"}
    }
    message = refused(rejection, stack, **{"mlinfra:network": network, "mlinfra:monitoring": monitoring})
    assert (
        "mlinfra:network.privateEndpoints.dnsZoneIds: has no zone for privatelink.oms.opinsights.azure.com"
        in message
    )


def test_fails_when_an_access_mode_is_unknown(rejection):  # noqa: F811
    monitoring = {"privateLinkScope": {"ingestionAccessMode": "Private"}}
    message = refused(rejection, **{"mlinfra:monitoring": monitoring})
    assert 'mlinfra:monitoring.privateLinkScope.ingestionAccessMode: got "Private"' in message


def test_fails_when_a_public_stage_asks_for_a_scope_without_endpoints(rejection):  # noqa: F811
    message = refused(rejection, first(PUBLIC_STACKS), **{"mlinfra:monitoring": {"privateLinkScope": {}}})
    assert "mlinfra:monitoring.privateLinkScope: needs network.privateEndpoints" in message
