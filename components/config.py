"""The typed, validated, frozen configuration of one stage, read once from stack config.

The stack selects the stage (PU-4): stack `dev` is stage `dev`. Everything that differs
between stages is data under this project's config namespace in `Pulumi.<stage>.yaml`;
the Azure target (subscription, tenant, region) is the `azure-native:` provider config, so
the names derived here and the subscription the provider deploys to cannot disagree.

Anything config leaves out gets the secure choice. Invalid input raises `ConfigError`
before any resource is registered, naming the key, the value received and what is allowed.
"""

import json
import re
from enum import StrEnum
from typing import Annotated, Any

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationError,
)
from pydantic.alias_generators import to_camel

from components.naming import SUFFIX_LENGTH, NamingError, StageNames, stage_names
from components.regions import REGION_CODES


class ConfigError(pulumi.RunError):
    """Invalid stack configuration. A RunError, so `pulumi up` prints the message without a traceback."""


class Stage(StrEnum):
    DEV = "dev"
    PREPROD = "preprod"
    PROD = "prod"


class StorageSku(StrEnum):
    """Replication SKUs an AML workspace's default storage accepts (standard general-purpose v2)."""

    STANDARD_LRS = "Standard_LRS"
    STANDARD_ZRS = "Standard_ZRS"
    STANDARD_GRS = "Standard_GRS"
    STANDARD_RAGRS = "Standard_RAGRS"
    STANDARD_GZRS = "Standard_GZRS"
    STANDARD_RAGZRS = "Standard_RAGZRS"


class RegistrySku(StrEnum):
    BASIC = "Basic"
    STANDARD = "Standard"
    PREMIUM = "Premium"


class IsolationMode(StrEnum):
    """Managed network isolation of the workspace's managed compute (ML-3)."""

    DISABLED = "Disabled"
    ALLOW_INTERNET_OUTBOUND = "AllowInternetOutbound"
    ALLOW_ONLY_APPROVED_OUTBOUND = "AllowOnlyApprovedOutbound"


_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_TAG_FORBIDDEN = set('<>%&\\?/')
RESERVED_TAGS = ("workload", "stage", "managed-by")
"""Tags the program sets on every resource itself; config cannot override them."""


def _guid(value: str) -> str:
    if not _GUID.fullmatch(value):
        raise ValueError("expected a GUID like 0b1f6c3e-2a4d-4c8e-9f10-5e6d7c8b9a01")
    return value


def _region(value: str) -> str:
    if value not in REGION_CODES:
        raise ValueError(f"expected an Azure region of this project's allow-list: {', '.join(REGION_CODES)}")
    return value


def _tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > 50 - len(RESERVED_TAGS):
        raise ValueError(f"expected at most {50 - len(RESERVED_TAGS)} tags (Azure allows 50, {len(RESERVED_TAGS)} are set by the program)")
    seen: set[str] = set()
    for name, value in tags.items():
        if not 1 <= len(name) <= 512 or _TAG_FORBIDDEN & set(name):
            raise ValueError(f"tag name {name!r}: expected 1-512 characters without any of < > % & \\ ? /")
        if name.lower() in RESERVED_TAGS:
            raise ValueError(f"tag name {name!r} is set by the program; reserved: {', '.join(RESERVED_TAGS)}")
        if name.lower() in seen:
            raise ValueError(f"tag name {name!r} appears twice (Azure tag names are case-insensitive)")
        seen.add(name.lower())
        if len(value) > 256:
            raise ValueError(f"tag {name!r}: expected a value of at most 256 characters")
    return tags


Guid = Annotated[StrictStr, AfterValidator(_guid)]
StrictInt = Annotated[int, Field(strict=True)]


class _Settings(BaseModel):
    """Base of every config section: frozen, camelCase keys, unknown keys rejected."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )


class NetworkSettings(_Settings):
    public_network_access_enabled: StrictBool = False
    """Whether the workspace, storage account, key vault and registry accept traffic from the
    internet. Default false (ML-1, ST-2, KV-4, ACR-3): reach them through private endpoints."""


class StorageSettings(_Settings):
    sku: StorageSku = StorageSku.STANDARD_ZRS
    """Replication of the workspace storage account. Default Standard_ZRS (zone-redundant, ST-11)."""
    shared_key_access_enabled: StrictBool = False
    """Whether account keys and SAS signed with them work. Default false (ST-3); the workspace
    then reaches its datastores with its managed identity (ML-7)."""


class KeyVaultSettings(_Settings):
    soft_delete_retention_days: Annotated[StrictInt, Field(ge=7, le=90)] = 90
    """Days a deleted vault and its secrets stay recoverable, 7-90. Default 90 (KV-3).
    Cannot be changed after the vault exists; the vault name stays reserved this long."""
    purge_protection_enabled: StrictBool = True
    """Whether a deleted vault can be purged before retention ends. Default true (KV-2).
    Irreversible: once on it stays on, so false is never sent to Azure, only left out."""


class ContainerRegistrySettings(_Settings):
    sku: RegistrySku = RegistrySku.PREMIUM
    """Registry SKU. Default Premium, the only SKU that can turn public network access off
    (ACR-3) and take private endpoints."""


class MonitoringSettings(_Settings):
    log_retention_days: Annotated[StrictInt, Field(ge=30, le=730)] = 90
    """Days the Log Analytics workspace keeps logs and telemetry, 30-730. Default 90."""


class WorkspaceSettings(_Settings):
    isolation_mode: IsolationMode = IsolationMode.ALLOW_ONLY_APPROVED_OUTBOUND
    """Managed network isolation of managed compute. Default AllowOnlyApprovedOutbound (ML-3)."""
    high_business_impact: StrictBool = True
    """Whether the workspace is flagged high business impact (less diagnostic data collected by
    Microsoft, encrypted scratch disks, ML-9). Default true. Set at creation only: changing it
    replaces the workspace."""


class ResourceProtection(_Settings):
    protect: StrictBool = True
    """Whether Pulumi refuses to delete the stage's stateful resources (resource group, storage,
    key vault, logs, app insights, registry, workspace; PU-3). Default true."""
    retain_on_delete: StrictBool = True
    """Whether removing those resources from the program only drops them from the Pulumi state
    and leaves them in Azure. Default true."""


class StageSettings(_Settings):
    """The settings under this project's namespace in `Pulumi.<stage>.yaml`."""

    workload: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9]{1,9}$")]
    """2-10 lowercase letters and digits starting with a letter. Required: the short name of the
    ML workload or team (for example `churn`), first part of every resource name."""
    unique_suffix: Annotated[StrictStr, Field(pattern=rf"^[a-z0-9]{{{SUFFIX_LENGTH}}}$")] | None = None
    """5 lowercase letters or digits. Ends the globally unique names (storage, key vault,
    registry). Default: derived from subscription, workload and stage; set it to step past a
    name still reserved by a soft-deleted key vault (P3)."""
    tags: Annotated[dict[StrictStr, StrictStr], AfterValidator(_tags)] = Field(default_factory=dict)
    """Tags on every taggable resource, besides `workload`, `stage` and `managed-by`, which the
    program sets itself. Default none."""
    network: NetworkSettings = NetworkSettings()
    """Network exposure of the stage's data-plane resources."""
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
    resource_protection: ResourceProtection = ResourceProtection()
    """Pulumi `protect` / `retainOnDelete` on the stateful resources."""


class StageConfig(StageSettings):
    """One stage's whole configuration: the stage, its Azure target and its settings."""

    stage: Stage
    """The stage, taken from the stack name."""
    subscription_id: Annotated[Guid, Field(alias="subscriptionId")]
    """`azure-native:subscriptionId`: the subscription the stage deploys to."""
    tenant_id: Annotated[Guid, Field(alias="tenantId")]
    """`azure-native:tenantId`: the Entra tenant of that subscription."""
    location: Annotated[StrictStr, AfterValidator(_region)]
    """`azure-native:location`: the region of every resource of the stage."""

    @property
    def names(self) -> StageNames:
        """Physical names of the stage's resources (see `components.naming`)."""
        return stage_names(
            workload=self.workload,
            stage=self.stage,
            location=self.location,
            subscription_id=self.subscription_id,
            suffix=self.unique_suffix,
        )


AZURE_KEYS = ("subscriptionId", "tenantId", "location")
"""Keys read from the `azure-native:` provider namespace."""

_STRING_KEYS = {
    field.alias for field in StageSettings.model_fields.values() if field.annotation in (str, str | None)
} | {"workload", "uniqueSuffix"}


def load_stage_config() -> StageConfig:
    """Read and validate the current stack's configuration; raise ConfigError on any bad value."""
    namespace = pulumi.get_project()
    values = _namespace_values(namespace)
    raw: dict[str, Any] = {key: _decode(key, value) for key, value in values.items()}
    raw["stage"] = pulumi.get_stack()
    azure = pulumi.Config("azure-native")
    for key in AZURE_KEYS:
        if (value := azure.get(key)) is not None:
            raw[key] = value
    unknown = sorted(set(values) & (set(AZURE_KEYS) | {"stage"}))
    problems = [f"{namespace}:{key}: unknown key; {_allowed_keys(StageSettings)}" for key in unknown]
    try:
        config = StageConfig.model_validate(raw)
    except ValidationError as error:
        problems += [_describe(namespace, detail) for detail in error.errors(include_url=False)]
        config = None
    if problems:
        raise ConfigError("invalid stack config: " + "; ".join(problems))
    _check_consistency(namespace, config)
    return config


def _namespace_values(namespace: str) -> dict[str, str]:
    """Every config value under `<namespace>:` (set by the engine or by the planner/tests)."""
    prefix = f"{namespace}:"
    everything = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    return {key[len(prefix):]: value for key, value in everything.items() if key.startswith(prefix)}


def _decode(key: str, value: Any) -> Any:
    """The engine hands every value over as a string; objects, lists, booleans and numbers as JSON."""
    if key in _STRING_KEYS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value  # left as a string, so validation reports it with the type it expected


def _check_consistency(namespace: str, config: StageConfig) -> None:
    """Rules that span sections, checked once each section is valid on its own."""
    if not config.network.public_network_access_enabled and config.container_registry.sku != RegistrySku.PREMIUM:
        raise ConfigError(
            f"invalid stack config: {namespace}:containerRegistry.sku: got {json.dumps(config.container_registry.sku.value)}; "
            f"a registry without public network access must be 'Premium' (ACR-3) - set "
            f"{namespace}:network.publicNetworkAccessEnabled to true or containerRegistry.sku to 'Premium'"
        )
    try:
        config.names
    except NamingError as error:
        raise ConfigError(f"invalid stack config: {namespace}:workload: got {json.dumps(config.workload)}; {error}") from None


def _config_key(namespace: str, loc: tuple) -> str:
    head, *rest = [str(part) for part in loc] or ["<root>"]
    if head == "stage":
        return "stack name"
    prefix = "azure-native" if head in AZURE_KEYS else namespace
    return f"{prefix}:{'.'.join([head, *rest])}"


def _field(loc: tuple):
    """The model field at `loc` (by alias), or None."""
    model: Any = StageConfig
    found = None
    for part in loc:
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
    return (field.description or "").split(". ")[0].rstrip(".")


def _describe(namespace: str, detail: dict) -> str:
    loc = detail["loc"]
    key = _config_key(namespace, loc)
    kind = detail["type"]
    field = _field(loc)
    if kind == "extra_forbidden":
        section = _field(loc[:-1]) if len(loc) > 1 else None
        model = section.annotation if section else StageSettings
        return f"{key}: unknown key; {_allowed_keys(model)}" if isinstance(model, type) else f"{key}: unknown key"
    if kind == "missing":
        return f"{key}: required but not set; expected {_what_is_allowed(field)}" if field else f"{key}: required"
    if kind in ("greater_than_equal", "less_than_equal") and field:
        bounds = {name: getattr(item, name) for item in field.metadata for name in ("ge", "le") if hasattr(item, name)}
        message = f"expected a whole number from {bounds.get('ge')} to {bounds.get('le')}"
    elif kind == "string_pattern_mismatch" and field:
        message = f"expected {_what_is_allowed(field)}"
    else:
        message = detail["msg"].removeprefix("Value error, ").replace("Input should be", "expected")
    return f"{key}: got {json.dumps(detail['input'], default=str)}; {message}"
