"""The CI files: this repository's GitHub workflows and Azure pipeline, and the ML project's
examples, pass every check of `mlinfra.lint.workflows`; and each check catches what it is for, on a small
bad copy written to tmp_path that is otherwise clean, so only that check fires."""

import re
import tomllib
from pathlib import Path

import pytest

from mlinfra.config.stage_catalog import load_catalog
from mlinfra.lint.workflows import (
    PINNED_ACTIONS,
    PINS_FILE,
    azure_pipeline_problems,
    environment_names,
    github_workflow_problems,
    load,
    policy_pack_problems,
    read_pins,
    service_connection_problems,
)
from mlinfra.planner.stackfile import available_stacks

ROOT = Path(__file__).resolve().parent.parent
ML_PROJECT = ROOT / "examples" / "ml-project"

STACKS = available_stacks(ROOT)
"""The stack files that exist; the delivery files are generated from them (`make workflows`)."""
REPO_ENVIRONMENTS = frozenset({"infra-preview", *(f"infra-{stack}" for stack in STACKS)})
"""This repository's own environments (GitHub and Azure DevOps): one per stack plus the preview
one, set up by hand as docs/planner.md lists them."""
STAGE_ENVIRONMENTS = frozenset({"dev", "preprod", "prod"})
"""The environments the ML project example's files name: mlinfra creates one per stack, named
exactly like it (GH-1). The example is hand-written for the shipped catalog."""

GITHUB_WORKFLOWS = {
    **{path: REPO_ENVIRONMENTS for path in sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))},
    **{path: STAGE_ENVIRONMENTS for path in sorted((ML_PROJECT / ".github" / "workflows").glob("*.y*ml"))},
}
AZURE_PIPELINES = {
    ROOT / "azure-pipelines.yml": REPO_ENVIRONMENTS,
    ROOT / "azure-pipelines-drift.yml": REPO_ENVIRONMENTS,
    **{path: REPO_ENVIRONMENTS for path in sorted((ROOT / "templates").glob("*.y*ml"))},
    ML_PROJECT / "azure-pipelines.yml": STAGE_ENVIRONMENTS,
}
REPO_CI_FILES = [path for path in [*GITHUB_WORKFLOWS, *AZURE_PIPELINES] if ML_PROJECT not in path.parents]

CHECKOUT = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
CLEAN_WORKFLOW = f"""\
name: fixture
on:
  pull_request:
    branches: [main]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - uses: astral-sh/setup-uv@20cfd1bf945f4377ade1205e4dbc17946fc9a30d # v10.0.1
        with:
          version-file: pyproject.toml
          enable-cache: true
          cache-dependency-glob: uv.lock
      - run: make test
"""


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _write_workflow(tmp_path: Path, text: str, name: str = "fixture.yml") -> Path:
    """A workflow file in a throwaway repository (actionlint resolves local workflows from `.git`)."""
    (tmp_path / ".git").mkdir(exist_ok=True)
    path = tmp_path / ".github" / "workflows" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _copy_with(tmp_path: Path, source: Path, old: str, new: str) -> Path:
    """A copy of a real CI file with `old` replaced by `new` once (which must be there, so the
    fixture really differs), in the same place relative to its repository."""
    text = source.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {_name(source)}: update the fixture"
    changed = text.replace(old, new, 1)
    if source in GITHUB_WORKFLOWS:
        return _write_workflow(tmp_path, changed, source.name)
    path = tmp_path / source.name
    path.write_text(changed, encoding="utf-8")
    return path


# --- the real files -----------------------------------------------------------------------------


def test_every_expected_ci_file_exists():
    expected = [
        ".github/workflows/pull-request.yml",
        ".github/workflows/deploy.yml",
        ".github/workflows/pulumi-up.yml",
        "azure-pipelines.yml",
        "examples/ml-project/.github/workflows/ml-delivery.yml",
        "examples/ml-project/azure-pipelines.yml",
    ]
    found = {_name(path) for path in [*GITHUB_WORKFLOWS, *AZURE_PIPELINES]}
    assert set(expected) <= found


@pytest.mark.parametrize("path", GITHUB_WORKFLOWS, ids=_name)
def test_github_workflow_passes_every_check(path):
    assert github_workflow_problems(path, GITHUB_WORKFLOWS[path]) == {}


@pytest.mark.parametrize("path", AZURE_PIPELINES, ids=_name)
def test_azure_pipeline_passes_every_check(path):
    assert azure_pipeline_problems(path, AZURE_PIPELINES[path]) == {}


def test_ml_example_environments_are_stacks_of_the_catalog():
    catalog = {stage.name for stage in load_catalog(ROOT / "Pulumi.yaml")}
    assert catalog >= STAGE_ENVIRONMENTS


def test_ml_examples_use_every_stage_environment():
    for path in [
        ML_PROJECT / ".github" / "workflows" / "ml-delivery.yml",
        ML_PROJECT / "azure-pipelines.yml",
    ]:
        assert environment_names(load(path)) == STAGE_ENVIRONMENTS, _name(path)


def test_ml_pipeline_signs_in_through_its_stages_service_connection():
    doc = load(ML_PROJECT / "azure-pipelines.yml")
    assert service_connection_problems(doc, "spn-aml-workspace-{environment}") == []


def test_repository_uses_each_of_its_environments():
    used = set().union(*(environment_names(load(path)) for path in REPO_CI_FILES))
    assert used == REPO_ENVIRONMENTS


@pytest.mark.parametrize("environment", sorted(REPO_ENVIRONMENTS))
def test_repository_environment_is_documented(environment):
    # GH-1: an environment the delivery guide does not list is one nobody will set up and protect.
    guide = (ROOT / "docs" / "planner.md").read_text(encoding="utf-8")
    listed = re.search(rf"(?<![\w-]){re.escape(environment)}(?![\w-])", guide)
    # A stack added later is covered by the guide's rule "infra-<stack> for every stack file".
    assert listed or (environment.startswith("infra-") and "`infra-<stack>`" in guide), (
        f"docs/planner.md does not list `{environment}`"
    )


def test_pulumi_cli_version_matches_the_sdk():
    """PU-10: the CLI the workflows install (.pulumi-version) is the version of the SDK pinned in
    pyproject.toml and locked in uv.lock."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    sdk = next(
        (r.split("==", 1)[1] for r in pyproject["project"]["dependencies"] if r.startswith("pulumi==")), None
    )
    assert sdk is not None
    assert (ROOT / ".pulumi-version").read_text(encoding="utf-8").strip() == sdk


PINS = {
    "actions/checkout": ("3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "actions/setup-python": ("5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
    "actions/upload-artifact": ("bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
    "actions/github-script": ("ed597411d8f924073f98dfc5c65a23a2325f34cd", "v8.0.0"),
    "pulumi/actions": ("8e5e406f4007fca908480587cb9893c07090f58d", "v7.0.0"),
    "azure/login": ("f5d393ae46f8fde4be8b75f32e3fc50e654ad0ca", "v3.0.1"),
    "actions/create-github-app-token": ("1b10c78c7865c340bc4f6099eb2f838309f1e8c3", "v3.1.1"),
    "astral-sh/setup-uv": ("20cfd1bf945f4377ade1205e4dbc17946fc9a30d", "v10.0.1"),
}
"""mlinfra/lint/action-pins.md, copied by hand: a typo in either place fails (GH-9)."""


def test_pinned_actions_match_the_pins_file():
    assert PINS_FILE.resolve().parent == (ROOT / "mlinfra" / "lint").resolve()  # inside the repository
    assert dict(PINNED_ACTIONS) == PINS


def test_fails_when_the_pins_file_has_no_pin(tmp_path):
    path = tmp_path / "action-pins.md"
    path.write_text("| action | tag | commit SHA |\n|---|---|---|\n| actions/checkout | v7 | abc |\n")
    with pytest.raises(ValueError, match=re.escape("no `| owner/repo")):
        read_pins(path)


def test_fails_when_the_pins_file_lists_an_action_twice(tmp_path):
    row = "| actions/checkout | v7.0.1 | 3d3c42e5aac5ba805825da76410c181273ba90b1 | 2026-07-17 |\n"
    path = tmp_path / "action-pins.md"
    path.write_text(row + row.replace("actions/checkout", "Actions/Checkout"))
    with pytest.raises(ValueError, match="listed twice"):
        read_pins(path)


# --- each check catches its case ----------------------------------------------------------------


def test_clean_fixture_passes_every_check(tmp_path):
    assert github_workflow_problems(_write_workflow(tmp_path, CLEAN_WORKFLOW), STAGE_ENVIRONMENTS) == {}


def test_fails_when_an_action_is_pinned_by_tag(tmp_path):
    path = _write_workflow(tmp_path, CLEAN_WORKFLOW.replace(CHECKOUT, "actions/checkout@v4"))
    problems = github_workflow_problems(path, STAGE_ENVIRONMENTS)
    assert "actions/checkout@v4" in problems["unpinned_actions"][0]
    # actionlint may add that v4 runs on the retired node20 runtime; nothing else fires.
    assert set(problems) <= {"unpinned_actions", "actionlint"}


def test_fails_when_an_action_is_pinned_to_a_commit_not_in_the_table(tmp_path):
    other = CHECKOUT.replace("3d3c42e5aac5ba805825da76410c181273ba90b1", "0" * 40)
    path = _write_workflow(tmp_path, CLEAN_WORKFLOW.replace(CHECKOUT, other))
    assert set(github_workflow_problems(path, STAGE_ENVIRONMENTS)) == {"unapproved_actions"}


def test_fails_when_a_pin_has_the_wrong_tag_comment(tmp_path):
    path = _write_workflow(tmp_path, CLEAN_WORKFLOW.replace("# v7.0.1", "# v4"))
    assert set(github_workflow_problems(path, STAGE_ENVIRONMENTS)) == {"pin_comments"}


def test_fails_when_top_level_permissions_are_write_all(tmp_path):
    path = _write_workflow(
        tmp_path, CLEAN_WORKFLOW.replace("permissions:\n  contents: read", "permissions: write-all")
    )
    problems = github_workflow_problems(path, STAGE_ENVIRONMENTS)
    assert set(problems) == {"permissions"}
    assert "write-all" in problems["permissions"][0]


def test_fails_when_a_job_that_does_not_sign_in_gets_an_oidc_token(tmp_path):
    text = CLEAN_WORKFLOW.replace(
        "    runs-on:", "    permissions:\n      id-token: write\n    runs-on:"
    ).replace("pull_request:\n    branches: [main]", "push:\n    branches: [main]")
    problems = github_workflow_problems(_write_workflow(tmp_path, text), STAGE_ENVIRONMENTS)
    assert set(problems) == {"permissions"}
    assert "id-token" in problems["permissions"][0]


def test_fails_when_the_preview_job_cannot_comment(tmp_path):
    path = _copy_with(
        tmp_path,
        ROOT / ".github/workflows/pull-request.yml",
        "      pull-requests: write # pulumi/actions comments the preview on the PR (T-49)\n",
        "",
    )
    problems = github_workflow_problems(path, REPO_ENVIRONMENTS)
    assert set(problems) == {"permissions"}
    assert "job preview" in problems["permissions"][0] and "T-49" in problems["permissions"][0]


def test_fails_when_the_preview_job_has_no_fork_guard(tmp_path):
    path = _copy_with(
        tmp_path,
        ROOT / ".github/workflows/pull-request.yml",
        "    needs: test\n    # Forks get no secrets and no OIDC token: skip, don't fail, never pull_request_target (GH-11).\n"
        "    if: github.event.pull_request.head.repo.full_name == github.repository\n",
        "    needs: test\n",
    )
    problems = github_workflow_problems(path, REPO_ENVIRONMENTS)
    assert set(problems) == {"fork_guard"}
    assert "job preview" in problems["fork_guard"][0]


def test_fails_when_the_fork_guard_can_be_bypassed(tmp_path):
    guard = "    if: github.event.pull_request.head.repo.full_name == github.repository\n    runs-on"
    bypassable = guard.replace("repository\n", "repository || true\n")
    path = _copy_with(tmp_path, ROOT / ".github/workflows/pull-request.yml", guard, bypassable)
    assert set(github_workflow_problems(path, REPO_ENVIRONMENTS)) == {"fork_guard"}


def test_fails_when_a_workflow_runs_on_pull_request_target(tmp_path):
    path = _write_workflow(tmp_path, CLEAN_WORKFLOW.replace("  pull_request:\n", "  pull_request_target:\n"))
    problems = github_workflow_problems(path, STAGE_ENVIRONMENTS)
    assert set(problems) == {"fork_guard"}
    assert "pull_request_target" in problems["fork_guard"][0]


def test_fails_when_a_pull_request_title_is_interpolated_in_run(tmp_path):
    text = CLEAN_WORKFLOW.replace("run: make test", 'run: echo "${{ github.event.pull_request.title }}"')
    path = _write_workflow(tmp_path, text)
    problems = github_workflow_problems(path, STAGE_ENVIRONMENTS)
    # actionlint flags untrusted input in scripts too: two independent checks agree.
    assert set(problems) == {"injection", "actionlint"}
    assert "github.event.pull_request.title" in problems["injection"][0]


def test_fails_when_checkout_keeps_its_credentials(tmp_path):
    path = _write_workflow(
        tmp_path, CLEAN_WORKFLOW.replace("persist-credentials: false", "persist-credentials: true")
    )
    assert set(github_workflow_problems(path, STAGE_ENVIRONMENTS)) == {"checkout"}


def test_fails_when_an_ml_environment_is_misspelt(tmp_path):
    path = _copy_with(
        tmp_path,
        ML_PROJECT / ".github/workflows/ml-delivery.yml",
        "environment: prod\n",
        "environment: Prod\n",
    )
    problems = github_workflow_problems(path, STAGE_ENVIRONMENTS)
    assert set(problems) == {"environments"}
    assert "`Prod`" in problems["environments"][0] and "`prod`" in problems["environments"][0]


def test_fails_when_an_ml_pipeline_environment_is_misspelt(tmp_path):
    path = _copy_with(
        tmp_path, ML_PROJECT / "azure-pipelines.yml", "environment: prod\n", "environment: production\n"
    )
    problems = azure_pipeline_problems(path, STAGE_ENVIRONMENTS)
    assert set(problems) == {"environments"}
    assert "`production`" in problems["environments"][0]


def test_fails_when_the_reusable_workflow_gets_an_unknown_environment(tmp_path):
    _copy_with(tmp_path, ROOT / ".github/workflows/pulumi-up.yml", "name: pulumi-up", "name: pulumi-up")
    path = _copy_with(
        tmp_path,
        ROOT / ".github/workflows/deploy.yml",
        f"environment: infra-{STACKS[-1]}\n",
        f"environment: infra-{STACKS[-1]}x\n",
    )
    problems = github_workflow_problems(path, REPO_ENVIRONMENTS)
    assert set(problems) == {"environments"}
    assert f"job up-{STACKS[-1]}" in problems["environments"][0]


def test_fails_when_the_ml_pipeline_signs_in_with_another_stages_connection(tmp_path):
    path = _copy_with(
        tmp_path, ML_PROJECT / "azure-pipelines.yml", "spn-aml-workspace-prod", "spn-aml-workspace-dev"
    )
    problems = service_connection_problems(load(path), "spn-aml-workspace-{environment}")
    assert len(problems) == 1 and "deployment release" in problems[0]


def test_fails_when_pulumi_up_is_not_serialised_per_stack(tmp_path):
    path = _copy_with(
        tmp_path,
        ROOT / ".github/workflows/pulumi-up.yml",
        "    concurrency:\n      group: pulumi-${{ inputs.stack }}\n      cancel-in-progress: false\n",
        "",
    )
    problems = github_workflow_problems(path, REPO_ENVIRONMENTS)
    assert set(problems) == {"concurrency"}


def test_fails_when_a_preview_may_print_stack_outputs(tmp_path):
    path = _copy_with(
        tmp_path,
        ROOT / ".github/workflows/pull-request.yml",
        "suppress-outputs: true",
        "suppress-outputs: false",
    )
    problems = github_workflow_problems(path, REPO_ENVIRONMENTS)
    assert set(problems) == {"pulumi_action"}
    assert "suppress-outputs" in problems["pulumi_action"][0]


def test_fails_when_a_workflow_breaks_the_schema(tmp_path):
    path = _write_workflow(
        tmp_path, CLEAN_WORKFLOW.replace("    runs-on: ubuntu-latest\n", "    runs_on: ubuntu-latest\n")
    )
    problems = github_workflow_problems(path, STAGE_ENVIRONMENTS)
    # The schema and actionlint both know a job needs `runs-on`.
    assert set(problems) == {"schema", "actionlint"}


def test_fails_when_actionlint_finds_an_undefined_matrix_value(tmp_path):
    text = CLEAN_WORKFLOW.replace(
        "    runs-on:", "    strategy:\n      matrix:\n        stack: [dev]\n    runs-on:"
    )
    path = _write_workflow(tmp_path, text.replace("run: make test", "run: echo ${{ matrix.stak }}"))
    problems = github_workflow_problems(path, STAGE_ENVIRONMENTS)
    assert set(problems) == {"actionlint"}
    assert "stak" in problems["actionlint"][0]


def test_fails_when_shellcheck_finds_a_script_bug(tmp_path):
    path = _write_workflow(
        tmp_path, CLEAN_WORKFLOW.replace("run: make test", "run: cat $RUNNER_TEMP/*.log | grep error")
    )
    problems = github_workflow_problems(path, STAGE_ENVIRONMENTS)
    assert set(problems) == {"actionlint"}
    assert "shellcheck" in problems["actionlint"][0]


def test_fails_when_an_azure_pipeline_breaks_the_schema(tmp_path):
    path = _copy_with(
        tmp_path, ML_PROJECT / "azure-pipelines.yml", "        strategy:\n", "        stratgy:\n"
    )
    problems = azure_pipeline_problems(path, STAGE_ENVIRONMENTS)
    assert set(problems) == {"schema"}


def test_fails_when_a_preview_does_not_run_the_policy_pack(tmp_path):
    """PU-5; pulumi/actions takes the pack and its config as `policyPacks` / `policyPackConfigs`
    (pulumi/actions action.yml)."""
    path = _copy_with(
        tmp_path,
        ROOT / ".github/workflows/pull-request.yml",
        "          policyPacks: policy # CrossGuard: the security rules at preview time (PU-5)\n",
        "",
    )
    problems = github_workflow_problems(path, REPO_ENVIRONMENTS)
    assert set(problems) == {"policy_pack"}
    assert "policyPacks: policy" in problems["policy_pack"][0]


def test_fails_when_an_update_runs_without_the_policy_config(tmp_path):
    path = _copy_with(
        tmp_path,
        ROOT / ".github/workflows/pulumi-up.yml",
        "          policyPackConfigs: ${{ runner.temp }}/policy-config.json\n",
        "",
    )
    assert set(github_workflow_problems(path, REPO_ENVIRONMENTS)) == {"policy_pack"}


def test_fails_when_an_azure_pipeline_runs_pulumi_up_without_the_policy_pack(tmp_path):
    """The CLI flags are `--policy-pack <dir>` and `--policy-pack-config <file>` (`pulumi up --help`)."""
    path = _copy_with(
        tmp_path,
        ROOT / "templates/pulumi-up.yml",
        ' \\\n                        --policy-pack policy --policy-pack-config "$(Agent.TempDirectory)/policy-config.json"',
        "",
    )
    problems = azure_pipeline_problems(path, REPO_ENVIRONMENTS)
    assert set(problems) == {"policy_pack"}
    assert "pulumi up" in problems["policy_pack"][0]


def test_fails_when_a_drift_preview_does_not_run_the_policy_pack(tmp_path):
    path = _copy_with(
        tmp_path,
        ROOT / ".github/workflows/drift.yml",
        '            --policy-pack policy --policy-pack-config "$RUNNER_TEMP/policy-config.json" \\\n',
        "",
    )
    assert set(github_workflow_problems(path, REPO_ENVIRONMENTS)) == {"policy_pack"}


def test_policy_pack_check_reads_commands_not_prose():
    """A command runs at a line's start or after `;`, `&&`, `|` or `$(`; a github-script `with: script`
    is JavaScript, and text that merely names `pulumi preview` runs nothing."""
    doc = {
        "jobs": {
            "report": {
                "steps": [
                    {
                        "uses": "actions/github-script@x",
                        "with": {"script": "body = 'pulumi preview found drift'"},
                    },
                    {"run": 'echo "<p>pulumi preview found changes</p>"'},
                ]
            },
            "deploy": {"steps": [{"run": "cd infra && pulumi up --yes"}]},
        }
    }
    problems = policy_pack_problems(doc)
    assert len(problems) == 1 and "`pulumi up`" in problems[0]
