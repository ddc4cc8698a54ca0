"""Stack config of a stage's network exposure: public, or private through private endpoints
in a subnet (existing, or in a network the stage creates) with private DNS zones (existing
hub zones by id, or created and linked to the network). A network the stage creates can be
peered to a hub and can hold a subnet for private CI runners."""

import ipaddress
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated

from pydantic import AfterValidator, Field, StrictBool, StrictStr, model_validator

from mlinfra.settings.settings_base import Settings
from mlinfra.settings.value_kinds import PRIVATE_BLOCKS, PrivateCidr, resource_id_pattern, zone_id_problems

PRIVATE_DNS_ZONES = MappingProxyType(
    {
        "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
        "blob": ("privatelink.blob.core.windows.net",),
        "file": ("privatelink.file.core.windows.net",),
        "vault": ("privatelink.vaultcore.azure.net",),
        "registry": ("privatelink.azurecr.io",),
        # An Azure ML registry's endpoint (sub-resource `amlregistry`) registers in the workspace
        # API zone (Microsoft Learn, machine-learning/how-to-registry-network-isolation).
        "amlregistry": ("privatelink.api.azureml.ms",),
        # Azure Monitor Private Link Scope (Microsoft Learn, private-link/private-endpoint-dns,
        # "Management and Governance": Azure Monitor).
        "azuremonitor": (
            "privatelink.monitor.azure.com",
            "privatelink.oms.opinsights.azure.com",
            "privatelink.ods.opinsights.azure.com",
            "privatelink.agentsvc.azure-automation.net",
            "privatelink.blob.core.windows.net",
        ),
    }
)
"""Private-link sub-resource (group id) -> the private DNS zones its endpoint registers in
(Azure public cloud)."""

WORKSPACE_GROUPS = ("amlworkspace", "blob", "file", "vault", "registry")
"""The sub-resources every private stage puts into its endpoint subnet."""


def zones_for(groups) -> tuple[str, ...]:
    """The private DNS zones the endpoints of `groups` register in, each once, in order."""
    return tuple(dict.fromkeys(zone for group in groups for zone in PRIVATE_DNS_ZONES[group]))


REQUIRED_ZONES = zones_for(WORKSPACE_GROUPS)
KNOWN_ZONES = zones_for(PRIVATE_DNS_ZONES)

_SUBNET_ID = resource_id_pattern("Microsoft.Network/virtualNetworks/subnets")
_VNET_ID = resource_id_pattern("Microsoft.Network/virtualNetworks")


def _subnet_id(value: str) -> str:
    if not _SUBNET_ID.fullmatch(value):
        raise ValueError(
            "expected a subnet resource id: /subscriptions/<guid>/resourceGroups/<group>/providers/"
            "Microsoft.Network/virtualNetworks/<network>/subnets/<subnet>"
        )
    return value


def _vnet_id(value: str) -> str:
    if not _VNET_ID.fullmatch(value):
        raise ValueError(
            "expected a virtual network resource id: /subscriptions/<guid>/resourceGroups/<group>/providers/"
            "Microsoft.Network/virtualNetworks/<network>"
        )
    return value


def parse_vnet_id(value: str) -> tuple[str, str, str]:
    """(subscription, resource group, network name) of a validated virtual network id."""
    match = _VNET_ID.fullmatch(value)
    if match is None:
        raise ValueError(f"not a virtual network id: {value}")
    return match["subscription"], match["group"], match["virtualNetworks"]


Cidr = PrivateCidr


def _private_address(value: str) -> str:
    """A private IPv4 address (a DNS server inside the hub), not a block."""
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError("expected a private IPv4 address such as 10.0.0.4") from None
    if not any(address in block for block in PRIVATE_BLOCKS):
        raise ValueError("expected a private IPv4 address inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
    return value


class RunnerKind(StrEnum):
    """Who runs the private CI jobs in the runner subnet."""

    GITHUB_HOSTED = "github-hosted"
    """GitHub-hosted runners with Azure private networking: the subnet is delegated to
    GitHub.Network/networkSettings and a networkSettings resource binds it to the GitHub
    organization or enterprise."""
    SELF_HOSTED = "self-hosted"
    """Self-hosted GitHub runners or Azure DevOps agents (VMs, scale sets, Managed DevOps Pools)
    the team runs in a plain subnet."""


class RunnerSubnetSettings(Settings):
    kind: RunnerKind
    """github-hosted or self-hosted. Required: who runs the jobs in this subnet."""
    address_prefix: Cidr
    """CIDR of the runner subnet, inside the address space, not overlapping the endpoint subnet,
    /28 or larger. Required."""
    github_database_id: Annotated[StrictStr, Field(pattern=r"^[0-9]{1,20}$")] | None = None
    """digits only: the database id of the GitHub organization or enterprise the runners belong to
    (`businessId` of GitHub.Network/networkSettings; `gh api orgs/<org> --jq .id`). Required with
    kind github-hosted, not allowed otherwise."""

    @model_validator(mode="after")
    def _business_id(self):
        hosted = self.kind == RunnerKind.GITHUB_HOSTED
        if hosted and self.github_database_id is None:
            raise ValueError("githubDatabaseId is required with kind github-hosted")
        if not hosted and self.github_database_id is not None:
            raise ValueError("githubDatabaseId is only meaningful with kind github-hosted; remove it")
        return self


class PeerRight(StrEnum):
    """How the deployer holds `Microsoft.Network/virtualNetworks/peer/action` on the hub network,
    which creating the stage's side of the peering needs (Microsoft Learn,
    virtual-network/virtual-network-manage-peering, "Permissions": peer/action is "required to
    create a peering from virtual network B to virtual network A", checked on the remote network)."""

    GRANTED = "granted"
    """The hub team granted it: a prerequisite in prerequisites.yaml (principal `deployer:<stack>`,
    scope the hub network) that the estate verifier counts and `mlinfra doctor` checks live."""
    REQUESTED = "requested"
    """Not granted (yet): the stage creates no peering and exports both sides and the grant in
    the `hubPeeringRequest` output, for the hub team."""


class HubSide(StrEnum):
    """Who creates the hub's side of the peering (a peering connects once both sides exist)."""

    REQUESTED = "requested"
    """The hub team, from the `hubPeeringRequest` output; not created yet."""
    EXISTS = "exists"
    """The hub team created it with the settings of the request."""
    MANAGED = "managed"
    """The stage, through a provider for the hub's subscription (the deployer may write there)."""


class HubPeeringSettings(Settings):
    remote_virtual_network_id: Annotated[StrictStr, AfterValidator(_vnet_id)]
    """Resource id of the hub virtual network to peer with. Required."""
    peer_right: PeerRight = PeerRight.REQUESTED
    """granted or requested: whether the hub team has granted the deployer
    Microsoft.Network/virtualNetworks/peer/action on the hub network (granted: declared in
    prerequisites.yaml) or the stage asks for it (requested: no peering is created, the
    hubPeeringRequest output holds both sides and the grant). Default requested, which cannot
    fail with LinkedAuthorizationFailed."""
    hub_side: HubSide = HubSide.REQUESTED
    """requested, exists or managed: the hub's side of the peering is requested from the hub team
    (hubPeeringRequest output), already exists, or is created by the stage (the deployer may write
    to the hub network). Default requested."""
    hub_allows_gateway_transit: StrictBool = False
    """Whether the hub's side allows gateway transit (the hub has a VPN or ExpressRoute gateway
    that spokes use). With hubSide managed the stage sets it there; otherwise the hub team does.
    Default false."""
    use_remote_gateways: StrictBool = False
    """Whether the stage routes through the hub's gateway. Only once the hub's side allows gateway
    transit (hubAllowsGatewayTransit: true and hubSide exists or managed). Default false."""
    link_dns_zones: StrictBool = False
    """Refused when true: no zone the stage creates is linked to the hub network (review-3 B2);
    with a hub the endpoints register in the hub's zones (privateEndpoints.dnsZoneIds). Default false."""

    @model_validator(mode="after")
    def _two_parties(self):
        problems = []
        if self.link_dns_zones:
            problems.append(
                "linkDnsZones: got true; a zone the stage creates is never linked to the hub network "
                "(the hub already resolves the privatelink namespaces, and Azure refuses a second zone of "
                "a name on one network); set privateEndpoints.dnsZoneIds to the hub's zones instead"
            )
        if self.use_remote_gateways:
            if not self.hub_allows_gateway_transit:
                problems.append(
                    "useRemoteGateways: got true; needs hubAllowsGatewayTransit: true (Azure refuses "
                    "useRemoteGateways until the hub's peering allows gateway transit)"
                )
            elif self.hub_side == HubSide.REQUESTED:
                problems.append(
                    "useRemoteGateways: got true with hubSide requested; expected hubSide exists or managed "
                    "(the hub's side must allow gateway transit before this side uses its gateway)"
                )
        if self.hub_side == HubSide.MANAGED and self.peer_right == PeerRight.REQUESTED:
            problems.append(
                "hubSide: got managed with peerRight requested; a deployer that may write the hub's side "
                "holds peer/action there too: set peerRight granted (declared in prerequisites.yaml)"
            )
        if problems:
            raise ValueError("\n".join(problems))  # one problem per line (ConfigError)
        return self

    @property
    def creates_stage_side(self) -> bool:
        """Whether the stage creates its side now: only with the right to (peerRight granted)."""
        return self.peer_right == PeerRight.GRANTED

    @property
    def connects(self) -> bool:
        """Whether the peering is connected after this deployment: both sides exist (Microsoft
        Learn, virtual-network-manage-peering: Initiated until the second side is created)."""
        return self.creates_stage_side and self.hub_side != HubSide.REQUESTED


class VirtualNetworkSettings(Settings):
    address_space: Cidr
    """Private IPv4 CIDR of the network the stage creates (for example 10.20.0.0/16). Required."""
    endpoint_subnet_prefix: Cidr
    """CIDR of its private-endpoint subnet, inside the address space, /28 or larger. Required."""
    runner_subnet: RunnerSubnetSettings | None = None
    """A subnet for private CI runners, so pipelines reach the private endpoints. Default none."""
    hub_peering: HubPeeringSettings | None = None
    """Peering to a hub network, so people and runners outside this network reach it. Default none."""
    dns_servers: list[Annotated[StrictStr, AfterValidator(_private_address)]] | None = None
    """Private IPv4 addresses the network resolves names through: the hub's DNS (its DNS Private
    Resolver inbound endpoint or firewall DNS proxy), where the hub's private DNS zones resolve.
    Required with hubPeering, not allowed without it (default Azure DNS resolves only zones linked
    to the network itself). Set on the network once the peering connects (peerRight granted and
    hubSide exists or managed); until then the network keeps Azure-provided DNS."""

    @model_validator(mode="after")
    def _subnet_inside(self):
        # Every block is a validated IPv4 block (`_network`), so IPv4Network never raises here.
        space, subnet = (
            ipaddress.IPv4Network(self.address_space),
            ipaddress.IPv4Network(self.endpoint_subnet_prefix),
        )
        if not subnet.subnet_of(space):
            raise ValueError(f"endpointSubnetPrefix {subnet} is not inside addressSpace {space}")
        if subnet.prefixlen > 28:
            raise ValueError(
                f"endpointSubnetPrefix {subnet} is too small for the stage's private endpoints; use /28 or larger"
            )
        if self.runner_subnet is not None:
            runners = ipaddress.IPv4Network(self.runner_subnet.address_prefix)
            if not runners.subnet_of(space):
                raise ValueError(f"runnerSubnet.addressPrefix {runners} is not inside addressSpace {space}")
            if runners.overlaps(subnet):
                raise ValueError(
                    f"runnerSubnet.addressPrefix {runners} overlaps endpointSubnetPrefix {subnet}"
                )
            if runners.prefixlen > 28:
                raise ValueError(f"runnerSubnet.addressPrefix {runners} is too small; use /28 or larger")
        if self.hub_peering is not None and not self.dns_servers:
            raise ValueError(
                "dnsServers: required with hubPeering; expected the hub's DNS addresses (its DNS Private "
                "Resolver inbound endpoint or firewall DNS proxy): Azure-provided DNS does not resolve "
                "through a peering, so the hub's private DNS zones would not resolve in this network"
            )
        if self.hub_peering is None and self.dns_servers is not None:
            raise ValueError(
                "dnsServers: only with hubPeering; without a hub the network resolves the zones the "
                "stage creates and links to it through Azure-provided DNS"
            )
        return self


class PrivateEndpointSettings(Settings):
    subnet_id: Annotated[StrictStr, AfterValidator(_subnet_id)] | None = None
    """Resource id of an existing subnet for the private endpoints (typical in a landing zone).
    Exactly one of subnetId and virtualNetwork."""
    virtual_network: VirtualNetworkSettings | None = None
    """A network the stage creates for its private endpoints. Exactly one of subnetId and virtualNetwork."""
    dns_zone_ids: dict[StrictStr, StrictStr] | None = None
    """Existing private DNS zones by zone name -> resource id (hub-and-spoke), one for each of
    privatelink.api.azureml.ms, privatelink.notebooks.azure.net, privatelink.blob.core.windows.net,
    privatelink.file.core.windows.net, privatelink.vaultcore.azure.net, privatelink.azurecr.io.
    With a monitoring scope of the stage's own (monitoring.privateLinkScope.mode owned), also privatelink.monitor.azure.com,
    privatelink.oms.opinsights.azure.com, privatelink.ods.opinsights.azure.com and
    privatelink.agentsvc.azure-automation.net. Required with virtualNetwork.hubPeering (the hub's
    zones: endpoints register there and the stage links no zone to any network). Default: the stage
    creates the zones and links them to its own network only."""

    @model_validator(mode="after")
    def _consistent(self):
        problems = []
        if (self.subnet_id is None) == (self.virtual_network is None):
            problems.append(
                "expected exactly one of subnetId (an existing subnet) and virtualNetwork (a new one)"
            )
        if self.dns_zone_ids is not None:
            missing = [zone for zone in REQUIRED_ZONES if zone not in self.dns_zone_ids]
            if missing:
                problems.append(
                    f"dnsZoneIds has no zone for {', '.join(missing)} (needed by the private endpoints)"
                )
            unknown = sorted(set(self.dns_zone_ids) - set(KNOWN_ZONES))
            if unknown:
                problems.append(f"dnsZoneIds names zones no endpoint uses: {', '.join(unknown)}")
            problems += zone_id_problems(self.dns_zone_ids)
        created = self.virtual_network
        if created is not None and created.hub_peering is not None and self.dns_zone_ids is None:
            # The stage's zones would be linked to a network that already resolves these names
            # through the hub (dnsServers): they would shadow nothing and answer nobody else.
            problems.append(
                "dnsZoneIds: required with virtualNetwork.hubPeering; expected the hub's private DNS "
                f"zone ids ({', '.join(REQUIRED_ZONES)}): a network that resolves through the hub already "
                "resolves these namespaces there, so the stage creates and links no zones of its own"
            )
        if created is not None and created.hub_peering is None and self.dns_zone_ids is not None:
            problems.append(
                "dnsZoneIds: only with virtualNetwork.hubPeering (the hub's zones, resolved through the "
                "hub) or subnetId; a network the stage creates without a hub resolves only the zones "
                "the stage creates and links to it, so leave dnsZoneIds out"
            )
        if problems:
            raise ValueError("\n".join(problems))  # one problem per line (ConfigError)
        return self


class NetworkSettings(Settings):
    public_network_access_enabled: StrictBool = False
    """Whether the workspace, storage account, key vault and registry accept traffic from the
    internet. Default false (ML-1, ST-2, KV-4, ACR-3): reach them through private endpoints."""
    private_endpoints: PrivateEndpointSettings | None = None
    """Where the private endpoints of the workspace (amlworkspace), storage (blob, file), key vault
    (vault) and registry (registry) go. Required when public network access is off."""

    @model_validator(mode="after")
    def _reachable(self):
        if not self.public_network_access_enabled and self.private_endpoints is None:
            raise ValueError(
                "a stage without public network access needs privateEndpoints (subnetId or "
                "virtualNetwork), or nobody can reach it; or set publicNetworkAccessEnabled: true"
            )
        return self
