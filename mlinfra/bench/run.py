"""`make bench`: prints (and writes to docs/benchmarks.md) the planner's cost per shipped stack
against the Pulumi-runtime floor, its scaling with the number of stages, the deployment graph
depth, the whole-estate commands (`ESTATE_COMMANDS`) against planning every stack, and the
test-suite wall time. A script, not a test: numbers depend on the machine.

`python -m mlinfra.bench.run --smoke --output <path>` (`make bench-smoke`, run by .ci/run): one round, the
first stack, the smallest scale, no suite run, no ratio judged; it fails (exit status not 0) when
any measured command fails or the table is not written, so a broken bench breaks CI the day it breaks.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlinfra.bench import PROJECT_DIR, PROJECT_STACKS, STACKS, measure_without_plan_cache
from mlinfra.bench.floor import STACK_REFERENCE, resource_list, types_file
from mlinfra.planner.plan_cache import CACHE_VARIABLE
from mlinfra.planner.stack_references import parse_reference
from mlinfra.planner.stackfile import project_name

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
SCALES = (1, 3, 10, 30)
MARKER = "<!-- bench:results -->"


def _stack_arguments(stacks: tuple[str, ...]) -> list[str]:
    return [argument for stack in stacks for argument in ("--stack", stack)]


ESTATE_COMMANDS: list[tuple[str, Callable[[str, tuple[str, ...]], list[str]]]] = [
    # (label, command for (python, stacks)): each is timed against planning every stack (the sum of
    # the per-stack planner medians) and gets a row of the "Whole estate" table, in the smoke too.
    (
        "`mlinfra check`, every stack in one process",
        lambda python, stacks: [python, "-m", "mlinfra", "check", *_stack_arguments(stacks)],
    ),
    (
        "`doctor --replay` of the shipped healthy responses",
        lambda python, stacks: [python, "-m", "mlinfra", "doctor", "--replay", "tests/data/doctor/healthy"],
    ),
    (
        # Issue 26's budget: at most 1.5x planning every stack. The repository's estate only (no
        # --examples): bootstrap, shared and every stage, whatever stacks the bench was given.
        "`mlinfra estate`, the repository's estate (bootstrap, shared, every stage)",
        lambda python, stacks: [python, "-m", "mlinfra", "estate"],
    ),
]


def _child(command: list[str]) -> tuple[float, float, str]:
    """Run `command` once and return its wall time and its own peak RSS (os.wait4 rusage)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stderr is not None  # both are pipes
    stdout = process.stdout.read()
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {stderr.strip().splitlines()[-1:]}")
    return wall, usage.ru_maxrss / 1024, stdout


def median_run(command: list[str], runs: int = RUNS) -> tuple[float, float, str]:
    results = [_child(command) for _ in range(runs)]
    return (
        statistics.median(r[0] for r in results),
        statistics.median(r[1] for r in results),
        results[-1][2],
    )


def median_pair(first: list[str], second: list[str], runs: int = RUNS):
    """Medians of two commands run alternately, so drift in machine load hits both alike."""
    pairs = [(_child(first), _child(second)) for _ in range(runs)]
    return tuple(
        (
            statistics.median(p[i][0] for p in pairs),
            statistics.median(p[i][1] for p in pairs),
            pairs[-1][i][2],
        )
        for i in (0, 1)
    )


def longest_chain(document: dict) -> list[str]:
    """The longest chain of `dependencies` among the plan's custom resources."""
    resources = {r["urn"]: r for r in document["resources"] if r["custom"]}
    memo: dict[str, list[str]] = {}

    def chain(urn: str) -> list[str]:
        if urn not in memo:
            memo[urn] = [urn]
            deps = [d for d in resources[urn]["dependencies"] if d in resources]
            memo[urn] = [*max((chain(d) for d in deps), key=len, default=[]), urn]
        return memo[urn]

    return max((chain(urn) for urn in resources), key=len, default=[])


COMPONENT_FOLDERS = ("mlinfra/stage", "mlinfra/access", "mlinfra/shared")
"""Where the Pulumi components live (docs/layout.md)."""


def explicit_depends_on() -> list[str]:
    """Every `depends_on=` in the Pulumi components, with the comment that gives its reason."""
    sites = []
    for path in sorted(path for folder in COMPONENT_FOLDERS for path in (PROJECT_DIR / folder).glob("*.py")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if "depends_on=" in line and not line.strip().startswith("#"):
                reason = next(
                    (
                        text.strip()
                        for text in reversed(lines[max(0, number - 3) : number + 1])
                        if "#" in text
                    ),
                    "",
                )
                # The site is named either way: a site without a reason is the one to look at.
                sites.append(
                    f"{path.relative_to(PROJECT_DIR)}:{number + 1}  {reason[reason.index('#') :] if reason else 'NO REASON GIVEN'}"
                )
    return sites


def referenced_stacks(document: dict) -> list[str]:
    """The stacks of this project a plan's stack references name (their floors run too)."""
    project = project_name(PROJECT_DIR)
    return [
        parse_reference(r["inputs"]["id"], project).stack
        for r in document["resources"]
        if r["type"] == STACK_REFERENCE
    ]


def write_floor_inputs(python: str, stack: str, done: dict[str, dict]) -> dict:
    """Plan `stack` (and, once each, the stacks it references) and write what its floor registers."""
    if stack not in done:
        document = json.loads(_child([python, "-m", "mlinfra", "--stack", stack, "--format", "json"])[2])
        types_file(stack).write_text(json.dumps(resource_list(document)))
        done[stack] = document
        for referenced in referenced_stacks(document):
            write_floor_inputs(python, referenced, done)
    return done[stack]


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m mlinfra.bench.run", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=RUNS, help="rounds per figure (default BENCH_RUNS or 7)")
    parser.add_argument("--stack", action="append", dest="stacks", help="a stack to measure (repeatable)")
    parser.add_argument(
        "--output",
        type=Path,
        default=PROJECT_DIR / "docs" / "benchmarks.md",
        help="file to write the tables to",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one round, the first stack, scale 1, no suite: it runs and writes",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.runs, args.stacks = 1, args.stacks or list(STACKS[:1])
    args.stacks = tuple(args.stacks or PROJECT_STACKS)
    args.scales = SCALES[:1] if args.smoke else SCALES
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_arguments(argv)
    runs: int = args.runs
    python = sys.executable
    lines: list[str] = []
    out = lines.append
    out(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; median of {runs} runs per figure, whole process."
    )
    out("")
    out(
        "| Stack | Resources | Planner wall s | Planner peak MB | Floor wall s | Floor peak MB | Ratio | Depth |"
    )
    out("|---|---|---|---|---|---|---|---|")
    chains = {}
    planned: dict[str, dict] = {}
    plan_walls = []
    for stack in args.stacks:
        planner = [python, "-m", "mlinfra", "--stack", stack, "--format", "json"]
        document = write_floor_inputs(python, stack, planned)  # also a warm-up of the page cache
        (wall, peak, _), (floor_wall, floor_peak, _) = median_pair(
            planner, [python, "-m", "mlinfra.bench.floor", stack], runs
        )
        plan_walls.append(wall)
        chain = longest_chain(document)
        chains[stack] = chain
        out(
            f"| {stack} | {len(document['resources'])} | {wall:.2f} | {peak:.0f} | {floor_wall:.2f} | {floor_peak:.0f} | "
            f"{wall / floor_wall:.2f} | {len(chain)} |"
        )
    out("")
    out("Scaling (one program, N synthetic stages):")
    out("")
    out(
        "| Stages | Resources | Wall s | Peak MB | ms per resource | KB per resource | marginal ms per resource |"
    )
    out("|---|---|---|---|---|---|---|")
    scaling_runs = 1 if args.smoke else max(3, runs // 2)
    base_wall, base_peak, _ = median_run([python, "-m", "mlinfra.bench.scaling", "0"], scaling_runs)
    out(f"| 0 (start-up: SDK modules) | 1 | {base_wall:.2f} | {base_peak:.0f} | | | |")
    previous = (base_wall, 1)
    for count in args.scales:
        wall, peak, stdout = median_run([python, "-m", "mlinfra.bench.scaling", str(count)], scaling_runs)
        resources = int(stdout.strip())
        marginal = 1000 * (wall - previous[0]) / (resources - previous[1])
        previous = (wall, resources)
        out(
            f"| {count} | {resources} | {wall:.2f} | {peak:.0f} | {1000 * (wall - base_wall) / resources:.1f} | "
            f"{1024 * (peak - base_peak) / resources:.0f} | {marginal:.1f} |"
        )
    out("")
    out("Deployment graph: longest chain of `dependencies` (custom resources) per stack:")
    out("")
    for stack, chain in chains.items():
        out(f"- {stack} ({len(chain)}): " + " -> ".join(urn.rsplit("::", 1)[-1] for urn in chain))
    sites = explicit_depends_on()
    out("")
    out(f"Explicit `depends_on` sites in the components ({', '.join(COMPONENT_FOLDERS)}): {len(sites)}")
    for site in sites:
        out(f"- {site}")
    out("")
    out(
        f"Whole estate ({', '.join(args.stacks)}, bootstrap), against planning every "
        "stack (the sum of the planner medians above, and the bootstrap stack's):"
    )
    out("")
    out("| Command | Wall s | Peak MB | Ratio to planning every stack |")
    out("|---|---|---|---|")
    # The estate plans the bootstrap project too: planning every stack includes its plan (the smoke
    # runs it as well, so the command cannot rot unseen).
    bootstrap = [
        python,
        "-m",
        "mlinfra",
        "--project-dir",
        "bootstrap",
        "--stack",
        "platform",
        "--format",
        "json",
    ]
    bootstrap_wall, bootstrap_peak, _ = median_run(bootstrap, runs)
    out(f"| of which the bootstrap stack (`platform`) | {bootstrap_wall:.2f} | {bootstrap_peak:.0f} | |")
    plan_all = sum(plan_walls) + bootstrap_wall
    out(f"| planning every stack (one process each) | {plan_all:.2f} | | 1.00 |")
    for label, command in ESTATE_COMMANDS:
        wall, peak, _ = median_run(command(python, args.stacks), runs)
        out(f"| {label} | {wall:.2f} | {peak:.0f} | {wall / plan_all:.2f} |")
    if not args.smoke:
        out("")
        out(suite_times(python))
    report = "\n".join(lines) + "\n"
    sys.stdout.write(report)
    write_report(args.output, report)
    if MARKER + "\n" + report not in args.output.read_text():
        raise SystemExit(f"bench: the tables did not reach {args.output}")


def write_report(target: Path, report: str) -> None:
    """Replace what follows the marker in `target` (the text above it is kept), or start the file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = target.read_text() if target.exists() else ""
    head = previous.split(MARKER)[0] if MARKER in previous else "# Benchmarks\n\n"
    target.write_text(head + MARKER + "\n" + report)


def suite_times(python: str) -> str:
    """The suite as `make test` runs it (pytest-xdist, one worker per core), first with an empty
    plan cache (a fresh clone) and then again with the plans the first run left (no change)."""
    times = []
    with tempfile.TemporaryDirectory(prefix="mlinfra-bench-plans-") as cache:
        for _ in ("cold", "warm"):
            start = time.perf_counter()
            subprocess.run(
                [python, "-m", "pytest", "-q", "-n", "auto", "--dist", "worksteal", "-p", "no:cacheprovider"],
                cwd=PROJECT_DIR,
                check=True,
                stdout=subprocess.DEVNULL,
                env={**os.environ, CACHE_VARIABLE: cache},
            )
            times.append(time.perf_counter() - start)
    return (
        f"Test suite (`make test`: `pytest -n auto --dist worksteal`, {os.cpu_count()} workers): {times[0]:.1f} s wall "
        f"with an empty plan cache, {times[1]:.1f} s wall run again with no change."
    )


if __name__ == "__main__":
    measure_without_plan_cache()
    main()
