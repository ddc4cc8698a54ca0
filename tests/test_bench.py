"""The bench keeps working (`make bench`, its smoke in .ci/run), and bytecode is written for what
is imported, by the process that first imports it, not compiled ahead for every installed module."""

import os
import re
import subprocess
from pathlib import Path

from mlinfra.bench import PROJECT_DIR, PROJECT_STACKS, STACKS, floor, run
from mlinfra.planner import recorder, stack_references
from mlinfra.planner.stackfile import load_stack_config

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")


def _recipe(target: str) -> str:
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", MAKEFILE, re.MULTILINE)
    assert match, f"no {target} target in the Makefile"
    return match[1]


# --- bytecode: written on first import ---------------------------------------------------------


def test_make_runs_python_writing_bytecode_even_where_the_environment_forbids_it(tmp_path):
    """With PYTHONDONTWRITEBYTECODE set (the CI machines set it) no process would ever write the
    bytecode of what it imports, and each one would compile the SDK from source again (seconds per
    process): make's commands run without it (Python docs, "Command line and environment":
    PYTHONDONTWRITEBYTECODE, sys.dont_write_bytecode)."""
    probe = tmp_path / "probe.mk"
    probe.write_text(
        "include Makefile\nprobe-bytecode:\n\t@$(PY) -c 'import sys; print(sys.dont_write_bytecode)'\n"
    )
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(probe), "probe-bytecode"],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_the_install_compiles_nothing_ahead():
    """uv's UV_COMPILE_BYTECODE compiles all ~8,500 installed modules (about 20 s of a fresh
    clone's first command, issue 32) where a plan imports about 1,600."""
    assert "export UV_COMPILE_BYTECODE" not in MAKEFILE
    assert "compile" not in _recipe("$(VENV)/.synced") and "compile" not in _recipe("lock")
    assert MAKEFILE.count("unexport PYTHONDONTWRITEBYTECODE\n") == 1


# --- the bench and its smoke -----------------------------------------------------------------


def test_bench_smoke_is_one_round_of_one_stack_without_the_suite():
    args = run.parse_arguments(["--smoke", "--output", "/tmp/x.md"])
    assert (args.runs, args.stacks, args.scales) == (1, STACKS[:1], run.SCALES[:1])
    assert run.parse_arguments([]).stacks == PROJECT_STACKS and PROJECT_STACKS[1:] == STACKS


def test_bench_smoke_target_writes_to_a_temporary_file_and_ci_runs_it_after_the_tests():
    recipe = _recipe("bench-smoke")
    assert "-m mlinfra.bench.run --smoke --output" in recipe and "mktemp -d" in recipe
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
    """mlinfra/bench/__init__.py: the benchmarks switch the plan cache off in their own processes only.
    Switching it off at import turned it off for every later test in this worker (CI on 0b67b77:
    tests/test_plan_cache.py failed after tests/test_bench.py)."""
    import os

    from mlinfra.planner.plan_cache import CACHE_VARIABLE

    assert os.environ.get(CACHE_VARIABLE, "").lower() != "off"


def test_the_first_run_bench_compares_against_the_compile_everything_install():
    """mlinfra/bench/first_run.py's `before` is HEAD's Makefile with the install of fff3cbc^ (uv's
    UV_COMPILE_BYTECODE=1, every installed module, and PYTHONDONTWRITEBYTECODE left as the
    environment sets it) instead of writing bytecode on first import."""
    from mlinfra.bench.first_run import LAZY_STEP, before_makefile

    today = (PROJECT_DIR / "Makefile").read_text()
    before = before_makefile(today)
    assert LAZY_STEP in today and LAZY_STEP not in before
    assert "export UV_COMPILE_BYTECODE := 1\n" in before
    assert [line for line in before.splitlines() if line not in today.splitlines()] == [
        "export UV_COMPILE_BYTECODE := 1"
    ]


def test_the_first_run_bench_leaves_out_only_tests_that_exist():
    """The `before` variant fails the tests of today's install by design; the bench deselects
    exactly those in both variants, and each still exists (a renamed test would be run again)."""
    from mlinfra.bench.first_run import MAKEFILE_TESTS

    for test in MAKEFILE_TESTS:
        path, name = test.split("::")
        assert f"def {name}(" in (PROJECT_DIR / path).read_text(), test
