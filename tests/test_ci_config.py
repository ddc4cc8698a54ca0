"""Refusals of the CI settings: every invalid GitHub / Azure DevOps setting stops the program
with one line naming the key (issue: CI/CD environments, item 1)."""

import pytest

from mlinfra.config.config_error import ConfigError
from tests.conftest import NON_PRODUCTION_STACK, PRODUCTION_STACKS, plan, problem_lines

REPO = "contoso/churn-mlops"
ADO = {
    "organizationUrl": "https://dev.azure.com/contoso",
    "project": "churn-mlops",
    "approvers": ["ML Engineers"],
}


def refused(stack: str, ci: dict) -> str:
    with pytest.raises(ConfigError) as error:
        plan(stack, **{"mlinfra:ci": ci})
    message = str(error.value)
    return problem_lines(message)


def github(**settings) -> dict:
    return {
        "platform": "github",
        "github": {"repository": REPO, "oidcSubjectFormat": "immutable", **settings},
    }


@pytest.mark.parametrize(
    "repository", ["churn-mlops", "contoso/", "/churn", "contoso/churn/extra", "-contoso/churn", ""]
)
def test_fails_when_the_repository_is_not_owner_slash_name(repository):
    message = refused(NON_PRODUCTION_STACK, github(repository=repository))
    assert f'mlinfra:ci.github.repository: got "{repository}"' in message and "owner/name" in message


def test_fails_when_more_than_six_reviewers_are_listed():
    message = refused(
        NON_PRODUCTION_STACK,
        github(reviewers={"users": ["a1", "a2", "a3", "a4"], "teams": ["t1", "t2", "t3"]}),
    )
    assert "mlinfra:ci.github" in message and "at most 6 reviewers" in message and "got 7" in message


@pytest.mark.parametrize("login", ["-alice", "alice_", "a" * 40, "al--ice"])
def test_fails_when_a_reviewer_login_is_malformed(login):
    assert "mlinfra:ci.github.reviewers.users.0" in refused(
        NON_PRODUCTION_STACK, github(reviewers={"users": [login]})
    )


@pytest.mark.parametrize(
    "policy",
    [
        {"protectedBranches": True, "branchPatterns": ["main"]},
        {"protectedBranches": False},
        {},
        {"anyBranch": True, "tagPatterns": ["v*"]},
    ],
)
def test_fails_unless_exactly_one_branch_policy_kind_is_chosen(policy):
    message = refused(NON_PRODUCTION_STACK, github(branchPolicy=policy))
    assert "mlinfra:ci.github.branchPolicy" in message and "exactly one of protectedBranches" in message


@pytest.mark.parametrize("minutes", [-1, 43201, "10"])
def test_fails_when_the_wait_timer_is_out_of_range(minutes):
    assert "mlinfra:ci.github.waitTimer" in refused(NON_PRODUCTION_STACK, github(waitTimer=minutes))


def test_fails_when_a_branch_pattern_holds_a_colon():
    assert "mlinfra:ci.github.branchPolicy.branchPatterns.0" in refused(
        NON_PRODUCTION_STACK, github(branchPolicy={"branchPatterns": ["refs:main"]})
    )


@pytest.mark.parametrize(
    "ci,needle",
    [
        ({"platform": "github"}, "needs the github section"),
        (
            {"platform": "azure-devops", "github": {"repository": REPO, "oidcSubjectFormat": "legacy"}},
            "needs the azureDevOps section",
        ),
        (
            {
                "platform": "github",
                "github": {"repository": REPO, "oidcSubjectFormat": "legacy"},
                "azureDevOps": ADO,
            },
            "the azureDevOps section is set but platform is 'github'",
        ),
        ({"platform": "gitlab"}, "expected 'github', 'azure-devops' or 'both'"),
    ],
)
def test_fails_when_platform_and_sections_disagree(ci, needle):
    assert needle in refused(NON_PRODUCTION_STACK, ci)


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_fails_when_a_production_environment_has_no_reviewer(stack):
    message = refused(stack, github(reviewers={}))
    assert "mlinfra:ci.github.reviewers" in message and "GH-2" in message


@pytest.mark.parametrize(
    "setting,needle",
    [
        ({"preventSelfReview": False}, "mlinfra:ci.github.preventSelfReview: got false"),
        ({"canAdminsBypass": True}, "mlinfra:ci.github.canAdminsBypass: got true"),
        (
            {"branchPolicy": {"anyBranch": True}},
            'mlinfra:ci.github.branchPolicy: got {"anyBranch": true}; must allow the branch "main" only',
        ),
    ],
)
@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_fails_when_production_protection_is_weakened(stack, setting, needle):
    assert needle in refused(stack, github(reviewers={"teams": ["ml-engineers"]}, **setting))


@pytest.mark.parametrize("pattern", ["*", "**", "*-release", "?*", "[v]*"])
@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_fails_when_a_production_environment_deploys_any_tag(stack, pattern):
    """GitHub Docs, "Managing environments for deployment": deployment tag rules are fnmatch name
    patterns, so `*` admits every tag anyone with push access creates; the Azure DevOps gate takes
    named refs only (ADO-3, mlinfra/config/rules/production_rules.py). A production tag pattern needs a
    literal prefix (GH-3)."""
    policy = {"branchPatterns": ["main"], "tagPatterns": [pattern]}
    message = refused(stack, github(reviewers={"teams": ["ml-engineers"]}, branchPolicy=policy))
    assert (
        f'mlinfra:ci.github.branchPolicy.tagPatterns: got "{pattern}"; a production environment takes named tags only'
        in message
    )


@pytest.mark.parametrize("pattern", ["v*", "release-*", "v1.2.3"])
@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_production_tag_patterns_with_a_literal_prefix_are_accepted(stack, pattern):
    from tests.conftest import setting

    ci = setting(stack, "ci")
    ci["github"]["branchPolicy"] = {"branchPatterns": ["main"], "tagPatterns": [pattern]}
    plan(stack, **{"mlinfra:ci": ci})


def test_a_tag_pattern_of_star_is_allowed_outside_production():
    policy = {"branchPatterns": ["main"], "tagPatterns": ["*"]}
    plan(NON_PRODUCTION_STACK, **{"mlinfra:ci": github(branchPolicy=policy)})


def test_dev_may_run_without_reviewers_from_any_branch():
    result = plan(NON_PRODUCTION_STACK, **{"mlinfra:ci": github(branchPolicy={"anyBranch": True})})
    environment = result.one("github:index/repositoryEnvironment:RepositoryEnvironment")
    assert "deploymentBranchPolicy" not in environment.inputs and "reviewers" not in environment.inputs


@pytest.mark.parametrize(
    "url",
    ["https://contoso.visualstudio.com.evil.io", "http://dev.azure.com/contoso", "dev.azure.com/contoso", ""],
)
def test_fails_when_the_organization_url_is_not_azure_devops(url):
    ci = {"platform": "azure-devops", "azureDevOps": {**ADO, "organizationUrl": url}}
    assert f'mlinfra:ci.azureDevOps.organizationUrl: got "{url}"' in refused(NON_PRODUCTION_STACK, ci)


@pytest.mark.parametrize("ref", ["main", "refs/heads/", "heads/main"])
def test_fails_when_an_allowed_branch_is_not_fully_qualified(ref):
    ci = {"platform": "azure-devops", "azureDevOps": {**ADO, "allowedBranches": [ref]}}
    assert "mlinfra:ci.azureDevOps.allowedBranches.0" in refused(NON_PRODUCTION_STACK, ci)


@pytest.mark.parametrize("pipelines", [[0], ["build"], [42, 42]])
def test_fails_when_pipeline_ids_are_invalid(pipelines):
    ci = {"platform": "azure-devops", "azureDevOps": {**ADO, "pipelines": pipelines}}
    assert "mlinfra:ci.azureDevOps.pipelines" in refused(NON_PRODUCTION_STACK, ci)


@pytest.mark.parametrize(
    "setting,needle",
    [
        (
            {"approvers": []},
            "mlinfra:ci.azureDevOps.approvers: none; needs at least one approver group (ADO-3)",
        ),
        ({"exclusiveLock": False}, "mlinfra:ci.azureDevOps.exclusiveLock: got false"),
        ({"allowedBranches": ["refs/heads/*"]}, "mlinfra:ci.azureDevOps.allowedBranches"),
    ],
)
@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_fails_when_a_production_ado_environment_is_ungated(stack, setting, needle):
    assert needle in refused(stack, {"platform": "azure-devops", "azureDevOps": {**ADO, **setting}})


def test_fails_on_an_unknown_ci_key():
    message = refused(NON_PRODUCTION_STACK, github(reviewer=["alice"]))
    assert "mlinfra:ci.github.reviewer: unknown key; allowed keys: repository, oidcSubjectFormat" in message


def test_fails_when_the_subject_format_is_unknown():
    assert (
        "mlinfra:ci.github.oidcSubjectFormat: got \"ids\"; expected 'classic', 'immutable' or 'custom'"
        in refused(NON_PRODUCTION_STACK, github(oidcSubjectFormat="ids"))
    )


def test_fails_when_the_oidc_subject_format_is_not_stated():
    """No lookup of the GitHub provider tells the format: `get_actions_repository_oidc_subject_claim_
    customization_template` reads only `use_default` and `include_claim_keys`
    (integrations/terraform-provider-github
    github/data_source_github_actions_repository_oidc_subject_claim_customization_template.go), and
    `get_repository` has no creation or rename date (github/data_source_github_repository.go).
    Repositories created or renamed on or after 2026-07-15 use the immutable format (github/docs
    PR 45221, content/actions/concepts/security/openid-connect.md), so a default would be silently
    wrong for one kind of repository: the key is required, and the message says how to tell."""
    settings = github()
    del settings["github"]["oidcSubjectFormat"]
    message = refused(NON_PRODUCTION_STACK, settings)
    assert "mlinfra:ci.github.oidcSubjectFormat: required but not set" in message
    assert "actions/oidc/customization/sub" in message and "use_immutable_subject" in message
    assert "2026-07-15" in message


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
@pytest.mark.parametrize(
    "policy",
    [{"branchPatterns": ["main", "release/*"]}, {"branchPatterns": ["develop"]}, {"protectedBranches": True}],
)
def test_fails_when_a_production_github_environment_allows_more_than_main(stack, policy):
    message = refused(stack, github(reviewers={"teams": ["ml-engineers"]}, branchPolicy=policy))
    assert "mlinfra:ci.github.branchPolicy: got" in message and 'must allow the branch "main" only' in message


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_fails_when_a_production_ado_environment_allows_another_branch(stack):
    ci = {
        "platform": "azure-devops",
        "azureDevOps": {**ADO, "allowedBranches": ["refs/heads/main", "refs/heads/dev"]},
    }
    assert "must allow the branch refs/heads/main only" in refused(stack, ci)
