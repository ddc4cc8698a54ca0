"""Stack config of diagnostic settings, and what each resource type's settings take: the resource logs and metrics of a stage's workspace, key vault, storage
(account and its blob, file, queue and table services) and container registry, and of the shared
Azure ML registry, sent to a Log Analytics workspace (issue 33; AVM's `diagnostic_settings`).

Logs are chosen by category group, never by category, so a category a service adds later is
collected too: `allLogs` everywhere, or `audit` where the resource type has that group (`SUPPORT`,
each row with its source). The resources are in `mlinfra.stage.diagnostics`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StrictBool, StrictStr

from mlinfra.settings.settings_base import Settings, StrictInt
from mlinfra.settings.value_kinds import typed_resource_id

ALL_METRICS = "AllMetrics"
"""The metric category that stands for every metric of a resource (Azure Verified Modules send it
by default: Azure/bicep-registry-modules avm/res/storage/storage-account/blob-service/main.bicep)."""
LOG_ANALYTICS_WORKSPACE = "Microsoft.OperationalInsights/workspaces"


class CategoryGroup(StrEnum):
    """Log category groups of a diagnostic setting (Microsoft Learn, "Built-in policies for Azure
    Monitor", categoryGroup: none, audit, allLogs)."""

    ALL_LOGS = "allLogs"
    AUDIT = "audit"


@dataclass(frozen=True)
class Support:
    """What a resource type's diagnostic settings take."""

    audit: bool
    """Whether it has the `audit` category group (every type with resource logs has `allLogs`)."""
    metrics: bool
    """Whether it has platform metrics."""
    source: str


_SUPPORTED_LOGS = "MicrosoftDocs/azure-monitor-docs articles/azure-monitor/reference/supported-logs/"
_AUDIT_TYPES = (
    "Azure/azure-policy built-in-policies/policyDefinitions/Monitoring/DiagnosticSettingsExistsAudit_Audit.json "
    '("Applicable resource types are those that support the Audit category group")'
)
SUPPORT: Mapping[str, Support] = {
    "Microsoft.MachineLearningServices/workspaces": Support(
        True, True, f"{_SUPPORTED_LOGS}microsoft-machinelearningservices-workspaces-logs.md; {_AUDIT_TYPES}"
    ),
    "Microsoft.KeyVault/vaults": Support(
        True, True, f"{_SUPPORTED_LOGS}microsoft-keyvault-vaults-logs.md; {_AUDIT_TYPES}"
    ),
    "Microsoft.ContainerRegistry/registries": Support(
        True, True, f"{_SUPPORTED_LOGS}microsoft-containerregistry-registries-logs.md; {_AUDIT_TYPES}"
    ),
    **{
        f"Microsoft.Storage/storageAccounts/{service}Services": Support(
            False,
            True,
            f"{_SUPPORTED_LOGS}microsoft-storage-storageaccounts-{service}services-logs.md "
            "(StorageRead, StorageWrite, StorageDelete); not in the audit list of " + _AUDIT_TYPES,
        )
        for service in ("blob", "file", "queue", "table")
    },
    "Microsoft.MachineLearningServices/registries": Support(
        False,
        False,
        f"{_SUPPORTED_LOGS}microsoft-machinelearningservices-registries-logs.md (RegistryAssetReadEvent, "
        "RegistryAssetWriteEvent; the page links no supported metrics); not in the audit list of "
        + _AUDIT_TYPES,
    ),
}
"""Resource type -> what its diagnostic settings take. Every type here has resource logs."""
METRICS_ONLY: Mapping[str, str] = {
    "Microsoft.Storage/storageAccounts": "no supported-logs page for the account itself (its logs are "
    "the services'); AVM's storage account sends metrics only (avm/res/storage/storage-account/main.bicep)",
}
"""Resource types with metrics and no resource logs -> source."""


def log_group(resource_type: str, group: CategoryGroup) -> CategoryGroup | None:
    """The category group a resource type's setting sends: `group`, or `allLogs` where the type has
    no `audit` group (`SUPPORT`); None for a type without resource logs (`METRICS_ONLY`)."""
    if resource_type in METRICS_ONLY:
        return None
    if group == CategoryGroup.AUDIT and not SUPPORT[resource_type].audit:
        return CategoryGroup.ALL_LOGS
    return group


def metric_category(resource_type: str, enabled: bool) -> str | None:
    """`AllMetrics` where the type has metrics and they are wanted; else None."""
    has_metrics = resource_type in METRICS_ONLY or SUPPORT[resource_type].metrics
    return ALL_METRICS if enabled and has_metrics else None


def _workspace_id(value: str) -> str:
    return typed_resource_id(LOG_ANALYTICS_WORKSPACE)(value)


class DiagnosticsSettings(Settings):
    """`mlinfra:diagnostics`: where and what the stage's resources log."""

    enabled: StrictBool | None = None
    """Whether the workspace, key vault, storage account and its blob/file/queue/table services and
    the container registry get a diagnostic setting. Default: true in production stages (the
    catalog's production trait; turning it off there needs productionRelaxations.diagnostics),
    false elsewhere."""
    log_analytics_workspace_id: Annotated[StrictStr, AfterValidator(_workspace_id)] | None = None
    """the id of a central Log Analytics workspace
    (/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/workspaces/<name>)
    the logs go to. Default: the stage's own Log Analytics workspace. The deployer then needs
    Microsoft.OperationalInsights/workspaces/sharedKeys/action on it (declare it in prerequisites.yaml)."""
    category_group: CategoryGroup = CategoryGroup.ALL_LOGS
    """allLogs or audit: which resource logs are sent. Default allLogs. With audit, a resource type
    without an audit group (the storage services, the Azure ML registry) sends allLogs."""
    metrics_enabled: StrictBool = True
    """Whether platform metrics (AllMetrics) are sent too, where the resource has them. Default true."""

    def active(self, production: bool) -> bool:
        """Whether the stage gets diagnostic settings (`enabled`, else its production trait)."""
        return production if self.enabled is None else self.enabled


class RegistryDiagnosticsSettings(Settings):
    """`mlinfra:diagnostics` of the shared stack: the Azure ML registry's resource logs."""

    enabled: StrictBool = True
    """Whether the registry gets a diagnostic setting. Default true: the registry holds the
    models production deploys."""
    log_analytics_workspace_id: Annotated[StrictStr, AfterValidator(_workspace_id)] | None = None
    """the id of a central Log Analytics workspace
    (/subscriptions/<guid>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/workspaces/<name>).
    Default: a Log Analytics workspace the shared stack creates in the registry's resource group
    (PerGB2018, retentionDays, Entra-only). The deployer then needs
    Microsoft.OperationalInsights/workspaces/sharedKeys/action on it (declare it in prerequisites.yaml)."""
    retention_days: Annotated[StrictInt, Field(ge=30, le=730)] = 90
    """Days the shared stack's own workspace keeps the logs, 30-730. Default 90. Ignored with
    logAnalyticsWorkspaceId."""
