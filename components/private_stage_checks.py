"""Rules that span sections for a private stage's reachability, compute, outbound rules and
monitoring; called by `components.config` once each section is valid on its own."""

from typing import Any

from components.network_settings import PRIVATE_DNS_ZONES, REQUIRED_ZONES
from components.outbound_rule_settings import RULE_SETS, FqdnRule, ServiceTagRule
from components.workspace_settings import IsolationMode, PrivateLinkScopeSettings


def monitoring_scope(config: Any) -> PrivateLinkScopeSettings | None:
    """The stage's monitoring private link scope: as configured, else one with PrivateOnly access
    whenever public network access is off (R1), else none."""
    if config.monitoring.private_link_scope is not None:
        return config.monitoring.private_link_scope
    return None if config.network.public_network_access_enabled else PrivateLinkScopeSettings()


def private_stage_problems(config: Any) -> list[str]:
    """Problems as `<key>: <what is wrong and what is allowed>`, without the namespace."""
    return (
        _outbound_problems(config)
        + _compute_problems(config)
        + _monitoring_problems(config)
        + _runner_problems(config)
    )


def _runner_problems(config: Any) -> list[str]:
    """A private stage's data plane is reachable only from inside its network: CI jobs on hosted
    runners would fail at their first call into the workspace, after the stage is deployed."""
    if config.network.public_network_access_enabled or config.ci is None or config.ci.runner_group:
        return []
    return [
        "ci.runnerGroup: required when ci is set and network.publicNetworkAccessEnabled is false; "
        "expected the runner group (GitHub) or agent pool (Azure DevOps) whose machines reach the stage's network"
    ]


def _outbound_problems(config: Any) -> list[str]:
    workspace = config.workspace
    problems = []
    mode = workspace.isolation_mode
    fqdn = sorted(name for name, rule in workspace.outbound_rules.items() if isinstance(rule, FqdnRule))
    tags = sorted(name for name, rule in workspace.outbound_rules.items() if isinstance(rule, ServiceTagRule))
    preset_fqdn = [name for rule_set in workspace.outbound_rule_sets for name in RULE_SETS[rule_set]]
    wants_rules = (
        workspace.outbound_rules or workspace.outbound_rule_sets or workspace.batch_endpoints_enabled
    )
    if wants_rules and mode == IsolationMode.DISABLED:
        problems.append(
            'workspace.isolationMode: got "Disabled"; outbound rules need a managed network '
            "(AllowInternetOutbound or AllowOnlyApprovedOutbound)"
        )
    elif mode == IsolationMode.ALLOW_INTERNET_OUTBOUND and (fqdn or tags or preset_fqdn):
        problems.append(
            f"workspace.outboundRules: {', '.join(fqdn + tags + preset_fqdn)} allow what AllowInternetOutbound "
            "already allows; only PrivateEndpoint rules apply there (how-to-managed-network.md)"
        )
    if (fqdn or preset_fqdn) and workspace.firewall_sku is None:
        problems.append(
            "workspace.firewallSku: required with FQDN outbound rules "
            f"({', '.join(fqdn + preset_fqdn)}); expected Standard or Basic, the Azure Firewall the managed "
            "network deploys for them (Standard about USD 1.25/hour, Basic about USD 0.40/hour)"
        )
    clashes = sorted(set(workspace.outbound_rules) & set(preset_fqdn))
    if clashes:
        problems.append(
            f"workspace.outboundRules: {', '.join(clashes)} is also a rule of outboundRuleSets; rename it"
        )
    reserved = sorted(set(workspace.outbound_rules) & {"storage-queue", "storage-table"})
    if reserved and workspace.batch_endpoints_enabled:
        problems.append(
            f"workspace.outboundRules: {', '.join(reserved)} is set by batchEndpointsEnabled; rename it"
        )
    return problems


def _compute_problems(config: Any) -> list[str]:
    builder = config.workspace.image_build_compute
    if builder and builder in config.compute.clusters:
        return [
            f"compute.clusters.{builder}: already the image-build cluster (workspace.imageBuildCompute); "
            "size it under compute.imageBuilder"
        ]
    return []


def _monitoring_problems(config: Any) -> list[str]:
    monitoring, network = config.monitoring, config.network
    problems = []
    if not network.public_network_access_enabled:
        for key, value in (
            ("publicIngestionEnabled", monitoring.public_ingestion_enabled),
            ("publicQueryEnabled", monitoring.public_query_enabled),
        ):
            if value:
                problems.append(
                    f"monitoring.{key}: got true; must be false when public network access is off"
                )
    endpoints = network.private_endpoints
    scope = monitoring_scope(config)
    if scope is not None and endpoints is None:
        problems.append(
            "monitoring.privateLinkScope: needs network.privateEndpoints for its azuremonitor endpoint"
        )
    if endpoints is None or endpoints.dns_zone_ids is None:
        return problems
    monitor_only = [zone for zone in PRIVATE_DNS_ZONES["azuremonitor"] if zone not in REQUIRED_ZONES]
    if scope is not None:
        missing = [zone for zone in monitor_only if zone not in endpoints.dns_zone_ids]
        if missing:
            problems.append(
                f"network.privateEndpoints.dnsZoneIds: has no zone for {', '.join(missing)} "
                "(needed by the monitoring private link scope's azuremonitor endpoint)"
            )
    else:
        unused = [zone for zone in monitor_only if zone in endpoints.dns_zone_ids]
        if unused:
            problems.append(
                f"network.privateEndpoints.dnsZoneIds: {', '.join(unused)} only serve monitoring.privateLinkScope, "
                "which is not set; remove them or set it"
            )
    return problems
