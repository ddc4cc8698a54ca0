"""GitHubEnvironment under the mock engine, and the GitHub side of each real stack file."""

import datetime
import json
import re

import pytest

from mlinfra.access.deployment_identity import DeploymentIdentity, DeploymentIdentityArgs
from mlinfra.access.github_environment import (
    GITHUB_OIDC_ISSUER,
    GitHubEnvironment,
    GitHubEnvironmentArgs,
)
from mlinfra.planner.mock_cloud import ArmMocks, placeholder_number
from mlinfra.planner.recorder import Plan
from mlinfra.planner.views import environments_view
from mlinfra.settings.access_settings import IdentityKind
from mlinfra.settings.ci_settings import GitHubSettings
from tests.conftest import (
    GITHUB_STACKS,
    OWNERS,
    PRODUCTION_STACK,
    PRODUCTION_STACKS,
    STACKS,
    first,
    network_mode,
    plan,
    run_program,
    setting,
    stage_of,
    with_stack_file,
)

ENTRA_GITHUB_STACKS = tuple(
    stack for stack in GITHUB_STACKS if setting(stack, "deploymentIdentity")["kind"] == "entra-application"
)

ENV = "github:index/repositoryEnvironment:RepositoryEnvironment"
POLICY = "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy"
SECRET = "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret"
VARIABLE = "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable"
APP_FIC = "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential"
UAMI_FIC = "azure-native:managedidentity:FederatedIdentityCredential"


def build(settings: dict, kind=IdentityKind.ENTRA_APPLICATION, environment="live") -> Plan:
    def program():
        identity = DeploymentIdentity(
            "live-deploy",
            DeploymentIdentityArgs(
                display_name="id-churn-live-cicd-abcde",
                resource_group_name="rg",
                location="westeurope",
                tags={},
                owners=OWNERS,
                kind=kind,
            ),
        )
        GitHubEnvironment(
            "live-github",
            GitHubEnvironmentArgs(
                environment=environment,
                settings=GitHubSettings.model_validate(settings, by_name=False),
                identity=identity,
                secrets={
                    "AZURE_CLIENT_ID": identity.client_id,
                    "AZURE_TENANT_ID": "00000000-0000-0000-0000-000000000001",
                },
                variables={"AZURE_RESOURCE_GROUP": "rg-churn-live-weu"},
            ),
        )

    return run_program(program, PRODUCTION_STACK)


PROD = {
    "repository": "contoso/churn-mlops",
    "oidcSubjectFormat": "legacy",
    "reviewers": {"users": ["alex-mle"], "teams": ["ml-engineers"]},
    "branchPolicy": {"branchPatterns": ["main", "release/*"], "tagPatterns": ["v*"]},
    "waitTimer": 5,
}


def test_environment_is_named_after_the_stage_with_numeric_reviewers():
    result = build(PROD)
    env = result.one(ENV).inputs
    assert env["environment"] == "live" and env["repository"] == "churn-mlops"
    assert env["reviewers"] == [
        {
            "users": [placeholder_number("github-user", "alex-mle")],
            "teams": [placeholder_number("github-team", "ml-engineers")],
        }
    ]  # P12: ints
    assert env["deploymentBranchPolicy"] == {"protectedBranches": False, "customBranchPolicies": True}
    assert env["preventSelfReview"] is True and env["canAdminsBypass"] is False and env["waitTimer"] == 5


def test_each_pattern_is_a_deployment_policy_of_the_environment():
    result = build(PROD)
    patterns = sorted(
        (p.inputs.get("branchPattern", ""), p.inputs.get("tagPattern", "")) for p in result.of_type(POLICY)
    )
    assert patterns == [("", "v*"), ("main", ""), ("release/*", "")]
    env_urn = result.one(ENV).urn
    assert all(
        env_urn in p.dependencies and p.inputs["environment"] == "live" for p in result.of_type(POLICY)
    )


def test_protected_branches_policy_has_no_patterns():
    result = build({**PROD, "branchPolicy": {"protectedBranches": True}})
    assert result.one(ENV).inputs["deploymentBranchPolicy"] == {
        "protectedBranches": True,
        "customBranchPolicies": False,
    }
    assert not result.of_type(POLICY)


def test_federated_subject_is_built_from_the_environment_name_exactly():
    result = build(PROD)
    credential = result.one(APP_FIC)
    env = result.one(ENV)
    assert credential.inputs["subject"] == f"repo:contoso/churn-mlops:environment:{env.inputs['environment']}"
    assert credential.inputs["issuer"] == GITHUB_OIDC_ISSUER == "https://token.actions.githubusercontent.com"
    assert credential.inputs["audiences"] == ["api://AzureADTokenExchange"]
    assert credential.inputs["applicationId"].startswith("/applications/")
    assert env.urn in credential.dependencies  # created only once the environment exists


def test_subject_keeps_the_case_of_repository_and_stage():
    result = build({**PROD, "repository": "Contoso/Churn-MLOps"})
    assert result.one(APP_FIC).inputs["subject"] == "repo:Contoso/Churn-MLOps:environment:live"


def test_managed_identity_gets_a_managed_identity_credential():
    result = build(PROD, kind=IdentityKind.MANAGED_IDENTITY)
    credential = result.one(UAMI_FIC)
    assert credential.inputs["resourceName"] == "id-churn-live-cicd-abcde"
    assert credential.inputs["subject"] == "repo:contoso/churn-mlops:environment:live"
    assert not result.of_type(APP_FIC)


def test_secrets_are_secret_and_wait_for_the_environment():
    result = build(PROD)
    env_urn = result.one(ENV).urn
    secrets = {s.inputs["secretName"]: s for s in result.of_type(SECRET)}
    assert set(secrets) == {"AZURE_CLIENT_ID", "AZURE_TENANT_ID"}
    for secret in secrets.values():
        assert secret.inputs["value"] == "[secret]"  # GH-6: even a plain literal goes in as a secret
        assert "plaintextValue" not in secret.inputs  # deprecated field (P13)
        assert env_urn in secret.dependencies
    variable = result.one(VARIABLE)
    assert variable.inputs == {
        "environment": "live",
        "repository": "churn-mlops",
        "variableName": "AZURE_RESOURCE_GROUP",
        "value": "rg-churn-live-weu",
    }


class FailingLookups(ArmMocks):
    def call(self, args):
        if args.token == "github:index/getUser:getUser" and args.args.get("username") == "ghost":
            raise Exception("GET https://api.github.com/users/ghost: 404 Not Found []")
        return super().call(args)


def test_fails_when_a_reviewer_lookup_fails_and_creates_no_environment(monkeypatch):
    from mlinfra.planner import recorder
    from mlinfra.planner.recorder import RecordingMonitor

    monitors = []

    class Spy(RecordingMonitor):
        def __init__(self, mocks):
            super().__init__(mocks)
            monitors.append(self)

    monkeypatch.setattr(recorder, "ArmMocks", FailingLookups)
    monkeypatch.setattr(recorder, "RecordingMonitor", Spy)
    with pytest.raises(Exception, match="ghost: 404 Not Found"):
        build({**PROD, "reviewers": {"users": ["ghost"]}})
    registered = {r.type for r in monitors[-1].registrations}
    assert ENV not in registered and SECRET not in registered  # T-13: never without its reviewers


# --- the real stack files ---------------------------------------------------------------


@pytest.mark.parametrize("stack", GITHUB_STACKS)
def test_every_stack_has_its_github_environment(stack_plans, stack):
    [view] = [v for v in environments_view(stack_plans[stack]) if v["platform"] == "github"]
    assert view["name"] == stack
    owner, name = view["repository"].split("/")
    assert re.fullmatch(
        rf"repo:{owner}@\d+/{name}@\d+:environment:{stack}", view["federatedCredential"]["subject"]
    )
    assert view["secrets"] == ["AZURE_CLIENT_ID", "AZURE_SUBSCRIPTION_ID", "AZURE_TENANT_ID"]
    outputs = stack_plans[stack].outputs
    private = network_mode(stack) != "public"
    expected = {
        "AZUREML_WORKSPACE_NAME": outputs["workspaceName"],
        "AZURE_RESOURCE_GROUP": outputs["resourceGroupName"],
        "AZURE_LOCATION": outputs["location"],
        "AZUREML_NETWORK": "private" if private else "public",
    }
    if private:  # jobs of a private stage are told which runners can reach it
        expected["AZUREML_RUNNER_GROUP"] = setting(stack, "ci")["runnerGroup"]
    assert view["variables"] == expected
    assert outputs["githubEnvironment"] == stack


@pytest.mark.parametrize("stack", [stack for stack in PRODUCTION_STACKS if stack in GITHUB_STACKS])
def test_production_environments_are_gated(stack_plans, stack):
    [view] = environments_view(stack_plans[stack])
    assert view["reviewers"]["users"] or view["reviewers"]["teams"]
    assert view["checks"]["preventSelfReview"] is True and view["checks"]["canAdminsBypass"] is False
    assert isinstance(view["branchPolicy"], dict) and view["branchPolicy"]["branches"] == ["main"]


@with_stack_file("prod")
def test_prod_needs_two_people_in_the_reviewer_pool(stack_plans):
    """Pulumi.prod.yaml's own gate (GH-2: prod has at least two people in the pool); no code rule."""
    [view] = environments_view(stack_plans["prod"])
    assert len(view["reviewers"]["users"]) + len(view["reviewers"]["teams"]) >= 2  # GH-2


@pytest.mark.parametrize("stack", STACKS)
def test_no_secret_value_in_plain_text_anywhere(stack_plans, stack):
    document = json.dumps(stack_plans[stack].to_json())
    for secret in stack_plans[stack].of_type(SECRET):
        assert secret.inputs["value"] == "[secret]"
    assert "placeholder-not-a-secret" not in document


def test_client_secret_mode_adds_azure_credentials_as_a_secret():
    expiry = (datetime.date.today() + datetime.timedelta(days=90)).isoformat()
    result = plan(
        first(tuple(stack for stack in GITHUB_STACKS if not stage_of(stack).production)),
        **{
            "mlinfra:deploymentIdentity": {
                "owners": OWNERS,
                "credential": "client-secret",
                "clientSecretExpiry": expiry,
            }
        },
    )
    secrets = {s.inputs["secretName"]: s.inputs["value"] for s in result.of_type(SECRET)}
    assert secrets["AZURE_CREDENTIALS"] == "[secret]"
    assert "placeholder-not-a-secret" not in json.dumps(result.to_json())


def test_federated_mode_has_no_azure_credentials(stack_plans):
    for stack in STACKS:
        assert "AZURE_CREDENTIALS" not in {s.inputs["secretName"] for s in stack_plans[stack].of_type(SECRET)}


def test_immutable_subject_format_carries_the_owner_and_repository_ids():
    result = build({**PROD, "oidcSubjectFormat": "immutable"})
    owner_id = placeholder_number("github-user", "contoso")
    repository_id = placeholder_number("github-repo", "contoso/churn-mlops")
    subject = result.one(APP_FIC).inputs["subject"]
    assert subject == f"repo:contoso@{owner_id}/churn-mlops@{repository_id}:environment:live"  # T-34
    assert result.one(ENV).urn in result.one(APP_FIC).dependencies
    [view] = environments_view(result)
    assert view["repository"] == "contoso/churn-mlops" and view["federatedCredential"]["subject"] == subject


class CanonicalCaseLookups(ArmMocks):
    """GitHub answers `GET /repos/contoso/churn-mlops` with the real case (`owner.login`, `full_name`)."""

    def call(self, args):
        result, failures = super().call(args)
        if args.token == "github:index/getRestApi:getRestApi":
            body = json.loads(result["body"])
            body["full_name"] = "Contoso/Churn-MLOps"
            body["owner"]["login"] = "Contoso"
            result = {**result, "body": json.dumps(body)}
        return result, failures


@pytest.mark.parametrize(
    ("subject_format", "expected"),
    [
        ("immutable", r"repo:Contoso@\d+/Churn-MLOps@\d+:environment:live"),
        ("classic", r"repo:Contoso/Churn-MLOps:environment:live"),
    ],
)
def test_subject_uses_githubs_canonical_case(monkeypatch, subject_format, expected):
    """F2 (review-3-identity-ci.md): Entra matches the subject case-sensitively
    (github.com/Azure/login/issues/573, AADSTS7002138) and GitHub puts the repository's real case in
    `sub`, so the subject takes `owner.login` and `full_name` from GitHub's `GET /repos/{owner}/{repo}`
    answer (docs.github.com/rest/repos/repos#get-a-repository), not the config string's case, in
    every format."""
    from mlinfra.planner import recorder

    monkeypatch.setattr(recorder, "ArmMocks", CanonicalCaseLookups)
    result = build({**PROD, "oidcSubjectFormat": subject_format})
    assert re.fullmatch(expected, result.one(APP_FIC).inputs["subject"])


def test_legacy_is_the_old_name_of_classic():
    assert build(PROD).one(APP_FIC).inputs["subject"] == "repo:contoso/churn-mlops:environment:live"


@pytest.mark.parametrize(
    "stack",
    [
        stack
        for stack in ENTRA_GITHUB_STACKS
        if setting(stack, "ci")["github"]["oidcSubjectFormat"] == "immutable"
    ],
)
def test_shipped_stacks_trust_the_immutable_subject_of_a_new_repository(stack_plans, stack):
    """The example repository is new (created after 2026-07-15), so its tokens carry
    `repo:<owner>@<owner-id>/<repo>@<repo-id>:...` (github/docs PR 45221); the offline planner
    answers the id lookups like GitHub would for it."""
    subject = stack_plans[stack].one(APP_FIC).inputs["subject"]
    repository = setting(stack, "ci")["github"]["repository"]
    owner, name = repository.split("/")
    owner_id = placeholder_number("github-user", owner)
    repository_id = placeholder_number("github-repo", repository)
    assert subject == f"repo:{owner}@{owner_id}/{name}@{repository_id}:environment:{stack}"
