"""Drift detection (issue 16): the scheduled GitHub workflow and Azure pipeline run
`pulumi preview --refresh --expect-no-changes` per stack with the preview identity, report drift
in one issue per stack, and `mlinfra.lint.workflows` catches each way to get that wrong."""

from pathlib import Path

import pytest
import yaml

from mlinfra.lint.workflows import (
    azure_drift_problems,
    drift_problems,
    jobs,
    load,
    permission_problems,
)

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "drift.yml"
PIPELINE = ROOT / "azure-pipelines-drift.yml"
STACKS = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in ROOT.glob("Pulumi.*.yaml"))


def test_workflow_is_scheduled_and_previews_every_stack_read_only():
    doc = load(WORKFLOW)
    on = doc.get("on", doc.get(True))
    assert "schedule" in on and on["schedule"][0]["cron"]
    (job,) = jobs(doc).values()
    assert job["environment"] == "infra-preview"  # the read-only preview identity
    assert sorted(job["strategy"]["matrix"]["stack"]) == STACKS
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    (preview,) = [s for s in job["steps"] if s.get("id") == "preview"]
    assert "--refresh --expect-no-changes --suppress-outputs" in preview["run"]
    assert "--diff" not in preview["run"]  # the issue gets names, never values


def test_workflow_reports_one_issue_per_stack():
    (job,) = jobs(load(WORKFLOW)).values()
    (report,) = [s for s in job["steps"] if "github-script" in str(s.get("uses"))]
    assert report["if"].startswith("failure()")
    script = report["with"]["script"]
    assert "Drift in stack ${stack}" in script and "issues.update(" in script and "issues.create(" in script
    assert report["env"]["STACK"] == "${{ matrix.stack }}"  # through env, never inlined (GH-10)


def test_pipeline_is_scheduled_only_and_previews_every_stack():
    doc = load(PIPELINE)
    assert doc["trigger"] == "none" and doc["pr"] == "none" and doc["schedules"][0]["cron"]
    (job,) = doc["jobs"]
    assert sorted(job["strategy"]["matrix"]) == STACKS
    (preview,) = [s for s in job["steps"] if s.get("task") == "AzureCLI@2"]
    assert preview["inputs"]["azureSubscription"] == "spn-mlinfra-preview"
    assert "--refresh --expect-no-changes" in preview["inputs"]["inlineScript"]
    (report,) = [s for s in job["steps"] if s.get("condition") == "failed()"]
    assert (
        "az boards work-item update" in report["script"] and "az boards work-item create" in report["script"]
    )
    assert report["env"] == {"AZURE_DEVOPS_EXT_PAT": "$(System.AccessToken)"}


def _workflow(**changes) -> dict:
    doc = load(WORKFLOW)
    (job,) = jobs(doc).values()
    for step in job["steps"]:
        if step.get("id") == "preview" and "run" in changes:
            step["run"] = changes["run"]
    if changes.get("drop_report"):
        job["steps"] = [s for s in job["steps"] if "github-script" not in str(s.get("uses"))]
    if "permissions" in changes:
        job["permissions"] = changes["permissions"]
    return doc


def test_the_real_files_pass():
    assert drift_problems(load(WORKFLOW)) == []
    assert permission_problems(load(WORKFLOW)) == []
    assert azure_drift_problems(load(PIPELINE)) == []


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("pulumi preview --stack dev --expect-no-changes", "without --refresh"),
        ("pulumi preview --stack dev --refresh", "without --expect-no-changes"),
        ("pulumi up --yes --stack dev", "must not change a stack"),
        ("pulumi refresh --yes --stack dev", "must not change a stack"),
    ],
)
def test_fails_when_a_scheduled_run_is_not_a_drift_check(run, expected):
    assert any(expected in problem for problem in drift_problems(_workflow(run=run)))


def test_multiline_preview_flags_are_read():
    run = "pulumi preview --stack dev \\\n  --refresh --expect-no-changes"
    assert drift_problems(_workflow(run=run)) == []


def test_fails_when_drift_is_not_reported():
    assert any("not reported" in p for p in drift_problems(_workflow(drop_report=True)))


def test_fails_when_issues_write_is_missing_or_unused():
    lacking = _workflow(permissions={"contents": "read", "id-token": "write"})
    assert any("lacks issues: write" in p for p in permission_problems(lacking))
    unused = _workflow(drop_report=True)
    assert any("issues: write, but the job opens no issue" in p for p in permission_problems(unused))


def test_an_issue_report_is_not_a_pull_request_comment():
    """Its github-script step edits issues only: no pull-requests: write needed (GH-8)."""
    assert not any("pull-requests" in p for p in permission_problems(load(WORKFLOW)))


def _pipeline(mutate) -> dict:
    doc = load(PIPELINE)
    mutate(doc)
    return yaml.safe_load(yaml.safe_dump(doc))


def test_pipeline_fails_without_flags_or_report_or_with_ci_trigger():
    def no_refresh(doc):
        step = next(s for s in doc["jobs"][0]["steps"] if s.get("task") == "AzureCLI@2")
        step["inputs"]["inlineScript"] = step["inputs"]["inlineScript"].replace("--refresh ", "")

    def no_report(doc):
        doc["jobs"][0]["steps"] = [s for s in doc["jobs"][0]["steps"] if s.get("condition") != "failed()"]

    def ci_trigger(doc):
        del doc["trigger"]

    assert any("without --refresh" in p for p in azure_drift_problems(_pipeline(no_refresh)))
    assert any("not reported" in p for p in azure_drift_problems(_pipeline(no_report)))
    assert any("trigger: none" in p for p in azure_drift_problems(_pipeline(ci_trigger)))
