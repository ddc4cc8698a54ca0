"""`python -m mlinfra.bench.check`: what `mlinfra check` costs over planning, for every shipped stack.

Runs `mlinfra --stack <s>` and `mlinfra check --stack <s>` alternately
(BENCH_RUNS rounds, default 5), so both see the same machine load, and prints the median wall
and CPU time (user + sys of the child) per command, summed over the stacks, and their ratio. A
script, not a test: the numbers depend on the machine. CPU time is the steadier figure on a
shared machine.
"""

import os
import resource
import statistics
import subprocess
import sys
import time

from mlinfra.bench import PROJECT_DIR, STACKS, measure_without_plan_cache

RUNS = int(os.environ.get("BENCH_RUNS", "5"))


def _run(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one child run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "mlinfra", *args], cwd=PROJECT_DIR, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"planner {' '.join(args)} failed: {result.stderr.decode().strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    samples: dict[str, dict[str, list[tuple[float, float]]]] = {"plan": {}, "check": {}}
    for _ in range(RUNS):
        for stack in STACKS:
            samples["plan"].setdefault(stack, []).append(_run(["--stack", stack]))
            samples["check"].setdefault(stack, []).append(_run(["check", "--stack", stack]))
    totals = {}
    for kind, by_stack in samples.items():
        wall = sum(statistics.median(s[0] for s in runs) for runs in by_stack.values())
        cpu = sum(statistics.median(s[1] for s in runs) for runs in by_stack.values())
        totals[kind] = (wall, cpu)
        print(f"{kind:<6} all stacks: wall {wall:6.2f} s, cpu {cpu:6.2f} s (median of {RUNS} per stack)")
    print(
        f"check/plan: wall {totals['check'][0] / totals['plan'][0]:.2f}x, "
        f"cpu {totals['check'][1] / totals['plan'][1]:.2f}x"
    )


if __name__ == "__main__":
    measure_without_plan_cache()
    main()
