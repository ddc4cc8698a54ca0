"""`mlinfra --stack <name> [--format text|markdown|json] [--config-file <path>]`: what `pulumi up` would create, offline.

`mlinfra diff --base <git-ref> [...]` compares against another revision (see mlinfra/diff/command.py).
`mlinfra check --stack <name> [...]` runs the policy pack over the plan (see mlinfra/review/check.py);
`mlinfra policy-config --stack <name>` writes the pack's config for a stage (mlinfra/review/check_config.py).
`mlinfra permissions --stack <name>` lists what the deployer and preview identities need
(see mlinfra/review/permissions_command.py).

Exit status: 0 on success, 2 on invalid configuration or stack file (one line on stderr,
no traceback), 1 when the program itself fails under the mock engine (for example a lookup the
real provider would also fail; `--debug` shows the traceback).
"""

import argparse
import importlib
import sys
from pathlib import Path

from mlinfra.planner.failures import config_failure, program_failure, quiet_async_leftovers
from mlinfra.planner.render import to_json, to_markdown, to_text
from mlinfra.planner.stackfile import StackFileError

PROJECT_DIR = Path(__file__).resolve().parent.parent
FORMATS = {"text": to_text, "json": to_json, "markdown": to_markdown}
# Subcommands: module with `main(argv, project_dir) -> int`, and a one-line summary for --help.
COMMANDS = {
    "diff": ("mlinfra.diff.command", "what this working tree changes against a git revision, per stack"),
    "check": ("mlinfra.review.check", "run the policy pack over a stack's plan, offline"),
    "policy-config": ("mlinfra.review.check_config", "write the policy pack's config for a stage"),
    "permissions": (
        "mlinfra.review.permissions_command",
        "what the deployer and preview identities need for a stack",
    ),
    "estate": (
        "mlinfra.estate.command",
        "verify every stack, identity, pipeline and network path as one estate",
    ),
    "doctor": ("mlinfra.doctor.command", "read-only live preflight of the tenant the estate meets"),
    "adopt": ("mlinfra.review.adopt", "the pulumi import command that adopts an object that already exists"),
    "todo": (
        "mlinfra.repository.todo",
        "what is left before the first real pulumi up: placeholders, prerequisites",
    ),
    "from-zero": (
        "mlinfra.repository.from_zero",
        "write docs/from-zero.md from the repository's files (--check)",
    ),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["plan"]:  # `mlinfra plan ...` names the default command
        argv = argv[1:]
    command = COMMANDS.get(argv[0]) if argv else None
    if command:
        module, _ = command
        return importlib.import_module(module).main(argv[1:], PROJECT_DIR)
    parser = argparse.ArgumentParser(
        prog="mlinfra",
        description=(__doc__ or "").splitlines()[0],
        epilog="commands:\n"
        + f"  {'plan':<16}what `pulumi up` would create, offline (the default command: `mlinfra --stack S`)\n"
        + "\n".join(f"  {name:<16}{summary}" for name, (_, summary) in COMMANDS.items())
        + "\n(mlinfra <command> --help for each)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--stack",
        help="stack to plan (<stage> or <workload>-<stage>); default the first stage of the catalog",
    )
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default="text", help="output format; default text"
    )
    parser.add_argument(
        "--config-file", type=Path, help="stack config file to use instead of Pulumi.<stack>.yaml"
    )
    parser.add_argument("--project-dir", type=Path, default=PROJECT_DIR, help="Pulumi project directory")
    parser.add_argument("--debug", action="store_true", help="show the traceback when the program fails")
    args = parser.parse_args(argv)
    from mlinfra.bytecode import finish, warm_start

    compiler = warm_start()  # a fresh clone: the plan's modules compiled on the other core too
    try:
        return _plan(args)
    finally:
        finish(compiler)


def _plan(args: argparse.Namespace) -> int:
    # The project's program and its local packages (bootstrap/); the code is this `mlinfra`'s, and
    # another checkout's own code plans it when run there (`python -m mlinfra` from that directory).
    sys.path.insert(0, str(args.project_dir.resolve()))
    # Imported here so `--help` stays instant; the Pulumi SDKs take a second or two to load.
    from mlinfra.config.config_error import ConfigError
    from mlinfra.planner.recorder import plan_stack

    try:
        stack = args.stack or _first_stack(args.project_dir.resolve())
        plan = plan_stack(args.project_dir.resolve(), stack, args.config_file)
    except (ConfigError, StackFileError) as error:
        return config_failure(error)
    except Exception as error:
        if args.debug:
            raise
        return program_failure(error)
    sys.stdout.write(FORMATS[args.format](plan))
    return 0


def _first_stack(project_dir: Path) -> str:
    """The first stage of the stage catalog (Pulumi.yaml) that has a stack file."""
    from mlinfra.config.stage_catalog import load_catalog
    from mlinfra.planner.stackfile import available_stacks

    stacks = available_stacks(project_dir)
    for stage in load_catalog(project_dir / "Pulumi.yaml"):
        if stage.name in stacks:
            return stage.name
    raise StackFileError(f"no stack file for any stage of mlinfra:stages in {project_dir}")


def run() -> int:
    """The `mlinfra` console script and `python -m mlinfra`: `main` as its own process."""
    if "--debug" not in sys.argv[1:]:
        quiet_async_leftovers()  # the process's stderr: the one-line report only
    return main()


if __name__ == "__main__":
    sys.exit(run())
