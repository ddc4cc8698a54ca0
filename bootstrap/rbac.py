"""Role assignments and the one custom role bootstrap makes. Assignment names are GUIDs derived
from plan-time strings (scope, principal, role), so a re-run converges (RB-6); `principalType` is
always explicit (RB-5), and required where an ABAC condition filters on it."""

import re
import uuid
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from mlinfra.facts.roles import ROLES, Role

NAMESPACE = uuid.UUID("5d0f3a52-91c4-4e57-b1f6-2c3e8a7d9b10")
"""uuid5 namespace of bootstrap's assignment and role-definition names."""

_SUBSCRIPTION = re.compile(r"^/subscriptions/([0-9a-fA-F-]{36})", re.IGNORECASE)


CONTRIBUTOR = ROLES["Contributor"]
RBAC_ADMINISTRATOR = ROLES["Role Based Access Control Administrator"]
READER = ROLES["Reader"]
STORAGE_BLOB_DATA_CONTRIBUTOR = ROLES["Storage Blob Data Contributor"]
STORAGE_BLOB_DATA_READER = ROLES["Storage Blob Data Reader"]
KEY_VAULT_CRYPTO_USER = Role("Key Vault Crypto User", "12338af0-0e69-4776-bea7-57ae8d297424")
"""encrypt/decrypt with keys: what `--secrets-provider azurekeyvault://` does. Only bootstrap
grants it (on the state's key), so it is not in the stage catalog personas may use (RB-2)."""


@dataclass(frozen=True)
class CustomRole:
    """A custom role bootstrap defines with exactly `actions`, where no built-in role short of Owner
    or User Access Administrator (which may grant anything) holds them."""

    key: str
    """Seeds its GUID (`<key>|<role name>`) and its logical name (`<key>-role`)."""
    label: str
    """Its role name after the bootstrap name (`mlinfra private endpoint joiner`)."""
    description: str
    actions: tuple[str, ...]


JOINER = CustomRole(
    "join",
    "private endpoint joiner",
    "Lets the mlinfra infra deployer place private endpoints in an existing subnet and register them in existing private DNS zones.",
    (
        "Microsoft.Network/virtualNetworks/subnets/read",
        "Microsoft.Network/virtualNetworks/subnets/join/action",
        "Microsoft.Network/privateDnsZones/read",
        "Microsoft.Network/privateDnsZones/join/action",
    ),
)
"""What a private endpoint needs on a subnet it does not own, and a DNS zone group on a hub zone
it does not own (Microsoft Learn, "Azure RBAC permissions for Azure Private Link")."""

ROLE_AUTHOR = CustomRole(
    "role-author",
    "role definition author",
    "Lets the mlinfra shared stack's deployer create, update and delete its custom role definitions.",
    (
        "Microsoft.Authorization/roleDefinitions/read",
        "Microsoft.Authorization/roleDefinitions/write",
        "Microsoft.Authorization/roleDefinitions/delete",
    ),
)
"""Creating, updating and deleting a custom role (the shared stack's registry reader role): Microsoft
Learn, "Azure custom roles": "Microsoft.Authorization/roleDefinitions/write permission on all
AssignableScopes"."""

LOCK_AUTHOR = CustomRole(
    "lock-author",
    "management lock author",
    "Lets the mlinfra infra deployer place and remove the CanNotDelete locks of its stage's stateful resources.",
    (
        "Microsoft.Authorization/locks/read",
        "Microsoft.Authorization/locks/write",
        "Microsoft.Authorization/locks/delete",
    ),
)
"""A production stage's management locks: Microsoft Learn, "Lock your resources to protect your
infrastructure": "To create or delete management locks, you must have access to
Microsoft.Authorization/* or Microsoft.Authorization/locks/* actions"; Contributor's notActions
exclude Microsoft.Authorization/*/Write and */Delete."""

REGISTRY_ENDPOINT_APPROVER = CustomRole(
    "registry-endpoint-approver",
    "registry endpoint approver",
    "Lets the mlinfra infra deployer approve its managed network's private endpoint to the shared Azure ML registry.",
    ("Microsoft.MachineLearningServices/registries/privateEndpointConnectionsApproval/action",),
)
"""A stage's managed-network rule to the shared registry: "the user identity that initiates the
creation of the private endpoint, must have permissions to approve the Private Endpoint
connections on the target resources" (MicrosoftDocs/azure-ai-docs how-to-managed-network.md,
"Approval of private endpoints"). Granted at the registry's subscription: the registry does not
exist yet when bootstrap runs."""

CUSTOM_ROLES = (JOINER, ROLE_AUTHOR, LOCK_AUTHOR, REGISTRY_ENDPOINT_APPROVER)
JOIN_ACTIONS = JOINER.actions


def subscription_of(scope: str) -> str:
    match = _SUBSCRIPTION.match(scope)
    if not match:
        raise ValueError(f"not a subscription-based scope: {scope}")
    return match.group(1)


def definition_id(scope: str, role_guid: str) -> str:
    """The role definition id under the scope's own subscription (valid for cross-subscription scopes)."""
    return f"/subscriptions/{subscription_of(scope)}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"


def assign(
    logical_name: str,
    *,
    principal_key: str,
    principal_id: pulumi.Input[str],
    role: Role,
    scope: str,
    scope_id: pulumi.Input[str] | None = None,
    condition: str | None = None,
    principal_type: str = "ServicePrincipal",
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
    name_key: str | None = None,
) -> authorization.RoleAssignment:
    """`principal_key` (plan-time) gets `role` on `scope` (plan-time ARM id; `scope_id` is the
    same id as an output when the scope is created in this run, so the assignment waits for it)."""
    parts = (scope.lower(), principal_key.lower(), role.guid)
    # `name_key` tells apart two assignments of one role at one scope (RBAC Administrator for
    # groups and identities, and for identities only): the name is a function of what it grants.
    if name_key:
        parts += (name_key,)
    name = str(uuid.uuid5(NAMESPACE, "|".join(parts)))
    return authorization.RoleAssignment(
        logical_name,
        role_assignment_name=name,
        role_definition_id=definition_id(scope, role.guid),
        principal_id=principal_id,
        principal_type=principal_type,  # explicit (P1): ServicePrincipal for identities, Group for admins
        scope=scope_id if scope_id is not None else scope,
        description=f"{principal_key}: {role.name} (managed by Pulumi, mlinfra bootstrap)",
        condition=condition,
        condition_version="2.0" if condition else None,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=depends_on),
    )


def custom_role_guid(role: CustomRole, role_name: str) -> str:
    # `join-role|` for the joiner: the GUID it had before the other custom roles (a change replaces it).
    key = "join-role" if role is JOINER else role.key
    return str(uuid.uuid5(NAMESPACE, f"{key}|{role_name}"))


def custom_role_logical_name(role: CustomRole) -> str:
    return "private-endpoint-join-role" if role is JOINER else f"{role.key}-role"


def define(role: CustomRole, role_name: str, scopes: list[str]) -> authorization.RoleDefinition:
    """`role`, assignable in every subscription that holds one of `scopes`."""
    subscriptions = sorted({subscription_of(scope).lower() for scope in scopes})
    return authorization.RoleDefinition(
        custom_role_logical_name(role),
        role_definition_id=custom_role_guid(role, role_name),
        role_name=role_name,
        description=role.description,
        role_type="CustomRole",
        scope=f"/subscriptions/{subscriptions[0]}",
        assignable_scopes=[f"/subscriptions/{subscription}" for subscription in subscriptions],
        permissions=[authorization.PermissionArgs(actions=list(role.actions))],
    )
