"""Compute quota for the stage's AML compute clusters, per VM family and region.

AML compute clusters count against Azure Machine Learning's own quota, not Microsoft.Compute's:
`GET /subscriptions/{s}/providers/Microsoft.MachineLearningServices/locations/{loc}/usages`
lists, per family, "Standard DSv2 Family Cluster Dedicated vCPUs" (type `.../vmFamily/usages`,
id ending `Standard_DSv2_Family_Cluster_Dedicated_vCPUs`) and the regional totals ("Total Cluster
Dedicated Regional vCPUs", type `.../dedicatedCores/usages`; `.../lowPriorityCores/usages` for
low priority), each with `currentValue` and `limit` (-1: no family limit).
`GET .../locations/{loc}/vmSizes` gives each size's `family` (`standardDSv2Family`) and `vCPUs`.
Both at machine learning services 2024-04-01 (spec examples Usage/list.json and
VirtualMachineSize/list.json, cited in tests/test_doctor_quota.py). A cluster at `maxNodeCount`
needs `maxNodeCount * vCPUs` of its family's and of the region's quota.
"""

from __future__ import annotations

from collections import defaultdict

from mlinfra.doctor.http import Client
from mlinfra.doctor.report import OK, PROBLEM, Result, cannot
from mlinfra.doctor.targets import Cluster

ARM = "https://management.azure.com"
VERSION = "2024-04-01"
CHECK = "compute quota"


def usage_id(family: str, low_priority: bool) -> str:
    """`standardDSv2Family` -> `Standard_DSv2_Family_Cluster_Dedicated_vCPUs`."""
    core = family.removeprefix("standard").removesuffix("Family")
    tier = "LowPriority" if low_priority else "Dedicated"
    return f"Standard_{core}_Family_Cluster_{tier}_vCPUs"


def _fix(location: str, what: str) -> str:
    return (
        f"request more {what} in {location} (Azure portal: Azure Machine Learning, Quotas; or "
        "az ml compute list-usage / a support request), or lower the cluster's maxNodes"
    )


def region(client: Client, subscription: str, location: str, clusters: list[Cluster]) -> list[Result]:
    base = (
        f"{ARM}/subscriptions/{subscription}/providers/Microsoft.MachineLearningServices/locations/{location}"
    )
    where = f"{location} in subscription {subscription}"
    sizes = client.get(f"{base}/vmSizes?api-version={VERSION}")
    if sizes.status != 200:
        return [cannot(CHECK, where, sizes.status, sizes.body)]
    usages = client.get(f"{base}/usages?api-version={VERSION}")
    if usages.status != 200:
        return [cannot(CHECK, where, usages.status, usages.body)]
    by_size = {str(s.get("name", "")).lower(): s for s in sizes.body.get("value", [])}
    by_id = {
        str(u.get("id", "")).rsplit("/", 1)[-1].lower(): u
        for u in usages.body.get("value", [])
        if str(u.get("type", "")).endswith("vmFamily/usages")
    }
    totals = {
        str(u.get("type", "")).rsplit("/", 2)[-2]: u
        for u in usages.body.get("value", [])
        if str(u.get("type", "")).endswith(("dedicatedCores/usages", "lowPriorityCores/usages"))
    }
    results = []
    needed: dict[tuple[str, bool], int] = defaultdict(int)
    regional: dict[bool, int] = defaultdict(int)
    names: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for cluster in clusters:
        size = by_size.get(cluster.vm_size.lower())
        subject = f"{cluster.name} ({cluster.vm_size} x {cluster.max_nodes}) in {where}"
        if size is None:
            results.append(
                Result(
                    CHECK,
                    subject,
                    PROBLEM,
                    f"{cluster.vm_size} is not offered to AML compute in {location}",
                    "pick a size from az ml compute list-sizes --location " + location,
                )
            )
            continue
        key = (str(size.get("family", "")), cluster.low_priority)
        needed[key] += int(size.get("vCPUs") or 0) * cluster.max_nodes
        regional[cluster.low_priority] += int(size.get("vCPUs") or 0) * cluster.max_nodes
        names[key].append(subject)
    for (family, low), vcpus in sorted(needed.items()):
        usage = by_id.get(usage_id(family, low).lower())
        subject = f"{family} ({', '.join(names[(family, low)])})"
        if usage is None:
            results.append(
                Result(
                    CHECK,
                    subject,
                    PROBLEM,
                    f"no {usage_id(family, low)} quota listed",
                    _fix(location, family),
                )
            )
            continue
        limit, used = int(usage.get("limit", 0)), int(usage.get("currentValue", 0))
        if limit >= 0 and used + vcpus > limit:
            results.append(
                Result(
                    CHECK,
                    subject,
                    PROBLEM,
                    f"needs {vcpus} vCPUs, {limit - used} of {limit} free",
                    _fix(location, f"{family} vCPUs"),
                )
            )
        else:
            free = "no family limit" if limit < 0 else f"{limit - used} of {limit} free"
            results.append(Result(CHECK, subject, OK, f"needs {vcpus} vCPUs, {free}"))
    for low, vcpus in sorted(regional.items()):
        total = totals.get("lowPriorityCores" if low else "dedicatedCores")
        label = f"regional {'low-priority' if low else 'dedicated'} vCPUs in {where}"
        if total is None:
            continue  # the family quota above already decided; ARM lists the total with it
        limit, used = int(total.get("limit", 0)), int(total.get("currentValue", 0))
        if limit >= 0 and used + vcpus > limit:
            results.append(
                Result(
                    CHECK,
                    label,
                    PROBLEM,
                    f"needs {vcpus} vCPUs, {limit - used} of {limit} free",
                    _fix(location, "regional vCPUs"),
                )
            )
        else:
            free = "no regional limit" if limit < 0 else f"{limit - used} of {limit} free"
            results.append(Result(CHECK, label, OK, f"needs {vcpus} vCPUs, {free}"))
    return results


def all_checks(client: Client, clusters: list[Cluster]) -> list[Result]:
    grouped: dict[tuple[str, str], list[Cluster]] = defaultdict(list)
    for cluster in clusters:
        grouped[(cluster.subscription, cluster.location)].append(cluster)
    results: list[Result] = []
    for (subscription, location), members in sorted(grouped.items()):
        results += region(client, subscription, location, members)
    return results
