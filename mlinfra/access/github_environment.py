"""`GitHubEnvironment`: the repository environment one stage's workflows deploy through.

Named exactly after the stage, so `environment: <stage>` in a workflow finds it instead of
silently creating an unprotected one (GH-1). The federated credential's subject is built
from the environment resource's own name output: byte-equal, case-sensitive (P14, ID-2),
and created only once the environment exists. Everything a workflow needs to reach the
stage is an environment secret or variable; secret values only ever come from Pulumi
secret outputs (GH-6).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from mlinfra.access.deployment_identity import DeploymentIdentity
from mlinfra.access.github_oidc import (
    GITHUB_OIDC_ISSUER,
    RepositoryFacts,
    github_subject,
    lookup_repository,
    subject_claim_template,
)
from mlinfra.facts.credential_names import github_credential_name
from mlinfra.settings.ci_settings import GitHubSettings

__all__ = ["GITHUB_OIDC_ISSUER", "GitHubEnvironment", "GitHubEnvironmentArgs", "account_problems"]


def account_problems(settings: GitHubSettings, facts: RepositoryFacts) -> list[str]:
    """What the repository's account cannot do that the settings ask for (review-3 R8).

    A personal account has no teams (GitHub REST "Get a team by name" is under /orgs), so team
    reviewers can never resolve. The plan (Free, Pro, Team, Enterprise) is not readable with the
    repository token: environments on a private repository need Pro, Team or Enterprise, and
    required reviewers or a wait timer there need Enterprise (docs.github.com "Managing
    environments for deployment"); docs/ci-cd.md says so and `mlinfra doctor` is where a live
    check belongs.
    """
    problems = []
    if facts.owner_type == "User" and settings.reviewers.teams:
        problems.append(
            f"ci.github.reviewers.teams {settings.reviewers.teams!r}: {facts.owner} is a personal account, "
            "which has no teams; name users as reviewers or move the repository to an organization"
        )
    return problems


def _checked(settings: GitHubSettings, facts: RepositoryFacts) -> RepositoryFacts:
    problems = account_problems(settings, facts)
    if problems:
        raise ValueError("; ".join(problems))
    return facts


@dataclass(frozen=True, kw_only=True)
class GitHubEnvironmentArgs:
    environment: str
    """Environment name: the stage's name, exactly."""
    settings: GitHubSettings
    """Repository, reviewers, branch policy and protection flags."""
    identity: DeploymentIdentity
    """The stage's deployment identity, which gets the federated credential."""
    secrets: Mapping[str, pulumi.Input[str]]
    """Environment secrets by name; every value is wrapped as a Pulumi secret."""
    variables: Mapping[str, pulumi.Input[str]]
    """Environment variables by name (not secret: workspace, resource group, region)."""
    manages_subject_template: bool = True
    """Whether this environment also pins the repository's OIDC subject-claim template to the
    configured format. Default true; false where one owner of several environments of the same
    repository manages it once (bootstrap's infra repository)."""


class GitHubEnvironment(pulumi.ComponentResource):
    environment_name: pulumi.Output[str]
    credentials: list[pulumi.CustomResource]
    """The federated credentials, one per trusted subject format (what a template waits for)."""

    def __init__(self, name: str, args: GitHubEnvironmentArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:GitHubEnvironment", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        lookup = pulumi.InvokeOutputOptions(parent=self)

        # P12: reviewers must be numeric ids; a failed lookup fails the run before the
        # environment exists, so it is never created without its reviewers (T-13).
        user_ids = [
            github.get_user_output(username=login, opts=lookup).id.apply(int)
            for login in settings.reviewers.users
        ]
        team_ids = [
            github.get_team_output(slug=slug, summary_only=True, opts=lookup).id.apply(int)
            for slug in settings.reviewers.teams
        ]
        policy = settings.branch_policy
        environment = github.RepositoryEnvironment(
            f"{name}-environment",
            repository=settings.name,
            environment=args.environment,
            reviewers=[github.RepositoryEnvironmentReviewerArgs(users=user_ids, teams=team_ids)]
            if settings.reviewers.count
            else None,
            deployment_branch_policy=None
            if policy.any_branch
            else github.RepositoryEnvironmentDeploymentBranchPolicyArgs(
                protected_branches=policy.protected_branches, custom_branch_policies=policy.custom
            ),
            wait_timer=settings.wait_timer,
            prevent_self_review=settings.prevent_self_review,
            can_admins_bypass=settings.can_admins_bypass,
            opts=child,
        )
        for pattern in policy.branch_patterns:
            github.RepositoryEnvironmentDeploymentPolicy(
                f"{name}-branch-{pattern}",
                repository=settings.name,
                environment=environment.environment,
                branch_pattern=pattern,
                opts=child,
            )
        for pattern in policy.tag_patterns:
            github.RepositoryEnvironmentDeploymentPolicy(
                f"{name}-tag-{pattern}",
                repository=settings.name,
                environment=environment.environment,
                tag_pattern=pattern,
                opts=child,
            )

        # F2, R2: one `GET /repos/{owner}/{repo}` gives the owner's login and the repository's
        # name in their real case (Entra compares subjects case-sensitively, Azure/login#573) and
        # both ids, without the Pages read of `get_repository` (mlinfra.access.github_oidc).
        facts = lookup_repository(settings.repository, lookup).apply(lambda found: _checked(settings, found))
        # One credential per trusted format, named after it: moving between formats adds the new
        # one and later removes the old, never rewriting a subject in place (issuer + subject are
        # unique per identity). The credential that existed before formats were named
        # (`-federation`) is the one of `oidcSubjectFormat`: it takes the old logical name as an
        # alias, so upgrading is a rename, not a second credential with the same subject (the
        # upgrade's `up` changes no subject setting, docs/ci-cd.md).
        formerly_unnamed = settings.oidc_subject_format
        credentials = []
        for subject_format in settings.trusted_subject_formats:
            subject = pulumi.Output.all(environment.environment, facts).apply(
                lambda parts, subject_format=subject_format: github_subject(
                    subject_format, parts[1], str(parts[0]), settings.oidc_subject_claims
                )
            )
            credentials.append(
                args.identity.trust(
                    f"{name}-federation-{subject_format.value}",
                    credential_name=github_credential_name(
                        settings.owner, settings.name, args.environment, subject_format.value
                    ),
                    issuer=GITHUB_OIDC_ISSUER,
                    subject=subject,
                    description=f"GitHub Actions jobs of {settings.repository} bound to environment "
                    f"{args.environment} ({subject_format.value} subject)",
                    parent=self,
                    former_names=(f"{name}-federation",) if subject_format == formerly_unnamed else (),
                )
            )
        self.credentials = credentials
        if args.manages_subject_template:
            # GitHub: "first create a matching condition in your cloud provider's OIDC
            # configuration, before customizing the configuration" (OIDC reference, "Customizing
            # the subject claims"), so the template changes only once every credential exists.
            subject_claim_template(
                f"{name}-subject-claims",
                settings.name,
                settings.oidc_subject_format,
                settings.oidc_subject_claims,
                # The template changes the subject GitHub emits: only once its credentials trust it.
                pulumi.ResourceOptions(parent=self, depends_on=credentials),
            )

        # P13: `environment.environment` (an output) orders secrets after the environment.
        for secret_name, value in args.secrets.items():
            github.ActionsEnvironmentSecret(
                f"{name}-secret-{secret_name}",
                repository=settings.name,
                environment=environment.environment,
                secret_name=secret_name,
                value=pulumi.Output.secret(value),
                opts=child,
            )
        for variable_name, value in args.variables.items():
            github.ActionsEnvironmentVariable(
                f"{name}-variable-{variable_name}",
                repository=settings.name,
                environment=environment.environment,
                variable_name=variable_name,
                value=value,
                opts=child,
            )

        self.environment_name = environment.environment
        self.register_outputs({"environmentName": self.environment_name})
