"""AzureDevOpsEnvironment under the mock engine, and the shipped Azure DevOps examples."""

import json
import re

import pytest

from mlinfra.access.azure_devops_environment import (
    AzureDevOpsEnvironment,
    AzureDevOpsEnvironmentArgs,
)
from mlinfra.access.deployment_identity import DeploymentIdentity, DeploymentIdentityArgs
from mlinfra.planner.recorder import plan_stack
from mlinfra.planner.views import environments_view
from mlinfra.settings.access_settings import IdentityKind
from mlinfra.settings.ci_settings import AzureDevOpsSettings
from tests.conftest import (
    DATA_SCIENCE_STACK,
    OWNERS,
    PRODUCTION_STACK,
    PROJECT_DIR,
    planner_cli,
    run_program,
    with_catalog_stage,
)

CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
ENVIRONMENT = "azuredevops:index/environment:Environment"
APPROVAL = "azuredevops:index/checkApproval:CheckApproval"
BRANCH = "azuredevops:index/checkBranchControl:CheckBranchControl"
LOCK = "azuredevops:index/checkExclusiveLock:CheckExclusiveLock"
AUTHORIZATION = "azuredevops:index/pipelineAuthorization:PipelineAuthorization"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"
SUB = "00000000-0000-0000-0000-000000000015"
TENANT = "00000000-0000-0000-0000-000000000001"
VARIABLES = {"AZUREML_WORKSPACE_NAME": "mlw-churn-live-weu", "AZURE_RESOURCE_GROUP": "rg-churn-live-weu"}
VARIABLE_GROUP = "azuredevops:index/variableGroup:VariableGroup"
SETTINGS = {
    "organizationUrl": "https://dev.azure.com/contoso",
    "project": "churn-mlops",
    "approvers": ["ML Engineers"],
    "pipelines": [42, 43],
}


def build(settings=SETTINGS, kind=IdentityKind.ENTRA_APPLICATION, agent_pool=None):
    def program():
        identity = DeploymentIdentity(
            "live-deploy",
            DeploymentIdentityArgs(
                display_name="id-churn-live-cicd-abcde",
                resource_group_name="rg-churn-live-weu",
                location="westeurope",
                tags={},
                owners=OWNERS,
                kind=kind,
            ),
        )
        AzureDevOpsEnvironment(
            "live-azure-devops",
            AzureDevOpsEnvironmentArgs(
                environment="live",
                service_connection_name="spn-aml-workspace-live",
                settings=AzureDevOpsSettings.model_validate(settings, by_name=False),
                identity=identity,
                subscription_id=SUB,
                tenant_id=TENANT,
                variable_group_name="aml-workspace-live",
                variables=VARIABLES,
                agent_pool=agent_pool,
            ),
        )

    return run_program(program, PRODUCTION_STACK)


def test_connection_uses_workload_identity_with_the_stage_identity():
    connection = build().one(CONNECTION).inputs
    assert connection["serviceEndpointName"] == "spn-aml-workspace-live"
    assert connection["serviceEndpointAuthenticationScheme"] == "WorkloadIdentityFederation"
    assert connection["azurermSubscriptionId"] == SUB and connection["azurermSpnTenantid"] == TENANT
    assert set(connection["credentials"]) == {"serviceprincipalid"}  # no key: federation only


@with_catalog_stage("prod")  # examples/azure-devops/Pulumi.prod.yaml is a stack file of stage prod
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
    assert environment.inputs["name"] == "live"
    for type_ in (APPROVAL, BRANCH, LOCK):
        targets = sorted(check.inputs["targetResourceType"] for check in result.of_type(type_))
        assert targets == ["endpoint", "environment"], type_
    for approval in result.of_type(APPROVAL):
        assert (
            approval.inputs["requesterCanApprove"] is False
            and approval.inputs["minimumRequiredApprovers"] == 1
        )
        assert len(approval.inputs["approvers"]) == 1
    for branch in result.of_type(BRANCH):  # the defaults: fail closed
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
    """PipelineAuthorization `type` is one of endpoint, queue, variablegroup, environment,
    repository (microsoft/terraform-provider-azuredevops
    azuredevops/internal/service/build/resource_pipeline_authorization.go)."""
    authorizations = build().of_type(AUTHORIZATION)
    assert sorted((a.inputs["type"], a.inputs["pipelineId"]) for a in authorizations) == [
        ("endpoint", 42),
        ("endpoint", 43),
        ("environment", 42),
        ("environment", 43),
        ("variablegroup", 42),
        ("variablegroup", 43),
    ]
    assert all("pipelineId" in a.inputs for a in authorizations)  # ADO-2: never all pipelines


def test_the_agent_pool_is_authorized_for_the_same_pipelines():
    """review-3-identity-ci R7: the pool named by ci.runnerGroup gets a PipelineAuthorization of type
    `queue` (its agent queue's id, from the azuredevops getAgentQueue lookup) for each listed
    pipeline, or the first run waits for a manual "Permit"."""
    plan = build(agent_pool="ml-private-live")
    queues = [a for a in plan.of_type(AUTHORIZATION) if a.inputs["type"] == "queue"]
    assert sorted(a.inputs["pipelineId"] for a in queues) == [42, 43]
    assert len({a.inputs["resourceId"] for a in queues}) == 1
    assert not [a for a in build().of_type(AUTHORIZATION) if a.inputs["type"] == "queue"]


def test_no_pipelines_listed_means_no_authorization_at_all():
    assert not build({**SETTINGS, "pipelines": []}).of_type(AUTHORIZATION)


def test_no_approvers_means_no_approval_check_and_no_lock_when_asked():
    result = build({**SETTINGS, "approvers": [], "exclusiveLock": False})
    assert not result.of_type(APPROVAL) and not result.of_type(LOCK) and len(result.of_type(BRANCH)) == 2


def test_managed_identity_credentials_are_written_one_after_the_other():
    # P15: with a managed identity, GitHub's and Azure DevOps' credentials are serialized.
    from mlinfra.access.github_environment import GitHubEnvironment, GitHubEnvironmentArgs
    from mlinfra.settings.ci_settings import GitHubSettings

    def program():
        identity = DeploymentIdentity(
            "live-deploy",
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
            "live-github",
            GitHubEnvironmentArgs(
                environment="live",
                settings=GitHubSettings(repository="contoso/churn", oidc_subject_format="legacy"),
                identity=identity,
                secrets={},
                variables={},
            ),
        )
        AzureDevOpsEnvironment(
            "live-azure-devops",
            AzureDevOpsEnvironmentArgs(
                environment="live",
                service_connection_name="spn",
                settings=AzureDevOpsSettings.model_validate(SETTINGS, by_name=False),
                identity=identity,
                subscription_id=SUB,
                tenant_id=TENANT,
                variable_group_name="aml-workspace-live",
                variables=VARIABLES,
            ),
        )

    result = run_program(program, PRODUCTION_STACK)
    first, second = sorted(result.of_type(UAMI_FIC), key=lambda r: len(r.dependencies))
    assert first.urn in second.dependencies


@with_catalog_stage("prod")  # examples/*/Pulumi.prod.yaml is a stack file of stage prod
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


@with_catalog_stage("prod")  # examples/*/Pulumi.prod.yaml is a stack file of stage prod
def test_the_both_platforms_example_has_one_credential_per_platform():
    plan = plan_stack(PROJECT_DIR, "prod", PROJECT_DIR / "examples/both-platforms/Pulumi.prod.yaml")
    views = environments_view(plan)
    assert sorted(v["platform"] for v in views) == ["azure-devops", "github"]
    subjects = {v["federatedCredential"]["subject"] for v in views}
    assert len(subjects) == 2
    assert any(re.fullmatch(r"repo:contoso@\d+/churn-mlops@\d+:environment:prod", s) for s in subjects)


@with_catalog_stage("prod")  # examples/*/Pulumi.prod.yaml is a stack file of stage prod
def test_cli_plans_a_config_file_in_json():
    result = planner_cli(
        "--stack", "prod", "--format", "json", "--config-file", "examples/azure-devops/Pulumi.prod.yaml"
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert [e["platform"] for e in document["environments"]] == ["azure-devops"]


def test_cli_fails_cleanly_on_a_missing_config_file():
    result = planner_cli("--stack", PRODUCTION_STACK, "--config-file", "nope.yaml")
    assert result.returncode == 2 and result.stderr.strip() == "error: no config file nope.yaml"


def test_variable_group_carries_the_variables_and_is_open_to_no_pipeline_by_itself():
    """VariableGroup: `variable` is a Required set with MinItems 1 of name/value blocks, and
    `allow_access` (default false) shares the group with every pipeline of the project
    (microsoft/terraform-provider-azuredevops azuredevops/internal/service/taskagent/resource_variable_group.go)."""
    result = build()
    group = result.one(VARIABLE_GROUP)
    assert group.inputs["name"] == "aml-workspace-live"
    assert group.inputs["allowAccess"] is False  # ADO-2
    assert {v["name"]: v["value"] for v in group.inputs["variables"]} == VARIABLES
    assert all(not v.get("isSecret") and "secretValue" not in v for v in group.inputs["variables"])
    targets = {
        a.inputs["resourceId"] for a in result.of_type(AUTHORIZATION) if a.inputs["type"] == "variablegroup"
    }
    assert len(targets) == 1 and group.urn in {
        d for a in result.of_type(AUTHORIZATION) for d in a.dependencies
    }


def test_branch_protection_settings_reach_both_branch_checks():
    """`verify_branch_protection` and `ignore_unknown_protection_status` are plain optional bools,
    default false, sent as given (microsoft/terraform-provider-azuredevops
    azuredevops/internal/service/approvalsandchecks/resource_check_branch_control.go): the
    program's defaults (true, false) must therefore always be sent explicitly."""
    result = build({**SETTINGS, "verifyBranchProtection": False, "ignoreUnknownProtectionStatus": True})
    checks = result.of_type(BRANCH)
    assert len(checks) == 2
    for check in checks:
        assert check.inputs["verifyBranchProtection"] is False
        assert check.inputs["ignoreUnknownProtectionStatus"] is True


@with_catalog_stage("prod")  # examples/*/Pulumi.prod.yaml is a stack file of stage prod
@pytest.mark.parametrize("example", ["azure-devops", "both-platforms"])
def test_the_variable_group_has_the_github_environment_variables(example):
    plan = plan_stack(PROJECT_DIR, "prod", PROJECT_DIR / f"examples/{example}/Pulumi.prod.yaml")
    group = plan.one(VARIABLE_GROUP).inputs
    variables = {v["name"]: v["value"] for v in group["variables"]}
    assert variables == {
        "AZUREML_WORKSPACE_NAME": plan.outputs["workspaceName"],
        "AZURE_RESOURCE_GROUP": plan.outputs["resourceGroupName"],
        "AZURE_LOCATION": "westeurope",
        "AZUREML_NETWORK": "private",
        "AZUREML_RUNNER_GROUP": "ml-private-prod",
    }
    github_variables = {
        v.inputs["variableName"]: v.inputs["value"]
        for v in plan.of_type("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable")
    }
    if example == "both-platforms":
        assert github_variables == variables  # parity: the same names and values on both platforms
    assert plan.outputs["variableGroupName"] == "aml-workspace-prod"


def test_a_data_science_stage_gets_the_same_default_branch_rule_on_both_platforms():
    """With no branch keys, GitHub's environment and Azure DevOps' branch control both admit the
    `main` branch only."""
    from tests.conftest import OWNERS, plan

    result = plan(
        DATA_SCIENCE_STACK,
        **{
            "mlinfra:deploymentIdentity": {"owners": OWNERS},
            "mlinfra:ci": {
                "platform": "both",
                "github": {"repository": "contoso/churn-mlops", "oidcSubjectFormat": "immutable"},
                "azureDevOps": {"organizationUrl": "https://dev.azure.com/contoso", "project": "churn-mlops"},
            },
        },
    )
    policies = result.of_type(
        "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
    )
    github_branches = sorted(p.inputs["branchPattern"] for p in policies)
    ado_branches = {check.inputs["allowedBranches"] for check in result.of_type(BRANCH)}
    assert github_branches == ["main"] and ado_branches == {"refs/heads/main"}


REQUIRED = "azuredevops:index/checkRequiredTemplate:CheckRequiredTemplate"


def test_governed_pipelines_put_a_required_template_check_on_both_resources():
    """Hardened mode (issue 27/33, Azure-Samples' ADO bootstrap): a CheckRequiredTemplate on the
    environment and on the service connection (pulumi_azuredevops CheckRequiredTemplate:
    target_resource_type endpoint/environment, required_templates with repository_type,
    repository_name, repository_ref, template_path), so the identity serves only runs that extend
    the approved template (Microsoft Learn, "Define approvals and checks", Required template)."""
    template = {
        "repositoryType": "github",
        "repositoryName": "contoso/pipeline-templates",
        "templatePath": "deploy.yml",
    }
    plan = build({**SETTINGS, "requiredTemplates": [template]})
    checks = plan.of_type(REQUIRED)
    assert sorted(c.inputs["targetResourceType"] for c in checks) == ["endpoint", "environment"]
    for check in checks:
        assert check.inputs["requiredTemplates"] == [
            {
                "repositoryType": "github",
                "repositoryName": "contoso/pipeline-templates",
                "repositoryRef": "refs/heads/main",
                "templatePath": "deploy.yml",
            }
        ]
    assert not build().of_type(REQUIRED)  # opt-in


@pytest.mark.parametrize(
    ("template", "key"),
    [
        ({"repositoryName": "no-slash", "templatePath": "t.yml"}, "repositoryName"),
        ({"repositoryName": "a/b", "templatePath": "t.txt"}, "templatePath"),
        ({"repositoryName": "a/b", "templatePath": "t.yml", "repositoryRef": "main"}, "repositoryRef"),
        ({"repositoryName": "a/b", "templatePath": "t.yml", "repositoryType": "svn"}, "repositoryType"),
    ],
)
def test_a_malformed_required_template_is_refused(template, key):
    with pytest.raises(ValueError, match=key):
        AzureDevOpsSettings.model_validate({**SETTINGS, "requiredTemplates": [template]}, by_name=False)
