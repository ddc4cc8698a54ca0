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

from components.network_settings import (
    PRIVATE_DNS_ZONES,
    WORKSPACE_GROUPS,
    HubPeeringSettings,
    PrivateEndpointSettings,
    RunnerKind,
    RunnerSubnetSettings,
    parse_vnet_id,
    zones_for,
)

ENDPOINT_SUBNET = "snet-private-endpoints"
RUNNER_SUBNET = "snet-runners"
GITHUB_NETWORK_SETTINGS = "GitHub.Network/networkSettings"
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
    """What the hub team must create when the stage may not write to the hub (else None)."""

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
            zone_ids: dict[str, pulumi.Input[str]] = dict(settings.dns_zone_ids)
        else:
            linked = [("", network_id, f"link-{args.network_name}")]
            peering = created.hub_peering if created is not None else None
            if peering is not None and peering.link_dns_zones:
                hub = parse_vnet_id(peering.remote_virtual_network_id)[2]
                linked.append(("-hub", peering.remote_virtual_network_id, f"link-{hub}"))
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
        """The stage's side of the peering always; the hub's side when the deployer may write there."""
        hub_subscription, hub_group, hub_name = parse_vnet_id(hub.remote_virtual_network_id)
        network.VirtualNetworkPeering(
            f"{name}-peering-to-hub",
            virtual_network_peering_name=f"peer-to-{hub_name}",
            virtual_network_name=vnet.name,
            resource_group_name=args.resource_group_name,
            remote_virtual_network=network.SubResourceArgs(id=hub.remote_virtual_network_id),
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,  # traffic from on-premises / other spokes via the hub
            allow_gateway_transit=False,
            use_remote_gateways=hub.use_remote_gateways,
            opts=child,
        )
        back = {
            "virtualNetworkId": hub.remote_virtual_network_id,
            "peeringName": f"peer-to-{args.network_name}",
            "remoteVirtualNetworkId": vnet.id,
            "allowVirtualNetworkAccess": True,
            "allowForwardedTraffic": True,
            "allowGatewayTransit": hub.use_remote_gateways,
        }
        if not hub.hub_side_managed:
            self.hub_peering_request = back
            return
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
        network.VirtualNetworkPeering(
            f"{name}-peering-from-hub",
            virtual_network_peering_name=back["peeringName"],
            virtual_network_name=hub_name,
            resource_group_name=hub_group,
            remote_virtual_network=network.SubResourceArgs(id=vnet.id),
            allow_virtual_network_access=True,
            allow_forwarded_traffic=True,
            allow_gateway_transit=hub.use_remote_gateways,  # the hub offers its gateway when asked to
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
