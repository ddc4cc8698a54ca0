"""`RegistryAccess`: a stage's role assignments on the shared Azure ML registry.

The registry lives in the shared stack; the stage reads its id, subscription and reader role (its
definition id and name) through a `pulumi.StackReference` (the shared stack deploys first). The
grants go through `mlinfra.access.grants`, like every other assignment: publish is AzureML Registry
User, read is the custom reader role the shared stack defines, whatever the stage's workload (RB-12).
A stage grants only its own identities here; persona grants are the shared stack's (RB-11).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from mlinfra.access.grants import Principal, Scope, grant
from mlinfra.facts.registry_roles import RegistryAccess, reader_handle, registry_role
from mlinfra.settings.registry_access_settings import CONNECTION_APPROVER

SCOPE_KIND = "registry"
APPROVAL_SCOPE_KIND = "registryConnections"
"""The scope kind of the workspace identity's approver grant on the registry: not an access to
its assets, so not a `registry` row of the access view."""


@dataclass(frozen=True, kw_only=True)
class RegistryAccessArgs:
    stack: str
    """Fully-qualified name of the shared stack."""
    reference: pulumi.StackReference
    """The stage's reference to it (`registry_reference`)."""
    subscription_id: str
    """The stage's subscription: the seed of the assignment names (plan-time, RB-6)."""
    workload: str
    """The stage's workload: seeds the names of its reader assignments (`reader_handle`), nothing more."""
    holders: Mapping[str, tuple[Principal, RegistryAccess]]
    """Label -> (principal, access): the stage's own identities only (RB-11)."""


def registry_reference(name: str, stack: str, parent: pulumi.Resource) -> pulumi.StackReference:
    """The stage's reference to the shared stack; the plan shows it with the stack's name."""
    return pulumi.StackReference(
        f"{name}-registry-stack", stack_name=stack, opts=pulumi.ResourceOptions(parent=parent)
    )


def connection_approver(
    name: str,
    *,
    subscription_id: str,
    principal: Principal,
    registry_id: pulumi.Input[str],
    shared_stack: str,
    parent: pulumi.Resource,
):
    """`principal` (the workspace's identity) may approve private-endpoint connections to the
    registry (CONNECTION_APPROVER), by the role's id under the registry's subscription."""
    role_id = pulumi.Output.from_input(registry_id).apply(
        lambda registry: (
            "/subscriptions/"
            + str(registry).split("/")[2]
            + "/providers/Microsoft.Authorization/roleDefinitions/"
            + CONNECTION_APPROVER.guid
        )
    )
    return grant(
        name,
        subscription_id=subscription_id,
        principal=principal,
        role=CONNECTION_APPROVER,
        scope=Scope(APPROVAL_SCOPE_KIND, shared_stack.rsplit("/", 1)[-1], registry_id),
        parent=parent,
        role_definition_id=role_id,
    )


class SharedRegistryAccess(pulumi.ComponentResource):
    def __init__(self, name: str, args: RegistryAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:RegistryAccess", name, None, opts)
        self.registry_id = args.reference.require_output("registryId")
        registry_subscription = args.reference.require_output("subscriptionId")
        # The role the shared stack defined, by its id under the registry's subscription (RB-12).
        reader_id = args.reference.require_output("registryReaderRoleDefinitionId")
        reader_name = args.reference.require_output("registryReaderRoleName")
        reader = reader_handle(args.workload)
        # The registry's name is known only once the shared stack is read; the assignment name must be
        # plan-time, so the scope is named after the stack that holds the registry.
        scope = Scope(SCOPE_KIND, args.stack.rsplit("/", 1)[-1], self.registry_id)
        self.assignments = []
        for principal, access in args.holders.values():
            role = registry_role(access, reader)
            self.assignments.append(
                grant(
                    name,
                    subscription_id=args.subscription_id,
                    principal=principal,
                    role=role,
                    scope=scope,
                    parent=self,
                    role_definition_id=reader_id
                    if role is reader
                    else pulumi.Output.concat(
                        "/subscriptions/",
                        registry_subscription,
                        "/providers/Microsoft.Authorization/roleDefinitions/",
                        role.guid,
                    ),
                    role_name=reader_name if role is reader else None,
                )
            )
        self.register_outputs({})
