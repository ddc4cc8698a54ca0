"""The floor: the same Pulumi runtime and mock engine registering the same number of resources
of the same types (the SDKs' own resource classes, so their input handling counts) with minimal
inputs: each class gets only the properties it requires, as placeholder strings.

`python -m bench.floor <stack>` reads the type list the bench wrote to bench/.types-<stack>.json.
"""

import importlib
import json
import re
import sys
from pathlib import Path

import pulumi

from planner.recorder import record
from planner.stackfile import load_stack_config

PACKAGES = {
    "azure-native": "pulumi_azure_native",
    "azuread": "pulumi_azuread",
    "github": "pulumi_github",
    "azuredevops": "pulumi_azuredevops",
}
_MISSING = re.compile(r"Missing required property '(\w+)'")


def resource_class(type_: str):
    """The SDK class behind a type token (None for components and the stack)."""
    if type_.startswith("pulumi:providers:"):
        return importlib.import_module(PACKAGES[type_.rsplit(":", 1)[1]]).Provider
    package, module, name = type_.split(":")
    if package not in PACKAGES:
        return None
    if package == "azure-native":
        return getattr(importlib.import_module(f"{PACKAGES[package]}.{module}"), name)
    return getattr(importlib.import_module(PACKAGES[package]), name)


def minimal(cls, name: str) -> None:
    """Create `cls` with placeholders for exactly the properties it refuses to go without."""
    inputs: dict[str, str] = {}
    while True:
        try:
            cls(name, **inputs)
            return
        except TypeError as error:
            missing = _MISSING.search(str(error))
            if not missing:
                raise
            inputs[missing[1]] = "x"


def register(resources: list[dict]) -> None:
    for index, resource in enumerate(resources):
        type_ = resource["type"]
        if type_ == "pulumi:pulumi:Stack":
            continue
        cls = resource_class(type_)
        if cls is None:
            pulumi.ComponentResource(type_, f"r{index}")
        else:
            minimal(cls, f"r{index}")


def main(stack: str) -> None:
    project_dir = Path(__file__).resolve().parent.parent
    resources = json.loads((project_dir / "bench" / f".types-{stack}.json").read_text())
    record(lambda: register(resources), load_stack_config(project_dir, stack))


if __name__ == "__main__":
    main(sys.argv[1])
