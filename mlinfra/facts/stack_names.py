"""Stack names: `<stage>` or `<workload>-<stage>`, and the shared stack, which is no stage."""

SHARED_STACK = "shared"
"""The stack that holds what every stage shares (the Azure ML registry); not a stage, never in the
catalog, deployed before the stages (docs/model-promotion.md, "Model promotion")."""


def split_stack_name(stack: str) -> tuple[str | None, str]:
    """`<stage>` -> (None, stage); `<workload>-<stage>` -> (workload, stage)."""
    workload, _, stage = stack.rpartition("-")
    return (workload or None), stage


def is_shared_stack(stack: str) -> bool:
    """`shared` or `<workload>-shared`: the shared stack, not a stage."""
    return split_stack_name(stack)[1] == SHARED_STACK
