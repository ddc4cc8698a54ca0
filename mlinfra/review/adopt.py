"""`mlinfra adopt --stack <s> --resource <name> --id <import id> [--project-dir bootstrap]`:
the `pulumi import` command that adopts an object which already exists (an Azure DevOps
environment, variable group or service connection, an Entra application, a GitHub environment)
into the stack, so the next `pulumi up` updates it instead of failing to create it
(review-3-identity-ci R6: ADO's creates are refused when the name is taken).

The command names the resource exactly as the program declares it (type, logical name, parent and
provider, from the stack's offline plan) and skips code generation: the program already declares
it. The import id is checked against the form the provider's own import example shows (the
"## Import" section of the installed SDK's resource docstring). docs/adoption.md has the steps.

Exit status: 0 with the command on stdout, 2 on an unknown resource, a malformed id or a bad stack.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import re
import shlex
import sys
from pathlib import Path

from mlinfra.planner.recorder import Plan, Resource
from mlinfra.planner.stackfile import StackFileError

GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class AdoptError(Exception):
    """One line: what was asked, what is allowed."""


def import_example(type_token: str) -> str | None:
    """The import id of the provider's own example (`pulumi import <type> example <id>`), read from
    the installed SDK's resource module (its docstring's "## Import" section)."""
    package, module_path, _ = type_token.split(":")
    module_name = module_path.split("/")[-1] if "/" in module_path else module_path
    # serviceEndpointAzureRM -> service_endpoint_azure_rm: a run of capitals is one word.
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", module_name).lower()
    sdk = f"pulumi_{package.replace('-', '_')}"
    try:
        module = importlib.import_module(f"{sdk}.{snake}")
    except ImportError:
        return None
    text = Path(module.__file__ or "").read_text(encoding="utf-8") if module.__file__ else ""
    match = re.search(rf"pulumi import {re.escape(type_token)} \S+ (\S+)", text)
    return match.group(1) if match else None


def id_pattern(example: str) -> re.Pattern[str]:
    """The example's shape: a GUID stands for any GUID, a number for any number, other text for any
    text without the example's separators; separators and fixed prefixes (`/applications/`) stay."""
    parts = re.split(r"([/:])", example)
    known = {"applications", "servicePrincipals"}
    pattern = ""
    for part in parts:
        if part in ("/", ":") or part in known:
            pattern += re.escape(part)
        elif re.fullmatch(GUID, part):
            pattern += GUID
        elif part.isdigit():
            pattern += r"\d+"
        elif part:
            pattern += r"[^/:]+"
    return re.compile(rf"^{pattern}$")


def command(plan: Plan, name: str, import_id: str, stack: str) -> str:
    by_urn = {r.urn: r for r in plan.resources}
    matches = [r for r in plan.resources if r.name == name and not r.type.startswith(("pulumi:", "mlinfra:"))]
    if not matches:
        names = sorted({r.name for r in plan.resources if not r.type.startswith(("pulumi:", "mlinfra:"))})
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]}?" if close else "; the plan's resources are listed by `mlinfra`"
        raise AdoptError(f"--resource: got {name!r}; no resource of that logical name in stack {stack}{hint}")
    resource: Resource = matches[0]
    example = import_example(resource.type)
    if example is not None and not id_pattern(example).match(import_id):
        raise AdoptError(
            f"--id: got {import_id!r}; expected an import id of {resource.type} shaped like {example!r} "
            "(the provider's import example)"
        )
    words = ["pulumi", "import", resource.type, resource.name, import_id, "--stack", stack]
    parent = by_urn.get(resource.parent or "")
    if parent is not None and parent.type != "pulumi:pulumi:Stack":
        words += ["--parent", f"{parent.name}={parent.urn}"]
    if resource.provider:
        provider_name = resource.provider.rsplit("::", 1)[-1]
        words += ["--provider", f"{provider_name}={resource.provider}"]
    words += ["--generate-code=false", "--yes"]
    return " ".join(shlex.quote(word) for word in words)


def main(argv: list[str], project_dir: Path) -> int:
    parser = argparse.ArgumentParser(prog="mlinfra adopt", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--stack", required=True, help="the stack that declares the resource")
    parser.add_argument("--resource", required=True, help="its logical name, as the plan lists it")
    parser.add_argument(
        "--id", required=True, dest="import_id", help="the provider's import id of the existing object"
    )
    parser.add_argument(
        "--project-dir", type=Path, help="the project (default the stage project; bootstrap for its stack)"
    )
    args = parser.parse_args(argv)
    directory = project_dir / args.project_dir if args.project_dir else project_dir
    sys.path.insert(0, str(project_dir))
    from mlinfra.config.config_error import ConfigError
    from mlinfra.planner.failures import config_failure
    from mlinfra.planner.recorder import plan_stack

    try:
        plan = plan_stack(directory, args.stack, None)
        print(command(plan, args.resource, args.import_id, args.stack))
    except (AdoptError, ConfigError, StackFileError) as error:
        return config_failure(error)
    return 0
