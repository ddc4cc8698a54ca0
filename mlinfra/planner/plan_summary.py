"""What a reviewer reads before the tree: how much is created, what is public, who gains what, what
to act on, and what bills.

Derived from the plan and its views only (mlinfra/planner/views.py), so the text and the Markdown plan
show the same summary. Nothing here is priced: the cost lines say what a resource bills by
(its SKU, node-hours, GB), which is what a reviewer weighs; the one exception is the managed
network's firewall, whose hourly price mlinfra/planner/render.py already states.
"""

from collections import Counter
from dataclasses import dataclass, field

from mlinfra.planner.recorder import Plan, Resource
from mlinfra.planner.views import access_view, environments_view, network_view, principal_label, sharing_view

PROVIDER_FAMILIES = (
    ("azure-native:", "Azure"),
    ("azuread:", "Entra ID"),
    ("github:", "GitHub"),
    ("azuredevops:", "Azure DevOps"),
)
"""Type prefix -> the system a resource is created in; anything else is a component or provider."""


@dataclass
class Summary:
    counts: dict[str, int]
    """System -> resources created there (components and providers as "Pulumi")."""
    total: int
    public: list[str]
    """Resources that accept traffic from the internet (publicNetworkAccess Enabled)."""
    gains: list[tuple[str, list[str]]]
    """(principal, ["role on scope kind", ...]) for every role assignment, by principal."""
    app_roles: int
    """Entra app role assignments (Graph permissions) the plan grants."""
    trusts: list[str]
    """Federated credential subjects: who may sign in as a planned identity."""
    notes: list[str] = field(default_factory=list)
    """What a reviewer must act on or know: shared workspaces, hub steps, endpoints without DNS."""
    costs: list[tuple[str, str, str]] = field(default_factory=list)
    """(type, name, what it bills by) of every resource that bills."""


def _family(type_: str) -> str:
    return next((name for prefix, name in PROVIDER_FAMILIES if type_.startswith(prefix)), "Pulumi")


def _sku(resource: Resource) -> str:
    # Key vault's SKU sits in its properties (KeyVault vaults spec).
    sku = resource.inputs.get("sku") or (resource.inputs.get("properties") or {}).get("sku")
    return str(sku.get("name") or sku.get("tier")) if isinstance(sku, dict) else "default"


def _compute_cost(resource: Resource) -> str:
    properties = (resource.inputs.get("properties") or {}).get("properties") or {}
    scale = properties.get("scaleSettings") or {}
    low, high = scale.get("minNodeCount", 0), scale.get("maxNodeCount", "?")
    idle = "nothing while idle" if not low else f"{low} node(s) always on"
    return f"{properties.get('vmSize', '?')} per node-hour, {low}..{high} nodes ({idle})"


COSTS = {
    "azure-native:machinelearningservices:Compute": _compute_cost,
    "azure-native:containerregistry:Registry": lambda r: f"{_sku(r)} SKU per day, plus storage",
    "azure-native:network:PrivateEndpoint": lambda r: "per hour, plus GB processed",
    "azure-native:operationalinsights:Workspace": lambda r: (
        f"GB ingested, retention {r.inputs.get('retentionInDays', 'default')} days"
    ),
    "azure-native:storage:StorageAccount": lambda r: f"{_sku(r)}: GB stored and operations",
    "azure-native:keyvault:Vault": lambda r: f"{_sku(r)}: per operation",
    "azure-native:machinelearningservices:Registry": lambda r: (
        "the storage and registry it creates per region"
    ),
    "azure-native:network:VirtualNetworkGateway": lambda r: "per hour",
    "azure-native:network:NatGateway": lambda r: "per hour, plus GB processed",
}
"""Types that bill, and what each bills by (the workspace, identities, RBAC and DNS links don't)."""


def _notes(plan: Plan, network: dict) -> list[str]:
    notes = []
    sharing = sharing_view(plan)
    if sharing is not None:
        notes.append(
            f"stages {' and '.join(sharing['stages'])} share workspace {sharing['workspace']}: "
            "a role on its scopes holds in both (RB-10)"
        )
    request = network["hubPeeringRequest"] or {}
    if request.get("hubSide"):
        notes.append(
            f"the hub team must create peering {request['hubSide']['peeringName']} (hubPeeringRequest)"
        )
    if request.get("grant"):
        notes.append(f"the hub team must grant {request['grant']['principal']} {request['grant']['action']}")
    notes += [
        f"private endpoint {endpoint['name']} has no DNS zone: its name resolves to the public address"
        for endpoint in network["privateEndpoints"]
        if not endpoint["dnsZones"]
    ]
    notes += [f"subnet {subnet['name']} has no NSG" for subnet in network["subnets"] if not subnet["nsg"]]
    return notes


def summarize(plan: Plan) -> Summary:
    counts = Counter(_family(resource.type) for resource in plan.resources)
    network = network_view(plan)
    gains: dict[str, list[str]] = {}
    for entry in access_view(plan):
        gains.setdefault(principal_label(entry), []).append(
            f"{entry['role'] or entry['roleId']} on {entry['scopeKind'] or entry['scopeName'] or 'other'}"
        )
    trusts = [
        f"{view['federatedCredential']['subject']} ({view['platform']} environment {view['name']})"
        for view in environments_view(plan)
        if view["federatedCredential"]
    ]
    costs = [
        (resource.type.rsplit(":", 1)[-1], resource.name, COSTS[resource.type](resource))
        for resource in plan.resources
        if resource.type in COSTS
    ]
    managed = network["managedNetwork"]
    if managed["firewallSku"]:
        firewall = f"Azure Firewall {managed['firewallSku']} per hour, plus GB processed"
        costs.append(("managed network", "firewall for FQDN rules", firewall))
    return Summary(
        counts={
            family: counts[family] for _, family in (*PROVIDER_FAMILIES, ("", "Pulumi")) if counts[family]
        },
        total=len(plan.resources),
        public=[
            entry["resource"]
            for entry in network["exposure"]
            if entry["publicNetworkAccess"] in ("Enabled", "enabled")
        ],
        gains=sorted(gains.items()),
        app_roles=len(plan.of_type("azuread:index/appRoleAssignment:AppRoleAssignment")),
        trusts=trusts,
        notes=_notes(plan, network),
        costs=costs,
    )


def summary_lines(summary: Summary, stack: str) -> list[tuple[str, list[str]]]:
    """(heading, lines) in reading order; the text and Markdown renderers lay them out."""
    counts = ", ".join(f"{n} {family}" for family, n in summary.counts.items())
    gains = [f"{who}: {', '.join(roles)}" for who, roles in summary.gains]
    if summary.app_roles:
        gains.append(f"{summary.app_roles} Entra app role assignment(s) (Graph permissions)")
    return [
        ("Resources", [f"{summary.total} to create ({counts})"]),
        ("Public", summary.public or ["nothing accepts traffic from the internet"]),
        ("Who gains what", gains or ["no role is granted"]),
        ("Trusted to sign in", summary.trusts or ["no federated credential"]),
        (
            "Findings",
            [*summary.notes, f"policy pack: make check STACK={stack}; the whole estate: make verify"],
        ),
        ("Cost-bearing", [f"{type_} {name}: {bills}" for type_, name, bills in summary.costs] or ["none"]),
    ]
