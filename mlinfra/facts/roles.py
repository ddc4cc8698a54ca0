"""The built-in Azure roles this project grants, by name, with their definition GUIDs.

GUIDs are the same in every tenant (docs/security-model.md, section M); RB-2 allows
only these. Owner, User Access Administrator and Contributor are listed so config naming
them gets a precise refusal instead of "unknown role" (RB-1).
"""

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class Role:
    name: str
    guid: str
    privileged: bool = False
    """Grants control over access or over every resource in scope: never for human groups (RB-1)."""
    escalates: bool = False
    """Can hand out any role: never granted by this program at all (RB-1, RB-8)."""

    def definition_id(self, subscription_id: str) -> str:
        """The `roleDefinitionId` a RoleAssignment takes."""
        return (
            f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{self.guid}"
        )


_ROLES = (
    Role("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", privileged=True, escalates=True),
    Role(
        "User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", privileged=True, escalates=True
    ),
    Role("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", privileged=True),
    Role(
        "Role Based Access Control Administrator",
        "f58310d9-a9f6-439a-9e8d-f62e7b41a168",
        privileged=True,
        escalates=True,
    ),
    Role("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7"),
    Role("AzureML Data Scientist", "f6c7c914-8db3-469d-8ca1-694a8f32e121"),
    Role("AzureML Compute Operator", "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815"),
    Role("AzureML Registry User", "1823dd4f-9b8c-4ab6-ab4e-7397a3684615"),
    Role("AzureML Metrics Writer (preview)", "635dd51f-9968-44d3-b7fb-6d9a6bd613ae"),
    Role(
        "Azure Machine Learning Workspace Connection Secrets Reader", "ea01e6af-a1c1-4350-9563-ad00f8c72ec5"
    ),
    Role("Azure AI Administrator", "b78c5d69-af96-48a3-bf8d-a8b4d589de94", privileged=True),
    Role("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"),
    Role("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
    Role("Storage File Data Privileged Contributor", "69566ab7-960f-475b-8e7c-b3118f30c6bd"),
    Role("Storage File Data Privileged Reader", "b8eda974-7b85-4f76-af95-65846b26df6d"),
    Role("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6"),
    Role("Key Vault Secrets Officer", "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"),
    Role("Key Vault Crypto Service Encryption User", "e147488a-f6f5-4113-8e2d-b22465e65bf6"),
    Role("Key Vault Administrator", "00482a5a-887f-4fb3-b363-3b7fe8e74483", privileged=True),
    Role("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d"),
    Role("AcrPush", "8311e382-0749-4cb8-b61a-304f252e45ec"),
    Role("Managed Identity Operator", "f1a07417-d97a-45cb-824c-7a7467783830"),
    # The workspace identity approves its managed network's private endpoints with it (since
    # 2025-04-30 no longer automatic: how-to-managed-network.md, "Approval of private endpoints").
    Role("Azure AI Enterprise Network Connection Approver", "b556d68e-0be0-4f35-a333-ad7ee1ce17ea"),
)

ROLES = MappingProxyType({role.name: role for role in _ROLES})
"""Role name (as Azure spells it) -> Role."""

ROLES_BY_GUID = MappingProxyType({role.guid: role for role in _ROLES})


def role_from_definition_id(definition_id: str) -> Role | None:
    """The catalog role behind a `roleDefinitionId`, or None for a role outside the catalog."""
    return ROLES_BY_GUID.get(definition_id.rstrip("/").rsplit("/", 1)[-1].lower())
