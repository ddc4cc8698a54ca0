"""Composition root: the shared stack builds the Azure ML registry; any other stack is a stage of
the catalog: load its config, build the stage, export what pipelines need."""

import pulumi

from mlinfra.config.loading import load_stage_config
from mlinfra.config.shared_config import load_shared_config
from mlinfra.config.stage_config import StageConfig
from mlinfra.facts.stack_names import is_shared_stack
from mlinfra.shared.shared_registry import SharedRegistry
from mlinfra.stage.ml_stage import MlStage, MlStageArgs
from mlinfra.stage.shared_workspace import persona_roles


def shared_stack() -> None:
    """The registry every stage shares; stages read these outputs through a StackReference."""
    config = load_shared_config()
    shared = SharedRegistry("shared", config)
    pulumi.export("subscriptionId", config.subscription_id)
    pulumi.export("location", config.location)
    pulumi.export("resourceGroupName", shared.resource_group_name)
    pulumi.export("registryName", shared.registry.name)
    pulumi.export("registryId", shared.registry.id)
    # The custom reader role, as stages of any workload assign it (RB-12).
    pulumi.export("registryReaderRoleDefinitionId", shared.reader_role_definition_id)
    pulumi.export("registryReaderRoleName", shared.reader_role_name)


def export_shared_scopes(stage: MlStage, config: StageConfig) -> None:
    """The ids of the workspace's scopes, its network and who holds roles on it."""
    workspace = stage.workspace
    assert workspace is not None
    pulumi.export("resourceGroupId", stage.resource_group_id)
    pulumi.export("storageAccountId", workspace.storage_account_id)
    pulumi.export("keyVaultId", workspace.key_vault_id)
    pulumi.export("containerRegistryId", workspace.container_registry_id)
    pulumi.export(
        "workspaceNetwork", "public" if config.own_network.public_network_access_enabled else "private"
    )
    pulumi.export("personas", persona_roles(config.personas))


def stage_stack() -> None:

    config = load_stage_config()
    stage = MlStage(config.stage, MlStageArgs(config=config))

    # What pipelines and the CI environments need to reach this stage; never a secret (PU-2).
    pulumi.export("stage", config.stage)
    pulumi.export("subscriptionId", config.subscription_id)
    pulumi.export("tenantId", config.tenant_id)
    pulumi.export("location", config.location)
    pulumi.export("resourceGroupName", stage.resource_group_name)
    pulumi.export("workspaceName", stage.workspace_name)
    pulumi.export("workspaceId", stage.workspace_id)
    if stage.workspace is not None:
        # What a stage that shares this workspace reads (mlinfra/stage/shared_workspace.py, ML-16).
        export_shared_scopes(stage, config)
    else:
        pulumi.export("sharedFrom", config.workspace.shared_from)
    pulumi.export("clientId", stage.identity.client_id)
    pulumi.export("principalObjectId", stage.identity.principal_id)
    pulumi.export("deploymentIdentityName", config.names.deployment_identity)
    if stage.network is not None:
        network = stage.network
        if network.runner_subnet_id is not None:
            pulumi.export("runnerSubnetId", network.runner_subnet_id)
        if network.github_network_settings_id is not None:
            # GitHub org settings > Hosted compute networking takes this resource's GitHubId tag.
            pulumi.export("githubNetworkSettingsId", network.github_network_settings_id)
        if network.hub_peering_request is not None:
            # The hub's side of the peering, for the hub team to create (the deployer may not write there).
            pulumi.export("hubPeeringRequest", network.hub_peering_request)
    if stage.monitoring_scope_request is not None:
        # What the hub team adds to the landing zone's monitoring scope this stage joins (F3).
        pulumi.export("monitoringScopeRequest", stage.monitoring_scope_request)
    if stage.github_environment:
        pulumi.export("githubEnvironment", stage.github_environment.environment_name)
    if stage.azure_devops_environment:
        pulumi.export("serviceConnectionName", stage.azure_devops_environment.service_connection_name)
        pulumi.export("variableGroupName", stage.azure_devops_environment.variable_group_name)


if is_shared_stack(pulumi.get_stack()):
    shared_stack()
else:
    stage_stack()
