"""`python -m planner doctor [--replay DIR] [--key-vault SUB/LOCATION/NAME ...] [--github OWNER/NAME=FORMAT ...] [--format text|json]`:
a strictly read-only live preflight (docs/doctor.md). Exit 0 when every check is OK or
CANNOT-CHECK, 1 on any PROBLEM, 2 on a usage or configuration error or no credential at all."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _azure_token() -> str | None:
    """An ARM token through azure-identity (DefaultAzureCredential), loaded only here."""
    try:
        from azure.identity import DefaultAzureCredential  # pyright: ignore[reportMissingImports]
    except ImportError:
        return None
    try:
        return DefaultAzureCredential().get_token("https://management.azure.com/.default").token
    except Exception:
        return None


def main(argv: list[str], project_dir: Path) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m planner doctor", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--replay", type=Path, help="run against recorded responses in DIR instead of the network"
    )
    parser.add_argument(
        "--key-vault",
        action="append",
        default=[],
        metavar="SUB/LOCATION/NAME",
        help="a key vault name to check",
    )
    parser.add_argument(
        "--github",
        action="append",
        default=[],
        metavar="OWNER/NAME=FORMAT",
        help="a repository and its oidcSubjectFormat (classic, immutable, custom, custom:ids) to check; "
        "live, GITHUB_TOKEN is the token",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--project-dir", type=Path, default=project_dir)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)

    from planner.doctor import azure, github, report
    from planner.doctor.http import Client
    from planner.estate import prerequisites

    try:
        declared = prerequisites.load(args.project_dir.resolve())
        vaults = []
        for text in args.key_vault:
            parts = text.split("/")
            if len(parts) != 3 or not all(parts):
                raise ValueError(f"--key-vault {text!r}: expected SUB/LOCATION/NAME")
            vaults.append((parts[0], parts[1], parts[2]))
        repositories = []
        for text in args.github:
            repository, _, subject_format = text.partition("=")
            if (
                repository.count("/") != 1
                or not all(repository.split("/"))
                or subject_format not in github.FORMATS
            ):
                raise ValueError(
                    f"--github {text!r}: expected OWNER/NAME=FORMAT, FORMAT one of {', '.join(github.FORMATS)}"
                )
            repositories.append((repository, subject_format))
        if args.replay is not None and not args.replay.is_dir():
            raise ValueError(f"--replay {args.replay}: not a directory")
    except (prerequisites.PrerequisitesError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.replay is not None:
        client = Client(replay=args.replay)
    else:
        token = _azure_token()
        if token is None:
            print("error: no Azure credential: run `az login` (or set up workload identity)", file=sys.stderr)
            return 2
        tokens = {"management.azure.com": token}
        if os.environ.get("GITHUB_TOKEN"):
            tokens["api.github.com"] = os.environ["GITHUB_TOKEN"]
        client = Client(tokens=tokens)
    try:
        results = azure.all_checks(client, declared, vaults) + github.all_checks(client, repositories)
    except Exception as error:
        if args.debug:
            raise
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps({"results": [r.to_json() for r in results]}, indent=2))
    else:
        print(report.to_text(results))
    return 1 if any(r.status == report.PROBLEM for r in results) else 0
