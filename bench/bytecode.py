"""Bytecode for what the programs and the tests import, not for every installed file.

`make` ran `uv sync` with UV_COMPILE_BYTECODE=1, which compiles all ~8,500 modules of the venv:
about 20 s of a fresh clone's first `make plan`, most of it pulumi-azure-native's ~6,000 modules,
of which a plan imports about 1,000. `python bench/bytecode.py` (run by `make` after `uv sync`,
as a script so it imports nothing of the project first) compiles every module of site-packages
except the pulumi-azure-native subpackages no project source imports: of those only the
`__init__.py` (the SDK's root imports every subpackage's), and the project's own modules. The subpackages used are read from the
project's sources (`ast`), so a new `from pulumi_azure_native import x` is compiled at the next
install with no list to keep. Bytecode is written with timestamp invalidation whatever
SOURCE_DATE_EPOCH says (a checked hash re-reads every source on import), and whatever
PYTHONDONTWRITEBYTECODE says (it is set on the CI machines, which is why compiling ahead matters).
"""

import ast
import os
import py_compile
import sys
import sysconfig
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

SDK = "pulumi_azure_native"
PROJECT_DIR = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("components", "planner", "policy", "bootstrap", "bench", "lint", "tests", "examples")
SKIP_DIRS = {"venv", ".venv", ".tools", ".git", ".cache", "__pycache__", "node_modules"}


def sdk_subpackages(source: str) -> set[str]:
    """The pulumi_azure_native subpackages one module's source imports or reaches as attributes:
    `from pulumi_azure_native import a, b`, `import pulumi_azure_native.a`, `from
    pulumi_azure_native.a import X`, and `<alias>.a` after `import pulumi_azure_native as <alias>`."""
    tree = ast.parse(source)
    found: set[str] = set()
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] == SDK:
                found.update(parts[1:2] or [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == SDK:
                    found.update(parts[1:2])
                    if len(parts) == 1:
                        aliases.add(alias.asname or SDK)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            found.add(node.attr)
    return found


def project_sources(project_dir: Path = PROJECT_DIR) -> list[Path]:
    sources = [project_dir / "__main__.py"]
    for name in SOURCE_DIRS:
        for directory, subdirectories, files in os.walk(project_dir / name):
            subdirectories[:] = [d for d in subdirectories if d not in SKIP_DIRS]
            sources += [Path(directory) / f for f in files if f.endswith(".py")]
    return [path for path in sources if path.is_file()]


def used_subpackages(project_dir: Path = PROJECT_DIR) -> set[str]:
    used: set[str] = set()
    for path in project_sources(project_dir):
        try:
            used |= sdk_subpackages(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue  # a file the interpreter cannot import either: nothing to compile for it
    return used


def to_compile(site_packages: Path, used: set[str]) -> list[Path]:
    """Every .py under `site_packages`, but of pulumi_azure_native's subpackages outside `used` only
    their `__init__.py`."""
    chosen = []
    for directory, subdirectories, files in os.walk(site_packages):
        subdirectories[:] = [d for d in subdirectories if d != "__pycache__"]
        relative = Path(directory).relative_to(site_packages).parts
        unused_sdk = len(relative) >= 2 and relative[0] == SDK and relative[1] not in used
        for name in files:
            if not name.endswith(".py"):
                continue
            if unused_sdk and not (len(relative) == 2 and name == "__init__.py"):
                continue
            chosen.append(Path(directory) / name)
    return sorted(chosen)


def _compile(paths: list[str]) -> int:
    failed = 0
    for path in paths:
        try:
            py_compile.compile(path, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
        except (py_compile.PyCompileError, OSError):
            failed += 1  # as compileall: a module the interpreter cannot compile fails on import anyway
    return failed


def main() -> int:
    site_packages = Path(sysconfig.get_paths()["purelib"])
    # The project's own modules too (the planner, the components): every plan imports them, and
    # with PYTHONDONTWRITEBYTECODE nothing else would write their bytecode.
    files = [str(path) for path in to_compile(site_packages, used_subpackages())]
    files += [
        str(path) for path in project_sources() if path.name != "__main__.py" or path.parent != PROJECT_DIR
    ]
    workers = os.cpu_count() or 1
    chunks = [files[index::workers] for index in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        failed = sum(pool.map(_compile, chunks))
    print(
        f"bytecode: {len(files) - failed} of {len(files)} modules compiled in {site_packages} and the project",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
