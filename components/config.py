"""The typed, validated, frozen configuration of one stage, read once from stack config.

The stack selects the stage (PU-4): stack `dev` (or `<workload>-dev`) is stage `dev` of the
stage catalog (`mlinfra:stages` in Pulumi.yaml, see `components.stage_catalog`). Everything that
differs between stages is data under the `mlinfra` namespace in `Pulumi.<stack>.yaml`;
the Azure target (subscription, tenant, region) is the `azure-native:` provider config, so
the names derived here and the subscription the provider deploys to cannot disagree.

Anything config leaves out gets the secure choice. Invalid input raises `ConfigError`
before any resource is registered, naming the key, the value received and what is allowed.
"""

import datetime
import json
import types
import typing
from pathlib import Path
from typing import Annotated, Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import AfterValidator, BaseModel, Field, StrictStr, ValidationError
from pydantic_core import ErrorDetails

from components import config_guards as guards
from components.access_settings import (
    CredentialMode,
    DeploymentIdentitySettings,
    IdentityKind,
    Persona,
)
from components.ci_names import (
    ADO_ENVIRONMENT,
    ADO_SERVICE_CONNECTION,
    ADO_VARIABLE_GROUP,
    GITHUB_ENVIRONMENT,
    ServiceNameRule,
)
from components.ci_settings import CiSettings
from components.compute_settings import ComputeSettings
from components.config_error import ConfigError, ConfigSources, stack_sources
from components.credential_names import (
    azure_devops_credential_name,
    collisions,
    github_credential_name,
)
from components.diagnostic_settings import DiagnosticsSettings
from components.lock_settings import LockSettings
from components.name_generation import name_generation_problems
from components.naming import SUFFIX_LENGTH, NamingError, StageNames, stage_names
from components.network_settings import NetworkSettings
from components.private_stage_checks import private_stage_problems
from components.production_rules import ProductionRule, production_problems
from components.regions import REGION_CODES
from components.registry_access_settings import RegistryAccessSettings, registry_problems
from components.roles import ROLES
from components.settings_base import Guid, Settings, StrictInt
from components.stage_catalog import (
    CATALOG_KEY,
    NAMESPACE,
    PROJECT_FILE,
    StageDefinition,
    catalog_problems,
    declared_catalog,
    project_document,
    split_stack_name,
)
from components.value_kinds import Reason
from components.workspace_settings import (
    ContainerRegistrySettings,
    KeyVaultSettings,
    MonitoringSettings,
    RegistrySku,
    ResourceProtection,
    StorageSettings,
    WorkspaceSettings,
)
from components.workspace_sharing import sharing_problems

DATA_SCIENTISTS = "dataScientists"
ML_ENGINEERS = "mlEngineers"
_TAG_FORBIDDEN = set("<>%&\\?/")
RESERVED_TAGS = ("workload", "stage", "managed-by")
"""Tags the program sets on every resource itself; config cannot override them."""


def _region(value: str) -> str:
    if value not in REGION_CODES:
        raise ValueError(f"expected an Azure region of this project's allow-list: {', '.join(REGION_CODES)}")
    return value


def _tags(tags: dict[str, str]) -> dict[str, str]:
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
    tags: Annotated[dict[StrictStr, StrictStr], AfterValidator(_tags)] = Field(default_factory=dict)
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
    location: Annotated[StrictStr, AfterValidator(_region)]
    """an Azure region of the allow-list in `components/regions.py` (for example `westeurope`). The
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
        """Physical names of the stage's resources (see `components.naming`)."""
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

_STRING_KEYS = {"workload", "uniqueSuffix"}
"""Top-level keys whose value is a plain string (a workload named `1234` stays a string)."""


def load_stage_config() -> StageConfig:
    """Read and validate the current stack's configuration; raise ConfigError on any bad value.

    Every problem is reported in one pass: the whole-config guards, each field, and the rules that
    span sections (run over the sections that are valid when others are not)."""
    namespace = NAMESPACE  # not the project's name, so a renamed project keeps its settings
    project = pulumi.get_project()
    _check_project_namespace(project)
    everything = guards.all_config()
    stack = pulumi.get_stack()
    stage = split_stack_name(stack)[1]
    problems = (
        guards.namespace_problems(everything, project)
        + guards.secret_problems(guards.secret_keys())
        + guards.plaintext_secret_problems(everything, guards.secret_keys())
        + guards.stage_problems(everything, stage, stack)
        + guards.placeholder_problems(everything)
    )
    values = _namespace_values(namespace)
    values.pop(guards.STAGE_KEY, None)  # checked above against the stack name
    raw: dict[str, Any] = {key: _decode(key, value) for key, value in values.items()}
    raw["stack"] = stack
    raw["stage"] = stage
    azure = pulumi.Config("azure-native")
    for key in AZURE_KEYS:
        if (value := azure.get(key)) is not None:
            raw[key] = value
    unknown = sorted(set(values) & (set(AZURE_KEYS) | {"stack"}))
    top = [field.alias or name for name, field in StageSettings.model_fields.items()]
    problems += [
        f"{namespace}:{key}: unknown key; {_allowed_keys(StageSettings)}{guards.did_you_mean(key, top)}"
        for key in unknown
    ]
    try:
        config = StageConfig.model_validate(raw, by_name=False)  # only the documented camelCase keys
    except ValidationError as error:
        details = error.errors(include_url=False)
        problems += [_describe(namespace, detail) for detail in details]
        problems += _partial_problems(namespace, raw, details)
        raise config_error(problems) from None
    problems += _catalog_problems(namespace, config) or _consistency_problems(namespace, config)
    if problems:
        raise config_error(problems)
    return config


def current_sources(project_file: Path = PROJECT_FILE) -> ConfigSources:
    """The files the current stack's config came from, as the CLI reads them without
    `--config-file` (the planner, which read the files itself, names them exactly)."""
    values = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    document = project_document(project_file) if project_file.is_file() else {}
    return stack_sources(pulumi.get_stack(), values, document, project_file.parent)


def config_error(problems: str | list[str], project_file: Path = PROJECT_FILE) -> ConfigError:
    """The ConfigError of `problems` (keys and values in them already shortened), each problem
    set against the file its key's value came from (`project_file` or the stack file beside it)."""
    return ConfigError(problems, current_sources(project_file))


def _partial_problems(namespace: str, raw: dict[str, Any], details: list[ErrorDetails]) -> list[str]:
    """The cross-section rules over the sections that are valid on their own: the broken sections
    are dropped (back to their defaults) and any problem that names one of them is left out, since
    it would be about the default, not about the file."""
    broken = {str(detail["loc"][0]) for detail in details if detail["loc"]}
    partial = {key: value for key, value in raw.items() if key not in broken}
    try:
        config = StageConfig.model_validate(partial, by_name=False)
    except ValidationError:
        return []  # a required section is broken: nothing to check it against
    problems = _catalog_problems(namespace, config) or _consistency_problems(namespace, config)
    # Whether a stage needs a network of its own depends on workspace.sharedFrom (ML-16).
    unknown = broken | ({"network"} if "workspace" in broken and "network" not in raw else set())
    return [
        problem
        for problem in problems
        if problem.removeprefix(f"{namespace}:").split(":", 1)[0].split(".", 1)[0] not in unknown
    ]


def _check_project_namespace(project: str) -> None:
    """Settings under a renamed project's own namespace would be silently ignored: refuse them."""
    if project == NAMESPACE:
        return
    stray = sorted(key for key in _namespace_values(project) if key)
    if stray:
        raise config_error(
            [
                f"{project}:{key}: the config namespace is {NAMESPACE!r} whatever the project's name; "
                f"rename every '{project}:' key to '{NAMESPACE}:' (docs/stages.md, 'Renaming the project')"
                for key in stray
            ]
        )


def _catalog_problems(namespace: str, config: StageConfig) -> list[str]:
    """The catalog is the project's (Pulumi.yaml), and the stack name must pick one of its stages."""
    key = f"{namespace}:{CATALOG_KEY}"
    problems = catalog_problems(config.stages)
    if PROJECT_FILE.is_file():
        declared = [StageDefinition.model_validate(entry, by_name=False) for entry in declared_catalog()]
        if declared and declared != config.stages:
            problems.append(
                "set by the stack; the stage catalog belongs to the project: remove it from the stack file "
                "and change Pulumi.yaml instead"
            )
    if problems:
        return [f"{key}: {problem}" for problem in problems]
    names = [stage.name for stage in config.stages]
    workload, stage = split_stack_name(config.stack)
    if stage not in names:
        return [
            f"stack name: got {json.dumps(config.stack)}; expected <stage> or <workload>-<stage> "
            f"with a stage of {key}: {', '.join(names)}"
        ]
    if workload is not None and workload != config.workload:
        return [
            f"stack name: got {json.dumps(config.stack)}; its workload {json.dumps(workload)} must equal "
            f"{namespace}:workload {json.dumps(config.workload)}"
        ]
    return []


def _namespace_values(namespace: str) -> dict[str, str]:
    """Every config value under `<namespace>:` (set by the engine or by the planner/tests)."""
    prefix = f"{namespace}:"
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key[len(prefix) :]: value for key, value in everything.items() if key.startswith(prefix)}


def _decode(key: str, value: Any) -> Any:
    """The engine hands every value over as a string; objects, lists, booleans and numbers as JSON."""
    if key in _STRING_KEYS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (json.JSONDecodeError, RecursionError):  # nested past the interpreter's limit: a string
        return value  # left as a string, so validation reports it with the type it expected


CLIENT_SECRET_MAX_DAYS = 730


def _consistency_problems(namespace: str, config: StageConfig) -> list[str]:
    """Rules that span sections, over sections each valid on its own."""
    problems = (
        sharing_problems(config)
        + _network_problems(config)
        + _access_problems(config)
        + _identity_problems(config)
        + production_problems(config)
        + registry_problems(config)
        + name_generation_problems(config)
    )
    if config.network is not None and not config.shares_workspace:  # else the owner's (ML-16)
        problems += private_stage_problems(config)
    if not problems:
        try:
            _ = config.names  # computing the names runs the naming rules
        except NamingError as error:
            problems.append(f"workload: got {json.dumps(config.workload)}; {error}")
        else:
            problems += collisions(credential_names(config))
            return [f"{namespace}:{problem}" for problem in problems] + derived_name_problems(
                namespace, config
            )
    return [f"{namespace}:{problem}" for problem in problems]


def derived_name_problems(namespace: str, config: StageConfig) -> list[str]:
    """The CI objects' names the program derives from the stack name, under the rules the names a
    stack file supplies meet (ADO-7, GH-15): a derived name the service refuses is a config error."""
    ci = config.ci
    if ci is None:
        return []
    checks: list[tuple[str, str, ServiceNameRule]] = []
    if ci.github:
        checks.append(("stack name", config.stack, GITHUB_ENVIRONMENT))
    if devops := ci.azure_dev_ops:
        checks.append(("stack name", config.stack, ADO_ENVIRONMENT))
        if devops.service_connection_name is None:
            key = f"{namespace}:ci.azureDevOps.serviceConnectionName"
            checks.append((key, config.names.service_connection, ADO_SERVICE_CONNECTION))
        if devops.variable_group_name is None:
            key = f"{namespace}:ci.azureDevOps.variableGroupName"
            checks.append((key, config.names.variable_group, ADO_VARIABLE_GROUP))
    problems = []
    for key, name, rule in checks:
        if problem := rule.problem(name):
            what = "the environment name" if key == "stack name" else "not set, and its default"
            problems.append(
                f"{key}: {what} {json.dumps(name)}, derived from the stack name, is refused: {problem}"
            )
    return problems


def _network_problems(config: StageConfig) -> list[str]:
    if config.shares_workspace:
        return []
    if config.network is None:
        return [
            f"network: required but not set; expected {_what_is_allowed(StageSettings.model_fields['network'])}"
        ]
    if config.network.public_network_access_enabled:
        return []
    problems = []
    if config.container_registry.sku != RegistrySku.PREMIUM:
        problems.append(
            f"containerRegistry.sku: got {json.dumps(config.container_registry.sku.value)}; a registry without public "
            "network access must be 'Premium' to take a private endpoint (ACR-3); use 'Premium' or set "
            "network.publicNetworkAccessEnabled to true"
        )
    if config.workspace.image_build_compute is None:
        problems.append(
            "workspace.imageBuildCompute: required when public network access is off; a private "
            "registry cannot build images, so name the compute cluster that does (ML-10)"
        )
    return problems


def _access_problems(config: StageConfig) -> list[str]:
    problems = []
    holders = [(f"personas.{name}.roles", persona.roles, True) for name, persona in config.personas.items()]
    holders.append(("deploymentIdentity.roles", config.deployment_identity.roles, False))
    for key, roles, human in holders:
        for scope, role_name in roles.items():
            role = ROLES[role_name]
            if role.escalates:
                problems.append(
                    f"{key}.{scope}: got {json.dumps(role_name)}; a role that can grant access is never assigned (RB-1, RB-8)"
                )
            elif human and role.privileged:
                problems.append(
                    f"{key}.{scope}: got {json.dumps(role_name)}; human groups get no privileged role (RB-1); use the AzureML or data roles"
                )
    owners: dict[str, str] = {}
    for name, persona in config.personas.items():
        group = persona.group_object_id.lower()
        if group in owners:
            problems.append(
                f"personas.{name}.groupObjectId: got {json.dumps(persona.group_object_id)}; already the group of persona {owners[group]} (one group, one persona)"
            )
        owners.setdefault(group, name)
    scientists = config.personas.get(DATA_SCIENTISTS)
    stage = config.stage_definition
    data_science_stages = ", ".join(entry.name for entry in config.stages if entry.data_science)
    if (
        not stage.data_science
        and scientists
        and scientists.roles.items()
        and not scientists.outside_dev_reason
    ):
        problems.append(
            f"personas.{DATA_SCIENTISTS}.roles: data scientists get no access in {config.stage} (RB-7); "
            f"remove the roles or give personas.{DATA_SCIENTISTS}.outsideDevReason"
        )
    if scientists and scientists.outside_dev_reason and stage.data_science:
        problems.append(
            f"personas.{DATA_SCIENTISTS}.outsideDevReason: only meaningful outside the data-science stages ({data_science_stages}); remove it"
        )
    for name, persona in config.personas.items():
        if persona.outside_dev_reason and name != DATA_SCIENTISTS:
            problems.append(f"personas.{name}.outsideDevReason: only the {DATA_SCIENTISTS} persona takes it")
    problems += _keyless_storage_problems(config)
    engineers = config.personas.get(ML_ENGINEERS)
    if stage.production and not (engineers and engineers.roles.items()):
        problems.append(
            f"personas.{ML_ENGINEERS}: required in {config.stage} with at least one role, or nobody can operate the stage (T-21)"
        )
    return problems


KEYLESS_DATA_ROLES = (
    ("blob", ("Storage Blob Data Contributor", "Storage Blob Data Reader")),
    ("file", ("Storage File Data Privileged Contributor", "Storage File Data Privileged Reader")),
)
"""What a person using a workspace whose storage takes no shared keys needs on that storage, per
service, either role of each pair (Microsoft Learn, machine-learning/how-to-disable-local-auth-storage)."""


def _keyless_storage_problems(config: StageConfig) -> list[str]:
    """With shared keys off, studio, notebooks and compute instances reach the default storage with
    the user's own identity, so every persona that uses the workspace needs its data roles."""
    if config.storage.shared_key_access_enabled:
        return []
    problems = []
    for name, persona in config.personas.items():
        roles = persona.roles
        uses_workspace = roles.workspace or any(role.startswith("AzureML") for role in roles.resource_group)
        if not uses_workspace:
            continue
        held = set(roles.storage_account) | set(roles.resource_group)
        missing = [options for _, options in KEYLESS_DATA_ROLES if not held & set(options)]
        if missing:
            services = " and ".join(service for service, options in KEYLESS_DATA_ROLES if options in missing)
            problems.append(
                f"personas.{name}.roles.storageAccount: got {json.dumps(roles.storage_account)}; a persona with a "
                f"workspace role needs {services} data roles where storage.sharedKeyAccessEnabled is false "
                f"(AML key-less storage): add {', and '.join(f'{a} or {b}' for a, b in missing)}"
            )
    return problems


def credential_names(config: StageConfig) -> dict[str, str]:
    """The federated credential names the stage's CI environments give its identity, by the
    config key they are built from (one identity holds them all, so they must differ)."""
    ci = config.ci
    names: dict[str, str] = {}
    if ci and ci.github:
        names["ci.github.repository"] = github_credential_name(ci.github.owner, ci.github.name, config.stack)
    if ci and ci.azure_dev_ops:
        devops = ci.azure_dev_ops
        names["ci.azureDevOps.serviceConnectionName"] = azure_devops_credential_name(
            devops.project, devops.service_connection_name or config.names.service_connection
        )
    return names


def _identity_problems(config: StageConfig) -> list[str]:
    return _owner_problems(config) + _secret_problems(config)


def _owner_problems(config: StageConfig) -> list[str]:
    """The app's owners are config, never the ambient caller: the azuread provider removes every
    owner not in config on each update (application_resource.go), so a run by another identity
    would otherwise lock the stage's deployer out."""
    identity = config.deployment_identity
    if identity.kind == IdentityKind.ENTRA_APPLICATION and identity.owners is None:
        return [
            "deploymentIdentity.owners: required with kind 'entra-application'; expected the object ids "
            "(GUIDs) of the service principal that runs `pulumi up` for this stage and of an administrator"
        ]
    if identity.kind != IdentityKind.ENTRA_APPLICATION and identity.owners is not None:
        return [f"deploymentIdentity.owners: a {identity.kind} has no owners; remove it"]
    return []


def _secret_problems(config: StageConfig) -> list[str]:
    identity = config.deployment_identity
    expiry = identity.client_secret_expiry
    if identity.credential != CredentialMode.CLIENT_SECRET:
        return (
            ["deploymentIdentity.clientSecretExpiry: set without credential 'client-secret'; remove it"]
            if expiry
            else []
        )
    if identity.kind != IdentityKind.ENTRA_APPLICATION:
        return [
            f"deploymentIdentity.credential: got 'client-secret'; a {identity.kind} has no client secret, use 'federated'"
        ]
    today = datetime.date.today()
    if expiry is None:
        return [
            "deploymentIdentity.clientSecretExpiry: required with credential 'client-secret'; expected a date YYYY-MM-DD"
        ]
    if not today < expiry <= today + datetime.timedelta(days=CLIENT_SECRET_MAX_DAYS):
        return [
            f"deploymentIdentity.clientSecretExpiry: got {json.dumps(expiry.isoformat())}; expected a date after today and at most {CLIENT_SECRET_MAX_DAYS} days ahead"
        ]
    return []


def _config_key(namespace: str, loc: tuple) -> str:
    head, *rest = [str(part) for part in loc] or ["<root>"]
    if head in ("stage", "stack"):
        return "stack name"
    prefix = "azure-native" if head in AZURE_KEYS else namespace
    return f"{prefix}:{'.'.join([head, *rest])}"


def _unwrap(annotation: Any) -> Any:
    """The model or map inside `X | None` / `Annotated[X, ...]`; else the annotation itself."""
    while typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        inner = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = inner[0] if len(inner) == 1 else annotation
        if len(inner) != 1:
            break
    return annotation


def _field(loc: tuple):
    """The model field at `loc` (by alias, through map entries such as a persona's name), or None."""
    model: Any = StageConfig
    found = None
    for part in loc:
        model = _unwrap(model)
        if typing.get_origin(model) is dict:  # `part` is a map key, e.g. a persona's name
            model = typing.get_args(model)[1]
            continue
        if typing.get_origin(model) is list:  # `part` is a list index, e.g. a catalog entry
            model = typing.get_args(model)[0]
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        fields = {field.alias or name: field for name, field in model.model_fields.items()}
        found = fields.get(str(part))
        if found is None:
            return None
        model = found.annotation
    return found


def _allowed_keys(model: type[BaseModel]) -> str:
    return "allowed keys: " + ", ".join(field.alias or name for name, field in model.model_fields.items())


def _what_is_allowed(field) -> str:
    """The first sentence of a field's docstring, which states what it accepts."""
    return " ".join((field.description or "").split()).split(". ")[0].rstrip(".")  # one line


def _describe(namespace: str, detail: ErrorDetails) -> str:
    loc = detail["loc"]
    key = guards.short(_config_key(namespace, loc), 120)
    kind = detail["type"]
    field = _field(loc)
    if kind == "extra_forbidden":
        parent = _field(loc[:-1]) if len(loc) > 1 else None
        model = _unwrap(parent.annotation) if parent else StageSettings
        if typing.get_origin(model) is dict:  # an unknown key right inside a map entry
            model = _unwrap(typing.get_args(model)[1])
        key = guards.short(key)  # the allowed keys follow: keep a hostile key short
        if not isinstance(model, type):
            return f"{key}: unknown key"
        names = [field.alias or name for name, field in model.model_fields.items()]
        hint = guards.did_you_mean(str(detail["loc"][-1]), names)  # loc, narrowed above, is not empty
        return f"{key}: unknown key; {_allowed_keys(model)}{hint}"
    if kind == "missing":
        return (
            f"{key}: required but not set; expected {_what_is_allowed(field)}"
            if field
            else f"{key}: required"
        )
    if kind in ("greater_than_equal", "less_than_equal") and field:
        bounds = {
            name: getattr(item, name)
            for item in field.metadata
            for name in ("ge", "le")
            if hasattr(item, name)
        }
        message = f"expected a whole number from {bounds.get('ge')} to {bounds.get('le')}"
    elif kind == "string_pattern_mismatch" and field:
        message = f"expected {_what_is_allowed(field)}"
    else:
        message = detail["msg"].removeprefix("Value error, ").replace("Input should be", "expected")
    if kind == "enum" and isinstance(detail["input"], str):  # a misspelt choice: name the closest
        choices = str((detail.get("ctx") or {}).get("expected", "")).replace(" or ", ", ").split(", ")
        message += guards.did_you_mean(detail["input"], [c.strip("'") for c in choices if c])
    if kind == "model_type":  # a section given as a scalar or a list
        return f"{key}: got {guards.shown(detail['input'])}; expected a mapping of the section's keys"
    section = _unwrap(field.annotation) if field else (StageConfig if not loc else None)
    if isinstance(section, type) and issubclass(section, BaseModel):  # a rule over a whole section
        return f"{key}: {message}"
    return f"{key}: got {guards.shown(detail['input'])}; {message}"
