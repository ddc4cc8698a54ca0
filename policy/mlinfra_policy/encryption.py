"""Encryption with the organization's own key (ML-4) where the stage catalog requires it
(`customerManagedKeys: true`; docs/encryption.md).

The stage's config already refuses such a stage without `encryption.customerManagedKey`; this is the
second line, at preview time, over what the program actually registers: a workspace encrypted with
a key of a key vault through a user-assigned identity, its storage account on a Key Vault key, and
its registry with encryption enabled. Wire names are azure-native's (`machinelearningservices.
Workspace` `encryption.status` "Enabled"; `storage.StorageAccount` `encryption.keySource`
"Microsoft.Keyvault"; `containerregistry.Registry` `encryption.status` "enabled", lowercase).
"""

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs, ResourceValidationPolicy

from mlinfra_policy.common import CONFIG_SCHEMA, CUSTOMER_MANAGED_KEYS, get, with_relaxations

WORKSPACE = "azure-native:machinelearningservices:Workspace"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
REGISTRY = "azure-native:containerregistry:Registry"


def _workspace(props: Mapping[str, Any]):
    if get(props, "encryption", "status") != "Enabled":
        yield f"encryption.status is {get(props, 'encryption', 'status')!r}; must be 'Enabled' with a key of the stage's key vault (ML-4)"
    elif not get(props, "encryption", "keyVaultProperties", "keyVaultArmId"):
        yield "encryption.keyVaultProperties.keyVaultArmId is not set; the key must come from a key vault (ML-4)"
    if get(props, "encryption", "status") == "Enabled" and not get(
        props, "encryption", "identity", "userAssignedIdentity"
    ):
        yield "encryption.identity.userAssignedIdentity is not set; the key is read with a user-assigned identity (ML-4)"


def _storage(props: Mapping[str, Any]):
    source = get(props, "encryption", "keySource")
    if str(source).lower() != "microsoft.keyvault":
        yield f"encryption.keySource is {source!r}; must be 'Microsoft.Keyvault' (ML-4)"


def _registry(props: Mapping[str, Any]):
    status = get(props, "encryption", "status")
    if str(status).lower() != "enabled":
        yield f"encryption.status is {status!r}; must be 'enabled' with a customer-managed key (ML-4)"


CHECKS = {WORKSPACE: _workspace, STORAGE_ACCOUNT: _storage, REGISTRY: _registry}


def _validate(args: ResourceValidationArgs, report_violation) -> None:
    check = CHECKS.get(args.resource_type)
    if check is None:
        return
    config = args.get_config()
    if config.get(CUSTOMER_MANAGED_KEYS) is not True:
        return
    for message in check(args.props):
        report_violation(with_relaxations(message, config), None)


POLICIES = [
    ResourceValidationPolicy(
        name="customer-managed-keys",
        description="Where the stage catalog requires customer-managed keys, the workspace, its storage and its registry encrypt with one (ML-4).",
        validate=_validate,
        config_schema=CONFIG_SCHEMA,
    ),
]
