"""Compute that comes up and monitoring that doesn't capture the landing zone (issue 28, review-3
F3-F6, R1, R7, R8): cluster identities' storage role, the order of network, rules and compute,
replacement of clusters, the server-set fields a refresh would otherwise report as drift, and the
stage's explicit Azure Monitor private link mode."""

import copy

import pytest

from components.compute import JOB_DATA_ROLE, REPLACED_ON_CHANGE
from components.ml_workspace import ACR_SERVER_SET, MANAGED_NETWORK_SERVER_SET
from planner.estate.rbac import action_allowed, builtin_roles
from planner.mock_cloud import system_principal_id
from planner.recorder import Plan, Resource
from tests.conftest import PRIVATE_STACKS, PUBLIC_STACKS, first, plan, setting

COMPUTE = "azure-native:machinelearningservices:Compute"
WORKSPACE = "azure-native:machinelearningservices:Workspace"
RULE = "azure-native:machinelearningservices:ManagedNetworkSettingsRule"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
STORAGE = "azure-native:storage:StorageAccount"
ACR = "azure-native:containerregistry:Registry"
CLUSTERS = {"mlinfra:compute": {"clusters": {"cpu-train": {"maxNodes": 4}}}}


def workspace_setting(stack: str, key: str):
    section = setting(stack, "workspace", {})
    return section.get(key) if isinstance(section, dict) else None


MANAGED_STACKS = tuple(
    stack for stack in PRIVATE_STACKS if workspace_setting(stack, "isolationMode") != "Disabled"
)


def arm_id(result: Plan, resource: Resource, subscription: str) -> str:
    """The id the mock cloud gives a resource (what its outputs and the verifier see)."""
    from planner.mock_cloud import arm_resource_id

    found = arm_resource_id(resource.type, resource.inputs, subscription, resource.name)
    assert found is not None
    return found


def subscription_of(stack: str) -> str:
    from tests.conftest import stack_config

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
    """The GUID is Azure's built-in Storage Blob Data Contributor (planner/estate/data/builtin_roles.json,
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
