"""The bench keeps working (`make bench`, its smoke in .ci/run) and the install compiles bytecode
for what the programs and tests import (bench/bytecode.py), not for every installed module."""

import re
import sys
import sysconfig
from pathlib import Path

import pytest

from bench import PROJECT_DIR, STACKS, bytecode, floor, run
from planner import recorder, stack_references
from planner.stackfile import load_stack_config

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def _recipe(target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.MULTILINE)
    assert match, f"no {target} target in the Makefile"
    return match[1]


# --- bytecode: what is compiled --------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from pulumi_azure_native import network, privatedns as dns", {"network", "privatedns"}),
        ("import pulumi_azure_native.storage", {"storage"}),
        ("from pulumi_azure_native.keyvault import Vault", {"keyvault"}),
        ("import pulumi_azure_native as azure_native\nazure_native.monitor.X()", {"monitor"}),
        ("import pulumi_azure_native as az\nimport os\nos.path.join()", set()),
        ("from .pulumi_azure_native import network\nimport pulumi_github", set()),
    ],
)
def test_sdk_subpackages_are_read_from_imports_and_alias_attributes(source, expected):
    assert bytecode.sdk_subpackages(source) == expected


def test_to_compile_takes_every_module_but_the_unused_sdk_subpackages(tmp_path):
    files = [
        "pulumi/__init__.py",
        "pulumi/runtime/rpc.py",
        "pulumi_azure_native/__init__.py",
        "pulumi_azure_native/_utilities.py",
        "pulumi_azure_native/network/__init__.py",
        "pulumi_azure_native/network/virtual_network.py",
        "pulumi_azure_native/network/v1/old.py",
        "pulumi_azure_native/web/__init__.py",
        "pulumi_azure_native/web/app.py",
        "pulumi_azure_native/web/v1/__init__.py",
        "pulumi/__pycache__/stale.py",
        "pulumi/data.json",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    chosen = {str(p.relative_to(tmp_path)) for p in bytecode.to_compile(tmp_path, {"network"})}
    assert chosen == {
        "pulumi/__init__.py",
        "pulumi/runtime/rpc.py",
        "pulumi_azure_native/__init__.py",
        "pulumi_azure_native/_utilities.py",
        "pulumi_azure_native/network/__init__.py",
        "pulumi_azure_native/network/virtual_network.py",
        "pulumi_azure_native/network/v1/old.py",
        "pulumi_azure_native/web/__init__.py",  # the SDK's root imports every subpackage's
    }


def test_every_installed_module_this_process_imported_is_compiled_at_install():
    """The components import the SDK subpackages the programs register from; whatever this worker
    imported from site-packages by now (the program, the planner, pytest, ...) must be in the set
    `make` compiles, or every process would compile it again from source."""
    import components.ml_stage  # the program's whole import tree
    import components.shared_registry  # noqa: F401

    site_packages = Path(sysconfig.get_paths()["purelib"])
    compiled = set(bytecode.to_compile(site_packages, bytecode.used_subpackages(ROOT)))
    imported = {
        Path(module.__file__)
        for module in list(sys.modules.values())
        if getattr(module, "__file__", None) and str(module.__file__).startswith(str(site_packages))
    }
    missing = sorted(str(p) for p in imported if p.suffix == ".py" and p not in compiled)
    assert not missing


def test_the_install_compiles_bytecode_itself_not_through_uv():
    synced = _recipe("$(VENV)/.synced")
    assert synced.index("sync --locked") < synced.index("$(PY) bench/bytecode.py")
    assert "$(PY) bench/bytecode.py" in _recipe("lock")
    assert "UV_COMPILE_BYTECODE := 1" not in MAKEFILE


# --- the bench and its smoke -----------------------------------------------------------------


def test_bench_smoke_is_one_round_of_one_stack_without_the_suite():
    args = run.parse_arguments(["--smoke", "--output", "/tmp/x.md"])
    assert (args.runs, args.stacks, args.scales) == (1, STACKS[:1], run.SCALES[:1])
    assert run.parse_arguments([]).stacks == STACKS


def test_bench_smoke_target_writes_to_a_temporary_file_and_ci_runs_it_after_the_tests():
    recipe = _recipe("bench-smoke")
    assert "-m bench.run --smoke --output" in recipe and "mktemp -d" in recipe
    assert "docs/benchmarks.md" not in recipe
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert ci.index("make bench-smoke") > ci.index("make test")


def test_write_report_keeps_the_text_above_the_marker(tmp_path):
    target = tmp_path / "benchmarks.md"
    run.write_report(target, "first\n")
    assert target.read_text() == f"# Benchmarks\n\n{run.MARKER}\nfirst\n"
    target.write_text("# Mine\n\nmethod\n\n" + run.MARKER + "\nold\n")
    run.write_report(target, "new\n")
    assert target.read_text() == f"# Mine\n\nmethod\n\n{run.MARKER}\nnew\n"


def test_floor_registers_the_same_resources_with_the_same_parents_and_providers(stack_plans, monkeypatch):
    """The floor is the real program's resources at minimal inputs: same URNs (types, names,
    parents), same explicit providers, so a stack that disables default providers runs it too."""
    stack = next(s for s in STACKS if stack_plans[s].of_type(floor.STACK_REFERENCE))
    resources = {stack: floor.resource_list(stack_plans[stack].to_json())}
    for referenced in run.referenced_stacks(stack_plans[stack].to_json()):
        resources[referenced] = floor.resource_list(recorder.plan_stack(ROOT, referenced).to_json())
    monkeypatch.setattr(floor, "load_resources", lambda name, _project_dir: resources[name])
    monkeypatch.setattr(recorder, "plan_config", floor.plan_floor)
    monkeypatch.setattr(stack_references, "_planned_here", {})
    floor_plan = recorder.record(floor.floor_program(stack), load_stack_config(ROOT, stack))

    def shape(plan):
        return sorted((r.urn, r.type, r.parent, r.provider) for r in plan.resources)

    assert shape(floor_plan) == shape(stack_plans[stack])


def test_importing_the_bench_leaves_the_suite_s_plan_cache_on():
    """bench/__init__.py: the benchmarks switch the plan cache off in their own processes only.
    Switching it off at import turned it off for every later test in this worker (CI on 0b67b77:
    tests/test_plan_cache.py failed after tests/test_bench.py)."""
    import os

    from planner.plan_cache import CACHE_VARIABLE

    assert os.environ.get(CACHE_VARIABLE, "").lower() != "off"


def test_the_first_run_bench_compares_against_the_compile_everything_install():
    """bench/first_run.py's `before` is HEAD's Makefile with the install of fff3cbc^ (uv's
    UV_COMPILE_BYTECODE=1, every installed module) instead of bench/bytecode.py."""
    from bench.first_run import INSTALL_STEP, before_makefile

    today = (PROJECT_DIR / "Makefile").read_text()
    before = before_makefile(today)
    assert INSTALL_STEP in today and INSTALL_STEP not in before
    assert "export UV_COMPILE_BYTECODE := 1\n" in before
    assert [line for line in before.splitlines() if line not in today.splitlines()] == [
        "export UV_COMPILE_BYTECODE := 1"
    ]
