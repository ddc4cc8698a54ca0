"""Who the pipelines run as, and what each identity holds: read from the bootstrap project's plan.

Bootstrap creates one deployer per stack (`mlinfra:bootstrap:InfraDeployer` named
`deploy-<stack>`) and one preview identity (`mlinfra:bootstrap:InfraPreviewer`), binds each to a
GitHub environment through its `AZURE_CLIENT_ID` variable and to an Azure DevOps service
connection through the connection's service principal, and grants it roles. An identity's
holdings are the role assignments and Microsoft Graph app roles the plan gives its principal,
plus the grants `prerequisites.yaml` declares for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.prerequisites import Prerequisites
from mlinfra.facts.rbac import (
    UNKNOWN_CONDITION,
    Grant,
    Permission,
    RoleDefinition,
    builtin_roles,
    parse_condition,
    role_guid,
)
from mlinfra.planner.mock_cloud import identity_client_id, service_principal_object_id, system_principal_id
from mlinfra.planner.recorder import Resource

DEPLOYER_COMPONENT = "mlinfra:bootstrap:InfraDeployer"
PREVIEWER_COMPONENT = "mlinfra:bootstrap:InfraPreviewer"
PREVIEW = "preview"
_STACK_INIT = re.compile(r"pulumi stack init (\S+)")


@dataclass
class Identity:
    id: str
    """`deployer:<stack>` or `preview`."""
    kind: str
    """`managed-identity` or `entra-application`."""
    client_id: str
    principal_id: str
    environments: list[str] = field(default_factory=list)
    """The CI environments whose AZURE_CLIENT_ID names this identity, and the Azure DevOps service
    connections that federate with it."""
    grants: list[Grant] = field(default_factory=list)
    graph_roles: set[str] = field(default_factory=set)
    """Microsoft Graph app role ids (application permissions) granted to it."""

    @property
    def label(self) -> str:
        if self.id == PREVIEW:
            where = f" ({', '.join(self.environments)})" if self.environments else ""
            return f"preview identity{where}"
        stack = self.id.split(":", 1)[1]
        where = f" ({', '.join(self.environments)})" if self.environments else ""
        return f"{stack} deployer{where}"

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "clientId": self.client_id,
            "principalId": self.principal_id,
            "environments": self.environments,
            "grants": [
                {
                    "scope": g.scope,
                    "role": g.role.name,
                    "conditioned": g.condition is not None,
                    "origin": g.origin,
                }
                for g in self.grants
            ],
            "graphAppRoles": sorted(self.graph_roles),
        }


@dataclass
class Bootstrap:
    identities: dict[str, Identity]
    environments: dict[str, str]
    """CI environment name -> the repository it lives in (`owner/name` or `name`)."""
    initialized_stacks: set[str]
    """Stacks bootstrap's `stackInitCommands` create on the state backend."""
    state_container: str | None
    secrets_key: str | None


def _ancestors(resource: Resource, by_urn: dict[str, Resource]):
    parent = resource.parent
    while parent and parent in by_urn:
        yield by_urn[parent]
        parent = by_urn[parent].parent


def _custom_roles(plan) -> dict[str, RoleDefinition]:
    roles = {}
    for definition in plan.of_type("azure-native:authorization:RoleDefinition"):
        guid = str(definition.inputs.get("roleDefinitionId", "")).lower()
        roles[guid] = RoleDefinition(
            guid,
            str(definition.inputs.get("roleName", guid)),
            tuple(Permission.from_json(block) for block in definition.inputs.get("permissions") or []),
            f"custom role {definition.name} (bootstrap plan)",
        )
    return roles


def _role(guid: str, custom: dict[str, RoleDefinition]) -> RoleDefinition:
    known = builtin_roles().get(guid) or custom.get(guid)
    return known or RoleDefinition(guid, f"unknown role {guid}", ())


def _identity_ids(component: Resource, stack: StackPlan, by_urn) -> tuple[str, str, str] | None:
    """(kind, client id, principal id) of the identity under a bootstrap component."""
    below = [r for r in stack.plan.resources if component in _ancestors(r, by_urn)]
    for resource in below:
        if resource.type == "azure-native:managedidentity:UserAssignedIdentity":
            arm_id = stack.arm_id(resource) or ""
            return (
                "managed-identity",
                identity_client_id("user-assigned", arm_id),
                system_principal_id(arm_id),
            )
    for resource in below:
        if resource.type == "azuread:index/application:Application":
            client = identity_client_id("application", resource.name)
            return "entra-application", client, service_principal_object_id(client)
    return None


def read_bootstrap(stacks: list[StackPlan], prerequisites: Prerequisites) -> Bootstrap:
    identities: dict[str, Identity] = {}
    environments: dict[str, str] = {}
    initialized: set[str] = set()
    container = key = None
    for stack in stacks:
        plan = stack.plan
        by_urn = {r.urn: r for r in plan.resources}
        custom = _custom_roles(plan)
        for component in plan.resources:
            if component.type == DEPLOYER_COMPONENT:
                identity_id = "deployer:" + component.name.removeprefix("deploy-")
            elif component.type == PREVIEWER_COMPONENT:
                identity_id = PREVIEW
            else:
                continue
            ids = _identity_ids(component, stack, by_urn)
            if ids is None:
                continue
            identities[identity_id] = Identity(identity_id, *ids)
        by_principal = {i.principal_id: i for i in identities.values()}
        by_client = {i.client_id: i for i in identities.values()}
        for assignment in plan.of_type("azure-native:authorization:RoleAssignment"):
            holder = by_principal.get(str(assignment.inputs.get("principalId")))
            if holder is None:
                continue
            text = assignment.inputs.get("condition")
            condition = (parse_condition(text) or UNKNOWN_CONDITION) if text else None
            holder.grants.append(
                Grant(
                    str(assignment.inputs.get("scope", "")),
                    _role(role_guid(str(assignment.inputs.get("roleDefinitionId", ""))), custom),
                    condition,
                    f"bootstrap: {assignment.name}",
                )
            )
        for app_role in plan.of_type("azuread:index/appRoleAssignment:AppRoleAssignment"):
            holder = by_principal.get(str(app_role.inputs.get("principalObjectId")))
            if holder is not None:
                holder.graph_roles.add(str(app_role.inputs.get("appRoleId", "")).lower())
        for environment in plan.of_type("github:index/repositoryEnvironment:RepositoryEnvironment"):
            environments[str(environment.inputs.get("environment"))] = str(
                environment.inputs.get("repository")
            )
        for variable in plan.of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"):
            if variable.inputs.get("variableName") == "AZURE_CLIENT_ID":
                holder = by_client.get(str(variable.inputs.get("value")))
                if holder is not None:
                    holder.environments.append(str(variable.inputs.get("environment")))
        for connection in plan.of_type("azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"):
            # An Azure DevOps job signs in as the identity its service connection federates with.
            credentials = connection.inputs.get("credentials") or {}
            holder = by_client.get(str(credentials.get("serviceprincipalid")))
            if holder is not None:
                holder.environments.append(str(connection.inputs.get("serviceEndpointName")))
        for command in plan.outputs.get("stackInitCommands") or []:
            match = _STACK_INIT.search(str(command))
            if match:
                initialized.add(match.group(1))
        subscription = stack.subscription_id
        for blob in plan.of_type("azure-native:storage:BlobContainer"):
            i = blob.inputs
            container = (
                f"/subscriptions/{subscription}/resourceGroups/{i.get('resourceGroupName')}/providers/"
                f"Microsoft.Storage/storageAccounts/{i.get('accountName')}/blobServices/default/containers/{i.get('containerName')}"
            )
        for secret_key in plan.of_type("azure-native:keyvault:Key"):
            i = secret_key.inputs
            key = (
                f"/subscriptions/{subscription}/resourceGroups/{i.get('resourceGroupName')}/providers/"
                f"Microsoft.KeyVault/vaults/{i.get('vaultName')}/keys/{i.get('keyName')}"
            )
    _declared_grants(identities, prerequisites)
    return Bootstrap(identities, environments, initialized, container, key)


def _declared_grants(identities: dict[str, Identity], prerequisites: Prerequisites) -> None:
    by_name = {role.name.lower(): role for role in builtin_roles().values()}
    for item in prerequisites.items:
        for declared in item.grants:
            holder = identities.get(declared.principal)
            if holder is None:
                continue  # a grant for an identity bootstrap does not create: reported by the delivery rules
            roles = []
            if declared.role:
                role = by_name.get(declared.role.lower())
                if role is None:
                    from mlinfra.estate.prerequisites import PrerequisitesError

                    raise PrerequisitesError(
                        f"prerequisites.yaml: {item.id}: role {declared.role!r} is not a built-in role the verifier knows"
                    )
                roles.append(role)
            if declared.actions or declared.data_actions:
                roles.append(
                    RoleDefinition(
                        f"prerequisite:{item.id}",
                        f"prerequisite {item.id}",
                        (Permission(actions=declared.actions, data_actions=declared.data_actions),),
                    )
                )
            holder.grants.extend(
                Grant(declared.scope, role, None, f"prerequisite: {item.id}") for role in roles
            )
