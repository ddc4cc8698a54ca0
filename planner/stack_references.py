"""Offline answers to `pulumi.StackReference`: the outputs of another stack of this project.

A real `pulumi up` reads the referenced stack's outputs from the backend. Offline there is no
backend, so the planner plans the referenced stack itself (its stack file is in the repository)
in a child process, `python -m planner --stack <s> --format json`, and answers with that plan's
outputs: deterministic, and the same values the referenced stack's own plan shows. A child
process, because the mock engine is process-global state and the referencing program is running.

Names: `<stack>` or `<organization>/<project>/<stack>` (the fully-qualified form a stack file
sets); the project must be this one, since only its stack files are at hand. The referenced stack's
file is looked for next to the referencing stack's file first (the stacks of an example refer to
each other, `examples/single-workspace`), then in the project directory. A chain of
references that comes back to a stack already being planned is refused (recursion guard).
"""

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from planner import plan_cache
from planner.stackfile import StackFileError, available_stacks, load_stack_config, project_name

CHAIN_VARIABLE = "MLINFRA_PLANNER_REFERENCE_CHAIN"
"""Environment variable: the stacks being planned above this process, comma-separated."""


class StackReferenceError(StackFileError):
    """A stack reference the planner cannot answer offline (no stack file, other project, a cycle)."""


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
    """The stacks being planned above this process (outermost first)."""
    return [stack for stack in os.environ.get(CHAIN_VARIABLE, "").split(",") if stack]


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
    config = config_file.resolve() if config_file is not None else None
    cached = _cached_outputs(project_dir.resolve(), target.stack, config)
    if cached is not None:
        return cached
    return dict(
        _plan_outputs(
            project_dir.resolve(), target.stack, ",".join(above), _fingerprint(project_dir, config), config
        )
    )


def _cached_outputs(project_dir: Path, stack: str, config_file: Path | None) -> dict | None:
    """The outputs of an earlier plan of the same inputs (`planner.plan_cache`), without a child
    process; None when there is none (or the stack file cannot be read: the child reports why)."""
    try:
        config = load_stack_config(project_dir, stack, config_file)
    except StackFileError:
        return None
    stored = plan_cache.load(plan_cache.cache_dir(project_dir), plan_cache.plan_key(project_dir, config))
    return dict(stored["outputs"]) if stored is not None else None


def _fingerprint(project_dir: Path, config_file: Path | None = None) -> str:
    """Changes whenever a stack or project file changes, so a cached answer never goes stale."""
    digest = hashlib.sha256()
    for path in sorted(project_dir.glob("Pulumi*.yaml")) + ([config_file] if config_file else []):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=32)
def _plan_outputs(
    project_dir: Path, stack: str, above: str, fingerprint: str, config_file: Path | None = None
) -> dict:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "planner",
            "--stack",
            stack,
            "--format",
            "json",
            "--project-dir",
            str(project_dir),
            *(["--config-file", str(config_file)] if config_file is not None else []),
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, CHAIN_VARIABLE: above},
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        reason = " ".join(completed.stderr.split()).removeprefix("error: ") or f"exit {completed.returncode}"
        raise StackReferenceError(f"stack reference to {stack!r}: planning it failed: {reason}")
    return json.loads(completed.stdout)["outputs"]
