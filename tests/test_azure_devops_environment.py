"""AzureDevOpsEnvironment under the mock engine, and the shipped Azure DevOps examples."""

import json
import subprocess
import sys

from components.access_settings import IdentityKind
from components.azure_devops_environment import (
    AzureDevOpsEnvironment,
    AzureDevOpsEnvironmentArgs,
)
from components.ci_settings import AzureDevOpsSettings
from components.deployment_identity import DeploymentIdentity, DeploymentIdentityArgs
from planner.recorder import plan_stack
from planner.views import environments_view
from tests.conftest import OWNERS, PROJECT_DIR, run_program

CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
ENVIRONMENT = "azuredevops:index/environment:Environment"
APPROVAL = "azuredevops:index/checkApproval:CheckApproval"
BRANCH = "azuredevops:index/checkBranchControl:CheckBranchControl"
LOCK = "azuredevops:index/checkExclusiveLock:CheckExclusiveLock"
AUTHORIZATION = "azuredevops:index/pipelineAuthorization:PipelineAuthorization"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
SUB = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SETTINGS = {
    "organizationUrl": "https://dev.azure.com/contoso",
    "project": "churn-mlops",
    "approvers": ["ML Engineers"],
    "pipelines": [42, 43],
}


def build(settings=SETTINGS, kind=IdentityKind.ENTRA_APPLICATION):
    def program():
        identity = DeploymentIdentity(
            "prod-deploy",
            DeploymentIdentityArgs(
                display_name="id-churn-prod-cicd-abcde",
                resource_group_name="rg-churn-prod-weu",
                location="westeurope",
                tags={},
                owners=OWNERS,
                kind=kind,
            ),
        )
        AzureDevOpsEnvironment(
            "prod-azure-devops",
            AzureDevOpsEnvironmentArgs(
                environment="prod",
                service_connection_name="spn-aml-workspace-prod",
                settings=AzureDevOpsSettings.model_validate(settings, by_name=False),
                identity=identity,
                subscription_id=SUB,
                tenant_id=TENANT,
            ),
        )

    return run_program(program, "prod")


def test_connection_uses_workload_identity_with_the_stage_identity():
    connection = build().one(CONNECTION).inputs
    assert connection["serviceEndpointName"] == "spn-aml-workspace-prod"
    assert connection["serviceEndpointAuthenticationScheme"] == "WorkloadIdentityFederation"
    assert connection["azurermSubscriptionId"] == SUB and connection["azurermSpnTenantid"] == TENANT
    assert set(connection["credentials"]) == {"serviceprincipalid"}  # no key: federation only


def test_connection_never_sends_resource_group_next_to_credentials():
    """`resource_group` has `ConflictsWith: []string{"credentials", "azurerm_management_group_id"}`
    and `credentials` has `ConflictsWith: []string{"resource_group"}`
    (microsoft/terraform-provider-azuredevops
    azuredevops/internal/service/serviceendpoint/resource_serviceendpoint_azurerm.go): a manual
    WIF connection (credentials given) with a resource group fails provider validation at
    `pulumi up`. The identity's role assignments bound what the connection can do instead."""
    conflicts = {"resourceGroup": {"credentials", "azurermManagementGroupId"}}
    for plan_ in (
        build(),
        plan_stack(PROJECT_DIR, "prod", PROJECT_DIR / "examples/azure-devops/Pulumi.prod.yaml"),
    ):
        connection = plan_.one(CONNECTION).inputs
        for key, others in conflicts.items():
            assert not (key in connection and others & set(connection)), (key, sorted(connection))
        assert "resourceGroup" not in connection


def test_federated_credential_comes_from_the_connection_outputs():
    result = build()
    credential = result.one(APP_FIC)
    connection = result.one(CONNECTION)
    assert connection.urn in credential.dependencies  # read back (P16), so it waits for the connection
    assert credential.inputs["issuer"] == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert credential.inputs["subject"].startswith("/eid1/c/pub/t/")
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]


def test_environment_and_connection_both_carry_approval_branch_control_and_lock():
    result = build()
    environment, connection = result.one(ENVIRONMENT), result.one(CONNECTION)
    assert environment.inputs["name"] == "prod"
    for type_ in (APPROVAL, BRANCH, LOCK):
        targets = sorted(check.inputs["targetResourceType"] for check in result.of_type(type_))
        assert targets == ["endpoint", "environment"], type_
    for approval in result.of_type(APPROVAL):
        assert (
            approval.inputs["requesterCanApprove"] is False
            and approval.inputs["minimumRequiredApprovers"] == 1
        )
        assert len(approval.inputs["approvers"]) == 1
    for branch in result.of_type(BRANCH):
        assert branch.inputs["allowedBranches"] == "refs/heads/main"
        assert (
            branch.inputs["verifyBranchProtection"] is True
            and branch.inputs["ignoreUnknownProtectionStatus"] is False
        )
    by_type = {check.inputs["targetResourceType"]: check for check in result.of_type(LOCK)}
    assert (
        environment.urn in by_type["environment"].dependencies
        and connection.urn in by_type["endpoint"].dependencies
    )


def test_only_the_listed_pipelines_are_authorized():
    authorizations = build().of_type(AUTHORIZATION)
    assert sorted((a.inputs["type"], a.inputs["pipelineId"]) for a in authorizations) == [
        ("endpoint", 42),
        ("endpoint", 43),
        ("environment", 42),
        ("environment", 43),
    ]
    assert all("pipelineId" in a.inputs for a in authorizations)  # ADO-2: never all pipelines


def test_no_pipelines_listed_means_no_authorization_at_all():
    assert not build({**SETTINGS, "pipelines": []}).of_type(AUTHORIZATION)


def test_no_approvers_means_no_approval_check_and_no_lock_when_asked():
    result = build({**SETTINGS, "approvers": [], "exclusiveLock": False})
    assert not result.of_type(APPROVAL) and not result.of_type(LOCK) and len(result.of_type(BRANCH)) == 2


def test_managed_identity_credentials_are_written_one_after_the_other():
    # P15: with a managed identity, GitHub's and Azure DevOps' credentials are serialized.
    from components.ci_settings import GitHubSettings
    from components.github_environment import GitHubEnvironment, GitHubEnvironmentArgs

    def program():
        identity = DeploymentIdentity(
            "prod-deploy",
            DeploymentIdentityArgs(
                display_name="id-x",
                resource_group_name="rg",
                location="westeurope",
                tags={},
                owners=OWNERS,
                kind=IdentityKind.MANAGED_IDENTITY,
            ),
        )
        GitHubEnvironment(
            "prod-github",
            GitHubEnvironmentArgs(
                environment="prod",
                settings=GitHubSettings(repository="contoso/churn"),
                identity=identity,
                secrets={},
                variables={},
            ),
        )
        AzureDevOpsEnvironment(
            "prod-azure-devops",
            AzureDevOpsEnvironmentArgs(
                environment="prod",
                service_connection_name="spn",
                settings=AzureDevOpsSettings.model_validate(SETTINGS, by_name=False),
                identity=identity,
                subscription_id=SUB,
                tenant_id=TENANT,
            ),
        )

    result = run_program(program, "prod")
    first, second = sorted(result.of_type(UAMI_FIC), key=lambda r: len(r.dependencies))
    assert first.urn in second.dependencies


def test_the_azure_devops_example_plans_with_config_file():
    plan = plan_stack(PROJECT_DIR, "prod", PROJECT_DIR / "examples/azure-devops/Pulumi.prod.yaml")
    [view] = environments_view(plan)
    assert view["platform"] == "azure-devops" and view["name"] == "prod"
    assert view["serviceConnection"]["name"] == "spn-aml-workspace-prod"
    assert view["approvers"] == ["ML Engineers", "ML Platform Leads"]
    assert {(c["on"], c["type"]) for c in view["checks"]} == {
        (on, kind)
        for on in ("environment", "serviceConnection")
        for kind in ("approval", "branchControl", "exclusiveLock")
    }
    assert view["pipelines"] == [42, 43]
    assert view["federatedCredential"]["issuer"].startswith("https://login.microsoftonline.com/")
    assert not plan.of_type("github:index/repositoryEnvironment:RepositoryEnvironment")
    assert plan.outputs["serviceConnectionName"] == "spn-aml-workspace-prod"


def test_the_both_platforms_example_has_one_credential_per_platform():
    plan = plan_stack(PROJECT_DIR, "prod", PROJECT_DIR / "examples/both-platforms/Pulumi.prod.yaml")
    views = environments_view(plan)
    assert sorted(v["platform"] for v in views) == ["azure-devops", "github"]
    subjects = {v["federatedCredential"]["subject"] for v in views}
    assert len(subjects) == 2 and "repo:contoso/churn-mlops:environment:prod" in subjects


def test_cli_plans_a_config_file_in_json():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "planner",
            "--stack",
            "prod",
            "--format",
            "json",
            "--config-file",
            "examples/azure-devops/Pulumi.prod.yaml",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    document = json.loads(result.stdout)
    assert [e["platform"] for e in document["environments"]] == ["azure-devops"]


def test_cli_fails_cleanly_on_a_missing_config_file():
    result = subprocess.run(
        [sys.executable, "-m", "planner", "--stack", "prod", "--config-file", "nope.yaml"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stderr.strip() == "error: no config file nope.yaml"
