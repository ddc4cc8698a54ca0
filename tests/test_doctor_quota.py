"""mlinfra doctor's AML compute quota (mlinfra/doctor/azure/quota.py) over answers shaped like the spec
examples of machine learning services 2024-04-01 in Azure/azure-rest-api-specs:
specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/stable/
2024-04-01/examples/VirtualMachineSize/list.json (`value[]`: name, family `standardDSv2Family`,
vCPUs) and .../examples/Usage/list.json (`value[]`: id ending
`Standard_DSv2_Family_Cluster_Dedicated_vCPUs`, type `Microsoft.MachineLearningServices/vmFamily/
usages`, currentValue, limit; the regional `dedicatedCores/usages` total). AML clusters count
against this quota, not Microsoft.Compute's."""

from mlinfra.doctor.azure import quota
from mlinfra.doctor.report import CANNOT, OK, PROBLEM
from mlinfra.doctor.targets import Cluster
from tests.doctor_answers import Answers

SUB = "00000000-0000-0000-0000-000000000015"
BASE = f"{quota.ARM}/subscriptions/{SUB}/providers/Microsoft.MachineLearningServices/locations/westeurope"
SIZES = {
    "value": [
        {
            "name": "Standard_DS3_v2",
            "family": "standardDSv2Family",
            "vCPUs": 4,
            "gpus": 0,
            "supportedComputeTypes": ["AmlCompute"],
        },
        {
            "name": "Standard_DS4_v2",
            "family": "standardDSv2Family",
            "vCPUs": 8,
            "gpus": 0,
            "supportedComputeTypes": ["AmlCompute"],
        },
    ]
}


def usages(family_used: int, family_limit: int = 24, total_used: int = 2, total_limit: int = 100) -> dict:
    return {
        "value": [
            {
                "id": f"/subscriptions/{SUB}/usages",
                "type": "Microsoft.MachineLearningServices/dedicatedCores/usages",
                "currentValue": total_used,
                "limit": total_limit,
                "name": {"value": "Total Cluster Dedicated Regional vCPUs"},
                "unit": "Count",
            },
            {
                "id": f"/subscriptions/{SUB}/usages/Standard_DSv2_Family_Cluster_Dedicated_vCPUs",
                "type": "Microsoft.MachineLearningServices/vmFamily/usages",
                "currentValue": family_used,
                "limit": family_limit,
                "name": {"value": "Standard DSv2 Family Cluster Dedicated vCPUs"},
                "unit": "Count",
            },
            {
                # A workspace's share of the same family: not the subscription's quota, ignored.
                "id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/w/usages/Standard_DSv2_Family_Cluster_Dedicated_vCPUs",
                "type": "Microsoft.MachineLearningServices/workspaces/usages",
                "currentValue": 0,
                "limit": 1000,
                "name": {"value": "Standard DSv2 Family Cluster Dedicated vCPUs"},
                "unit": "Count",
            },
        ]
    }


def cluster(name="image-builder", size="Standard_DS3_v2", nodes=2) -> Cluster:
    return Cluster(name, size, nodes, False, SUB, "westeurope")


def answers(body: dict) -> Answers:
    return Answers(
        {
            f"{BASE}/vmSizes?api-version=2024-04-01": (200, SIZES),
            f"{BASE}/usages?api-version=2024-04-01": (200, body),
        }
    )


def test_usage_id_follows_the_family_name():
    assert quota.usage_id("standardDSv2Family", False) == "Standard_DSv2_Family_Cluster_Dedicated_vCPUs"
    assert quota.usage_id("standardNCv3Family", True) == "Standard_NCv3_Family_Cluster_LowPriority_vCPUs"


def test_clusters_within_the_family_and_regional_quota():
    results = quota.all_checks(answers(usages(2)), [cluster()])
    assert [r.status for r in results] == [OK, OK]
    assert "needs 8 vCPUs, 22 of 24 free" in results[0].detail


def test_fails_when_the_family_quota_is_used_up_counting_every_cluster_of_the_family():
    # 2 x 4 + 1 x 8 = 16 vCPUs of DSv2 against 10 free: neither alone would fail
    results = quota.all_checks(answers(usages(14)), [cluster(), cluster("train", "Standard_DS4_v2", 1)])
    family = results[0]
    assert family.status == PROBLEM and "needs 16 vCPUs, 10 of 24 free" in family.detail
    assert "image-builder" in family.subject and "train" in family.subject and "maxNodes" in family.fix


def test_fails_when_the_regional_total_is_used_up():
    results = quota.all_checks(answers(usages(2, total_used=95)), [cluster()])
    assert [r.status for r in results] == [OK, PROBLEM]


def test_fails_when_the_size_is_not_offered_to_aml_compute():
    [result, *_] = quota.all_checks(answers(usages(2)), [cluster(size="Standard_XYZ")])
    assert result.status == PROBLEM and "not offered" in result.detail


def test_cannot_check_without_an_answer():
    assert [r.status for r in quota.all_checks(Answers({}), [cluster()])] == [CANNOT]
