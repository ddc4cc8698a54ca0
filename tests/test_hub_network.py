"""Hub peering as a two-party change and DNS that respects the hub (issue 28; review-3 B1, B2, R4).

The stage's side of a peering needs `Microsoft.Network/virtualNetworks/peer/action` on the hub
network, the hub's side needs write there; a stage that joins a hub registers its endpoints in the
hub's zones and links no zone of its own; the estate verifier counts the hub team's grants from
prerequisites.yaml and still refuses a stage zone linked to the hub (EV-2, EV-10)."""

import inspect
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi_azure_native import network as azure_network
from pulumi_azure_native import privatedns

from mlinfra.config.config_error import ConfigError
from mlinfra.estate import model
from mlinfra.planner.stackfile import read_document
from mlinfra.settings.network_settings import PRIVATE_DNS_ZONES, PrivateEndpointSettings
from mlinfra.stage.stage_network import PEER_ACTION, StageNetwork, StageNetworkArgs
from tests.conftest import (
    CREATED_NETWORK_STACKS,
    JOINED_NETWORK_STACKS,
    PROJECT_DIR,
    first,
    plan,
    problem_lines,
    run_program,
    setting,
)

STAGE_SUB = "00000000-0000-0000-0000-000000000003"
HUB_SUB = "00000000-0000-0000-0000-000000000008"
HUB = f"/subscriptions/{HUB_SUB}/resourceGroups/rg-network-hub-weu/providers/Microsoft.Network/virtualNetworks/vnet-hub-weu"
HUB_ZONES = {
    zone: f"/subscriptions/{HUB_SUB}/resourceGroups/rg-dns-hub/providers/Microsoft.Network/privateDnsZones/{zone}"
    for zone in dict.fromkeys(
        z for group in ("amlworkspace", "blob", "file", "vault", "registry") for z in PRIVATE_DNS_ZONES[group]
    )
}
PEERING = "azure-native:network:VirtualNetworkPeering"
ZONE = "azure-native:privatedns:PrivateZone"
LINK = "azure-native:privatedns:VirtualNetworkLink"
VNET = "azure-native:network:VirtualNetwork"


def network_of(stack: str) -> dict[str, Any]:
    """A stack's `mlinfra:network` section, parsed."""
    section = setting(stack, "network", {})
    assert isinstance(section, dict)
    return section


HUB_STACKS = tuple(
    stack
    for stack in CREATED_NETWORK_STACKS
    if network_of(stack)["privateEndpoints"]["virtualNetwork"].get("hubPeering")
)


def endpoints(**hub_peering) -> dict:
    return {
        "virtualNetwork": {
            "addressSpace": "10.21.0.0/16",
            "endpointSubnetPrefix": "10.21.0.0/24",
            "dnsServers": ["10.0.0.4"],
            "hubPeering": {"remoteVirtualNetworkId": HUB, **hub_peering},
        },
        "dnsZoneIds": HUB_ZONES,
    }


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
                subscription_id=STAGE_SUB,
            ),
        )

        async def resolve():
            request = network.hub_peering_request
            seen["request"] = await pulumi.Output.from_input(request).future() if request else None

        return resolve()

    return run_program(program), seen


# --- B1: the peering's two parties -------------------------------------------------------------


def test_requested_creates_no_peering_and_asks_for_both_sides_and_the_grant():
    """Microsoft Learn, virtual-network/virtual-network-manage-peering, "Permissions"
    (MicrosoftDocs/azure-docs articles/virtual-network/virtual-network-manage-peering.md):
    `virtualNetworks/virtualNetworkPeerings/write` creates a peering from A to B, and
    `Microsoft.Network/virtualNetworks/peer/action` is required on the remote network B. Without
    that right the stage's side would fail with LinkedAuthorizationFailed, so it is not planned."""
    result, seen = build(endpoints(peerRight="requested"))
    assert not result.of_type(PEERING)
    request = seen["request"]
    assert request["grant"]["action"] == PEER_ACTION == "Microsoft.Network/virtualNetworks/peer/action"
    assert request["grant"]["scope"] == HUB and request["grant"]["principal"].startswith("deployer:")
    assert request["stageSide"]["remoteVirtualNetworkId"] == HUB
    assert request["stageSide"]["virtualNetworkId"].endswith("/virtualNetworks/vnet-churn-live-weu")
    assert request["hubSide"]["virtualNetworkId"] == HUB
    assert request["hubSide"]["remoteVirtualNetworkId"] == request["stageSide"]["virtualNetworkId"]


def test_granted_creates_the_stage_side_and_asks_only_for_the_hub_side():
    result, seen = build(endpoints(peerRight="granted"))
    (peering,) = result.of_type(PEERING)
    assert peering.inputs["remoteVirtualNetwork"]["id"] == HUB
    assert peering.inputs["virtualNetworkName"] == "vnet-churn-live-weu"
    assert peering.inputs["useRemoteGateways"] is False and peering.inputs["allowGatewayTransit"] is False
    assert set(seen["request"]) == {"hubSide", "then"}


def test_an_existing_hub_side_with_gateway_transit_lets_the_stage_use_the_hubs_gateway():
    """Review-3 R4. Microsoft Learn, virtual-network-manage-peering, "Use remote gateways": "the
    peered virtual network must have a virtual network gateway attached to it and must have the
    Allow gateway transit checkbox checked". Only when config says the hub's side exists and allows
    it does the stage set useRemoteGateways; then nothing is left to request."""
    result, seen = build(
        endpoints(peerRight="granted", hubSide="exists", hubAllowsGatewayTransit=True, useRemoteGateways=True)
    )
    (peering,) = result.of_type(PEERING)
    assert peering.inputs["useRemoteGateways"] is True
    assert seen["request"] is None


def test_the_peering_inputs_are_the_providers():
    """azure-native 3.29 `network.VirtualNetworkPeering` (network API 2024-05-01; pulumi/pulumi-azure-native
    sdk/python/pulumi_azure_native/network/virtual_network_peering.py) takes remote_virtual_network,
    allow_virtual_network_access, allow_forwarded_traffic, allow_gateway_transit and
    use_remote_gateways (peering_sync_level is server-side state, never sent); privatedns
    `VirtualNetworkLink` (API 2024-06-01) has resolution_policy (docs/networking.md)."""
    peering = inspect.signature(azure_network.VirtualNetworkPeering._internal_init).parameters
    for name in (
        "remote_virtual_network",
        "allow_virtual_network_access",
        "allow_forwarded_traffic",
        "allow_gateway_transit",
        "use_remote_gateways",
        "peering_sync_level",
    ):
        assert name in peering, name
    assert "resolution_policy" in inspect.signature(privatedns.VirtualNetworkLink._internal_init).parameters
    assert {p.value for p in privatedns.ResolutionPolicy} == {"Default", "NxDomainRedirect"}
    result, _ = build(endpoints(peerRight="granted"))
    assert "peeringSyncLevel" not in result.one(PEERING).inputs


# --- B2: DNS that respects the hub ------------------------------------------------------------


def test_a_stage_with_a_hub_creates_and_links_no_zone_and_resolves_through_the_hub():
    """Microsoft Learn, virtual-network-manage-peering, "Requirements and constraints": "You can't
    resolve names in peered virtual networks using default Azure name resolution", so the network
    uses the hub's DNS (dnsServers) and the endpoints register in the hub's zones."""
    result, seen = build(endpoints(peerRight="granted", hubSide="exists"))
    assert not result.of_type(ZONE) and not result.of_type(LINK)
    assert result.one(VNET).inputs["dhcpOptions"]["dnsServers"] == ["10.0.0.4"]
    assert seen["request"] is None


@pytest.mark.parametrize(
    "hub_peering", [{"peerRight": "granted"}, {"peerRight": "requested", "hubSide": "exists"}]
)
def test_the_hubs_dns_is_used_only_once_the_peering_connects(hub_peering):
    """A peering connects only when both sides exist (same page: Initiated until then), and the
    hub's DNS servers are unreachable until it does: a network pointed at them would have no name
    resolution at all (its runners included). It keeps Azure-provided DNS, and the request says
    what to set once the hub team has acted."""
    result, seen = build(endpoints(**hub_peering))
    assert "dhcpOptions" not in result.one(VNET).inputs
    assert seen["request"]["then"] and all("set hubPeering." in step for step in seen["request"]["then"])


def test_zones_the_stage_owns_link_only_to_its_own_network():
    result, _ = build(
        {"virtualNetwork": {"addressSpace": "10.21.0.0/16", "endpointSubnetPrefix": "10.21.0.0/24"}}
    )
    targets = {link.inputs["virtualNetwork"]["id"] for link in result.of_type(LINK)}
    assert len(targets) == 1 and targets.pop().endswith("/virtualNetworks/vnet-churn-live-weu")
    assert "dhcpOptions" not in result.one(VNET).inputs


# --- config refusals: one line naming the key, the value and what is allowed ------------------


def refused(stack: str, private_endpoints: dict) -> str:
    network = {**network_of(stack), "privateEndpoints": private_endpoints}
    with pytest.raises(ConfigError) as error:
        plan(stack, **{"mlinfra:network": network})
    return problem_lines(str(error.value))


HUB_PEERING_KEY = "mlinfra:network.privateEndpoints.virtualNetwork.hubPeering"


@pytest.mark.parametrize(
    "hub_peering,needle",
    [
        (
            {"peerRight": "maybe"},
            "hubPeering.peerRight: got \"maybe\"; expected 'granted' or 'requested'",
        ),
        (
            {"hubSide": "yes"},
            "hubPeering.hubSide: got \"yes\"; expected 'requested', 'exists' or 'managed'",
        ),
        (
            {"peerRight": "granted", "hubSide": "exists", "useRemoteGateways": True},
            f"{HUB_PEERING_KEY}: useRemoteGateways: got true; needs hubAllowsGatewayTransit: true",
        ),
        (
            {"peerRight": "granted", "hubAllowsGatewayTransit": True, "useRemoteGateways": True},
            f"{HUB_PEERING_KEY}: useRemoteGateways: got true with hubSide requested; expected hubSide exists or managed",
        ),
        (
            {"hubSide": "managed"},
            f"{HUB_PEERING_KEY}: hubSide: got managed with peerRight requested",
        ),
        (
            {"linkDnsZones": True},
            f"{HUB_PEERING_KEY}: linkDnsZones: got true; a zone the stage creates is never linked to the hub network",
        ),
        (
            {"hubSideManaged": True},
            # The key before issue 28 (now hubSide); the path is shortened to 120 characters.
            "hubPeering.…: unknown key; allowed keys: remoteVirtualNetworkId, peerRight, hubSide",
        ),
    ],
)
def test_fails_when_the_hub_peering_is_inconsistent(hub_peering, needle):
    assert needle in refused(first(HUB_STACKS), endpoints(**hub_peering))


def test_fails_when_a_stage_with_a_hub_would_create_its_own_zones():
    """Review-3 B2: a zone linked to a network that already resolves its namespace (through the
    hub) is refused at config time, before Azure refuses the overlap or the zone hijacks the hub."""
    settings = endpoints(peerRight="granted")
    del settings["dnsZoneIds"]
    message = refused(first(HUB_STACKS), settings)
    assert "mlinfra:network.privateEndpoints: dnsZoneIds: required with virtualNetwork.hubPeering" in message
    assert "already resolves these namespaces" in message


def test_fails_when_a_network_without_a_hub_names_existing_zones():
    settings = endpoints()
    del settings["virtualNetwork"]["hubPeering"], settings["virtualNetwork"]["dnsServers"]
    assert "dnsZoneIds: only with virtualNetwork.hubPeering" in refused(first(HUB_STACKS), settings)


@pytest.mark.parametrize(
    "servers,needle",
    [
        (None, "dnsServers: required with hubPeering"),
        (["8.8.8.8"], 'dnsServers.0: got "8.8.8.8"; expected a private IPv4 address inside 10.0.0.0/8'),
        (
            ["10.0.0.0/24"],
            'dnsServers.0: got "10.0.0.0/24"; expected a private IPv4 address such as 10.0.0.4',
        ),
    ],
)
def test_fails_when_the_hub_dns_is_wrong(servers, needle):
    settings = endpoints(peerRight="granted")
    if servers is None:
        del settings["virtualNetwork"]["dnsServers"]
    else:
        settings["virtualNetwork"]["dnsServers"] = servers
    assert needle in refused(first(HUB_STACKS), settings)


def test_fails_when_dns_servers_are_given_without_a_hub():
    settings = endpoints()
    del settings["virtualNetwork"]["hubPeering"], settings["dnsZoneIds"]
    assert "dnsServers: only with hubPeering" in refused(first(HUB_STACKS), settings)


# --- the shipped files and the estate verifier --------------------------------------------------


def _declared(principal: str, action: str) -> list[str]:
    document = read_document(PROJECT_DIR / "prerequisites.yaml")
    return [
        grant["scope"]
        for item in document["prerequisites"]
        for grant in item.get("grants") or []
        if grant["principal"] == principal and action in grant.get("actions", [])
    ]


@pytest.mark.parametrize("stack", HUB_STACKS)
def test_a_granted_peering_is_a_declared_prerequisite(stack):
    """peerRight granted is true only with the hub team's grant declared in prerequisites.yaml,
    which the estate verifier counts (EV-2) and `mlinfra doctor` checks live."""
    peering = network_of(stack)["privateEndpoints"]["virtualNetwork"]["hubPeering"]
    declared = [s.lower() for s in _declared(f"deployer:{stack}", PEER_ACTION)]
    assert (peering.get("peerRight") == "granted") == (peering["remoteVirtualNetworkId"].lower() in declared)


def _estate_copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(
        PROJECT_DIR,
        root,
        ignore=shutil.ignore_patterns("venv", ".cache", ".git", "__pycache__", ".pytest_cache"),
    )
    return root


def _messages(estate, rule: str) -> list[str]:
    return [f.message for f in estate.findings if f.rule == rule]


def _without_entry(text: str, entry_id: str) -> str:
    """prerequisites.yaml without the list entry `entry_id` (up to the next entry or the end)."""
    start = text.index(f"  - id: {entry_id}\n")
    following = text.find("\n  - id: ", start + 1)
    return text[:start] + (text[following + 1 :] if following != -1 else "")


def _without_block(text: str, key: str) -> str:
    """A stack file without the mapping under `key:` (the key line and its deeper-indented lines)."""
    kept, indent = [], None
    for line in text.splitlines(keepends=True):
        depth = len(line) - len(line.lstrip())
        if indent is not None and (depth > indent or not line.strip()):
            continue
        indent = depth if line.strip() == f"{key}:" else None
        if indent is None:
            kept.append(line)
    return "".join(kept)


def test_the_estate_verifier_still_refuses_what_the_config_cannot_see(tmp_path):
    """Mutations of a temporary copy of the repository: without the hub team's grant the peering
    is an EV-2 finding again (LinkedAuthorizationFailed on peer/action); a stage whose subnet is in
    the hub network gets its own zones linked to the hub, which EV-10 refuses (overlapping
    namespaces: Microsoft Learn, "CreateOrUpdateVirtualNetworkLinkFailed"; and a takeover of the
    landing zone's resolution). Config cannot refuse the second: it does not know the subnet is the hub's."""
    root = _estate_copy(tmp_path)
    before = model.build(root)
    network_rights = (
        PEER_ACTION,
        "Microsoft.Network/privateDnsZones/join/action",
        "virtualNetworks/join/action",
    )
    assert not [m for m in _messages(before, "EV-2") if any(f"lacks {a}" in m for a in network_rights)]
    assert not _messages(before, "EV-10")

    peering_stage, joined = first(HUB_STACKS), first(JOINED_NETWORK_STACKS)
    declared = root / "prerequisites.yaml"
    (entry,) = [
        item["id"]
        for item in read_document(declared)["prerequisites"]
        if any(
            g["principal"] == f"deployer:{peering_stage}" and PEER_ACTION in g.get("actions", [])
            for g in item.get("grants") or []
        )
    ]
    declared.write_text(_without_entry(declared.read_text(), entry))
    stack_file = root / f"Pulumi.{joined}.yaml"
    spoke = network_of(joined)["privateEndpoints"]["subnetId"]
    text = stack_file.read_text()
    assert spoke in text
    # Its monitoring section goes too: how monitoring follows the zones is not what this test is about.
    mutated = _without_block(_without_block(text, "dnsZoneIds"), "mlinfra:monitoring")
    stack_file.write_text(mutated.replace(spoke, f"{HUB}/subnets/snet-shared-endpoints"))
    endpoints = read_document(stack_file)["config"]["mlinfra:network"]["privateEndpoints"]
    assert endpoints == {"subnetId": f"{HUB}/subnets/snet-shared-endpoints"}

    after = model.build(root)
    assert any(
        f"{peering_stage} deployer" in m and PEER_ACTION in m and HUB in m for m in _messages(after, "EV-2")
    )
    ev10 = _messages(after, "EV-10")
    assert any("overlapping namespaces" in m and "privatelink.blob.core.windows.net" in m for m in ev10)
    assert any(m.startswith(f"{joined} links ") and "of its own zones to the hub network" in m for m in ev10)
