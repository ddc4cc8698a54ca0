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

A plan records each reference it answered (`Plan.references`: the name -> the plan key of the
plan that answered it). The plan cache's key leaves other stacks' files out, and hands a stored
plan out again only while those references are current (`references_current`): editing one
stack file re-plans that stack and the stacks that reference it, and no other.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlinfra.planner import plan_cache
from mlinfra.planner.stackfile import (
    StackConfig,
    StackFileError,
    available_stacks,
    load_stack_config,
    project_name,
)

_chain: list[str] = []
"""The stacks being planned above the one planning now (outermost first), in this process."""
_planned_here: dict[str, dict[str, Any]] = {}
"""The stacks this process planned for a reference, by plan key ({"outputs", "references"}, as
a cache entry has them): the cache may be off."""
MAX_DEPTH = 16
"""References below a plan that `references_current` follows at most (cycles are refused when
planning, so a deeper chain is a damaged cache: planned again)."""


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
    project_dir: Path,
    name: str,
    referencing_stack: str,
    beside: Path | None = None,
    answered: dict[str, str] | None = None,
) -> dict:
    """The outputs stack `name` would export, from an offline plan of its stack file (in `beside`,
    the referencing stack file's directory, if it is there; else in the project). `answered`
    gets `name` -> the plan key of the plan that answered it."""
    config = _referenced_config(project_dir, name, beside)
    above = [*chain(), referencing_stack]
    if config.stack in above:
        raise StackReferenceError(
            f"stack reference {name!r}: a cycle of stack references: {' -> '.join([*above, config.stack])}"
        )
    key = plan_cache.plan_key(project_dir, config)
    cache = plan_cache.cache_dir(project_dir)
    stored = _stored(key, cache)
    if stored is None or not references_current(project_dir, config, stored, cache):
        raise ReferenceNotPlanned(project_dir, config, above, key)
    if answered is not None:
        answered[name] = key
    return dict(stored["outputs"])


def named_references(values: dict[str, str], project: str) -> list[str]:
    """Fully-qualified names of this project's stacks (`<organization>/<project>/<stack>`) that a
    stack's config values hold, decoded JSON included: the references its program will most likely
    make (the shared registry's stack, a shared workspace's owner)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value.count("/") == 2:
            organization, named_project, stack = value.split("/")
            if organization and named_project == project and stack and value not in found:
                found.append(value)

    for raw in values.values():
        try:
            walk(json.loads(raw))
        except (ValueError, RecursionError):
            walk(raw)
    return found


def _stored(key: str, cache: Path | None) -> dict[str, Any] | None:
    """The plan stored under `key`: this process's memo first, then the plan cache."""
    return _planned_here.get(key) or plan_cache.load(cache, key)


def references_current(
    project_dir: Path,
    config: StackConfig,
    stored: dict[str, Any],
    cache: Path | None,
    repository: Path | None = None,
    depth: int = 0,
) -> bool:
    """Whether every stack reference the stored plan of `config` answered would be answered by the
    same plan today: each name still resolves to a stack file whose plan key is the recorded one,
    and that plan's own references are current too. The plan key leaves other stacks' files out
    (editing one stack's file keeps every other plan that does not reference it); this check is
    what keeps a plan that does reference it from being handed out stale."""
    references: dict[str, str] = stored.get("references") or {}
    if references and depth >= MAX_DEPTH:
        return False
    beside = config.source.parent if config.source is not None else None
    for name, key in references.items():
        try:
            referenced = _referenced_config(project_dir, name, beside)
        except StackReferenceError:
            return False
        if plan_cache.plan_key(project_dir, referenced, repository) != key:
            return False
        entry = _stored(key, cache)
        if entry is None or not references_current(
            project_dir, referenced, entry, cache, repository, depth + 1
        ):
            return False
    return True


def _referenced_config(project_dir: Path, name: str, beside: Path | None) -> StackConfig:
    """The config of the stack `name` names: its file beside the referencing stack file's if there
    is one, else the project's. StackReferenceError when it names none of this project's."""
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
    try:
        return load_stack_config(project_dir, target.stack, config_file)
    except StackFileError as error:
        raise _planning_failed(target.stack, error) from None


def plan_missing(missing: ReferenceNotPlanned, plan_config: Callable[[Path, StackConfig], Any]) -> None:
    """Plan the stack a run asked for with `plan_config` (the recorder's, which runs programs and
    so sits above this module), in this process, between two runs of the referencing program (the
    mock engine holds one run at a time), with the stacks above it on the chain."""
    global _chain
    outer, _chain = _chain, missing.above
    try:
        plan = plan_config(missing.project_dir, missing.config)
    except Exception as error:
        raise _planning_failed(missing.config.stack, error) from error
    finally:
        _chain = outer
    _planned_here[missing.key] = {"outputs": plan.outputs, "references": plan.references}


def _planning_failed(stack: str, error: Exception) -> StackReferenceError:
    if isinstance(error, StackReferenceError) and "planning it failed" in str(error):
        return error  # a reference further down the chain, already worded
    reason = " ".join(str(error).split()).removeprefix("error: ") or type(error).__name__
    return StackReferenceError(f"stack reference to {stack!r}: planning it failed: {reason}")
