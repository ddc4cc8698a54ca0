"""The replacement table covers every resource type the program registers, each entry with its
source, and names only inputs the installed SDKs actually send."""

import datetime
import importlib
import inspect
import re
from functools import cache

import pytest

from mlinfra.diff.replacements import REFUSED, REPLACE_ON, UPDATABLE, refused, replacing
from mlinfra.planner.recorder import plan_config
from mlinfra.planner.stackfile import load_stack_config
from tests.conftest import NON_PRODUCTION_STACK, PROJECT_DIR, STACKS, plan

EXAMPLES = sorted(PROJECT_DIR.glob("examples/*/Pulumi.*.yaml"))
SOURCE = re.compile(r"[\w.-]+/[\w.-]+ \S+|Microsoft Learn \S+")
"""`owner/repo path` or a Microsoft Learn article."""


@cache
def registered_types() -> frozenset[str]:
    """Custom resource types of every shipped stack file, plus the identity variants of dev."""
    plans = [plan(stack) for stack in STACKS]
    plans += [
        # each under the stack its file is named for (a file of one stage is refused for another)
        plan_config(PROJECT_DIR, load_stack_config(PROJECT_DIR, path.name[7:-5], path))
        for path in EXAMPLES
    ]
    expiry = (datetime.date.today() + datetime.timedelta(days=30)).isoformat()
    plans.append(
        plan(
            NON_PRODUCTION_STACK,
            **{"mlinfra:deploymentIdentity": {"kind": "managed-identity", "credential": "federated"}},
        )
    )
    plans.append(
        plan(
            NON_PRODUCTION_STACK,
            **{
                "mlinfra:deploymentIdentity": {
                    "kind": "entra-application",
                    "credential": "client-secret",
                    "clientSecretExpiry": expiry,
                    "owners": ["00000000-0000-0000-0000-000000000016"],
                }
            },
        )
    )
    return frozenset(
        r.type for p in plans for r in p.resources if r.custom and not r.type.startswith("pulumi:providers:")
    )


def test_every_registered_type_has_its_create_only_inputs_listed():
    """Review R8 (review-providers.md): a type missing from the table shows every replacement as an update."""
    missing = sorted(registered_types() - set(REPLACE_ON) - UPDATABLE)
    assert missing == []


def test_every_entry_cites_its_source():
    for type_, rules in REPLACE_ON.items():
        assert rules, type_
        for rule in rules:
            assert rule.inputs and SOURCE.search(rule.source), (type_, rule)
    for type_, refusals in REFUSED.items():
        for refusal in refusals:
            assert SOURCE.search(refusal.source) and refusal.reason, (type_, refusal)


def _sdk_inputs(type_: str) -> set[str]:
    """Wire names of the inputs the SDK sends for `type_` (its `__props__.__dict__[...]` assignments)."""
    package, module_path, name = type_.split(":")
    module = "pulumi_" + package.replace("-", "_")
    if module_path != "index" and not module_path.startswith("index/"):
        module += "." + module_path
    cls = getattr(importlib.import_module(module), name)
    python_names = re.findall(r'__props__\.__dict__\["(\w+)"\] = (?!None)', inspect.getsource(cls))
    # The SDK's own wire names where they are not the plain camel case (`enableServiceSideCMKEncryption`).
    wire = dict(
        (python, name)
        for name, python in re.findall(
            r'@pulumi\.getter\(name="(\w+)"\)\s+def (\w+)', inspect.getsource(inspect.getmodule(cls))
        )
    )
    return {wire.get(n, _camel(n)) for n in python_names}


def _camel(python_name: str) -> str:
    first, *rest = python_name.rstrip("_").split("_")  # `resource_name_` is the SDK's `resourceName`
    return first + "".join(word.title() for word in rest)


@pytest.mark.parametrize("type_", sorted(set(REPLACE_ON) | set(REFUSED)))
def test_every_listed_input_is_one_the_sdk_sends(type_):
    """A misspelt input would never match a change, and the table would silently under-report."""
    inputs = _sdk_inputs(type_)
    listed = {path.split(".")[0] for rule in REPLACE_ON.get(type_, ()) for path in rule.inputs}
    listed |= {refusal.path.split(".")[0] for refusal in REFUSED.get(type_, ())}
    assert listed <= inputs, sorted(listed - inputs)


def test_a_nested_change_under_a_create_only_input_replaces():
    [(path, _source)] = replacing(
        "azure-native:network:PrivateEndpoint", [{"path": "subnet.id", "before": "a", "after": "b"}]
    )
    assert path == "subnet.id"


def test_turning_purge_protection_off_will_be_refused():
    """Purge protection cannot be turned off once on (Microsoft Learn key-vault/general/soft-delete-overview)."""
    change = {"path": "properties.enablePurgeProtection", "before": True, "after": None}
    [(_, rule)] = refused("azure-native:keyvault:Vault", [change])
    assert "cannot be turned off" in rule.reason
    assert refused("azure-native:keyvault:Vault", [{**change, "before": None, "after": True}]) == []
