"""`python -m mlinfra.bench.first_run [--rounds N] [--test] [--dry-run]`: a fresh clone's first run, side by
side on one machine, today's Makefile against the one before issue 32 (issue 32, "First run").

Each round clones this repository's HEAD twice into a temporary folder: one clone as it is
(`after`: each module compiled by the first process that imports it, make's commands running
without PYTHONDONTWRITEBYTECODE), one with the install compiling every installed module
(`before`: `UV_COMPILE_BYTECODE=1` and PYTHONDONTWRITEBYTECODE honoured, the Makefile's install
until fff3cbc). For each it times the first `make plan` (uv sync included: uv's cache is warm, as
on a developer's machine, so the figure is the install's materialising and compiling, not
downloads), then a later plan in the same clone with the plan cache off (the SDK read from the
bytecode the first plan or the install left), and with `--test` the first `make test`. Rounds alternate the order,
so neither variant always runs on the warmer machine. Prints a markdown table with the medians
and the ratios after/before.

`--dry-run` (CI's smoke, .ci/run) prepares both clones and checks that the `before` Makefile
differs from HEAD's exactly where it should, without timing anything: it breaks the day the
Makefile no longer has the line the `before` variant replaces.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
LAZY_STEP = "unexport PYTHONDONTWRITEBYTECODE\n"
"""The line of today's Makefile the `before` variant replaces with uv's compile-everything."""
ANCHOR = "export UV_PROJECT_ENVIRONMENT := $(VENV)\n"


MAKEFILE_TESTS = (
    "tests/test_bench.py::test_make_runs_python_writing_bytecode_even_where_the_environment_forbids_it",
    "tests/test_bench.py::test_the_install_compiles_nothing_ahead",
    "tests/test_bench.py::test_the_first_run_bench_compares_against_the_compile_everything_install",
    "tests/test_dependencies.py::test_makefile_installs_the_locked_uv_and_syncs_the_venv_the_cli_uses",
)
"""The tests that check today's Makefile install, which the `before` variant changes by design."""
SAME_SUITE = {"PYTEST_ADDOPTS": " ".join(f"--deselect {test}" for test in MAKEFILE_TESTS)}
"""Both variants run the same suite: without those tests (a handful of milliseconds)."""


class BenchError(Exception):
    pass


def before_makefile(text: str) -> str:
    """HEAD's Makefile as it installed before issue 32: UV_COMPILE_BYTECODE=1, and
    PYTHONDONTWRITEBYTECODE left to the environment."""
    if text.count(LAZY_STEP) != 1 or ANCHOR not in text:
        raise BenchError(
            "the Makefile no longer has its one `unexport PYTHONDONTWRITEBYTECODE`: update mlinfra/bench/first_run.py"
        )
    return text.replace(LAZY_STEP, "").replace(ANCHOR, ANCHOR + "export UV_COMPILE_BYTECODE := 1\n")


def clone(variant: str, into: Path) -> Path:
    target = into / variant
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_DIR), str(target)], check=True)
    if variant == "before":
        makefile = target / "Makefile"
        makefile.write_text(before_makefile(makefile.read_text()))
    return target


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"{' '.join(command)} failed in {cwd}: {result.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - start


def measure(root: Path, rounds: int, with_test: bool) -> dict[str, dict[str, list[float]]]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # as the CI machines set it
    later = {**env, "MLINFRA_PLAN_CACHE": "off"}
    figures: dict[str, dict[str, list[float]]] = {
        v: {"first plan": [], "later plan": [], "first test": []} for v in ("before", "after")
    }
    for index in range(rounds):
        order = ("before", "after") if index % 2 == 0 else ("after", "before")
        for variant in order:
            work = Path(tempfile.mkdtemp(dir=root))
            target = clone(variant, work)
            figures[variant]["first plan"].append(
                timed(["make", "--no-print-directory", "plan"], target, env)
            )
            figures[variant]["later plan"].append(
                timed(["make", "--no-print-directory", "plan"], target, later)
            )
            if with_test:
                test_clone = clone(variant, Path(tempfile.mkdtemp(dir=root)))
                figures[variant]["first test"].append(
                    timed(["make", "--no-print-directory", "test"], test_clone, {**env, **SAME_SUITE})
                )
            shutil.rmtree(work, ignore_errors=True)
    return figures


def table(figures: dict[str, dict[str, list[float]]], rounds: int) -> str:
    rows = [
        "| Fresh clone | "
        + " | ".join(f"{what} s (median of {rounds})" for what in figures["after"] if figures["after"][what])
        + " |"
    ]
    rows.append("|---" * (1 + sum(1 for what in figures["after"] if figures["after"][what])) + "|")
    medians = {v: {w: statistics.median(xs) for w, xs in f.items() if xs} for v, f in figures.items()}
    for variant in ("before", "after"):
        rows.append(
            f"| {variant} | " + " | ".join(f"{medians[variant][w]:.1f}" for w in medians[variant]) + " |"
        )
    rows.append(
        "| ratio after/before | "
        + " | ".join(f"{medians['after'][w] / medians['before'][w]:.2f}" for w in medians["after"])
        + " |"
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlinfra.bench.first_run", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--test", action="store_true", help="also time the first make test of a fresh clone")
    parser.add_argument(
        "--dry-run", action="store_true", help="prepare both clones, time nothing (CI's smoke)"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="first-run-") as root:
        try:
            if args.dry_run:
                before = (clone("before", Path(root)) / "Makefile").read_text()
                after = (clone("after", Path(root)) / "Makefile").read_text()
                if LAZY_STEP not in after or "export UV_COMPILE_BYTECODE" in after or LAZY_STEP in before:
                    raise BenchError(
                        "the two Makefile variants are not what mlinfra/bench/first_run.py expects"
                    )
                print("first-run bench: both variants prepared (dry run, nothing timed)")
                return 0
            print(table(measure(Path(root), args.rounds, args.test), args.rounds))
        except BenchError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
