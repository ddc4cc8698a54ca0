"""Roles on the shared Azure ML registry: publish (the built-in AzureML Registry User) and read
(a custom role the shared stack defines, since Azure has no built-in read-only registry role).

AzureML Registry User allows `Microsoft.MachineLearningServices/registries/read` and
`registries/assets/*`: read, write and delete of every asset (Microsoft Learn,
role-based-access-control/built-in-roles/ai-machine-learning, "AzureML Registry User";
machine-learning/how-to-assign-roles). Consumers that only deploy from the registry get the custom
reader role below; the identity that runs `pulumi up` for the shared stack needs
`Microsoft.Authorization/roleDefinitions/write` on its resource group to create it.

Only the shared stack knows that role: a stage reads its definition id and name from the shared
stack's outputs (RB-12), since a stage of another workload than the registry's cannot derive them.
"""

import uuid
from enum import StrEnum

from mlinfra.facts.roles import ROLES, Role

READER_ROLE_NAMESPACE = uuid.UUID("3e5c0d8a-9f21-4b7e-a6d4-2c1b0e9f8a73")
"""uuid5 namespace of the custom reader role's definition GUID. Changing it replaces the role."""

READER_ACTIONS = (
    "Microsoft.MachineLearningServices/registries/read",
    "Microsoft.MachineLearningServices/registries/assets/read",
)
"""Read the registry and its assets (models, components, environments); nothing else."""


class RegistryAccess(StrEnum):
    """What an identity may do in the shared registry."""

    PUBLISH = "publish"
    READ = "read"


def reader_role(workload: str) -> Role:
    """The custom reader role the shared stack of `workload` defines. Role names are unique in a
    tenant, hence the workload in the name; the GUID is stable, so a re-run updates the same role."""
    return Role(
        f"AzureML Registry Reader ({workload})", str(uuid.uuid5(READER_ROLE_NAMESPACE, f"reader/{workload}"))
    )


def reader_handle(workload: str) -> Role:
    """A stage's plan-time handle on the shared stack's reader role: the stage's own workload's
    `reader_role`. It only seeds the assignment's name and logical name (RB-6: plan-time strings;
    unchanged since the stages derived the role from it, so assignments already made are kept);
    the assignment takes the role's definition id and name from the shared stack's outputs (RB-12)."""
    return reader_role(workload)


def registry_role(access: RegistryAccess, reader: Role) -> Role:
    """The role `access` means: AzureML Registry User to publish, else `reader`."""
    return ROLES["AzureML Registry User"] if access == RegistryAccess.PUBLISH else reader
