"""mlinfra doctor's name checks (mlinfra/doctor/azure/names.py) over recorded answers shaped like the
Azure/azure-rest-api-specs examples:
- Vaults_GetDeleted: specification/keyvault/resource-manager/Microsoft.KeyVault/stable/2023-07-01/
  examples/listDeletedVaults.json (one item of `value`: id, name, type, properties.vaultId,
  location, deletionDate, scheduledPurgeDate, purgeProtectionEnabled);
- Vaults_CheckNameAvailability: .../Microsoft.KeyVault/stable/2023-02-01/examples/
  checkVaultNameAvailability.json (request `{name, type: Microsoft.KeyVault/vaults}`, answer
  `{nameAvailable}`);
- StorageAccounts_CheckNameAvailability: specification/storage/resource-manager/Microsoft.Storage/
  stable/2023-05-01/examples/StorageAccountCheckNameAvailability.json;
- Registries_CheckNameAvailability: specification/containerregistry/resource-manager/
  Microsoft.ContainerRegistry/stable/2023-07-01/examples/RegistryCheckNameAvailable.json and
  RegistryCheckNameNotAvailable.json (`nameAvailable: false, reason: AlreadyExists, message`).
"""

import pytest

from mlinfra.doctor.azure import names
from mlinfra.doctor.report import CANNOT, OK, PROBLEM
from mlinfra.doctor.targets import PlannedName
from tests.doctor_answers import Answers, post_key

ARM = names.ARM
SUB = "00000000-0000-0000-0000-000000000012"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-churn-dev-weu/providers"
STACK = "qa"
"""A stack label; the checks only print it (not a catalog stage, so no stage is named here)."""


def planned(kind: str, name: str, path: str) -> PlannedName:
    return PlannedName(kind, name, SUB, "westeurope", f"{RG}/{path}/{name}")


VAULT = planned("key vault", "kvchurndevla167", "Microsoft.KeyVault/vaults")
STORAGE = planned("storage account", "stchurndevla167", "Microsoft.Storage/storageAccounts")
REGISTRY = planned("container registry", "crchurndevla167", "Microsoft.ContainerRegistry/registries")
WORKSPACE = planned("AML workspace", "mlw-churn-dev-weu", "Microsoft.MachineLearningServices/workspaces")
NOT_FOUND = (
    404,
    {
        "error": {
            "code": "ResourceGroupNotFound",
            "message": "Resource group 'rg-churn-dev-weu' could not be found.",
        }
    },
)
DELETED_URL = (
    f"{ARM}/subscriptions/{SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/"
    f"kvchurndevla167?api-version=2023-07-01"
)


def _get(p: PlannedName) -> str:
    return f"{ARM}{p.arm_id}?api-version={names.API[p.kind][0]}"


def _check(p: PlannedName) -> tuple[str, dict]:
    version, namespace, kind = names.API[p.kind]
    url = f"{ARM}/subscriptions/{SUB}/providers/{namespace}/checkNameAvailability?api-version={version}"
    return url, {"name": p.name, "type": kind}


def _deleted(purge_protection: bool) -> dict:
    return {
        "id": f"/subscriptions/{SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kvchurndevla167",
        "name": "kvchurndevla167",
        "type": "Microsoft.KeyVault/deletedVaults",
        "properties": {
            "vaultId": f"{RG}/Microsoft.KeyVault/vaults/kvchurndevla167",
            "location": "westeurope",
            "tags": {},
            "deletionDate": "2026-12-01T09:12:44Z",
            "scheduledPurgeDate": "2026-12-08T09:12:44Z",
            "purgeProtectionEnabled": purge_protection,
        },
    }


def test_a_free_vault_name_is_ok_after_all_three_calls():
    client = Answers(
        {
            _get(VAULT): NOT_FOUND,
            DELETED_URL: (404, {"error": {"code": "DeletedVaultNotFound"}}),
            post_key(*_check(VAULT)): (200, {"nameAvailable": True}),
        }
    )
    result = names.check(client, VAULT, STACK)
    assert result.status == OK and result.detail == "free"
    assert [m for m, _, _ in client.asked] == ["GET", "GET", "POST"]


def test_fails_when_a_soft_deleted_vault_holds_the_name_and_the_fix_purges_or_rotates_the_suffix():
    client = Answers({_get(VAULT): NOT_FOUND, DELETED_URL: (200, _deleted(False))})
    result = names.check(client, VAULT, STACK)
    assert result.status == PROBLEM and "soft-deleted" in result.detail and "2026-12-08" in result.detail
    assert "az keyvault purge --name kvchurndevla167 --location westeurope" in result.fix
    assert f"mlinfra:uniqueSuffix in Pulumi.{STACK}.yaml" in result.fix


def test_fails_when_purge_protection_keeps_the_name_and_only_the_suffix_helps():
    client = Answers({_get(VAULT): NOT_FOUND, DELETED_URL: (200, _deleted(True))})
    result = names.check(client, VAULT, STACK)
    assert result.status == PROBLEM and result.fix.startswith("purge protection keeps it until 2026-12-08")
    assert "az keyvault purge" not in result.fix and "uniqueSuffix" in result.fix


def test_fails_when_another_subscription_holds_a_global_name():
    taken = {
        "nameAvailable": False,
        "reason": "AlreadyExists",
        "message": "The registry crchurndevla167 is already in use.",
    }
    client = Answers({_get(REGISTRY): NOT_FOUND, post_key(*_check(REGISTRY)): (200, taken)})
    result = names.check(client, REGISTRY, STACK)
    assert result.status == PROBLEM and result.detail.startswith("AlreadyExists: The registry")
    assert "uniqueSuffix" in result.fix


@pytest.mark.parametrize("planned_name", [VAULT, STORAGE, REGISTRY, WORKSPACE])
def test_a_name_the_stage_already_holds_is_its_own(planned_name):
    client = Answers({_get(planned_name): (200, {"id": planned_name.arm_id, "name": planned_name.name})})
    result = names.check(client, planned_name, STACK)
    assert result.status == OK and "the stage's own" in result.detail
    assert len(client.asked) == 1  # no availability question for a name the stage holds


def test_storage_name_free_and_taken():
    url, body = _check(STORAGE)
    assert body == {"name": "stchurndevla167", "type": "Microsoft.Storage/storageAccounts"}
    free = Answers({_get(STORAGE): NOT_FOUND, post_key(url, body): (200, {"nameAvailable": True})})
    taken = Answers(
        {
            _get(STORAGE): NOT_FOUND,
            post_key(url, body): (
                200,
                {
                    "nameAvailable": False,
                    "reason": "AlreadyExists",
                    "message": "The storage account named stchurndevla167 is already taken.",
                },
            ),
        }
    )
    assert names.check(free, STORAGE, STACK).status == OK
    assert names.check(taken, STORAGE, STACK).status == PROBLEM


def test_an_aml_workspace_name_is_cannot_check_when_no_live_workspace_holds_it():
    result = names.check(Answers({_get(WORKSPACE): NOT_FOUND}), WORKSPACE, STACK)
    assert result.status == CANNOT and "soft-deleted" in result.detail


def test_cannot_check_when_arm_refuses():
    assert (
        names.check(
            Answers({_get(STORAGE): (403, {"error": {"code": "AuthorizationFailed"}})}), STORAGE, STACK
        ).status
        == CANNOT
    )
    assert (
        names.check(Answers({_get(VAULT): NOT_FOUND, DELETED_URL: (403, {})}), VAULT, STACK).status == CANNOT
    )
