"""The stage traits the policy pack's config is made of, and `mlinfra policy-config`,
which writes the file `pulumi preview|up --policy-pack policy --policy-pack-config <file>` reads.

Usage: `mlinfra policy-config --stack <stage> [--output <file>] [--project-dir <dir>]`.
Exit status 0, or 2 for a stack that is not a stage (one line on stderr).
"""

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class StageTraitsError(ValueError):
    """The stack is not a stage the catalog knows."""


@dataclass(frozen=True)
class StageTraits:
    production: bool
    """The stage holds production data: production-only rules apply and violations block."""
    relaxations: dict[str, str] = field(default_factory=dict)
    """Production rule -> reason: the stack file's `mlinfra:productionRelaxations` (the program
    refuses any the stage's config does not accept, so a plan that exists carries accepted ones)."""
    customer_managed_keys: bool = False
    """The catalog requires customer-managed keys in the stage (`customerManagedKeys`, ML-4)."""


def stage_traits(stack: str, project_dir: Path | None = None) -> StageTraits:
    """The one place the checker learns a stage's traits: the stage catalog (`mlinfra:stages` in
    the project's Pulumi.yaml), for a stack named `<stage>` or `<workload>-<stage>`."""
    from mlinfra.config.stage_catalog import PROJECT_FILE, load_catalog
    from mlinfra.facts.stack_names import is_shared_stack, split_stack_name

    if is_shared_stack(stack):
        # The shared registry carries the models prod serves: the strict rules, violations block.
        return StageTraits(production=True)
    catalog = load_catalog(project_dir / "Pulumi.yaml" if project_dir else PROJECT_FILE)
    _, stage = split_stack_name(stack)
    traits = {entry.name: entry for entry in catalog}
    if stage not in traits:
        raise StageTraitsError(f"stack {stack!r} is not a stage; stages: {', '.join(traits)}")
    return StageTraits(
        production=traits[stage].production,
        relaxations=_relaxations(stack, project_dir),
        customer_managed_keys=traits[stage].customer_managed_keys,
    )


def _relaxations(stack: str, project_dir: Path | None) -> dict[str, str]:
    """The stack file's relaxations, rule -> reason (none without a stack file or with a malformed one)."""
    from mlinfra.config.stage_catalog import PROJECT_FILE
    from mlinfra.planner.stackfile import StackFileError, load_stack_config

    try:
        values = load_stack_config(project_dir or PROJECT_FILE.parent, stack).values
        relaxed = json.loads(values.get("mlinfra:productionRelaxations", "{}"))
    except (StackFileError, json.JSONDecodeError):
        return {}
    if not isinstance(relaxed, dict):
        return {}
    return {str(rule): reason for rule, reason in relaxed.items() if isinstance(reason, str)}


def load_pack(project_dir: Path):
    """The project's policy pack module (`<project>/policy/mlinfra_policy`), imported the way
    the Pulumi CLI runs the pack (`python policy/`: the pack directory first on sys.path)."""
    pack_dir = str((project_dir / "policy").resolve())
    if pack_dir not in sys.path:
        sys.path.insert(0, pack_dir)
    import mlinfra_policy

    return mlinfra_policy


def config_for(project_dir: Path, stack: str) -> dict[str, Any]:
    """The pack config of `stack`, from its traits."""
    if str(project_dir) not in sys.path:  # that project's program and its local packages
        sys.path.insert(0, str(project_dir))
    pack = load_pack(project_dir)
    from mlinfra_policy.config import pack_config

    traits = stage_traits(stack, project_dir)
    return pack_config(
        pack.POLICIES,
        production=traits.production,
        relaxations=traits.relaxations,
        customer_managed_keys=traits.customer_managed_keys,
    )


def main(argv: list[str], project_dir: Path) -> int:
    parser = argparse.ArgumentParser(
        prog="mlinfra policy-config", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--stack", required=True, help="stack (= stage) the config is for")
    parser.add_argument("--output", type=Path, help="write to this file instead of stdout")
    parser.add_argument("--project-dir", type=Path, default=project_dir, help="Pulumi project directory")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.project_dir.resolve()))
    try:
        text = json.dumps(config_for(args.project_dir.resolve(), args.stack), indent=2) + "\n"
    except StageTraitsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0
