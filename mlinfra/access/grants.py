"""The one place a role assignment is made: "principal P gets role R on scope S".

- The assignment's name is a GUID derived from plan-time strings only (subscription,
  scope, principal, role), like Bicep's `guid(scope, principal, role)`: every run builds the
  same graph, and a re-run after a partial failure converges instead of failing with
  `RoleAssignmentExists` (P2, RB-6, T-46).
- `principalType` is always explicit; the SDK would send `User` (P1, RB-5), and a new
  service principal would hit `PrincipalNotFound` during replication (T-45).
- The role definition id is `/subscriptions/<sub>/providers/Microsoft.Authorization/
  roleDefinitions/<guid>` from the catalog (RB-2).
"""

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

import pulumi
from pulumi_azure_native import authorization

from mlinfra.facts.grant_description import format_description
from mlinfra.facts.roles import Role

ASSIGNMENT_NAMESPACE = uuid.UUID("0f9d3c4e-6b1a-4f2e-8d7c-5a4b3c2d1e0f")
"""uuid5 namespace of role-assignment names. Changing it renames (replaces) every assignment."""


class PrincipalType(StrEnum):
    GROUP = "Group"
    SERVICE_PRINCIPAL = "ServicePrincipal"  # app service principals and managed identities alike


class HolderKind(StrEnum):
    """Who a grant is for, as the access view reports it."""

    PERSONA = "persona"
    IDENTITY = "identity"


@dataclass(frozen=True)
class Principal:
    key: str
    """Plan-time identity of the principal: a group object id, or the identity's physical name."""
    object_id: pulumi.Input[str]
    """Entra object id Azure authorizes (for a service principal: its object id, never the client id, P17)."""
    type: PrincipalType
    holder: HolderKind
    label: str
    """Persona or identity name, recorded in the assignment's description."""


@dataclass(frozen=True)
class Scope:
    kind: str
    """`resourceGroup`, `workspace`, `storageAccount`, `keyVault` or `containerRegistry`."""
    name: str
    """Physical name of the scope resource: plan-time, part of the assignment name."""
    id: pulumi.Input[str]
    """ARM id of the scope resource (an output, so the assignment waits for the resource)."""


def assignment_name(subscription_id: str, scope: Scope, principal: Principal, role: Role) -> str:
    """Deterministic GUID of an assignment (RB-6); GUIDs compared case-insensitively."""
    parts = (subscription_id.lower(), scope.kind, scope.name, principal.key.lower(), role.guid)
    return str(uuid.uuid5(ASSIGNMENT_NAMESPACE, "|".join(parts)))


def description(principal: Principal, role: Role, scope: Scope, role_name: str | None = None) -> str:
    """The assignment's description; `parse_description` reads it back for the access view."""
    return format_description(
        principal.holder, principal.label, role_name or role.name, scope.kind, scope.name
    )


def logical_name(prefix: str, principal: Principal, role: Role, scope: Scope) -> str:
    role_slug = re.sub(r"[^a-z0-9]+", "-", role.name.lower()).strip("-")
    return f"{prefix}-{principal.label}-{role_slug}-{scope.kind}"


def grant(
    prefix: str,
    *,
    subscription_id: str,
    principal: Principal,
    role: Role,
    scope: Scope,
    parent: pulumi.Resource,
    role_definition_id: pulumi.Input[str] | None = None,
    role_name: pulumi.Input[str] | None = None,
    replaced_with_principal: bool = False,
) -> authorization.RoleAssignment:
    """Give `principal` the built-in `role` on `scope`. `role_definition_id` replaces the one under
    `subscription_id` when the scope is in another subscription (the shared registry's) or the role is
    a custom one another stack defines; the assignment name still derives from `role.guid`, and
    `role_name` (that stack's name for the role) replaces `role.name` in the description.
    `replaced_with_principal`: the principal is a resource's system identity that a replacement of
    that resource renews, so the assignment (same name, new principal) is deleted before it is
    recreated; Azure refuses to change an assignment's principal in place."""
    about = (
        description(principal, role, scope)
        if role_name is None
        else pulumi.Output.from_input(role_name).apply(lambda name: description(principal, role, scope, name))
    )
    return authorization.RoleAssignment(
        logical_name(prefix, principal, role, scope),
        role_assignment_name=assignment_name(subscription_id, scope, principal, role),
        role_definition_id=role_definition_id or role.definition_id(subscription_id),
        principal_id=principal.object_id,
        principal_type=principal.type.value,
        scope=scope.id,
        description=about,
        opts=pulumi.ResourceOptions(parent=parent, delete_before_replace=replaced_with_principal or None),
    )
