"""mlinfra/bytecode.py: a fresh clone's first plan compiles its modules on both cores (issue 32)."""

import importlib.util
import sys
from pathlib import Path

import pytest

from mlinfra import bytecode


def test_the_manifest_names_installed_modules():
    """A dependency update can drop a module; rerun `python -m mlinfra.bytecode --record` then."""
    files = bytecode.manifest()
    assert len(files) > 500
    missing = [str(f.relative_to(bytecode.SITE_PACKAGES)) for f in files if not f.is_file()]
    assert missing == [], "stale plan-modules.txt: run venv/bin/python -m mlinfra.bytecode --record"


@pytest.mark.long
def test_the_manifest_covers_what_a_plan_imports():
    """Most of what a plan imports today is listed (a stale list costs speed only, never a plan)."""
    listed = set(bytecode.MANIFEST.read_text().split())
    imported = bytecode.record(Path(__file__).resolve().parent.parent)
    covered = len(set(imported) & listed) / len(imported)
    assert covered >= 0.9, (
        f"{covered:.0%} of a plan's modules listed: run python -m mlinfra.bytecode --record"
    )


def _sources(tmp_path: Path, count: int) -> list[Path]:
    files = []
    for index in range(count):
        source = tmp_path / f"m{index}.py"
        source.write_text(f"VALUE = {index}\n")
        files.append(source)
    return files


def _compiled(source: Path) -> bool:
    return Path(importlib.util.cache_from_source(str(source))).is_file()


def test_the_compiler_works_backwards_and_stops_where_the_plan_got_to(tmp_path):
    files = _sources(tmp_path, 6)
    import py_compile

    py_compile.compile(str(files[2]))  # the plan, importing from the front, has reached m2
    assert bytecode.compile_backwards(files) == 3
    assert [_compiled(f) for f in files] == [False, False, True, True, True, True]


def test_a_module_that_does_not_compile_is_left_to_the_import_system(tmp_path):
    files = _sources(tmp_path, 3)
    files[1].write_text("def broken(:\n")
    assert bytecode.compile_backwards(files) == 2
    assert not _compiled(files[1])


def test_no_second_process_where_bytecode_may_not_be_written(monkeypatch, tmp_path):
    """PYTHONDONTWRITEBYTECODE (as on the CI machines outside make): nothing would be kept."""
    files = _sources(tmp_path, 2)
    monkeypatch.setattr(bytecode, "manifest", lambda path=None: files)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert bytecode.warm_start() is None


def test_no_second_process_once_the_bytecode_is_there(monkeypatch, tmp_path):
    files = _sources(tmp_path, 2)
    import py_compile

    py_compile.compile(str(files[-1]))
    monkeypatch.setattr(bytecode, "manifest", lambda path=None: files)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    assert bytecode.warm_start() is None


def test_a_first_plan_starts_the_compiler_and_waits_for_it(monkeypatch, tmp_path):
    """The second process compiles the manifest's modules (absolute paths stay as they are)."""
    files = _sources(tmp_path, 4)
    listing = tmp_path / "plan-modules.txt"
    listing.write_text("\n".join(str(f) for f in files) + "\n")
    monkeypatch.setattr(bytecode, "MANIFEST", listing)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    process = bytecode.warm_start()
    assert process is not None
    bytecode.finish(process)
    assert process.returncode == 0
    assert all(_compiled(f) for f in files)
