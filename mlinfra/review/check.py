"""`mlinfra check --stack <s> [--stack <s2> ...] [--config-file F] [--project-dir D]
[--policy-config F]`: the policy pack (policy/) run offline over the recorded plan, as CrossGuard
runs it at preview. Several stacks are checked in one process (the SDKs load once, and the stacks
they reference are planned once); `--config-file` and `--format json` take one stack.

Each resource policy gets what the engine's analyzer would pass: the type, URN, name, the
inputs as registered (camelCase wire names; `[unknown]` back as an unknown, so reading it
raises as it would in a preview) and the options (protect, parent); the stack policies get every
resource with its parent and dependencies, and the root stack with the stack's outputs as its
properties. Enforcement and properties come from the pack's config for the stage (see
`mlinfra.review.check_config`) or from `--policy-config`, resolved the way the CLI resolves them.

Exit status: 0 when no mandatory violation (advisory ones are printed), 1 on a mandatory
violation or when the program fails under the mock engine, 2 on invalid configuration; with
several stacks, each is reported and the highest status is the command's.
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlinfra.planner.failures import program_failure

STACK_TYPE = "pulumi:pulumi:Stack"
UNKNOWN_PLACEHOLDER = "[unknown]"


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    """mandatory or advisory."""
    urn: str | None
    resource: str
    """The resource's name (or the stack's, for a stack-wide violation)."""
    message: str

    def key(self) -> tuple:
        return (self.policy, self.urn, self.message)

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "level": self.level,
            "urn": self.urn,
            "resource": self.resource,
            "message": self.message,
        }


def _with_unknowns(value: Any) -> Any:
    """The plan's `[unknown]` as the unknown sentinel pulumi_policy's proxy recognizes."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    if value == UNKNOWN_PLACEHOLDER:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, dict):
        return {key: _with_unknowns(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_unknowns(item) for item in value]
    return value


def _props(resource: dict, plan: dict):
    from pulumi_policy.proxy import unknown_checking_proxy

    raw = plan.get("outputs", {}) if resource["type"] == STACK_TYPE else resource.get("inputs", {})
    return unknown_checking_proxy(_with_unknowns(raw))


def _options(resource: dict):
    from pulumi_policy import PolicyCustomTimeouts, PolicyResourceOptions

    return PolicyResourceOptions(
        protect=bool(resource.get("protect")),
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=resource.get("parent"),
    )


def evaluate(plan: dict, policies: list, configs: dict) -> list[Violation]:
    """Every violation of `policies` in `plan` (a plan document, `Plan.to_json()`), with the
    resolved `configs` (`mlinfra_policy.config.resolve`)."""
    from pulumi_policy import (
        EnforcementLevel,
        PolicyResource,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
    )
    from pulumi_policy.proxy import UnknownValueError

    resources = plan.get("resources", [])
    stack_name = next((r["name"] for r in resources if r["type"] == STACK_TYPE), plan.get("stack", ""))
    by_urn = {r["urn"]: r for r in resources}
    # Built once and shared: policies only read them.
    props = {r["urn"]: _props(r, plan) for r in resources}
    options = {r["urn"]: _options(r) for r in resources}
    violations: list[Violation] = []

    for policy in policies:
        config = configs[policy.name]
        if config.level == EnforcementLevel.DISABLED:
            continue
        level = "advisory" if config.level == EnforcementLevel.ADVISORY else "mandatory"

        def reporter(urn: str | None, default_name: str, policy=policy, level=level):
            def report(message: str, violation_urn: str | None = None) -> None:
                target = urn or violation_urn
                name = by_urn[target]["name"] if target in by_urn else default_name
                violations.append(Violation(policy.name, level, target, name, message))

            return report

        def cannot_run(error: UnknownValueError, urn: str | None, name: str, policy=policy) -> None:
            # What the analyzer reports when a policy reads a value a preview cannot know.
            violations.append(
                Violation(
                    policy.name, "advisory", urn, name, f"can't run policy during preview: {error.message}"
                )
            )

        if isinstance(policy, ResourceValidationPolicy):
            for resource in resources:
                args = ResourceValidationArgs(
                    resource["type"],
                    props[resource["urn"]],
                    resource["urn"],
                    resource["name"],
                    options[resource["urn"]],
                    None,
                    dict(config.properties),
                )
                try:
                    policy.validate(args, reporter(resource["urn"], resource["name"]))
                except UnknownValueError as error:
                    cannot_run(error, resource["urn"], resource["name"])
            continue
        policy_resources = {
            r["urn"]: PolicyResource(
                r["type"], props[r["urn"]], r["urn"], r["name"], options[r["urn"]], None, None, [], {}
            )
            for r in resources
        }
        for resource in resources:
            node = policy_resources[resource["urn"]]
            node.parent = policy_resources.get(resource.get("parent"))
            node.dependencies = [
                policy_resources[d] for d in resource.get("dependencies", []) if d in policy_resources
            ]
        try:
            policy.validate(
                StackValidationArgs(list(policy_resources.values()), dict(config.properties)),
                reporter(None, stack_name),
            )
        except UnknownValueError as error:
            cannot_run(error, None, stack_name)
    return violations


def resolved_config(project_dir: Path, stack: str, policy_config: dict | None = None) -> tuple[list, dict]:
    """The project's policies and, per policy, the level and properties `policy_config` (or the
    stage's generated config) gives them; PackConfigError or StageTraitsError when refused."""
    from mlinfra.review.check_config import config_for, load_pack

    pack = load_pack(project_dir)
    from mlinfra_policy.config import resolve

    document = policy_config if policy_config is not None else config_for(project_dir, stack)
    return pack.POLICIES, resolve(pack.POLICIES, document)


def check_plan(
    plan: dict, project_dir: Path, stack: str, policy_config: dict | None = None
) -> list[Violation]:
    """The violations of the project's pack in `plan`, with `policy_config` or the stage's config."""
    return evaluate(plan, *resolved_config(project_dir, stack, policy_config))


def new_violations(base: dict | None, head: dict | None, project_dir: Path, stack: str) -> list[Violation]:
    """Violations `head` has and `base` had not (both plan documents; None for no plan), judged
    by the same pack and stage config, so only the change to the plan can introduce them."""
    if not head:
        return []
    before = {v.key() for v in check_plan(base, project_dir, stack)} if base else set()
    return [v for v in check_plan(head, project_dir, stack) if v.key() not in before]


def render(stack: str, violations: list[Violation]) -> str:
    mandatory = sum(v.level == "mandatory" for v in violations)
    lines = [
        f"stack {stack}: {mandatory} mandatory, {len(violations) - mandatory} advisory policy violation(s)"
    ]
    for v in sorted(violations, key=lambda v: (v.level != "mandatory", v.policy, v.urn or "")):
        lines.append(f"  {v.level:<9} {v.policy}  {v.resource}: {v.message}")
        if v.urn:
            lines.append(f"            {v.urn}")
    return "\n".join(lines) + "\n"


def main(argv: list[str], project_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="mlinfra check", description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--stack",
        action="append",
        dest="stacks",
        metavar="STACK",
        help="stack to check; repeat it for several; default dev",
    )
    parser.add_argument(
        "--config-file", type=Path, help="stack config file to use instead of Pulumi.<stack>.yaml"
    )
    parser.add_argument("--project-dir", type=Path, default=project_dir, help="Pulumi project directory")
    parser.add_argument(
        "--policy-config", type=Path, help="policy pack config file (default: the one for the stage's traits)"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format; default text"
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback when the program fails")
    args = parser.parse_args(argv)
    stacks: list[str] = list(dict.fromkeys(args.stacks or ["dev"]))
    if len(stacks) > 1 and args.config_file:
        parser.error(f"--config-file takes one --stack; got {len(stacks)}: {', '.join(stacks)}")
    if len(stacks) > 1 and args.format == "json":
        parser.error(f"--format json takes one --stack; got {len(stacks)}: {', '.join(stacks)}")
    project = args.project_dir.resolve()
    sys.path.insert(0, str(project))  # that project's program, as the plain planner runs it

    try:
        policy_config = json.loads(args.policy_config.read_text()) if args.policy_config else None
    except (OSError, json.JSONDecodeError) as error:
        return _failed(ValueError(f"--policy-config {args.policy_config}: {error}"))
    # With several stacks every error line names its stack; with one, the lines are as ever.
    return max(
        _check_stack(project, stack, args, policy_config, f"stack {stack}: " if len(stacks) > 1 else "")
        for stack in stacks
    )


def _failed(error: Exception, label: str = "") -> int:
    print(f"error: {label}{' '.join(str(error).split())}", file=sys.stderr)
    return 2


def _check_stack(
    project: Path, stack: str, args: argparse.Namespace, policy_config: dict | None, label: str
) -> int:
    """Check one stack and print its report; its exit status. `label` starts its error lines."""
    from mlinfra.config.config_error import ConfigError
    from mlinfra.planner.failures import config_failure
    from mlinfra.planner.recorder import plan_stack
    from mlinfra.planner.stackfile import StackFileError

    try:  # the pack's config first: a config the CLI would refuse fails before planning
        policies, configs = resolved_config(project, stack, policy_config)
    except ValueError as error:  # StageTraitsError, or mlinfra_policy.config.PackConfigError
        return _failed(ValueError(f"policy pack config: {error}"), label)
    try:
        plan = plan_stack(project, stack, args.config_file).to_json()
    except (ConfigError, StackFileError) as error:
        return config_failure(error, label)
    except Exception as error:
        if args.debug:
            raise
        return program_failure(error, label)
    violations = evaluate(plan, policies, configs)
    if args.format == "json":
        sys.stdout.write(json.dumps([v.to_json() for v in violations], indent=2) + "\n")
    else:
        sys.stdout.write(render(stack, violations))
    return 1 if any(v.level == "mandatory" for v in violations) else 0


def policy_findings(stack: str, base: dict | None, head: dict | None, project_dir: Path) -> list:
    """`new_violations` as plan-diff findings (category `policy`), for `mlinfra diff`."""
    from mlinfra.diff.compare import Finding

    base = None if base and "error" in base else base
    if not head or "error" in head:
        return []
    return [
        Finding("policy", f"{v.level} {v.policy}: {v.resource}: {v.message}", v.urn)
        for v in new_violations(base, head, project_dir, stack)
    ]
