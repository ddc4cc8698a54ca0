"""mlinfra doctor's state backend checks (mlinfra/doctor/azure/state_backend.py) over answers shaped
like the Azure/azure-rest-api-specs examples: BlobServices_GetServiceProperties
(specification/storage/resource-manager/Microsoft.Storage/stable/2023-05-01/examples/
BlobServicesGet.json, `properties.isVersioningEnabled`), BlobContainers_Get (same folder), Keys_Get
(specification/keyvault/resource-manager/Microsoft.KeyVault/stable/2023-07-01/examples/getKey.json:
`properties.attributes.enabled`, `properties.keyOps`) and the caller's permissions
(authorization 2022-04-01 Permission: actions, notActions, dataActions, notDataActions)."""

from mlinfra.doctor.azure import state_backend as state
from mlinfra.doctor.report import CANNOT, OK, PROBLEM
from tests.doctor_answers import Answers

ARM = state.ARM
ACCOUNT = "/subscriptions/00000000-0000-0000-0000-000000000006/resourceGroups/rg-mlinfra-pulumi/providers/Microsoft.Storage/storageAccounts/stmlinfrastatee72ec"
CONTAINER = f"{ACCOUNT}/blobServices/default/containers/pulumi-state"
KEY = "/subscriptions/00000000-0000-0000-0000-000000000006/resourceGroups/rg-mlinfra-pulumi/providers/Microsoft.KeyVault/vaults/kv-mlinfra-st-e72ec/keys/pulumi-secrets"
PERMISSIONS = "/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"
BLOB_CONTRIBUTOR = {
    "actions": ["Microsoft.Storage/storageAccounts/blobServices/containers/*"],
    "notActions": [],
    "dataActions": ["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/*"],
    "notDataActions": [],
}
CRYPTO_USER = {
    "actions": [],
    "notActions": [],
    "dataActions": [
        "Microsoft.KeyVault/vaults/keys/read",
        "Microsoft.KeyVault/vaults/keys/encrypt/action",
        "Microsoft.KeyVault/vaults/keys/decrypt/action",
    ],
    "notDataActions": [],
}


def key_body(enabled=True, ops=("encrypt", "decrypt", "wrapKey", "unwrapKey"), exp=None) -> dict:
    attributes = {
        "enabled": enabled,
        "created": 1598533051,
        "updated": 1598533051,
        "recoveryLevel": "Purgeable",
    }
    if exp is not None:
        attributes["exp"] = exp
    return {
        "id": KEY,
        "name": "pulumi-secrets",
        "type": "Microsoft.KeyVault/vaults/keys",
        "properties": {"attributes": attributes, "kty": "RSA", "keyOps": list(ops), "keySize": 2048},
    }


def answers(versioning=True, blob=BLOB_CONTRIBUTOR, crypto=CRYPTO_USER, key=None, container=200) -> Answers:
    return Answers(
        {
            f"{ARM}{CONTAINER}?api-version=2023-05-01": (
                container,
                {"id": CONTAINER, "name": "pulumi-state"} if container == 200 else {},
            ),
            f"{ARM}{ACCOUNT}/blobServices/default?api-version=2023-05-01": (
                200,
                {
                    "id": f"{ACCOUNT}/blobServices/default",
                    "name": "default",
                    "properties": {
                        "deleteRetentionPolicy": {"enabled": True, "days": 30},
                        "isVersioningEnabled": versioning,
                    },
                },
            ),
            f"{ARM}{CONTAINER}{PERMISSIONS}": (200, {"value": [blob]}),
            f"{ARM}{KEY}?api-version=2023-07-01": (200, key or key_body()),
            f"{ARM}{KEY}{PERMISSIONS}": (200, {"value": [crypto]}),
        }
    )


def test_a_healthy_backend():
    results = state.all_checks(answers(), CONTAINER, KEY)
    assert [r.status for r in results] == [OK] * 5


def test_fails_when_the_container_is_missing():
    assert state.all_checks(answers(container=404), CONTAINER, None)[0].status == PROBLEM


def test_fails_when_versioning_is_off():
    result = state.all_checks(answers(versioning=False), CONTAINER, None)[1]
    assert result.status == PROBLEM and "--enable-versioning true" in result.fix


def test_fails_when_the_caller_may_read_but_not_write_blobs():
    reader = dict(
        BLOB_CONTRIBUTOR, dataActions=["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"]
    )
    result = state.all_checks(answers(blob=reader), CONTAINER, None)[2]
    assert (
        result.status == PROBLEM
        and result.detail == "not held: Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
    )


def test_fails_when_the_key_is_disabled_expired_or_cannot_decrypt():
    assert state.secrets_key(answers(key=key_body(enabled=False)), KEY)[0].detail == "disabled"
    assert state.secrets_key(answers(key=key_body(exp=100)), KEY, now=200)[0].detail == "expired"
    assert state.secrets_key(answers(key=key_body(ops=("encrypt",))), KEY)[0].detail == "keyOps lack decrypt"


def test_fails_when_not_data_actions_take_decrypt_away():
    no_decrypt = dict(CRYPTO_USER, notDataActions=["Microsoft.KeyVault/vaults/keys/decrypt/action"])
    result = state.secrets_key(answers(crypto=no_decrypt), KEY)[1]
    assert result.status == PROBLEM and result.detail.endswith("keys/decrypt/action")


def test_cannot_check_without_answers():
    assert {r.status for r in state.all_checks(Answers({}), CONTAINER, KEY)} == {CANNOT}
