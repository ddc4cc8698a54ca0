"""The vendored Azure built-in role definitions (mlinfra/facts/data/builtin_roles.json).

Every definition was copied from easimon/azure-builtin-roles, a scheduled archive of
`az role definition list` (built-in roles only, one file per role under azure-roles/);
each role's `source` names the file and the commit it was copied at.
"""

import json
from pathlib import Path

import pytest

from bootstrap.rbac import KEY_VAULT_CRYPTO_USER
from mlinfra.facts.roles import ROLES

DATA = Path(__file__).resolve().parent.parent / "mlinfra" / "facts" / "data" / "builtin_roles.json"
LISTS = ("actions", "notActions", "dataActions", "notDataActions")


@pytest.fixture(scope="module")
def data():
    return json.loads(DATA.read_text(encoding="utf-8"))


def _permission(data, guid):
    permissions = data["roles"][guid]["permissions"]
    assert len(permissions) == 1
    return permissions[0]


@pytest.mark.parametrize("role", [*ROLES.values(), KEY_VAULT_CRYPTO_USER], ids=lambda role: role.name)
def test_every_catalog_role_is_vendored_under_its_name(data, role):
    assert role.guid in data["roles"]
    assert data["roles"][role.guid]["roleName"] == role.name


def test_shape(data):
    assert set(data) >= {"source", "retrieved", "note", "roles"}
    for guid, role in data["roles"].items():
        assert guid == guid.lower() and len(guid) == 36
        assert set(role) == {"roleName", "source", "permissions"}
        assert role["roleName"] and role["source"].startswith("easimon/azure-builtin-roles:azure-roles/")
        assert role["permissions"]
        for permission in role["permissions"]:
            assert set(permission) == set(LISTS)
            for key in LISTS:
                assert all(isinstance(item, str) and item for item in permission[key])


def test_role_names_are_unique(data):
    names = [role["roleName"] for role in data["roles"].values()]
    assert len(names) == len(set(names))


def test_contributor_cannot_write_or_delete_authorization(data):
    """easimon/azure-builtin-roles:azure-roles/Contributor.json@39662a6264d76f93ffcb27bed88934d1cabb4493"""
    permission = _permission(data, ROLES["Contributor"].guid)
    assert permission["actions"] == ["*"]
    assert permission["notActions"] == [
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action",
        "Microsoft.Blueprint/blueprintAssignments/write",
        "Microsoft.Blueprint/blueprintAssignments/delete",
        "Microsoft.Compute/galleries/share/action",
        "Microsoft.Purview/consents/write",
        "Microsoft.Purview/consents/delete",
        "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
        "Microsoft.Subscription/cancel/action",
        "Microsoft.Subscription/enable/action",
    ]
    assert permission["dataActions"] == [] and permission["notDataActions"] == []


def test_reader_reads_everything(data):
    """easimon/azure-builtin-roles:azure-roles/Reader.json@0c1cccca483d489c011deef777ee9fd97fb6274d"""
    assert _permission(data, ROLES["Reader"].guid) == {
        "actions": ["*/read"],
        "notActions": [],
        "dataActions": [],
        "notDataActions": [],
    }


def test_rbac_administrator_writes_role_assignments(data):
    """easimon/azure-builtin-roles:azure-roles/Role Based Access Control Administrator.json@4f31c277b045794102b9dd249725ace47baef2cf"""
    permission = _permission(data, ROLES["Role Based Access Control Administrator"].guid)
    assert permission["actions"] == [
        "Microsoft.Authorization/roleAssignments/write",
        "Microsoft.Authorization/roleAssignments/delete",
        "*/read",
        "Microsoft.Support/*",
    ]


def test_storage_blob_data_contributor_blob_data_actions(data):
    """easimon/azure-builtin-roles:azure-roles/Storage Blob Data Contributor.json@2f8e4fb58e079aea50a924485c87abac4365892d"""
    permission = _permission(data, ROLES["Storage Blob Data Contributor"].guid)
    assert permission["dataActions"] == [
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    ]
    assert (
        "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action"
        in (permission["actions"])
    )


def test_key_vault_crypto_user_key_data_actions(data):
    """easimon/azure-builtin-roles:azure-roles/Key Vault Crypto User.json@c51210ce4e866c0a31eb93e5583a70c600373cd0"""
    permission = _permission(data, KEY_VAULT_CRYPTO_USER.guid)
    assert permission["actions"] == []
    assert permission["dataActions"] == [
        "Microsoft.KeyVault/vaults/keys/read",
        "Microsoft.KeyVault/vaults/keys/update/action",
        "Microsoft.KeyVault/vaults/keys/backup/action",
        "Microsoft.KeyVault/vaults/keys/encrypt/action",
        "Microsoft.KeyVault/vaults/keys/decrypt/action",
        "Microsoft.KeyVault/vaults/keys/wrap/action",
        "Microsoft.KeyVault/vaults/keys/unwrap/action",
        "Microsoft.KeyVault/vaults/keys/sign/action",
        "Microsoft.KeyVault/vaults/keys/verify/action",
    ]
