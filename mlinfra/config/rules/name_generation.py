"""When a stage may step past names a delete left soft-deleted (`mlinfra:nameGeneration`).

A rebuilt stage collides with its own soft-deleted resources: a key vault name stays reserved for
its retention (7-90 days, and cannot be purged while purge protection is on), an Azure Machine
Learning workspace name for 14 days ("You can't reuse the name of a workspace that has been soft
deleted until the retention period has passed or the workspace is permanently deleted",
MicrosoftDocs/azure-ai-docs articles/machine-learning/concept-soft-delete.md). azure-native deletes
neither permanently: the installed SDK's `machinelearningservices.Workspace` has no purge input and
the provider no delete option (docs/soft-delete.md). A new name generation steps past them; a
production stage never does: what was deleted there is recovered (or it ages out), not abandoned.
Called by `mlinfra.config.stage_config` once each section is valid on its own.
"""

from typing import Any


def name_generation_problems(config: Any) -> list[str]:
    """Problems as `<key>: <what is wrong and what is allowed>`, without the namespace."""
    generation = config.name_generation
    if not generation:
        return []
    key = f"nameGeneration: got {generation}"
    problems = []
    if config.stage_definition.production:
        problems.append(
            f"{key}; a production stage never steps past its soft-deleted resources: recover them "
            "(az keyvault recover; the workspace's Recover under Azure Machine Learning, Recently deleted) "
            "or let them age out; remove nameGeneration (docs/soft-delete.md)"
        )
    if config.unique_suffix is not None:
        problems.append(
            f"{key} with uniqueSuffix {config.unique_suffix!r}; both choose the names' suffix: keep one"
        )
    if config.shares_workspace:
        problems.append(
            f"{key} with workspace.sharedFrom; a sharing stage creates no workspace, key vault, storage "
            "or registry: its owner's nameGeneration names them"
        )
    return problems
