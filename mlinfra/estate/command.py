"""`mlinfra estate [--examples] [--format text|json] [--expected FILE]`: verify the estate
as one, offline. Exit 0 when clean (or exactly the expected findings), 1 on any other finding,
2 on bad input."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _expected(path: Path) -> list[str]:
    """An expected-findings file: one finding per line (`<estate>: EV-n <stack>: <message>`); `#` comments."""
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]


def main(argv: list[str], project_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="mlinfra estate", description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--examples", action="store_true", help="also verify each example directory as an estate of its own"
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument(
        "--expected", type=Path, help="expected-findings file: exit 0 when the findings are exactly these"
    )
    parser.add_argument("--project-dir", type=Path, default=project_dir)
    parser.add_argument("--debug", action="store_true", help="show the traceback when planning fails")
    args = parser.parse_args(argv)
    root = args.project_dir.resolve()
    sys.path.insert(0, str(root))

    from mlinfra.config.config_error import ConfigError
    from mlinfra.estate import model
    from mlinfra.estate.prerequisites import PrerequisitesError
    from mlinfra.planner.failures import config_failure, program_failure
    from mlinfra.planner.stackfile import StackFileError

    try:
        expected = _expected(args.expected) if args.expected else None
        estates = [model.build(root)]
        if args.examples:
            estates += [model.build_example(root, d) for d in model.example_directories(root)]
    except (ConfigError, StackFileError, PrerequisitesError, OSError) as error:
        return config_failure(error)
    except Exception as error:
        if args.debug:
            raise
        return program_failure(error)

    findings = [f for e in estates for f in e.findings]
    if args.format == "json":
        document = estates[0].to_json() if len(estates) == 1 else {"estates": [e.to_json() for e in estates]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        for estate in estates:
            print(
                f"estate {estate.name}: {len(estate.stacks)} stacks, {len(estate.runs)} pipeline runs, {len(estate.findings)} findings"
            )
            for finding in estate.findings:
                print(f"  {finding.stack}: {finding.line}")
            for note in estate.notes:
                print(f"  note: {note}")
    if expected is None:
        return 1 if findings else 0
    keys = [f"{estate.name}: {f.key}" for estate in estates for f in estate.findings]
    new = [k for k in keys if k not in expected]
    gone = [k for k in expected if k not in keys]
    for key in new:
        print(f"new finding (not in {args.expected}): {key}", file=sys.stderr)
    for key in gone:
        print(f"fixed, remove it from {args.expected}: {key}", file=sys.stderr)
    return 1 if new or gone else 0
