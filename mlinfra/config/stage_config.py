"""The typed, validated, frozen configuration of one stage, read once from stack config.

The stack selects the stage (PU-4): stack `dev` (or `<workload>-dev`) is stage `dev` of the
stage catalog (`mlinfra:stages` in Pulumi.yaml, see `mlinfra.config.stage_catalog`). Everything that
differs between stages is data under the `mlinfra` namespace in `Pulumi.<stack>.yaml`;
the Azure target (subscription, tenant, region) is the `azure-native:` provider config, so
the names derived here and the subscription the provider deploys to cannot disagree.

Anything config leaves out gets the secure choice. Invalid input raises `ConfigError`
before any resource is registered, naming the key, the value received and what is allowed.
"""

from typing import Annotated, Any

from pydantic import AfterValidator, Field, StrictStr

from mlinfra.config import config_guards as guards
from mlinfra.config.stage_catalog import (
    StageDefinition,
)
from mlinfra.facts.naming import SUFFIX_LENGTH, StageNames, stage_names
from mlinfra.facts.regions import REGION_CODES
from mlinfra.settings.access_settings import (
    DeploymentIdentitySettings,
    Persona,
)
from mlinfra.settings.ci_settings import CiSettings
from mlinfra.settings.compute_settings import ComputeSettings
from mlinfra.settings.diagnostic_settings import DiagnosticsSettings
from mlinfra.settings.lock_settings import LockSettings
from mlinfra.settings.network_settings import NetworkSettings
from mlinfra.settings.registry_access_settings import RegistryAccessSettings
from mlinfra.settings.relaxation_settings import ProductionRule
from mlinfra.settings.settings_base import Guid, Settings, StrictInt
from mlinfra.settings.value_kinds import Reason
from mlinfra.settings.workspace_settings import (
    ContainerRegistrySettings,
    EncryptionSettings,
    KeyVaultSettings,
    MonitoringSettings,
    ResourceProtection,
    StorageSettings,
    WorkspaceSettings,
)

DATA_SCIENTISTS = "dataScientists"


ML_ENGINEERS = "mlEngineers"


_TAG_FORBIDDEN = set("<>%&\\?/")


RESERVED_TAGS = ("workload", "stage", "managed-by")
"""Tags the program sets on every resource itself; config cannot override them."""


def known_region(value: str) -> str:
    if value not in REGION_CODES:
        raise ValueError(f"expected an Azure region of this project's allow-list: {', '.join(REGION_CODES)}")
    return value


def valid_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > 50 - len(RESERVED_TAGS):
        raise ValueError(
            f"expected at most {50 - len(RESERVED_TAGS)} tags (Azure allows 50, {len(RESERVED_TAGS)} are set by the program)"
        )
    seen: set[str] = set()
    for name, value in tags.items():
        if not 1 <= len(name) <= 512 or _TAG_FORBIDDEN & set(name) or name != name.strip():
            raise ValueError(
                f"tag name {guards.short(name)!r}: expected 1-512 characters without any of < > % & \\ ? / "
                "and without leading or trailing whitespace"
            )
        if name.lower() in RESERVED_TAGS:
            raise ValueError(f"tag name {name!r} is set by the program; reserved: {', '.join(RESERVED_TAGS)}")
        if name.lower() in seen:
            raise ValueError(f"tag name {name!r} appears twice (Azure tag names are case-insensitive)")
        seen.add(name.lower())
        if len(value) > 256:
            raise ValueError(f"tag {name!r}: expected a value of at most 256 characters")
    return tags


def _folded(name: str) -> str:
    """A persona name as a reader might misspell it: case, hyphens, underscores and a plural `s` ignored."""
    return name.casefold().replace("-", "").replace("_", "").removesuffix("s")


def _persona_names(personas: dict[str, Any]) -> dict[str, Any]:
    """The data-scientist (RB-7) and ML-engineer (T-21) rules key on the exact persona names, so a
    near-miss such as `dataScientist` would escape them: refuse it instead."""
    for name in personas:
        for known in (DATA_SCIENTISTS, ML_ENGINEERS):
            if name != known and _folded(name) == _folded(known):
                raise ValueError(
                    f"persona {name!r} is a near-miss of {known!r}, which the stage rules key on; name it {known!r}"
                )
    return personas


class StageSettings(Settings):
    """The settings under the `mlinfra` namespace (Pulumi.yaml for every stack, `Pulumi.<stack>.yaml` over it)."""

    stages: list[StageDefinition]
    """a list of stages in delivery order. The stage catalog: set once, as the `default` of
    `mlinfra:stages` in Pulumi.yaml; a stack file may not set it."""

    workload: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9]{1,13}$")]
    """2-14 lowercase letters and digits starting with a letter. Required: the short name of the
    ML workload or team (for example `churn`), first part of every resource name."""
    unique_suffix: Annotated[StrictStr, Field(pattern=rf"^[a-z0-9]{{{SUFFIX_LENGTH}}}$")] | None = None
    """5 lowercase letters or digits. Ends the globally unique names (storage, key vault,
    registry). Default: derived from subscription, workload and stage; set it to step past a
    name still reserved by a soft-deleted key vault (P3)."""
    name_generation: Annotated[StrictInt, Field(ge=0, le=9)] = 0
    """0-9: which set of names the stage's soft-deletable resources carry. Default 0, the names
    the stage has always had. Raise it by one to rebuild a destroyed non-production stage while the
    old names are still held soft-deleted (a key vault for its retention, a workspace for 14 days):
    the storage account, key vault and registry get a new derived suffix and the workspace name ends
    in -<n>; the CI identity, resource group and monitoring keep theirs (docs/soft-delete.md).
    Refused in production stages (they recover what was deleted), with uniqueSuffix and with
    workspace.sharedFrom. On a stage that still exists it replaces every one of those resources."""
    tags: Annotated[dict[StrictStr, StrictStr], AfterValidator(valid_tags)] = Field(default_factory=dict)
    """Tags on every taggable resource, besides `workload`, `stage` and `managed-by`, which the
    program sets itself. Default none."""
    network: NetworkSettings | None = None
    """public (publicNetworkAccessEnabled: true) or private (privateEndpoints). Required unless
    workspace.sharedFrom is set: how the stage's data-plane resources are reached; there is no safe
    default that also works. A stage that shares a workspace creates nothing networked and takes none."""
    storage: StorageSettings = StorageSettings()
    """The workspace's default storage account."""
    key_vault: KeyVaultSettings = KeyVaultSettings()
    """The workspace's key vault (always RBAC-authorized, KV-1)."""
    container_registry: ContainerRegistrySettings = ContainerRegistrySettings()
    """The workspace's container registry (admin user and anonymous pull always off)."""
    encryption: EncryptionSettings = EncryptionSettings()
    """Encryption at rest of the workspace, its storage and its registry: Microsoft-managed keys, or a
    customer-managed key of the stage's key vault (docs/encryption.md)."""
    monitoring: MonitoringSettings = MonitoringSettings()
    """Log Analytics workspace and workspace-based Application Insights."""
    workspace: WorkspaceSettings = WorkspaceSettings()
    """The Azure Machine Learning workspace."""
    compute: ComputeSettings = ComputeSettings()
    """The image-build cluster and training clusters of the workspace."""
    resource_protection: ResourceProtection = ResourceProtection()
    """Pulumi `protect` / `retainOnDelete` on the stateful resources."""
    personas: Annotated[
        dict[Annotated[StrictStr, Field(pattern=r"^[a-z][A-Za-z0-9]{1,39}$")], Persona],
        AfterValidator(_persona_names),
    ] = Field(default_factory=dict)
    """Human personas by camelCase name (`dataScientists`, `mlEngineers`, more as needed): an Entra
    group and its roles in this stage. Default none."""
    deployment_identity: DeploymentIdentitySettings = DeploymentIdentitySettings()
    """The identity the stage's CI/CD pipelines sign in as (one per stage, never shared)."""
    production_relaxations: dict[ProductionRule, Reason] = Field(default_factory=dict)
    """Production rule -> why this production stage may break it (at least 10 characters). Keys:
    privateNetwork, purgeProtection, resourceProtection, isolationMode, premiumRegistry,
    highBusinessImpact, gatedCi, diagnostics, lock. Default none: a production stage meets every rule. Each relaxation
    shows in the plan and the diff."""
    diagnostics: DiagnosticsSettings = DiagnosticsSettings()
    """Diagnostic settings of the workspace, key vault, storage and container registry (on by default
    in production stages)."""
    lock: LockSettings = LockSettings()
    """Azure management locks (CanNotDelete) on the workspace, storage, key vault and container
    registry (on by default in production stages), next to resourceProtection."""
    registry: RegistryAccessSettings = RegistryAccessSettings()
    """The stage's own identities' access to the shared Azure ML registry (the shared stack, docs/model-promotion.md, "Model
    promotion"). Default none. Groups are granted by the shared stack (its `mlinfra:registry.personas`, RB-11)."""
    ci: CiSettings | None = None
    """The stage's CI/CD environment(s): a GitHub environment and/or an Azure DevOps environment with
    its service connection, trusted by the deployment identity. Default none: the identity then
    trusts nobody."""


class StageConfig(StageSettings):
    """One stage's whole configuration: the stage, its Azure target and its settings."""

    stage: StrictStr
    """The stage, taken from the stack name (`<stage>` or `<workload>-<stage>`)."""
    stack: StrictStr
    """The stack name; also the name of the stage's CI environments, distinct per workload."""
    subscription_id: Annotated[Guid, Field(alias="subscriptionId")]
    """a GUID. The subscription the stage deploys to; the azure-native provider reads the same key."""
    tenant_id: Annotated[Guid, Field(alias="tenantId")]
    """a GUID. The Entra tenant of that subscription, where the deployment identity is created."""
    location: Annotated[StrictStr, AfterValidator(known_region)]
    """an Azure region of the allow-list in `mlinfra/facts/regions.py` (for example `westeurope`). The
    region of every resource of the stage."""

    @property
    def stage_definition(self) -> StageDefinition:
        """The stage's catalog entry (its code and traits)."""
        return next(stage for stage in self.stages if stage.name == self.stage)

    @property
    def shares_workspace(self) -> bool:
        """Whether the stage uses another stage's workspace (`workspace.sharedFrom`) instead of its own."""
        return self.workspace.shared_from is not None

    @property
    def own_network(self) -> NetworkSettings:
        """The network of the stage's own workspace (validation requires it unless the stage shares one)."""
        if self.network is None:
            raise ValueError("a stage that shares a workspace has no network of its own")
        return self.network

    @property
    def names(self) -> StageNames:
        """Physical names of the stage's resources (see `mlinfra.facts.naming`)."""
        return stage_names(
            workload=self.workload,
            stage=self.stage,
            code=self.stage_definition.code,
            environment=self.stack,
            location=self.location,
            subscription_id=self.subscription_id,
            suffix=self.unique_suffix,
            generation=self.name_generation,
        )


AZURE_KEYS = ("subscriptionId", "tenantId", "location")
"""Keys read from the `azure-native:` provider namespace."""
