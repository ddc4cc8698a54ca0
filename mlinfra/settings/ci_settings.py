"""Stack config of the CI/CD side of a stage: which platform(s), and how each environment
is protected. Plain settings models; the stage rules that span sections (reviewers
required in preprod/prod, ...) live with the other cross-section checks in `config`.
"""

from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from mlinfra.facts.ci_names import (
    ADO_PROJECT,
    ADO_SECURITY_GROUP,
    ADO_SERVICE_CONNECTION,
    ADO_VARIABLE_GROUP,
    RUNNER_GROUP,
)
from mlinfra.settings import value_kinds
from mlinfra.settings.settings_base import Name, Settings, distinct, distinct_ignoring_case

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
    """How GitHub writes a job token's `sub` claim (ID-2, T-34; GitHub "OpenID Connect reference",
    https://docs.github.com/en/actions/reference/security/oidc). The program pins the repository's
    subject-claim template to it (`mlinfra.access.github_oidc`); whether a repository's `repo` segment
    carries ids is a separate repository setting that no provider resource manages.

    No default: GitHub's REST API tells it (`use_immutable_subject` of
    `GET /repos/{owner}/{repo}/actions/oidc/customization/sub`), but the provider's lookup of that
    endpoint returns only `use_default` and `include_claim_keys`, and a wrong format makes every
    login fail.
    """

    CLASSIC = "classic"
    """`repo:<owner>/<repo>:environment:<env>`: GitHub's default template, on a repository created
    before 2026-07-15 that did not opt in to immutable subjects. `legacy` is accepted as its old name."""
    IMMUTABLE = "immutable"
    """`repo:<owner>@<owner-id>/<repo>@<repo-id>:environment:<env>`: GitHub's default template on a
    repository created, renamed or transferred on or after 2026-07-15, or opted in."""
    CUSTOM = "custom"
    """`oidcSubjectClaims.claimKeys` as the repository's template (`use_default: false`): the
    subject is those claims' `key:value` pairs in order."""


LEGACY_SUBJECT_FORMAT = "legacy"
"""The old name of `classic` (before the format became a managed template), still accepted."""


def _legacy_alias(value: object) -> object:
    return OidcSubjectFormat.CLASSIC.value if value == LEGACY_SUBJECT_FORMAT else value


SubjectFormat = Annotated[OidcSubjectFormat, BeforeValidator(_legacy_alias)]


class OidcClaimKey(StrEnum):
    """Claims a custom subject may carry: those with one value for every job of the stage's
    environment, so the credential can trust it exactly (GitHub "OIDC token claims"). Claims that
    differ per run (`ref`, `sha`, `actor`, `run_id`, `workflow`, ...) would need a credential per
    value and are refused."""

    REPO = "repo"
    """`repo:<owner>/<repo>` (with the ids on an immutable repository)."""
    CONTEXT = "context"
    """`environment:<env>` for a job bound to an environment."""
    ENVIRONMENT = "environment"
    REPOSITORY_OWNER = "repository_owner"
    REPOSITORY_OWNER_ID = "repository_owner_id"
    REPOSITORY_ID = "repository_id"
    REPOSITORY_VISIBILITY = "repository_visibility"
    JOB_WORKFLOW_REF = "job_workflow_ref"
    """`<owner>/<repo>/.github/workflows/<file>@<ref>` of the reusable workflow the job runs: pins
    tokens to an approved deployment workflow (GitHub "Example: Requiring a reusable workflow")."""


_JOB_WORKFLOW_REF = (
    r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/\.github/workflows/[^@\s:]+\.ya?ml@refs/(heads|tags)/[^\s:]+$"
)


class GitHubOidcSubjectClaims(Settings):
    """The claim keys of a custom subject-claim template (oidcSubjectFormat `custom`)."""

    claim_keys: Annotated[list[OidcClaimKey], Field(min_length=1), AfterValidator(distinct)]
    """Claim keys in the order GitHub joins them, for example `[repo, context, job_workflow_ref]`.
    Required; must bind the repository (`repo` or `repository_id`) and the environment
    (`context` or `environment`), or any job of the owner could sign in (ID-2)."""
    job_workflow_ref: Annotated[StrictStr, Field(pattern=_JOB_WORKFLOW_REF)] | None = None
    """`<owner>/<repo>/.github/workflows/<file>.yml@refs/heads/<branch>` of the approved reusable
    workflow. Required with `job_workflow_ref` among the keys, refused without."""
    repository_ids: StrictBool | None = None
    """Whether the repository uses immutable subject claims, so its `repo` segment is
    `<owner>@<owner-id>/<repo>@<repo-id>` (GitHub keeps the ids even in a custom template).
    Required with `repo` among the keys, refused without."""

    @model_validator(mode="after")
    def _binds_repository_and_environment(self):
        keys = set(self.claim_keys)
        problems = []
        if not keys & {OidcClaimKey.REPO, OidcClaimKey.REPOSITORY_ID}:
            problems.append("claimKeys must include repo or repository_id (bind the repository, ID-2)")
        if not keys & {OidcClaimKey.CONTEXT, OidcClaimKey.ENVIRONMENT}:
            problems.append("claimKeys must include context or environment (bind the environment, ID-2)")
        for key, value, field in (
            (OidcClaimKey.JOB_WORKFLOW_REF, self.job_workflow_ref, "jobWorkflowRef"),
            (OidcClaimKey.REPO, self.repository_ids, "repositoryIds"),
        ):
            if key in keys and value is None:
                problems.append(f"{field} is required when claimKeys include {key.value}")
            if key not in keys and value is not None:
                problems.append(f"{field} is set but claimKeys do not include {key.value}")
        if problems:
            raise ValueError("\n".join(problems))  # one problem per line (ConfigError)
        return self


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
"""`owner/name` as GitHub accepts it (`mlinfra.settings.value_kinds.github_repository`)."""


class InGitHubRepository(Settings):
    """A section about one GitHub repository: its `owner/name` and the two parts."""

    repository: GitHubRepository

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repository.split("/", 1)[1]


class InGitHubRepositoryWithSubject(InGitHubRepository):
    """A repository whose workflows sign in to Azure: the subject format its tokens carry."""

    oidc_subject_format: SubjectFormat
    """`classic`, `immutable` or `custom`, as `gh api repos/<owner>/<repo>/actions/oidc/customization/sub`
    tells: `use_immutable_subject` true is `immutable` (the default of repositories created or
    renamed on or after 2026-07-15), false `classic`, and `use_default` false a `custom` template;
    the program then pins the repository's subject-claim template to it (docs/ci-cd.md). Required:
    a wrong one makes every login fail."""
    oidc_subject_claims: GitHubOidcSubjectClaims | None = None
    """The custom template's claim keys; required when `custom` is the format or among
    `oidcSubjectAlsoTrusted`, refused otherwise."""
    oidc_subject_also_trusted: Annotated[list[SubjectFormat], AfterValidator(distinct)] = Field(
        default_factory=list
    )
    """Formats trusted besides `oidcSubjectFormat`, each with a credential of its own, while a
    repository moves between formats without downtime (docs/ci-cd.md, "Changing the subject
    format"). Default none."""

    @model_validator(mode="after")
    def _claims_match_format(self):
        formats = [self.oidc_subject_format, *self.oidc_subject_also_trusted]
        custom = OidcSubjectFormat.CUSTOM in formats
        if self.oidc_subject_format in self.oidc_subject_also_trusted:
            raise ValueError(
                f"oidcSubjectAlsoTrusted lists {self.oidc_subject_format.value!r}, the oidcSubjectFormat itself; "
                "list only the formats being left"
            )
        if custom and self.oidc_subject_claims is None:
            raise ValueError("the custom subject format needs oidcSubjectClaims (claimKeys, ...)")
        if not custom and self.oidc_subject_claims is not None:
            raise ValueError(
                f"oidcSubjectClaims is set but oidcSubjectFormat is {self.oidc_subject_format.value!r}; "
                "remove it or use custom"
            )
        return self

    @property
    def trusted_subject_formats(self) -> list[OidcSubjectFormat]:
        """The format GitHub emits first, then those still trusted during a move."""
        return [self.oidc_subject_format, *self.oidc_subject_also_trusted]


class GitHubSettings(InGitHubRepositoryWithSubject):
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


class TemplateRepositoryType(StrEnum):
    """Where the template lives (azuredevops CheckRequiredTemplate `repository_type`)."""

    AZURE_REPOS = "azuregit"
    GITHUB = "github"
    GITHUB_ENTERPRISE = "githubenterprise"
    BITBUCKET = "bitbucket"


class RequiredTemplate(Settings):
    """One template a run must extend (Microsoft Learn, "Define approvals and checks", Required
    template: the check passes only for a pipeline that extends it)."""

    repository_type: TemplateRepositoryType = TemplateRepositoryType.AZURE_REPOS
    """azuregit (default), github, githubenterprise or bitbucket."""
    repository_name: Annotated[StrictStr, Field(pattern=r"^[^/\s]+/[^/\s]+$")]
    """`<project>/<repository>` (Azure Repos) or `<owner>/<repository>`. Required."""
    repository_ref: Annotated[StrictStr, Field(pattern=r"^refs/(heads|tags)/\S+$")] = "refs/heads/main"
    """The fully qualified ref of the approved template. Default refs/heads/main."""
    template_path: Annotated[StrictStr, Field(pattern=r"^[^\s]+\.ya?ml$")]
    """Path of the template in that repository (ends in .yml or .yaml). Required."""


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
    required_templates: list[RequiredTemplate] = Field(default_factory=list)
    """Governed pipelines (hardened mode, docs/ci-cd.md): the YAML templates a run must extend to use
    the environment and the service connection (Azure DevOps "Required template" check), so the
    identity cannot be used outside the approved template. Default none."""


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
            raise ValueError("\n".join(problems))  # one problem per line (ConfigError)
        return self
