"""`CustomerManagedKey`: the key the workspace, its storage account and its container registry encrypt
with (ML-4, `mlinfra:encryption.customerManagedKey`, docs/encryption.md), and the identity they read
it with.

- An RSA key in the stage's own key vault, with a rotation policy. The vault is RBAC-authorized,
  soft-delete and purge protected (config refuses CMK without purge protection). The key goes
  through ARM (`Keys - Create If Not Exist`), which needs Key Vault Contributor or Contributor on
  the vault and no data-plane role ("It requires 'Key Vault Contributor' role on Key Vault configured
  with Azure RBAC to deploy key through management plane": MicrosoftDocs/azure-docs articles/
  key-vault/keys/how-to-configure-key-rotation.md). That API "does not update existing keys", so the
  key's size and rotation policy are fixed once it exists: a change takes a new key (the plan diff
  says so, mlinfra/diff/replacements.py).
- A user-assigned identity with Key Vault Crypto Service Encryption User on the vault (keys read,
  wrap and unwrap: the "Get, Wrap Key, Unwrap Key" each service needs). Storage needs a user-assigned
  identity at creation ("When you enable customer-managed keys for a new storage account, you must
  specify a user-assigned managed identity", azure-docs includes/storage-customer-managed-keys-key-
  vault-user-assigned-identity-include.md), and so does a registry (azure-management-docs
  tutorial-customer-managed-keys.md); one identity serves all three.
- `ready`: the key and the role assignment. The encrypted resources depend on it, since the role
  must be in place before they are created with the key ("Before you can configure customer-managed
  keys with a user-assigned managed identity, you must assign the Key Vault Crypto Service
  Encryption User role", the storage include above); an output reference alone would not wait for
  the role assignment.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault, managedidentity

from mlinfra.access.grants import HolderKind, Principal, PrincipalType, Scope, grant
from mlinfra.facts.roles import ROLES
from mlinfra.settings.workspace_settings import CustomerManagedKeySettings

KEY_OPERATIONS = ["wrapKey", "unwrapKey"]
"""What the services do with the key: wrap and unwrap their data encryption keys."""
CRYPTO_ROLE = ROLES["Key Vault Crypto Service Encryption User"]


@dataclass(frozen=True, kw_only=True)
class CustomerManagedKeyArgs:
    settings: CustomerManagedKeySettings
    identity_name: str
    key_name: str
    vault: keyvault.Vault
    vault_name: str
    subscription_id: str
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    protection: pulumi.ResourceOptions
    """`protect` / `retainOnDelete` of the stage's stateful resources: losing the key loses the data."""


def rotation_policy(settings: CustomerManagedKeySettings) -> keyvault.RotationPolicyArgs:
    """Rotate `rotateAfterDays` after each version's creation; new versions expire after
    `expireAfterDays` when set (ISO 8601 durations, as the SDK's TriggerArgs documents them)."""
    return keyvault.RotationPolicyArgs(
        attributes=(
            keyvault.KeyRotationPolicyAttributesArgs(expiry_time=f"P{settings.expire_after_days}D")
            if settings.expire_after_days is not None
            else None
        ),
        lifetime_actions=[
            keyvault.LifetimeActionArgs(
                action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                trigger=keyvault.TriggerArgs(time_after_create=f"P{settings.rotate_after_days}D"),
            )
        ],
    )


class CustomerManagedKey(pulumi.ComponentResource):
    """The stage's encryption key and the identity its resources read it with."""

    identity_id: pulumi.Output[str]
    """ARM id of the user-assigned identity (what the resources' `identity` and encryption name)."""
    identity_client_id: pulumi.Output[str]
    """Its client id: the registry's `keyVaultProperties.identity` takes this, not the ARM id."""
    key_name: pulumi.Output[str]
    key_uri: pulumi.Output[str]
    """The versionless key URI: storage and registry follow new versions by themselves."""
    key_uri_with_version: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    ready: list[pulumi.Resource]

    def __init__(self, name: str, args: CustomerManagedKeyArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:CustomerManagedKey", name, None, opts)
        stateful = pulumi.ResourceOptions.merge(args.protection, pulumi.ResourceOptions(parent=self))
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_name_=args.identity_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=dict(args.tags),
            opts=stateful,
        )
        key = keyvault.Key(
            f"{name}-key",
            key_name=args.key_name,
            vault_name=args.vault_name,
            resource_group_name=args.resource_group_name,
            properties=keyvault.KeyPropertiesArgs(
                kty=keyvault.JsonWebKeyType.RSA,
                key_size=args.settings.key_size,
                key_ops=KEY_OPERATIONS,
                rotation_policy=rotation_policy(args.settings),
            ),
            tags=dict(args.tags),
            # The key names its vault by name only (vaultName), so nothing else orders it after it.
            opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[args.vault])),
        )
        principal = Principal(
            key=args.identity_name,
            object_id=identity.principal_id,
            type=PrincipalType.SERVICE_PRINCIPAL,
            holder=HolderKind.IDENTITY,
            label=args.identity_name,
        )
        assignment = grant(
            name,
            subscription_id=args.subscription_id,
            principal=principal,
            role=CRYPTO_ROLE,
            scope=Scope("keyVault", args.vault_name, args.vault.id),
            parent=self,
        )
        self.identity_id = identity.id
        self.identity_client_id = identity.client_id
        self.key_name = key.name
        self.key_uri = key.key_uri
        self.key_uri_with_version = key.key_uri_with_version
        self.vault_uri = args.vault.properties.apply(lambda properties: properties.vault_uri or "")
        self.ready = [key, assignment]
        self.register_outputs({"identityId": self.identity_id, "keyUri": self.key_uri})
