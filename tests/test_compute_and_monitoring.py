"""Compute that comes up and monitoring that doesn't capture the landing zone (issue 28, review-3
F3-F6, R1, R7, R8): cluster identities' storage role, the order of network, rules and compute,
replacement of clusters, the server-set fields a refresh would otherwise report as drift, and the
stage's explicit Azure Monitor private link mode."""

import copy

import pytest

from mlinfra.estate import prerequisites, reachability
from mlinfra.estate.inventory import StackPlan
from mlinfra.facts.rbac import action_allowed, builtin_roles
from mlinfra.planner.mock_cloud import system_principal_id
from mlinfra.planner.recorder import Plan, Resource
from mlinfra.stage.compute import JOB_DATA_ROLE, REPLACED_ON_CHANGE
from mlinfra.stage.ml_workspace import ACR_SERVER_SET, MANAGED_NETWORK_SERVER_SET
from tests.conftest import (
    JOINED_NETWORK_STACKS,
    PRIVATE_STACKS,
    PROJECT_DIR,
    PUBLIC_STACKS,
    first,
    plan,
    setting,
    stack_config,
)
from tests.test_config import rejection  # noqa: F401  (the fixture: nothing registered on refusal)

COMPUTE = "azure-native:machinelearningservices:Compute"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
RULE = "azure-native:machinelearningservices:ManagedNetworkSettingsRule"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
STORAGE = "azure-native:storage:StorageAccount"
ACR = "azure-native:containerregistry:Registry"
LOGS = "azure-native:operationalinsights:Workspace"
INSIGHTS = "azure-native:applicationinsights:Component"
CLUSTERS = {"mlinfra:compute": {"clusters": {"cpu-train": {"maxNodes": 4}}}}


def section(stack: str, key: str) -> dict:
    """A stack's `mlinfra:<key>` section (a mapping), empty when unset."""
    value = setting(stack, key, {})
    assert isinstance(value, dict), f"mlinfra:{key} of {stack} is not a mapping"
    return value


def workspace_setting(stack: str, key: str):
    return section(stack, "workspace").get(key)


MANAGED_STACKS = tuple(
    stack for stack in PRIVATE_STACKS if workspace_setting(stack, "isolationMode") != "Disabled"
)


def arm_id(result: Plan, resource: Resource, subscription: str) -> str:
    """The id the mock cloud gives a resource (what its outputs and the verifier see)."""
    from mlinfra.planner.mock_cloud import arm_resource_id

    found = arm_resource_id(resource.type, resource.inputs, subscription, resource.name)
    assert found is not None
    return found


def subscription_of(stack: str) -> str:
    return stack_config(stack).values["azure-native:subscriptionId"]


# --- F6: storage data role of cluster identities -------------------------------------------------


@pytest.mark.parametrize("stack", PRIVATE_STACKS)
def test_each_cluster_identity_gets_blob_data_contributor_on_keyless_storage(stack):
    """A job mounts workspaceblobstore and writes outputs and models with its compute's identity
    when the storage takes no shared keys: MicrosoftDocs/azure-ai-docs
    articles/machine-learning/how-to-disable-local-auth-storage.md, "Scenarios for role
    assignments" (model as job input/output: Storage Blob Data Contributor on the compute
    identity); how-to-identity-based-service-authentication.md ("Grant compute managed identity at
    least Storage Blob Data Reader role on the storage account")."""
    result = plan(stack, **CLUSTERS)
    subscription = subscription_of(stack)
    (account,) = result.of_type(STORAGE)
    assert account.inputs["allowSharedKeyAccess"] is False
    account_id = arm_id(result, account, subscription)
    clusters = result.of_type(COMPUTE)
    assert {c.inputs["computeName"] for c in clusters} >= {"cpu-train"}
    for cluster in clusters:
        principal = system_principal_id(arm_id(result, cluster, subscription))
        (assignment,) = [a for a in result.of_type(ASSIGNMENT) if a.inputs["principalId"] == principal]
        assert assignment.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{JOB_DATA_ROLE.guid}")
        assert assignment.inputs["scope"] == account_id
        assert assignment.inputs["principalType"] == "ServicePrincipal"
        # A replaced cluster has a new identity; the assignment (same name) goes first.
        assert assignment.delete_before_replace is True


def test_the_role_is_the_vendored_built_in_with_blob_read_and_write():
    """The GUID is Azure's built-in Storage Blob Data Contributor (mlinfra/facts/data/builtin_roles.json,
    vendored from Microsoft Learn's built-in roles): blob read and write are data actions of it."""
    role = builtin_roles()[JOB_DATA_ROLE.guid]
    assert role.name == JOB_DATA_ROLE.name
    for verb in ("read", "write"):
        action = f"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/{verb}"
        assert action_allowed(action, role.permissions, data=True)
    assert not action_allowed(
        "Microsoft.Storage/storageAccounts/listKeys/action", role.permissions
    )  # no keys: data plane only


def test_no_storage_role_when_shared_keys_work():
    """With shared keys the workspace hands its datastores keys (systemDatastoresAuthMode
    AccessKey): no data role is granted that nothing needs (least privilege)."""
    stack = first(PUBLIC_STACKS)
    result = plan(stack, **CLUSTERS, **{"mlinfra:storage": {"sharedKeyAccessEnabled": True}})
    principals = {
        system_principal_id(arm_id(result, c, subscription_of(stack))) for c in result.of_type(COMPUTE)
    }
    assert principals
    assert not [a for a in result.of_type(ASSIGNMENT) if a.inputs["principalId"] in principals]


# --- R1: provisioning order ------------------------------------------------------------------------


@pytest.mark.parametrize("stack", MANAGED_STACKS)
def test_the_managed_network_is_provisioned_with_the_workspace(stack):
    """`provisionNetworkNow` (azure-native 3.29 machinelearningservices/workspace.py: "Set to trigger
    the provisioning of the managed VNet with the default Options when creating a Workspace with
    the managed VNet enabled, or else it does nothing"); review-3 R1, pulumi/pulumi-azure-native#3212
    (race conditions and time-outs when compute provisions the network)."""
    workspace = plan(stack).one(WORKSPACE)
    assert workspace.inputs["provisionNetworkNow"] is True
    assert "provisionNetworkNow" in workspace.ignore_changes  # acts at creation only


def test_no_provisioning_without_a_managed_network():
    stack = first(PUBLIC_STACKS)
    workspace = plan(stack, **{"mlinfra:workspace": {"isolationMode": "Disabled"}}).one(WORKSPACE)
    assert "provisionNetworkNow" not in workspace.inputs


@pytest.mark.parametrize("stack", MANAGED_STACKS)
def test_clusters_wait_for_every_outbound_rule(stack):
    """how-to-managed-network.md: "the first FQDN rule adds around 10 minutes ... can cause your
    first compute instance creation to time out"; Microsoft's advice in pulumi-azure-native#3212 is
    network, then rules, then compute. The rules are a chain, so waiting for all is waiting for the last."""
    result = plan(stack, **CLUSTERS)
    rules = {r.urn for r in result.of_type(RULE)}
    assert rules
    for cluster in result.of_type(COMPUTE):
        assert rules <= set(cluster.dependencies), cluster.name


# --- R7: replacement -------------------------------------------------------------------------------


def test_cluster_properties_that_cannot_change_in_place_replace_it():
    """azure-rest-api-specs specification/machinelearningservices/resource-manager/
    Microsoft.MachineLearningServices/stable/2025-12-01: Compute_CreateOrUpdate "will overwrite a
    compute if it exists. This is a nonrecoverable operation"; the PATCH
    (examples/Compute/patch.json) carries `scaleSettings` only. Every other input replaces the
    cluster, the old one deleted first (the new one has the same computeName)."""
    result = plan(first(PRIVATE_STACKS), **CLUSTERS)
    for cluster in result.of_type(COMPUTE):
        assert cluster.replace_on_changes == sorted(REPLACED_ON_CHANGE)
        assert cluster.delete_before_replace is True
        set_inputs = {"location", "identity", *(f"properties.{k}" for k in cluster.inputs["properties"])}
        set_inputs |= {f"properties.properties.{k}" for k in cluster.inputs["properties"]["properties"]}
        in_place = set_inputs - set(REPLACED_ON_CHANGE) - {"properties.properties"}
        assert in_place == {"properties.properties.scaleSettings"}, in_place


# --- F5 / R8: what a refresh reads back ------------------------------------------------------------


def differing_paths(planned, refreshed, prefix="") -> set[str]:
    """Leaf paths where the refreshed inputs differ from the planned ones."""
    if isinstance(planned, dict) and isinstance(refreshed, dict):
        paths = set()
        for key in set(planned) | set(refreshed):
            paths |= differing_paths(planned.get(key), refreshed.get(key), f"{prefix}{key}.")
        return paths
    return set() if planned == refreshed else {prefix.rstrip(".")}


def uncovered(paths: set[str], ignored: list[str]) -> set[str]:
    return {p for p in paths if not any(p == i or p.startswith(i + ".") for i in ignored)}


def refreshed_workspace(inputs: dict) -> dict:
    """What Azure returns for an unchanged workspace with a managed network: the required and
    user rules in `outboundRules`, the provisioning `status`, the kind and monitor flag with their
    service defaults, the firewall SKU default (GET examples, 2025-12-01
    examples/ManagedNetwork/getManagedNetworkV2.json and Workspace/get.json shapes)."""
    after = copy.deepcopy(inputs)
    network = after.setdefault("managedNetwork", {})
    network["outboundRules"] = {
        "__SYS_PE_storage_blob": {"type": "PrivateEndpoint", "category": "Required", "status": "Active"},
        "pypi": {"type": "FQDN", "category": "UserDefined", "destination": "pypi.org"},
    }
    network["status"] = {"status": "Active", "sparkReady": False}
    network["managedNetworkKind"] = "V1"
    network["enableNetworkMonitor"] = False
    network.setdefault("firewallSku", "Standard")
    return after


@pytest.mark.parametrize("stack", MANAGED_STACKS)
def test_a_refresh_of_an_unchanged_workspace_shows_no_managed_network_diff(stack):
    """pulumi/pulumi-azure-native#3225: after its fix a refresh still reports
    `Workspace ... update [diff: ~managedNetwork,systemData]`, because the service adds its rules
    and status to the object the workspace owns inline (review-3 F5)."""
    workspace = plan(stack).one(WORKSPACE)
    paths = differing_paths(workspace.inputs, refreshed_workspace(workspace.inputs))
    assert paths  # the service does fill these in
    assert uncovered(paths, workspace.ignore_changes) == set()
    # What the program decides stays managed: isolation mode (and a configured firewall SKU).
    assert "managedNetwork.isolationMode" not in workspace.ignore_changes
    assert "managedNetwork" not in workspace.ignore_changes


def test_a_configured_firewall_sku_stays_managed():
    stack = first(MANAGED_STACKS)
    workspace = plan(stack).one(WORKSPACE)
    configured = workspace_setting(stack, "firewallSku")
    assert ("managedNetwork.firewallSku" in workspace.ignore_changes) is (configured is None)


def test_the_ignored_workspace_fields_are_the_server_set_ones():
    assert set(MANAGED_NETWORK_SERVER_SET) == {
        "managedNetwork.outboundRules",
        "managedNetwork.status",
        "managedNetwork.managedNetworkKind",
        "managedNetwork.enableNetworkMonitor",
    }


@pytest.mark.parametrize("stack", PRIVATE_STACKS + PUBLIC_STACKS[:1])
def test_a_refresh_reading_zone_redundancy_enabled_shows_no_registry_diff(stack):
    """The SDK sends `zoneRedundancy: Disabled` when the program leaves it out
    (pulumi_azure_native/containerregistry/registry.py); Microsoft Learn container-registry
    zone-redundancy, "Understand the zoneRedundancy property": redundancy is on by default in
    availability-zone regions and "setting it to Disabled has no effect in supported regions"
    (quoted in Azure/PSRule.Rules.Azure#3846). Same shape as pulumi/pulumi-azure-native#4105
    (servicebus `zoneRedundant` read back different from what was sent)."""
    registry = plan(stack).one(ACR)
    refreshed = {**registry.inputs, "zoneRedundancy": "Enabled"}
    paths = differing_paths(registry.inputs, refreshed)
    assert paths == {"zoneRedundancy"}
    assert uncovered(paths, registry.ignore_changes) == set()
    assert registry.ignore_changes == ACR_SERVER_SET


# --- F3: whose monitoring scope ------------------------------------------------------------------

SCOPE = "azure-native:monitor:PrivateLinkScope"
ENDPOINT = "azure-native:network:PrivateEndpoint"
HUB_SCOPE = (
    "/subscriptions/00000000-0000-0000-0000-000000000008/resourceGroups/rg-monitoring-hub-weu"
    "/providers/Microsoft.Insights/privateLinkScopes/ampls-hub-weu"
)
JOINED = first(JOINED_NETWORK_STACKS)
"""A stage whose endpoints register in the hub's zones (prod)."""
HUB = {"privateLinkScope": {"mode": "hub", "hubScopeId": HUB_SCOPE}}


def own_zones(stack: str) -> dict:
    """The stage's network with zones it creates instead of the hub's (a namespace it owns)."""
    network = copy.deepcopy(section(stack, "network"))
    endpoints = network["privateEndpoints"]
    endpoints.pop("dnsZoneIds", None)
    if "virtualNetwork" not in endpoints:
        endpoints.pop("subnetId", None)
        endpoints["virtualNetwork"] = {"addressSpace": "10.29.0.0/16", "endpointSubnetPrefix": "10.29.0.0/24"}
    endpoints["virtualNetwork"].pop("hubPeering", None)
    endpoints["virtualNetwork"].pop("dnsServers", None)
    return network


MONITOR_ONLY_ZONES = (
    "privatelink.monitor.azure.com",
    "privatelink.oms.opinsights.azure.com",
    "privatelink.ods.opinsights.azure.com",
    "privatelink.agentsvc.azure-automation.net",
)


def with_monitor_zones(stack: str) -> dict:
    """The stage's network on the hub's zones, with the four zones only an own scope's endpoint uses."""
    network = copy.deepcopy(section(stack, "network"))
    zones = network["privateEndpoints"]["dnsZoneIds"]
    hub_group = next(iter(zones.values())).rsplit("/", 1)[0]
    zones.update({zone: f"{hub_group}/{zone}" for zone in MONITOR_ONLY_ZONES})
    return network


OWNED_IN_HUB_ZONES = {
    "mlinfra:network": with_monitor_zones(JOINED),
    "mlinfra:monitoring": {"privateLinkScope": {"mode": "owned"}},
}


def monitor_endpoints(result: Plan) -> list[Resource]:
    return [
        e
        for e in result.of_type(ENDPOINT)
        if any("azuremonitor" in c["groupIds"] for c in e.inputs["privateLinkServiceConnections"])
    ]


def monitor_rule(result: Plan) -> Resource:
    (rule,) = [r for r in result.of_type(RULE) if r.inputs["ruleName"] == "azure-monitor"]
    return rule


@pytest.mark.parametrize("stack", JOINED_NETWORK_STACKS)
def test_a_stage_on_the_hub_zones_joins_the_hubs_scope_and_creates_none(stack):
    """Microsoft Learn azure-monitor/logs/private-link-design: "Hub-spoke networks should use a
    single private link set on the hub (main) network, and not on each spoke VNet", and one AMPLS
    per DNS ("Creating a private link affects traffic to all monitoring resources"). The stage
    creates no scope and no azuremonitor endpoint; the hub team adds its resources from the output."""
    result = plan(stack, **{"mlinfra:monitoring": HUB})
    assert not result.of_type(SCOPE) and not monitor_endpoints(result)
    request = result.outputs["monitoringScopeRequest"]
    assert request["privateLinkScopeId"] == HUB_SCOPE
    names = {result.one(LOGS).inputs["workspaceName"], result.one(INSIGHTS).inputs["resourceName"]}
    assert set(request["scopedResources"]) == names
    assert all(v.startswith("/subscriptions/") for v in request["scopedResources"].values())


def test_shipped_private_stages_choose_the_hub_scope_where_they_resolve_in_the_hub():
    for stack in PRIVATE_STACKS:
        scope = section(stack, "monitoring").get("privateLinkScope", {})
        hub_zones = "dnsZoneIds" in section(stack, "network")["privateEndpoints"]
        assert (scope.get("mode") == "hub") is hub_zones, stack


def test_a_stage_owning_its_zones_defaults_to_its_own_private_only_scope():
    result = plan(JOINED, **{"mlinfra:network": own_zones(JOINED), "mlinfra:monitoring": {}})
    scope = result.one(SCOPE).inputs
    assert scope["accessModeSettings"] == {
        "ingestionAccessMode": "PrivateOnly",
        "queryAccessMode": "PrivateOnly",
    }
    assert len(monitor_endpoints(result)) == 1
    assert "monitoringScopeRequest" not in result.outputs


def test_an_owned_scope_in_the_hub_zones_is_open_by_default():
    """Open: "Resources not added to the AMPLS can only be reached if the AMPLS access mode is Open"
    (private-link-design): the landing zone's other workloads keep reaching their resources."""
    scope = plan(JOINED, **OWNED_IN_HUB_ZONES).one(SCOPE).inputs
    assert scope["accessModeSettings"] == {"ingestionAccessMode": "Open", "queryAccessMode": "Open"}


def test_a_public_stage_has_no_scope_by_default():
    result = plan(first(PUBLIC_STACKS))
    assert not result.of_type(SCOPE) and "monitoringScopeRequest" not in result.outputs


REFUSALS = [
    (
        {},
        "mlinfra:monitoring.privateLinkScope.mode: required when the stage resolves in the hub's DNS "
        "(network.privateEndpoints.dnsZoneIds (the hub's zones), or its own zones linked to the hub); "
        "expected hub with hubScopeId",
    ),
    (
        {"privateLinkScope": {"ingestionAccessMode": "PrivateOnly"}},
        'mlinfra:monitoring.privateLinkScope.ingestionAccessMode: got "PrivateOnly"; only where the stage '
        "owns the privatelink.monitor.azure.com zone it resolves in",
    ),
    (
        {"privateLinkScope": {"mode": "owned", "queryAccessMode": "PrivateOnly"}},
        'mlinfra:monitoring.privateLinkScope.queryAccessMode: got "PrivateOnly"',
    ),
    (
        {"privateLinkScope": {"mode": "none"}},
        'mlinfra:monitoring.privateLinkScope.mode: got "none"; a stage without public network access',
    ),
    (
        {"privateLinkScope": {"mode": "hub"}},
        "mlinfra:monitoring.privateLinkScope: hubScopeId is required with mode hub",
    ),
    (
        {"privateLinkScope": {"mode": "owned", "hubScopeId": HUB_SCOPE}},
        "hubScopeId is only meaningful with mode hub",
    ),
    (
        {"privateLinkScope": {**HUB["privateLinkScope"], "ingestionAccessMode": "Open"}},
        "ingestionAccessMode: only with mode owned; the hub team sets its scope's access modes",
    ),
    (
        {
            "privateLinkScope": {
                "mode": "hub",
                "hubScopeId": HUB_SCOPE.replace("privateLinkScopes", "components"),
            }
        },
        "mlinfra:monitoring.privateLinkScope.hubScopeId: got",
    ),
    (
        {"privateLinkScope": {"mode": "owend"}},
        "mlinfra:monitoring.privateLinkScope.mode: got \"owend\"; expected 'owned', 'hub' or 'none'; did you mean owned?",
    ),
    (
        {"privateLinkScope": {"mode": "hub", "hubScopeId": HUB_SCOPE, "scopeId": HUB_SCOPE}},
        "mlinfra:monitoring.privateLinkScope.scopeId: unknown key; allowed keys: mode, ingestionAccessMode, "
        "queryAccessMode, hubScopeId",
    ),
]


@pytest.mark.parametrize("monitoring,needle", REFUSALS)
def test_fails_when_the_scope_mode_is_wrong(rejection, monitoring, needle):  # noqa: F811
    message = rejection.message(stack_config(JOINED, **{"mlinfra:monitoring": monitoring}))
    assert needle in message, message


def test_fails_when_the_hub_scope_is_joined_from_a_stage_that_resolves_elsewhere(rejection):  # noqa: F811
    config = stack_config(JOINED, **{"mlinfra:network": own_zones(JOINED), "mlinfra:monitoring": HUB})
    assert (
        'mlinfra:monitoring.privateLinkScope.mode: got "hub"; the landing zone\'s scope resolves only in the '
        "hub's zones" in rejection.message(config)
    )


def test_fails_when_a_public_stage_joins_the_hub_scope(rejection):  # noqa: F811
    config = stack_config(first(PUBLIC_STACKS), **{"mlinfra:monitoring": HUB})
    assert 'mlinfra:monitoring.privateLinkScope.mode: got "hub"' in rejection.message(config)


# --- F4: telemetry of managed compute and endpoints ----------------------------------------------


@pytest.mark.parametrize("owned", [True, False], ids=["owned", "hub"])
def test_the_managed_network_reaches_the_scope_through_a_private_endpoint_rule(owned):
    """Managed compute and online endpoints run in the Microsoft-managed network; with public
    ingestion off (and instrumentation keys off) their telemetry has one documented path, a
    private-endpoint outbound rule to the Azure Monitor private link scope: MicrosoftDocs/azure-ai-docs
    articles/machine-learning/how-to-managed-network.md (commit d675e2ff), "Private endpoints":
    "Application Insights (Through PrivateLinkScopes)". The rule is written after the others (they
    all write one managed network) and before any cluster (R1)."""
    overrides = (
        {"mlinfra:network": own_zones(JOINED), "mlinfra:monitoring": {}}
        if owned
        else {"mlinfra:monitoring": HUB}
    )
    result = plan(JOINED, **overrides, **CLUSTERS)
    rule = monitor_rule(result)
    destination = rule.inputs["properties"]["destination"]
    assert rule.inputs["properties"]["type"] == "PrivateEndpoint"
    assert destination["subresourceTarget"] == "azuremonitor"
    if owned:
        (scope,) = result.of_type(SCOPE)
        assert destination["serviceResourceId"] == arm_id(result, scope, subscription_of(JOINED))
        assert scope.urn in rule.dependencies
    else:
        assert destination["serviceResourceId"] == HUB_SCOPE
        assert result.outputs["monitoringScopeRequest"]["approveManagedNetworkEndpoint"] is True
    others = {r.urn for r in result.of_type(RULE) if r.urn != rule.urn}
    assert others <= set(rule.dependencies)
    for cluster in result.of_type(COMPUTE):
        assert rule.urn in cluster.dependencies


def test_no_monitor_rule_without_a_managed_network():
    stack = first(PUBLIC_STACKS)
    result = plan(stack, **{"mlinfra:workspace": {"isolationMode": "Disabled"}})
    assert not [r for r in result.of_type(RULE) if r.inputs["ruleName"] == "azure-monitor"]


# --- EV-11: one scope per DNS namespace, across the estate ---------------------------------------


def stage_plan(stack: str, **overrides) -> StackPlan:
    config = stack_config(stack, **overrides)
    return StackPlan("stage", stack, PROJECT_DIR, None, plan(stack, **overrides), dict(config.values))


def ev11(stacks: list[StackPlan], landing_scope: str | None = HUB_SCOPE) -> list[str]:
    declared = prerequisites.load(PROJECT_DIR)
    network = reachability.build_network(stacks, declared)
    return [f.message for f in reachability.check_dns(stacks, network, landing_scope) if f.rule == "EV-11"]


def test_the_shipped_prerequisites_declare_the_landing_zones_scope():
    assert prerequisites.load(PROJECT_DIR).landing_zone.monitor_private_link_scope_id == HUB_SCOPE


def test_stages_joining_the_landing_zones_scope_are_clean():
    assert ev11([stage_plan(stack) for stack in JOINED_NETWORK_STACKS]) == []


def test_the_verifier_refuses_two_scopes_in_the_hubs_namespace():
    """private-link-design: "create only a single AMPLS object" per DNS; a stage's own scope whose
    endpoint registers in the hub's zones overrides the landing zone's records."""
    owned = stage_plan(JOINED, **OWNED_IN_HUB_ZONES)
    (message,) = ev11([owned])
    assert message.startswith("2 Azure Monitor private link scopes resolve in the landing zone (hub DNS)")
    assert "landing zone:ampls-hub-weu" in message
    # Without a declared landing-zone scope, two stages' own scopes there are still two.
    other = first(tuple(s for s in PRIVATE_STACKS if s != JOINED))
    second = stage_plan(
        other,
        **{
            "mlinfra:network": with_monitor_zones(other),
            "mlinfra:monitoring": {"privateLinkScope": {"mode": "owned"}},
        },
    )
    messages = ev11([owned, second], landing_scope=None)
    assert any(
        m.startswith("2 Azure Monitor private link scopes resolve in the landing zone") for m in messages
    )


def test_the_verifier_refuses_private_only_in_a_namespace_the_stage_does_not_own():
    """The config refuses it; a stack file the config cannot see (an older plan) is caught here."""
    owned = copy.deepcopy(stage_plan(JOINED, **OWNED_IN_HUB_ZONES))
    scope = owned.plan.one(SCOPE)  # a copy: the plan cache's own stays as planned
    scope.inputs["accessModeSettings"] = {"ingestionAccessMode": "PrivateOnly", "queryAccessMode": "Open"}
    messages = ev11([owned], landing_scope=None)
    assert any("is PrivateOnly (ingestionAccessMode)" in m for m in messages), messages


def test_the_verifier_refuses_joining_a_scope_the_landing_zone_does_not_declare():
    other = HUB_SCOPE.replace("ampls-hub-weu", "ampls-elsewhere")
    joined = stage_plan(
        JOINED, **{"mlinfra:monitoring": {"privateLinkScope": {"mode": "hub", "hubScopeId": other}}}
    )
    messages = ev11([joined])
    assert any("but the landing zone's is" in m for m in messages), messages
    assert any(m.startswith("2 Azure Monitor private link scopes") for m in messages)


def test_the_workspace_identity_approves_its_managed_endpoint_to_its_own_scope():
    """how-to-managed-network.md (azure-ai-docs d675e2ff), "Approval of private endpoints": since
    2025-04-30 the workspace identity must hold the right to approve its managed network's
    connections; the Azure AI Enterprise Network Connection Approver role covers Azure Monitor. The
    vendored built-in definition (mlinfra/facts/data/builtin_roles.json) allows the AMPLS approval."""
    from mlinfra.facts.roles import ROLES

    role = ROLES["Azure AI Enterprise Network Connection Approver"]
    definition = builtin_roles()[role.guid]
    assert action_allowed(
        "Microsoft.Insights/privateLinkScopes/privateEndpointConnectionsApproval/action",
        definition.permissions,
    )
    result = plan(JOINED, **{"mlinfra:network": own_zones(JOINED), "mlinfra:monitoring": {}})
    (scope,) = result.of_type(SCOPE)
    workspace = result.one(WORKSPACE)
    scope_id = arm_id(result, scope, subscription_of(JOINED))
    (assignment,) = [
        a
        for a in result.of_type(ASSIGNMENT)
        if a.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{role.guid}")
        and a.inputs["scope"] == scope_id
    ]
    assert assignment.inputs["principalId"] == system_principal_id(
        arm_id(result, workspace, subscription_of(JOINED))
    )


def test_fails_when_a_private_stages_clusters_have_no_managed_network(rejection):  # noqa: F811
    """F4: with isolation Disabled a cluster runs on public IPs, and a private stage's storage,
    registry and Log Analytics / App Insights (public ingestion off) refuse public traffic; the
    only documented private path for managed compute is the managed network's private-endpoint
    rules (how-to-managed-network.md, "Private endpoints")."""
    stack = first(PRIVATE_STACKS)
    workspace = {**section(stack, "workspace"), "isolationMode": "Disabled"}
    for key in ("outboundRuleSets", "firewallSku", "outboundRules", "batchEndpointsEnabled"):
        workspace.pop(key, None)
    message = rejection.message(
        stack_config(stack, **{"mlinfra:workspace": workspace, "mlinfra:productionRelaxations": {}})
    )
    assert (
        'mlinfra:workspace.isolationMode: got "Disabled"; the clusters (image-builder) of a stage' in message
    )


def test_fails_when_a_stage_joining_the_hubs_scope_lists_zones_only_its_own_scope_would_use(rejection):  # noqa: F811
    """In mode hub no endpoint of the stage registers in the monitor zones (the hub's scope does), and
    bootstrap grants join only on zones a stage uses."""
    config = stack_config(
        JOINED, **{"mlinfra:network": with_monitor_zones(JOINED), "mlinfra:monitoring": HUB}
    )
    message = rejection.message(config)
    assert (
        "mlinfra:network.privateEndpoints.dnsZoneIds: privatelink.monitor.azure.com, privatelink.oms.opinsights.azure.com"
        in message
    )
    assert (
        "monitoring.privateLinkScope.mode is hub (no endpoint of the stage registers there); remove them"
        in message
    )
