"""The floor: the same Pulumi runtime and mock engine registering the same resources as the real
program (same types, names, parents and explicit providers, so the same URNs and the same provider
wiring), each through the SDKs' own resource classes, so their input handling counts, but with
minimal inputs: each class gets only the properties it requires, as placeholder strings.

Stack references are read the same way (a `pulumi.StackReference` of the same name), and answered
the way the planner answers them (`mlinfra.planner.stack_references`: the run stops, the referenced stack
is planned in this process, the run starts again), except that the referenced stack is planned by
its floor too. Invokes (lookups) are not repeated: the plan's JSON does not carry them.

`python -m mlinfra.bench.floor <stack>` reads the resource list the bench wrote to
mlinfra/bench/.types-<stack>.json (`resource_list`), one per stack, the referenced ones included.
"""

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import pulumi

from mlinfra.bench import measure_without_plan_cache
from mlinfra.planner import recorder
from mlinfra.planner.recorder import record
from mlinfra.planner.stackfile import StackConfig, load_stack_config

PROJECT_DIR = Path(__file__).resolve().parents[2]
PACKAGES = {
    "azure-native": "pulumi_azure_native",
    "azuread": "pulumi_azuread",
    "github": "pulumi_github",
    "azuredevops": "pulumi_azuredevops",
}
STACK_REFERENCE = "pulumi:pulumi:StackReference"
_MISSING = re.compile(r"Missing required property '(\w+)'")


def types_file(stack: str, project_dir: Path = PROJECT_DIR) -> Path:
    return project_dir / "mlinfra" / "bench" / f".types-{stack}.json"


def resource_list(document: dict[str, Any]) -> list[dict[str, Any]]:
    """What the floor needs of a plan's JSON (`planner --format json`) to register the same
    resources: type, name, URN, parent, explicit provider, and the id a read (a stack reference) names."""
    return [
        {
            "urn": r["urn"],
            "type": r["type"],
            "name": r["name"],
            "custom": r["custom"],
            "parent": r["parent"],
            "provider": r.get("provider"),
            **({"id": r["inputs"].get("id")} if r["type"] == STACK_REFERENCE else {}),
        }
        for r in document["resources"]
    ]


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


def minimal(cls, name: str, opts: pulumi.ResourceOptions) -> pulumi.Resource:
    """Create `cls` with placeholders for exactly the properties it refuses to go without."""
    inputs: dict[str, str] = {}
    while True:
        try:
            return cls(name, opts=opts, **inputs)
        except TypeError as error:
            missing = _MISSING.search(str(error))
            if not missing:
                raise
            inputs[missing[1]] = "x"


def register(resources: list[dict[str, Any]]) -> None:
    """Register every resource of the list, each after its parent and its explicit provider (the
    plan's order puts a provider after the resources of sibling components that use it)."""
    by_urn = {r["urn"]: r for r in resources}
    created: dict[str, pulumi.Resource] = {}

    def create(urn: str) -> pulumi.Resource | None:
        resource = by_urn.get(urn)
        if resource is None or resource["type"] == "pulumi:pulumi:Stack":
            return None  # the root stack: the runtime's own
        if urn in created:
            return created[urn]
        parent = create(resource["parent"]) if resource["parent"] else None
        provider = create(resource["provider"]) if resource.get("provider") else None
        assert provider is None or isinstance(provider, pulumi.ProviderResource), resource["provider"]
        opts = pulumi.ResourceOptions(parent=parent, provider=provider)
        type_, name = resource["type"], resource["name"]
        if type_ == STACK_REFERENCE:
            created[urn] = pulumi.StackReference(name, stack_name=resource["id"], opts=opts)
        elif (cls := resource_class(type_)) is None:
            created[urn] = pulumi.ComponentResource(type_, name, None, opts)
        else:
            created[urn] = minimal(cls, name, opts)
        return created[urn]

    for resource in resources:
        create(resource["urn"])


def load_resources(stack: str, project_dir: Path) -> list[dict[str, Any]]:
    """The resource list `make bench` wrote for `stack` (tests replace this)."""
    return json.loads(types_file(stack, project_dir).read_text())


def floor_program(stack: str, project_dir: Path = PROJECT_DIR):
    resources = load_resources(stack, project_dir)

    def program() -> None:
        register(resources)

    program.project_dir = project_dir  # type: ignore[attr-defined]  # stack references resolve here
    return program


def plan_floor(project_dir: Path, config: StackConfig) -> recorder.Plan:
    """`recorder.plan_config` for the floor: the referenced stack's floor, never a cached plan."""
    return record(floor_program(config.stack, project_dir), config)


def main(stack: str) -> None:
    # `mlinfra.planner.stack_references.plan_missing` plans a referenced stack through `recorder.plan_config`.
    recorder.plan_config = plan_floor
    record(floor_program(stack), load_stack_config(PROJECT_DIR, stack))


if __name__ == "__main__":
    measure_without_plan_cache()
    main(sys.argv[1])
