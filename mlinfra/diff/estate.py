"""The estate side of `mlinfra diff`: the estate verifier's findings a change introduces (at the
working tree, not at the base) and those it resolves, shown before the per-stack diffs.

Each revision is verified by its own code, as each is planned by it (`mlinfra.planner.revisions`): the
base by `mlinfra estate --format json` run in its checkout, the working tree in this
process when it is this planner's project, else in a child too. Both share the diff's plan cache,
so after the diff has planned both revisions' stacks only their bootstrap stacks are planned again.
Findings are matched by their key (rule, stack, message: `mlinfra.estate.findings.Finding.key`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mlinfra.planner import plan_cache
from mlinfra.planner.revisions import PLANNER_PACKAGES, PLANNER_PROJECT, planner_package

BOOTSTRAP_PROJECT = Path("bootstrap") / "Pulumi.yaml"


@dataclass
class EstateChange:
    introduced: list[dict[str, str]] = field(default_factory=list)
    """Findings of the working tree's estate that the base's does not have, in the verifier's order."""
    resolved: list[dict[str, str]] = field(default_factory=list)
    """Findings of the base's estate that the working tree's no longer has."""
    note: str | None = None
    """Why the comparison is partial (a revision whose estate cannot be verified)."""

    def to_json(self) -> dict:
        return {"introduced": self.introduced, "resolved": self.resolved, "note": self.note}


def applies(project_dir: Path) -> bool:
    """Whether `project_dir` is a repository's stage project with its bootstrap project beside it:
    the estate the verifier models (a diff of bootstrap/ alone, or of another project, has none)."""
    return (project_dir / BOOTSTRAP_PROJECT).is_file() and (project_dir / "Pulumi.yaml").is_file()


def key(finding: dict[str, str]) -> str:
    return f"{finding['rule']} {finding['stack']}: {finding['message']}"


def start(project_dir: Path, cache: Path | None) -> subprocess.Popen:
    """Verify the estate of the checkout at `project_dir` with its own planner, in a child process
    sharing the plan cache `cache` (`python -m planner` for a revision before the package layout)."""
    environment = {**os.environ, plan_cache.CACHE_VARIABLE: str(cache) if cache else "off"}
    package = (planner_package(project_dir) or PLANNER_PACKAGES[0]).split(".")[0]
    return subprocess.Popen(
        [sys.executable, "-m", package, "estate", "--format", "json"],
        cwd=project_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def finish(process: subprocess.Popen) -> list[dict[str, str]] | str:
    """The findings the child reported, or why it could not verify (its last line on stderr)."""
    stdout, stderr = process.communicate()
    if process.returncode in (0, 1):
        try:
            return list(json.loads(stdout)["findings"])
        except (ValueError, KeyError, TypeError):
            pass
    return (stderr.strip().splitlines() or [f"exit status {process.returncode}"])[-1]


def here(project_dir: Path, cache: Path | None) -> list[dict[str, str]] | str:
    """The working tree's findings: in this process when it is this planner's project (its plans
    are in the cache already), else by its own planner in a child."""
    if project_dir.resolve() != PLANNER_PROJECT:
        return finish(start(project_dir, cache))
    from mlinfra.config.config_error import ConfigError
    from mlinfra.estate import model
    from mlinfra.estate.prerequisites import PrerequisitesError
    from mlinfra.planner.stackfile import StackFileError

    try:
        return [f.to_json() for f in model.build(project_dir).findings]
    except (ConfigError, StackFileError, PrerequisitesError, OSError) as error:
        return " ".join(str(error).split())
    except Exception as error:  # a program that fails: the diff names it per stack already
        return " ".join(f"{type(error).__name__}: {error}".split())


def compare(base: list[dict[str, str]] | str, head: list[dict[str, str]] | str, ref: str) -> EstateChange:
    if isinstance(head, str):
        return EstateChange(note=f"the working tree's estate cannot be verified: {head}")
    if isinstance(base, str):
        return EstateChange(
            introduced=head,
            note=f"{ref} cannot verify its estate ({base}); every finding of the working tree is shown",
        )
    before, after = {key(f) for f in base}, {key(f) for f in head}
    return EstateChange(
        introduced=[f for f in head if key(f) not in before],
        resolved=[f for f in base if key(f) not in after],
    )
