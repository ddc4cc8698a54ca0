"""Resource providers each subscription must have registered before a stack's `up` (EV-15).

ARM refuses a resource of a namespace the subscription is not registered for
(`MissingSubscriptionRegistration`), and azure-native registers none: pulumi/pulumi-azure-native#3479
(open: a DiagnosticSetting fails with "The subscription ... is not registered to use
microsoft.insights"); azure-native 3.29 has no resource that registers one (its only
registration resource, `features:SubscriptionFeatureRegistration`, registers preview features).
So registrations are a prerequisite, declared in `prerequisites.yaml` (`resourceProviders`), and
`mlinfra doctor` checks them live.

What a stack needs is read from its plan, not from a list: the namespace of each planned
resource's ARM id (`Microsoft.Network/privateEndpoints/...`), the `resourceProviderNamespace` of
a generic `resources:Resource` (`GitHub.Network` for GitHub-hosted runners' network settings),
and what the service itself creates in the subscription (`IMPLIED`). Namespaces registered in
every subscription are left out (`REGISTERED_BY_DEFAULT`). Least privilege applies too:
"Register a resource provider only when you're ready to use it" (Microsoft Learn, "Azure
resource providers and types"), so a declared registration no planned resource needs is a finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlinfra.estate.findings import Finding
from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.needs import resource_type_of
from mlinfra.estate.prerequisites import Prerequisites
from mlinfra.planner.recorder import Resource

GENERIC_RESOURCE = "azure-native:resources:Resource"

REGISTERED_BY_DEFAULT = frozenset(
    n.lower()
    for n in (
        "Microsoft.ADHybridHealthService",
        "Microsoft.Authorization",
        "Microsoft.Billing",
        "Microsoft.ClassicSubscription",
        "Microsoft.Commerce",
        "Microsoft.Consumption",
        "Microsoft.CostManagement",
        "Microsoft.Features",
        "Microsoft.MarketplaceOrdering",
        "Microsoft.Portal",
        "Microsoft.ResourceGraph",
        "Microsoft.Resources",
        "Microsoft.SerialConsole",
        "microsoft.support",
        "Microsoft.WorkloadMonitor",
    )
)
"""The namespaces marked "Registered by default" in MicrosoftDocs/azure-docs
articles/azure-resource-manager/management/azure-services-resource-providers.md."""


@dataclass(frozen=True)
class Implied:
    type: str
    applies: Callable[[Resource], bool]
    namespaces: tuple[str, ...]
    source: str


def _managed_network(resource: Resource) -> bool:
    mode = (resource.inputs.get("managedNetwork") or {}).get("isolationMode")
    return mode in ("AllowInternetOutbound", "AllowOnlyApprovedOutbound")


def _customer_managed_key(resource: Resource) -> bool:
    """A workspace encrypted with a customer-managed key whose metadata Azure keeps in a Cosmos DB and
    an AI Search service of the subscription (not the service-side preview, which keeps none there)."""
    encryption = resource.inputs.get("encryption") or {}
    return encryption.get("status") == "Enabled" and not resource.inputs.get("enableServiceSideCMKEncryption")


IMPLIED = (
    Implied(
        "azure-native:machinelearningservices:Workspace",
        _customer_managed_key,
        ("Microsoft.DocumentDB", "Microsoft.Search"),
        "MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-setup-customer-managed-keys.md, "
        'Prerequisites: "The following Azure resource providers must be registered: ... '
        "Microsoft.DocumentDB/databaseAccounts (Azure Cosmos DB instance that logs metadata for the "
        'workspace), Microsoft.Search/searchServices (Azure Search provides indexing capabilities)"',
    ),
    Implied(
        "azure-native:machinelearningservices:Workspace",
        _managed_network,
        ("Microsoft.Network",),
        "MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-managed-network.md, Prerequisites: "
        '"The Microsoft.Network resource provider must be registered for your Azure subscription. This '
        "resource provider is used by the workspace when creating private endpoints for the managed "
        'virtual network"',
    ),
    Implied(
        "azure-native:machinelearningservices:Registry",
        lambda _resource: True,
        ("Microsoft.Storage", "Microsoft.ContainerRegistry"),
        "the registry's system-created storage account and container registry are resources of its "
        "subscription (regionDetails[].storageAccountDetails / acrDetails: armResourceId under "
        "/subscriptions/<id>/resourceGroups/azureml-rg-..., Azure/azure-rest-api-specs "
        "machinelearningservices stable/2025-12-01 examples/Registries/get.json)",
    ),
)
"""What the service creates in the subscription besides the planned resources."""


@dataclass(frozen=True)
class Use:
    subscription: str
    namespace: str
    stack: str
    resource: str
    why: str = ""


def _subscription(arm_id: str) -> str:
    parts = arm_id.strip("/").split("/")
    return parts[1].lower() if len(parts) > 1 and parts[0].lower() == "subscriptions" else ""


def uses(stack: StackPlan) -> list[Use]:
    """Every (subscription, namespace) the stack's planned Azure resources need registered."""
    azure = [r for r in stack.plan.resources if r.custom and r.type.startswith("azure-native:")]
    found: list[Use] = []
    unknown: list[Resource] = []
    by_module: dict[str, str] = {}
    for resource in azure:
        if resource.type == GENERIC_RESOURCE:
            namespace = str(resource.inputs.get("resourceProviderNamespace") or "")
            found.append(Use(stack.subscription_id, namespace, stack.label, resource.name))
            continue
        arm_id = stack.arm_id(resource)
        if not arm_id:
            unknown.append(resource)
            continue
        namespace = resource_type_of(arm_id).split("/", 1)[0]
        by_module.setdefault(resource.type.split(":")[1], namespace)
        found.append(
            Use(_subscription(arm_id) or stack.subscription_id, namespace, stack.label, resource.name)
        )
    for resource in unknown:
        # A resource the mock cloud gives no id (a child such as a key vault key, a role
        # definition) is of its module's namespace, as seen on a sibling with an id.
        module = resource.type.split(":")[1]
        namespace = by_module.get(module, "")
        found.append(Use(stack.subscription_id, namespace, stack.label, resource.name, resource.type))
    for resource in azure:
        for implied in IMPLIED:
            if implied.type == resource.type and implied.applies(resource):
                found += [
                    Use(stack.subscription_id, n, stack.label, resource.name, implied.source)
                    for n in implied.namespaces
                ]
    return [u for u in found if u.namespace.lower() not in REGISTERED_BY_DEFAULT]


def check_registrations(
    stacks: list[StackPlan], declared: Prerequisites, *, unused: bool = True
) -> list[Finding]:
    """EV-15: a namespace a planned resource needs that `prerequisites.yaml` does not register in
    its subscription; with `unused`, a declared registration that no planned resource in that
    subscription needs (only for the subscriptions the stacks deploy to)."""
    registered = declared.registrations()
    found: list[Finding] = []
    needed: dict[str, set[str]] = {}
    for stack in stacks:
        for use in uses(stack):
            if not use.namespace:
                found.append(
                    Finding(
                        "EV-15",
                        use.stack,
                        f"{use.resource}: no resource provider namespace is known for {use.why}; "
                        "give its type an ARM id rule in mlinfra/planner/mock_cloud.py",
                        resource=use.resource,
                    )
                )
                continue
            needed.setdefault(use.subscription, set()).add(use.namespace.lower())
            if use.namespace.lower() in registered.get(use.subscription, set()):
                continue
            found.append(
                Finding(
                    "EV-15",
                    use.stack,
                    f"{use.resource} needs resource provider {use.namespace} registered in subscription "
                    f"{use.subscription}, which prerequisites.yaml resourceProviders does not register "
                    f"(az provider register --namespace {use.namespace} --subscription {use.subscription})",
                    resource=use.resource,
                    scope=f"/subscriptions/{use.subscription}",
                    action=f"{use.namespace}/register/action",
                )
            )
    if unused:
        for subscription, namespaces in sorted(registered.items()):
            if subscription not in needed:
                continue
            for namespace in sorted(namespaces - needed[subscription]):
                found.append(
                    Finding(
                        "EV-15",
                        "prerequisites.yaml",
                        f"resourceProviders registers {namespace} in subscription {subscription}, which no "
                        "planned resource there needs (register a resource provider only when it is used: "
                        'Microsoft Learn, "Azure resource providers and types")',
                        scope=f"/subscriptions/{subscription}",
                    )
                )
    return found


def needed_registrations(stacks: list[StackPlan]) -> dict[str, list[str]]:
    """Subscription -> the namespaces its stacks need, as first written (for the docs and tests)."""
    found: dict[str, dict[str, str]] = {}
    for stack in stacks:
        for use in uses(stack):
            if use.namespace:
                found.setdefault(use.subscription, {}).setdefault(use.namespace.lower(), use.namespace)
    return {s: sorted(n.values(), key=str.lower) for s, n in sorted(found.items())}
