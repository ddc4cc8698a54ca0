"""The rights each planned resource needs, as data with their sources.

For the identity that runs `pulumi up` of a stack:
- its own scope: `<Namespace>/<type>/write` at the resource's ARM id (Microsoft Learn, "Azure
  resource provider operations"; the operation names follow the id's types);
- linked scopes, which ARM checks on every id the request references (LinkedAuthorizationFailed):
  see `LINKED`;
- role assignments: `Microsoft.Authorization/roleAssignments/write` at their scope, with the role
  and principal type a condition is evaluated on; role definitions:
  `Microsoft.Authorization/roleDefinitions/write` at their scope and every assignable scope;
- the state backend (blob read and write) and the secrets key (encrypt, decrypt): the DIY
  backend's checkpoint and lock blobs, and `azurekeyvault://` (gocloud.dev's driver calls
  encrypt/decrypt);
- Entra objects: Microsoft Graph application permissions (`GRAPH_*`).
For the identity that previews or refreshes: `<Namespace>/<type>/read` at every planned resource,
role assignments read at their scope, blob read and decrypt (a preview takes no lock:
pulumi/pulumi pkg/backend/diy/backend.go), and Graph read of the Entra objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.estate.inventory import StackPlan
from mlinfra.planner.recorder import Resource

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ROLE_DEFINITION = "azure-native:authorization:RoleDefinition"

BLOB_READ = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
BLOB_WRITE = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"
KEY_ENCRYPT = "Microsoft.KeyVault/vaults/keys/encrypt/action"
KEY_DECRYPT = "Microsoft.KeyVault/vaults/keys/decrypt/action"

# Microsoft Graph application permissions (ids: Microsoft Learn, "Microsoft Graph permissions reference").
APPLICATION_READWRITE_OWNEDBY = "18a4783c-866b-4cc7-a460-3d5e5662c884"
APPLICATION_READWRITE_ALL = "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9"
APPLICATION_READ_ALL = "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30"
DIRECTORY_READ_ALL = "7ab1d382-f21e-4acd-a863-ba3e13f7da61"
DIRECTORY_READWRITE_ALL = "19dbc75e-c2e2-444c-a770-ec69d8559fc7"
GRAPH_NAMES = {
    APPLICATION_READWRITE_OWNEDBY: "Application.ReadWrite.OwnedBy",
    APPLICATION_READWRITE_ALL: "Application.ReadWrite.All",
    APPLICATION_READ_ALL: "Application.Read.All",
    DIRECTORY_READ_ALL: "Directory.Read.All",
    DIRECTORY_READWRITE_ALL: "Directory.ReadWrite.All",
}
GRAPH_WRITE_APPS = frozenset({APPLICATION_READWRITE_OWNEDBY, APPLICATION_READWRITE_ALL})
"""Either creates app registrations and service principals the caller then owns."""
GRAPH_READ_DIRECTORY = frozenset({DIRECTORY_READ_ALL, DIRECTORY_READWRITE_ALL})
"""What adding an owner other than the caller needs besides an app write permission: Microsoft
Graph "Add owner" (application-post-owners): "Application.ReadWrite.OwnedBy and
Directory.Read.All"; "Application.ReadWrite.OwnedBy isn't sufficient to add another owner". The
azuread provider sends every configured owner in the create request
(hashicorp/terraform-provider-azuread internal/services/applications/application_resource.go)."""
GRAPH_READ_APPS = frozenset({APPLICATION_READ_ALL, APPLICATION_READWRITE_ALL, DIRECTORY_READ_ALL})
ENTRA_TYPES = (
    "azuread:index/application:Application",
    "azuread:index/servicePrincipal:ServicePrincipal",
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
    "azuread:index/applicationPassword:ApplicationPassword",
)


@dataclass(frozen=True)
class Link:
    type: str
    path: tuple[str, ...]
    """Where the referenced id sits in the inputs (`[]` steps into each list item, `{}` takes each
    key of a map)."""
    action: str
    """The action needed on it; `{type}` is the referenced resource's `Namespace/type`."""
    source: str


ASSIGN_IDENTITY = (
    "MicrosoftDocs/azure-docs articles/active-directory/managed-identities-azure-resources/"
    'qs-configure-cli-windows-vm.md ("To assign a user-assigned identity to a VM, your account needs the '
    'Virtual Machine Contributor and Managed Identity Operator role assignments"; Managed Identity Operator: '
    "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action): attaching a user-assigned identity "
    "to any resource is checked on the identity"
)
ASSIGN_ACTION = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"

LINKED = (
    *(
        Link(type_, path, ASSIGN_ACTION, ASSIGN_IDENTITY)
        for type_, path in (
            ("azure-native:machinelearningservices:Workspace", ("identity", "userAssignedIdentities", "[]")),
            ("azure-native:storage:StorageAccount", ("identity", "userAssignedIdentities", "[]")),
            ("azure-native:containerregistry:Registry", ("identity", "userAssignedIdentities", "{}")),
        )
    ),
    Link(
        "azure-native:network:PrivateEndpoint",
        ("subnet", "id"),
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        'Microsoft Learn, "Azure RBAC permissions for Azure Private Link" (private endpoint: subnet join)',
    ),
    Link(
        "azure-native:network:PrivateEndpoint",
        ("privateLinkServiceConnections", "[]", "privateLinkServiceId"),
        "{type}/privateEndpointConnectionsApproval/action",
        'Microsoft Learn, "Azure RBAC permissions for Azure Private Link" (automatic approval on the target)',
    ),
    Link(
        "azure-native:machinelearningservices:Workspace",
        ("serverlessComputeSettings", "serverlessComputeCustomSubnet"),
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-secure-training-vnet.md, "
        "Prerequisites (network-rbac include: subnet join/action on the subnet resource, to deploy "
        "compute into it)",
    ),
    Link(
        "azure-native:machinelearningservices:ManagedNetworkSettingsRule",
        ("properties", "destination", "serviceResourceId"),
        "{type}/privateEndpointConnectionsApproval/action",
        "MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-managed-network.md, Approval of "
        "private endpoints (the workspace's identity and the identity that creates the rule approve "
        "the connection on the target; otherwise it stays Pending)",
    ),
    Link(
        "azure-native:network:PrivateDnsZoneGroup",
        ("privateDnsZoneConfigs", "[]", "privateDnsZoneId"),
        "Microsoft.Network/privateDnsZones/join/action",
        'Microsoft Learn, "Azure RBAC permissions for Azure Private Link" (DNS zone group: zone join)',
    ),
    Link(
        "azure-native:network:VirtualNetworkPeering",
        ("remoteVirtualNetwork", "id"),
        "Microsoft.Network/virtualNetworks/peer/action",
        "MicrosoftDocs/azure-docs articles/virtual-network/virtual-network-manage-peering.md, Permissions",
    ),
    Link(
        "azure-native:privatedns:VirtualNetworkLink",
        ("virtualNetwork", "id"),
        "Microsoft.Network/virtualNetworks/join/action",
        "MicrosoftDocs/azure-docs articles/dns/dns-faq-private.yml (a link to another subscription's "
        "virtual network needs permission on the virtual network)",
    ),
    Link(
        "azure-native:monitor:DiagnosticSetting",
        ("workspaceId",),
        "Microsoft.OperationalInsights/workspaces/sharedKeys/action",
        "MicrosoftDocs/azure-docs#80159 and JimGBritt/AzurePolicy#17 (a diagnostic setting to a Log "
        "Analytics workspace: LinkedAuthorizationFailed without sharedKeys/action on the workspace)",
    ),
)


REMOVABLE = {
    "azure-native:authorization:ManagementLockByScope": (
        'removes it for a planned teardown (mlinfra:lock.kind None; Microsoft Learn REST, "Management '
        'Locks - Delete At Resource Level": Microsoft.Authorization/locks/* actions)'
    ),
}
"""Types whose documented lifecycle has the deployer delete them while the stage stays: the
`<Namespace>/<type>/delete` right is a need as much as `write`."""


@dataclass(frozen=True)
class Need:
    rule: str
    stack: str
    resource: str
    action: str
    scope: str
    data: bool = False
    attributes: tuple[tuple[str, str], ...] = ()
    why: str = ""


def _values(value, path: tuple[str, ...]):
    if not path:
        if isinstance(value, str) and value.lower().startswith("/subscriptions/"):
            yield value
        return
    step, rest = path[0], path[1:]
    if step == "[]":
        for item in value if isinstance(value, list) else ():
            yield from _values(item, rest)
    elif step == "{}":
        for key in value if isinstance(value, dict) else ():
            yield from _values(key, rest)
    elif isinstance(value, dict):
        yield from _values(value.get(step), rest)


def resource_type_of(arm_id: str) -> str:
    """`Namespace/type[/child]` of an ARM id (`Microsoft.Resources/subscriptions/resourceGroups` for a group)."""
    parts = arm_id.strip("/").split("/")
    if "providers" not in [p.lower() for p in parts]:
        return (
            "Microsoft.Resources/subscriptions/resourceGroups"
            if len(parts) >= 4
            else "Microsoft.Resources/subscriptions"
        )
    index = max(i for i, p in enumerate(parts) if p.lower() == "providers")
    tail = parts[index + 1 :]
    return "/".join([tail[0], *tail[1::2]])


def operation(arm_id: str, verb: str) -> str:
    return f"{resource_type_of(arm_id)}/{verb}"


def _azure(stack: StackPlan) -> list[Resource]:
    return [r for r in stack.plan.resources if r.custom and r.type.startswith("azure-native:")]


def deployer_needs(stack: StackPlan, state: tuple[str | None, str | None]) -> list[Need]:
    needs: list[Need] = []
    label = stack.label
    for resource in _azure(stack):
        inputs = resource.inputs
        if resource.type == ROLE_ASSIGNMENT:
            scope = str(inputs.get("scope", ""))
            attributes = (
                (
                    "roleDefinitionId",
                    str(inputs.get("roleDefinitionId", "")).rstrip("/").rsplit("/", 1)[-1].lower(),
                ),
                ("principalType", str(inputs.get("principalType", ""))),
            )
            needs.append(
                Need(
                    "EV-1",
                    label,
                    resource.name,
                    "Microsoft.Authorization/roleAssignments/write",
                    scope,
                    False,
                    attributes,
                    "creates the role assignment",
                )
            )
            continue
        if resource.type == ROLE_DEFINITION:
            for scope in dict.fromkeys(
                [str(inputs.get("scope", "")), *(inputs.get("assignableScopes") or [])]
            ):
                needs.append(
                    Need(
                        "EV-1",
                        label,
                        resource.name,
                        "Microsoft.Authorization/roleDefinitions/write",
                        str(scope),
                        why="creates the custom role",
                    )
                )
            continue
        arm_id = stack.arm_id(resource)
        if arm_id:
            needs.append(
                Need(
                    "EV-1",
                    label,
                    resource.name,
                    operation(arm_id, "write"),
                    arm_id,
                    why="creates or updates it",
                )
            )
            if resource.type in REMOVABLE:
                needs.append(
                    Need(
                        "EV-1",
                        label,
                        resource.name,
                        operation(arm_id, "delete"),
                        arm_id,
                        why=REMOVABLE[resource.type],
                    )
                )
        for link in LINKED:
            if link.type != resource.type:
                continue
            for target in _values(inputs, link.path):
                action = link.action.format(type=resource_type_of(target))
                needs.append(Need("EV-2", label, resource.name, action, target, why=link.source))
    container, key = state
    if container:
        needs += [
            Need(
                "EV-5", label, "state", a, container, True, why="reads and writes the checkpoint and its lock"
            )
            for a in (BLOB_READ, BLOB_WRITE)
        ]
    if key:
        needs += [
            Need("EV-5", label, "secrets key", a, key, True, why="encrypts and decrypts the stack's secrets")
            for a in (KEY_ENCRYPT, KEY_DECRYPT)
        ]
    return needs


def preview_needs(stack: StackPlan, state: tuple[str | None, str | None]) -> list[Need]:
    needs: list[Need] = []
    label = stack.label
    for resource in _azure(stack):
        if resource.type in (ROLE_ASSIGNMENT, ROLE_DEFINITION):
            kind = "roleAssignments" if resource.type == ROLE_ASSIGNMENT else "roleDefinitions"
            scope = str(resource.inputs.get("scope", ""))
            needs.append(
                Need(
                    "EV-1",
                    label,
                    resource.name,
                    f"Microsoft.Authorization/{kind}/read",
                    scope,
                    why="refresh reads it",
                )
            )
            continue
        arm_id = stack.arm_id(resource)
        if arm_id:
            needs.append(
                Need("EV-1", label, resource.name, operation(arm_id, "read"), arm_id, why="refresh reads it")
            )
    container, key = state
    if container:
        needs.append(Need("EV-5", label, "state", BLOB_READ, container, True, why="reads the checkpoint"))
    if key:
        needs.append(
            Need("EV-5", label, "secrets key", KEY_DECRYPT, key, True, why="decrypts the stack's secrets")
        )
    return needs


def entra_objects(stack: StackPlan) -> list[Resource]:
    return [r for r in stack.plan.resources if r.type in ENTRA_TYPES]


def foreign_owners(stack: StackPlan, deployer_principal: str) -> list[tuple[Resource, str]]:
    """(application or service principal, owner) pairs whose owner is not the identity running `up`."""
    found = []
    for resource in stack.plan.resources:
        if resource.type in ENTRA_TYPES[:2]:
            for owner in resource.inputs.get("owners") or []:
                if str(owner).lower() != deployer_principal.lower():
                    found.append((resource, str(owner)))
    return found
