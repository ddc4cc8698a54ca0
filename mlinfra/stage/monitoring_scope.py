"""`MonitoringScope`: an Azure Monitor Private Link Scope (AMPLS) for the stage's Log Analytics
workspace and App Insights, and its private endpoint (`azuremonitor`) in the endpoint subnet.

With it, telemetry and queries from the stage's network stay on private IPs, so both resources
can turn public ingestion and query off (R1). The endpoint registers in the five zones Microsoft
Learn lists for Azure Monitor (private-link/private-endpoint-dns): monitor, oms, ods, agentsvc,
and blob (agent solution packs). One AMPLS per DNS namespace: a hub that already has one should
host the stage's resources in it instead (Microsoft Learn, azure-monitor/logs/private-link-design),
so a stage on the hub's zones joins the hub's scope (`monitoring.privateLinkScope.mode: hub`,
`hub_scope_request`) and creates none.

Managed compute and endpoints (F4) run in the workspace's Microsoft-managed network, not in the
stage's: their telemetry reaches a scope only through a private-endpoint outbound rule to it
(MicrosoftDocs/azure-ai-docs how-to-managed-network.md, "Private endpoints": "Application
Insights (Through PrivateLinkScopes)"). `managed_network_rule` adds it, to the stage's scope or the
hub's, after the workspace's other rules.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as mls
from pulumi_azure_native import monitor

from mlinfra.settings.workspace_settings import AccessMode
from mlinfra.stage.stage_network import PrivateLink, private_endpoint

MONITOR_GROUP = "azuremonitor"
MANAGED_NETWORK_RULE = "azure-monitor"
"""The managed network's private-endpoint outbound rule to the monitoring scope (sub-resource azuremonitor)."""


@dataclass(frozen=True, kw_only=True)
class MonitoringScopeArgs:
    scope_name: str
    resource_group_name: pulumi.Input[str]
    tags: Mapping[str, str]
    ingestion_access_mode: AccessMode
    query_access_mode: AccessMode
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
                ingestion_access_mode=args.ingestion_access_mode.value,
                query_access_mode=args.query_access_mode.value,
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


def managed_network_rule(
    name: str,
    *,
    workspace_name: pulumi.Input[str],
    resource_group_name: pulumi.Input[str],
    scope_id: pulumi.Input[str],
    after: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> mls.ManagedNetworkSettingsRule:
    """The managed network's private endpoint to the monitoring scope `scope_id` (F4), written after
    `after` (the workspace's other rules: they all write the same managed network)."""
    return mls.ManagedNetworkSettingsRule(
        f"{name}-{MANAGED_NETWORK_RULE}",
        rule_name=MANAGED_NETWORK_RULE,
        workspace_name=workspace_name,
        resource_group_name=resource_group_name,
        properties=mls.PrivateEndpointOutboundRuleArgs(
            type="PrivateEndpoint",
            category=mls.RuleCategory.USER_DEFINED,
            destination=mls.PrivateEndpointDestinationArgs(
                service_resource_id=scope_id, subresource_target=MONITOR_GROUP, spark_enabled=False
            ),
        ),
        # One managed network: its rules are written one after another.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=after or None),
    )


def hub_scope_request(
    hub_scope_id: str, scoped: Mapping[str, pulumi.Input[str]], managed_network: bool
) -> dict[str, object]:
    """What the hub team does for a stage that joins its scope (`monitoringScopeRequest` output):
    add the stage's Log Analytics workspace and App Insights as scoped resources, and approve the
    managed network's private-endpoint connection when there is one."""
    return {
        "privateLinkScopeId": hub_scope_id,
        "scopedResources": dict(scoped),
        "approveManagedNetworkEndpoint": managed_network,
        "why": "one Azure Monitor private link scope per DNS namespace: the stage resolves in the hub's "
        "zones, so its telemetry goes through the hub's scope (Microsoft Learn, azure-monitor/logs/"
        "private-link-design)",
    }
