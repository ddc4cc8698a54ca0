"""The infra pipelines' identities: one deployer per stage, and one read-only preview identity.

The deployer of a stage may create everything the stage program creates (Contributor on the
stage subscription: the program creates the resource group itself) and grant only the catalog
roles, only to groups and service principals (Role Based Access Control Administrator with the
ABAC condition of `bootstrap.abac`; never Owner or User Access Administrator). It reads and writes
the state and uses the secrets key; where the stage points at an existing subnet or hub DNS zones
it may join them; where the stage deploys an Entra app it may create and own apps in Graph.

The preview identity reads: Reader on every stage subscription, the state blobs (preview takes no
lock on a DIY backend: pulumi/pulumi pkg/backend/diy/backend.go, `Preview` calls `apply` with
DryRun and no `Lock`), decrypt with the secrets key, and Graph Application.Read.All when a stage
deploys Entra apps (`--refresh` reads them).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

from bootstrap import graph, rbac
from bootstrap.abac import PRINCIPAL_TYPES, delegation_condition
from bootstrap.settings import InfraEnvironmentSettings, PreviewSettings, StageFacts
from bootstrap.state_backend import StateBackend
from mlinfra.access.deployment_identity import DeploymentIdentity, DeploymentIdentityArgs
from mlinfra.facts.roles import Role
from mlinfra.settings.access_settings import IdentityKind


@dataclass(frozen=True, kw_only=True)
class IdentityPlacement:
    """Where managed identities go, and the shared pieces each identity's rights refer to."""

    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    backend: StateBackend
    graph_principal_id: pulumi.Input[str] | None
    """Object id of Microsoft Graph's service principal in the tenant (None: no Graph grants needed)."""
    custom_roles: Mapping[str, tuple[str, pulumi.Resource]]
    """Bootstrap's custom roles some deployer needs (`rbac.CUSTOM_ROLES` key -> GUID, definition)."""
    application_owners: tuple[str, ...] = ()
    """Owners of the Entra applications (config `applicationOwners`); unused for managed identities."""


def _identity(
    name: str, display_name: str, kind: IdentityKind, placement: IdentityPlacement, parent
) -> DeploymentIdentity:
    return DeploymentIdentity(
        name,
        DeploymentIdentityArgs(
            display_name=display_name,
            resource_group_name=placement.resource_group_name,
            location=placement.location,
            tags=placement.tags,
            kind=kind,
            owners=placement.application_owners,
        ),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _graph_role(
    name: str, identity: DeploymentIdentity, app_role_id: str, placement: IdentityPlacement, parent
):
    import pulumi_azuread as azuread

    return azuread.AppRoleAssignment(
        name,
        app_role_id=app_role_id,
        principal_object_id=identity.principal_id,
        resource_object_id=placement.graph_principal_id,
        opts=pulumi.ResourceOptions(parent=parent),
    )


@dataclass(frozen=True, kw_only=True)
class InfraDeployerArgs:
    display_name: str
    """Name of the identity (managed identity or app registration)."""
    stage: StageFacts
    """The stage it deploys, as its stack file describes it."""
    settings: InfraEnvironmentSettings
    """Its kind (managed identity by default) and environment protection."""
    placement: IdentityPlacement
    """Where it lives and the shared pieces its rights refer to."""


class InfraDeployer(pulumi.ComponentResource):
    identity: DeploymentIdentity

    def __init__(self, name: str, args: InfraDeployerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:bootstrap:InfraDeployer", name, None, opts)
        display_name, stage, settings, placement = (
            args.display_name,
            args.stage,
            args.settings,
            args.placement,
        )
        self.identity = identity = _identity(
            f"{name}-identity", display_name, settings.identity_kind, placement, self
        )
        backend = placement.backend
        subscription = f"/subscriptions/{stage.subscription_id}"
        common = {"principal_key": display_name, "principal_id": identity.principal_id, "parent": self}
        rbac.assign(
            f"{name}-contributor",
            role=rbac.CONTRIBUTOR,
            scope=subscription,
            **common,
        )
        for index, delegation in enumerate(stage.delegations):
            # The roles and principal types this stack grants there, and nothing else (RB-1,
            # review-3 R3). Azure allows an action when any of the holder's assignments allows it.
            rbac.assign(
                f"{name}-rbac-administrator" + (f"-{index}" if index else ""),
                role=rbac.RBAC_ADMINISTRATOR,
                scope=delegation.scope,
                condition=delegation_condition(delegation.roles, delegation.principal_types),
                name_key=None
                if delegation.principal_types == PRINCIPAL_TYPES
                else ",".join(delegation.principal_types),
                **common,
            )
        for index, (role, scope) in enumerate(stage.custom_role_scopes()):
            if role.key not in placement.custom_roles:
                # program.py defines each custom role some stack's deployer needs.
                raise ValueError(
                    f"stack {stage.stage} needs the custom role {role.label}, which is not defined"
                )
            guid, definition = placement.custom_roles[role.key]
            rbac.assign(
                f"{name}-join-{index}" if role is rbac.JOINER else f"{name}-{role.key}",
                role=Role(role.label, guid),
                scope=scope,
                depends_on=[definition],
                **common,
            )
        rbac.assign(
            f"{name}-state",
            role=rbac.STORAGE_BLOB_DATA_CONTRIBUTOR,
            scope=backend.container_scope,
            scope_id=backend.container_id,
            **common,
        )
        rbac.assign(
            f"{name}-secrets-key",
            role=rbac.KEY_VAULT_CRYPTO_USER,
            scope=backend.key_scope,
            scope_id=backend.key_id,
            **common,
        )
        if stage.deploys_entra_application:
            _graph_role(f"{name}-graph-apps", identity, graph.APPLICATION_READWRITE_OWNEDBY, placement, self)
        if stage.adds_other_owners:
            # Graph "Add owner" (application-post-owners): OwnedBy "isn't sufficient to add another
            # owner"; least privilege is OwnedBy and Directory.Read.All (review-3-identity-ci B1). It
            # also lets the provider's duplicate-name check list applications (R4).
            _graph_role(f"{name}-graph-directory-read", identity, graph.DIRECTORY_READ_ALL, placement, self)
        self.register_outputs({"clientId": identity.client_id})


@dataclass(frozen=True, kw_only=True)
class InfraPreviewerArgs:
    display_name: str
    """Name of the identity (managed identity or app registration)."""
    stages: list[StageFacts]
    """Every stage it previews (Reader on each stage's subscription)."""
    settings: PreviewSettings
    """Its kind (managed identity by default)."""
    placement: IdentityPlacement
    """Where it lives and the shared pieces its rights refer to."""


class InfraPreviewer(pulumi.ComponentResource):
    identity: DeploymentIdentity

    def __init__(self, name: str, args: InfraPreviewerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:bootstrap:InfraPreviewer", name, None, opts)
        display_name, stages, settings, placement = (
            args.display_name,
            args.stages,
            args.settings,
            args.placement,
        )
        self.identity = identity = _identity(
            f"{name}-identity", display_name, settings.identity_kind, placement, self
        )
        backend = placement.backend
        common = {"principal_key": display_name, "principal_id": identity.principal_id, "parent": self}
        for subscription_id in sorted({stage.subscription_id.lower() for stage in stages}):
            rbac.assign(
                f"{name}-reader-{subscription_id}",
                role=rbac.READER,
                scope=f"/subscriptions/{subscription_id}",
                **common,
            )
        rbac.assign(
            f"{name}-state",
            role=rbac.STORAGE_BLOB_DATA_READER,
            scope=backend.container_scope,
            scope_id=backend.container_id,
            **common,
        )
        rbac.assign(
            f"{name}-secrets-key",
            role=rbac.KEY_VAULT_CRYPTO_USER,
            scope=backend.key_scope,
            scope_id=backend.key_id,
            **common,
        )
        if any(stage.deploys_entra_application for stage in stages):
            _graph_role(f"{name}-graph-read", identity, graph.APPLICATION_READ_ALL, placement, self)
        self.register_outputs({"clientId": identity.client_id})
