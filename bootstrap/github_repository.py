"""`InfraRepository`: the infra repository's side of the pipelines.

- `infra-<stage>` environments, each trusted by that stage's deployer, with reviewers and a branch
  policy that lets only `main` deploy;
- `infra-preview`, trusted by the preview identity, for pull requests and drift detection (any
  branch: the identity can only read);
- repository variables with the backend URL and secrets provider (not secrets: they name places,
  and only Entra-authorized identities can use them);
- a ruleset on the default branch: changes arrive by pull request, with the PR checks passing;
- the repository's OIDC subject-claim template, pinned to `github.oidcSubjectFormat` (R1).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from bootstrap.settings import GitHubRepositorySettings, InfraEnvironmentSettings
from mlinfra.access.deployment_identity import DeploymentIdentity
from mlinfra.access.github_environment import GitHubEnvironment, GitHubEnvironmentArgs
from mlinfra.access.github_oidc import subject_claim_template
from mlinfra.settings.ci_settings import GitHubBranchPolicy, GitHubSettings

PREVIEW_ENVIRONMENT = "infra-preview"
DEPLOY_BRANCH = "main"


def environment_name(stage: str) -> str:
    return f"infra-{stage}"


def required_checks(configured: list[str], stages: list[str]) -> list[str]:
    """The configured checks and the preview of every stage. GitHub names a matrix job's check
    `<job> (<matrix value>)`: pull-request.yml's `preview` job reports `preview (dev)`, ..."""
    previews = [f"preview ({stage})" for stage in stages]
    return [*configured, *(check for check in previews if check not in configured)]


@dataclass(frozen=True, kw_only=True)
class InfraRepositoryArgs:
    settings: GitHubRepositorySettings
    deployers: Mapping[str, tuple[InfraEnvironmentSettings, DeploymentIdentity, str]]
    """stage -> (its environment settings, its deployer, its subscription id)."""
    previewer: DeploymentIdentity
    tenant_id: str
    backend_url: str
    secrets_provider: str
    ml_repositories: tuple[str, ...] = ()
    """`owner/name` of the ML repositories the deployers manage: the App token's repositories."""


class InfraRepository(pulumi.ComponentResource):
    def __init__(self, name: str, args: InfraRepositoryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:bootstrap:InfraRepository", name, None, opts)
        repo = args.settings
        child = pulumi.ResourceOptions(parent=self)
        subject = {
            "oidc_subject_format": repo.oidc_subject_format,
            "oidc_subject_claims": repo.oidc_subject_claims,
            "oidc_subject_also_trusted": repo.oidc_subject_also_trusted,
        }

        environments = []
        for stage, (settings, deployer, subscription_id) in args.deployers.items():
            environments.append(
                GitHubEnvironment(
                    f"{name}-{stage}",
                    GitHubEnvironmentArgs(
                        environment=environment_name(stage),
                        settings=GitHubSettings(
                            repository=repo.repository,
                            reviewers=settings.reviewers,
                            branch_policy=GitHubBranchPolicy(branch_patterns=[DEPLOY_BRANCH]),
                            prevent_self_review=settings.prevent_self_review,
                            can_admins_bypass=False,
                            wait_timer=settings.wait_timer,
                            **subject,
                        ),
                        identity=deployer,
                        secrets={},
                        manages_subject_template=False,
                        variables={
                            "AZURE_CLIENT_ID": deployer.client_id,
                            "AZURE_TENANT_ID": args.tenant_id,
                            "AZURE_SUBSCRIPTION_ID": subscription_id,
                        },
                    ),
                    opts=child,
                )
            )
        stage_subscriptions = sorted({subscription for _, _, subscription in args.deployers.values()})
        environments.append(
            GitHubEnvironment(
                f"{name}-preview",
                GitHubEnvironmentArgs(
                    environment=PREVIEW_ENVIRONMENT,
                    settings=GitHubSettings(
                        repository=repo.repository,
                        branch_policy=GitHubBranchPolicy(any_branch=True),
                        **subject,
                    ),
                    identity=args.previewer,
                    secrets={},
                    manages_subject_template=False,
                    variables={
                        "AZURE_CLIENT_ID": args.previewer.client_id,
                        "AZURE_TENANT_ID": args.tenant_id,
                        # azure/login needs one subscription; Reader holds on every stage subscription.
                        "AZURE_SUBSCRIPTION_ID": stage_subscriptions[0],
                    },
                ),
                opts=child,
            )
        )
        # R1: one template for the repository, switched only once every environment's credential
        # for the format exists (mlinfra.access.github_oidc).
        subject_claim_template(
            f"{name}-subject-claims",
            repo.name,
            repo.oidc_subject_format,
            repo.oidc_subject_claims,
            pulumi.ResourceOptions(
                parent=self,
                depends_on=[
                    credential for environment in environments for credential in environment.credentials
                ],
            ),
        )
        variables = [
            ("PULUMI_BACKEND_URL", args.backend_url),
            ("PULUMI_SECRETS_PROVIDER", args.secrets_provider),
        ]
        if args.ml_repositories:
            # What the workflows' create-github-app-token steps mint tokens for (docs/deploying.md, "GitHub tokens").
            variables += [
                ("ML_REPOSITORIES_OWNER", args.ml_repositories[0].split("/")[0]),
                ("ML_REPOSITORIES", ",".join(sorted({r.split("/")[1] for r in args.ml_repositories}))),
            ]
        for variable, value in variables:
            github.ActionsVariable(
                f"{name}-variable-{variable}",
                repository=repo.name,
                variable_name=variable,
                value=value,
                opts=child,
            )
        github.RepositoryRuleset(
            f"{name}-main-ruleset",
            name="main: pull requests with passing checks",
            repository=repo.name,
            target="branch",
            enforcement="active",
            conditions=github.RepositoryRulesetConditionsArgs(
                ref_name=github.RepositoryRulesetConditionsRefNameArgs(
                    includes=["~DEFAULT_BRANCH"], excludes=[]
                )
            ),
            rules=github.RepositoryRulesetRulesArgs(
                deletion=True,
                non_fast_forward=True,
                pull_request=github.RepositoryRulesetRulesPullRequestArgs(
                    required_approving_review_count=1,
                    dismiss_stale_reviews_on_push=True,
                    require_last_push_approval=True,
                ),
                required_status_checks=github.RepositoryRulesetRulesRequiredStatusChecksArgs(
                    required_checks=[
                        github.RepositoryRulesetRulesRequiredStatusChecksRequiredCheckArgs(context=check)
                        for check in required_checks(repo.required_checks, list(args.deployers))
                    ],
                    strict_required_status_checks_policy=True,
                ),
            ),
            opts=child,
        )
        self.register_outputs({})
