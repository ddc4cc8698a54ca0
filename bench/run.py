"""`make bench`: prints (and writes to docs/benchmarks.md) the planner's cost per shipped stack
against the Pulumi-runtime floor, its scaling with the number of stages, the deployment graph
depth, and the test-suite wall time. A script, not a test: numbers depend on the machine.
"""

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from bench import PROJECT_DIR, STACKS
from planner.plan_cache import CACHE_VARIABLE

RUNS = int(os.environ.get("BENCH_RUNS", "7"))
SCALES = (1, 3, 10, 30)


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


def explicit_depends_on() -> list[str]:
    """Every `depends_on=` in components/, with the comment that gives its reason."""
    sites = []
    for path in sorted((PROJECT_DIR / "components").glob("*.py")):
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if "depends_on=" in line and not line.strip().startswith("#"):
                reason = next(
                    (
                        text.strip()
                        for text in reversed(lines[max(0, number - 3) : number + 1])
                        if "#" in text
                    ),
                    "NO REASON GIVEN",
                )
                sites.append(
                    f"{path.name}:{number + 1}  {reason[reason.index('#') :]}" if "#" in reason else reason
                )
    return sites


def main() -> None:
    python = sys.executable
    lines: list[str] = []
    out = lines.append
    out(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}; median of {RUNS} runs per figure, whole process."
    )
    out("")
    out(
        "| Stack | Resources | Planner wall s | Planner peak MB | Floor wall s | Floor peak MB | Ratio | Depth |"
    )
    out("|---|---|---|---|---|---|---|---|")
    chains = {}
    for stack in STACKS:
        planner = [python, "-m", "planner", "--stack", stack, "--format", "json"]
        document = json.loads(_child(planner)[2])  # also a warm-up of the page cache
        (PROJECT_DIR / "bench" / f".types-{stack}.json").write_text(
            json.dumps([{"type": r["type"], "custom": r["custom"]} for r in document["resources"]])
        )
        (wall, peak, _), (floor_wall, floor_peak, _) = median_pair(
            planner, [python, "-m", "bench.floor", stack]
        )
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
    base_wall, base_peak, _ = median_run([python, "-m", "bench.scaling", "0"], max(3, RUNS // 2))
    out(f"| 0 (start-up: SDK modules) | 1 | {base_wall:.2f} | {base_peak:.0f} | | | |")
    previous = (base_wall, 1)
    for count in SCALES:
        wall, peak, stdout = median_run([python, "-m", "bench.scaling", str(count)], max(3, RUNS // 2))
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
    out(f"Explicit `depends_on` sites in components/: {len(sites)}")
    for site in sites:
        out(f"- {site}")
    out("")
    out(suite_times(python))
    report = "\n".join(lines) + "\n"
    sys.stdout.write(report)
    (PROJECT_DIR / "docs").mkdir(exist_ok=True)
    target = PROJECT_DIR / "docs" / "benchmarks.md"
    previous = target.read_text() if target.exists() else ""
    marker = "<!-- bench:results -->"
    head = previous.split(marker)[0] if marker in previous else "# Benchmarks\n\n"
    target.write_text(head + marker + "\n" + report)


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
    main()
