"""mlinfra doctor's GitHub environment checks (mlinfra/doctor/ci/github_environments.py): the plan
against what each environment asks for, and every configured reviewer.

Rules: docs.github.com "Managing environments for deployment", "Who can use this feature?"
(environments, secrets and deployment branches on private or internal repositories need Pro,
Team or Enterprise; on Free, Pro and Team other protection rules such as a wait timer or required
reviewers only on public repositories; none on legacy Bronze, Silver or Gold plans); "About
repository visibility" (internal repositories only with GitHub Enterprise Cloud); "Deployments
and environments" (reviewers need at least read access). Answers in the shapes of GitHub REST
2022-11-28 (github/rest-api-description): "Get a repository" (`visibility`, `owner.type`), "Get an
organization" (`plan.name`, for owners only), "Get a user", "Get repository permissions for a
user" (`permission`), "Get a team by name", "Check team permissions for a repository" (204 / 404).
`enterprise` as the plan name of GitHub Enterprise: integrations/terraform-provider-github
github/resource_github_organization_settings.go."""

import pytest

from mlinfra.doctor.ci import github_environments as gh
from mlinfra.doctor.report import CANNOT, OK, PROBLEM
from mlinfra.doctor.targets import GitHubEnvironment
from tests.doctor_answers import Answers

API = gh.API
REPO = "contoso/churn-mlops"
LIVE = GitHubEnvironment(
    "live", REPO, "live", ("alex-mle",), ("ml-engineers",), 15, "Pulumi.live.yaml mlinfra:ci.github.reviewers"
)
"""An environment with reviewers and a wait timer (stack and environment names outside the catalog)."""
TRY = GitHubEnvironment("try", REPO, "try", configured_in="Pulumi.try.yaml mlinfra:ci.github.reviewers")
"""An environment without protection rules."""


def repository(visibility: str = "private", owner_type: str = "Organization") -> dict:
    return {
        "id": 1296269,
        "name": "churn-mlops",
        "full_name": REPO,
        "private": visibility != "public",
        "visibility": visibility,
        "owner": {"login": "contoso", "id": 9919, "type": owner_type},
    }


def organization(plan: str | None) -> dict:
    body: dict = {"login": "contoso", "id": 9919, "type": "Organization"}
    if plan:
        body["plan"] = {"name": plan, "space": 400, "private_repos": 20, "filled_seats": 4, "seats": 5}
    return body


def answers(visibility="private", plan="enterprise", owner_type="Organization", **overrides) -> Answers:
    base = {
        f"{API}/repos/{REPO}": (200, repository(visibility, owner_type)),
        f"{API}/orgs/contoso": (200, organization(plan)),
        f"{API}/users/contoso": (200, {"login": "contoso", "type": "User", "plan": {"name": plan}}),
        f"{API}/users/alex-mle": (200, {"login": "alex-mle", "id": 1, "type": "User"}),
        f"{API}/repos/{REPO}/collaborators/alex-mle/permission": (
            200,
            {"permission": "write", "role_name": "maintain", "user": {"login": "alex-mle"}},
        ),
        f"{API}/orgs/contoso/teams/ml-engineers": (
            200,
            {"id": 2, "slug": "ml-engineers", "privacy": "closed"},
        ),
        f"{API}/orgs/contoso/teams/ml-engineers/repos/{REPO}": (204, {}),
    }
    base.update(overrides)
    return Answers(base)


def plan_of(client, environments=(LIVE, TRY)):
    return gh.plan_support(client, REPO, list(environments))[0]


@pytest.mark.parametrize(
    ("visibility", "plan", "status"),
    [
        ("public", None, OK),
        ("internal", None, OK),
        ("private", "enterprise", OK),
        ("private", "team", PROBLEM),  # LIVE asks for reviewers and a wait timer
        ("private", "free", PROBLEM),
        ("private", "silver", PROBLEM),
        ("private", "someday", CANNOT),
        ("private", None, CANNOT),  # not an owner: GitHub answers without `plan`
    ],
)
def test_the_plan_against_the_visibility_and_the_rules_asked_for(visibility, plan, status):
    result = plan_of(answers(visibility, plan))
    assert result.status == status, result
    if status == PROBLEM:
        assert result.fix and REPO in result.fix


def test_team_is_enough_for_environments_without_reviewers_or_wait_timers():
    assert plan_of(answers(plan="team"), [TRY]).status == OK
    problem = plan_of(answers(plan="team"))
    assert "live: 2 required reviewer(s), a 15-minute wait timer" in problem.detail and "GH-5" in problem.fix


def test_a_personal_accounts_plan_comes_from_the_user_and_pro_is_like_team():
    assert plan_of(answers(plan="pro", owner_type="User"), [TRY]).status == OK
    assert plan_of(answers(plan="pro", owner_type="User")).status == PROBLEM


def test_cannot_check_the_plan_without_the_repository():
    assert plan_of(answers(**{f"{API}/repos/{REPO}": (404, {"message": "Not Found"})})).status == CANNOT


def reviewers(client):
    return [r for r in gh.all_checks(client, [LIVE]) if r.check == gh.REVIEWER_CHECK]


def test_reviewers_that_exist_and_can_read_the_repository():
    assert [(r.subject.rsplit(", ", 1)[1], r.status) for r in reviewers(answers())] == [
        ("user alex-mle", OK),
        ("team ml-engineers", OK),
    ]


def test_fails_when_a_user_reviewer_does_not_exist_or_cannot_read():
    missing = reviewers(answers(**{f"{API}/users/alex-mle": (404, {"message": "Not Found"})}))[0]
    assert missing.status == PROBLEM and "Pulumi.live.yaml" in missing.fix
    url = f"{API}/repos/{REPO}/collaborators/alex-mle/permission"
    blind = reviewers(answers(**{url: (200, {"permission": "none", "role_name": ""})}))[0]
    assert blind.status == PROBLEM and "read access" in blind.detail


def test_fails_when_a_team_is_missing_or_has_no_access_to_the_repository():
    gone = reviewers(answers(**{f"{API}/orgs/contoso/teams/ml-engineers": (404, {})}))[1]
    assert gone.status == PROBLEM and "no team ml-engineers" in gone.detail
    url = f"{API}/orgs/contoso/teams/ml-engineers/repos/{REPO}"
    ignored = reviewers(answers(**{url: (404, {"message": "Not Found"})}))[1]
    assert ignored.status == PROBLEM and "P12" in ignored.detail and "read access" in ignored.fix


def test_fails_when_a_personal_account_lists_team_reviewers():
    team = reviewers(answers(owner_type="User"))[1]
    assert team.status == PROBLEM and "personal account" in team.detail


def test_cannot_check_a_reviewer_without_an_answer():
    url = f"{API}/repos/{REPO}/collaborators/alex-mle/permission"
    assert reviewers(answers(**{url: (403, {"message": "Must have push access"})}))[0].status == CANNOT
