"""Stack config of a stage's network exposure: public, or private through private endpoints
in a subnet (existing, or in a network the stage creates) with private DNS zones (existing
hub zones by id, or created and linked to the network)."""

import ipaddress
import re
from types import MappingProxyType
from typing import Annotated

from pydantic import AfterValidator, StrictBool, StrictStr, model_validator

from components.settings_base import Settings

PRIVATE_DNS_ZONES = MappingProxyType(
    {
        "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
        "blob": ("privatelink.blob.core.windows.net",),
        "file": ("privatelink.file.core.windows.net",),
        "vault": ("privatelink.vaultcore.azure.net",),
        "registry": ("privatelink.azurecr.io",),
    }
)
"""Private-link sub-resource (group id) -> the private DNS zones its endpoint registers in
(Azure public cloud)."""

REQUIRED_ZONES = tuple(dict.fromkeys(zone for zones in PRIVATE_DNS_ZONES.values() for zone in zones))

_SUBNET_ID = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/Microsoft\.Network/"
    r"virtualNetworks/[-\w.]+/subnets/[-\w.]+",
    re.IGNORECASE,
)
_ZONE_ID = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]+/providers/Microsoft\.Network/"
    r"privateDnsZones/(?P<zone>[a-z0-9.-]+)",
    re.IGNORECASE,
)


def _subnet_id(value: str) -> str:
    if not _SUBNET_ID.fullmatch(value):
        raise ValueError(
            "expected a subnet resource id: /subscriptions/<guid>/resourceGroups/<group>/providers/"
            "Microsoft.Network/virtualNetworks/<network>/subnets/<subnet>"
        )
    return value


def _network(value: str) -> str:
    try:
        network = ipaddress.ip_network(value)
    except ValueError:
        raise ValueError("expected an IPv4 CIDR block such as 10.20.0.0/16 (host bits zero)") from None
    if network.version != 4 or not network.is_private:
        raise ValueError("expected a private IPv4 CIDR block (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)")
    return value


Cidr = Annotated[StrictStr, AfterValidator(_network)]


class VirtualNetworkSettings(Settings):
    address_space: Cidr
    """Private IPv4 CIDR of the network the stage creates (for example 10.20.0.0/16). Required."""
    endpoint_subnet_prefix: Cidr
    """CIDR of its private-endpoint subnet, inside the address space, /28 or larger. Required."""

    @model_validator(mode="after")
    def _subnet_inside(self):
        # Both are validated IPv4 blocks (`_network`), so IPv4Network never raises here.
        space, subnet = (
            ipaddress.IPv4Network(self.address_space),
            ipaddress.IPv4Network(self.endpoint_subnet_prefix),
        )
        if not subnet.subnet_of(space):
            raise ValueError(f"endpointSubnetPrefix {subnet} is not inside addressSpace {space}")
        if subnet.prefixlen > 28:
            raise ValueError(
                f"endpointSubnetPrefix {subnet} is too small for the stage's 6 private endpoints; use /28 or larger"
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
    Default: the stage creates the zones and links them to the network."""

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
            unknown = sorted(set(self.dns_zone_ids) - set(REQUIRED_ZONES))
            if unknown:
                problems.append(f"dnsZoneIds names zones no endpoint uses: {', '.join(unknown)}")
            for zone, zone_id in sorted(self.dns_zone_ids.items()):
                match = _ZONE_ID.fullmatch(zone_id)
                if not match or match["zone"].lower() != zone.lower():
                    problems.append(
                        f"dnsZoneIds.{zone}: got {zone_id!r}; expected the id of private DNS zone {zone} "
                        f"(/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Network/privateDnsZones/{zone})"
                    )
        if problems:
            raise ValueError("; ".join(problems))
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
