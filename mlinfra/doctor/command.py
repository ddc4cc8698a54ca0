"""`mlinfra doctor [--stack S ... | --estate] [--replay DIR] [--bootstrap-outputs FILE] [--key-vault SUB/LOCATION/NAME ...] [--github OWNER/NAME=FORMAT ...] [--format text|json]`:
a strictly read-only live preflight (docs/doctor.md). Exit 0 when every check is OK or
CANNOT-CHECK, 1 on any PROBLEM, 2 on a usage or configuration error or no credential at all."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
"""Azure DevOps' Entra application id: an Entra token for it authenticates Azure DevOps REST."""
SCOPES = {
    "management.azure.com": "https://management.azure.com/.default",
    "graph.microsoft.com": "https://graph.microsoft.com/.default",
    "dev.azure.com": f"{ADO_RESOURCE}/.default",
    "vsaex.dev.azure.com": f"{ADO_RESOURCE}/.default",
    "vssps.dev.azure.com": f"{ADO_RESOURCE}/.default",
}


def _azure_tokens() -> dict[str, str] | None:
    """Tokens per host through azure-identity (DefaultAzureCredential), loaded only here. None
    without an ARM token; Graph and Azure DevOps are left out when their token cannot be had
    (their checks then say CANNOT-CHECK: no credential)."""
    try:
        from azure.identity import DefaultAzureCredential  # pyright: ignore[reportMissingImports]
    except ImportError:
        return None
    credential = DefaultAzureCredential()
    tokens: dict[str, str] = {}
    for host, scope in SCOPES.items():
        try:
            tokens[host] = credential.get_token(scope).token
        except Exception:
            if host == "management.azure.com":
                return None
    return tokens


def _for_stacks(declared, stacks: list[str] | None):
    """The prerequisites with only the grants of the selected stacks' deployers (all without --stack)."""
    if not stacks:
        return declared
    from dataclasses import replace

    principals = {f"deployer:{s}" for s in stacks}
    items = tuple(
        replace(i, grants=tuple(g for g in i.grants if g.principal in principals)) for i in declared.items
    )
    return replace(declared, items=items)


def main(argv: list[str], project_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="mlinfra doctor", description=(__doc__ or "").splitlines()[0])
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
    parser.add_argument(
        "--stack",
        action="append",
        default=None,
        metavar="S",
        help="check what stack S needs (its deployer's rights, names, quota, CI, state); repeatable",
    )
    parser.add_argument("--estate", action="store_true", help="check every stack of the estate")
    parser.add_argument(
        "--bootstrap-outputs",
        type=Path,
        metavar="FILE",
        help="bootstrap's `pulumi stack output --json` (the identities' real ids); default with --replay: "
        "DIR/bootstrap-outputs.json",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--project-dir", type=Path, default=project_dir)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)

    from mlinfra.doctor import estate_checks, report
    from mlinfra.doctor.azure import arm as azure
    from mlinfra.doctor.ci import github
    from mlinfra.doctor.http import Client
    from mlinfra.estate import prerequisites

    if args.stack and args.estate:
        print("error: give --stack or --estate, not both", file=sys.stderr)
        return 2
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
        outputs_file = args.bootstrap_outputs
        if outputs_file is None and args.replay is not None:
            outputs_file = args.replay / "bootstrap-outputs.json"
        elif outputs_file is not None and not outputs_file.is_file():
            raise ValueError(f"--bootstrap-outputs {outputs_file}: no such file")
        plan = (
            estate_checks.plan(args.project_dir.resolve(), None if args.estate else args.stack, outputs_file)
            if args.estate or args.stack
            else None
        )
    except (prerequisites.PrerequisitesError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the estate's stacks failed to plan
        if args.debug:
            raise
        print(f"error: planning the estate failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 2

    if args.replay is not None:
        client = Client(replay=args.replay)
    else:
        tokens = _azure_tokens()
        if tokens is None:
            print("error: no Azure credential: run `az login` (or set up workload identity)", file=sys.stderr)
            return 2
        if os.environ.get("GITHUB_TOKEN"):
            tokens["api.github.com"] = os.environ["GITHUB_TOKEN"]
        client = Client(tokens=tokens)
    try:
        selected = _for_stacks(declared, args.stack)
        results = azure.all_checks(client, selected, vaults)
        if plan is not None:
            # Subscriptions whose registrations prerequisites.yaml declares (EV-15) were checked above.
            known = {r.subscription for item in declared.items for r in item.resource_providers}
            repositories = list(dict.fromkeys(repositories + estate_checks.repositories(plan)))
            results += estate_checks.run(client, plan, declared, known)
        results += github.all_checks(client, repositories)
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
