"""A content-addressed cache of plans: a stack is planned again only when something that could
change its plan has changed.

Planning a stage under the mock engine takes one to three seconds, and loading the Pulumi SDKs a
few more. A stack reference, `mlinfra diff` and `mlinfra check` plan other stacks, often in child
processes that pay both again, for stacks nobody edited. The key covers everything a plan depends
on, so a hit is the plan a fresh run would make:

- the config the program receives (project defaults merged with the stack file) and its secret keys;
- the project file, and for a project inside another one the enclosing project's stack files
  (bootstrap/ reads the stages'), by name and parsed content, not location or layout: a copy of
  the project (a scratch test, another checkout) finds the same plans, and so does a file whose
  comments alone changed. Other stacks' files count only through the references a plan made:
  an entry records the plan key of each stack reference it answered, and is a hit only while
  those are current (`mlinfra.planner.stack_references.references_current`), so editing one stack file
  re-plans that stack and the stacks that reference it, not the others;
- the code: every `*.py` and `*.json` of the project and of the planner's repository, outside
  `tests/` and local state (`mlinfra/facts/data/` is read at import; the bootstrap project imports
  the repository's `mlinfra` package);
- the Python version and the installed versions of the packages the program imports;
- the environment variables the planner or the program read (`MLINFRA_*`, `PULUMI_*`);
- today's date: a client secret's expiry is checked against it, so entries last a day at most.

Only successful plans are stored; a failing program runs again and fails again. Entries are JSON
(`dataclasses.asdict` of the Plan), written atomically, so parallel runs (pytest-xdist, a diff's
child processes) can share one directory. `MLINFRA_PLAN_CACHE` names the directory (default
`.cache/plans` in the project) or `off` to disable it.
"""

import dataclasses
import datetime
import hashlib
import json
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

CACHE_VARIABLE = "MLINFRA_PLAN_CACHE"
"""Environment variable: the cache directory, or `off`."""
FORMAT = "2"
"""Bump when the stored shape of a Plan changes."""
PACKAGES = (
    "pulumi",
    "pulumi-azure-native",
    "pulumi-azuread",
    "pulumi-github",
    "pulumi-azuredevops",
    "pydantic",
    "pyyaml",
)
"""Distributions whose code runs while planning: a different version may plan differently."""
REPOSITORY = Path(__file__).resolve().parents[2]
"""The repository the planner is in: its `mlinfra` package serves every project planned with it
(the bootstrap project imports it), and its stack files are read by the bootstrap program."""
CODE_SUFFIXES = (".py", ".json")
"""The program's code and the data it reads at import (`mlinfra/facts/data/*.json`)."""
NOT_CODE = frozenset(
    {"tests", "venv", ".venv", ".tools", ".cache", ".git", "__pycache__", "node_modules", ".pytest_cache"}
)
"""Directories that hold no code a plan runs: tests, environments, caches."""
ENVIRONMENT_PREFIXES = ("MLINFRA_", "PULUMI_")
ENVIRONMENT_IGNORED = frozenset({CACHE_VARIABLE})
"""Read by the planner but unable to change a successful plan."""
MAX_ENTRIES = 256
"""Oldest entries beyond this are removed when a plan is stored."""

_file_digests: dict[tuple[str, int, int], str] = {}
_document_digests: dict[tuple[str, int, int], str] = {}


def cache_dir(project_dir: Path) -> Path | None:
    """The directory plans are cached in, or None when caching is off."""
    setting = os.environ.get(CACHE_VARIABLE, "")
    if setting.lower() == "off":
        return None
    return Path(setting) if setting else project_dir / ".cache" / "plans"


def _digest_file(path: Path) -> str:
    stat = path.stat()
    marker = (str(path), stat.st_mtime_ns, stat.st_size)
    digest = _file_digests.get(marker)
    if digest is None:
        digest = _file_digests[marker] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def _digest_document(path: Path) -> str:
    """A stack or project file's digest by what it says: the parsed document, so a comment or a
    re-indented block keeps the plans it keyed. A file that does not parse counts by its bytes."""
    from mlinfra.planner.stackfile import StackFileError, read_document  # the planner's own YAML rules

    stat = path.stat()
    marker = (str(path), stat.st_mtime_ns, stat.st_size)
    digest = _document_digests.get(marker)
    if digest is None:
        try:
            text = json.dumps(read_document(path), sort_keys=True, default=str)
            digest = hashlib.sha256(text.encode()).hexdigest()
        except StackFileError:
            digest = _digest_file(path)
        _document_digests[marker] = digest
    return digest


def _code_files(root: Path) -> list[Path]:
    """Every code or data file under `root`, outside tests and local state."""
    files: list[Path] = []
    for directory, subdirectories, names in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if name not in NOT_CODE)
        files.extend(Path(directory) / name for name in names if name.endswith(CODE_SUFFIXES))
    return sorted(files)


def _code(project_dir: Path, repository: Path) -> list[tuple[str, str, str]]:
    """(where, relative path, digest) of the project's and the planner repository's code."""
    roots = {"project": project_dir, "repository": repository}  # both even when one: location-free
    return [
        (where, str(path.relative_to(root)), _digest_file(path))
        for where, root in roots.items()
        for path in _code_files(root)
    ]


def _stack_files(project_dir: Path) -> list[tuple[str, str, str]]:
    """(where, name, digest) of the files a plan reads besides its own config: the project file
    (the stage catalog) and, for a project inside another one (bootstrap/ in the stage project),
    the enclosing project's stack files, which that program reads. By name, so a copy of the
    project hits too. Another stack's file counts only through a reference to it: a plan records
    the plan keys of the references it answered (`Plan.references`) and is a hit only while they
    are current (`stack_references.references_current`): editing one stack's file keeps the plans
    of the stacks that do not reference it."""
    files = [("project", project_dir / "Pulumi.yaml")] if (project_dir / "Pulumi.yaml").is_file() else []
    enclosing = next((parent for parent in project_dir.parents if (parent / "Pulumi.yaml").is_file()), None)
    if enclosing is not None:
        files += [("enclosing project", path) for path in sorted(enclosing.glob("Pulumi*.yaml"))]
        # bootstrap/ reads the landing zone's DNS zones there (bootstrap/stack_facts.py hub_zones).
        declared = enclosing / "prerequisites.yaml"
        files += [("enclosing project", declared)] if declared.is_file() else []
    return [(where, path.name, _digest_document(path)) for where, path in files]


def _versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def plan_key(project_dir: Path, config: Any, repository: Path | None = None) -> str:
    """The cache key of planning `config` (a `StackConfig`) with the program in `project_dir`, by
    the planner of `repository` (default: this one; `mlinfra diff` names a revision's checkout)."""
    project_dir = project_dir.resolve()
    repository = (repository or REPOSITORY).resolve()
    inputs = {
        "format": FORMAT,
        "date": datetime.date.today().isoformat(),  # config rules compare dates with today (expiry)
        "python": sys.version,
        "packages": _versions(),
        "project": config.project,
        "stack": config.stack,
        "values": sorted(config.values.items()),
        "secretKeys": sorted(config.secret_keys),
        "source": config.source.name if config.source else None,
        "stackFiles": _stack_files(project_dir),
        "code": [
            (str(path.relative_to(project_dir)), _digest_file(path)) for path in _code_files(project_dir)
        ],
        "environment": sorted(
            (name, value)
            for name, value in os.environ.items()
            if name.startswith(ENVIRONMENT_PREFIXES) and name not in ENVIRONMENT_IGNORED
        ),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def load(directory: Path | None, key: str) -> dict[str, Any] | None:
    """The stored plan (as `dataclasses.asdict` made it) under `key`, or None."""
    if directory is None:
        return None
    try:
        return json.loads((directory / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent, or a torn/corrupt entry: plan again


def store(directory: Path | None, key: str, plan: Any) -> None:
    """Store `plan` (a Plan dataclass) under `key`; a cache that cannot be written is skipped."""
    if directory is None:
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=directory, suffix=".tmp", delete=False, encoding="utf-8"
        ) as handle:
            json.dump(dataclasses.asdict(plan), handle)
        os.replace(handle.name, directory / f"{key}.json")
        _prune(directory)
    except (OSError, TypeError, ValueError):
        return


def _prune(directory: Path) -> None:
    entries = sorted(directory.glob("*.json"), key=lambda path: path.stat().st_mtime_ns)
    for path in entries[:-MAX_ENTRIES]:
        path.unlink(missing_ok=True)
