"""The package layout (issue 31, docs/layout.md): folders by concern, each saying what lives there,
none too big, imports pointing one way and never in a cycle. Read with `ast`, so every import
counts: at module level, inside functions (lazy) and under `TYPE_CHECKING`."""

import ast
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACKAGE = PROJECT_DIR / "mlinfra"
MAX_MODULES = 12
"""The issue's "no folder holds more than about 12 modules" (`__init__` and `__main__` aside)."""

LAYERS = {
    "facts": 0,
    "settings": 1,
    "config": 2,
    "stage": 3,
    "access": 3,
    "shared": 3,
}
"""The build side, lowest first: a module imports only from its own layer or lower ones."""
READERS = ("planner", "diff", "review", "estate", "doctor", "repository")
"""They read plans: they may use facts, settings and config, never the Pulumi components."""
COMPONENTS = ("stage", "access", "shared")


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PROJECT_DIR).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = modules()


def imports(name: str, path: Path, known: set[str] | dict[str, Path] = MODULES) -> set[str]:
    """The modules of `known` that `name` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package upwards
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            # `from mlinfra.doctor.azure import names` imports the module mlinfra.doctor.azure.names
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


GRAPH = {name: imports(name, path) for name, path in MODULES.items()}


def folder(module: str) -> str:
    """The top folder of the package a module is in ('' for mlinfra/*.py itself)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) else ""


def test_the_analysis_sees_imports_of_every_kind(tmp_path):
    """The checker itself: a lazy import inside a function, one under TYPE_CHECKING, a relative one
    and a `from package import module` all count, so a cycle cannot hide in any of them."""
    source = tmp_path / "b.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from p.q import c\n"
        "from . import d\n"
        "if TYPE_CHECKING:\n    from p.e import Thing\n"
        "def f():\n    import p.g\n"
    )
    known = {"p.q", "p.q.c", "p.d", "p.e", "p.g", "p.h"}
    assert imports("p.b", source, known) == {"p.q", "p.q.c", "p.d", "p.e", "p.g"}


def test_no_import_cycle():
    """Depth-first search over every import: the first cycle found is named in full."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(GRAPH[module]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[module] = 2
        path.pop()
        return None

    for module in sorted(GRAPH):
        if module not in state and (cycle := visit(module)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


@pytest.mark.parametrize("module", sorted(m for m in MODULES if folder(m) in LAYERS))
def test_the_build_side_imports_only_downwards(module):
    """facts <- settings <- config <- stage/access/shared: nothing imports a layer above its own."""
    layer = LAYERS[folder(module)]
    upwards = sorted(t for t in GRAPH[module] if LAYERS.get(folder(t), -1) > layer)
    assert not upwards, f"{module} imports a higher layer: {upwards}"
    readers = sorted(t for t in GRAPH[module] if folder(t) in READERS)
    assert not readers, f"{module} (the build side) imports a reader: {readers}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if folder(m) in READERS))
def test_readers_read_plans_not_components(module):
    """The planner, diff, review, estate verifier, doctor and the repository's generators read
    what a plan recorded; a component's internals are not their contract."""
    reached = sorted(t for t in GRAPH[module] if folder(t) in COMPONENTS)
    assert not reached, f"{module} imports Pulumi components: {reached}"


@pytest.mark.parametrize("directory", sorted({p.parent for p in PACKAGE.rglob("*.py")}))
def test_every_folder_says_what_lives_there(directory):
    init = directory / "__init__.py"
    assert init.is_file(), f"{directory.relative_to(PROJECT_DIR)} has no __init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert docstring and len(docstring) > 40, f"{init.relative_to(PROJECT_DIR)}: no docstring"


@pytest.mark.parametrize("directory", sorted({p.parent for p in PACKAGE.rglob("*.py")}))
def test_no_folder_is_too_big(directory):
    count = [p.name for p in directory.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(count) <= MAX_MODULES, f"{directory.relative_to(PROJECT_DIR)}: {len(count)} modules"


def test_the_programs_are_thin_composition_roots():
    """The Pulumi programs compose components; they define no resource themselves."""
    for program in (PROJECT_DIR / "__main__.py", PROJECT_DIR / "bootstrap" / "__main__.py"):
        tree = ast.parse(program.read_text(encoding="utf-8"))
        assert len(program.read_text(encoding="utf-8").splitlines()) < 120, program
        classes = [node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]
        assert not classes, f"{program.relative_to(PROJECT_DIR)} defines {classes}"


def test_the_old_top_level_packages_are_gone():
    """One import name: `components`, `bench` and `lint` moved into `mlinfra`; `planner` stays only
    as the alias of the command (`python -m planner` = `mlinfra`), with no code of its own."""
    left = [name for name in ("components", "bench", "lint") if (PROJECT_DIR / name).exists()]
    assert not left, f"old top-level packages still present: {left}"
    alias = PROJECT_DIR / "planner"
    assert sorted(p.name for p in alias.glob("*.py")) == ["__init__.py", "__main__.py"]
    assert "from mlinfra.cli import run" in (alias / "__main__.py").read_text()
