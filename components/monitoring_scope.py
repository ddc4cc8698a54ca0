"""`MonitoringScope`: an Azure Monitor Private Link Scope (AMPLS) for the stage's Log Analytics
workspace and App Insights, and its private endpoint (`azuremonitor`) in the endpoint subnet.

With it, telemetry and queries from the stage's network stay on private IPs, so both resources
can turn public ingestion and query off (R1). The endpoint registers in the five zones Microsoft
Learn lists for Azure Monitor (private-link/private-endpoint-dns): monitor, oms, ods, agentsvc,
and blob (agent solution packs). One AMPLS per DNS namespace: a hub that already has one should
host the stage's resources in it instead (Microsoft Learn, azure-monitor/logs/private-link-design).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import monitor

from components.stage_network import PrivateLink, private_endpoint
from components.workspace_settings import PrivateLinkScopeSettings

MONITOR_GROUP = "azuremonitor"


@dataclass(frozen=True, kw_only=True)
class MonitoringScopeArgs:
    scope_name: str
    resource_group_name: pulumi.Input[str]
    tags: Mapping[str, str]
    settings: PrivateLinkScopeSettings
    scoped: Mapping[str, pulumi.Input[str]]
    """Scoped resource name -> resource id (Log Analytics workspace, App Insights)."""
    link: PrivateLink
    endpoint_name: str


class MonitoringScope(pulumi.ComponentResource):
    scope_id: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringScopeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:MonitoringScope", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = monitor.PrivateLinkScope(
            f"{name}-scope",
            scope_name=args.scope_name,
            resource_group_name=args.resource_group_name,
            location="global",  # AMPLS is a global resource
            access_mode_settings=monitor.AccessModeSettingsArgs(
                ingestion_access_mode=args.settings.ingestion_access_mode.value,
                query_access_mode=args.settings.query_access_mode.value,
            ),
            tags=dict(args.tags),
            opts=child,
        )
        for scoped_name, resource_id in args.scoped.items():
            monitor.PrivateLinkScopedResource(
                f"{name}-{scoped_name}",
                name=scoped_name,
                scope_name=scope.name,
                resource_group_name=args.resource_group_name,
                linked_resource_id=resource_id,
                kind=monitor.ScopedResourceKind.RESOURCE,
                opts=child,
            )
        private_endpoint(
            f"{name}-endpoint",
            endpoint_name=args.endpoint_name,
            target_id=scope.id,
            group=MONITOR_GROUP,
            link=args.link,
            parent=self,
        )
        self.scope_id = scope.id
        self.register_outputs({})
