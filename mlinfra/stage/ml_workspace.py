"""`MlWorkspace`: an Azure Machine Learning workspace with dependencies it owns explicitly.

Storage account, key vault, Log Analytics + workspace-based Application Insights and
container registry are created here and passed to the workspace by id: Azure never
auto-creates them (ML-8: an auto-created registry has its admin user on). Every security
property is set explicitly, because azure-native injects SDK-side defaults that are not
the safe ones (pitfall P9; for example `enableRbacAuthorization=false` on key vaults, P3).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

import pulumi
from pulumi_azure_native import (
    applicationinsights,
    containerregistry,
    keyvault,
    operationalinsights,
    storage,
)
from pulumi_azure_native import (
    machinelearningservices as mls,
)

from mlinfra.access.grants import HolderKind, Principal, PrincipalType, Scope, grant
from mlinfra.facts.naming import StageNames
from mlinfra.facts.roles import ROLES
from mlinfra.settings.network_settings import NetworkSettings
from mlinfra.settings.workspace_settings import (
    ContainerRegistrySettings,
    CustomerManagedKeySettings,
    EncryptionSettings,
    IsolationMode,
    KeyVaultSettings,
    MonitoringSettings,
    ResourceProtection,
    StorageSettings,
    WorkspaceSettings,
)
from mlinfra.stage.customer_managed_key import CustomerManagedKey, CustomerManagedKeyArgs
from mlinfra.stage.stage_network import PrivateLink, private_endpoint

ACR_SERVER_SET = ["zoneRedundancy"]
"""Container registry inputs Azure decides (R8). Microsoft Learn, container-registry/zone-redundancy,
"Understand the zoneRedundancy property": zone redundancy is on by default in regions with
availability zones, and "setting it to Disabled has no effect in supported regions"; the SDK
injects `Disabled` (containerregistry/registry.py), so the state would read `Enabled` after a
refresh and every drift run would report it (the same shape as pulumi/pulumi-azure-native#4105,
servicebus `zoneRedundant`)."""

MANAGED_NETWORK_SERVER_SET = (
    "managedNetwork.outboundRules",
    "managedNetwork.status",
    "managedNetwork.managedNetworkKind",
    "managedNetwork.enableNetworkMonitor",
)
"""Parts of the workspace's `managedNetwork` the service fills in (F5): the required rules and every
`ManagedNetworkSettingsRule` land in `outboundRules`, the provisioning state in `status`, and the
network kind and monitor flag get service defaults. pulumi/pulumi-azure-native#3225: after its fix
a refresh still shows `Workspace ... update [diff: ~managedNetwork,systemData]`. Ignored, Pulumi
keeps what Azure returned for them, so a later update sends the rules Azure holds instead of
dropping them."""


def workspace_server_set(settings: WorkspaceSettings) -> list[str]:
    """The workspace inputs left to the service: `managedNetwork`'s server-filled parts, the
    firewall SKU when the program sets none, and `provisionNetworkNow`, which acts at creation only
    ("Set to trigger the provisioning of the managed VNet ... when creating a Workspace", the
    azure-native 3.29 input's own doc)."""
    ignored = [*MANAGED_NETWORK_SERVER_SET, "provisionNetworkNow"]
    if settings.firewall_sku is None:
        ignored.append("managedNetwork.firewallSku")
    return ignored


class _Placement(TypedDict):
    """The keyword group every resource here takes; typed so each keyword is checked."""

    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class MlWorkspaceArgs:
    names: StageNames
    """Physical names of the resources (see `mlinfra.facts.naming`)."""
    subscription_id: str
    """Subscription of the role definitions the workspace's identity is granted."""
    resource_group_name: pulumi.Input[str]
    """Resource group every resource goes into."""
    location: str
    """Azure region of every resource."""
    tenant_id: str
    """Entra tenant that authorizes key vault access."""
    tags: Mapping[str, str]
    """Tags on every resource."""
    network: NetworkSettings
    """Public network access, or where the private endpoints go."""
    storage: StorageSettings = field(default_factory=StorageSettings)
    """Storage SKU and shared-key access; default Standard_ZRS without shared keys."""
    key_vault: KeyVaultSettings = field(default_factory=KeyVaultSettings)
    """Soft-delete retention and purge protection; default 90 days, purge-protected."""
    container_registry: ContainerRegistrySettings = field(default_factory=ContainerRegistrySettings)
    """Registry SKU; default Premium."""
    encryption: EncryptionSettings = field(default_factory=EncryptionSettings)
    """Microsoft-managed keys, or a customer-managed key of the stage's vault (ML-4); default the former."""
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    """Log retention; default 90 days."""
    workspace: WorkspaceSettings = field(default_factory=WorkspaceSettings)
    """Managed network isolation and HBI flag; default AllowOnlyApprovedOutbound, HBI on."""
    protection: ResourceProtection = field(default_factory=ResourceProtection)
    """`protect` / `retainOnDelete` of every resource here (all are stateful); default both on."""
    private_link: PrivateLink | None = None
    """Where the private endpoints go (ML-2). Default none: no endpoints (a public stage)."""


class MlWorkspace(pulumi.ComponentResource):
    """The AML workspace of one stage and the resources it depends on."""

    workspace_id: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    """Object id of the workspace's system-assigned managed identity."""
    storage_account_id: pulumi.Output[str]
    key_vault_id: pulumi.Output[str]
    container_registry_id: pulumi.Output[str]
    application_insights_id: pulumi.Output[str]
    log_analytics_id: pulumi.Output[str]
    resource_group_name: pulumi.Input[str]

    def __init__(self, name: str, args: MlWorkspaceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:MlWorkspace", name, None, opts)
        stateful = pulumi.ResourceOptions(
            parent=self, protect=args.protection.protect, retain_on_delete=args.protection.retain_on_delete
        )
        public = args.network.public_network_access_enabled
        managed = args.workspace.isolation_mode != IsolationMode.DISABLED
        common = _Placement(
            resource_group_name=args.resource_group_name, location=args.location, tags=dict(args.tags)
        )

        vault = keyvault.Vault(
            f"{name}-keyvault",
            vault_name=args.names.key_vault,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,  # KV-1; the SDK would send false (P3)
                enable_soft_delete=True,  # KV-3
                soft_delete_retention_in_days=args.key_vault.soft_delete_retention_days,
                # KV-2: irreversible, so only ever sent as true; "off" means leaving it out.
                enable_purge_protection=True if args.key_vault.purge_protection_enabled else None,
                public_network_access="Enabled" if public else "Disabled",  # KV-4
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action=keyvault.NetworkRuleAction.ALLOW
                    if public
                    else keyvault.NetworkRuleAction.DENY,
                    bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES,
                ),
            ),
            opts=stateful,
            **common,
        )

        # ML-4: the key and its identity come before everything they encrypt.
        key_settings = args.encryption.customer_managed_key
        cmk = (
            CustomerManagedKey(
                f"{name}-cmk",
                CustomerManagedKeyArgs(
                    settings=key_settings,
                    identity_name=args.names.encryption_identity,
                    key_name=args.names.encryption_key,
                    vault=vault,
                    vault_name=args.names.key_vault,
                    subscription_id=args.subscription_id,
                    resource_group_name=args.resource_group_name,
                    location=args.location,
                    tags=args.tags,
                    protection=stateful,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            if key_settings is not None
            else None
        )

        account = storage.StorageAccount(
            f"{name}-storage",
            account_name=args.names.storage_account,
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=args.storage.sku.value),
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,  # ST-4
            enable_https_traffic_only=True,  # ST-5
            allow_blob_public_access=False,  # ST-1
            allow_cross_tenant_replication=False,  # ST-6
            allow_shared_key_access=args.storage.shared_key_access_enabled,  # ST-3, explicit either way
            default_to_o_auth_authentication=True,
            is_hns_enabled=False,  # AML's default datastore cannot be hierarchical-namespace storage
            public_network_access=storage.PublicNetworkAccess.ENABLED
            if public
            else storage.PublicNetworkAccess.DISABLED,
            network_rule_set=storage.NetworkRuleSetArgs(  # ST-2: deny by default when private
                default_action=storage.DefaultAction.ALLOW if public else storage.DefaultAction.DENY,
                bypass=storage.Bypass.AZURE_SERVICES,
            ),
            **_storage_encryption(cmk),
            # ML-4: created with the key only once the identity holds the crypto role on the vault.
            opts=pulumi.ResourceOptions.merge(
                stateful, pulumi.ResourceOptions(depends_on=cmk.ready if cmk else None)
            ),
            **common,
        )

        # Monitoring follows the stage's exposure unless config says otherwise (R1): a private
        # stage sends and queries telemetry through its monitoring private link scope.
        monitoring = args.monitoring
        ingestion = _enabled(
            public if monitoring.public_ingestion_enabled is None else monitoring.public_ingestion_enabled
        )
        query = _enabled(
            public if monitoring.public_query_enabled is None else monitoring.public_query_enabled
        )
        logs = operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=args.names.log_analytics,
            sku=operationalinsights.WorkspaceSkuArgs(
                name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018
            ),
            retention_in_days=monitoring.log_retention_days,
            public_network_access_for_ingestion=ingestion,
            public_network_access_for_query=query,
            features=operationalinsights.WorkspaceFeaturesArgs(
                disable_local_auth=not monitoring.local_auth_enabled
            ),
            opts=stateful,
            **common,
        )

        insights = applicationinsights.Component(
            f"{name}-appinsights",
            resource_name_=args.names.application_insights,  # the Azure name: pitfall P6/P7
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            workspace_resource_id=logs.id,  # AI-1: workspace-based
            public_network_access_for_ingestion=ingestion,
            public_network_access_for_query=query,
            disable_local_auth=not monitoring.local_auth_enabled,  # instrumentation keys off: Entra only
            opts=stateful,
            **common,
        )

        registry = containerregistry.Registry(
            f"{name}-registry",
            registry_name=args.names.container_registry,
            sku=containerregistry.SkuArgs(name=args.container_registry.sku.value),
            admin_user_enabled=False,  # ACR-1
            anonymous_pull_enabled=False,  # ACR-2
            public_network_access=(
                containerregistry.PublicNetworkAccess.ENABLED
                if public
                else containerregistry.PublicNetworkAccess.DISABLED
            ),  # ACR-3
            **_registry_encryption(cmk),
            # R8: the SDK sends `Disabled` when this is left out, and ACR now makes every registry in
            # an availability-zone region zone-redundant whatever it is sent, so a refresh reads
            # `Enabled` back (see ACR_SERVER_SET). ML-4: created with the key only once the
            # identity holds the crypto role on the vault.
            opts=pulumi.ResourceOptions.merge(
                stateful,
                pulumi.ResourceOptions(ignore_changes=ACR_SERVER_SET, depends_on=cmk.ready if cmk else None),
            ),
            **common,
        )

        workspace = mls.Workspace(
            f"{name}-workspace",
            workspace_name=args.names.workspace,
            friendly_name=args.names.workspace,
            kind="Default",
            sku=mls.SkuArgs(name="Basic", tier=mls.SkuTier.BASIC),
            **_workspace_encryption(cmk, vault, key_settings),
            # ML-8: bring our own dependencies, by id straight from the resources (P5).
            storage_account=account.id,
            key_vault=vault.id,
            application_insights=insights.id,
            container_registry=registry.id,
            public_network_access=(
                mls.PublicNetworkAccessType.ENABLED if public else mls.PublicNetworkAccessType.DISABLED
            ),  # ML-1
            managed_network=mls.ManagedNetworkSettingsArgs(
                isolation_mode=args.workspace.isolation_mode.value,
                # The Azure Firewall behind FQDN outbound rules; left out without them.
                firewall_sku=args.workspace.firewall_sku.value if args.workspace.firewall_sku else None,
            ),  # ML-3
            # R1: the managed network (and its firewall) is provisioned with the workspace, not by
            # the first cluster, which would otherwise race it and time out (how-to-managed-network.md,
            # "Manually provision a managed VNet"). Only meaningful at creation.
            provision_network_now=True if managed else None,
            hbi_workspace=args.workspace.high_business_impact,  # ML-9
            # ML-10: a registry without public access cannot run ACR Tasks; images build here.
            image_build_compute=None if public else args.workspace.image_build_compute,
            # ML-17: a managed network places serverless nodes itself (nothing sent); without one they
            # go into the customer subnet, without public IPs unless asked (how-to-secure-training-vnet.md).
            serverless_compute_settings=_serverless(args.workspace),
            # ML-7: without shared keys the workspace must reach its datastores with its identity.
            system_datastores_auth_mode=(
                mls.SystemDatastoresAuthMode.ACCESS_KEY
                if args.storage.shared_key_access_enabled
                else mls.SystemDatastoresAuthMode.IDENTITY
            ),
            opts=pulumi.ResourceOptions.merge(
                stateful,
                # ML-4: created with the key only once the identity holds the crypto role on the vault.
                pulumi.ResourceOptions(
                    ignore_changes=workspace_server_set(args.workspace), depends_on=cmk.ready if cmk else None
                ),
            ),
            **common,
        )

        if args.private_link is not None:
            # One endpoint per sub-resource a workspace user reaches (ML-2, ST-2, KV-4, ACR-3).
            workspace_identity = Principal(
                key=args.names.workspace,
                object_id=workspace.identity.apply(_system_principal_id),
                type=PrincipalType.SERVICE_PRINCIPAL,
                holder=HolderKind.IDENTITY,
                label=args.names.workspace,
            )
            for role, target_name, target, group in (
                ("workspace", args.names.workspace, workspace, "amlworkspace"),
                ("storage", args.names.storage_account, account, "blob"),
                ("storage", args.names.storage_account, account, "file"),
                ("keyvault", args.names.key_vault, vault, "vault"),
                ("registry", args.names.container_registry, registry, "registry"),
            ):
                endpoint_name = args.names.private_endpoint(target_name, group)
                endpoint = private_endpoint(
                    f"{name}-{role}-{group}-endpoint",
                    endpoint_name=endpoint_name,
                    target_id=target.id,
                    group=group,
                    link=args.private_link,
                    parent=self,
                )
                if role == "storage" and not public:
                    # Studio reaches a storage account without public access through these
                    # endpoints only with the workspace identity's Reader on both (how-to-managed-network).
                    grant(
                        name,
                        subscription_id=args.subscription_id,
                        principal=workspace_identity,
                        role=ROLES["Reader"],
                        scope=Scope(f"{group}PrivateEndpoint", endpoint_name, endpoint.id),
                        parent=self,
                    )

        self.workspace_id = workspace.id
        self.workspace_name = workspace.name
        self.principal_id = workspace.identity.apply(_system_principal_id)
        self.storage_account_id = account.id
        self.key_vault_id = vault.id
        self.container_registry_id = registry.id
        self.application_insights_id = insights.id
        self.log_analytics_id = logs.id
        self.resource_group_name = args.resource_group_name
        self.register_outputs(
            {
                "workspaceId": self.workspace_id,
                "workspaceName": self.workspace_name,
                "principalId": self.principal_id,
            }
        )


def _storage_encryption(cmk: CustomerManagedKey | None) -> dict:
    """The account's identity and encryption with the customer-managed key (none without one). The key
    reference has no version, so Azure Storage follows rotations ("omit the key version ... Azure
    Storage checks the key vault ... daily for a new version": azure-docs storage/common/
    customer-managed-keys-overview.md). Queues and tables join only when the account is created
    (same page), which is when a workspace can take the key at all."""
    if cmk is None:
        return {}
    account_key = storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT)
    return {
        "identity": storage.IdentityArgs(
            type=storage.IdentityType.USER_ASSIGNED, user_assigned_identities=[cmk.identity_id]
        ),
        "encryption": storage.EncryptionArgs(
            key_source=storage.KeySource.MICROSOFT_KEYVAULT,
            key_vault_properties=storage.KeyVaultPropertiesArgs(
                key_name=cmk.key_name, key_vault_uri=cmk.vault_uri
            ),
            encryption_identity=storage.EncryptionIdentityArgs(
                encryption_user_assigned_identity=cmk.identity_id
            ),
            services=storage.EncryptionServicesArgs(
                blob=storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT),
                file=storage.EncryptionServiceArgs(enabled=True, key_type=storage.KeyType.ACCOUNT),
                queue=account_key,
                table=account_key,
            ),
        ),
    }


def _registry_encryption(cmk: CustomerManagedKey | None) -> dict:
    """The registry's user-assigned identity and encryption: `keyVaultProperties.identity` takes the
    identity's client id, and a versionless key lets the registry follow rotations ("When a registry
    is encrypted with a non-versioned key, Azure Container Registry regularly checks the key vault for
    a new key version": azure-management-docs container-registry/tutorial-customer-managed-keys.md)."""
    if cmk is None:
        return {}
    return {
        # Keyed by the identity's id as Azure returns it (a map key cannot wait for an output).
        "identity": cmk.identity_id.apply(
            lambda identity: containerregistry.IdentityPropertiesArgs(
                type=containerregistry.ResourceIdentityType.USER_ASSIGNED,
                user_assigned_identities={identity: containerregistry.UserIdentityPropertiesArgs()},
            )
        ),
        "encryption": containerregistry.EncryptionPropertyArgs(
            status=containerregistry.EncryptionStatus.ENABLED,
            key_vault_properties=containerregistry.KeyVaultPropertiesArgs(
                key_identifier=cmk.key_uri, identity=cmk.identity_client_id
            ),
        ),
    }


def _workspace_encryption(
    cmk: CustomerManagedKey | None, vault: keyvault.Vault, settings: CustomerManagedKeySettings | None
) -> dict:
    """The workspace's identity (system-assigned: its datastores, ML-7; plus the encryption identity
    with a customer-managed key) and its encryption. The key identifier names the key's current
    version; after a rotation `pulumi up --refresh` moves the workspace to the new one, a change of
    key within the same vault that Azure allows (concept-customer-managed-keys.md, Limitations)."""
    if cmk is None or settings is None:
        return {
            "identity": mls.ManagedServiceIdentityArgs(type=mls.ManagedServiceIdentityType.SYSTEM_ASSIGNED)
        }
    return {
        "identity": mls.ManagedServiceIdentityArgs(
            type=mls.ManagedServiceIdentityType.SYSTEM_ASSIGNED_USER_ASSIGNED,
            user_assigned_identities=[cmk.identity_id],
        ),
        "encryption": mls.EncryptionPropertyArgs(
            status=mls.EncryptionStatus.ENABLED,
            key_vault_properties=mls.KeyVaultPropertiesArgs(
                key_vault_arm_id=vault.id, key_identifier=cmk.key_uri_with_version
            ),
            identity=mls.IdentityForCmkArgs(user_assigned_identity=cmk.identity_id),
        ),
        "enable_service_side_cmk_encryption": True if settings.service_side else None,
    }


def _serverless(settings: WorkspaceSettings) -> mls.ServerlessComputeSettingsArgs | None:
    """The Workspace's `serverlessComputeSettings`, only for a customer subnet (config validation
    refuses one with a managed network)."""
    serverless = settings.serverless_compute
    if serverless is None:
        return None
    return mls.ServerlessComputeSettingsArgs(
        serverless_compute_custom_subnet=serverless.subnet_id,
        serverless_compute_no_public_ip=not serverless.public_ip_enabled,
    )


def _enabled(flag: bool) -> str:
    """`Enabled`/`Disabled`, the public-access enum values Log Analytics and App Insights share."""
    return "Enabled" if flag else "Disabled"


def _system_principal_id(identity: mls.outputs.ManagedServiceIdentityResponse | None) -> str:
    """The workspace's system-assigned principal id, which Azure always returns for `SystemAssigned`."""
    if identity is None or identity.principal_id is None:
        raise ValueError("the workspace was created without a system-assigned identity principal id")
    return identity.principal_id
