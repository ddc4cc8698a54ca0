"""SKU and feature availability in a stage's region: may the subscription use its clusters' VM
sizes there, and can the managed network's firewall SKU be had?

VM sizes: `GET /subscriptions/{s}/providers/Microsoft.Compute/skus?api-version=2021-07-01&$filter=
location eq '<region>'` (ResourceSkus_List, Azure/azure-rest-api-specs specification/compute/
resource-manager/Microsoft.Compute/Skus/stable/2021-07-01/skus.json; further pages through
`nextLink`). A `virtualMachines` SKU lists `restrictions[]`, each with `type` (`Location` or
`Zone`), `reasonCode` (`NotAvailableForSubscription` or `QuotaId`), `values` and
`restrictionInfo.locations` / `.zones` (the spec's ResourceSkuRestrictions). A `Location`
restriction in the region is what a create meets as SkuNotAvailable (Microsoft Learn, "Resolve
errors for SKU not available"); a `Zone` restriction only closes some zones, and an AML cluster
names no zone. A size the region does not list at all is not offered there.

The firewall is CANNOT-CHECK: Azure Machine Learning deploys it into the workspace's managed
virtual network when the first FQDN rule is provisioned (MicrosoftDocs/azure-ai-docs
how-to-managed-network.md, "Select an Azure Firewall version"), not into a subscription doctor can
ask; Resource SKUs covers Microsoft.Compute resource types only, and Microsoft.Network's spec
(azureFirewall.json) has no SKU-availability operation for azureFirewalls.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import quote

from mlinfra.doctor.http import Client
from mlinfra.doctor.report import CANNOT, OK, PROBLEM, Result, cannot
from mlinfra.doctor.targets import Cluster, Firewall

ARM = "https://management.azure.com"
VERSION = "2021-07-01"
CHECK = "VM size availability"
FIREWALL_CHECK = "firewall SKU availability"
MAX_PAGES = 20
FIREWALL_REASON = (
    "no documented API says whether a managed network gets Azure Firewall {sku} in {location}: Azure "
    "Machine Learning deploys it into the workspace's managed virtual network when the first FQDN rule is "
    "provisioned (how-to-managed-network, 'Select an Azure Firewall version'); Resource SKUs lists "
    "Microsoft.Compute SKUs only and Microsoft.Network has no SKU list for azureFirewalls. A refused SKU "
    "shows at `az ml workspace provision-network`"
)


def skus_url(subscription: str, location: str) -> str:
    where = quote(f"location eq '{location}'")
    return f"{ARM}/subscriptions/{subscription}/providers/Microsoft.Compute/skus?api-version={VERSION}&$filter={where}"


def _in(location: str, restriction: dict) -> bool:
    info = restriction.get("restrictionInfo") or {}
    places = [*(info.get("locations") or ()), *(restriction.get("values") or ())]
    return not places or location.lower() in {str(p).lower() for p in places}


def _size(cluster: Cluster, sku: dict | None) -> Result:
    where = f"{cluster.location} in subscription {cluster.subscription}"
    subject = f"{cluster.name} ({cluster.vm_size}) in {where}"
    if sku is None:
        return Result(
            CHECK,
            subject,
            PROBLEM,
            f"Resource SKUs lists no virtualMachines SKU {cluster.vm_size} in {cluster.location}",
            f"pick a vmSize that az vm list-skus --location {cluster.location} --size {cluster.vm_size} lists",
        )
    restrictions = [r for r in sku.get("restrictions") or () if _in(cluster.location, r)]
    blocked = [r for r in restrictions if r.get("type") == "Location"]
    if blocked:
        reasons = ", ".join(sorted({str(r.get("reasonCode") or "restricted") for r in blocked}))
        return Result(
            CHECK,
            subject,
            PROBLEM,
            f"restricted for this subscription in {cluster.location} ({reasons}): creating the cluster's nodes "
            "fails with SkuNotAvailable",
            f"ask Azure support for {cluster.vm_size} in {cluster.location} (a region or SKU access request, "
            "Learn 'Resolve errors for SKU not available'), or pick another vmSize",
        )
    zones = sorted(
        {
            str(z)
            for r in restrictions
            if r.get("type") == "Zone"
            for z in (r.get("restrictionInfo") or {}).get("zones") or ()
        }
    )
    if zones:
        return Result(
            CHECK,
            subject,
            OK,
            f"available; restricted in zone(s) {', '.join(zones)} only, and an AML cluster names no zone",
        )
    return Result(CHECK, subject, OK, f"available in {cluster.location}")


def region(client: Client, subscription: str, location: str, clusters: list[Cluster]) -> list[Result]:
    """One ResourceSkus_List per subscription and region, then one result per cluster."""
    url: str | None = skus_url(subscription, location)
    skus: dict[str, dict] = {}
    for _ in range(MAX_PAGES):
        if url is None:
            break
        reply = client.get(url)
        if reply.status != 200:
            return [
                cannot(CHECK, f"{c.name} ({c.vm_size}) in {location}", reply.status, reply.body)
                for c in clusters
            ]
        for sku in reply.body.get("value") or ():
            if sku.get("resourceType") == "virtualMachines":
                skus[str(sku.get("name", "")).lower()] = sku
        url = reply.body.get("nextLink")
    return [_size(c, skus.get(c.vm_size.lower())) for c in clusters]


def firewall(stack: str, planned: Firewall) -> Result:
    return Result(
        FIREWALL_CHECK,
        f"{stack}: Azure Firewall {planned.sku} of {planned.workspace} ({planned.fqdn_rules} FQDN rule(s)) in "
        f"{planned.location}",
        CANNOT,
        FIREWALL_REASON.format(sku=planned.sku, location=planned.location),
    )


def all_checks(
    client: Client, clusters: list[Cluster], firewalls: list[tuple[str, Firewall]]
) -> list[Result]:
    """`firewalls`: (stack, its workspace's firewall) for each workspace with FQDN rules."""
    grouped: dict[tuple[str, str], list[Cluster]] = defaultdict(list)
    for cluster in clusters:
        grouped[(cluster.subscription, cluster.location)].append(cluster)
    results: list[Result] = []
    for (subscription, location), members in sorted(grouped.items()):
        results += region(client, subscription, location, members)
    results += [firewall(stack, planned) for stack, planned in firewalls]
    return results
