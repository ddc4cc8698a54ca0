"""Stack config of the ML workspace and the resources it owns: storage, key vault, registry,
monitoring, the workspace itself, their encryption, and Pulumi's protection of them.

Encryption at rest with a customer-managed key (issue 33; AVM's `customer_managed_key` input),
`mlinfra:encryption.customerManagedKey`: the stage creates, in its own key vault, an RSA key with a
rotation policy, and a user-assigned identity holding Key Vault Crypto Service Encryption User on
the vault; the workspace, its storage account and its container registry encrypt with that key
through that identity (mlinfra/stage/customer_managed_key.py, docs/encryption.md). Without it Azure
encrypts them with Microsoft-managed keys."""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StrictBool, StrictStr, model_validator

from mlinfra.settings.outbound_rule_settings import FirewallSku, OutboundRule, RuleName, RuleSet
from mlinfra.settings.settings_base import Settings, StrictInt, distinct
from mlinfra.settings.value_kinds import Reason, typed_resource_id


class StorageSku(StrEnum):
    """Replication SKUs an AML workspace's default storage accepts (standard general-purpose v2)."""

    STANDARD_LRS = "Standard_LRS"
    STANDARD_ZRS = "Standard_ZRS"
    STANDARD_GRS = "Standard_GRS"
    STANDARD_RAGRS = "Standard_RAGRS"
    STANDARD_GZRS = "Standard_GZRS"
    STANDARD_RAGZRS = "Standard_RAGZRS"


class RegistrySku(StrEnum):
    BASIC = "Basic"
    STANDARD = "Standard"
    PREMIUM = "Premium"


class IsolationMode(StrEnum):
    """Managed network isolation of the workspace's managed compute (ML-3)."""

    DISABLED = "Disabled"
    ALLOW_INTERNET_OUTBOUND = "AllowInternetOutbound"
    ALLOW_ONLY_APPROVED_OUTBOUND = "AllowOnlyApprovedOutbound"


class StorageSettings(Settings):
    sku: StorageSku = StorageSku.STANDARD_ZRS
    """Replication of the workspace storage account. Default Standard_ZRS (zone-redundant, ST-11)."""
    shared_key_access_enabled: StrictBool = False
    """Whether account keys and SAS signed with them work. Default false (ST-3); the workspace
    then reaches its datastores with its managed identity (ML-7)."""


class KeyVaultSettings(Settings):
    soft_delete_retention_days: Annotated[StrictInt, Field(ge=7, le=90)] = 90
    """Days a deleted vault and its secrets stay recoverable, 7-90. Default 90 (KV-3).
    Cannot be changed after the vault exists (Azure refuses the update; the plan diff says so);
    a deleted vault's name stays reserved this long."""
    purge_protection_enabled: StrictBool = True
    """Whether a deleted vault can be purged before retention ends. Default true (KV-2).
    Irreversible: once on it stays on, so false is never sent to Azure, only left out."""


class ContainerRegistrySettings(Settings):
    sku: RegistrySku = RegistrySku.PREMIUM
    """Registry SKU. Default Premium, the only SKU that can turn public network access off
    (ACR-3) and take private endpoints."""


class AccessMode(StrEnum):
    """Azure Monitor Private Link Scope access mode (azure-native `monitor.AccessMode`)."""

    PRIVATE_ONLY = "PrivateOnly"
    OPEN = "Open"


class ScopeMode(StrEnum):
    """Whose Azure Monitor Private Link Scope (AMPLS) the stage's telemetry goes through (F3)."""

    OWNED = "owned"
    """The stage creates its own scope and its azuremonitor private endpoint."""
    HUB = "hub"
    """The stage's Log Analytics and App Insights join the landing zone's scope (hubScopeId)."""
    NONE = "none"
    """No scope: telemetry goes to public endpoints."""


PRIVATE_LINK_SCOPE_ID = typed_resource_id("Microsoft.Insights/privateLinkScopes")


class PrivateLinkScopeSettings(Settings):
    mode: ScopeMode | None = None
    """owned, hub or none: whose Azure Monitor Private Link Scope the stage's telemetry and
    queries go through. owned: the stage creates one with a private endpoint next to its others;
    hub: Log Analytics and App Insights join the landing zone's scope (hubScopeId), the stack
    exporting what the hub team adds (monitoringScopeRequest); none: public endpoints, public
    stages only. Default: owned in a private stage that resolves privatelink.monitor.azure.com in
    zones it creates, none in a public stage; a private stage that resolves through the hub's zones
    must choose (one scope per DNS namespace: Microsoft Learn azure-monitor/logs/private-link-design)."""
    ingestion_access_mode: AccessMode | None = None
    """PrivateOnly or Open: whether networks behind the scope's endpoint may send telemetry only to
    resources in the scope (mode owned only). PrivateOnly only where the stage owns the
    privatelink.monitor.azure.com zone it resolves in. Default: PrivateOnly there, Open otherwise."""
    query_access_mode: AccessMode | None = None
    """PrivateOnly or Open: the same for queries (mode owned only). Default: as for
    ingestionAccessMode (PrivateOnly where the stage owns its zone, Open otherwise)."""
    hub_scope_id: Annotated[StrictStr, AfterValidator(PRIVATE_LINK_SCOPE_ID)] | None = None
    """the resource id of the landing zone's Azure Monitor Private Link Scope,
    /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Insights/privateLinkScopes/<name>.
    Required with mode hub, not allowed otherwise."""

    @model_validator(mode="after")
    def _mode_keys(self):
        if self.mode == ScopeMode.HUB and self.hub_scope_id is None:
            raise ValueError(
                "hubScopeId is required with mode hub: the id of the landing zone's private link scope"
            )
        if self.mode != ScopeMode.HUB and self.hub_scope_id is not None:
            raise ValueError("hubScopeId is only meaningful with mode hub; remove it or set mode: hub")
        modes = [
            key
            for key, value in (
                ("ingestionAccessMode", self.ingestion_access_mode),
                ("queryAccessMode", self.query_access_mode),
            )
            if value is not None
        ]
        if modes and self.mode in (ScopeMode.HUB, ScopeMode.NONE):
            raise ValueError(
                f"{', '.join(modes)}: only with mode owned; the hub team sets its scope's access modes"
                if self.mode == ScopeMode.HUB
                else f"{', '.join(modes)}: only with mode owned; mode none has no scope"
            )
        return self


class MonitoringSettings(Settings):
    log_retention_days: Annotated[StrictInt, Field(ge=30, le=730)] = 90
    """Days the Log Analytics workspace keeps logs and telemetry, 30-730. Default 90."""
    private_link_scope: PrivateLinkScopeSettings | None = None
    """{mode, ingestionAccessMode, queryAccessMode, hubScopeId}: the Azure Monitor Private Link
    Scope the stage's Log Analytics and App Insights are reached through (mode owned, hub or none).
    Default: the stage's own, PrivateOnly, when it is private and owns its monitor DNS zone; none
    when it is public; a private stage on the hub's DNS zones must set mode (see mode)."""
    public_ingestion_enabled: StrictBool | None = None
    """Whether Log Analytics and App Insights accept telemetry from the internet. Default: as
    network.publicNetworkAccessEnabled; must be false when that is false."""
    public_query_enabled: StrictBool | None = None
    """Whether they answer queries from the internet. Default: as
    network.publicNetworkAccessEnabled; must be false when that is false."""
    local_auth_enabled: StrictBool = False
    """Whether App Insights accepts instrumentation-key telemetry and Log Analytics its shared
    keys. Default false: Entra only. Set true if a writer has no Entra support, such as the App
    Insights logging of AML managed online endpoints (Microsoft Learn documents no Entra-only mode
    for it; not verified)."""


SUBNET_ID = typed_resource_id("Microsoft.Network/virtualNetworks/subnets")


class ServerlessComputeSettings(Settings):
    """Where serverless compute nodes (jobs without a compute target, serverless image builds) run
    when the workspace has no managed network: the Workspace's `serverlessComputeSettings`."""

    subnet_id: Annotated[StrictStr, AfterValidator(SUBNET_ID)]
    """the resource id of an existing subnet of the stage's subscription, not delegated to another
    service, with one free address per serverless node:
    /subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<network>/subnets/<subnet>
    (`serverlessComputeCustomSubnet`). Required: with a managed network serverless compute runs in
    the managed network and this section is refused (how-to-managed-network.md, "Limitations")."""
    public_ip_enabled: StrictBool = False
    """Whether the serverless nodes in that subnet get public IP addresses. Default false
    (`serverlessComputeNoPublicIP: true`): no inbound from the internet; it needs the workspace's
    private endpoint (network.privateEndpoints) to reach Azure Machine Learning from the subnet
    (how-to-secure-training-vnet.md, "Compute instance/cluster or serverless compute with no public IP")."""


STACK_NAME_PATTERN = r"^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]+$"
"""A stack name, bare or fully qualified (`<organization>/<project>/<stack>`)."""


class WorkspaceSettings(Settings):
    shared_from: Annotated[StrictStr, Field(pattern=STACK_NAME_PATTERN)] | None = None
    """the fully-qualified name of the stack of an earlier stage of this workload whose workspace
    this stage uses, `<organization>/<project>/<stack>` (for example `organization/mlinfra/dev`).
    Default none: the stage creates its own workspace. A sharing stage creates no workspace, no
    resource group and nothing networked; it keeps its own CI identity, federated credentials and
    CI environment, and grants its personas and identity roles on the shared workspace's scopes,
    which then hold for every stage that shares it (docs/workspaces.md, "One workspace or one per stage").
    The owning stage decides every other key of this section and of network, storage, keyVault,
    containerRegistry, monitoring, compute and resourceProtection."""
    shared_with_data_science_reason: Reason | None = None
    """Why a production stage and a data-science stage may share one workspace (at least 10
    characters). Required with sharedFrom when one of the two stages is production and the other
    data science (WS-2), refused otherwise. Shows in the plan and the diff."""
    isolation_mode: IsolationMode = IsolationMode.ALLOW_ONLY_APPROVED_OUTBOUND
    """Managed network isolation of managed compute. Default AllowOnlyApprovedOutbound (ML-3).
    One-way on an existing workspace: Disabled -> AllowInternetOutbound -> AllowOnlyApprovedOutbound;
    Azure refuses the way back (the plan diff says so)."""
    image_build_compute: Annotated[StrictStr, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,15}$")] | None = None
    """Name of the compute cluster that builds environment images, 2-16 letters, digits and '-'.
    Required when public network access is off: a private registry cannot build images (ML-10).
    The stage creates this cluster, sized by compute.imageBuilder."""
    high_business_impact: StrictBool = True
    """Whether the workspace is flagged high business impact (less diagnostic data collected by
    Microsoft, encrypted scratch disks, ML-9). Default true. Set at creation only: Azure refuses a
    change to an existing workspace (the plan diff says so)."""
    outbound_rules: dict[RuleName, OutboundRule] = Field(default_factory=dict)
    """User-defined managed-network outbound rules by name (lowercase letters, digits, '-'): each
    {type: FQDN, destination}, {type: PrivateEndpoint, serviceResourceId, subresourceTarget,
    sparkEnabled} or {type: ServiceTag, serviceTag, protocol, portRanges}. Default none."""
    outbound_rule_sets: Annotated[list[RuleSet], AfterValidator(distinct)] = Field(default_factory=list)
    """Rule sets this project ships: python-packages (the FQDN rules pip and conda need, per
    Microsoft Learn's managed-network article). Default none."""
    firewall_sku: FirewallSku | None = None
    """Standard or Basic: the Azure Firewall the managed network deploys for FQDN rules. Required
    with FQDN rules, so their cost is a choice: Standard about USD 1.25/hour, Basic about USD
    0.40/hour, plus data processed (list prices). Default none (no FQDN rules)."""
    serverless_compute: ServerlessComputeSettings | None = None
    """{subnetId, publicIpEnabled}: serverless compute in a subnet of the customer's network, for a
    workspace without a managed network (isolationMode Disabled) only. Default none: with a managed
    network (the default, and every private stage) serverless jobs run in the managed network and
    reach the private storage, key vault and registry through its private-endpoint rules, which is
    why nothing is sent; without one they run on Microsoft's public network."""
    batch_endpoints_enabled: StrictBool = False
    """Whether batch endpoints or ParallelRunStep are used: adds private-endpoint outbound rules to
    the default storage's queue and table (how-to-managed-network.md, "Scenario: Use batch
    endpoints or ParallelRunStep"). Default false."""


class ResourceProtection(Settings):
    protect: StrictBool = True
    """Whether Pulumi refuses to delete the stage's stateful resources (resource group, storage,
    key vault, logs, app insights, registry, workspace; PU-3). Default true."""
    retain_on_delete: StrictBool = True
    """Whether removing those resources from the program only drops them from the Pulumi state
    and leaves them in Azure. Default true."""


KEY_SIZES = (2048, 3072, 4096)
"""RSA key sizes every one of the three services takes: Azure Storage "supports RSA and RSA-HSM keys
of sizes 2048, 3072 and 4096" (MicrosoftDocs/azure-docs articles/storage/common/
customer-managed-keys-overview.md, "Key vault requirements"); Azure Container Registry "supports
only RSA or RSA-HSM keys" (azure-management-docs tutorial-customer-managed-keys.md)."""
MIN_ROTATION_DAYS = 7
"""Key Vault's earliest automatic rotation after a version is created (MicrosoftDocs/azure-docs
articles/key-vault/keys/how-to-configure-key-rotation.md, "Key rotation policy": rotation time
"minimum 7 days from creation")."""
MIN_EXPIRY_DAYS = 28
"""Key Vault's shortest expiry a rotation policy may give new versions (same page: "Expiry time:
... minimum 28 days")."""
ROTATION_BEFORE_EXPIRY_DAYS = 7
"""A rotation must come at least this long before the version expires (same page: rotation
"minimum 7 days from expiry time")."""


class CustomerManagedKeySettings(Settings):
    """`encryption.customerManagedKey`: encrypt the workspace, its storage account and its container
    registry with a key of the stage's own key vault. Needs keyVault.purgeProtectionEnabled and a
    Premium containerRegistry.sku; set at creation of the workspace and the registry only."""

    key_size: Literal[2048, 3072, 4096] = 3072
    """RSA key size in bits: 2048, 3072 or 4096, what Azure Storage, Azure Container Registry and
    Azure Machine Learning all accept. Default 3072."""
    rotate_after_days: Annotated[StrictInt, Field(ge=MIN_ROTATION_DAYS, le=3650)] = 365
    """Days after which Key Vault creates a new version of the key (its rotation policy),
    7-3650. Default 365. The storage account and the registry take new versions by themselves (their
    key reference has no version); the workspace moves to it on the next `pulumi up --refresh`
    (docs/encryption.md, "Rotation")."""
    expire_after_days: Annotated[StrictInt, Field(ge=MIN_EXPIRY_DAYS, le=3650)] | None = None
    """Days each new key version stays valid, 28-3650, at least rotateAfterDays + 7. Default none:
    versions do not expire (an organization policy may require an expiry)."""
    service_side: StrictBool = False
    """Whether the workspace keeps its encrypted metadata in Microsoft's subscription
    (`enableServiceSideCMKEncryption`, preview) instead of an Azure Cosmos DB, Azure AI Search and
    storage account Azure creates in a managed resource group of the stage's subscription, billed
    to it. Default false. Azure refuses it with a key vault without public network access and
    without key rotation (concept-customer-managed-keys.md), so private stages cannot use it.
    Set at creation only."""

    @model_validator(mode="after")
    def _rotation_before_expiry(self):
        if (
            self.expire_after_days is not None
            and self.rotate_after_days > self.expire_after_days - ROTATION_BEFORE_EXPIRY_DAYS
        ):
            raise ValueError(
                f"rotateAfterDays {self.rotate_after_days} with expireAfterDays {self.expire_after_days}: "
                f"Key Vault rotates at least {ROTATION_BEFORE_EXPIRY_DAYS} days before a version expires, "
                f"so rotateAfterDays must be at most {self.expire_after_days - ROTATION_BEFORE_EXPIRY_DAYS}"
            )
        return self


class EncryptionSettings(Settings):
    customer_managed_key: CustomerManagedKeySettings | None = None
    """{keySize, rotateAfterDays, expireAfterDays, serviceSide}: encrypt the workspace, its storage
    and its registry with a key of the stage's key vault ({} for the defaults). Default none:
    Microsoft-managed keys. Required where the stage catalog gives the stage customerManagedKeys:
    true. Turning it on or off, or moving the key to another vault, needs a new workspace and
    registry: Azure refuses the change (the plan diff says so)."""
