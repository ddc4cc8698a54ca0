"""The plan diff: findings from plan documents, and `mlinfra diff` on a real git history."""

import io
import json
import re
import subprocess
import sys
import tarfile

import pytest

from mlinfra.diff.compare import CATEGORY_ORDER, diff_plans
from mlinfra.diff.render import COMMENT_LIMIT, COMMENT_MARKER, diff_markdown, diff_text
from tests.conftest import PROJECT_DIR, copy_repository, first, setting, stacks_where, stage_of

STORAGE = "azure-native:storage:StorageAccount"
LABEL = "example"
"""The stack name a synthetic plan document is reported under (diff_plans only prints it)."""


def _engineers_without_workspace_role(stack: str) -> bool:
    engineers = setting(stack, "personas", {}).get("mlEngineers")
    return engineers is not None and "workspace" not in engineers.get("roles", {})


DIFF_STACKS = stacks_where(_engineers_without_workspace_role)
"""Stacks whose ML engineers hold no workspace role yet: the CLI tests below grant them one."""
ENTRA_APPLICATION_STACKS = stacks_where(
    lambda stack: setting(stack, "deploymentIdentity", {}).get("kind") == "entra-application"
)


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
    diff = diff_plans(LABEL, plan, json.loads(json.dumps(plan)))
    assert not diff.changed and diff.findings == [] and diff.resources == []


def test_grants_and_revocations_come_first_in_words():
    base = document(
        resource("urn:a", accountName="st1", minimumTlsVersion="TLS1_0"), access=[grant("mlEngineers")]
    )
    head = document(
        resource("urn:a", accountName="st1", minimumTlsVersion="TLS1_2"),
        access=[grant("dataScientists", "AzureML Data Scientist")],
    )
    diff = diff_plans(LABEL, base, head)
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
    texts = [(f.category, f.text) for f in diff_plans(LABEL, base, head).findings]
    assert ("network", "StorageAccount st1: publicNetworkAccess Disabled -> Enabled") in texts
    assert ("protection", "protect turned OFF for StorageAccount st1") in texts


WORKSPACE = "azure-native:machinelearningservices:Workspace"
VAULT = "azure-native:keyvault:Vault"


def test_create_only_change_replaces_a_stateful_resource():
    """isHnsEnabled is in azure-native's forceNewMap for Storage.StorageAccount
    (pulumi/pulumi-azure-native provider/pkg/gen/replacement.go)."""
    base = document(resource("urn:st", accountName="st1", isHnsEnabled=False))
    head = document(resource("urn:st", accountName="st1", isHnsEnabled=True))
    diff = diff_plans(LABEL, base, head)
    [change] = diff.resources
    assert change.change == "replaced"
    assert change.reasons and "isHnsEnabled" in change.reasons[0] and "replacement.go" in change.reasons[0]
    assert any(
        f.category == "replacement" and "REPLACED" in f.text and "isHnsEnabled" in f.text
        for f in diff.findings
    )


@pytest.mark.parametrize(
    ("before", "after", "refused"),
    [
        ("AllowOnlyApprovedOutbound", "AllowInternetOutbound", True),
        ("AllowOnlyApprovedOutbound", "Disabled", True),
        ("AllowInternetOutbound", "Disabled", True),
        ("AllowInternetOutbound", "AllowOnlyApprovedOutbound", False),
        ("Disabled", "AllowInternetOutbound", False),
    ],
)
def test_loosening_managed_network_isolation_will_be_refused_by_azure(before, after, refused):
    """ "Once a managed virtual network workspace is configured to allow internet outbound, the
    workspace can't be reconfigured to disabled. Similarly, once ... configured to allow only approved
    outbound, the workspace can't be reconfigured to allow internet outbound"
    (MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-managed-network.md). azure-native
    sends it as an update: workspaceRP.json 2025-12-01 gives isolationMode no x-ms-mutability."""
    base = document(
        resource("urn:ws", WORKSPACE, workspaceName="mlw", managedNetwork={"isolationMode": before})
    )
    head = document(
        resource("urn:ws", WORKSPACE, workspaceName="mlw", managedNetwork={"isolationMode": after})
    )
    diff = diff_plans(LABEL, base, head)
    assert [r.change for r in diff.resources] == ["changed"]
    texts = [f.text for f in diff.findings if f.category == "refused"]
    if refused:
        assert texts == [
            f"Workspace mlw: managedNetwork.isolationMode {before} -> {after} will be refused by Azure: "
            "managed network isolation is one-way: a workspace on AllowOnlyApprovedOutbound cannot go back "
            "to internet outbound, and one on AllowInternetOutbound cannot be disabled "
            "(MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-managed-network.md)"
        ]
    else:
        assert texts == []


def test_changing_hbi_workspace_will_be_refused_not_replaced():
    """ "You can't change this setting after workspace creation" (MicrosoftDocs/azure-ai-docs
    how-to-manage-workspace.md). azure-native does not replace for it: no MachineLearningServices
    entry in forceNewMap (provider/pkg/gen/replacement.go), no x-ms-mutability on hbiWorkspace in
    workspaceRP.json 2025-12-01, so the update reaches Azure and fails."""
    base = document(resource("urn:ws", WORKSPACE, workspaceName="mlw", hbiWorkspace=False))
    head = document(resource("urn:ws", WORKSPACE, workspaceName="mlw", hbiWorkspace=True))
    diff = diff_plans(LABEL, base, head)
    assert [r.change for r in diff.resources] == ["changed"]
    [finding] = diff.findings
    assert finding.category == "refused"
    assert finding.text.startswith("Workspace mlw: hbiWorkspace false -> true will be refused by Azure")
    assert "how-to-manage-workspace.md" in finding.text


def test_changing_key_vault_retention_will_be_refused():
    """ "The retention policy interval can only be configured during key vault creation and can't be
    changed afterwards" (Microsoft Learn key-vault/general/soft-delete-overview)."""
    base = document(resource("urn:kv", VAULT, vaultName="kv1", properties={"softDeleteRetentionInDays": 7}))
    head = document(resource("urn:kv", VAULT, vaultName="kv1", properties={"softDeleteRetentionInDays": 90}))
    [finding] = diff_plans(LABEL, base, head).findings
    assert finding.category == "refused"
    assert finding.text.startswith(
        "Vault kv1: properties.softDeleteRetentionInDays 7 -> 90 will be refused by Azure: "
        "soft-delete retention is set at creation only"
    )


def test_a_replaced_vault_is_not_also_reported_as_refused():
    base = document(resource("urn:kv", VAULT, vaultName="kv1", properties={"softDeleteRetentionInDays": 7}))
    head = document(resource("urn:kv", VAULT, vaultName="kv2", properties={"softDeleteRetentionInDays": 30}))
    assert [f.category for f in diff_plans(LABEL, base, head).findings] == ["replacement"]


def test_moving_a_workspace_to_another_region_will_be_refused():
    """azure-native replaces on location only where forceNewMap or x-ms-mutability says so
    (provider/pkg/gen/properties.go forceNew); the ML workspace has neither."""
    base = document(resource("urn:ws", WORKSPACE, workspaceName="mlw", location="westeurope"))
    head = document(resource("urn:ws", WORKSPACE, workspaceName="mlw", location="northeurope"))
    [finding] = diff_plans(LABEL, base, head).findings
    assert finding.category == "refused" and "cannot move to another region" in finding.text


def test_replacing_a_protected_resource_says_pulumi_up_will_refuse():
    base = document(resource("urn:st", protect=True, accountName="st1", location="westeurope"))
    head = document(resource("urn:st", protect=True, accountName="st2", location="westeurope"))
    [finding] = [f for f in diff_plans(LABEL, base, head).findings if f.category == "replacement"]
    assert finding.text == (
        "stateful StorageAccount st2 is REPLACED (create-only accountName changed); "
        "`pulumi up` will refuse: the resource is protected (unprotect it first to replace it)"
    )


def test_replacing_a_retained_key_vault_leaves_it_behind_and_its_name_reserved():
    base = document(
        resource("urn:kv", VAULT, retain=True, vaultName="kv1", properties={"softDeleteRetentionInDays": 7})
    )
    head = document(
        resource("urn:kv", VAULT, retain=True, vaultName="kv2", properties={"softDeleteRetentionInDays": 7})
    )
    [finding] = [f for f in diff_plans(LABEL, base, head).findings if f.category == "replacement"]
    assert "left behind in Azure, outside Pulumi's state (retainOnDelete)" in finding.text
    assert "the old vault's name kv1 stays reserved while it exists" in finding.text


def test_replacing_a_deleted_key_vault_reserves_its_name_for_the_retention():
    """A deleted vault's name can't be reused during soft-delete retention (Microsoft Learn
    key-vault/general/soft-delete-overview)."""
    base = document(resource("urn:kv", VAULT, vaultName="kv1", properties={"softDeleteRetentionInDays": 7}))
    head = document(resource("urn:kv", VAULT, vaultName="kv2", properties={"softDeleteRetentionInDays": 7}))
    [finding] = [f for f in diff_plans(LABEL, base, head).findings if f.category == "replacement"]
    assert finding.text.endswith("the old vault's name kv1 stays reserved for 7 days of soft delete")


@pytest.mark.parametrize(
    ("type_", "path", "source"),
    [
        (
            "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM",
            "serviceEndpointAuthenticationScheme",
            "resource_serviceendpoint_azurerm.go",
        ),
        ("azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM", "projectId", "commons.go"),
        ("azuredevops:index/checkApproval:CheckApproval", "targetResourceId", "common_check.go"),
        (
            "azuredevops:index/pipelineAuthorization:PipelineAuthorization",
            "pipelineId",
            "resource_pipeline_authorization.go",
        ),
        ("azuredevops:index/variableGroup:VariableGroup", "projectId", "resource_variable_group.go"),
        (
            "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret",
            "secretName",
            "environment_secret.go",
        ),
        (
            "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable",
            "environment",
            "environment_variable.go",
        ),
        (
            "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
            "environment",
            "deployment_policy.go",
        ),
        ("azuread:index/servicePrincipal:ServicePrincipal", "clientId", "service_principal_resource.go"),
    ],
)
def test_ci_create_only_inputs_show_as_replacements(type_, path, source):
    """The ForceNew inputs the review found missing (review-providers.md R8), each from its provider's source."""
    base = document(resource("urn:x", type_, **{path: "a"}))
    head = document(resource("urn:x", type_, **{path: "b"}))
    diff = diff_plans(LABEL, base, head)
    [change] = diff.resources
    assert change.change == "replaced" and source in change.reasons[0]
    assert any(f.category == "replacement" and "REPLACED" in f.text for f in diff.findings)


def test_an_in_place_update_of_a_ci_resource_is_not_a_replacement():
    """service_endpoint_name is not ForceNew (microsoft/terraform-provider-azuredevops serviceendpoint/commons.go)."""
    type_ = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
    diff = diff_plans(
        LABEL,
        document(resource("urn:x", type_, serviceEndpointName="a")),
        document(resource("urn:x", type_, serviceEndpointName="b")),
    )
    assert [r.change for r in diff.resources] == ["changed"] and diff.findings == []


def test_added_resources_show_their_security_inputs_and_principals_their_persona():
    assignment = resource(
        "urn:ra",
        "azure-native:authorization:RoleAssignment",
        principalId="g-dataScientists",
        roleDefinitionId="/r/acdd",
        scope="/subscriptions/s/resourceGroups/rg-x",
        description="not security-relevant",
    )
    diff = diff_plans(LABEL, document(), document(assignment, access=[grant("dataScientists")]))
    text = diff_text("main", "0" * 40, [diff])
    assert "        principalId: g-dataScientists (persona dataScientists)" in text
    assert "        roleDefinitionId: /r/acdd" in text
    assert "        scope: /subscriptions/s/resourceGroups/rg-x" in text
    assert "not security-relevant" not in text
    markdown = diff_markdown("main", "0" * 40, [diff])
    assert "`principalId`: g-dataScientists (persona dataScientists)" in markdown


def test_a_new_urn_for_the_same_stateful_resource_is_a_replacement():
    base = document(resource("urn:old::st", accountName="st1"))
    head = document(resource("urn:new::st", accountName="st1"))
    diff = diff_plans(LABEL, base, head)
    assert [r.change for r in diff.resources] == ["replaced"]
    assert "without an alias it is deleted and created again" in diff.findings[0].text


def test_removing_a_protected_stateful_resource_says_it_is_blocked():
    diff = diff_plans(LABEL, document(resource("urn:a", protect=True, accountName="st1")), document())
    assert (
        diff.findings[0].text
        == "stateful StorageAccount st1 removed from the program: blocked: it is protected"
    )


def test_environment_gates_and_trust_changes_are_findings():
    env = {
        "platform": "github",
        "name": "live",
        "reviewers": {"users": ["alex"], "teams": []},
        "branchPolicy": {"branches": ["main"], "tags": []},
        "checks": {"preventSelfReview": True},
        "secrets": ["AZURE_CLIENT_ID"],
        "variables": {},
        "federatedCredential": {"issuer": "i", "subject": "repo:o/r:environment:live", "audiences": ["a"]},
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
        for f in diff_plans(LABEL, document(environments=[env]), document(environments=[weaker])).findings
    ]
    assert (
        "trust",
        "github environment live: federated credential subject repo:o/r:environment:live -> repo:o/r:ref:refs/heads/main",
    ) in texts
    assert ("environment", "github environment live: checks.preventSelfReview true -> false") in texts
    assert ("environment", 'github environment live: reviewers.users ["alex"] -> []') in texts


def test_markdown_fits_a_github_comment():
    before = document(*[resource(f"urn:r{i}", accountName=f"st{i}", note="x" * 300) for i in range(400)])
    after = document(*[resource(f"urn:r{i}", accountName=f"st{i}", note="y" * 300) for i in range(400)])
    diff = diff_plans(LABEL, before, after)
    text = diff_markdown("main", "0" * 40, [diff])
    assert len(text) <= COMMENT_LIMIT and text.startswith(COMMENT_MARKER)
    assert "Resource details left out to fit the comment: 0 added, 400 changed" in text


# --- the CLI on a real git history ---------------------------------------------------------


@pytest.fixture(scope="module")
def repository(tmp_path_factory, stack_plans):
    """A copy of this project as a git repository with one commit; tests change a stack file of it
    (`diff_stack`) in the working tree. Its stacks are planned in this process first (`stack_plans`):
    the copy's code is this checkout's, so `mlinfra diff` reads its base plans from the plan cache."""
    root = copy_repository(tmp_path_factory.mktemp("repo"))
    git = ["git", "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=root, check=True)
    return root


@pytest.fixture
def diff_stack() -> str:
    return first(DIFF_STACKS)


def run_diff(root, stack, *args):
    return subprocess.run(
        [sys.executable, "-m", "mlinfra", "diff", "--stack", stack, "--base", "HEAD", *args],
        cwd=root,
        capture_output=True,
        text=True,
    )


def test_no_change_gives_an_empty_report_and_exit_status_0(repository, diff_stack):
    result = run_diff(repository, diff_stack, "--format", "json", "--exit-code")
    assert result.returncode == 0, result.stderr
    document_ = json.loads(result.stdout)
    assert (
        document_["changed"] is False
        and document_["stacks"][0]["findings"] == []
        and document_["stacks"][0]["resources"] == []
    )


@pytest.mark.long
def test_an_added_role_assignment_is_listed_first_in_every_format(repository, diff_stack):
    stack_file = repository / f"Pulumi.{diff_stack}.yaml"
    original = stack_file.read_text()
    group = setting(diff_stack, "personas")["mlEngineers"]["groupObjectId"]
    engineers = f"    mlEngineers:\n      groupObjectId: {group}\n      roles:\n"
    assert engineers in original  # the edit below must take effect, or the test proves nothing
    stack_file.write_text(
        original.replace(engineers, engineers + "        workspace: [AzureML Data Scientist]\n")
    )
    try:
        # One after another: the first run plans both revisions, the others read its plans back
        # from the plan cache (run side by side, all three would plan everything).
        outputs = {}
        for fmt in ("text", "json", "markdown"):
            result = run_diff(repository, diff_stack, "--format", fmt, "--exit-code")
            outputs[fmt] = (result.stdout, result.returncode)
    finally:
        stack_file.write_text(original)
    # The workspace is named mlw-<workload>-<stage>-<region code> (test_naming).
    workspace = f"mlw-{setting(diff_stack, 'workload')}-{stage_of(diff_stack).name}-weu"
    words = f"GRANT persona mlEngineers (Group {group}): AzureML Data Scientist on workspace {workspace}"
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
        [sys.executable, "-m", "mlinfra", "diff", "--base", "no-such-ref"],
        cwd=repository,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "is not a commit of this repository" in result.stderr


@pytest.mark.long
def test_an_edit_that_changes_no_plan_gives_an_empty_report(repository, diff_stack):
    stack_file = repository / f"Pulumi.{diff_stack}.yaml"
    original = stack_file.read_text()
    stack_file.write_text(original + "# a comment changes the file, not the plan\n")
    try:
        result = run_diff(repository, diff_stack, "--format", "json", "--exit-code")
    finally:
        stack_file.write_text(original)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["changed"] is False


def test_unchanged_since_sees_edits_and_untracked_files(repository):
    from mlinfra.planner.revisions import resolve, unchanged_since

    head = resolve(repository, "HEAD")
    assert unchanged_since(repository, head)
    extra = repository / "mlinfra" / "new_module.py"
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


def test_an_invalid_stack_still_gives_the_report_with_the_error_and_exit_status_2(repository, diff_stack):
    stack_file = repository / f"Pulumi.{diff_stack}.yaml"
    original = stack_file.read_text()
    # The workload is common to every stack (Pulumi.yaml); a stack value overrides it.
    stack_file.write_text(original.replace("config:\n", "config:\n  mlinfra:workload: Not-Valid\n", 1))
    try:
        result = run_diff(repository, diff_stack, "--format", "markdown")
    finally:
        stack_file.write_text(original)
    assert result.returncode == 2
    assert result.stdout.startswith(COMMENT_MARKER)
    assert "> the working tree cannot plan this stack: ConfigError: " in result.stdout
    assert 'mlinfra:workload: got "Not-Valid"' in result.stdout
    assert result.stderr.startswith(f"error: stack {diff_stack}: ConfigError: ")


def test_renaming_the_workload_keeps_entra_ids_and_credentials():
    """Mocked ids follow the logical name: an Entra app's display name updates in place
    (hashicorp/terraform-provider-azuread application_resource.go: display_name is not ForceNew), so
    its client id stays, the service principal (client_id ForceNew) and the federated credentials
    (application_id ForceNew) are not replaced."""
    from mlinfra.planner.render import to_json
    from tests.conftest import plan

    stack = first(ENTRA_APPLICATION_STACKS)
    base = json.loads(to_json(plan(stack)))
    head = json.loads(to_json(plan(stack, **{"mlinfra:workload": "fraud"})))
    diff = diff_plans(stack, base, head)
    changes = {r.type.split(":")[-1]: r for r in diff.resources}
    application = changes["Application"]
    assert application.change == "changed"
    assert [c["path"] for c in application.inputs] == ["displayName"]
    assert "ServicePrincipal" not in changes
    replaced = [r.type for r in diff.resources if r.change == "replaced"]
    assert not [t for t in replaced if t.startswith("azuread:")], replaced


def test_make_diff_runs_the_planner_diff():
    result = subprocess.run(
        # --no-print-directory: under `make test` MAKELEVEL is set and make would add its own lines.
        ["make", "-n", "--no-print-directory", "diff", "BASE=main", "FORMAT=markdown"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].endswith("mlinfra diff --base main --format markdown")


def test_planner_help_lists_the_diff_command():
    result = subprocess.run(
        [sys.executable, "-m", "mlinfra", "--help"], cwd=PROJECT_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0
    assert re.search(r"^  diff +what this working tree changes", result.stdout, re.MULTILINE)


def _archive(tmp_path) -> tarfile.TarFile:
    """A revision archive with a file, a directory, a member that climbs out and a link out."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Pulumi.yaml", b"name: p\n"), ("../escaped.txt", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        folder = tarfile.TarInfo("components")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        link = tarfile.TarInfo("link")
        link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path / "outside")
        tar.addfile(link)
    buffer.seek(0)
    return tarfile.open(fileobj=buffer)


def test_a_revision_is_extracted_with_nothing_outside_its_directory(tmp_path, monkeypatch):
    """tarfile's "data" filter (PEP 706) exists from Python 3.11.4; requires-python admits 3.11.0,
    and Debian 12's python3 is 3.11.2: without the filter only files and folders inside are taken."""
    from mlinfra.planner.revisions import extract

    target = tmp_path / "base"
    target.mkdir()
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    with _archive(tmp_path) as tar:
        extract(tar, target)
    assert sorted(path.name for path in target.iterdir()) == ["Pulumi.yaml", "components"]
    assert not (tmp_path / "escaped.txt").exists()


def test_a_revision_archive_that_climbs_out_is_refused_by_the_data_filter(tmp_path):
    from mlinfra.planner.revisions import extract

    if not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python has no extraction filters (before 3.11.4)")
    target = tmp_path / "base"
    target.mkdir()
    with _archive(tmp_path) as tar, pytest.raises(tarfile.OutsideDestinationError):
        extract(tar, target)
    assert not (tmp_path / "escaped.txt").exists()


def test_a_project_in_a_subfolder_is_compared_with_the_repository_at_the_base(repository):
    """bootstrap/ imports the repository's components and reads the stages' stack files: its base
    revision is the whole repository at the base (`git archive` run from the top; from inside a
    subfolder it keeps only that folder's paths and fails: "current working directory is
    untracked"), and an edit outside the subfolder is an edit for it too."""
    from mlinfra.planner.revisions import unchanged_since

    bootstrap = repository / "bootstrap"
    stack_file = bootstrap / "Pulumi.platform.yaml"
    original = stack_file.read_text()
    stack_file.write_text(original.replace("blobSoftDeleteDays: 30", "blobSoftDeleteDays: 45", 1))
    try:
        assert "blobSoftDeleteDays: 45" in stack_file.read_text()  # the edit took effect
        result = subprocess.run(
            [sys.executable, "-m", "mlinfra", "diff", "--project-dir", "bootstrap", "--format", "json"],
            cwd=repository,
            capture_output=True,
            text=True,
        )
    finally:
        stack_file.write_text(original)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    changed = [stack for stack in report["stacks"] if stack["resources"]]
    assert [stack["stack"] for stack in changed] == ["platform"]
    assert any(
        change["after"] == 45 for resource in changed[0]["resources"] for change in resource["inputs"]
    ), changed[0]["resources"]
    readme = repository / "README.md"  # outside bootstrap/
    text = readme.read_text()
    readme.write_text(text + "\n")
    try:
        assert not unchanged_since(bootstrap, "HEAD")
    finally:
        readme.write_text(text)
    assert unchanged_since(bootstrap, "HEAD")


def test_a_production_relaxation_shows_among_the_findings_with_its_reason():
    """Issue 30, "Production relaxations": the diff names the relaxed rule and the stack file's
    reason (mlinfra/diff/compare.py `_relaxation`); undoing it is a finding too."""
    from mlinfra.planner.render import to_json
    from tests.conftest import PRODUCTION_STACK, plan

    reason = "the landing zone's Azure Policy deploys the diagnostic settings"
    base = json.loads(to_json(plan(PRODUCTION_STACK)))
    head = json.loads(
        to_json(
            plan(
                PRODUCTION_STACK,
                **{
                    "mlinfra:diagnostics": {"enabled": False},
                    "mlinfra:productionRelaxations": {"diagnostics": reason},
                },
            )
        )
    )
    relaxed = [
        f.text for f in diff_plans(PRODUCTION_STACK, base, head).findings if f.category == "relaxation"
    ]
    assert relaxed == [f"production rule diagnostics of stage {PRODUCTION_STACK} relaxed: {reason}"]
    undone = [f.text for f in diff_plans(PRODUCTION_STACK, head, base).findings if f.category == "relaxation"]
    assert undone == [f"production rule diagnostics of stage {PRODUCTION_STACK} no longer relaxed"]


def test_stateful_replacements_are_listed_before_everything_else():
    """Issue 31: a reviewer reads what loses data first. A stateful resource replaced (here by a
    create-only input) or deleted comes before access, network and every other finding, in the
    findings and in the resource list, and the text and Markdown say DATA LOSS."""
    base = document(
        resource("urn:a-plain", type_="azure-native:network:PrivateEndpoint", publicNetworkAccess="Disabled"),
        resource("urn:z-st", accountName="st1", isHnsEnabled=False),
        access=[grant("ops")],
    )
    head = document(
        resource("urn:a-plain", type_="azure-native:network:PrivateEndpoint", publicNetworkAccess="Enabled"),
        resource("urn:z-st", accountName="st1", isHnsEnabled=True),
        access=[grant("ops"), grant("ds", "Contributor")],
    )
    diff = diff_plans(LABEL, base, head)
    assert diff.findings[0].stateful and "REPLACED" in diff.findings[0].text
    assert not any(f.stateful for f in diff.findings[1:])
    assert [f.category for f in diff.findings[1:]] == sorted(
        (f.category for f in diff.findings[1:]), key=CATEGORY_ORDER.index
    )
    assert diff.resources[0].urn == "urn:z-st"
    text = diff_text("main", "0" * 40, [diff])
    assert "! [DATA LOSS: replacement] stateful StorageAccount st1 is REPLACED" in text
    assert text.index("DATA LOSS") < text.index("[access]") < text.index("[network]")
    assert "**DATA LOSS: replacement**" in diff_markdown("main", "0" * 40, [diff])


def test_a_retained_or_protected_stateful_removal_is_not_data_loss():
    """retainOnDelete leaves the resource in Azure and protect blocks the delete (Pulumi resource
    options), so neither loses data; a plain removal deletes it."""
    for options, lost in (({"protect": True}, False), ({"retain": True}, False), ({}, True)):
        base = document(resource("urn:st", accountName="st1", **options))
        [finding] = diff_plans(LABEL, base, document()).findings
        assert finding.stateful is lost, options


def test_a_revision_before_the_package_layout_is_planned_by_its_own_planner(tmp_path):
    """A diff's base may predate the `mlinfra` package (issue 31): its planner is the top-level
    `planner` package, which the child process imports there; a project in a subfolder is planned
    by the nearest checkout above it that has either layout."""
    from mlinfra.planner.revisions import planner_package, planner_root

    old, new = tmp_path / "old", tmp_path / "new"
    (old / "planner").mkdir(parents=True)
    (old / "planner" / "__init__.py").write_text("")
    (new / "mlinfra" / "planner").mkdir(parents=True)
    (new / "mlinfra" / "planner" / "__init__.py").write_text("")
    (new / "bootstrap").mkdir()
    assert planner_package(old) == "planner"
    assert planner_package(new) == "mlinfra.planner"
    assert planner_package(tmp_path) is None
    assert planner_root(new / "bootstrap") == new
