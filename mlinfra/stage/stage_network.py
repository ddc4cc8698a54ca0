"""`StageNetwork` and `private_endpoint`: how a private stage is reached.

`StageNetwork` provides the subnet the private endpoints go into (an existing one, or a
network it creates) and the private DNS zones they register in (existing hub zones, or
zones it creates and links to that network). `private_endpoint` puts one sub-resource of a
resource into the subnet with its DNS zone group, so its name resolves privately (ML-2).
"""

# Annotations stay unevaluated, so a public stage never loads the (large) network SDK modules.
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns, resources

from mlinfra.settings.network_settings import (
    PRIVATE_DNS_ZONES,
    WORKSPACE_GROUPS,
    HubPeeringSettings,
    HubSide,
    PrivateEndpointSettings,
    RunnerKind,
    RunnerSubnetSettings,
    parse_vnet_id,
    zones_for,
)

ENDPOINT_SUBNET = "snet-private-endpoints"
RUNNER_SUBNET = "snet-runners"
GITHUB_NETWORK_SETTINGS = "GitHub.Network/networkSettings"
PEER_ACTION = "Microsoft.Network/virtualNetworks/peer/action"
"""What creating a peering needs on the remote network (Microsoft Learn,
virtual-network/virtual-network-manage-peering, "Permissions")."""
GITHUB_NETWORK_API_VERSION = "2024-04-02"
"""The only API version of GitHub.Network/networkSettings that GitHub documents (docs.github.com,
"Configuring private networking for GitHub-hosted runners"); azure-native 3.29 has no typed
module for it, so it goes through the generic `resources.Resource`."""


@dataclass(frozen=True)
class PrivateLink:
    """Where a resource's private endpoints go."""

    subnet_id: pulumi.Input[str]
    dns_zone_ids: Mapping[str, pulumi.Input[str]]
    """Private DNS zone name -> zone id."""
    location: str
    resource_group_name: pulumi.Input[str]
    tags: Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class StageNetworkArgs:
    settings: PrivateEndpointSettings
    """Existing subnet or a new network; existing zones or new ones."""
    network_name: str
    """Name of the network the stage creates (unused with an existing subnet)."""
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    groups: Sequence[str] = WORKSPACE_GROUPS
    """Private-link sub-resources whose endpoints go into the subnet: the zones to create."""
    subscription_id: str = ""
    """The stage's subscription: a hub in another one gets its own provider for the hub side."""
    tenant_id: str = ""
    """The stage's tenant, which that provider signs in to."""


def _deny_internet_inbound(
    name: str, nsg_name: str, args: StageNetworkArgs, child
) -> network.NetworkSecurityGroup:
    """An NSG whose first inbound rule denies the Internet service tag. Azure's default rules
    already end in DenyAllInBound; the explicit rule keeps that true if someone adds an allow."""
    return network.NetworkSecurityGroup(
        name,
        network_security_group_name=nsg_name,
        resource_group_name=args.resource_group_name,
        location=args.location,
        security_rules=[
            network.SecurityRuleArgs(
                name="deny-internet-inbound",
                priority=4096,  # the lowest custom priority: allow rules a team adds go above it
                direction=network.SecurityRuleDirection.INBOUND,
                access=network.SecurityRuleAccess.DENY,
                protocol=network.SecurityRuleProtocol.ASTERISK,
                source_address_prefix="Internet",
                source_port_range="*",
                destination_address_prefix="*",
                destination_port_range="*",
            )
        ],
        tags=dict(args.tags),
        opts=child,
    )


class StageNetwork(pulumi.ComponentResource):
    link: PrivateLink
    network_id: pulumi.Input[str]
    runner_subnet_id: pulumi.Output[str] | None
    github_network_settings_id: pulumi.Output[str] | None
    """ARM id of the GitHub.Network/networkSettings resource (github-hosted runners only)."""
    hub_peering_request: dict | None
    """What the hub team must do (`hubSide`: the peering to create on the hub; `stageSide` and
    `grant`: the stage's side and the peer/action right it waits for), else None."""

    def __init__(self, name: str, args: StageNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:StageNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        tags = dict(args.tags)
        self.runner_subnet_id = None
        self.github_network_settings_id = None
        self.hub_peering_request = None
        created = settings.virtual_network
        if created is not None:
            base = args.network_name.removeprefix("vnet-")
            endpoint_nsg = _deny_internet_inbound(f"{name}-endpoints-nsg", f"nsg-{base}-pe", args, child)
            subnets = [
                network.SubnetArgs(
                    name=ENDPOINT_SUBNET,
                    address_prefix=created.endpoint_subnet_prefix,
                    private_endpoint_network_policies="Disabled",
                    network_security_group=network.NetworkSecurityGroupArgs(id=endpoint_nsg.id),
                )
            ]
            runners = created.runner_subnet
            if runners is not None:
                runner_nsg = _deny_internet_inbound(f"{name}-runners-nsg", f"nsg-{base}-runners", args, child)
                subnets.append(_runner_subnet(runners, runner_nsg))
            vnet = network.VirtualNetwork(
                f"{name}-vnet",
                virtual_network_name=args.network_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                address_space=network.AddressSpaceArgs(address_prefixes=[created.address_space]),
                # The hub's DNS, where the hub's zones resolve; only once the peering connects: an
                # unreachable DNS server would leave the network (and its runners) without names.
                dhcp_options=(
                    network.DhcpOptionsArgs(dns_servers=list(created.dns_servers))
                    if created.dns_servers and created.hub_peering and created.hub_peering.connects
                    else None
                ),
                subnets=subnets,
                tags=tags,
                opts=child,
            )
            network_id: pulumi.Input[str] = vnet.id
            subnet_id: pulumi.Input[str] = vnet.id.apply(
                lambda vnet_id: f"{vnet_id}/subnets/{ENDPOINT_SUBNET}"
            )
            if runners is not None:
                self.runner_subnet_id = vnet.id.apply(lambda vnet_id: f"{vnet_id}/subnets/{RUNNER_SUBNET}")
                if runners.kind == RunnerKind.GITHUB_HOSTED:
                    self.github_network_settings_id = self._github_network_settings(
                        name, args, runners, self.runner_subnet_id, child
                    )
            if created.hub_peering is not None:
                self._peer(name, args, created.hub_peering, vnet, child)
        elif settings.subnet_id is not None:
            subnet_id = settings.subnet_id
            network_id = settings.subnet_id.rsplit("/subnets/", 1)[0]
        else:  # PrivateEndpointSettings validates that exactly one of the two is set
            raise ValueError("privateEndpoints needs either subnetId or virtualNetwork")
        self.network_id = network_id

        if settings.dns_zone_ids is not None:
            # Existing zones (the hub's): endpoints register there; the stage links no zone.
            zone_ids: dict[str, pulumi.Input[str]] = dict(settings.dns_zone_ids)
        else:
            # Zones the stage owns link only to the stage's own network, never to a hub (B2).
            linked = [("", network_id, f"link-{args.network_name}")]
            zone_ids = {}
            for zone_name in zones_for(args.groups):
                zone = privatedns.PrivateZone(
                    f"{name}-zone-{zone_name}",
                    private_zone_name=zone_name,
                    resource_group_name=args.resource_group_name,
                    location="global",  # private DNS zones are global resources
                    tags=tags,
                    opts=child,
                )
                for suffix, target, link_name in linked:
                    privatedns.VirtualNetworkLink(
                        f"{name}-zone-{zone_name}-link{suffix}",
                        private_zone_name=zone.name,
                        virtual_network_link_name=link_name,
                        virtual_network=privatedns.SubResourceArgs(id=target),
                        registration_enabled=False,
                        resource_group_name=args.resource_group_name,
                        location="global",
                        tags=tags,
                        opts=child,
                    )
                zone_ids[zone_name] = zone.id
        self.link = PrivateLink(subnet_id, zone_ids, args.location, args.resource_group_name, args.tags)
        self.register_outputs({})

    def _github_network_settings(
        self, name: str, args: StageNetworkArgs, runners: RunnerSubnetSettings, subnet_id, child
    ) -> pulumi.Output[str]:
        """Binds the delegated subnet to the GitHub organization; GitHub reads its `GitHubId` tag
        when an owner adds the Azure private network configuration in the organization settings."""
        settings = resources.Resource(
            f"{name}-github-network-settings",
            resource_provider_namespace="GitHub.Network",
            resource_type="networkSettings",
            parent_resource_path="",
            api_version=GITHUB_NETWORK_API_VERSION,
            resource_name_=f"ghns-{args.network_name.removeprefix('vnet-')}",
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties={"businessId": runners.github_database_id, "subnetId": subnet_id},
            tags=dict(args.tags),
            opts=child,
        )
        return settings.id

    def _peer(self, name: str, args: StageNetworkArgs, hub: HubPeeringSettings, vnet, child) -> None:
        """A peering is a two-party change (Microsoft Learn, virtual-network-manage-peering,
        "Permissions"): the stage's side needs virtualNetworks/peer/action on the hub network, the
        hub's side needs write on the hub network. The stage creates its side only with the right
        granted (peerRight), the hub's side only when it may write there (hubSide managed), and
        exports whatever is left for the hub team as `hubPeeringRequest`."""
        hub_subscription, hub_group, hub_name = parse_vnet_id(hub.remote_virtual_network_id)
        stage_side = {
            "virtualNetworkId": vnet.id,
            "peeringName": f"peer-to-{hub_name}",
            "remoteVirtualNetworkId": hub.remote_virtual_network_id,
            "allowVirtualNetworkAccess": True,
            "allowForwardedTraffic": True,  # traffic from on-premises / other spokes via the hub
            "allowGatewayTransit": False,
            "useRemoteGateways": hub.use_remote_gateways,
        }
        hub_side = {
            "virtualNetworkId": hub.remote_virtual_network_id,
            "peeringName": f"peer-to-{args.network_name}",
            "remoteVirtualNetworkId": vnet.id,
            "allowVirtualNetworkAccess": True,
            "allowForwardedTraffic": True,
            # The hub offers its gateway only when it has one and says so (hubAllowsGatewayTransit).
            "allowGatewayTransit": hub.hub_allows_gateway_transit,
            "useRemoteGateways": False,
        }
        created_hub_side = None
        if hub.hub_side == HubSide.MANAGED:
            created_hub_side = self._hub_side(
                name, args, hub_subscription, hub_group, hub_name, hub_side, vnet
            )
        if hub.creates_stage_side:
            network.VirtualNetworkPeering(
                f"{name}-peering-to-hub",
                virtual_network_peering_name=stage_side["peeringName"],
                virtual_network_name=vnet.name,
                resource_group_name=args.resource_group_name,
                remote_virtual_network=network.SubResourceArgs(id=hub.remote_virtual_network_id),
                allow_virtual_network_access=True,
                allow_forwarded_traffic=True,
                allow_gateway_transit=False,
                use_remote_gateways=hub.use_remote_gateways,
                # useRemoteGateways only after the hub's side allows gateway transit (review-3 R4):
                # config refuses it unless that side exists; when the stage creates it, after it.
                opts=pulumi.ResourceOptions.merge(
                    child,
                    pulumi.ResourceOptions(depends_on=[created_hub_side] if created_hub_side else []),
                ),
            )
        request: dict = {}
        then = []
        if not hub.creates_stage_side:
            request["stageSide"] = stage_side
            request["grant"] = {
                "principal": f"deployer:{pulumi.get_stack()}",
                "action": PEER_ACTION,
                "scope": hub.remote_virtual_network_id,
            }
            then.append("declare the grant in prerequisites.yaml and set hubPeering.peerRight: granted")
        if hub.hub_side == HubSide.REQUESTED:
            request["hubSide"] = hub_side
            then.append(
                "once the hub's side exists, set hubPeering.hubSide: exists (the network then resolves "
                "through virtualNetwork.dnsServers)"
            )
        if request:
            request["then"] = then
        self.hub_peering_request = request or None

    def _hub_side(
        self,
        name: str,
        args: StageNetworkArgs,
        hub_subscription: str,
        hub_group: str,
        hub_name: str,
        side,
        vnet,
    ) -> network.VirtualNetworkPeering:
        hub_provider = None
        if hub_subscription.lower() != args.subscription_id.lower():
            # The hub lives in another subscription: its side goes through a provider for it.
            import pulumi_azure_native as azure_native

            # Only the subscription differs; sign-in comes from the environment (ARM_* variables,
            # OIDC) as for the default provider, and the hub is in the stage's tenant.
            hub_provider = azure_native.Provider(
                f"{name}-hub",
                subscription_id=hub_subscription,
                tenant_id=args.tenant_id or None,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return network.VirtualNetworkPeering(
            f"{name}-peering-from-hub",
            virtual_network_peering_name=side["peeringName"],
            virtual_network_name=hub_name,
            resource_group_name=hub_group,
            remote_virtual_network=network.SubResourceArgs(id=vnet.id),
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            allow_gateway_transit=side["allowGatewayTransit"],
            use_remote_gateways=False,
            opts=pulumi.ResourceOptions(parent=self, provider=hub_provider),
        )


def _runner_subnet(runners: RunnerSubnetSettings, nsg: network.NetworkSecurityGroup) -> network.SubnetArgs:
    """The CI runner subnet; delegated to GitHub.Network/networkSettings for GitHub-hosted runners
    (docs.github.com, "Configuring your Azure resources": the subnet delegation)."""
    delegations = (
        [network.DelegationArgs(name="github-network-settings", service_name=GITHUB_NETWORK_SETTINGS)]
        if runners.kind == RunnerKind.GITHUB_HOSTED
        else None
    )
    return network.SubnetArgs(
        name=RUNNER_SUBNET,
        address_prefix=runners.address_prefix,
        network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
        delegations=delegations,
    )


def private_endpoint(
    name: str,
    *,
    endpoint_name: str,
    target_id: pulumi.Input[str],
    group: str,
    link: PrivateLink,
    parent: pulumi.Resource,
) -> network.PrivateEndpoint:
    """A private endpoint for sub-resource `group` of `target_id`, registered in its DNS zones."""
    child = pulumi.ResourceOptions(parent=parent)
    endpoint = network.PrivateEndpoint(
        name,
        private_endpoint_name=endpoint_name,
        resource_group_name=link.resource_group_name,
        location=link.location,
        subnet=network.SubnetArgs(id=link.subnet_id),
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(
                name=endpoint_name, private_link_service_id=target_id, group_ids=[group]
            )
        ],
        custom_network_interface_name=f"{endpoint_name}-nic",
        tags=dict(link.tags),
        opts=child,
    )
    network.PrivateDnsZoneGroup(
        f"{name}-dns",
        private_endpoint_name=endpoint.name,
        private_dns_zone_group_name="default",
        private_dns_zone_configs=[
            network.PrivateDnsZoneConfigArgs(
                name=zone.replace(".", "-"), private_dns_zone_id=link.dns_zone_ids[zone]
            )
            for zone in PRIVATE_DNS_ZONES[group]
        ],
        resource_group_name=link.resource_group_name,
        opts=child,
    )
    return endpoint
