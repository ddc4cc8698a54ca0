"""The floor: the same Pulumi runtime and mock engine registering the same number of resources
of the same types with minimal inputs, after importing the SDK modules those types live in.

`python -m bench.floor <stack>` reads the type list the bench wrote to bench/.types-<stack>.json.
"""

import importlib
import json
import sys
from pathlib import Path

import pulumi

from planner.recorder import record
from planner.stackfile import load_stack_config

PACKAGES = {"azure-native": "pulumi_azure_native", "azuread": "pulumi_azuread", "github": "pulumi_github",
            "azuredevops": "pulumi_azuredevops"}


def import_sdk(types: list[str]) -> None:
    """Load each type's SDK module and class, as the program must."""
    for type_ in types:
        package, module, cls = type_.split(":")
        if package in ("pulumi", "mlinfra"):
            continue
        root = PACKAGES[package]
        if package == "azure-native":
            getattr(importlib.import_module(f"{root}.{module}"), cls)
        else:
            importlib.import_module(root)


def register(resources: list[dict]) -> None:
    for index, resource in enumerate(resources):
        type_, name = resource["type"], f"r{index}"
        if type_ == "pulumi:pulumi:Stack":
            continue
        if type_.startswith("pulumi:providers:"):
            pulumi.ProviderResource(type_.rsplit(":", 1)[1], name, {})
        elif resource["custom"]:
            pulumi.CustomResource(type_, name, {})
        else:
            pulumi.ComponentResource(type_, name)


def main(stack: str) -> None:
    project_dir = Path(__file__).resolve().parent.parent
    resources = json.loads((project_dir / "bench" / f".types-{stack}.json").read_text())
    import_sdk(sorted({r["type"] for r in resources}))
    record(lambda: register(resources), load_stack_config(project_dir, stack))


if __name__ == "__main__":
    main(sys.argv[1])
