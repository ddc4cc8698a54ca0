"""The typed, validated configuration of the bootstrap stack, and what it reads from the stage
project's own stack files (`../Pulumi.<stage>.yaml`): each stage's subscription and tenant,
whether it deploys an Entra app, and the existing subnet and hub DNS zones it points at.
Stage facts are read, never repeated here, so the deployer's rights follow the stage config.

Invalid input raises `ConfigError` (the stage project's class) before anything is registered,
with one line naming the key, the value received and what is allowed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import AfterValidator, Field, StrictBool, StrictInt, StrictStr, ValidationError, model_validator
from pydantic_core import ErrorDetails

from bootstrap.stack_facts import STAGE_PROJECT_DIR, StageFacts, bootstrap_error, project_stacks, stage_facts
from mlinfra.config import config_guards as guards
from mlinfra.config.config_guards import placeholder_problems
from mlinfra.facts.ci_names import ADO_SECURITY_GROUP
from mlinfra.settings.access_settings import IdentityKind, owner_ids
from mlinfra.settings.ci_settings import (
    AzureDevOpsSettings,
    GitHubRepository,
    GitHubReviewers,
    InGitHubRepositoryWithSubject,
)
from mlinfra.settings.settings_base import Guid, Settings, distinct

AZURE_KEYS = ("subscriptionId", "tenantId", "location")


class StateBackendSettings(Settings):
    blob_soft_delete_days: Annotated[StrictInt, Field(ge=1, le=365)] = 30
    """Days a deleted or overwritten state blob stays recoverable, 1-365. Default 30."""
    container_soft_delete_days: Annotated[StrictInt, Field(ge=1, le=365)] = 30
    """Days a deleted state container stays recoverable, 1-365. Default 30."""
    version_retention_days: Annotated[StrictInt, Field(ge=1, le=3650)] = 90
    """Days a previous version of a state blob is kept, 1-3650: a lifecycle rule deletes versions
    older than this (then soft delete keeps them blobSoftDeleteDays more). Default 90. Every `pulumi
    up` writes a new version of the stack's checkpoint, so without the rule they pile up forever."""
    key_vault_soft_delete_days: Annotated[StrictInt, Field(ge=7, le=90)] = 90
    """Days a deleted secrets vault stays recoverable, 7-90. Default 90."""
    sku: Annotated[StrictStr, Field(pattern=r"^Standard_(ZRS|GRS|RAGRS|GZRS|RAGZRS)$")] = "Standard_ZRS"
    """Replication of the state account: Standard_ZRS, Standard_GRS, Standard_RAGRS, Standard_GZRS or
    Standard_RAGZRS (never LRS: the state of every stage lives here). Default Standard_ZRS."""


class InfraEnvironmentSettings(Settings):
    identity_kind: IdentityKind = IdentityKind.MANAGED_IDENTITY
    """managed-identity (default, no Entra app-registration rights needed) or entra-application: the
    kind of the infra deployer identity of this stage."""
    reviewers: GitHubReviewers = GitHubReviewers()
    """Who must approve a deployment in `infra-<stage>` (logins and team slugs). Default none."""
    prevent_self_review: StrictBool = True
    """Whether whoever triggered a run may not approve it. Default true."""
    wait_timer: Annotated[StrictInt, Field(ge=0, le=43_200)] = 0
    """Minutes to wait before a deployment proceeds, 0-43200. Default 0."""
    azure_dev_ops_approvers: Annotated[
        list[Annotated[StrictStr, AfterValidator(ADO_SECURITY_GROUP.validate)]] | None,
        Field(alias="azureDevOpsApprovers"),
    ] = None
    """Azure DevOps project groups whose members approve runs that use this stack's `infra-<stack>`
    environment and `spn-mlinfra-<stack>` connection. Default: `azureDevOps.approvers`."""


class PreviewSettings(Settings):
    identity_kind: IdentityKind = IdentityKind.MANAGED_IDENTITY
    """managed-identity (default) or entra-application: the kind of the read-only preview identity."""


class GitHubRepositorySettings(InGitHubRepositoryWithSubject):
    """The infra repository. `oidcSubjectFormat` (`classic`, `immutable` or `custom`, with
    `oidcSubjectClaims` for custom) is the `sub` its tokens carry (T-34); bootstrap pins the
    repository's subject-claim template to it (docs/ci-cd.md). Required: repositories created or
    renamed on or after 2026-07-15 default to immutable, and a wrong format fails every login."""

    repository: GitHubRepository
    """`owner/name` of the infra repository (this repository). Required."""
    required_checks: Annotated[
        list[Annotated[StrictStr, Field(min_length=1, max_length=255)]],
        Field(min_length=1),
        AfterValidator(distinct),
    ] = Field(default_factory=lambda: ["test", "plan-diff"])
    """Status checks a pull request into main must pass, as GitHub names them, besides
    `preview (<stage>)` of every stage, which is always required. Default test, plan-diff."""

    @model_validator(mode="after")
    def _preview_subject_is_fixed(self):
        # infra-preview serves pull-request.yml's preview job, which is no reusable workflow and runs
        # at refs/pull/<n>/merge. GitHub documents job_workflow_ref only for jobs in a reusable
        # workflow ("OIDC token claims"); outside one it is the workflow's own ref at the pull
        # request's merge ref [unverified], so either it is missing or it changes per pull request.
        claims = self.oidc_subject_claims
        if claims is not None and "job_workflow_ref" in claims.claim_keys:
            raise ValueError(
                "oidcSubjectClaims.claimKeys: job_workflow_ref cannot serve the infra repository, whose "
                "infra-preview jobs run at refs/pull/<n>/merge (a different job_workflow_ref per pull "
                "request); use it in the ML repositories' stacks (ci.github)"
            )
        return self


class InfraAzureDevOpsSettings(AzureDevOpsSettings):
    """The Azure DevOps project of the infra pipelines (azure-pipelines.yml, azure-pipelines-drift.yml):
    its `infra-<stack>` environments and `spn-mlinfra-<stack>` / `spn-mlinfra-preview` service
    connections, named as those files name them."""

    @model_validator(mode="after")
    def _fixed_names(self):
        for key, value in (
            ("serviceConnectionName", self.service_connection_name),
            ("variableGroupName", self.variable_group_name),
        ):
            if value is not None:
                raise ValueError(
                    f"{key}: the infra pipelines name theirs (spn-mlinfra-<stack>, infra-<stack>: "
                    "templates/pulumi-up.yml); remove it"
                )
        return self


class BootstrapSettings(Settings):
    name: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9]{1,9}$")]
    """2-10 lowercase letters and digits starting with a letter. Required: first part of every
    bootstrap resource name (for example `mlinfra`)."""
    state_backend: StateBackendSettings = StateBackendSettings()
    """The storage account, container and key vault key that hold every stage's Pulumi state."""
    github: GitHubRepositorySettings
    """The infra repository: its environments, variables and ruleset. Required."""
    azure_dev_ops: Annotated[InfraAzureDevOpsSettings | None, Field(alias="azureDevOps")] = None
    """The Azure DevOps project of the infra pipelines. Set it when azure-pipelines.yml deploys the
    stacks: bootstrap then creates each stack's environment and service connection there, and the
    preview identity's. Default none (GitHub Actions only; remove azure-pipelines*.yml then)."""
    preview: PreviewSettings = PreviewSettings()
    """The read-only identity of `pulumi preview` (pull requests, drift detection)."""
    application_owners: Annotated[list[Guid], AfterValidator(owner_ids)] | None = None
    """Object ids (GUIDs) of the administrators (users or service principals) who own the Entra
    applications bootstrap creates. Required when an identity is `entra-application`: the provider
    removes every owner not listed, and without owners it removes the caller (P17)."""
    administrator_group_object_id: Guid | None = None
    """a GUID. Entra group of the administrators who run bootstrap and `pulumi stack init`: it gets
    blob data access to the state container and encrypt/decrypt on the secrets key (the account
    takes no shared keys, so nobody reads state without a role). Default none."""
    stages: dict[Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9-]{1,19}$")], InfraEnvironmentSettings] = (
        Field(default_factory=dict)
    )
    """Stack of the stage project -> settings of its infra environment (`infra-<stack>`), for the
    stacks that want other than the defaults. Every stack of the stage project (the shared stack and
    each catalog stage, read from `../Pulumi.yaml` and its stack files) gets a deployer and an
    environment whether or not it is listed; a key that is no stack there is refused. Default none."""


class BootstrapConfig(BootstrapSettings):
    def environment(self, stack: str) -> InfraEnvironmentSettings:
        """The infra environment settings of `stack`: its entry under `stages`, else the defaults."""
        return self.stages.get(stack) or InfraEnvironmentSettings()

    subscription_id: Annotated[Guid, Field(alias="subscriptionId")]
    """a GUID. The subscription of the state backend and the infra identities."""
    tenant_id: Annotated[Guid, Field(alias="tenantId")]
    """a GUID. The Entra tenant of every stage."""
    location: StrictStr
    """The region of the state backend and the identities."""


def load_bootstrap_config() -> tuple[BootstrapConfig, list[StageFacts]]:
    """Read and validate the bootstrap stack's config and the stages' facts; raise ConfigError."""
    namespace = pulumi.get_project()
    prefix = f"{namespace}:"
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values = {key[len(prefix) :]: value for key, value in everything.items() if key.startswith(prefix)}
    raw: dict[str, Any] = {key: _decode(key, value) for key, value in values.items()}
    azure = pulumi.Config("azure-native")
    for key in AZURE_KEYS:
        if (value := azure.get(key)) is not None:
            raw[key] = value
    problems = [
        f"{namespace}:{key}: set under azure-native:, not {namespace}:"
        for key in set(values) & set(AZURE_KEYS)
    ]
    problems += guards.namespace_problems(everything, namespace, own=namespace)  # a typo drops settings
    problems += guards.secret_problems(guards.secret_keys())
    problems += guards.plaintext_secret_problems(everything, guards.secret_keys())
    problems += placeholder_problems(everything)  # only under the real engine
    try:
        config = BootstrapConfig.model_validate(raw, by_name=False)
    except ValidationError as error:
        problems += [_describe(namespace, detail) for detail in error.errors(include_url=False)]
        config = None
    if config is not None and not config.application_owners:
        kinds = [config.preview.identity_kind, *(stage.identity_kind for stage in config.stages.values())]
        if IdentityKind.ENTRA_APPLICATION in kinds:
            problems.append(
                f"{namespace}:applicationOwners: required when an identity is entra-application; expected "
                "the object ids (GUIDs) of the administrators who own the Entra applications (P17)"
            )
    if problems or config is None:
        raise bootstrap_error(problems)
    stacks = project_stacks(STAGE_PROJECT_DIR)
    unknown = [stage for stage in config.stages if stage not in stacks]
    if unknown:
        raise bootstrap_error(
            [
                f"{namespace}:stages.{stage}: no stack of that name in the stage project; expected one of "
                f"{', '.join(stacks)}{guards.did_you_mean(stage, stacks)}"
                for stage in unknown
            ]
        )
    if not stacks:
        raise bootstrap_error(
            f"{namespace}:stages: the stage project {STAGE_PROJECT_DIR} has no stack file; "
            "expected Pulumi.<stage>.yaml for each stage of its catalog"
        )
    facts = [stage_facts(namespace, stack, config.tenant_id, STAGE_PROJECT_DIR) for stack in stacks]
    organization = config.azure_dev_ops.organization_url.rstrip("/") if config.azure_dev_ops else None
    elsewhere = [
        f for f in facts if f.azure_devops_organization and f.azure_devops_organization != organization
    ]
    if elsewhere:
        raise bootstrap_error(
            [
                f"{namespace}:azureDevOps.organizationUrl: got {json.dumps(organization)}; stage {f.stage} runs its "
                f"pipelines in {f.azure_devops_organization} (Pulumi.{f.stage}.yaml ci.azureDevOps.organizationUrl), "
                "where its deployer creates the stage's environment and connection; expected that organization, "
                "so bootstrap entitles the deployer there"
                for f in elsewhere
            ]
        )
    owners = sorted({fact.github_repository.split("/")[0] for fact in facts if fact.github_repository})
    if len(owners) > 1:
        raise bootstrap_error(
            f"{namespace}:stages: the stages' ML repositories belong to {', '.join(owners)}; "
            "expected one owner (one GitHub App installation token covers one owner's repositories)"
        )
    return config, facts


def _decode(key: str, value: Any) -> Any:
    """Objects, lists, booleans and numbers arrive as JSON text; `name` stays a string."""
    if key == "name" or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (json.JSONDecodeError, RecursionError):  # nested past the interpreter's limit: a string
        return value


def _describe(namespace: str, detail: ErrorDetails) -> str:
    loc = [str(part) for part in detail["loc"]]
    head = loc[0] if loc else "<root>"
    key = f"{'azure-native' if head in AZURE_KEYS else namespace}:{'.'.join(loc) or '<root>'}"
    kind = detail["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key"
    if kind == "missing":
        return f"{key}: required but not set"
    message = detail["msg"].removeprefix("Value error, ").replace("Input should be", "expected")
    if kind == "string_pattern_mismatch":
        message = f"expected a value matching {detail.get('ctx', {}).get('pattern')}"
    return f"{key}: got {json.dumps(detail['input'], default=str)}; {message}"
