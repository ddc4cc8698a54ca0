"""The validated configuration of the shared stack (`Pulumi.shared.yaml`): the Azure ML registry
every stage publishes to or deploys from, and which groups may use it. Not a stage: it has no
workspace or CI of its own. Invalid input raises `ConfigError` (exit 2), one line naming key, value
and what is allowed.
"""

import json
from typing import Annotated, Any

import pulumi
from pydantic import AfterValidator, Field, StrictBool, StrictStr, ValidationError, model_validator

from mlinfra.config import config_guards as guards
from mlinfra.config.loading import config_error, decode, namespace_values
from mlinfra.config.stage_catalog import NAMESPACE
from mlinfra.config.stage_config import known_region, valid_tags
from mlinfra.facts.naming import NamingError, SharedNames, shared_names
from mlinfra.facts.registry_roles import RegistryAccess
from mlinfra.settings.diagnostic_settings import RegistryDiagnosticsSettings
from mlinfra.settings.network_settings import PRIVATE_DNS_ZONES, _subnet_id
from mlinfra.settings.settings_base import Guid, Settings, distinct
from mlinfra.settings.value_kinds import zone_id_problems

STORAGE_GROUP = "blob"
"""The sub-resource of the registry's system-created storage accounts its endpoints target."""
ACR_GROUP = "registry"
"""The sub-resource of the registry's system-created container registries."""
REGISTRY_ZONES = tuple(
    dict.fromkeys(
        zone for group in ("amlregistry", STORAGE_GROUP, ACR_GROUP) for zone in PRIVATE_DNS_ZONES[group]
    )
)
"""The zones the registry's endpoints register in: its API (amlregistry), and the blob and
container-registry zones of the storage accounts and ACRs it creates in each region (Microsoft
Learn, machine-learning/how-to-registry-network-isolation: "create a private endpoint from the
existing virtual network to Azure Machine Learning registry and associated resources (storage
and ACR)")."""

PROJECT_KEYS = ("stages", "deploymentIdentity")
"""Project-level keys (Pulumi.yaml) every stack receives; they concern stages only."""


class RegistryPrivateEndpoint(Settings):
    subnet_id: Annotated[StrictStr, AfterValidator(_subnet_id)]
    """a subnet resource id. Where the registry's private endpoints go: its API (sub-resource
    `amlregistry`), and the blob endpoint of its storage account and the endpoint of its container
    registry in each of its regions, all from this one subnet."""
    dns_zone_ids: dict[StrictStr, StrictStr]
    """Private DNS zone name -> zone id; must hold privatelink.api.azureml.ms,
    privatelink.blob.core.windows.net and privatelink.azurecr.io."""

    @model_validator(mode="after")
    def _zones(self):
        missing = [zone for zone in REGISTRY_ZONES if zone not in self.dns_zone_ids]
        if missing:
            raise ValueError(f"dnsZoneIds: expected the zone(s) {', '.join(missing)}")
        problems = zone_id_problems(self.dns_zone_ids)
        if problems:
            raise ValueError("\n".join(problems))  # one problem per line (ConfigError)
        return self


class RegistryPersona(Settings):
    group_object_id: Guid
    """a GUID. The object id of the persona's Entra security group (RB-4)."""
    access: RegistryAccess
    """publish (AzureML Registry User: share models, components and environments into the registry)
    or read (the registry's custom reader role)."""


def _one_group_one_persona(personas: dict[str, RegistryPersona]) -> dict[str, RegistryPersona]:
    """Two personas with one group would be the same role assignment twice (RB-6, RB-11)."""
    owners: dict[str, str] = {}
    for name, persona in personas.items():
        group = persona.group_object_id.lower()
        if group in owners:
            raise ValueError(
                f"{name}.groupObjectId: got {json.dumps(persona.group_object_id)}; already the group of "
                f"persona {owners[group]} (one group, one persona)"
            )
        owners[group] = name
    return personas


class RegistrySettings(Settings):
    replication_regions: Annotated[
        list[Annotated[StrictStr, AfterValidator(known_region)]], AfterValidator(distinct)
    ] = Field(default_factory=list)
    """Regions besides the primary one (azure-native:location) the registry replicates assets to. Default none."""
    public_network_access_enabled: StrictBool = False
    """true: clients on the Internet (GitHub-hosted runners of a publishing stage, laptops) reach the
    registry, its storage and its ACR, each request authenticated by Entra ID and allowed only by
    the registry's role assignments (docs/model-promotion.md, "Model promotion"). Default false: only clients whose
    network routes to the private endpoints and resolves their zones reach it; then privateEndpoint
    is required, and every stage that publishes or reads from its pipeline runs its jobs on private
    runners (ci.runnerGroup) in such a network (the estate verifier checks it, EV-12)."""
    public_network_access_reason: StrictStr | None = None
    """Why the registry accepts Internet clients; required when publicNetworkAccessEnabled is
    true, refused otherwise (for example: dev publishes from GitHub-hosted runners)."""
    private_endpoint: RegistryPrivateEndpoint | None = None
    """The registry's private endpoints (API, and storage and ACR in every region) for clients in
    the landing zone. Required when publicNetworkAccessEnabled is false; optional otherwise."""
    personas: Annotated[
        dict[Annotated[StrictStr, Field(pattern=r"^[a-z][A-Za-z0-9]{1,39}$")], RegistryPersona],
        AfterValidator(_one_group_one_persona),
    ] = Field(default_factory=dict)
    """Persona name -> its Entra group and its access to the registry. Default none. The only place a
    group is granted on the registry: stages grant their own identities only (RB-11)."""

    @model_validator(mode="after")
    def _network(self):
        if not self.public_network_access_enabled and self.private_endpoint is None:
            raise ValueError(
                "privateEndpoint: required when publicNetworkAccessEnabled is false (the default); "
                "give subnetId and dnsZoneIds, or set publicNetworkAccessEnabled to true"
            )
        reason = (self.public_network_access_reason or "").strip()
        if self.public_network_access_enabled and not reason:
            raise ValueError(
                "publicNetworkAccessReason: required when publicNetworkAccessEnabled is true; say which "
                "clients on the Internet need the registry (for example dev's GitHub-hosted runners)"
            )
        if not self.public_network_access_enabled and self.public_network_access_reason is not None:
            raise ValueError(
                "publicNetworkAccessReason: only with publicNetworkAccessEnabled true; remove it"
            )
        return self


class SharedConfig(Settings):
    stack: StrictStr
    workload: Annotated[StrictStr, Field(pattern=r"^[a-z][a-z0-9]{1,13}$")]
    """2-14 lowercase letters and digits starting with a letter (Pulumi.yaml): the registry's name."""
    tags: Annotated[dict[StrictStr, StrictStr], AfterValidator(valid_tags)] = Field(default_factory=dict)
    """Tags on every resource, besides workload, stage and managed-by. Default none."""
    registry: RegistrySettings
    """The Azure ML registry (public network access off unless set)."""
    diagnostics: RegistryDiagnosticsSettings = RegistryDiagnosticsSettings()
    """The registry's diagnostic setting (resource logs to Log Analytics). Default on, to a Log
    Analytics workspace of the shared stack's own."""
    subscription_id: Annotated[Guid, Field(alias="subscriptionId")]
    """a GUID. The subscription the registry is created in."""
    tenant_id: Annotated[Guid, Field(alias="tenantId")]
    """a GUID. The Entra tenant of that subscription."""
    location: Annotated[StrictStr, AfterValidator(known_region)]
    """The registry's primary region."""

    @model_validator(mode="after")
    def _primary_not_replicated(self):
        if self.location in self.registry.replication_regions:
            raise ValueError(
                f"replicationRegions: {self.location} is the primary region (azure-native:location); remove it"
            )
        return self

    @property
    def names(self) -> SharedNames:
        return shared_names(workload=self.workload, location=self.location)


def load_shared_config() -> SharedConfig:
    """Read and validate the shared stack's configuration; raise ConfigError on any bad value."""
    values = {key: value for key, value in namespace_values(NAMESPACE).items() if key not in PROJECT_KEYS}
    raw: dict[str, Any] = {key: decode(key, value) for key, value in values.items()}
    raw.setdefault("registry", {})
    raw["stack"] = pulumi.get_stack()
    azure = pulumi.Config("azure-native")
    for key in ("subscriptionId", "tenantId", "location"):
        if (value := azure.get(key)) is not None:
            raw[key] = value
    # The whole-config guards every stack gets (mlinfra/config/config_guards.py): known namespaces,
    # secure values only for provider credentials, no placeholder left under the real engine.
    everything = guards.all_config()
    problems = (
        guards.namespace_problems(everything, pulumi.get_project())
        + guards.secret_problems(guards.secret_keys())
        + guards.plaintext_secret_problems(everything, guards.secret_keys())
        + guards.placeholder_problems(everything)
    )
    if "stack" in values:
        problems.append(f"{NAMESPACE}:stack: unknown key")
    config: SharedConfig | None = None
    try:
        config = SharedConfig.model_validate(raw, by_name=False)
        _ = config.names
    except ValidationError as error:
        problems += [_describe(detail) for detail in error.errors(include_url=False)]
    except NamingError as error:
        problems.append(f"{NAMESPACE}:workload: {error}")
    if problems or config is None:
        raise config_error(problems)
    return config


def _describe(detail) -> str:
    loc = [str(part) for part in detail["loc"]]
    prefix = "azure-native" if loc and loc[0] in ("subscriptionId", "tenantId", "location") else NAMESPACE
    key = f"{prefix}:{'.'.join(loc)}" if loc else f"{NAMESPACE}:registry"
    message = detail["msg"].removeprefix("Value error, ").replace("Input should be", "expected")
    if detail["type"] == "missing":
        return f"{key}: required but not set"
    if detail["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    if detail["type"] == "value_error" and isinstance(detail["input"], dict):
        return f"{key}: {message}"  # a rule over a whole section
    return f"{key}: got {json.dumps(detail['input'], default=str)}; {message}"
