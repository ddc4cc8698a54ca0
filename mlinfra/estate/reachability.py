"""Network paths and DNS across the estate (EV-10..EV-14).

The picture, from the plans and `prerequisites.yaml`'s landing zone:
- networks: the hub, the landing zone's spokes, and each stage network the plans create; a stage
  network with a peering to the hub is hub-connected, and so is a network whose private endpoints
  register in the landing zone's zones; hub-connected networks reach each other through the hub;
- names: a landing-zone zone resolves in every hub-connected network; a zone linked to a network
  resolves there; a zone linked to the hub resolves in every hub-connected network;
- clients: GitHub-hosted runners and laptops are on the Internet; a stage with `ci.runnerGroup`
  runs its jobs in its own network; a workspace's managed network reaches a private resource only
  through a private-endpoint outbound rule (MicrosoftDocs/azure-ai-docs
  articles/machine-learning/how-to-managed-network.md: "Regardless of the outbound mode ...
  traffic to Azure resources can be configured to use a private endpoint").
A service with public network access reaches every client; a private one only clients whose
network routes to one of its private endpoints and resolves that endpoint's zone
(azure-ai-docs how-to-registry-network-isolation.md: "Clients need to be connected to the VNet to
which the registry is connected with a private endpoint").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from mlinfra.estate.findings import Finding
from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.prerequisites import Prerequisites
from mlinfra.facts.rbac import Grant, allowing, builtin_roles, role_guid
from mlinfra.planner.mock_cloud import registry_regions, system_principal_id
from mlinfra.planner.recorder import Resource

INTERNET = "the Internet"
MONITOR_ZONE = "privatelink.monitor.azure.com"
BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"


def _low(value) -> str:
    return str(value or "").lower()


def vnet_of(subnet_id: str) -> str:
    return subnet_id.split("/subnets/", 1)[0] if "/subnets/" in subnet_id.lower() else subnet_id


def zone_name(zone_id: str) -> str:
    return zone_id.rstrip("/").rsplit("/", 1)[-1].lower()


@dataclass
class Endpoint:
    stack: str
    name: str
    network: str
    targets: list[str]
    groups: list[str]
    zones: list[str] = field(default_factory=list)


@dataclass
class Network:
    """What the estate knows of networks and names."""

    hub: str
    hub_connected: set[str]
    landing_zones: set[str]
    links: dict[str, set[str]]
    """zone id -> networks it is linked to."""
    endpoints: list[Endpoint]

    def resolves(self, zone: str, network: str) -> bool:
        zone, network = zone.lower(), network.lower()
        linked = self.links.get(zone, set())
        if network in linked:
            return True
        return network in self.hub_connected and (zone in self.landing_zones or self.hub in linked)

    def routes(self, client: str, endpoint_network: str) -> bool:
        client, endpoint_network = client.lower(), endpoint_network.lower()
        if client == INTERNET.lower():
            return False
        return client == endpoint_network or (
            client in self.hub_connected and endpoint_network in self.hub_connected
        )

    def reaches(self, client: str, target: str) -> bool:
        """Whether `client` has a private path (route and name) to `target`."""
        return any(
            target.lower() in (t.lower() for t in e.targets)
            and self.routes(client, e.network)
            and any(self.resolves(z, client) for z in e.zones)
            for e in self.endpoints
        )


def build_network(stacks: list[StackPlan], prerequisites: Prerequisites) -> Network:
    zone = prerequisites.landing_zone
    hub = _low(zone.hub_virtual_network_id)
    connected = {hub, *(_low(v) for v in zone.spoke_virtual_network_ids)} - {""}
    links: dict[str, set[str]] = defaultdict(set)
    for landing in zone.private_dns_zone_ids:
        if hub:
            links[_low(landing)].add(hub)
    endpoints: list[Endpoint] = []
    for stack in stacks:
        for peering in stack.plan.of_type("azure-native:network:VirtualNetworkPeering"):
            if hub and _low((peering.inputs.get("remoteVirtualNetwork") or {}).get("id")) == hub:
                i = peering.inputs
                connected.add(
                    f"/subscriptions/{stack.subscription_id}/resourcegroups/{_low(i.get('resourceGroupName'))}"
                    f"/providers/microsoft.network/virtualnetworks/{_low(i.get('virtualNetworkName'))}"
                )
        for link in stack.plan.of_type("azure-native:privatedns:VirtualNetworkLink"):
            i = link.inputs
            zone_id = (
                f"/subscriptions/{stack.subscription_id}/resourcegroups/{_low(i.get('resourceGroupName'))}"
                f"/providers/microsoft.network/privatednszones/{_low(i.get('privateZoneName'))}"
            )
            links[zone_id].add(_low((i.get("virtualNetwork") or {}).get("id")))
        groups = {
            _low(g.inputs.get("privateEndpointName")): [
                _low(c.get("privateDnsZoneId")) for c in g.inputs.get("privateDnsZoneConfigs") or []
            ]
            for g in stack.plan.of_type("azure-native:network:PrivateDnsZoneGroup")
        }
        for pe in stack.plan.of_type("azure-native:network:PrivateEndpoint"):
            connections = pe.inputs.get("privateLinkServiceConnections") or []
            endpoints.append(
                Endpoint(
                    stack.label,
                    pe.name,
                    _low(vnet_of(str((pe.inputs.get("subnet") or {}).get("id", "")))),
                    [str(c.get("privateLinkServiceId", "")) for c in connections],
                    [g for c in connections for g in c.get("groupIds") or []],
                    groups.get(_low(pe.inputs.get("privateEndpointName")), []),
                )
            )
    landing = {_low(z) for z in zone.private_dns_zone_ids}
    # A network whose private endpoints register in the landing zone's zones is one of its spokes:
    # the stack that put them there says so (prod's `privateEndpoints.subnetId` + hub `dnsZoneIds`).
    connected |= {e.network for e in endpoints if e.network and any(z in landing for z in e.zones)}
    return Network(hub, connected, landing, dict(links), endpoints)


def _runner_network(stack: StackPlan) -> str:
    """Where the stage's own pipeline jobs run: its network with private runners, else the Internet."""
    ci = stack.setting("mlinfra:ci") or {}
    if not isinstance(ci, dict) or not ci.get("runnerGroup"):
        return INTERNET
    for vnet in stack.plan.of_type("azure-native:network:VirtualNetwork"):
        return _low(stack.arm_id(vnet))
    network = stack.setting("mlinfra:network") or {}
    subnet = ((network.get("privateEndpoints") or {}) if isinstance(network, dict) else {}).get("subnetId")
    return _low(vnet_of(subnet)) if subnet else INTERNET


def _public(resource) -> bool:
    return str(resource.inputs.get("publicNetworkAccess", "Enabled")).lower() != "disabled"


def _registries(stacks: list[StackPlan]) -> dict[str, tuple[StackPlan, Resource]]:
    found = {}
    for stack in stacks:
        for registry in stack.plan.of_type("azure-native:machinelearningservices:Registry"):
            found[_low(stack.arm_id(registry))] = (stack, registry)
    return found


def _registry_uses(stack: StackPlan, registries: dict[str, tuple[StackPlan, Resource]]) -> list[str]:
    """The shared registries a stage uses: those its role assignments or outbound rules point at."""
    used = {
        _low(a.inputs.get("scope")) for a in stack.plan.of_type("azure-native:authorization:RoleAssignment")
    }
    for workspace in stack.plan.of_type("azure-native:machinelearningservices:Workspace"):
        used |= _pe_rule_targets(stack, str(workspace.inputs.get("workspaceName")))
    return sorted(used & set(registries))


def _pe_rule_targets(stack: StackPlan, workspace_name: str) -> set[str]:
    targets = set()
    for rule in stack.plan.of_type("azure-native:machinelearningservices:ManagedNetworkSettingsRule"):
        if rule.inputs.get("workspaceName") != workspace_name:
            continue
        properties = rule.inputs.get("properties") or {}
        destination = properties.get("destination")
        if properties.get("type") == "PrivateEndpoint" and isinstance(destination, dict):
            targets.add(_low(destination.get("serviceResourceId")))
    return targets


APPROVE = "Microsoft.MachineLearningServices/registries/privateEndpointConnectionsApproval/action"
"""What approves a managed network's private endpoint to a registry: "the workspace managed
identity ... and the user identity that initiates the creation of the private endpoint, must have
permissions to approve the Private Endpoint connections on the target resources. After April
30th, 2025, permissions aren't automatically granted" (MicrosoftDocs/azure-ai-docs
articles/machine-learning/how-to-managed-network.md, "Approval of private endpoints"). Without it
the connection stays Pending (review-3 R2)."""


@dataclass(frozen=True)
class RegistryPath:
    """How one client of a stage reaches a shared registry it uses, or why it cannot."""

    stack: StackPlan
    client: str
    """"runners" (the stage's pipeline jobs) or "managed network" (the workspace's jobs and endpoints)."""
    use: str
    """publish or read."""
    registry: Resource
    registry_id: str
    via: str
    """The path: public network access, a private endpoint (name and network), or an outbound rule."""
    exists: bool
    problem: str = ""
    resource: str | None = None

    def finding(self) -> Finding:
        return Finding(
            "EV-12",
            self.stack.label,
            f"{self.stack.stack}'s {self.problem}",
            self.resource or self.registry.name,
            scope=self.registry_id,
        )


def registry_parts(owner: StackPlan, registry: Resource) -> list[tuple[str, str, str]]:
    """(region, kind, resource id) of the storage accounts and ACRs the registry creates in each of
    its regions, with the ids the service reports (`mlinfra.planner.mock_cloud.registry_regions`, the
    offline answer of regionDetails[].storageAccountDetails[].systemCreatedStorageAccount
    .armResourceId and ...acrDetails[].systemCreatedAcrAccount.armResourceId)."""
    parts = []
    regions = registry_regions(
        registry.inputs.get("regionDetails") or [],
        str(registry.inputs.get("registryName")),
        owner.subscription_id,
    )
    for region in regions:
        for entry in region["storageAccountDetails"]:
            parts.append(
                (
                    region["location"],
                    "storage account",
                    entry["systemCreatedStorageAccount"]["armResourceId"]["resourceId"],
                )
            )
        for entry in region["acrDetails"]:
            parts.append(
                (
                    region["location"],
                    "container registry",
                    entry["systemCreatedAcrAccount"]["armResourceId"]["resourceId"],
                )
            )
    return parts


def _endpoint_to(network: Network, client: str, target: str) -> Endpoint | None:
    """The first private endpoint of `target` that `client` routes to and resolves."""
    for endpoint in network.endpoints:
        if (
            target.lower() in (t.lower() for t in endpoint.targets)
            and network.routes(client, endpoint.network)
            and any(network.resolves(z, client) for z in endpoint.zones)
        ):
            return endpoint
    return None


def registry_paths(
    stack: StackPlan, registries: dict[str, tuple[StackPlan, Resource]], network: Network
) -> list[RegistryPath]:
    """Every path of `stack` to a shared registry it uses (docs/networking.md, "Registry"):
    - its pipeline jobs (publish or read, `mlinfra:registry.deploymentIdentity`): through the
      registry's public network access when it has it, else through a private endpoint of the
      registry's API routed and resolved in the runners' network; a private registry's publisher
      also needs the primary region's storage account that way (uploads go there);
    - its workspace's managed network, whatever the isolation mode: a private-endpoint outbound
      rule to the registry, whose connection the workspace's identity may approve (APPROVE) from
      the stage's own role assignments (how-to-managed-network.md: "Regardless of the outbound mode
      ... traffic to Azure resources can be configured to use a private endpoint")."""
    paths: list[RegistryPath] = []
    runners = _runner_network(stack)
    where = "GitHub-hosted runners on the Internet" if runners == INTERNET else f"runners in {runners}"
    setting = stack.setting("mlinfra:registry") or {}
    use = setting.get("deploymentIdentity") if isinstance(setting, dict) else None
    for registry_id in _registry_uses(stack, registries):
        owner, registry = registries[registry_id]
        name = registry.inputs.get("registryName")
        if use:
            if _public(registry):
                paths.append(
                    RegistryPath(
                        stack,
                        "runners",
                        str(use),
                        registry,
                        registry_id,
                        f"public network access (Entra ID and {registry.inputs.get('registryName')}'s role assignments)",
                        True,
                    )
                )
            else:
                targets = [("registry", registry_id)]
                if use == "publish":
                    targets += [
                        (f"storage account in {region}", part)
                        for region, kind, part in registry_parts(owner, registry)[:1]
                        if kind == "storage account"
                    ]
                missing = [what for what, target in targets if _endpoint_to(network, runners, target) is None]
                endpoint = _endpoint_to(network, runners, registry_id)
                paths.append(
                    RegistryPath(
                        stack,
                        "runners",
                        str(use),
                        registry,
                        registry_id,
                        f"private endpoint {endpoint.name} in {endpoint.network}"
                        if endpoint and not missing
                        else "",
                        not missing,
                        f"pipeline jobs ({where}) cannot reach the shared registry {name} ({use}): its public network access is Disabled and no private endpoint of its {' and '.join(missing)} is routed and resolved there",
                    )
                )
        for workspace in stack.plan.of_type("azure-native:machinelearningservices:Workspace"):
            isolation = (workspace.inputs.get("managedNetwork") or {}).get("isolationMode", "Disabled")
            if isolation == "Disabled":
                continue
            rules = _pe_rules_to(stack, str(workspace.inputs.get("workspaceName")), registry_id)
            if not rules:
                paths.append(
                    RegistryPath(
                        stack,
                        "managed network",
                        "read",
                        registry,
                        registry_id,
                        "",
                        False,
                        f"managed network ({isolation}) has no private-endpoint outbound rule to the shared registry {name}: every managed network gets one whatever its isolation mode (docs/networking.md, Registry), and jobs and endpoints cannot use its assets otherwise",
                        workspace.name,
                    )
                )
                continue
            approved = _approves(stack, workspace, registry_id)
            paths.append(
                RegistryPath(
                    stack,
                    "managed network",
                    "read",
                    registry,
                    registry_id,
                    f"outbound rule {rules[0].inputs.get('ruleName')} (private endpoint, approved by the workspace's identity)",
                    approved,
                    f"managed network's private endpoint to the shared registry {name} would stay Pending: the workspace's identity holds no {APPROVE} on it (how-to-managed-network.md, Approval of private endpoints)",
                    rules[0].name,
                )
            )
    return paths


def _pe_rules_to(stack: StackPlan, workspace_name: str, target: str) -> list[Resource]:
    rules = []
    for rule in stack.plan.of_type("azure-native:machinelearningservices:ManagedNetworkSettingsRule"):
        properties = rule.inputs.get("properties") or {}
        destination = properties.get("destination")
        if (
            rule.inputs.get("workspaceName") == workspace_name
            and properties.get("type") == "PrivateEndpoint"
            and isinstance(destination, dict)
            and _low(destination.get("serviceResourceId")) == target
        ):
            rules.append(rule)
    return rules


def _approves(stack: StackPlan, workspace: Resource, registry_id: str) -> bool:
    """Whether the stage grants the workspace's system identity APPROVE on the registry."""
    principal = system_principal_id(stack.arm_id(workspace) or "")
    grants = [
        Grant(str(a.inputs.get("scope")), builtin_roles()[guid])
        for a in stack.plan.of_type("azure-native:authorization:RoleAssignment")
        if a.inputs.get("principalId") == principal
        and (guid := role_guid(str(a.inputs.get("roleDefinitionId")))) in builtin_roles()
    ]
    return bool(allowing(grants, APPROVE, registry_id))


def check_registry_endpoints(
    registries: dict[str, tuple[StackPlan, Resource]], network: Network
) -> list[Finding]:
    """EV-13: a registry that is private, or has a private endpoint at all, has one for the storage
    account and the ACR of each of its regions: model downloads go to the storage and image pulls
    to the ACR (MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-registry-network-isolation.md:
    "create a private endpoint from the existing virtual network to Azure Machine Learning registry
    and associated resources (storage and ACR)")."""
    findings = []
    for registry_id, (owner, registry) in registries.items():
        owned = {t.lower() for e in network.endpoints if e.stack == owner.label for t in e.targets}
        if _public(registry) and registry_id not in owned:
            continue
        missing = [
            f"{kind} in {region}"
            for region, kind, part in registry_parts(owner, registry)
            if part.lower() not in owned
        ]
        if missing:
            findings.append(
                Finding(
                    "EV-13",
                    owner.label,
                    f"shared registry {registry.inputs.get('registryName')} has private clients but its system-created {', '.join(missing)} {'have' if len(missing) > 1 else 'has'} no private endpoint: model downloads and image pulls from private clients fail",
                    registry.name,
                    scope=registry_id,
                )
            )
    return findings


def check_paths(stacks: list[StackPlan], network: Network) -> list[Finding]:
    findings: list[Finding] = []
    registries = _registries(stacks)
    for stack in (s for s in stacks if s.kind == "stage"):
        runners = _runner_network(stack)
        findings += [p.finding() for p in registry_paths(stack, registries, network) if not p.exists]
        for workspace in stack.plan.of_type("azure-native:machinelearningservices:Workspace"):
            workspace_id = _low(stack.arm_id(workspace))
            if not _public(workspace) and not network.reaches(runners, workspace_id):
                findings.append(
                    Finding(
                        "EV-12",
                        stack.label,
                        f"{stack.stack}'s pipeline jobs ({'GitHub-hosted runners on the Internet' if runners == INTERNET else runners}) cannot reach workspace {workspace.inputs.get('workspaceName')}: public network access is Disabled and no private endpoint of it is routed and resolved there",
                        workspace.name,
                        scope=workspace_id,
                    )
                )
    for stack in (s for s in stacks if s.kind == "bootstrap"):
        for account in stack.plan.of_type("azure-native:storage:StorageAccount"):
            rules = account.inputs.get("networkRuleSet") or {}
            if not _public(account) or str(rules.get("defaultAction", "Allow")).lower() == "deny":
                findings.append(
                    Finding(
                        "EV-12",
                        stack.label,
                        f"the infra pipelines' GitHub-hosted runners cannot reach the state account {account.inputs.get('accountName')}: it denies public network access",
                        account.name,
                    )
                )
    findings += check_registry_endpoints(registries, network)
    return findings


def check_dns(
    stacks: list[StackPlan], network: Network, landing_scope_id: str | None = None
) -> list[Finding]:
    findings: list[Finding] = []
    by_vnet_name: dict[tuple[str, str], set[str]] = defaultdict(set)
    for zone_id, vnets in network.links.items():
        for vnet in vnets:
            by_vnet_name[(vnet, zone_name(zone_id))].add(zone_id)
    overlapping: dict[str, list[tuple[str, set[str]]]] = defaultdict(list)
    for (vnet, name), zones in sorted(by_vnet_name.items()):
        if len(zones) > 1:
            overlapping[vnet].append((name, zones))
    for vnet, clashes in sorted(overlapping.items()):
        zones = set().union(*(z for _, z in clashes))
        names = ", ".join(name for name, _ in clashes)
        findings.append(
            Finding(
                "EV-10",
                _owner(stacks, zones),
                f"network {vnet} would be linked to two private DNS zones of each of these names, which Azure refuses (overlapping namespaces): {names}",
                scope=vnet,
            )
        )
    for stack in stacks:
        to_hub = [
            link
            for link in stack.plan.of_type("azure-native:privatedns:VirtualNetworkLink")
            if network.hub and _low((link.inputs.get("virtualNetwork") or {}).get("id")) == network.hub
        ]
        if to_hub:
            names = ", ".join(sorted(str(link.inputs.get("privateZoneName")) for link in to_hub))
            findings.append(
                Finding(
                    "EV-10",
                    stack.label,
                    f"{stack.stack} links {len(to_hub)} of its own zones to the hub network {network.hub}, so every network that resolves through the hub would resolve them in {stack.stack}'s zones: {names}",
                    to_hub[0].name,
                    scope=network.hub,
                )
            )
    scopes: dict[str, dict[str, tuple[StackPlan | None, str]]] = defaultdict(dict)
    """namespace -> scope id -> (the stack that creates it, or None for the landing zone's; its label)."""
    landing_namespace = "the landing zone (hub DNS)"
    declared = _low(landing_scope_id)
    if declared:
        scopes[landing_namespace][declared] = (None, f"landing zone:{zone_name(declared)}")
    for stack, joined in _hub_scope_joiners(stacks):
        if declared and joined != declared:
            findings.append(
                Finding(
                    "EV-11",
                    stack.label,
                    f"{stack.stack} joins the monitoring private link scope {joined}, but the landing zone's is {declared} (prerequisites.yaml landingZone.monitorPrivateLinkScopeId)",
                    scope=joined,
                )
            )
        scopes[landing_namespace].setdefault(joined, (None, f"{stack.stack}:hub {zone_name(joined)}"))
        networks = {e.network for e in network.endpoints if e.stack == stack.label}
        if not networks & network.hub_connected:
            findings.append(
                Finding(
                    "EV-11",
                    stack.label,
                    f"{stack.stack} joins the landing zone's monitoring private link scope, but its network does not resolve through the hub: its telemetry would not reach the scope's endpoint",
                    scope=joined,
                )
            )
    for stack in stacks:
        for scope in stack.plan.of_type("azure-native:monitor:PrivateLinkScope"):
            scope_id = _low(stack.arm_id(scope))
            zones = [
                z
                for e in network.endpoints
                if scope_id in (t.lower() for t in e.targets)
                for z in e.zones
                if zone_name(z) == MONITOR_ZONE
            ]
            landing = any(
                z in network.landing_zones or network.hub in network.links.get(z, set()) for z in zones
            )
            namespace = landing_namespace if landing else f"{stack.stack}'s own network"
            scopes[namespace][scope_id] = (stack, f"{stack.stack}:{scope.inputs.get('scopeName')}")
            modes = scope.inputs.get("accessModeSettings") or {}
            private_only = [
                k for k in ("ingestionAccessMode", "queryAccessMode") if modes.get(k) == "PrivateOnly"
            ]
            if landing and private_only:
                findings.append(
                    Finding(
                        "EV-11",
                        stack.label,
                        f"private link scope {scope.inputs.get('scopeName')} is PrivateOnly ({', '.join(private_only)}) in {namespace}, a namespace {stack.stack} does not own: every hub-resolving client could reach only this scope's resources",
                        scope.name,
                        scope=scope_id,
                    )
                )
    for namespace, members in sorted(scopes.items()):
        if len(members) > 1:
            names = ", ".join(label for _, label in members.values())
            owner = next((s.label for s, _ in members.values() if s is not None), "estate")
            findings.append(
                Finding(
                    "EV-11",
                    owner,
                    f"{len(members)} Azure Monitor private link scopes resolve in {namespace} ({names}): one DNS namespace holds one scope's records",
                )
            )
    return findings


def _hub_scope_joiners(stacks: list[StackPlan]) -> list[tuple[StackPlan, str]]:
    """Stages whose Log Analytics and App Insights join the landing zone's scope
    (`monitoring.privateLinkScope.mode: hub`), with the scope id they name."""
    joiners = []
    for stack in (s for s in stacks if s.kind == "stage"):
        monitoring = stack.setting("mlinfra:monitoring") or {}
        scope = monitoring.get("privateLinkScope") if isinstance(monitoring, dict) else None
        if isinstance(scope, dict) and scope.get("mode") == "hub" and scope.get("hubScopeId"):
            joiners.append((stack, _low(scope["hubScopeId"])))
    return joiners


def _owner(stacks: list[StackPlan], zones: set[str]) -> str:
    for stack in stacks:
        if any(f"/subscriptions/{stack.subscription_id}/" in z for z in zones if stack.kind == "stage"):
            return stack.label
    return "estate"


def check_compute_data(stacks: list[StackPlan]) -> list[Finding]:
    """EV-14: a cluster's identity reads the workspace storage when shared keys are off
    (MicrosoftDocs/azure-ai-docs how-to-identity-based-service-authentication.md: "Grant compute
    managed identity at least Storage Blob Data Reader role on the storage account")."""
    findings: list[Finding] = []
    for stack in (s for s in stacks if s.kind == "stage"):
        keyless = [
            a
            for a in stack.plan.of_type("azure-native:storage:StorageAccount")
            if a.inputs.get("allowSharedKeyAccess") is False
        ]
        if not keyless:
            continue
        assignments = stack.plan.of_type("azure-native:authorization:RoleAssignment")
        for compute in stack.plan.of_type("azure-native:machinelearningservices:Compute"):
            if "SystemAssigned" not in str((compute.inputs.get("identity") or {}).get("type", "")):
                continue
            principal = system_principal_id(stack.arm_id(compute) or "")
            grants = [
                Grant(str(a.inputs.get("scope")), builtin_roles()[guid])
                for a in assignments
                if a.inputs.get("principalId") == principal
                and (guid := role_guid(str(a.inputs.get("roleDefinitionId")))) in builtin_roles()
            ]
            for account in keyless:
                account_id = stack.arm_id(account) or ""
                if not allowing(
                    grants, BLOB_READ, account_id + "/blobServices/default/containers/azureml", data=True
                ):
                    findings.append(
                        Finding(
                            "EV-14",
                            stack.label,
                            f"cluster {compute.inputs.get('computeName')}'s identity has no blob data role on {account.inputs.get('accountName')}, which takes no shared keys: its jobs cannot read or write workspace data",
                            compute.name,
                            scope=account_id,
                            action=BLOB_READ,
                        )
                    )
    return findings
