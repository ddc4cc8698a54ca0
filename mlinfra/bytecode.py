"""A fresh clone's first plan, on both cores (issue 32, docs/benchmarks.md "First run").

Nothing is compiled at install: the first process that imports a module writes its bytecode. The
first plan of a fresh clone so compiles its ~1,600 modules itself, one after another, before it can
run. `warm_start` halves that: when the plan's own bytecode is missing, a second process compiles
the modules a plan imports (`plan-modules.txt`, in the order a plan imports them) from the last one
backwards, while the plan imports from the first one forwards; each writes a module's bytecode
atomically (`py_compile`, as the import system does), so whichever gets there first saves the
other the work. The plan waits for it before it exits, so nothing is left running.

`python -m mlinfra.bytecode --record` rewrites the list from a plan of the first stage (after a
dependency update; a stale list only costs speed, and tests/test_bytecode.py says when it is).
"""

import importlib.util
import json
import os
import py_compile
import subprocess
import sys
import sysconfig
from pathlib import Path

MANIFEST = Path(__file__).with_name("plan-modules.txt")
"""Installed modules a plan imports, in import order, relative to the venv's site-packages."""
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])


def manifest(path: Path | None = None) -> list[Path]:
    """The modules of the manifest at `path` (default `MANIFEST`) as files."""
    path = path or MANIFEST
    if not path.is_file():
        return []
    return [SITE_PACKAGES / line for line in path.read_text().splitlines() if line.strip()]


def _compiled(source: Path) -> bool:
    return Path(importlib.util.cache_from_source(str(source))).is_file()


def warm_start() -> subprocess.Popen | None:
    """Start compiling the plan's modules from the end when the last of them has no bytecode yet
    and this process may write bytecode; None when there is nothing to do."""
    files = manifest()
    if sys.dont_write_bytecode or not files or not files[-1].is_file() or _compiled(files[-1]):
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "mlinfra.bytecode", "--compile", str(MANIFEST)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish(process: subprocess.Popen | None) -> None:
    """Wait for the compiler `warm_start` started (it ends on its own when it meets compiled files)."""
    if process is not None:
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()


def compile_backwards(files: list[Path]) -> int:
    """Compile `files` from the last one, stopping at the first already compiled (the plan got
    there first). Returns how many it compiled."""
    count = 0
    for source in reversed(files):
        if not source.is_file():
            continue
        if _compiled(source):
            break
        try:
            py_compile.compile(str(source), doraise=True)
        except (py_compile.PyCompileError, OSError):
            continue  # the import system reports it, if a plan ever imports it
        count += 1
    return count


def record(project_dir: Path) -> list[str]:
    """The installed modules a plan of the first stage imports, in order, from a fresh process."""
    script = (  # what the interpreter loaded before (site's .pth files) is compiled already
        "import json, sys\n"
        "started = set(sys.modules)\n"
        "from mlinfra.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--format', 'json'])\n"
        "print(json.dumps([getattr(m, '__file__', None) for n, m in list(sys.modules.items()) if n not in started]))\n"
    )
    environment = {**os.environ, "MLINFRA_PLAN_CACHE": "off"}  # the program runs, importing what it needs
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=project_dir,
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    )
    files = [Path(f) for f in json.loads(result.stdout.splitlines()[-1]) if f and f.endswith(".py")]
    return [f.relative_to(SITE_PACKAGES).as_posix() for f in files if f.is_relative_to(SITE_PACKAGES)]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compile"] and len(sys.argv) == 3:
        compile_backwards(manifest(Path(sys.argv[2])))
    elif sys.argv[1:] == ["--record"]:
        modules = record(Path(__file__).resolve().parents[1])
        MANIFEST.write_text("\n".join(modules) + "\n")
        print(
            f"wrote {MANIFEST.relative_to(Path.cwd()) if MANIFEST.is_relative_to(Path.cwd()) else MANIFEST}: {len(modules)} modules"
        )
    else:
        raise SystemExit("usage: python -m mlinfra.bytecode --record | --compile MANIFEST")
