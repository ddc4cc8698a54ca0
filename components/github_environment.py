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

from components.ci_settings import GitHubSettings, OidcSubjectFormat
from components.credential_names import github_credential_name
from components.deployment_identity import DeploymentIdentity

GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com"


def github_subject(
    repository: str, environment: str, owner_id: int | None = None, repository_id: int | None = None
) -> str:
    """The `sub` claim of a job bound to `environment` (ID-2): legacy `repo:<owner>/<repo>`, or, with
    the numeric ids, the immutable `repo:<owner>@<owner-id>/<repo>@<repo-id>` (T-34)."""
    if owner_id is None or repository_id is None:
        return f"repo:{repository}:environment:{environment}"
    owner, name = repository.split("/", 1)
    return f"repo:{owner}@{owner_id}/{name}@{repository_id}:environment:{environment}"


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


class GitHubEnvironment(pulumi.ComponentResource):
    environment_name: pulumi.Output[str]

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

        if settings.oidc_subject_format == OidcSubjectFormat.IMMUTABLE:
            # The ids never change nor get reused, unlike names (T-34). `/users/<name>` answers for
            # organizations too. F2: Entra compares subjects case-sensitively and GitHub puts the
            # repository's real case in `sub`, so the owner's `login` and the repository's
            # `full_name` come from GitHub, not from the config string (Azure/login#573).
            owner = github.get_user_output(username=settings.owner, opts=lookup)
            repository = github.get_repository_output(full_name=settings.repository, opts=lookup)
            subject = pulumi.Output.all(
                environment.environment,
                owner.login,
                owner.id.apply(int),
                repository.full_name,
                repository.repo_id,
            ).apply(
                lambda parts: github_subject(
                    f"{parts[1]}/{str(parts[3]).split('/', 1)[1]}", parts[0], parts[2], parts[4]
                )
            )
        else:
            subject = environment.environment.apply(lambda env: github_subject(settings.repository, env))
        args.identity.trust(
            f"{name}-federation",
            credential_name=github_credential_name(settings.owner, settings.name, args.environment),
            issuer=GITHUB_OIDC_ISSUER,
            subject=subject,
            description=f"GitHub Actions jobs of {settings.repository} bound to environment {args.environment}",
            parent=self,
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
