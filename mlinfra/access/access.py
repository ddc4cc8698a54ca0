"""`StageAccess`: the persona matrix and the pipeline identity's roles of one stage, as
role assignments. What is granted is data (stack config); how is `mlinfra.access.grants`.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization

from mlinfra.access.grants import HolderKind, Principal, PrincipalType, Scope, grant
from mlinfra.facts.roles import ROLES
from mlinfra.settings.access_settings import Persona, ScopedRoles


@dataclass(frozen=True, kw_only=True)
class StageAccessArgs:
    subscription_id: str
    """Subscription of the role definitions and of the assignment-name seed."""
    scopes: Mapping[str, Scope]
    """The stage's scopes by kind (`resourceGroup`, `workspace`, ...)."""
    personas: Mapping[str, Persona]
    """Human personas: group and roles per scope. Default none."""
    identity: Principal
    """The stage's deployment identity."""
    identity_roles: ScopedRoles
    """Roles of the deployment identity per scope."""
    scope_subscription: pulumi.Input[str] | None = None
    """Subscription of the scopes when it may differ from `subscription_id` (a shared workspace's,
    read from its owner's stack): role definition ids are built under it. Default: `subscription_id`."""


class StageAccess(pulumi.ComponentResource):
    assignments: list[authorization.RoleAssignment]

    def __init__(self, name: str, args: StageAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:StageAccess", name, None, opts)
        holders = [
            (
                Principal(
                    key=persona.group_object_id,
                    object_id=persona.group_object_id,
                    type=PrincipalType.GROUP,
                    holder=HolderKind.PERSONA,
                    label=persona_name,
                ),
                persona.roles,
            )
            for persona_name, persona in args.personas.items()
        ]
        holders.append((args.identity, args.identity_roles))
        self.assignments = [
            grant(
                name,
                subscription_id=args.subscription_id,
                principal=principal,
                role=ROLES[role_name],
                scope=args.scopes[scope_kind],
                parent=self,
                role_definition_id=None
                if args.scope_subscription is None
                else pulumi.Output.concat(
                    "/subscriptions/",
                    args.scope_subscription,
                    "/providers/Microsoft.Authorization/roleDefinitions/",
                    ROLES[role_name].guid,
                ),
            )
            for principal, roles in holders
            for scope_kind, role_name in roles.items()
        ]
        self.register_outputs({})
