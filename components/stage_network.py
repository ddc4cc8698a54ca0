"""`StageNetwork` and `private_endpoint`: how a private stage is reached.

`StageNetwork` provides the subnet the private endpoints go into (an existing one, or a
network it creates) and the private DNS zones they register in (existing hub zones, or
zones it creates and links to that network). `private_endpoint` puts one sub-resource of a
resource into the subnet with its DNS zone group, so its name resolves privately (ML-2).
"""

# Annotations stay unevaluated, so a public stage never loads the (large) network SDK modules.
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, privatedns

from components.network_settings import (
    PRIVATE_DNS_ZONES,
    REQUIRED_ZONES,
    PrivateEndpointSettings,
)

ENDPOINT_SUBNET = "snet-private-endpoints"


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


class StageNetwork(pulumi.ComponentResource):
    link: PrivateLink

    def __init__(self, name: str, args: StageNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:StageNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        tags = dict(args.tags)
        if settings.virtual_network is not None:
            vnet = network.VirtualNetwork(
                f"{name}-vnet",
                virtual_network_name=args.network_name,
                resource_group_name=args.resource_group_name,
                location=args.location,
                address_space=network.AddressSpaceArgs(
                    address_prefixes=[settings.virtual_network.address_space]
                ),
                subnets=[
                    network.SubnetArgs(
                        name=ENDPOINT_SUBNET,
                        address_prefix=settings.virtual_network.endpoint_subnet_prefix,
                        private_endpoint_network_policies="Disabled",
                    )
                ],
                tags=tags,
                opts=child,
            )
            network_id: pulumi.Input[str] = vnet.id
            subnet_id: pulumi.Input[str] = vnet.id.apply(
                lambda vnet_id: f"{vnet_id}/subnets/{ENDPOINT_SUBNET}"
            )
        elif settings.subnet_id is not None:
            subnet_id = settings.subnet_id
            network_id = settings.subnet_id.rsplit("/subnets/", 1)[0]
        else:  # PrivateEndpointSettings validates that exactly one of the two is set
            raise ValueError("privateEndpoints needs either subnetId or virtualNetwork")

        if settings.dns_zone_ids is not None:
            zone_ids: dict[str, pulumi.Input[str]] = dict(settings.dns_zone_ids)
        else:
            zone_ids = {}
            for zone_name in REQUIRED_ZONES:
                zone = privatedns.PrivateZone(
                    f"{name}-zone-{zone_name}",
                    private_zone_name=zone_name,
                    resource_group_name=args.resource_group_name,
                    location="global",  # private DNS zones are global resources
                    tags=tags,
                    opts=child,
                )
                privatedns.VirtualNetworkLink(
                    f"{name}-zone-{zone_name}-link",
                    private_zone_name=zone.name,
                    virtual_network_link_name=f"link-{args.network_name}",
                    virtual_network=privatedns.SubResourceArgs(id=network_id),
                    registration_enabled=False,
                    resource_group_name=args.resource_group_name,
                    location="global",
                    tags=tags,
                    opts=child,
                )
                zone_ids[zone_name] = zone.id
        self.link = PrivateLink(subnet_id, zone_ids, args.location, args.resource_group_name, args.tags)
        self.register_outputs({})


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
