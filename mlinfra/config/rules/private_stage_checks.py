"""Rules that span sections for a private stage's reachability, compute, outbound rules and
monitoring; called by `mlinfra.config.stage_config` once each section is valid on its own."""

import json
from dataclasses import dataclass
from typing import Any

from mlinfra.settings.network_settings import PRIVATE_DNS_ZONES, REQUIRED_ZONES
from mlinfra.settings.outbound_rule_settings import RULE_SETS, FqdnRule, ServiceTagRule
from mlinfra.settings.workspace_settings import AccessMode, IsolationMode, ScopeMode

MONITOR_ZONE = "privatelink.monitor.azure.com"


@dataclass(frozen=True)
class MonitoringScopeChoice:
    """The stage's Azure Monitor Private Link Scope, defaults applied (`monitoring.privateLinkScope`)."""

    mode: ScopeMode
    ingestion_access_mode: AccessMode | None = None
    """owned only."""
    query_access_mode: AccessMode | None = None
    """owned only."""
    hub_scope_id: str | None = None
    """hub only: the landing zone's scope the stage's resources join."""
    chosen: bool = True
    """False when the mode is the default, not written in the stack file."""


def owns_monitor_namespace(config: Any) -> bool:
    """Whether the stage resolves privatelink.monitor.azure.com in a zone no other workload uses:
    it creates its zones (no `dnsZoneIds`) and links none of them to a hub. Whatever resolves in the
    hub's zones is the landing zone's namespace (Microsoft Learn, azure-monitor/logs/
    private-link-design: "Creating a private link affects traffic to all monitoring resources")."""
    endpoints = config.network.private_endpoints
    if endpoints is None or endpoints.dns_zone_ids is not None:
        return False
    created = endpoints.virtual_network
    peering = created.hub_peering if created is not None else None
    return not getattr(peering, "link_dns_zones", False)


def resolves_through_hub(config: Any) -> bool:
    """Whether the stage's network resolves names in the hub's zones: its endpoints register there
    (`dnsZoneIds`), or the network it creates is peered with the hub (what it has no zone of its
    own for, such as the monitor names in mode hub, it resolves through the hub)."""
    endpoints = config.network.private_endpoints
    if endpoints is None:
        return False
    created = endpoints.virtual_network
    return endpoints.dns_zone_ids is not None or (created is not None and created.hub_peering is not None)


def monitoring_choice(config: Any) -> MonitoringScopeChoice:
    """The mode as configured; else owned where the stage is private and owns its monitor
    namespace, none otherwise (the default that cannot capture another workload's telemetry).
    An owned scope's access modes default to PrivateOnly only in a namespace the stage owns."""
    settings = config.monitoring.private_link_scope
    owns = owns_monitor_namespace(config)
    if settings is not None and settings.mode is not None:
        mode, chosen = settings.mode, True
    elif settings is not None:  # access modes alone describe a scope of the stage's own
        mode, chosen = ScopeMode.OWNED, True
    else:
        private = not config.network.public_network_access_enabled
        mode, chosen = (ScopeMode.OWNED if private and owns else ScopeMode.NONE), False
    if mode == ScopeMode.HUB:
        assert settings is not None  # mode hub is only ever configured
        return MonitoringScopeChoice(mode, hub_scope_id=settings.hub_scope_id)
    if mode == ScopeMode.NONE:
        return MonitoringScopeChoice(mode, chosen=chosen)
    default = AccessMode.PRIVATE_ONLY if owns else AccessMode.OPEN
    return MonitoringScopeChoice(
        mode,
        ingestion_access_mode=(settings and settings.ingestion_access_mode) or default,
        query_access_mode=(settings and settings.query_access_mode) or default,
        chosen=chosen,
    )


def monitoring_scope(config: Any) -> MonitoringScopeChoice | None:
    """The scope of the stage's own it creates (mode owned), else None."""
    choice = monitoring_choice(config)
    return choice if choice.mode == ScopeMode.OWNED else None


def private_stage_problems(config: Any) -> list[str]:
    """Problems as `<key>: <what is wrong and what is allowed>`, without the namespace."""
    return (
        _outbound_problems(config)
        + _compute_problems(config)
        + _monitoring_problems(config)
        + _runner_problems(config)
        + _serverless_problems(config)
    )


def _serverless_problems(config: Any) -> list[str]:
    """`workspace.serverlessCompute` against the network: the custom subnet exists only for a
    workspace without a managed network, and nodes without public IPs need the workspace's endpoint."""
    serverless = config.workspace.serverless_compute
    if serverless is None:
        return []
    key = "workspace.serverlessCompute"
    if config.workspace.isolation_mode != IsolationMode.DISABLED:
        # how-to-managed-network.md, "Limitations": "When using Managed virtual network, you can't
        # deploy compute resources inside your custom virtual network"; how-to-use-serverless-compute.md:
        # serverless jobs need no network settings, "workspace-level managed network isolation is
        # automatically used".
        return [
            f"{key}: only with workspace.isolationMode Disabled; with a managed network "
            f"({config.workspace.isolation_mode.value}) serverless compute runs in the managed network "
            "and reaches the workspace's private resources through its outbound rules, and Azure "
            "places no compute in a customer subnet: remove serverlessCompute"
        ]
    problems = []
    subscription = serverless.subnet_id.split("/")[2]
    if subscription.lower() != str(config.subscription_id).lower():
        # how-to-secure-training-vnet.md, "Prerequisites": "This VNet must be in the same
        # subscription as your Azure Machine Learning workspace."
        problems.append(
            f"{key}.subnetId: got a subnet of subscription {subscription}; expected one of the "
            f"stage's subscription {config.subscription_id} (Azure Machine Learning places compute only "
            "in a network of the workspace's subscription)"
        )
    network = config.network
    if not serverless.public_ip_enabled and (network is None or network.private_endpoints is None):
        # how-to-secure-training-vnet.md, "... with no public IP": "You must use a workspace private
        # endpoint for the compute resource to communicate with Azure Machine Learning services".
        problems.append(
            f"{key}.publicIpEnabled: false needs the workspace's private endpoint "
            "(network.privateEndpoints): nodes without public IPs reach Azure Machine Learning only "
            "through it; set network.privateEndpoints or publicIpEnabled: true"
        )
    return problems


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
    clusters = ([builder] if builder else []) + sorted(config.compute.clusters)
    if (
        clusters
        and not config.network.public_network_access_enabled
        and config.workspace.isolation_mode == IsolationMode.DISABLED
    ):
        # F4: without a managed network a cluster runs on public IPs, which a private stage's
        # storage, registry and monitoring (public ingestion off) all refuse; the project attaches
        # no cluster to a network of the customer's (how-to-managed-network.md, "Limitations").
        return [
            f'workspace.isolationMode: got "Disabled"; the clusters ({", ".join(clusters)}) of a stage '
            "without public network access reach its storage, registry and Azure Monitor only from the "
            "managed network (private-endpoint rules); expected AllowInternetOutbound or AllowOnlyApprovedOutbound"
        ]
    return []


def _monitoring_problems(config: Any) -> list[str]:
    monitoring, network = config.monitoring, config.network
    problems = []
    private = not network.public_network_access_enabled
    if private:
        for key, value in (
            ("publicIngestionEnabled", monitoring.public_ingestion_enabled),
            ("publicQueryEnabled", monitoring.public_query_enabled),
        ):
            if value:
                problems.append(
                    f"monitoring.{key}: got true; must be false when public network access is off"
                )
    endpoints = network.private_endpoints
    choice = monitoring_choice(config)
    problems += _scope_mode_problems(config, choice)
    if choice.mode == ScopeMode.OWNED and endpoints is None:
        problems.append(
            "monitoring.privateLinkScope: needs network.privateEndpoints for its azuremonitor endpoint"
        )
    if endpoints is None or endpoints.dns_zone_ids is None:
        return problems
    monitor_only = [zone for zone in PRIVATE_DNS_ZONES["azuremonitor"] if zone not in REQUIRED_ZONES]
    if choice.mode == ScopeMode.OWNED:
        missing = [zone for zone in monitor_only if zone not in endpoints.dns_zone_ids]
        if missing:
            problems.append(
                f"network.privateEndpoints.dnsZoneIds: has no zone for {', '.join(missing)} "
                "(needed by the monitoring private link scope's azuremonitor endpoint)"
            )
    elif choice.chosen or not private:
        unused = [zone for zone in monitor_only if zone in endpoints.dns_zone_ids]
        if unused:
            problems.append(
                f"network.privateEndpoints.dnsZoneIds: {', '.join(unused)} only serve a monitoring private "
                f"link scope of the stage's own, and monitoring.privateLinkScope.mode is {choice.mode.value} "
                "(no endpoint of the stage registers there); remove them"
            )
    return problems


def _scope_mode_problems(config: Any, choice: MonitoringScopeChoice) -> list[str]:
    """F3: one scope per DNS namespace, PrivateOnly only in a namespace the stage owns, and a private
    stage's telemetry always has a private path (its Log Analytics and App Insights take none from
    the internet)."""
    key = "monitoring.privateLinkScope"
    private = not config.network.public_network_access_enabled
    hub_zones = "network.privateEndpoints.dnsZoneIds (the hub's zones)"
    if choice.mode == ScopeMode.NONE and private:
        if not choice.chosen:
            return [
                f"{key}.mode: required when the stage resolves in the hub's DNS ({hub_zones}, or its own "
                "zones linked to the hub); expected hub "
                "with hubScopeId (the landing zone's scope, the one Microsoft Learn's private-link-design "
                "recommends for a hub and spokes) or owned (Open access only); one DNS namespace holds "
                "one scope's records"
            ]
        return [
            f'{key}.mode: got "none"; a stage without public network access takes no telemetry from '
            "the internet (public ingestion is off), so its Log Analytics and App Insights need a scope: "
            "expected owned or hub"
        ]
    if choice.mode == ScopeMode.HUB and not resolves_through_hub(config):
        return [
            f"{key}.mode: got \"hub\"; the landing zone's scope resolves only in the hub's zones, and this "
            f"stage's network neither registers there ({hub_zones}) nor peers with the hub, or use owned"
        ]
    endpoints = config.network.private_endpoints
    if choice.mode == ScopeMode.OWNED and endpoints is not None and not owns_monitor_namespace(config):
        private_only = [
            name
            for name, value in (
                ("ingestionAccessMode", choice.ingestion_access_mode),
                ("queryAccessMode", choice.query_access_mode),
            )
            if value == AccessMode.PRIVATE_ONLY
        ]
        where = (
            hub_zones
            if endpoints.dns_zone_ids is not None
            else "zones the stage links to the hub (network.privateEndpoints.virtualNetwork.hubPeering.linkDnsZones)"
        )
        return [
            f"{key}.{name}: got {json.dumps(AccessMode.PRIVATE_ONLY.value)}; only where the stage owns the "
            f"{MONITOR_ZONE} zone it resolves in, and this stage resolves in {where}: every network resolving "
            "there could reach only this scope's resources (Microsoft Learn, azure-monitor/logs/"
            "private-link-design); expected Open, or mode hub with hubScopeId"
            for name in private_only
        ]
    return []
