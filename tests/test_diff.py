"""The plan diff: findings from plan documents, and `python -m planner diff` on a real git history."""

import json
import shutil
import subprocess
import sys

import pytest

from planner.diff import diff_plans
from planner.diff_render import COMMENT_LIMIT, COMMENT_MARKER, diff_markdown
from tests.conftest import PROJECT_DIR

STORAGE = "azure-native:storage:StorageAccount"


def resource(urn, type_=STORAGE, protect=False, retain=False, **inputs):
    return {
        "urn": urn,
        "type": type_,
        "name": urn.rsplit("::", 1)[-1],
        "custom": True,
        "parent": None,
        "inputs": inputs,
        "dependencies": [],
        "protect": protect,
        "retainOnDelete": retain,
    }


def document(*resources, access=(), environments=()):
    return {
        "version": 1,
        "resources": list(resources),
        "access": list(access),
        "environments": list(environments),
        "outputs": {},
    }


def grant(persona, role="Reader", scope_name="rg-x"):
    return {
        "principal": "g-" + persona,
        "principalType": "Group",
        "persona": persona,
        "identity": None,
        "role": role,
        "roleId": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        "scope": f"/subscriptions/s/resourceGroups/{scope_name}",
        "scopeKind": "resourceGroup",
        "scopeName": scope_name,
        "urn": f"urn:{persona}",
    }


def test_identical_plans_have_no_changes():
    plan = document(
        resource("urn:a", accountName="st1", publicNetworkAccess="Disabled"), access=[grant("dataScientists")]
    )
    diff = diff_plans("dev", plan, json.loads(json.dumps(plan)))
    assert not diff.changed and diff.findings == [] and diff.resources == []


def test_grants_and_revocations_come_first_in_words():
    base = document(
        resource("urn:a", accountName="st1", minimumTlsVersion="TLS1_0"), access=[grant("mlEngineers")]
    )
    head = document(
        resource("urn:a", accountName="st1", minimumTlsVersion="TLS1_2"),
        access=[grant("dataScientists", "AzureML Data Scientist")],
    )
    diff = diff_plans("dev", base, head)
    assert [f.category for f in diff.findings][:2] == ["access", "access"]
    assert diff.findings[0].text.startswith(
        "GRANT persona dataScientists (Group g-dataScientists): AzureML Data Scientist on resourceGroup rg-x"
    )
    assert diff.findings[1].text.startswith("REVOKE persona mlEngineers")
    [change] = diff.resources
    assert change.change == "changed" and change.inputs == [
        {"path": "minimumTlsVersion", "before": "TLS1_0", "after": "TLS1_2"}
    ]


def test_network_exposure_and_protection_are_flagged():
    base = document(resource("urn:a", protect=True, accountName="st1", publicNetworkAccess="Disabled"))
    head = document(resource("urn:a", protect=False, accountName="st1", publicNetworkAccess="Enabled"))
    texts = [(f.category, f.text) for f in diff_plans("prod", base, head).findings]
    assert ("network", "StorageAccount st1: publicNetworkAccess Disabled -> Enabled") in texts
    assert ("protection", "protect turned OFF for StorageAccount st1") in texts


def test_create_only_change_replaces_a_stateful_resource():
    base = document(
        resource(
            "urn:ws",
            "azure-native:machinelearningservices:Workspace",
            workspaceName="mlw",
            hbiWorkspace=False,
        )
    )
    head = document(
        resource(
            "urn:ws", "azure-native:machinelearningservices:Workspace", workspaceName="mlw", hbiWorkspace=True
        )
    )
    diff = diff_plans("prod", base, head)
    assert diff.resources[0].change == "replaced"
    assert any(
        f.category == "replacement" and "REPLACED" in f.text and "hbiWorkspace" in f.text
        for f in diff.findings
    )


def test_a_new_urn_for_the_same_stateful_resource_is_a_replacement():
    base = document(resource("urn:old::st", accountName="st1"))
    head = document(resource("urn:new::st", accountName="st1"))
    diff = diff_plans("prod", base, head)
    assert [r.change for r in diff.resources] == ["replaced"]
    assert "without an alias it is deleted and created again" in diff.findings[0].text


def test_removing_a_protected_stateful_resource_says_it_is_blocked():
    diff = diff_plans("prod", document(resource("urn:a", protect=True, accountName="st1")), document())
    assert (
        diff.findings[0].text
        == "stateful StorageAccount st1 removed from the program: blocked: it is protected"
    )


def test_environment_gates_and_trust_changes_are_findings():
    env = {
        "platform": "github",
        "name": "prod",
        "reviewers": {"users": ["alex"], "teams": []},
        "branchPolicy": {"branches": ["main"], "tags": []},
        "checks": {"preventSelfReview": True},
        "secrets": ["AZURE_CLIENT_ID"],
        "variables": {},
        "federatedCredential": {"issuer": "i", "subject": "repo:o/r:environment:prod", "audiences": ["a"]},
        "urn": "u",
    }
    weaker = {
        **env,
        "reviewers": {"users": [], "teams": []},
        "checks": {"preventSelfReview": False},
        "federatedCredential": {**env["federatedCredential"], "subject": "repo:o/r:ref:refs/heads/main"},
    }
    texts = [
        (f.category, f.text)
        for f in diff_plans("prod", document(environments=[env]), document(environments=[weaker])).findings
    ]
    assert (
        "trust",
        "github environment prod: federated credential subject repo:o/r:environment:prod -> repo:o/r:ref:refs/heads/main",
    ) in texts
    assert ("environment", "github environment prod: checks.preventSelfReview true -> false") in texts
    assert ("environment", 'github environment prod: reviewers.users ["alex"] -> []') in texts


def test_markdown_fits_a_github_comment():
    before = document(*[resource(f"urn:r{i}", accountName=f"st{i}", note="x" * 300) for i in range(400)])
    after = document(*[resource(f"urn:r{i}", accountName=f"st{i}", note="y" * 300) for i in range(400)])
    diff = diff_plans("dev", before, after)
    text = diff_markdown("main", "0" * 40, [diff])
    assert len(text) <= COMMENT_LIMIT and text.startswith(COMMENT_MARKER)
    assert "Resource details left out to fit the comment: 0 added, 400 changed" in text


# --- the CLI on a real git history ---------------------------------------------------------


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    """A copy of this project as a git repository with one commit, plus a working-tree change
    that gives the dev ML engineers AzureML Data Scientist on the workspace."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(
        PROJECT_DIR,
        root,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("venv", ".git", "__pycache__", ".pytest_cache"),
    )
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)
    return root


def run_diff(root, *args):
    return subprocess.run(
        [sys.executable, "-m", "planner", "diff", "--stack", "dev", "--base", "HEAD", *args],
        cwd=root,
        capture_output=True,
        text=True,
    )


def test_no_change_gives_an_empty_report_and_exit_status_0(repository):
    result = run_diff(repository, "--format", "json", "--exit-code")
    assert result.returncode == 0, result.stderr
    document_ = json.loads(result.stdout)
    assert (
        document_["changed"] is False
        and document_["stacks"][0]["findings"] == []
        and document_["stacks"][0]["resources"] == []
    )


def test_an_added_role_assignment_is_listed_first_in_every_format(repository):
    stack_file = repository / "Pulumi.dev.yaml"
    original = stack_file.read_text()
    stack_file.write_text(
        original.replace(
            "        resourceGroup: [Reader]\n  # The GitHub environment",
            "        resourceGroup: [Reader]\n        workspace: [AzureML Data Scientist]\n  # The GitHub environment",
        )
    )
    try:
        processes = {
            fmt: subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "planner",
                    "diff",
                    "--stack",
                    "dev",
                    "--base",
                    "HEAD",
                    "--format",
                    fmt,
                    "--exit-code",
                ],
                cwd=repository,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for fmt in ("text", "json", "markdown")
        }
        outputs = {fmt: (process.communicate()[0], process.returncode) for fmt, process in processes.items()}
    finally:
        stack_file.write_text(original)
    words = "GRANT persona mlEngineers (Group 8e4b1f6a-2c7d-4a9e-b3f5-6d0c9a8e7b12): AzureML Data Scientist on workspace mlw-churn-dev-weu"
    for fmt, (_output, code) in outputs.items():
        assert code == 1, fmt
    assert json.loads(outputs["json"][0])["stacks"][0]["findings"][0]["text"] == words
    text = outputs["text"][0]
    assert text.index(words) < text.index("added    azure-native:authorization:RoleAssignment")
    markdown = outputs["markdown"][0]
    assert markdown.startswith(COMMENT_MARKER) and f"- **access**: {words}" in markdown
    assert markdown.index(words) < markdown.index("<details>")


def test_fails_when_the_base_is_unknown(repository):
    result = subprocess.run(
        [sys.executable, "-m", "planner", "diff", "--base", "no-such-ref"],
        cwd=repository,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "is not a commit of this repository" in result.stderr


def test_an_edit_that_changes_no_plan_gives_an_empty_report(repository):
    stack_file = repository / "Pulumi.dev.yaml"
    original = stack_file.read_text()
    stack_file.write_text(original + "# a comment changes the file, not the plan\n")
    try:
        result = run_diff(repository, "--format", "json", "--exit-code")
    finally:
        stack_file.write_text(original)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changed"] is False


def test_unchanged_since_sees_edits_and_untracked_files(repository):
    from planner.revisions import resolve, unchanged_since

    head = resolve(repository, "HEAD")
    assert unchanged_since(repository, head)
    extra = repository / "components" / "new_module.py"
    extra.write_text("")
    try:
        assert not unchanged_since(repository, head)
    finally:
        extra.unlink()
    readme = repository / "README.md"
    original = readme.read_text()
    readme.write_text(original + "\n")
    try:
        assert not unchanged_since(repository, head)
    finally:
        readme.write_text(original)
