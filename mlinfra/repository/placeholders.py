"""Where the shipped files still hold a placeholder: every file and key a team fills in before the
first real `pulumi up` (docs/deploying.md, "Placeholders"; the same rule the programs apply under the real
engine, mlinfra/config/config_guards.py).

The files are the estate's own: the stage project's `Pulumi.yaml` and stack files, the bootstrap
project's, and `prerequisites.yaml`. Examples are examples: they are not listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlinfra.config.config_guards import PLACEHOLDER_GUID, PLACEHOLDER_NAMES
from mlinfra.planner.stackfile import read_document

BOOTSTRAP_DIR = "bootstrap"
PREREQUISITES = "prerequisites.yaml"


@dataclass(frozen=True)
class Placeholder:
    file: str
    """Relative to the repository root."""
    key: str
    """The key path as the stack file spells it (`mlinfra:network.privateEndpoints.subnetId`)."""
    value: str


def estate_files(root: Path) -> list[Path]:
    """The stage project's files, then the bootstrap project's, then prerequisites.yaml."""
    files = [root / "Pulumi.yaml", *sorted(root.glob("Pulumi.*.yaml"))]
    files += [root / BOOTSTRAP_DIR / "Pulumi.yaml", *sorted((root / BOOTSTRAP_DIR).glob("Pulumi.*.yaml"))]
    files.append(root / PREREQUISITES)
    return [path for path in files if path.is_file()]


def is_placeholder(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    lowered = value.lower()
    return bool(PLACEHOLDER_GUID.search(value)) or any(
        re.search(rf"(^|[\"/.:@]){name}([\"/.]|$)", lowered) for name in PLACEHOLDER_NAMES
    )


def _walk(node: Any, path: str):
    if isinstance(node, dict):
        for key, value in node.items():
            # A key with a dot of its own (a DNS zone name) is quoted, so the path reads back.
            step = f'["{key}"]' if "." in str(key) and path else f".{key}" if path else str(key)
            yield from _walk(value, f"{path}{step}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")
    else:
        yield path, node


def _key(path: str, file: str) -> str:
    """A stack or project file's keys are under `config:`, named as `pulumi config` names them."""
    if file.endswith(PREREQUISITES):
        return path
    return path.removeprefix("config.")


def placeholders(root: Path) -> list[Placeholder]:
    found = []
    for path in estate_files(root):
        relative = path.relative_to(root).as_posix()
        for key, value in _walk(read_document(path) or {}, ""):
            if is_placeholder(value):
                found.append(Placeholder(relative, _key(key, relative), str(value)))
    return found
