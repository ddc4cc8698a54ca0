"""`StateBackend`: where every stage's Pulumi state and secrets key live.

A storage account reached with Entra ID only (no shared keys, no SAS signed with them, OAuth by
default in the portal, TLS 1.2, no anonymous blob access), with blob versioning and soft delete
for blobs and containers, so an overwritten or deleted checkpoint can be recovered, and a lifecycle
rule that deletes versions older than `versionRetentionDays`, so they do not pile up; and an
RBAC-authorized, purge-protected key vault holding the RSA key of `azurekeyvault://`.
Everything is protected: deleting it would orphan every stage.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import keyvault, resources, storage

from bootstrap.names import BootstrapNames
from bootstrap.settings import StateBackendSettings

SECRETS_KEY_OPERATIONS = ["encrypt", "decrypt"]
"""What Pulumi's azurekeyvault secrets provider calls (gocloud.dev secrets/azurekeyvault: Encrypt
and Decrypt with RSA-OAEP-256)."""


@dataclass(frozen=True, kw_only=True)
class StateBackendArgs:
    names: BootstrapNames
    settings: StateBackendSettings
    subscription_id: str
    tenant_id: str
    location: str
    tags: Mapping[str, str]


class StateBackend(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    backend_url: str
    """`pulumi login` URL: `azblob://<container>?storage_account=<account>`."""
    secrets_provider: str
    """`--secrets-provider` URL: `azurekeyvault://<vault>.vault.azure.net/keys/<key>`."""
    container_scope: str
    """Plan-time ARM id of the state container (role assignments' scope)."""
    container_id: pulumi.Output[str]
    key_scope: str
    """Plan-time ARM id of the secrets key."""
    key_id: pulumi.Output[str]

    def __init__(self, name: str, args: StateBackendArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:bootstrap:StateBackend", name, None, opts)
        names, settings = args.names, args.settings
        keep = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        tags = dict(args.tags)

        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=names.resource_group,
            location=args.location,
            tags=tags,
            opts=keep,
        )
        account = storage.StorageAccount(
            f"{name}-account",
            account_name=names.storage_account,
            resource_group_name=group.name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=settings.sku),
            allow_blob_public_access=False,
            allow_shared_key_access=False,  # Entra ID only; the azblob backend signs in with az / OIDC
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            tags=tags,
            opts=keep,
        )
        blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            account_name=account.name,
            resource_group_name=group.name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=settings.blob_soft_delete_days
            ),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(
                enabled=True, days=settings.container_soft_delete_days
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Versions of the checkpoints older than versionRetentionDays go (review-3-azure R9): one
        # rule, block blobs of the state container only (azure-rest-api-specs storage 2024-01-01
        # examples/StorageAccountSetManagementPolicyForBlockAndAppendBlobs.json: actions.version.delete
        # .daysAfterCreationGreaterThan; the policy's only name is `default`).
        storage.ManagementPolicy(
            f"{name}-lifecycle",
            account_name=account.name,
            resource_group_name=group.name,
            management_policy_name="default",
            policy=storage.ManagementPolicySchemaArgs(
                rules=[
                    storage.ManagementPolicyRuleArgs(
                        name="delete-old-state-versions",
                        type=storage.RuleType.LIFECYCLE,
                        enabled=True,
                        definition=storage.ManagementPolicyDefinitionArgs(
                            actions=storage.ManagementPolicyActionArgs(
                                version=storage.ManagementPolicyVersionArgs(
                                    delete=storage.DateAfterCreationArgs(
                                        days_after_creation_greater_than=settings.version_retention_days
                                    )
                                )
                            ),
                            filters=storage.ManagementPolicyFilterArgs(
                                blob_types=["blockBlob"], prefix_match=[names.state_container]
                            ),
                        ),
                    )
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[blob_service]),
        )
        container = storage.BlobContainer(
            f"{name}-container",
            account_name=account.name,
            resource_group_name=group.name,
            container_name=names.state_container,
            public_access=storage.PublicAccess.NONE,
            opts=pulumi.ResourceOptions(
                parent=self, protect=True, retain_on_delete=True, depends_on=[blob_service]
            ),
        )
        vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=names.key_vault,
            resource_group_name=group.name,
            location=args.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_purge_protection=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=settings.key_vault_soft_delete_days,
            ),
            tags=tags,
            opts=keep,
        )
        key = keyvault.Key(
            f"{name}-key",
            key_name=names.secrets_key,
            vault_name=vault.name,
            resource_group_name=group.name,
            properties=keyvault.KeyPropertiesArgs(
                kty=keyvault.JsonWebKeyType.RSA, key_size=3072, key_ops=SECRETS_KEY_OPERATIONS
            ),
            opts=keep,
        )

        group_scope = f"/subscriptions/{args.subscription_id}/resourceGroups/{names.resource_group}"
        self.container_scope = (
            f"{group_scope}/providers/Microsoft.Storage/storageAccounts/{names.storage_account}"
            f"/blobServices/default/containers/{names.state_container}"
        )
        self.key_scope = (
            f"{group_scope}/providers/Microsoft.KeyVault/vaults/{names.key_vault}/keys/{names.secrets_key}"
        )
        self.container_id = pulumi.Output.all(container.id).apply(lambda _: self.container_scope)
        self.key_id = pulumi.Output.all(key.id).apply(lambda _: self.key_scope)
        self.resource_group_name = group.name
        self.backend_url = f"azblob://{names.state_container}?storage_account={names.storage_account}"
        self.secrets_provider = f"azurekeyvault://{names.key_vault}.vault.azure.net/keys/{names.secrets_key}"
        self.register_outputs({"backendUrl": self.backend_url, "secretsProvider": self.secrets_provider})
