"""GitHub environments: does the repository's plan give the estate's environments the protection
they are configured with, and can every configured reviewer review?

The rule (docs.github.com "Managing environments for deployment", "Who can use this feature?"):
"Environments, environment secrets, and deployment protection rules are available in public
repositories for all current GitHub plans. They are not available on legacy plans, such as
Bronze, Silver, or Gold. For access to environments, environment secrets, and deployment branches
in private or internal repositories, you must use GitHub Pro, GitHub Team, or GitHub Enterprise.
If you are on a GitHub Free, GitHub Pro, or GitHub Team plan, other deployment protection rules,
such as a wait timer or required reviewers, are only available for public repositories." An
internal repository exists only in an organization owned by an enterprise account ("About
repository visibility": "Internal repositories are available with GitHub Enterprise Cloud").
Reviewers "must have at least read access to the repository" ("Deployments and environments",
Required reviewers); a team without it is silently ignored (P12).

Calls (GitHub REST 2022-11-28): `GET /repos/{owner}/{repo}` (`visibility`, `owner.type`);
`GET /orgs/{org}` (`plan.name`, shown to organization owners and to GitHub Apps with the
"Organization plan" permission: "Get an organization") or `GET /users/{user}` (`plan`, shown to
the account itself); `GET /users/{login}` and `GET /repos/{owner}/{repo}/collaborators/{login}/
permission` (`permission`: `admin`, `write`, `read` or `none`, maintain and triage mapped to write
and read); `GET /orgs/{org}/teams/{slug}` and `GET /orgs/{org}/teams/{slug}/repos/{owner}/{repo}`
("Check team permissions for a repository": 204 when the team has any permission on it, 404 when
it has none). `plan.name` `enterprise` is GitHub Enterprise as integrations/terraform-provider-github
reads it (github/resource_github_organization_settings.go, `GetPlan().GetName() == "enterprise"`).
"""

from __future__ import annotations

from collections import defaultdict

from mlinfra.doctor.http import Client
from mlinfra.doctor.report import CANNOT, OK, PROBLEM, Result, cannot
from mlinfra.doctor.targets import GitHubEnvironment

API = "https://api.github.com"
PLAN_CHECK = "GitHub plan"
REVIEWER_CHECK = "GitHub reviewer"
ENTERPRISE = {"enterprise"}
ENVIRONMENTS_ONLY = {"pro", "team"}
"""Plans with environments, secrets and deployment branches on private repositories, but no
other protection rules there."""
FREE = {"free"}
LEGACY = {"bronze", "silver", "gold"}
CAN_REVIEW = {"admin", "maintain", "write", "triage", "read"}


def _plan(client: Client, owner: str, owner_type: str) -> tuple[str | None, Result | None, str]:
    """The owner's plan name, or why it cannot be had."""
    organization = owner_type == "Organization"
    reply = client.get(f"{API}/orgs/{owner}" if organization else f"{API}/users/{owner}")
    if reply.status != 200:
        return None, cannot(PLAN_CHECK, owner, reply.status, reply.body), ""
    name = (reply.body.get("plan") or {}).get("name")
    if not name:
        who = (
            "an organization owner's token (admin:org) or a GitHub App with the Organization plan permission"
            if organization
            else f"a token of {owner} itself"
        )
        return None, None, f"GitHub answered without `plan`: reading it needs {who}"
    return str(name).lower(), None, ""


def plan_support(
    client: Client, repository: str, environments: list[GitHubEnvironment]
) -> tuple[Result, dict]:
    """One result for the repository's plan against what its environments ask for; also the
    repository's answer (for the reviewer checks)."""
    reply = client.get(f"{API}/repos/{repository}")
    if reply.status != 200:
        return cannot(PLAN_CHECK, repository, reply.status, reply.body), {}
    visibility = str(reply.body.get("visibility") or ("private" if reply.body.get("private") else "public"))
    owner = reply.body.get("owner") or {}
    names = ", ".join(e.environment for e in environments)
    subject = f"{repository} ({visibility}; {names})"
    if visibility == "public":
        return Result(
            PLAN_CHECK, subject, OK, "public: environments and their protection rules on every current plan"
        ), reply.body
    if visibility == "internal":
        return Result(
            PLAN_CHECK,
            subject,
            OK,
            "internal: only an enterprise account's organizations have internal repositories",
        ), reply.body
    name, failed, why = _plan(
        client, str(owner.get("login") or repository.split("/")[0]), str(owner.get("type") or "")
    )
    if failed is not None:
        return Result(PLAN_CHECK, subject, CANNOT, failed.detail), reply.body
    if name is None:
        return Result(PLAN_CHECK, subject, CANNOT, why), reply.body
    protected = [
        f"{e.environment}: {', '.join(e.protection_rules)}" for e in environments if e.protection_rules
    ]
    if name in ENTERPRISE:
        return Result(
            PLAN_CHECK, subject, OK, f"plan {name}: every protection rule on a private repository"
        ), reply.body
    if name in FREE or name in LEGACY:
        return Result(
            PLAN_CHECK,
            subject,
            PROBLEM,
            f"plan {name}: no environments on a private repository"
            + (" (a legacy plan has none at all)" if name in LEGACY else ""),
            f"move {owner.get('login')} to GitHub Team or Enterprise (Enterprise for reviewers and wait timers), "
            f"or make {repository} public",
        ), reply.body
    if name in ENVIRONMENTS_ONLY:
        if protected:
            return Result(
                PLAN_CHECK,
                subject,
                PROBLEM,
                f"plan {name}: required reviewers and wait timers on a private repository need GitHub Enterprise "
                f"({'; '.join(protected)})",
                f"move {owner.get('login')} to GitHub Enterprise, or make {repository} public; without either the "
                "rules do not protect the environments (GH-5)",
            ), reply.body
        return Result(
            PLAN_CHECK, subject, OK, f"plan {name}: environments and deployment branches"
        ), reply.body
    return Result(
        PLAN_CHECK, subject, CANNOT, f"plan {name!r} is none of those GitHub's documentation names"
    ), reply.body


def _user(client: Client, repository: str, environment: GitHubEnvironment, login: str) -> Result:
    subject = f"{environment.stack}: {environment.environment} in {repository}, user {login}"
    found = client.get(f"{API}/users/{login}")
    if found.status == 404:
        return Result(
            REVIEWER_CHECK,
            subject,
            PROBLEM,
            "no such GitHub user",
            f"correct the login in {environment.configured_in}",
        )
    if found.status != 200:
        return cannot(REVIEWER_CHECK, subject, found.status, found.body)
    if found.body.get("type") not in (None, "User"):
        return Result(
            REVIEWER_CHECK,
            subject,
            PROBLEM,
            f"{login} is a {found.body.get('type')}, not a user",
            f"list it under teams, or fix {environment.configured_in}",
        )
    reply = client.get(f"{API}/repos/{repository}/collaborators/{login}/permission")
    if reply.status != 200:
        return cannot(REVIEWER_CHECK, subject, reply.status, reply.body)
    permission = str(reply.body.get("permission") or "none")
    if permission not in CAN_REVIEW:
        return Result(
            REVIEWER_CHECK,
            subject,
            PROBLEM,
            f"permission {permission}: a reviewer needs at least read access to the repository",
            f"give {login} read access to {repository} (Settings, Collaborators and teams), or remove them from "
            f"{environment.configured_in}",
        )
    return Result(REVIEWER_CHECK, subject, OK, f"permission {permission}")


def _team(
    client: Client, repository: str, environment: GitHubEnvironment, slug: str, owner_type: str
) -> Result:
    owner = repository.split("/")[0]
    subject = f"{environment.stack}: {environment.environment} in {repository}, team {slug}"
    if owner_type == "User":
        return Result(
            REVIEWER_CHECK,
            subject,
            PROBLEM,
            f"{owner} is a personal account, which has no teams",
            f"list people under users in {environment.configured_in}",
        )
    team = client.get(f"{API}/orgs/{owner}/teams/{slug}")
    if team.status == 404:
        return Result(
            REVIEWER_CHECK,
            subject,
            PROBLEM,
            f"no team {slug} in {owner} that this token can see",
            f"correct the slug in {environment.configured_in} (a secret team is visible only to a token of one of its members)",
        )
    if team.status != 200:
        return cannot(REVIEWER_CHECK, subject, team.status, team.body)
    access = client.get(f"{API}/orgs/{owner}/teams/{slug}/repos/{repository}")
    if access.status == 404:
        return Result(
            REVIEWER_CHECK,
            subject,
            PROBLEM,
            f"team {slug} has no access to {repository}: GitHub ignores it as a reviewer (P12)",
            f"give team {slug} read access to {repository} (Settings, Collaborators and teams)",
        )
    if access.status not in (200, 204):
        return cannot(REVIEWER_CHECK, subject, access.status, access.body)
    role = (access.body.get("role_name") or "") if access.status == 200 else ""
    return Result(REVIEWER_CHECK, subject, OK, f"has access{f' ({role})' if role else ''}")


def all_checks(client: Client, environments: list[GitHubEnvironment]) -> list[Result]:
    by_repository: dict[str, list[GitHubEnvironment]] = defaultdict(list)
    for environment in environments:
        by_repository[environment.repository].append(environment)
    results: list[Result] = []
    for repository, members in by_repository.items():
        plan, answer = plan_support(client, repository, members)
        results.append(plan)
        owner_type = str((answer.get("owner") or {}).get("type") or "")
        for environment in members:
            results += [_user(client, repository, environment, login) for login in environment.users]
            results += [
                _team(client, repository, environment, slug, owner_type) for slug in environment.teams
            ]
    return results
