"""The stacks of an estate and their plans: the bootstrap project's stacks, the shared stack and
every stack of the stage project (each catalog stage, each workload), all planned offline through
the plan cache (`mlinfra.planner.plan_cache`), so a verifier run after `make plan` or `make test` plans
little or nothing again."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlinfra.planner.mock_cloud import arm_resource_id
from mlinfra.planner.recorder import Plan, Resource, plan_stack
from mlinfra.planner.stackfile import available_stacks

BOOTSTRAP_DIR = "bootstrap"


@dataclass(frozen=True)
class StackPlan:
    """One planned stack of the estate."""

    kind: str
    """`bootstrap`, `shared` or `stage`."""
    stack: str
    project_dir: Path
    config_file: Path | None
    plan: Plan
    config: dict[str, str]
    """The config the program received (`<namespace>:<key>` -> the engine's string)."""

    def setting(self, key: str) -> Any:
        """A config value of the stack as the program reads it (`<namespace>:<key>`), JSON decoded."""
        raw = self.config.get(key)
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    @property
    def subscription_id(self) -> str:
        return str(self.config.get("azure-native:subscriptionId", "")).lower()

    def arm_id(self, resource: Resource) -> str | None:
        """The resource's ARM id, as the planner's mock cloud gives it."""
        return arm_resource_id(resource.type, resource.inputs, self.subscription_id, resource.name)

    @property
    def label(self) -> str:
        return f"{BOOTSTRAP_DIR}/{self.stack}" if self.kind == "bootstrap" else self.stack


def _plan(kind: str, project_dir: Path, stack: str, config_file: Path | None) -> StackPlan:
    from mlinfra.planner.stackfile import load_stack_config

    config = load_stack_config(project_dir, stack, config_file)
    plan = plan_stack(project_dir, stack, config_file)
    return StackPlan(kind, stack, project_dir, config_file, plan, dict(config.values))


def _kind(stack: str) -> str:
    from mlinfra.facts.stack_names import is_shared_stack

    return "shared" if is_shared_stack(stack) else "stage"


def plan_bootstrap(root: Path) -> list[StackPlan]:
    """The bootstrap project's stacks of the repository at `root`."""
    return [_plan("bootstrap", root / BOOTSTRAP_DIR, s, None) for s in available_stacks(root / BOOTSTRAP_DIR)]


def plan_estate(root: Path) -> list[StackPlan]:
    """Every stack the repository at `root` ships: bootstrap's first, then the shared stacks, then the stages."""
    stacks = plan_bootstrap(root)
    project = sorted(available_stacks(root), key=lambda s: (_kind(s) != "shared", s))
    stacks += [_plan(_kind(stack), root, stack, None) for stack in project]
    return stacks


def plan_example(root: Path, directory: Path) -> list[StackPlan]:
    """An example directory's stack files, each planned with the stage project (as `--config-file`)."""
    files = sorted(directory.glob("Pulumi.*.yaml"), key=lambda p: (_kind(_stack_of(p)) != "shared", p.name))
    return [_plan(_kind(_stack_of(path)), root, _stack_of(path), path) for path in files]


def _stack_of(path: Path) -> str:
    return path.name[len("Pulumi.") : -len(".yaml")]
