"""`mlinfra diff`: what this working tree changes against a git revision, per stack.

A diff of every stack of a repository's stage project shows first the estate verifier's findings
the change introduces and those it resolves (`mlinfra.diff.estate`, docs/estate.md).

Exit status: 0 (no changes, or changes without --exit-code), 1 (changes or an introduced estate
finding, with --exit-code), 2 (bad arguments, a revision that cannot be planned, invalid config in
the working tree). With invalid config the report still comes out, naming the error for each
stack it affects.
"""

import argparse
import sys
from pathlib import Path

from mlinfra.diff import estate as diff_estate
from mlinfra.diff.compare import StackDiff, diff_plans
from mlinfra.diff.render import diff_json, diff_markdown, diff_text
from mlinfra.planner import plan_cache
from mlinfra.planner.revisions import (
    PLANNER_PROJECT,
    RevisionError,
    cached_plans,
    checkout,
    finish_plans,
    plan_here,
    planner_root,
    resolve,
    start_plans,
    unchanged_since,
)
from mlinfra.planner.stackfile import available_stacks
from mlinfra.review.check import policy_findings

FORMATS = {"text": diff_text, "json": diff_json, "markdown": diff_markdown}


def main(argv: list[str], project_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="mlinfra diff", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base", default="HEAD", help="git revision to compare against; default HEAD")
    parser.add_argument("--stack", action="append", help="stack to compare (repeatable); default every stack")
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default="text", help="output format; default text"
    )
    parser.add_argument("--output", type=Path, help="write the report to this file instead of stdout")
    parser.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 1 when any stack changes or an estate finding is introduced",
    )
    parser.add_argument("--project-dir", type=Path, default=project_dir, help="Pulumi project directory")
    args = parser.parse_args(argv)
    project_dir = args.project_dir.resolve()
    # The estate is every stack at once: verified when the diff covers every stack of it.
    estate: diff_estate.EstateChange | None = (
        diff_estate.EstateChange() if not args.stack and diff_estate.applies(project_dir) else None
    )
    try:
        commit = resolve(project_dir, args.base)
        if unchanged_since(project_dir, commit):  # same code, same config: same plans, same estate
            stacks = args.stack or available_stacks(project_dir)
            return _report(args, commit, [StackDiff(stack) for stack in stacks], estate)
        with checkout(project_dir, commit) as base_dir:
            stacks = args.stack or sorted(
                set(available_stacks(project_dir)) | set(available_stacks(base_dir))
            )
            # Plans made before are read from the plan cache; the rest of both revisions are
            # planned at once: the base in a process running its own code, the working tree in
            # this one when it is this planner's project (one SDK load fewer), else in another.
            cache = plan_cache.cache_dir(project_dir)
            head, base = cached_plans(project_dir, stacks, cache), cached_plans(base_dir, stacks, cache)
            base_run = start_plans(base_dir, [stack for stack in stacks if stack not in base], cache)
            unplanned = [stack for stack in stacks if stack not in head]
            if planner_root(project_dir) == PLANNER_PROJECT:
                head |= plan_here(project_dir, unplanned)
            else:
                head |= finish_plans(start_plans(project_dir, unplanned, cache), "the working tree")
            base |= finish_plans(base_run, f"{args.base}")
            if estate is not None:
                # After both revisions' stacks are planned: the verifiers find them in the cache.
                base_estate = diff_estate.start(base_dir, cache)
                head_estate = diff_estate.here(project_dir, cache)
                estate = diff_estate.compare(diff_estate.finish(base_estate), head_estate, args.base)
    except RevisionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    broken = {stack: plan["error"] for stack, plan in head.items() if plan and "error" in plan}
    diffs = [
        StackDiff(stack, note=f"the working tree cannot plan this stack: {broken[stack]}")
        if stack in broken
        else _diff(stack, base.get(stack), head.get(stack), args.base)
        for stack in stacks
    ]
    # Violations of the policy pack the change introduces (mlinfra/review/check.py); a project without
    # a pack of its own (bootstrap/: the pack guards the stage stacks) has none to introduce.
    has_pack = (project_dir / "policy" / "PulumiPolicy.yaml").is_file()
    for diff in diffs:
        if has_pack and diff.stack not in broken:
            diff.findings += policy_findings(
                diff.stack, base.get(diff.stack), head.get(diff.stack), project_dir
            )
    status = _report(args, commit, diffs, estate)
    if broken:
        for stack, message in broken.items():  # one line per problem, each naming its stack
            for line in message.splitlines():
                print(f"error: stack {stack}: {line}", file=sys.stderr)
        return 2
    return status


def _report(
    args: argparse.Namespace, commit: str, diffs: list[StackDiff], estate: diff_estate.EstateChange | None
) -> int:
    report = FORMATS[args.format](args.base, commit, diffs, estate)
    if args.output:
        args.output.write_text(report)
    else:
        sys.stdout.write(report)
    changed = any(diff.changed for diff in diffs) or bool(estate and estate.introduced)
    return 1 if args.exit_code and changed else 0


def _diff(stack: str, base: dict | None, head: dict | None, ref: str) -> StackDiff:
    note = None
    if base and "error" in base:
        note, base = f"{ref} cannot plan this stack ({base['error']}); everything shows as added", None
    elif base is None:
        note = f"new stack: {ref} has no Pulumi.{stack}.yaml"
    if head is None:
        note = "stack file removed in the working tree"
    diff = diff_plans(stack, base, head)
    diff.note = note
    return diff
