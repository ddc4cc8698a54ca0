"""The delivery files follow the stage catalog: `make workflows` output is checked in, and adding a
stage takes one catalog entry, one stack file and `make workflows` (docs/stages.md, "Adding a stage")."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlinfra.repository.delivery_files import BEGIN, regions, render, stacks_by_stage, stale_files
from tests.conftest import CATALOG, SHARED_STACKS, STACKS, copy_repository

ROOT = Path(__file__).resolve().parent.parent
SUITE_IN_COPY = [
    "tests/test_stack_files.py",
    "tests/test_naming.py",
    "tests/test_delivery_files.py",
    "tests/test_config_reference.py",
    "tests/test_permissions.py::test_the_identities_guide_holds_the_generated_tables",
    "tests/test_stages.py::test_shipped_stack_files_need_no_relaxation",
    "tests/test_stages.py::test_fails_when_the_stack_names_another_workload",
    "tests/test_stages.py::test_no_test_names_a_stage_unless_it_tests_that_stages_file",
    "tests/test_workflows.py::test_github_workflow_passes_every_check",
    "tests/test_workflows.py::test_azure_pipeline_passes_every_check",
    "tests/test_workflows.py::test_repository_uses_each_of_its_environments",
    "tests/test_workflows.py::test_repository_environment_is_documented",
]
"""What the scratch copy runs (a representative subset, to keep the suite fast): every stack-file
invariant and naming rule over the catalog, the delivery files' checks and lints, the generated
reference. `TEST_MLINFRA_STAGING_FULL_SUITE=1` runs the whole suite there instead. The suite's
switches are outside the `MLINFRA_` namespace the plan key covers (mlinfra/planner/plan_cache.py): the
copy's pytest finds the plans its `make workflows` stored."""


def test_checked_in_delivery_files_match_the_catalog():
    assert stale_files(ROOT) == [], "run `make workflows` and commit the result"


def test_every_catalog_stage_with_a_stack_file_is_deployed_in_catalog_order():
    order = [stack for _, stacks in stacks_by_stage(ROOT) for stack in stacks]
    # The shared stack (the registry the stages reference) deploys before every stage.
    assert order[: len(SHARED_STACKS)] == list(SHARED_STACKS)
    assert sorted(order[len(SHARED_STACKS) :]) == sorted(STACKS)
    positions = [
        list(CATALOG).index(stage)
        for stage, stacks in stacks_by_stage(ROOT)
        if stage in CATALOG
        for _ in stacks
    ]
    assert positions == sorted(positions)
    deploy = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())
    assert list(deploy["jobs"]) == [f"up-{stack}" for stack in order]


def test_fails_when_a_checked_in_file_disagrees_with_the_catalog(tmp_path):
    project = _copy(tmp_path)
    path = project / ".github/workflows/pull-request.yml"
    text = path.read_text()
    first = next(stack for _, stacks in stacks_by_stage(ROOT) for stack in stacks)
    path.write_text(text.replace(f"stack: [{first}", "stack: [other", 1))
    assert stale_files(project) == [".github/workflows/pull-request.yml"]


def test_fails_when_a_generated_region_lost_its_markers():
    with pytest.raises(ValueError, match="no generated region 'stacks'"):
        render("values: [a]\n", "stacks", ["values: [b]"])


def test_stacks_of_one_stage_deploy_side_by_side_after_the_previous_stage():
    stages = [("one", ["one", "a-one"]), ("two", ["two"])]
    from mlinfra.repository.delivery_files import _deploy_jobs, _pipeline_stages

    deploy = yaml.safe_load("\n".join(["jobs:", *_deploy_jobs(stages)]))["jobs"]
    assert "needs" not in deploy["up-a-one"] and deploy["up-two"]["needs"] == ["up-one", "up-a-one"]
    pipeline = yaml.safe_load("\n".join(["stages:", *_pipeline_stages(stages)]))["stages"]
    assert pipeline[2]["parameters"]["dependsOn"] == ["deploy_one", "deploy_a_one"]


def test_fails_when_a_stack_file_names_a_stage_outside_the_catalog(tmp_path):
    project = _copy(tmp_path)
    shutil.copy(project / f"Pulumi.{STACKS[0]}.yaml", project / "Pulumi.qa.yaml")
    with pytest.raises(ValueError, match=r"Pulumi\.qa\.yaml: the stack's stage is not in mlinfra:stages"):
        regions(project)


def test_markers_are_in_every_generated_file():
    for name, region in regions(ROOT):
        assert BEGIN.format(region=region) in (ROOT / name).read_text(), name


def _copy(tmp_path: Path) -> Path:
    """The repository in a scratch directory (works from a scratch copy too: no git needed)."""
    return copy_repository(tmp_path / "project")


def add_stage(project: Path, name: str, code: str, after: str, like: str) -> None:
    """What docs/stages.md, "Adding a stage" says, done to a copy: one catalog entry, one stack file,
    `make workflows`."""
    path = project / "Pulumi.yaml"
    text = path.read_text()
    anchor = f"      - name: {after}\n"
    start = text.index(anchor)
    end = text.index("      - name:", start + len(anchor))
    entry = (
        f"      - name: {name}\n        code: {code}\n        production: true\n        dataScience: false\n"
    )
    path.write_text(text[:end] + entry + text[end:])
    # Its own settings where the copied file names its stage (runner group, comments, placeholders).
    stack = (project / f"Pulumi.{like}.yaml").read_text().replace(like, name)
    (project / f"Pulumi.{name}.yaml").write_text(f"# Stage {name}: production-like rehearsal.\n{stack}")
    subprocess.run(
        [sys.executable, "-m", "mlinfra.repository.delivery_files", "--write"], cwd=project, check=True
    )


@pytest.mark.long
@pytest.mark.skipif(os.environ.get("TEST_MLINFRA_IN_SCRATCH") == "1", reason="already in the scratch copy")
def test_adding_staging_takes_one_entry_one_stack_file_and_make_workflows(tmp_path):
    production = [name for name, stage in CATALOG.items() if stage.production]
    if len(production) < 2:
        pytest.skip("needs two production stages to insert one between")
    project = _copy(tmp_path)
    add_stage(project, "staging", "stg", after=production[-2], like=production[-2])
    # The whole suite (as make test runs it) on request; by default the catalog-driven modules.
    suite = ["-n", "auto"] if os.environ.get("TEST_MLINFRA_STAGING_FULL_SUITE") == "1" else SUITE_IN_COPY
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *suite],
        cwd=project,
        env={**os.environ, "TEST_MLINFRA_IN_SCRATCH": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    deploy = yaml.safe_load((project / ".github/workflows/deploy.yml").read_text())["jobs"]
    assert deploy["up-staging"]["needs"] == [f"up-{production[-2]}"]
    assert deploy[f"up-{production[-1]}"]["needs"] == ["up-staging"]
