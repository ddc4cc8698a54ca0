"""`python -m planner --stack <name> [--format text|markdown|json] [--config-file <path>]`: what `pulumi up` would create, offline.

`python -m planner diff --base <git-ref> [...]` compares against another revision (see planner/diff_command.py).
`python -m planner check --stack <name> [...]` runs the policy pack over the plan (see planner/check.py);
`python -m planner policy-config --stack <name>` writes the pack's config for a stage (planner/check_config.py).
`python -m planner permissions --stack <name>` lists what the deployer and preview identities need
(see planner/permissions_command.py).

Exit status: 0 on success, 2 on invalid configuration or stack file (one line on stderr,
no traceback), 1 when the program itself fails under the mock engine (for example a lookup the
real provider would also fail; `--debug` shows the traceback).
"""

import argparse
import importlib
import sys
from pathlib import Path

from planner.failures import config_failure, program_failure, quiet_async_leftovers
from planner.render import to_json, to_markdown, to_text
from planner.stackfile import StackFileError

PROJECT_DIR = Path(__file__).resolve().parent.parent
FORMATS = {"text": to_text, "json": to_json, "markdown": to_markdown}
# Subcommands: module with `main(argv, project_dir) -> int`, and a one-line summary for --help.
COMMANDS = {
    "diff": ("planner.diff_command", "what this working tree changes against a git revision, per stack"),
    "check": ("planner.check", "run the policy pack over a stack's plan, offline"),
    "policy-config": ("planner.check_config", "write the policy pack's config for a stage"),
    "permissions": (
        "planner.permissions_command",
        "what the deployer and preview identities need for a stack",
    ),
    "estate": (
        "planner.estate.command",
        "verify every stack, identity, pipeline and network path as one estate",
    ),
    "doctor": ("planner.doctor.command", "read-only live preflight of the tenant the estate meets"),
    "adopt": ("planner.adopt", "the pulumi import command that adopts an object that already exists"),
    "todo": ("planner.todo", "what is left before the first real pulumi up: placeholders, prerequisites"),
    "from-zero": ("planner.from_zero", "write docs/from-zero.md from the repository's files (--check)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = COMMANDS.get(argv[0]) if argv else None
    if command:
        module, _ = command
        return importlib.import_module(module).main(argv[1:], PROJECT_DIR)
    parser = argparse.ArgumentParser(
        prog="python -m planner",
        description=(__doc__ or "").splitlines()[0],
        epilog="commands:\n"
        + "\n".join(f"  {name:<14}{summary}" for name, (_, summary) in COMMANDS.items())
        + "\n(python -m planner <command> --help for each)",
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

    # The project's own components, even when --project-dir points at another checkout.
    sys.path.insert(0, str(args.project_dir.resolve()))
    # Imported here so `--help` stays instant; the Pulumi SDKs take a second or two to load.
    from components.config import ConfigError
    from planner.recorder import plan_stack

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
    from components.stage_catalog import load_catalog
    from planner.stackfile import available_stacks

    stacks = available_stacks(project_dir)
    for stage in load_catalog(project_dir / "Pulumi.yaml"):
        if stage.name in stacks:
            return stage.name
    raise StackFileError(f"no stack file for any stage of mlinfra:stages in {project_dir}")


if __name__ == "__main__":
    if "--debug" not in sys.argv[1:]:
        quiet_async_leftovers()  # the process's stderr: the one-line report only
    sys.exit(main())
