"""`StageDiagnostics` and the shared registry's diagnostic setting: one
`Microsoft.Insights/diagnosticSettings` per resource, all named `SETTING_NAME`, sending to a Log
Analytics workspace what `mlinfra.settings.diagnostic_settings` chooses for the resource type. Azure
allows five settings per resource; a setting of another name (a landing zone's Azure Policy, for
example) is left alone.

Writing a setting that sends to a Log Analytics workspace needs, besides
`Microsoft.Insights/diagnosticSettings/write` on the resource,
`Microsoft.OperationalInsights/workspaces/sharedKeys/action` on the workspace (LinkedAuthorizationFailed
otherwise: MicrosoftDocs/azure-docs#80159, JimGBritt/AzurePolicy#17); the estate verifier checks
both (mlinfra/estate/needs.py).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import monitor, operationalinsights

from mlinfra.settings.diagnostic_settings import CategoryGroup, log_group, metric_category

if TYPE_CHECKING:
    from mlinfra.config.shared_config import SharedConfig
    from mlinfra.config.stage_config import StageConfig
    from mlinfra.stage.ml_workspace import MlWorkspace

SETTING_NAME = "mlinfra-diagnostics"
"""The name of every diagnostic setting the program creates (one per resource)."""
STORAGE_SERVICES = ("blob", "file", "queue", "table")


def diagnostic_setting(
    name: str,
    *,
    resource_type: str,
    resource_uri: pulumi.Input[str],
    workspace_id: pulumi.Input[str],
    category_group: CategoryGroup,
    metrics_enabled: bool,
    parent: pulumi.Resource,
) -> monitor.DiagnosticSetting:
    """The diagnostic setting of one resource, to `workspace_id`."""
    return monitor.DiagnosticSetting(
        name,
        name=SETTING_NAME,
        resource_uri=resource_uri,
        workspace_id=workspace_id,
        logs=[monitor.DiagnosticsLogSettingsArgs(category_group=group.value, enabled=True)]
        if (group := log_group(resource_type, category_group))
        else None,
        metrics=[monitor.DiagnosticsMetricSettingsArgs(category=category, enabled=True)]
        if (category := metric_category(resource_type, metrics_enabled))
        else None,
        opts=pulumi.ResourceOptions(parent=parent),
    )


STORAGE_SERVICES = ("blob", "file", "queue", "table")


@dataclass(frozen=True, kw_only=True)
class StageDiagnosticsArgs:
    targets: Mapping[str, tuple[str, pulumi.Input[str]]]
    """Logical role (`workspace`, `keyvault`, ...) -> (resource type, resource id)."""
    workspace_id: pulumi.Input[str]
    """The Log Analytics workspace the settings send to."""
    category_group: CategoryGroup = CategoryGroup.ALL_LOGS
    """The log category group; default allLogs (see `logs`)."""
    metrics_enabled: bool = True
    """Whether AllMetrics is sent where the type has metrics; default true."""


class StageDiagnostics(pulumi.ComponentResource):
    """One diagnostic setting per target, each sending to the same Log Analytics workspace."""

    settings: dict[str, monitor.DiagnosticSetting]

    def __init__(self, name: str, args: StageDiagnosticsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:StageDiagnostics", name, None, opts)
        self.settings = {
            role: diagnostic_setting(
                f"{name}-{role}",
                resource_type=resource_type,
                resource_uri=resource_id,
                workspace_id=args.workspace_id,
                category_group=args.category_group,
                metrics_enabled=args.metrics_enabled,
                parent=self,
            )
            for role, (resource_type, resource_id) in args.targets.items()
            # A setting must send something: the storage account has metrics only.
            if log_group(resource_type, args.category_group)
            or metric_category(resource_type, args.metrics_enabled)
        }
        self.register_outputs({})


def workspace_targets(workspace: "MlWorkspace") -> dict[str, tuple[str, pulumi.Input[str]]]:
    """The stage's resources that get a diagnostic setting, by role."""
    account = workspace.storage_account_id
    return {
        "workspace": ("Microsoft.MachineLearningServices/workspaces", workspace.workspace_id),
        "keyvault": ("Microsoft.KeyVault/vaults", workspace.key_vault_id),
        "storage": ("Microsoft.Storage/storageAccounts", account),
        **{
            # Each storage service is the account's child named `default` (Microsoft.Storage REST API).
            f"storage-{service}": (
                f"Microsoft.Storage/storageAccounts/{service}Services",
                pulumi.Output.concat(account, f"/{service}Services/default"),
            )
            for service in STORAGE_SERVICES
        },
        "registry": ("Microsoft.ContainerRegistry/registries", workspace.container_registry_id),
    }


def stage_diagnostics(
    name: str, config: "StageConfig", workspace: "MlWorkspace", parent: pulumi.Resource
) -> StageDiagnostics | None:
    """The stage's diagnostic settings (`mlinfra:diagnostics`), or None where they are off."""
    settings = config.diagnostics
    if not settings.active(config.stage_definition.production):
        return None
    return StageDiagnostics(
        f"{name}-diagnostics",
        StageDiagnosticsArgs(
            targets=workspace_targets(workspace),
            workspace_id=settings.log_analytics_workspace_id or workspace.log_analytics_id,
            category_group=settings.category_group,
            metrics_enabled=settings.metrics_enabled,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def registry_diagnostics(
    config: "SharedConfig",
    registry_id: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    tags: Mapping[str, str],
    parent: pulumi.Resource,
) -> monitor.DiagnosticSetting | None:
    """The shared registry's diagnostic setting (`mlinfra:diagnostics` of the shared stack), to the
    central workspace or to one the shared stack creates in the registry's group; None when off."""
    settings = config.diagnostics
    if not settings.enabled:
        return None
    destination: pulumi.Input[str] | None = settings.log_analytics_workspace_id
    if destination is None:
        destination = operationalinsights.Workspace(
            "registry-logs",
            workspace_name=config.names.log_analytics,
            resource_group_name=resource_group_name,
            location=config.location,
            sku=operationalinsights.WorkspaceSkuArgs(
                name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018
            ),
            retention_in_days=settings.retention_days,
            features=operationalinsights.WorkspaceFeaturesArgs(disable_local_auth=True),  # Entra only
            tags=dict(tags),
            # The registry's audit trail outlives any one deployment of it, like the registry.
            opts=pulumi.ResourceOptions(parent=parent, protect=True, retain_on_delete=True),
        ).id
    return diagnostic_setting(
        "registry-diagnostics",
        resource_type="Microsoft.MachineLearningServices/registries",
        resource_uri=registry_id,
        workspace_id=destination,
        category_group=CategoryGroup.ALL_LOGS,
        metrics_enabled=False,
        parent=parent,
    )
