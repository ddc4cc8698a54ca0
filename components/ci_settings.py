"""Stack config of the CI/CD side of a stage: which platform(s), and how each environment
is protected. Plain settings models; the stage rules that span sections (reviewers
required in preprod/prod, ...) live with the other cross-section checks in `config`.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from components import value_kinds
from components.ci_names import (
    ADO_PROJECT,
    ADO_SECURITY_GROUP,
    ADO_SERVICE_CONNECTION,
    ADO_VARIABLE_GROUP,
    RUNNER_GROUP,
)
from components.settings_base import Name, Settings, distinct, distinct_ignoring_case

GITHUB_MAX_REVIEWERS = 6
GITHUB_MAX_WAIT_MINUTES = 43_200

_PATTERN = Annotated[StrictStr, Field(min_length=1, max_length=255, pattern=r"^[^\s:]+$")]


class CiPlatform(StrEnum):
    GITHUB = "github"
    AZURE_DEVOPS = "azure-devops"
    BOTH = "both"

    @property
    def uses_github(self) -> bool:
        return self in (CiPlatform.GITHUB, CiPlatform.BOTH)

    @property
    def uses_azure_devops(self) -> bool:
        return self in (CiPlatform.AZURE_DEVOPS, CiPlatform.BOTH)


class OidcSubjectFormat(StrEnum):
    """How GitHub writes the repository into a job token's `sub` claim (ID-2, T-34).

    No default: GitHub's REST API tells it (`use_immutable_subject` of
    `GET /repos/{owner}/{repo}/actions/oidc/customization/sub`), but the provider's lookup of that
    endpoint (`get_actions_repository_oidc_subject_claim_customization_template`) returns only
    `use_default` and `include_claim_keys`, and `get_repository` has no creation or rename date.
    """

    LEGACY = "legacy"
    """`repo:<owner>/<repo>:...`: repositories created before 2026-07-15 that did not opt in."""
    IMMUTABLE = "immutable"
    """`repo:<owner>@<owner-id>/<repo>@<repo-id>:...`: the default for repositories created or
    renamed on or after 2026-07-15."""


class GitHubReviewers(Settings):
    users: Annotated[
        list[Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")]],
        AfterValidator(distinct_ignoring_case),
    ] = Field(default_factory=list)
    """GitHub logins (for example `octocat`), resolved to the numeric ids GitHub needs (P12). Default none."""
    teams: Annotated[
        list[Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,99}$")]], AfterValidator(distinct)
    ] = Field(default_factory=list)
    """Team slugs of the repository's organization (for example `ml-engineers`); the team needs read
    access to the repository or GitHub silently ignores it (P12). Default none."""

    @property
    def count(self) -> int:
        return len(self.users) + len(self.teams)

    @model_validator(mode="after")
    def _reviewer_limit(self):
        # On the reviewers themselves, so every section that takes reviewers (a stage's
        # ci.github, the bootstrap project's stages) refuses a seventh at config load.
        if self.count > GITHUB_MAX_REVIEWERS:
            raise ValueError(
                f"expected at most {GITHUB_MAX_REVIEWERS} reviewers (users and teams together), got {self.count}"
            )
        return self


class GitHubBranchPolicy(Settings):
    """Which refs may deploy to the environment: protected branches, or named patterns (GH-3)."""

    protected_branches: StrictBool = False
    """true: any branch with branch protection rules may deploy. Default false."""
    branch_patterns: Annotated[list[_PATTERN], AfterValidator(distinct)] = Field(default_factory=list)
    """Branch name patterns that may deploy (fnmatch; `*` does not match `/`). Default none."""
    tag_patterns: Annotated[list[_PATTERN], AfterValidator(distinct)] = Field(default_factory=list)
    """Tag name patterns that may deploy (for example `v*`). Default none."""
    any_branch: StrictBool = False
    """true: no branch policy at all, any ref may deploy (dev only). Default false."""

    @model_validator(mode="after")
    def _exactly_one_kind(self):
        kinds = [self.protected_branches, bool(self.branch_patterns or self.tag_patterns), self.any_branch]
        if sum(kinds) != 1:
            raise ValueError(
                "expected exactly one of protectedBranches: true, branchPatterns/tagPatterns, or anyBranch: true "
                "(GitHub needs exactly one of protected branches and custom branch policies, GH-3)"
            )
        return self

    @property
    def custom(self) -> bool:
        return bool(self.branch_patterns or self.tag_patterns)


GitHubRepository = value_kinds.GitHubRepository
"""`owner/name` as GitHub accepts it (`components.value_kinds.github_repository`)."""


class InGitHubRepository(Settings):
    """A section about one GitHub repository: its `owner/name` and the two parts."""

    repository: GitHubRepository

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]


class GitHubSettings(InGitHubRepository):
    repository: GitHubRepository
    """`owner/name` of the repository whose workflows deploy to this stage. Required."""
    reviewers: GitHubReviewers = GitHubReviewers()
    """Required reviewers of a deployment, at most 6 users and teams together. Default none
    (refused in preprod and prod, GH-2)."""
    branch_policy: GitHubBranchPolicy = GitHubBranchPolicy(branch_patterns=["main"])
    """Which refs may deploy. Default: the `main` branch only."""
    wait_timer: Annotated[StrictInt, Field(ge=0, le=GITHUB_MAX_WAIT_MINUTES)] = 0
    """Minutes a deployment waits after approval, 0-43200 (GH-4). Default 0."""
    prevent_self_review: StrictBool = True
    """Whether the person who triggered a deployment may not approve it. Default true (GH-2)."""
    can_admins_bypass: StrictBool = False
    """Whether repository admins may skip the protection rules. Default false (GitHub's own default
    is true, P12)."""
    oidc_subject_format: OidcSubjectFormat
    """`immutable` or `legacy`, as `gh api repos/<owner>/<repo>/actions/oidc/customization/sub --jq
    .use_immutable_subject` answers (true: `immutable`, false: `legacy`; repositories created or
    renamed on or after 2026-07-15 are `immutable` unless opted out). Required: none of the GitHub
    provider's lookups tells the format, and a wrong one makes every login fail."""


class AzureDevOpsSettings(Settings):
    organization_url: Annotated[
        StrictStr,
        Field(
            pattern=r"^https://(dev\.azure\.com/[A-Za-z0-9][A-Za-z0-9-]{0,49}|[A-Za-z0-9][A-Za-z0-9-]{0,49}\.visualstudio\.com)/?$"
        ),
    ]
    """`https://dev.azure.com/<organization>`. Required."""
    project: Annotated[Name, AfterValidator(ADO_PROJECT.validate)]
    """Name of the Azure DevOps project that holds the pipelines. Required."""
    service_connection_name: Annotated[Name, AfterValidator(ADO_SERVICE_CONNECTION.validate)] | None = None
    """Name of the Azure Resource Manager service connection. Default `spn-aml-workspace-<stage>`."""
    variable_group_name: Annotated[Name, AfterValidator(ADO_VARIABLE_GROUP.validate)] | None = None
    """Name of the variable group that carries the stage's pipeline variables (the values a GitHub
    environment gets as variables). Default `aml-workspace-<stage>`."""
    approvers: Annotated[
        list[Annotated[Name, AfterValidator(ADO_SECURITY_GROUP.validate)]],
        AfterValidator(distinct_ignoring_case),
    ] = Field(default_factory=list)
    """Names of project groups whose members approve runs that use the environment or connection
    (for example `ML Engineers`). Default none (refused in preprod and prod, ADO-3)."""
    minimum_approvers: Annotated[StrictInt, Field(ge=1, le=10)] = 1
    """Approvals a run needs. Default 1; the requester can never approve their own run."""
    allowed_branches: Annotated[
        list[Annotated[StrictStr, Field(pattern=r"^refs/(heads|tags)/\S+$")]], AfterValidator(distinct)
    ] = Field(default_factory=lambda: ["refs/heads/main"])
    """Fully qualified refs that may use the environment and connection (branch control, ADO-3).
    Default `refs/heads/main`."""
    verify_branch_protection: StrictBool = True
    """Whether branch control also requires the run's branch to have branch protection (Azure
    DevOps "Verify branch protection", ADO-3). Default true."""
    ignore_unknown_protection_status: StrictBool = False
    """Whether a run still passes branch control when Azure DevOps cannot tell whether its branch is
    protected. Default false: an unknown status fails the check (ADO-3). Set true only if runs from a
    repository whose protection Azure DevOps cannot read are blocked, and keep approvals on."""
    exclusive_lock: StrictBool = True
    """Whether runs against the stage are serialized (one at a time, ADO-3). Default true."""
    pipelines: Annotated[list[Annotated[StrictInt, Field(ge=1)]], AfterValidator(distinct)] = Field(
        default_factory=list
    )
    """Ids of the pipeline definitions authorized to use the environment, connection and variable
    group; never all pipelines (ADO-2). Default none: every pipeline must then be authorized by hand."""


class CiSettings(Settings):
    platform: CiPlatform
    """`github`, `azure-devops` or `both`: where the stage's pipelines run. Required."""
    runner_group: Annotated[StrictStr, AfterValidator(RUNNER_GROUP.validate)] | None = None
    """Runner group (GitHub) or agent pool (Azure DevOps) whose machines can reach the stage: needed
    when the stage is private. Published to jobs as `AZUREML_RUNNER_GROUP`. Default none."""
    github: GitHubSettings | None = None
    """The GitHub environment of the stage; required when the platform includes GitHub."""
    azure_dev_ops: Annotated[AzureDevOpsSettings | None, Field(alias="azureDevOps")] = None
    """The Azure DevOps environment and service connection; required when the platform includes
    Azure DevOps."""

    @model_validator(mode="after")
    def _sections_match_platform(self):
        problems = []
        for wanted, section, key in (
            (self.platform.uses_github, self.github, "github"),
            (self.platform.uses_azure_devops, self.azure_dev_ops, "azureDevOps"),
        ):
            if wanted and section is None:
                problems.append(f"platform {self.platform.value!r} needs the {key} section")
            if not wanted and section is not None:
                problems.append(
                    f"the {key} section is set but platform is {self.platform.value!r}; remove it or change platform"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self
