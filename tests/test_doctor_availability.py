"""mlinfra doctor's SKU and feature availability (mlinfra/doctor/azure/availability.py).

VM sizes over answers shaped like ResourceSkus_List in Azure/azure-rest-api-specs
specification/compute/resource-manager/Microsoft.Compute/Skus/stable/2021-07-01/examples/skus/
ListAvailableResourceSkusForARegion.json (`value[]` of resourceType, name, tier, size, family,
locations, locationInfo, capabilities; `nextLink`), with `restrictions[]` in the shape of that
spec's ResourceSkuRestrictions (skus.json: `type` Location or Zone, `values`,
`restrictionInfo.locations` / `.zones`, `reasonCode` QuotaId or NotAvailableForSubscription),
as Microsoft Learn "Resolve errors for SKU not available" shows them. The firewall SKU is
CANNOT-CHECK: MicrosoftDocs/azure-ai-docs how-to-managed-network.md ("Select an Azure Firewall
version") has the managed network deploy it, and no spec lists firewall SKUs per region."""

from mlinfra.doctor.azure import availability
from mlinfra.doctor.report import CANNOT, OK, PROBLEM
from mlinfra.doctor.targets import Cluster, Firewall
from tests.doctor_answers import Answers

SUB = "00000000-0000-0000-0000-000000000015"
URL = availability.skus_url(SUB, "westeurope")


def sku(name: str, *restrictions: dict) -> dict:
    return {
        "resourceType": "virtualMachines",
        "locations": ["westeurope"],
        "capabilities": [{"name": "vCPUs", "value": "4"}, {"name": "MemoryGB", "value": "14"}],
        "locationInfo": [{"location": "westeurope", "zones": ["1", "2", "3"]}],
        "name": name,
        "tier": "Standard",
        "size": name.removeprefix("Standard_"),
        "family": "standardDSv2Family",
        "restrictions": list(restrictions),
    }


def restriction(kind: str, reason: str = "NotAvailableForSubscription", zones: tuple = ()) -> dict:
    info: dict = {"locations": ["westeurope"]}
    if zones:
        info["zones"] = list(zones)
    return {"type": kind, "values": ["westeurope"], "restrictionInfo": info, "reasonCode": reason}


def cluster(size: str = "Standard_DS3_v2") -> Cluster:
    return Cluster("image-builder", size, 2, False, SUB, "westeurope")


def check(*skus: dict, size: str = "Standard_DS3_v2"):
    client = Answers({URL: (200, {"value": list(skus), "nextLink": None})})
    return availability.all_checks(client, [cluster(size)], [])


def test_the_url_filters_on_the_region_as_the_spec_example_does():
    assert URL.endswith(
        "/providers/Microsoft.Compute/skus?api-version=2021-07-01&$filter=location%20eq%20%27westeurope%27"
    )


def test_an_unrestricted_size_is_available():
    [result] = check(sku("Standard_DS3_v2"))
    assert result.status == OK and result.detail == "available in westeurope"


def test_a_zone_restriction_leaves_a_regional_cluster_available():
    [result] = check(sku("Standard_DS3_v2", restriction("Zone", zones=("1",))))
    assert result.status == OK and "zone(s) 1" in result.detail


def test_fails_when_the_size_is_restricted_for_the_subscription_in_the_region():
    [result] = check(sku("Standard_DS3_v2", restriction("Location")))
    assert result.status == PROBLEM and "NotAvailableForSubscription" in result.detail
    assert "Standard_DS3_v2" in result.fix and "vmSize" in result.fix
    [quota] = check(sku("Standard_DS3_v2", restriction("Location", "QuotaId")))
    assert quota.status == PROBLEM and "QuotaId" in quota.detail


def test_a_restriction_elsewhere_does_not_count():
    elsewhere = {
        "type": "Location",
        "values": ["eastus"],
        "restrictionInfo": {"locations": ["eastus"]},
        "reasonCode": "NotAvailableForSubscription",
    }
    assert [r.status for r in check(sku("Standard_DS3_v2", elsewhere))] == [OK]


def test_fails_when_the_region_lists_no_such_size():
    [result] = check(sku("Standard_DS2_v2"))
    assert result.status == PROBLEM and "lists no virtualMachines SKU Standard_DS3_v2" in result.detail


def test_a_size_on_a_later_page_is_found():
    later = f"{URL}&page=2"
    client = Answers(
        {
            URL: (200, {"value": [sku("Standard_DS2_v2")], "nextLink": later}),
            later: (200, {"value": [sku("Standard_DS3_v2")], "nextLink": None}),
        }
    )
    assert [r.status for r in availability.all_checks(client, [cluster()], [])] == [OK]


def test_cannot_check_without_an_answer():
    assert [r.status for r in availability.all_checks(Answers({}), [cluster()], [])] == [CANNOT]


def test_the_firewall_sku_is_cannot_check_with_the_reason_and_asks_nothing():
    client = Answers({})
    [result] = availability.all_checks(client, [], [("qa", Firewall("mlw", "Basic", 5, "westeurope"))])
    assert result.status == CANNOT and "no documented API" in result.detail and "Basic" in result.subject
    assert client.asked == []
