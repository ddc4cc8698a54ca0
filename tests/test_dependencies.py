"""One dependency path: pyproject.toml pins, uv.lock locks with hashes, `make` and the Pulumi CLI
sync the same ./venv from it, and CI, Dependabot and every Pulumi project use that path."""

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlinfra.lint import lockfile
from mlinfra.lint.workflows import load, uv_setup_problems

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = lockfile.load(ROOT / "pyproject.toml")
LOCK = lockfile.load(ROOT / "uv.lock")
SKIP_DIRS = {".git", "venv", ".tools", "node_modules", ".pytest_cache"}


def _repository_files(name: str) -> list[Path]:
    found = []
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in SKIP_DIRS]  # never walk the venv
        found += [Path(directory) / name] if name in files else []
    return sorted(found)


def _uv() -> str:
    """The uv `make` uses: the private copy in .tools/, else the one on PATH."""
    private = ROOT / ".tools" / "bin" / "uv"
    found = str(private) if private.is_file() else shutil.which("uv")
    if found is None:
        pytest.skip("no uv here: run the tests through `make test`, which installs it")
    return found


# --- the lock -----------------------------------------------------------------------------------


def test_lock_carries_a_sha256_for_every_distribution():
    assert lockfile.hash_problems(LOCK) == []
    assert len(lockfile.locked_versions(LOCK)) > 40  # the whole tree, not just the direct pins


def test_every_requirement_is_an_exact_pin_at_the_locked_version():
    assert lockfile.pin_problems(PYPROJECT, LOCK) == []


def test_lock_is_up_to_date_with_pyproject():
    """`uv lock --check` fails when pyproject.toml changed without a re-lock (what `uv sync
    --locked` in `make` refuses too). Offline: the check needs only the two files."""
    result = subprocess.run(
        [_uv(), "lock", "--check", "--offline", "--project", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_fails_when_pyproject_moves_a_pin_without_relocking(tmp_path):
    shutil.copy(ROOT / "uv.lock", tmp_path / "uv.lock")
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"pydantic==2.14.4"' in text
    (tmp_path / "pyproject.toml").write_text(text.replace('"pydantic==2.14.4"', '"pydantic==2.14.3"'))
    result = subprocess.run(
        [_uv(), "lock", "--check", "--offline", "--project", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0


def test_fails_when_a_pin_is_not_the_locked_version():
    pyproject = copy.deepcopy(PYPROJECT)
    pyproject["project"]["dependencies"] = ["pydantic==2.14.3"]
    pyproject["dependency-groups"] = {}
    assert lockfile.pin_problems(pyproject, LOCK) == [
        "project.dependencies: `pydantic==2.14.3`, but uv.lock has pydantic 2.14.4; run `make lock`"
    ]


def test_fails_when_a_requirement_is_a_range():
    pyproject = {"project": {"dependencies": ["pydantic>=2"]}, "dependency-groups": {"dev": ["ruff"]}}
    problems = lockfile.pin_problems(pyproject, LOCK)
    assert problems == [
        "project.dependencies: `pydantic>=2` is not an exact pin (name==version)",
        "dependency-groups.dev: `ruff` is not an exact pin (name==version)",
    ]


def test_fails_when_a_distribution_has_no_hash():
    lock = copy.deepcopy(LOCK)
    package = next(p for p in lock["package"] if p["name"] == "pyyaml")
    del package["wheels"][0]["hash"]
    problems = lockfile.hash_problems(lock)
    assert len(problems) == 1 and problems[0].startswith("pyyaml 6.0.4: ")


def test_no_requirements_file_competes_with_the_lock():
    """uv.lock is the one source of truth: the policy pack and any later project use the root
    venv (see below) instead of a requirements.txt of their own."""
    assert [p.relative_to(ROOT) for p in _repository_files("requirements*.txt")] == []


def test_pulumi_policy_is_a_runtime_dependency():
    # The policy pack runs in the same venv as the program (`pulumi preview --policy-pack policy`).
    assert lockfile.pinned_versions({"project": PYPROJECT["project"]})["pulumi-policy"] == "1.21.0"


# --- uv itself ----------------------------------------------------------------------------------


def test_uv_is_pinned_in_its_own_group_and_never_installed():
    """setup-uv reads the uv version from a `uv==` requirement in pyproject.toml when
    `tool.uv.required-version` is absent (astral-sh/setup-uv v10.0.1 src/version/file-parser.ts,
    src/version/requirements-file.ts); the group is not a default group, so `uv sync` (make, and
    the Pulumi CLI) leaves it out of the venv."""
    assert PYPROJECT["dependency-groups"][lockfile.UV_GROUP] == [f"uv=={lockfile.uv_version(LOCK)}"]
    assert "required-version" not in PYPROJECT["tool"]["uv"]
    assert lockfile.UV_GROUP not in PYPROJECT["tool"]["uv"]["default-groups"]
    venv_uv = Path(sys.executable).parent / "uv"
    assert not venv_uv.exists(), f"{venv_uv}: uv is installed into the venv"


def test_uv_requirement_lists_every_locked_hash_of_uv():
    package = next(p for p in LOCK["package"] if p["name"] == "uv")
    requirement = lockfile.uv_requirement(LOCK)
    assert requirement.startswith(f"uv=={package['version']} --hash=sha256:")
    hashes = re.findall(r"--hash=(sha256:[0-9a-f]{64})", requirement)
    assert len(hashes) == len(package["wheels"]) + (1 if "sdist" in package else 0)
    # pip picks the wheel of the platform it runs on, so Linux and macOS must both be there.
    names = " ".join(wheel["url"] for wheel in package["wheels"])
    assert "manylinux" in names and "macosx" in names


def test_makefile_installs_the_locked_uv_and_syncs_the_venv_the_cli_uses():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^VENV\s+\?= venv$", makefile, re.MULTILINE)
    assert "export UV_PROJECT_ENVIRONMENT := $(VENV)" in makefile
    assert "sync --locked" in makefile
    # The venv's interpreter can differ from the one that runs pip for uv (Debian's has no pip).
    assert re.search(r"^VENV_PYTHON \?= \$\(PYTHON\)$", makefile, re.MULTILINE)
    assert (
        "--python $(PYTHON)" not in makefile and makefile.count("--python $(VENV_PYTHON)") == 3
    )  # install, lock, doctor's group
    # Bytecode is written on first import, even where PYTHONDONTWRITEBYTECODE is set
    # (tests/test_bench.py), never compiled ahead for every installed module.
    assert "unexport PYTHONDONTWRITEBYTECODE" in makefile
    assert "--require-hashes" in makefile and "mlinfra.lint.lockfile uv-requirement" in makefile


# --- every Pulumi project uses the same path ----------------------------------------------------


def _project_files() -> list[Path]:
    return _repository_files("Pulumi.yaml") + _repository_files("PulumiPolicy.yaml")


def test_the_program_is_a_pulumi_project():
    assert ROOT / "Pulumi.yaml" in _project_files()


@pytest.mark.parametrize("path", _project_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pulumi_project_uses_the_uv_toolchain_and_the_root_venv(path):
    """The Pulumi CLI's uv toolchain runs `uv sync` / `uv run` with UV_PROJECT_ENVIRONMENT set to
    the `virtualenv` option, resolved against the project's directory, and uv finds the nearest
    uv.lock above it (pulumi/pulumi sdk/python/toolchain/uv.go, toolchain.go; Pulumi project file
    reference, runtime options `toolchain` and `virtualenv`). So a project in a subfolder (policy
    pack, bootstrap) says `virtualenv: ../venv` and shares the root lock and venv."""
    runtime = yaml.safe_load(path.read_text(encoding="utf-8"))["runtime"]
    assert runtime["name"] == "python"
    options = runtime.get("options") or {}
    assert options.get("toolchain") == "uv", f"{path}: runtime.options.toolchain must be uv"
    assert (path.parent / str(options.get("virtualenv"))).resolve() == (ROOT / "venv").resolve()


# --- CI -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted((ROOT / ".github" / "workflows").glob("*.yml")), ids=lambda p: p.name)
def test_workflow_sets_up_the_locked_uv_before_make_and_pulumi(path):
    assert uv_setup_problems(load(path)) == []


def test_fails_when_a_job_runs_make_before_setting_up_uv():
    doc = {"jobs": {"test": {"steps": [{"run": "make test"}]}}}
    assert uv_setup_problems(doc) == ["job test step 1 runs make before astral-sh/setup-uv has set up uv"]


def test_fails_when_the_uv_cache_is_not_keyed_on_the_lock():
    setup = {"uses": "astral-sh/setup-uv@" + "0" * 40, "with": {"version-file": "pyproject.toml"}}
    doc = {"jobs": {"test": {"steps": [setup, {"run": "make test"}]}}}
    assert uv_setup_problems(doc) == [
        "job test step 1: setup-uv's cache must be keyed on uv.lock (cache-dependency-glob)"
    ]


def test_ci_entry_point_lints_then_tests():
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.strip() for line in script.splitlines() if line.strip().startswith("make")]
    # Lint, then the suite; what follows (the bench's smoke, the estate check) runs after them.
    assert commands[:2] == ["make lint", "make test"] and "make bench-smoke" in commands


def test_azure_pipelines_take_the_make_path_with_a_cache_keyed_on_the_lock():
    pipeline = load(ROOT / "azure-pipelines.yml")
    steps = pipeline["stages"][0]["jobs"][0]["steps"]
    cache = next(step for step in steps if step.get("task") == "Cache@2")
    assert "uv.lock" in cache["inputs"]["key"] and cache["inputs"]["path"] == "$(UV_CACHE_DIR)"
    scripts = [step["script"] for step in steps if "script" in step]
    assert scripts[:2] == ["make lint", "make test"]
    # The deploy stage's CLI runs uv itself: make's private copy goes on PATH.
    template = (ROOT / "templates" / "pulumi-up.yml").read_text(encoding="utf-8")
    assert (
        "make deps" in template
        and "task.prependpath]$(System.DefaultWorkingDirectory)/.tools/bin" in template
    )


def test_dependabot_updates_the_lock_and_the_action_pins():
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert ecosystems == {("uv", "/"), ("github-actions", "/")}


def test_dependabot_waits_a_cooldown_before_proposing_a_version():
    """SC-5: every ecosystem has `cooldown.default-days` of at least 7 (GitHub Docs, "Dependabot
    options reference", cooldown: version updates wait that many days after a release)."""
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text(encoding="utf-8"))
    assert all(update.get("cooldown", {}).get("default-days", 0) >= 7 for update in config["updates"])


def test_dependabot_config_passes_its_schema():
    """check-jsonschema's built-in copy of the Dependabot v2 schema (no network); its
    package-ecosystem enum lists `uv`."""
    tool = Path(sys.executable).parent / "check-jsonschema"
    command = [str(tool) if tool.is_file() else "check-jsonschema", "--builtin-schema", "vendor.dependabot"]
    result = subprocess.run(
        [*command, str(ROOT / ".github" / "dependabot.yml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- make lock ----------------------------------------------------------------------------------


def test_upgrade_opens_each_pin_to_its_major_version():
    assert lockfile._major_range("pulumi==3.272.0") == "pulumi>=3.272.0,<4"
    assert lockfile._major_range("ruff==0.17.6") == "ruff>=0.17.6,<1"


def test_upgrade_writes_back_the_versions_the_resolver_chose(tmp_path):
    """`make lock` with a stand-in uv: the scratch resolution (pins opened to their major range)
    returns newer pulumi and ruff; both pins move, .pulumi-version follows pulumi (PU-10), the
    other pins stay, and the repository is re-locked."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "0"\ndependencies = ["pulumi==3.272.0", "PyYAML==6.0.4"]\n'
        '[dependency-groups]\ndev = ["ruff==0.17.6"]\n',
        encoding="utf-8",
    )
    (tmp_path / "uv.lock").write_text("version = 1\n", encoding="utf-8")
    (tmp_path / ".pulumi-version").write_text("3.272.0\n", encoding="utf-8")
    calls = tmp_path / "calls.txt"
    fake = tmp_path / "uv"
    fake.write_text(
        "#!/usr/bin/env python3\n"
        "import sys, pathlib\n"
        f"pathlib.Path({str(calls)!r}).open('a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "project = pathlib.Path(sys.argv[sys.argv.index('--project') + 1])\n"
        f"if project != pathlib.Path({str(tmp_path)!r}):\n"
        "    assert '\"pulumi>=3.272.0,<4\"' in (project / 'pyproject.toml').read_text()\n"
        "    rows = [('pulumi', '3.280.1'), ('pyyaml', '6.0.4'), ('ruff', '0.18.0')]\n"
        "    (project / 'uv.lock').write_text(''.join(\n"
        '        f\'[[package]]\\nname = "{n}"\\nversion = "{v}"\\nsource = {{ registry = "i" }}\\n\'\n'
        "        for n, v in rows))\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    moved = lockfile.upgrade(root=tmp_path, uv=str(fake))
    assert moved == {"pulumi": ("3.272.0", "3.280.1"), "ruff": ("0.17.6", "0.18.0")}
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert '"pulumi==3.280.1", "PyYAML==6.0.4"' in text and '"ruff==0.18.0"' in text
    assert (tmp_path / ".pulumi-version").read_text(encoding="utf-8") == "3.280.1\n"
    assert calls.read_text().splitlines()[-1] == f"lock --upgrade --project {tmp_path}"
