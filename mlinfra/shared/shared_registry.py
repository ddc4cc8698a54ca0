"""`SharedRegistry`: the shared stack's Azure ML registry, which carries a model version from the
stage that trains it to the stages that deploy it (docs/model-promotion.md, "Model promotion").

- Its own resource group, in the primary region, replicated to the configured regions; each region
  gets a system-created storage account and the registry's container registry (Premium: only
  Premium replicates, Microsoft Learn container-registry/container-registry-geo-replication).
- A system-assigned identity (the service uses it to copy assets into the registry's storage).
- Public network access from config, off by default. With `privateEndpoint` (required when
  public access is off) the registry gets private endpoints in the configured subnet: its API
  (sub-resource `amlregistry`), and, in every region of `regionDetails`, the blob endpoint of that
  region's system-created storage account and the endpoint (`registry`) of its system-created
  container registry, each targeted by the resource id the service reports
  (`regionDetails[].storageAccountDetails[].systemCreatedStorageAccount.armResourceId`,
  `...acrDetails[].systemCreatedAcrAccount.armResourceId`; azure-rest-api-specs
  machinelearningservices 2025-12-01 examples/Registries/get.json). Model downloads go to the
  storage and image pulls to the ACR, so an endpoint to the API alone gives private clients
  nothing they can use (Microsoft Learn, machine-learning/how-to-registry-network-isolation:
  "create a private endpoint ... to Azure Machine Learning registry and associated resources
  (storage and ACR)").
- `protect` and `retainOnDelete` always: a registry's assets outlive any one deployment of it.
- The custom reader role of `mlinfra.facts.registry_roles`, assignable in the registry's group; its
  definition id and name are outputs, so a stage of any workload assigns this very role (RB-12).
  Protected and retained like the registry: the stages' assignments outlive any one deployment.
- The personas' grants on the registry (`mlinfra:registry.personas`): a group is granted here, once,
  never by a stage, so no two stacks manage one role assignment (RB-11).
"""

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, resources
from pulumi_azure_native import machinelearningservices as mls

from mlinfra.access.grants import HolderKind, Principal, PrincipalType, Scope, grant
from mlinfra.access.registry_access import SCOPE_KIND
from mlinfra.config.shared_config import ACR_GROUP, STORAGE_GROUP, SharedConfig
from mlinfra.facts.regions import region_code
from mlinfra.facts.registry_roles import READER_ACTIONS, RegistryAccess, reader_role, registry_role
from mlinfra.stage.diagnostics import registry_diagnostics
from mlinfra.stage.stage_network import PrivateLink, private_endpoint

REGISTRY_GROUP = "amlregistry"
"""The registry's private-link sub-resource (azure-rest-api-specs, machinelearningservices
registries.json; Microsoft Learn how-to-registry-network-isolation)."""


@dataclass(frozen=True)
class SystemCreated:
    """A resource the registry creates in one region: which, and its private-link sub-resource."""

    kind: str
    """"storage" or "acr": the entry of regionDetails[] that holds its resource id."""
    group: str
    """The private-link sub-resource its endpoint targets."""


SYSTEM_CREATED = (SystemCreated("storage", STORAGE_GROUP), SystemCreated("acr", ACR_GROUP))


def system_created_id(details, location: str, kind: str) -> str:
    """The resource id the service reports for the `kind` resource of region `location`, read from
    the registry's `regionDetails` output (RegistryRegionArmDetailsResponse values, or plain dicts
    in either key style). Raises ValueError when the region or the id is missing: an endpoint needs
    a real target."""
    key, account = (
        ("storage_account_details", "system_created_storage_account")
        if kind == "storage"
        else ("acr_details", "system_created_acr_account")
    )
    for region in details or []:
        if _normal(_field(region, "location")) != _normal(location):
            continue
        for entry in _field(region, key) or []:
            resource_id = _field(_field(_field(entry, account), "arm_resource_id"), "resource_id")
            if resource_id:
                return str(resource_id)
    what = "storage account" if kind == "storage" else "container registry"
    raise ValueError(
        f"the registry reports no {what} id for region {location} (regionDetails[].{_camel(key)})"
    )


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.title() for part in rest)


def _field(value, snake: str):
    """`snake` of an output type or a dict, under its Python or its API name (dict.get, so an
    output type's own get does not warn about the API name)."""
    if isinstance(value, dict):
        found = dict.get(value, snake)
        return found if found is not None else dict.get(value, _camel(snake))
    return getattr(value, snake, None)


def _normal(location) -> str:
    return str(location or "").replace(" ", "").lower()


class SharedRegistry(pulumi.ComponentResource):
    def __init__(self, name: str, config: SharedConfig, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:SharedRegistry", name, None, opts)
        names = config.names
        tags = {**config.tags, "workload": config.workload, "stage": "shared", "managed-by": "pulumi"}
        kept = pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True)
        group = resources.ResourceGroup(
            "resource-group",
            resource_group_name=names.resource_group,
            location=config.location,
            tags=tags,
            opts=kept,
        )
        settings = config.registry
        self.registry = mls.Registry(
            "registry",
            registry_name=names.registry,
            resource_group_name=group.name,
            location=config.location,
            identity=mls.ManagedServiceIdentityArgs(type=mls.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            public_network_access="Enabled" if settings.public_network_access_enabled else "Disabled",
            region_details=[_region(region) for region in (config.location, *settings.replication_regions)],
            tags=tags,
            opts=kept,
        )
        role = reader_role(config.workload)
        group_id = pulumi.Output.concat(
            "/subscriptions/", config.subscription_id, "/resourceGroups/", group.name
        )
        self.reader_role = authorization.RoleDefinition(
            "registry-reader-role",
            role_definition_id=role.guid,
            role_name=role.name,
            description="Read an Azure ML registry and its assets (managed by Pulumi)",
            role_type="CustomRole",
            scope=group_id,
            assignable_scopes=[group_id],
            permissions=[authorization.PermissionArgs(actions=list(READER_ACTIONS))],
            # Kept like the registry (review-3 R10): every stage assigns it, and ARM refuses to
            # delete a role definition that still has assignments (RoleDefinitionHasAssignments).
            opts=pulumi.ResourceOptions(parent=self, depends_on=[group], protect=True, retain_on_delete=True),
        )
        self.private_endpoints = []
        if settings.private_endpoint is not None:
            endpoint = settings.private_endpoint
            link = PrivateLink(
                subnet_id=endpoint.subnet_id,
                dns_zone_ids=endpoint.dns_zone_ids,
                location=config.location,
                resource_group_name=group.name,
                tags=tags,
            )
            self.private_endpoints.append(
                private_endpoint(
                    "registry-endpoint",
                    endpoint_name=names.private_endpoint(REGISTRY_GROUP),
                    target_id=self.registry.id,
                    group=REGISTRY_GROUP,
                    link=link,
                    parent=self,
                )
            )
            # The storage account and ACR of each region, by the ids the service reports once it
            # has created them (known after the registry, so each endpoint waits for it).
            for region in (config.location, *settings.replication_regions):
                code = region_code(region)
                for created in SYSTEM_CREATED:
                    self.private_endpoints.append(
                        private_endpoint(
                            f"registry-{created.kind}-{code}-endpoint",
                            endpoint_name=names.private_endpoint(f"{created.group}-{code}"),
                            target_id=self.registry.region_details.apply(
                                lambda details, region=region, kind=created.kind: system_created_id(
                                    details, region, kind
                                )
                            ),
                            group=created.group,
                            link=link,
                            parent=self,
                        )
                    )
        self.diagnostics = registry_diagnostics(config, self.registry.id, group.name, tags, self)
        self.resource_group_name = group.name
        # A role definition is a subscription-level resource: assignments name it under the
        # subscription it was created in, the registry's (RB-12). Read off the resource, so whoever
        # uses the id waits for the role to exist.
        self.reader_role_definition_id = self.reader_role.id.apply(
            lambda _: role.definition_id(config.subscription_id)
        )
        self.reader_role_name = role.name
        # Registry scope named after this stack, as the stages name it (mlinfra/access/registry_access.py).
        scope = Scope(SCOPE_KIND, config.stack, self.registry.id)
        self.assignments = [
            grant(
                name,
                subscription_id=config.subscription_id,
                principal=Principal(
                    persona.group_object_id,
                    persona.group_object_id,
                    PrincipalType.GROUP,
                    HolderKind.PERSONA,
                    persona_name,
                ),
                role=registry_role(persona.access, role),
                scope=scope,
                parent=self,
                role_definition_id=self.reader_role_definition_id
                if persona.access == RegistryAccess.READ
                else None,
            )
            for persona_name, persona in settings.personas.items()
        ]
        self.register_outputs({})


def _region(location: str) -> mls.RegistryRegionArmDetailsArgs:
    return mls.RegistryRegionArmDetailsArgs(
        location=location,
        acr_details=[
            mls.AcrDetailsArgs(
                system_created_acr_account=mls.SystemCreatedAcrAccountArgs(acr_account_sku="Premium")
            )
        ],
        storage_account_details=[
            mls.StorageAccountDetailsArgs(
                system_created_storage_account=mls.SystemCreatedStorageAccountArgs(
                    storage_account_type="Standard_LRS",
                    storage_account_hns_enabled=False,
                    allow_blob_public_access=False,
                )
            )
        ],
    )
