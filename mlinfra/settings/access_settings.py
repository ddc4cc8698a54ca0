"""Stack config of who may do what in a stage: human personas (Entra groups) and the
deployment identity pipelines sign in as, with their built-in roles per scope."""

import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, Field, StrictStr

from mlinfra.facts.roles import ROLES
from mlinfra.settings.settings_base import Guid, Settings, distinct
from mlinfra.settings.value_kinds import Reason


def owner_ids(values: list[str]) -> list[str]:
    if not values:
        raise ValueError("expected at least one object id")
    seen: set[str] = set()
    for value in values:
        if value.lower() in seen:
            raise ValueError(f"expected each object id once, {value} is listed twice (case-insensitively)")
        seen.add(value.lower())
    return values


def _role_name(value: str) -> str:
    if value not in ROLES:
        raise ValueError(f"expected a built-in role of the catalog: {', '.join(ROLES)}")
    return value


RoleList = Annotated[list[Annotated[StrictStr, AfterValidator(_role_name)]], AfterValidator(distinct)]


class ScopedRoles(Settings):
    """Built-in role names per scope of the stage. Nothing at subscription scope exists (RB-1)."""

    resource_group: RoleList = Field(default_factory=list)
    """Roles on the stage's resource group. Default none."""
    workspace: RoleList = Field(default_factory=list)
    """Roles on the ML workspace. Default none."""
    storage_account: RoleList = Field(default_factory=list)
    """Roles on the workspace's storage account. Default none."""
    key_vault: RoleList = Field(default_factory=list)
    """Roles on the workspace's key vault. Default none."""
    container_registry: RoleList = Field(default_factory=list)
    """Roles on the workspace's container registry. Default none."""

    def items(self) -> list[tuple[str, str]]:
        """(scope kind, role name) pairs, scopes in declaration order."""
        return [
            (field.alias or name, role)
            for name, field in type(self).model_fields.items()
            for role in getattr(self, name)
        ]


class Persona(Settings):
    group_object_id: Guid
    """Object id of the persona's Entra security group (RB-4: humans get access through groups). Required."""
    roles: ScopedRoles = ScopedRoles()
    """What the group may do in this stage. Default nothing."""
    outside_dev_reason: Reason | None = None
    """Only for `dataScientists`: why the group needs access outside dev. Without it, a data
    scientist grant in preprod or prod is refused (RB-7)."""


class IdentityKind(StrEnum):
    ENTRA_APPLICATION = "entra-application"
    MANAGED_IDENTITY = "managed-identity"


class CredentialMode(StrEnum):
    FEDERATED = "federated"
    CLIENT_SECRET = "client-secret"


DEFAULT_PIPELINE_ROLES = ScopedRoles(
    workspace=["AzureML Data Scientist"], storage_account=["Storage Blob Data Contributor"]
)
"""What a pipeline needs to submit jobs and deploy models: jobs, models, endpoints in the
workspace (no workspace or compute changes, no keys), and blob access to upload code and
data to the identity-authenticated default datastore (ML-7)."""


class DeploymentIdentitySettings(Settings):
    kind: IdentityKind = IdentityKind.ENTRA_APPLICATION
    """`entra-application` (default: app registration + service principal) or `managed-identity`
    (a user-assigned managed identity, for teams without Entra app-registration rights)."""
    credential: CredentialMode = CredentialMode.FEDERATED
    """`federated` (default: OIDC trust only, no secret exists) or `client-secret` (a password for
    workflows that still log in with AZURE_CREDENTIALS; entra-application only)."""
    client_secret_expiry: datetime.date | None = None
    """YYYY-MM-DD, within two years from today. Required with `client-secret`: the password stops
    working that day; rotate by moving the date (docs/access.md, "Client-secret mode and rotation")."""
    owners: Annotated[list[Guid], AfterValidator(owner_ids)] | None = None
    """Object ids (GUIDs) of the users or service principals that own the app registration and its
    service principal: the identity that runs `pulumi up` for the stage, plus an administrator.
    Required with `entra-application` (docs/deploying.md, "Deploying for real"); owners not listed are removed."""
    roles: ScopedRoles = DEFAULT_PIPELINE_ROLES
    """What the stage's pipelines may do. Default: AzureML Data Scientist on the workspace and
    Storage Blob Data Contributor on its storage account."""
