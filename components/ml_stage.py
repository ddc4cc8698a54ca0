"""`MlStage`: everything one stage needs, composed from its configuration.

Reads top to bottom; no branching on the stage's name (stage differences are data).
"""

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import resources

from components.config import StageConfig
from components.ml_workspace import MlWorkspace, MlWorkspaceArgs


@dataclass(frozen=True, kw_only=True)
class MlStageArgs:
    config: StageConfig
    """The stage's validated configuration (see `components.config.load_stage_config`)."""


class MlStage(pulumi.ComponentResource):
    """The resource group of a stage and its ML workspace."""

    resource_group_name: pulumi.Output[str]
    workspace: MlWorkspace

    def __init__(self, name: str, args: MlStageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:MlStage", name, None, opts)
        config = args.config
        names = config.names
        tags = {**config.tags, "workload": config.workload, "stage": config.stage.value, "managed-by": "pulumi"}
        protection = config.resource_protection

        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=names.resource_group,
            location=config.location,
            tags=tags,
            # Deleting the group deletes everything in it, so it is protected with the rest (PU-3).
            opts=pulumi.ResourceOptions(
                parent=self, protect=protection.protect, retain_on_delete=protection.retain_on_delete
            ),
        )

        self.workspace = MlWorkspace(
            f"{name}-ml",
            MlWorkspaceArgs(
                names=names,
                resource_group_name=group.name,
                location=config.location,
                tenant_id=config.tenant_id,
                tags=tags,
                network=config.network,
                storage=config.storage,
                key_vault=config.key_vault,
                container_registry=config.container_registry,
                monitoring=config.monitoring,
                workspace=config.workspace,
                protection=protection,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.resource_group_name = group.name
        self.register_outputs(
            {"resourceGroupName": self.resource_group_name, "workspaceName": self.workspace.workspace_name}
        )
