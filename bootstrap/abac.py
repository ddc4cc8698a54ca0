"""The ABAC condition that limits what the infra deployer may do with Role Based Access Control
Administrator: assign and remove only the catalog roles this project grants, and only to groups
and service principals (never users, never Owner / User Access Administrator / RBAC admin), and a
privileged role only to the service principals of a stack whose file grants one.

Text and structure follow Microsoft Learn, "Examples to delegate Azure role assignment
management with conditions" (Example: Constrain roles and principal types): one clause per
action, because `write` is checked on `@Request` attributes and `delete` on `@Resource` ones.
"""

from collections.abc import Iterable

from mlinfra.facts.roles import ROLES, Role

CONDITION_VERSION = "2.0"
"""The only version Azure accepts for role-assignment conditions."""

PRINCIPAL_TYPES = ("ServicePrincipal", "Group")
"""Who the deployer may grant roles to: the stages' identities and the personas' groups."""


def assignable_roles() -> list[Role]:
    """The catalog roles the stage program may grant (mlinfra/config/stage_config.py refuses the escalating
    ones for every holder), in catalog order."""
    return [role for role in ROLES.values() if not role.escalates]


def unprivileged_roles() -> list[Role]:
    """What the deployer may grant groups and identities alike: no privileged role (Contributor,
    Azure AI Administrator, Key Vault Administrator), which the program never grants a group (RB-1)
    and grants an identity only where its stack file says so (review-3-azure R3)."""
    return [role for role in assignable_roles() if not role.privileged]


def delegation_condition(roles: Iterable[Role], principal_types: Iterable[str] = PRINCIPAL_TYPES) -> str:
    guids = ", ".join(role.guid for role in roles)
    types = ", ".join(f"'{kind}'" for kind in principal_types)

    def clause(action: str, source: str) -> str:
        return (
            "(\n"
            " (\n"
            f"  !(ActionMatches{{'Microsoft.Authorization/roleAssignments/{action}'}})\n"
            " )\n"
            " OR\n"
            " (\n"
            f"  @{source}[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {{{guids}}}\n"
            "  AND\n"
            f"  @{source}[Microsoft.Authorization/roleAssignments:PrincipalType] ForAnyOfAnyValues:StringEqualsIgnoreCase {{{types}}}\n"
            " )\n"
            ")"
        )

    return f"{clause('write', 'Request')}\nAND\n{clause('delete', 'Resource')}"
