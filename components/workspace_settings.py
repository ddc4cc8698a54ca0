"""Stack config of the ML workspace and the resources it owns: storage, key vault, registry,
monitoring, the workspace itself, and Pulumi's protection of them."""

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StrictBool, StrictStr

from components.settings_base import Settings, StrictInt


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


class MonitoringSettings(Settings):
    log_retention_days: Annotated[StrictInt, Field(ge=30, le=730)] = 90
    """Days the Log Analytics workspace keeps logs and telemetry, 30-730. Default 90."""


class WorkspaceSettings(Settings):
    isolation_mode: IsolationMode = IsolationMode.ALLOW_ONLY_APPROVED_OUTBOUND
    """Managed network isolation of managed compute. Default AllowOnlyApprovedOutbound (ML-3).
    One-way on an existing workspace: Disabled -> AllowInternetOutbound -> AllowOnlyApprovedOutbound;
    Azure refuses the way back (the plan diff says so)."""
    image_build_compute: Annotated[StrictStr, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]{1,15}$")] | None = None
    """Name of the compute cluster that builds environment images, 2-16 letters, digits and '-'.
    Required when public network access is off: a private registry cannot build images (ML-10).
    The team creates the cluster; this only names it."""
    high_business_impact: StrictBool = True
    """Whether the workspace is flagged high business impact (less diagnostic data collected by
    Microsoft, encrypted scratch disks, ML-9). Default true. Set at creation only: Azure refuses a
    change to an existing workspace (the plan diff says so)."""


class ResourceProtection(Settings):
    protect: StrictBool = True
    """Whether Pulumi refuses to delete the stage's stateful resources (resource group, storage,
    key vault, logs, app insights, registry, workspace; PU-3). Default true."""
    retain_on_delete: StrictBool = True
    """Whether removing those resources from the program only drops them from the Pulumi state
    and leaves them in Azure. Default true."""
