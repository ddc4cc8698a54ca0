"""`build()`: the bootstrap stack from its validated config; returns the stack outputs."""

from typing import Any

import pulumi

from bootstrap import graph, rbac
from bootstrap.github_repository import (
    PREVIEW_ENVIRONMENT,
    InfraRepository,
    InfraRepositoryArgs,
    environment_name,
)
from bootstrap.identities import (
    IdentityPlacement,
    InfraDeployer,
    InfraDeployerArgs,
    InfraPreviewer,
    InfraPreviewerArgs,
)
from bootstrap.names import BootstrapNames
from bootstrap.settings import load_bootstrap_config
from bootstrap.state_backend import StateBackend, StateBackendArgs
from mlinfra.settings.access_settings import IdentityKind


def stack_init_command(stage: str, secrets_provider: str) -> str:
    """What initialises a stage stack on the new backend (after `pulumi login <backendUrl>`)."""
    return f"pulumi stack init {stage} --secrets-provider '{secrets_provider}'"


def build() -> dict[str, Any]:
    config, stages = load_bootstrap_config()
    names = BootstrapNames(config.name, config.subscription_id)
    tags = {"workload": config.name, "managed-by": "pulumi", "purpose": "pulumi-state-and-pipelines"}

    backend = StateBackend(
        "state",
        StateBackendArgs(
            names=names,
            settings=config.state_backend,
            subscription_id=config.subscription_id,
            tenant_id=config.tenant_id,
            location=config.location,
            tags=tags,
        ),
    )

    needs_graph = any(
        stage.deploys_entra_application for stage in stages
    ) or IdentityKind.ENTRA_APPLICATION in (
        config.preview.identity_kind,
        *(config.environment(stage.stage).identity_kind for stage in stages),
    )
    providers: list[pulumi.ProviderResource] = []
    graph_principal_id = None
    if needs_graph:
        import pulumi_azuread as azuread  # loaded only when an Entra app or a Graph grant is made (P8)

        entra = azuread.Provider("entra", tenant_id=config.tenant_id)
        providers.append(entra)
        # Microsoft Graph's own service principal, looked up (read-only) to grant its app roles. Not a
        # ServicePrincipal with use_existing: adopting it PATCHes accountEnabled, tags and more onto the
        # Microsoft-owned object (terraform-provider-azuread service_principal_resource.go,
        # servicePrincipalResourceUpdate; review-3-identity-ci R5).
        graph_principal_id = azuread.get_service_principal_output(
            client_id=graph.MICROSOFT_GRAPH_APP_ID, opts=pulumi.InvokeOutputOptions(provider=entra)
        ).object_id

    if config.administrator_group_object_id:
        # Administrators reach the state and the key only through roles (no shared keys).
        for role, scope, scope_id in (
            (rbac.STORAGE_BLOB_DATA_CONTRIBUTOR, backend.container_scope, backend.container_id),
            (rbac.KEY_VAULT_CRYPTO_USER, backend.key_scope, backend.key_id),
        ):
            rbac.assign(
                f"administrators-{role.name.lower().replace(' ', '-')}",
                principal_key=config.administrator_group_object_id,
                principal_id=config.administrator_group_object_id,
                principal_type="Group",
                role=role,
                scope=scope,
                scope_id=scope_id,
                parent=backend,
            )

    custom_roles = {}
    for role in rbac.CUSTOM_ROLES:
        scopes = sorted(
            {scope for stage in stages for needed, scope in stage.custom_role_scopes() if needed is role}
        )
        if scopes:
            role_name = names.custom_role(role.label)
            custom_roles[role.key] = (
                rbac.custom_role_guid(role, role_name),
                rbac.define(role, role_name, scopes),
            )
    placement = IdentityPlacement(
        resource_group_name=backend.resource_group_name,
        location=config.location,
        tags=tags,
        backend=backend,
        graph_principal_id=graph_principal_id,
        custom_roles=custom_roles,
        application_owners=tuple(config.application_owners or ()),
    )
    component_opts = pulumi.ResourceOptions(providers=providers)
    deployers = {
        stage.stage: InfraDeployer(
            f"deploy-{stage.stage}",
            InfraDeployerArgs(
                display_name=names.deployer(stage.stage),
                stage=stage,
                settings=config.environment(stage.stage),
                placement=placement,
            ),
            opts=component_opts,
        )
        for stage in stages
    }
    previewer = InfraPreviewer(
        "preview",
        InfraPreviewerArgs(
            display_name=names.previewer, stages=stages, settings=config.preview, placement=placement
        ),
        opts=component_opts,
    )

    owner = pulumi_github_provider(config.github.owner)
    InfraRepository(
        "infra-repository",
        InfraRepositoryArgs(
            settings=config.github,
            deployers={
                stage.stage: (
                    config.environment(stage.stage),
                    deployers[stage.stage].identity,
                    stage.subscription_id,
                )
                for stage in stages
            },
            previewer=previewer.identity,
            tenant_id=config.tenant_id,
            backend_url=backend.backend_url,
            secrets_provider=backend.secrets_provider,
            ml_repositories=tuple(sorted({s.github_repository for s in stages if s.github_repository})),
        ),
        opts=pulumi.ResourceOptions(providers=[owner, *providers]),
    )

    if config.azure_dev_ops is not None:
        # Loaded only when the infra pipelines run in Azure DevOps (P8).
        from bootstrap.azure_devops import InfraAzureDevOps, InfraAzureDevOpsArgs

        InfraAzureDevOps(
            "infra-azure-devops",
            InfraAzureDevOpsArgs(
                settings=config.azure_dev_ops,
                deployers={
                    stage.stage: (
                        config.environment(stage.stage),
                        deployers[stage.stage].identity,
                        stage.subscription_id,
                    )
                    for stage in stages
                },
                previewer=previewer.identity,
                preview_subscription_id=sorted(stage.subscription_id for stage in stages)[0],
                tenant_id=config.tenant_id,
                backend_url=backend.backend_url,
                secrets_provider=backend.secrets_provider,
                entitled={
                    stage.stage: deployers[stage.stage].identity
                    for stage in stages
                    if stage.azure_devops_organization
                    and stage.azure_devops_organization == config.azure_dev_ops.organization_url.rstrip("/")
                },
            ),
            opts=pulumi.ResourceOptions(
                providers=[azure_devops_provider(config.azure_dev_ops.organization_url)]
            ),
        )

    return {
        "backendUrl": backend.backend_url,
        "secretsProvider": backend.secrets_provider,
        "loginCommand": f"pulumi login '{backend.backend_url}'",
        "stackInitCommands": [stack_init_command(stage.stage, backend.secrets_provider) for stage in stages],
        "deployerClientIds": {stage: deployer.identity.client_id for stage, deployer in deployers.items()},
        # What each stage's mlinfra:deploymentIdentity.owners lists first (docs/from-zero.md).
        "deployerPrincipalIds": {
            stage: deployer.identity.principal_id for stage, deployer in deployers.items()
        },
        "previewClientId": previewer.identity.client_id,
        "githubEnvironments": [environment_name(stage.stage) for stage in stages] + [PREVIEW_ENVIRONMENT],
    }


def azure_devops_provider(organization_url: str) -> pulumi.ProviderResource:
    import pulumi_azuredevops as ado

    return ado.Provider("azure-devops", org_service_url=organization_url)


def pulumi_github_provider(owner: str) -> pulumi.ProviderResource:
    import pulumi_github as github

    return github.Provider("github", owner=owner)
