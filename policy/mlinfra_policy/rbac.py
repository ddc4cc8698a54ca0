"""Role assignment rules (security-rules.md section F). Wire names are azure-native's
`authorization.RoleAssignment` inputs.

The pack runs in its own venv without the project's code, so it carries the few role GUIDs it
needs; tests compare them with mlinfra/facts/roles.py.
"""

from mlinfra_policy.common import get, resource_policy, stack_policy

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
ML_REGISTRY = "azure-native:machinelearningservices:Registry"
ML_REGISTRY_SCOPE = "/providers/microsoft.machinelearningservices/registries/"

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
USER_ACCESS_ADMINISTRATOR = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
RBAC_ADMINISTRATOR = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
NEVER_GRANTED = {OWNER: "Owner", USER_ACCESS_ADMINISTRATOR: "User Access Administrator"}
HUMAN_PRINCIPALS = ("Group", "User", "ForeignGroup")
PRINCIPAL_TYPES = (
    "Group",
    "User",
    "ServicePrincipal",
    "ForeignGroup",
    "Device",
    "AgentServicePrincipal",
    "AgentUser",
)
"""ARM's PrincipalType values (azure-native 3.x authorization.PrincipalType)."""


def _role_guid(definition_id) -> str:
    return str(definition_id or "").rstrip("/").rsplit("/", 1)[-1].lower()


def _least_privilege(args, production):
    role = _role_guid(get(args.props, "roleDefinitionId"))
    principal_type = get(args.props, "principalType")
    if role in NEVER_GRANTED:
        yield f"assigns {NEVER_GRANTED[role]}; this program never grants a role that can grant access (RB-1)"
    elif role == CONTRIBUTOR and principal_type in HUMAN_PRINCIPALS:
        yield f"assigns Contributor to a {principal_type}; humans get the AzureML or data roles (RB-1)"
    elif role == RBAC_ADMINISTRATOR and not get(args.props, "condition"):
        yield "assigns Role Based Access Control Administrator without a condition limiting roles and principals (RB-8)"


def _principal_type(args, production):
    principal_type = get(args.props, "principalType")
    if principal_type not in PRINCIPAL_TYPES:
        yield (
            f"principalType is {principal_type!r}; set it to one of {', '.join(PRINCIPAL_TYPES)} "
            "(RB-5: avoids PrincipalNotFound for new principals)"
        )


def _registry_groups_in_their_stack(args, production):
    """RB-11: a group is granted on an Azure ML registry only by the stack that creates it (the
    shared stack); a stage granting one would co-own that assignment with the other stages."""
    created = {
        str(get(r.props, "registryName")).lower() for r in args.resources if r.resource_type == ML_REGISTRY
    }
    for resource in args.resources:
        if resource.resource_type != ROLE_ASSIGNMENT or get(resource.props, "principalType") != "Group":
            continue
        scope = str(get(resource.props, "scope") or "").lower()
        if ML_REGISTRY_SCOPE in scope and scope.rsplit("/", 1)[-1] not in created:
            yield (
                f"grants a group on the Azure ML registry {scope.rsplit('/', 1)[-1]}, which another stack "
                "creates; groups are granted by that stack, once (RB-11)",
                resource.urn,
            )


POLICIES = [
    resource_policy(
        "role-assignment-least-privilege",
        "No Owner or User Access Administrator, no Contributor for humans, RBAC Administrator only with a condition (RB-1, RB-8).",
        [ROLE_ASSIGNMENT],
        _least_privilege,
    ),
    resource_policy(
        "role-assignment-principal-type",
        "Every role assignment says which kind of principal it is for (RB-5).",
        [ROLE_ASSIGNMENT],
        _principal_type,
    ),
    stack_policy(
        "registry-groups-in-the-shared-stack",
        "Groups are granted on the shared Azure ML registry by the stack that creates it, never by a stage (RB-11).",
        _registry_groups_in_their_stack,
    ),
]
