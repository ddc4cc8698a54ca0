"""Checks of the dependency lock (uv.lock against pyproject.toml), and the helpers `make` needs.

Standard library only (tomllib): `make` runs `python3 -m mlinfra.lint.lockfile ...` before any venv exists.

    python -m mlinfra.lint.lockfile uv-version       the uv version locked in the `uv` dependency group
    python -m mlinfra.lint.lockfile uv-requirement   that uv as a pip requirement with every locked hash
    python -m mlinfra.lint.lockfile upgrade          raise each exact pin in pyproject.toml to the newest
                                             release of its major version, then re-lock (make lock)
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
UV_GROUP = "uv"
"""The dependency group that only locks uv itself (never installed into the venv)."""

_EXACT_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)$")


def canonical(name: str) -> str:
    """A package name as the lock writes it (PEP 503: lower case, runs of `-_.` as one `-`)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def load(path: str | Path) -> dict[str, Any]:
    with open(path, "rb") as stream:
        return tomllib.load(stream)


def requirements(pyproject: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, requirement) for the runtime dependencies and every dependency group."""
    for requirement in pyproject.get("project", {}).get("dependencies", []):
        yield "project.dependencies", requirement
    for group, members in pyproject.get("dependency-groups", {}).items():
        for requirement in members:
            if isinstance(requirement, str):  # `{include-group = ...}` tables add no requirement
                yield f"dependency-groups.{group}", requirement


def pinned_versions(pyproject: Mapping[str, Any]) -> dict[str, str]:
    """Canonical name -> exact version of every `name==version` requirement."""
    found = {}
    for _, requirement in requirements(pyproject):
        if match := _EXACT_PIN.match(requirement.strip()):
            found[canonical(match.group(1))] = match.group(2)
    return found


def locked_versions(lock: Mapping[str, Any]) -> dict[str, str]:
    """Canonical name -> version of every package in uv.lock that comes from a package index."""
    return {
        canonical(package["name"]): package["version"]
        for package in lock.get("package", [])
        if "registry" in package.get("source", {})
    }


def pin_problems(pyproject: Mapping[str, Any], lock: Mapping[str, Any]) -> list[str]:
    """Every requirement is an exact pin (`name==version`), and uv.lock holds that version."""
    problems = []
    locked = locked_versions(lock)
    for where, requirement in requirements(pyproject):
        match = _EXACT_PIN.match(requirement.strip())
        if match is None:
            problems.append(f"{where}: `{requirement}` is not an exact pin (name==version)")
            continue
        name, version = canonical(match.group(1)), match.group(2)
        if locked.get(name) != version:
            problems.append(
                f"{where}: `{requirement}`, but uv.lock has {name} {locked.get(name, 'not at all')}; run `make lock`"
            )
    return problems


def _distributions(package: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    sdist = package.get("sdist")
    return [*package.get("wheels", []), *([sdist] if sdist else [])]


def hash_problems(lock: Mapping[str, Any]) -> list[str]:
    """Every package from an index has at least one distribution, and each carries a sha256."""
    problems = []
    for package in lock.get("package", []):
        if "registry" not in package.get("source", {}):
            continue
        where = f"{package['name']} {package['version']}"
        distributions = _distributions(package)
        if not distributions:
            problems.append(f"{where}: no wheel or sdist in uv.lock")
        problems += [
            f"{where}: {dist.get('url', '?')} has no sha256 hash"
            for dist in distributions
            if not str(dist.get("hash", "")).startswith("sha256:")
        ]
    return problems


def _locked_package(lock: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    for package in lock.get("package", []):
        if canonical(package["name"]) == canonical(name):
            return package
    raise LookupError(f"uv.lock has no package `{name}`")


def uv_version(lock: Mapping[str, Any]) -> str:
    """The uv version locked through the `uv` dependency group."""
    return str(_locked_package(lock, "uv")["version"])


def uv_requirement(lock: Mapping[str, Any]) -> str:
    """uv as one pip requirement with the hash of every locked distribution, for
    `pip install --require-hashes`: pip picks the wheel of this platform and checks it."""
    package = _locked_package(lock, "uv")
    hashes = [str(dist["hash"]) for dist in _distributions(package)]
    return " ".join([f"uv=={package['version']}", *(f"--hash={digest}" for digest in hashes)])


# --- make lock ----------------------------------------------------------------------------------


def _major_range(requirement: str) -> str:
    """`name==1.2.3` -> `name>=1.2.3,<2` (for 0.x: `<1`); anything else unchanged."""
    match = _EXACT_PIN.match(requirement.strip())
    if match is None:
        return requirement
    name, version = match.groups()
    major = int(re.findall(r"^\d+", version)[0])  # _EXACT_PIN's version starts with a digit
    return f"{name}>={version},<{major + 1}"


def upgrade(root: Path = ROOT, uv: str = "uv") -> dict[str, tuple[str, str]]:
    """Raise each exact pin of pyproject.toml to the newest release of its major version and
    re-lock; .pulumi-version follows the pulumi pin (PU-10). Resolves a copy of the project with
    every pin opened to its major range (`uv lock --upgrade`), then writes the versions it chose
    back as exact pins. Returns name -> (old, new) for the pins that moved."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    before = pinned_versions(tomllib.loads(text))
    opened = re.sub(r'"([^"\s]+==[^"\s]+)"', lambda m: f'"{_major_range(m.group(1))}"', text)
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / "pyproject.toml").write_text(opened, encoding="utf-8")
        shutil.copy(root / "uv.lock", Path(scratch) / "uv.lock")
        subprocess.run([uv, "lock", "--upgrade", "--quiet", "--project", scratch], check=True)
        newest = locked_versions(load(Path(scratch) / "uv.lock"))
    moved = {name: (old, newest[name]) for name, old in before.items() if newest.get(name, old) != old}

    def repin(match: re.Match[str]) -> str:
        name = canonical(match.group(1))
        return f'"{match.group(1)}=={moved[name][1]}"' if name in moved else match.group(0)

    (root / "pyproject.toml").write_text(
        re.sub(r'"([A-Za-z0-9][A-Za-z0-9._-]*)==[^"\s]+"', repin, text), encoding="utf-8"
    )
    if "pulumi" in moved:
        (root / ".pulumi-version").write_text(moved["pulumi"][1] + "\n", encoding="utf-8")
    subprocess.run([uv, "lock", "--upgrade", "--project", str(root)], check=True)
    return moved


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "uv-version":
        print(uv_version(load(ROOT / "uv.lock")))
    elif command == "uv-requirement":
        print(uv_requirement(load(ROOT / "uv.lock")))
    elif command == "upgrade":
        moved = upgrade(uv=argv[1] if len(argv) > 1 else "uv")
        for name, (old, new) in sorted(moved.items()):
            print(f"{name}: {old} -> {new}")
        if not moved:
            print("every pin is at the newest release of its major version")
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
