"""`StageLocks`: one `CanNotDelete` management lock on each of a stage's stores of data (the
workspace's storage account, key vault and container registry), next to Pulumi's `protect`.

Locks sit on the resources, not on the resource group: a lock applies to everything below its
scope (Microsoft Learn REST, "Management Locks - Create Or Update At Resource Level": "When you
apply a lock at a parent scope, all child resources inherit the same lock"), and a group lock would
also stop the deletes a deployment makes in normal operation (private endpoints, role assignments,
outbound rules, compute). For the same reason the workspace itself is not locked: its children are
what the ML engineers and this program replace every release (`workspaces/onlineEndpoints` and their
deployments, `workspaces/computes`, `workspaces/outboundRules`), and the managed network's own
operations fail under a lock (MicrosoftDocs/azure-ai-docs how-to-managed-network.md, Limitations:
"Make sure there are no scope locks on the Azure Machine Learning resources and resource group").
A deleted workspace stays recoverable for 14 days (docs/soft-delete.md), and Pulumi's `protect`
covers it in the program.

Creating or deleting a lock needs `Microsoft.Authorization/locks/write` or `.../delete` (same page:
"Of the built-in roles, only Owner and User Access Administrator are granted those actions"), which
Contributor's notActions (`Microsoft.Authorization/*/Write`, `*/Delete`) exclude; the estate
verifier checks the deployer holds it (mlinfra/estate/needs.py, by the lock's ARM id).
"""

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pulumi
from pulumi_azure_native import authorization

from mlinfra.settings.lock_settings import LockKind

if TYPE_CHECKING:
    from mlinfra.config.stage_config import StageConfig
    from mlinfra.stage.ml_workspace import MlWorkspace

LOCK_NAME = "mlinfra-cannot-delete"
"""The name of every lock (at most 260 characters, none of < > % & : \\ ? / or control characters:
Microsoft Learn REST, "Management Locks - Create Or Update At Resource Level", lockName)."""
NOTES = "Managed by Pulumi (mlinfra). Planned teardown: docs/stages.md, 'Planned teardown'."
"""The lock's notes (at most 512 characters: azure-native `ManagementLockByScope.notes`)."""


class StageLocks(pulumi.ComponentResource):
    """A CanNotDelete lock per target, by role."""

    locks: dict[str, authorization.ManagementLockByScope]

    def __init__(
        self,
        name: str,
        targets: Mapping[str, pulumi.Input[str]],
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("mlinfra:components:StageLocks", name, None, opts)
        self.locks = {
            role: authorization.ManagementLockByScope(
                f"{name}-{role}",
                scope=resource_id,
                lock_name=LOCK_NAME,
                level=LockKind.CAN_NOT_DELETE.value,
                notes=NOTES,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for role, resource_id in targets.items()
        }
        self.register_outputs({})


def stage_locks(
    name: str, config: "StageConfig", workspace: "MlWorkspace", parent: pulumi.Resource
) -> StageLocks | None:
    """The stage's locks (`mlinfra:lock`), or None where there are none."""
    if not config.lock.active(config.stage_definition.production):
        return None
    targets = {
        "storage": workspace.storage_account_id,
        "keyvault": workspace.key_vault_id,
        "registry": workspace.container_registry_id,
    }
    return StageLocks(f"{name}-locks", targets, opts=pulumi.ResourceOptions(parent=parent))
