"""Offline answers to `pulumi.StackReference`: the outputs of another stack of this project.

A real `pulumi up` reads the referenced stack's outputs from the backend. Offline there is no
backend, so the planner plans the referenced stack itself (its stack file is in the repository)
and answers with that plan's outputs: deterministic, and the same values the referenced stack's
own plan shows. The mock engine is process-global and the referencing program is running when it
asks, so a reference with no plan at hand stops that run (`ReferenceNotPlanned`); `record` then
plans the referenced stack in this process (`plan_missing`) and runs the program again, which now
finds the outputs (in the plan cache, or in this process's memory when the cache is off). No
child process: each would load the SDKs again, seconds per reference.

Names: `<stack>` or `<organization>/<project>/<stack>` (the fully-qualified form a stack file
sets); the project must be this one, since only its stack files are at hand. The referenced stack's
file is looked for next to the referencing stack's file first (the stacks of an example refer to
each other, `examples/single-workspace`), then in the project directory. A chain of
references that comes back to a stack already being planned is refused (recursion guard).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner import plan_cache
from planner.stackfile import StackConfig, StackFileError, available_stacks, load_stack_config, project_name

_chain: list[str] = []
"""The stacks being planned above the one planning now (outermost first), in this process."""
_planned_here: dict[str, dict[str, Any]] = {}
"""Outputs of the stacks this process planned for a reference, by plan key (the cache may be off)."""


class StackReferenceError(StackFileError):
    """A stack reference the planner cannot answer offline (no stack file, other project, a cycle)."""


class ReferenceNotPlanned(StackReferenceError):
    """The referenced stack has no plan at hand yet: `record` plans it and runs the program again."""

    def __init__(self, project_dir: Path, config: StackConfig, above: list[str], key: str):
        super().__init__(f"stack reference to {config.stack!r}: not planned yet")
        self.project_dir, self.config, self.above, self.key = project_dir, config, above, key


@dataclass(frozen=True)
class ReferencedStack:
    project: str
    stack: str


def parse_reference(name: str, project: str) -> ReferencedStack:
    """`<stack>` or `<organization>/<project>/<stack>` -> the stack of this project it names."""
    parts = name.split("/")
    if len(parts) == 1 and parts[0]:
        return ReferencedStack(project, parts[0])
    if len(parts) == 3 and all(parts):
        return ReferencedStack(parts[1], parts[2])
    raise StackReferenceError(
        f"stack reference {name!r}: expected <stack> or <organization>/<project>/<stack>"
    )


def chain() -> list[str]:
    """The stacks being planned above the one planning now (outermost first)."""
    return list(_chain)


def referenced_outputs(
    project_dir: Path, name: str, referencing_stack: str, beside: Path | None = None
) -> dict:
    """The outputs stack `name` would export, from an offline plan of its stack file (in `beside`,
    the referencing stack file's directory, if it is there; else in the project)."""
    project = project_name(project_dir)
    target = parse_reference(name, project)
    if target.project != project:
        raise StackReferenceError(
            f"stack reference {name!r}: project {target.project!r} is not this project ({project!r}); "
            "the offline planner can only plan stacks of this project"
        )
    stacks = available_stacks(project_dir)
    config_file = None
    if beside is not None and beside.resolve() != project_dir.resolve():
        candidate = beside / f"Pulumi.{target.stack}.yaml"
        if candidate.is_file():
            config_file = candidate
            stacks.append(target.stack)
    if target.stack not in stacks:
        raise StackReferenceError(
            f"stack reference {name!r}: no stack file Pulumi.{target.stack}.yaml in {project_dir}; "
            f"stacks: {', '.join(stacks) or 'none'}"
        )
    above = [*chain(), referencing_stack]
    if target.stack in above:
        raise StackReferenceError(
            f"stack reference {name!r}: a cycle of stack references: {' -> '.join([*above, target.stack])}"
        )
    try:
        config = load_stack_config(project_dir, target.stack, config_file)
    except StackFileError as error:
        raise _planning_failed(target.stack, error) from None
    key = plan_cache.plan_key(project_dir, config)
    if key in _planned_here:
        return dict(_planned_here[key])
    stored = plan_cache.load(plan_cache.cache_dir(project_dir), key)
    if stored is not None:
        return dict(stored["outputs"])
    raise ReferenceNotPlanned(project_dir, config, above, key)


def plan_missing(missing: ReferenceNotPlanned) -> None:
    """Plan the stack a run asked for, in this process, between two runs of the referencing program
    (the mock engine holds one run at a time), with the stacks above it on the chain."""
    from planner import recorder  # it runs programs and imports this module

    global _chain
    outer, _chain = _chain, missing.above
    try:
        plan = recorder.plan_config(missing.project_dir, missing.config)
    except Exception as error:
        raise _planning_failed(missing.config.stack, error) from error
    finally:
        _chain = outer
    _planned_here[missing.key] = plan.outputs


def _planning_failed(stack: str, error: Exception) -> StackReferenceError:
    if isinstance(error, StackReferenceError) and "planning it failed" in str(error):
        return error  # a reference further down the chain, already worded
    reason = " ".join(str(error).split()).removeprefix("error: ") or type(error).__name__
    return StackReferenceError(f"stack reference to {stack!r}: planning it failed: {reason}")
