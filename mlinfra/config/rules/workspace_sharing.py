"""The single-workspace topology as config rules: a stage that uses an earlier stage's workspace
(`workspace.sharedFrom`) instead of its own (docs/workspaces.md, "One workspace or one per stage").

The owning stage is named by its stack, `<stage>` or `<workload>-<stage>`, at the end of the
fully-qualified reference: that is how the sharing stage knows, before anything is registered,
which catalog stage owns the workspace and so which traits meet on it (RB-10). The owner also
exports its `stage`; the sharing stage checks the two agree once the owner's outputs are read.
"""

import json
from typing import TYPE_CHECKING

from mlinfra.config.stage_catalog import StageDefinition
from mlinfra.facts.stack_names import split_stack_name

if TYPE_CHECKING:
    from mlinfra.config.stage_config import StageConfig

SCOPE_OUTPUTS = {
    "resourceGroup": "resourceGroupId",
    "workspace": "workspaceId",
    "storageAccount": "storageAccountId",
    "keyVault": "keyVaultId",
    "containerRegistry": "containerRegistryId",
}
"""Scope kind -> the owner's stack output holding that scope's id."""
SHARED_RECORD = "mlinfra:policy:SharedWorkspace"
"""Type of the record of a shared workspace (mlinfra/stage/shared_workspace.py); the planner's access view
and text plan read it."""

SHARING_KEYS = frozenset({"shared_from", "shared_with_data_science_reason"})
"""The only `workspace.*` fields a sharing stage sets; the owner decides the rest."""
OWNER_SECTIONS = (
    "network",
    "storage",
    "key_vault",
    "container_registry",
    "encryption",
    "monitoring",
    "compute",
    "resource_protection",
)
"""Sections about the workspace's own resources: the owning stage's to set (ML-16)."""


def owner_stack(reference: str) -> str:
    """`<organization>/<project>/<stack>` or `<stack>` -> `<stack>`."""
    return reference.rsplit("/", 1)[-1]


def owner_stage(config: "StageConfig") -> StageDefinition | None:
    """The catalog entry of the stage whose workspace this stage shares; None when it owns one
    (or the reference names no stage of the catalog)."""
    reference = config.workspace.shared_from
    if reference is None:
        return None
    stage = split_stack_name(owner_stack(reference))[1]
    return next((entry for entry in config.stages if entry.name == stage), None)


def needs_acknowledgement(stage: StageDefinition, owner: StageDefinition) -> bool:
    """A production stage and a data-science stage on one workspace: every grant on it holds for
    both, so data scientists' roles reach production data, or production data reaches them (RB-10)."""
    return (stage.production and owner.data_science) or (stage.data_science and owner.production)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def sharing_problems(config: "StageConfig") -> list[str]:
    """Problems as `<key>: <what is wrong and what is allowed>`, without the namespace."""
    workspace = config.workspace
    reference = workspace.shared_from
    if reference is None:
        if workspace.shared_with_data_science_reason is not None:
            return [
                "workspace.sharedWithDataScienceReason: only meaningful with workspace.sharedFrom; remove it"
            ]
        return []
    owner = owner_stage(config)
    names = [entry.name for entry in config.stages]
    position = names.index(config.stage)
    earlier = names[:position]
    got = f"got {json.dumps(reference)}"
    own_prefix, _ = split_stack_name(config.stack)
    prefix = split_stack_name(owner_stack(reference))[0]
    expected = f"{own_prefix}-<stage>" if own_prefix else "<stage>"
    if owner is None or owner.name == config.stage or owner.name not in earlier or prefix != own_prefix:
        return [
            f"workspace.sharedFrom: {got}; expected the stack ({expected}) of a stage before {config.stage} "
            f"in mlinfra:stages ({', '.join(earlier) or 'none'}): the owner deploys first and this stage "
            "reads its outputs (ML-16)"
        ]
    problems = [
        f"{_camel(section)}: set by the owning stage {owner.name} (workspace.sharedFrom); remove it (ML-16)"
        for section in OWNER_SECTIONS
        if section in config.model_fields_set
    ]
    problems += [
        f"workspace.{_camel(field)}: set by the owning stage {owner.name} (workspace.sharedFrom); remove it (ML-16)"
        for field in sorted(workspace.model_fields_set - SHARING_KEYS)
    ]
    if config.registry.workspace_identity:
        problems.append(
            f"registry.workspaceIdentity: the shared workspace's identity is granted by its owner {owner.name}; "
            "remove it here (ML-16)"
        )
    if config.deployment_identity.kind != "entra-application":
        problems.append(
            f"deploymentIdentity.kind: got {json.dumps(str(config.deployment_identity.kind))}; a stage that shares "
            "a workspace has no resource group of its own to hold a managed identity: use 'entra-application' (ML-16)"
        )
    reason = workspace.shared_with_data_science_reason
    stage_definition = config.stage_definition
    if needs_acknowledgement(stage_definition, owner) and reason is None:
        production, science = (
            (config.stage, owner.name) if stage_definition.production else (owner.name, config.stage)
        )
        problems.append(
            f"workspace.sharedWithDataScienceReason: required: production stage {production} would share one "
            f"workspace with data-science stage {science}, and every grant on it holds for both (RB-10); give "
            f"the reason (at least 10 characters), or give {config.stage} its own workspace"
        )
    if reason is not None and not needs_acknowledgement(stage_definition, owner):
        problems.append(
            f"workspace.sharedWithDataScienceReason: {config.stage} and {owner.name} are not a production and a "
            "data-science stage; remove it"
        )
    return problems
