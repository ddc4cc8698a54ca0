"""Plans a stack as a git revision had it: each revision is planned by its own code, in its
own process, so the base of a diff needs nothing from the working tree but the venv."""

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path

from mlinfra.planner import plan_cache
from mlinfra.planner.stack_references import references_current
from mlinfra.planner.stackfile import StackFileError, load_stack_config

# Runs inside the revision's checkout: `plan_stack` and `to_json` are the planner's stable
# entry points (present since the first release), so any revision with a planner can answer.
# argv[2] names that revision's planner package: `mlinfra.planner`, or `planner` before the move.
_BUNDLE = """
import importlib, json, sys
from pathlib import Path
plan_stack = importlib.import_module(sys.argv[2] + ".recorder").plan_stack
to_json = importlib.import_module(sys.argv[2] + ".render").to_json
def failure(error):
    lines = [" ".join(line.split()) for line in str(error).splitlines() if line.strip()]
    return "\\n".join(f"{type(error).__name__}: {line}" for line in lines) or type(error).__name__
plans = {}
for stack in json.loads(sys.argv[1]):
    if not (Path.cwd() / f"Pulumi.{stack}.yaml").is_file():
        plans[stack] = None
        continue
    try:
        plans[stack] = json.loads(to_json(plan_stack(Path.cwd(), stack)))
    except Exception as error:
        plans[stack] = {"error": failure(error)}
sys.stdout.write(json.dumps(plans))
"""


def failure(error: Exception) -> str:
    """A stack's planning error as the diff reports it: one line per problem, each with the
    error's type (the same text as `_BUNDLE`'s, which runs in a revision of its own)."""
    lines = [" ".join(line.split()) for line in str(error).splitlines() if line.strip()]
    return "\n".join(f"{type(error).__name__}: {line}" for line in lines) or type(error).__name__


class RevisionError(Exception):
    """A revision cannot be read or planned at all."""


def resolve(project_dir: Path, ref: str) -> str:
    """The commit `ref` names; RevisionError when git does not know it."""
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=project_dir,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RevisionError(
            f"--base {ref!r} is not a commit of this repository (fetch it first, e.g. git fetch origin main)"
        )
    return result.stdout.strip()


def unchanged_since(project_dir: Path, commit: str) -> bool:
    """Whether the repository is exactly `commit` (no edits, no untracked files): then both
    revisions plan the same, and planning them can be skipped. The whole repository (`:/`), not
    only the project's folder: a project in a subfolder (bootstrap/) runs the repository's code."""
    diff = subprocess.run(["git", "diff", "--quiet", commit, "--", ":/"], cwd=project_dir)
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "--", ":/"],
        cwd=project_dir,
        capture_output=True,
        text=True,
    )
    return diff.returncode == 0 and untracked.returncode == 0 and not untracked.stdout.strip()


@contextmanager
def checkout(project_dir: Path, commit: str):
    """The project directory as it was at `commit`, inside the whole repository at `commit`
    extracted to a temporary directory: a project in a subfolder (bootstrap/) imports the
    repository's `mlinfra` package and reads the stages' stack files beside it."""
    top, prefix = (
        subprocess.run(
            ["git", "rev-parse", option], cwd=project_dir, capture_output=True, text=True, check=True
        ).stdout.strip()
        for option in ("--show-toplevel", "--show-prefix")
    )
    # From the top: run inside a subfolder, `git archive` keeps only that subfolder's paths.
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=top, capture_output=True)
    if archive.returncode != 0:
        raise RevisionError(f"cannot read {commit[:12]}: {archive.stderr.decode().strip()}")
    with tempfile.TemporaryDirectory(prefix="mlinfra-base-") as directory:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            extract(tar, Path(directory))
        yield Path(directory) / prefix


def extract(tar: tarfile.TarFile, directory: Path) -> None:
    """Extract a revision's archive into `directory`, nothing outside it. Python 3.11.4 and later
    have the "data" filter (PEP 706: no absolute paths, no links out, no devices); 3.11.0-3.11.3
    (Debian 12 ships 3.11.2) do not, and get regular files and directories inside `directory` only."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(directory, filter="data")
        return
    root = directory.resolve()
    inside = [
        member
        for member in tar.getmembers()
        if (member.isfile() or member.isdir()) and (root / member.name).resolve().is_relative_to(root)
    ]
    tar.extractall(root, members=inside)  # each member checked above


def cached_plans(project_dir: Path, stacks: list[str], cache: Path | None) -> dict[str, dict | None]:
    """The plan documents of `stacks` that need no planning: None for a stack without a stack file,
    the document of an earlier plan of the same inputs (`mlinfra.planner.plan_cache`: the key pins the
    revision's own code and config, so only that code can have stored it). Others are left out."""
    found: dict[str, dict | None] = {}
    root = planner_root(project_dir)  # the checkout's own planner plans it there: key as it would
    for stack in stacks:
        if not (project_dir / f"Pulumi.{stack}.yaml").is_file():
            found[stack] = None
            continue
        try:
            config = load_stack_config(project_dir, stack)
        except StackFileError:
            continue  # the child process reports it, in the revision's own words
        stored = plan_cache.load(cache, plan_cache.plan_key(project_dir, config, root))
        if stored is not None and references_current(project_dir, config, stored, cache, root):
            from mlinfra.planner.recorder import Plan  # loads the Pulumi SDK: only when a plan is found
            from mlinfra.planner.render import to_json

            found[stack] = json.loads(to_json(Plan.from_dict(stored)))
    return found


PLANNER_PROJECT = Path(__file__).resolve().parents[2]
"""The project this planner belongs to: its working tree can be planned in this process."""


PLANNER_PACKAGES = ("mlinfra.planner", "planner")
"""Where a revision's planner lives: the `mlinfra` package, or the top-level `planner` of the
revisions before the package layout (issue 31), which a diff's base may still be."""


def planner_package(directory: Path) -> str | None:
    """The planner package of the checkout at `directory`, if it has one."""
    for package in PLANNER_PACKAGES:
        if (directory.joinpath(*package.split(".")) / "__init__.py").is_file():
            return package
    return None


def planner_root(project_dir: Path) -> Path | None:
    """The directory whose planner package plans `project_dir`: the project's own, or the
    nearest one above it (a project in a subfolder, bootstrap/, is the repository's)."""
    for directory in (project_dir, *project_dir.parents):
        if planner_package(directory):
            return directory
    return None


def plan_here(project_dir: Path, stacks: list[str]) -> dict[str, dict | None]:
    """`stacks` of this planner's own project planned in this process, as `_BUNDLE` answers in a
    child (the bundle stays a string of stable calls, since an old revision's planner runs it)."""
    from mlinfra.planner.recorder import plan_stack  # loads the Pulumi SDK
    from mlinfra.planner.render import to_json

    plans: dict[str, dict | None] = {}
    for stack in stacks:
        if not (project_dir / f"Pulumi.{stack}.yaml").is_file():
            plans[stack] = None
            continue
        try:
            plans[stack] = json.loads(to_json(plan_stack(project_dir, stack)))
        except Exception as error:  # reported per stack, as the child does
            plans[stack] = {"error": failure(error)}
    return plans


def start_plans(project_dir: Path, stacks: list[str], cache: Path | None) -> subprocess.Popen | None:
    """Start planning `stacks` of the project in `project_dir` in a child process (None: nothing
    to plan); the child shares the plan cache `cache` (a checkout's own would be empty)."""
    if not stacks:
        return None
    environment = {**os.environ, plan_cache.CACHE_VARIABLE: str(cache) if cache else "off"}
    root = planner_root(project_dir)
    if root is not None and root != project_dir:  # a subfolder project: that tree's planner
        environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            _BUNDLE,
            json.dumps(stacks),
            planner_package(root or project_dir) or PLANNER_PACKAGES[0],
        ],
        cwd=project_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )


def finish_plans(process: subprocess.Popen | None, label: str) -> dict[str, dict | None]:
    """stack -> plan document, None (no stack file) or {"error": ...}."""
    if process is None:
        return {}
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        raise RevisionError(f"{label} cannot be planned: {last}")
    return json.loads(stdout)
