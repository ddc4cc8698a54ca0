"""`SharedRegistry`: the shared stack's Azure ML registry, which carries a model version from the
stage that trains it to the stages that deploy it (README, "Model promotion").

- Its own resource group, in the primary region, replicated to the configured regions; each region
  gets a system-created storage account and the registry's container registry (Premium: only
  Premium replicates, Microsoft Learn container-registry/container-registry-geo-replication).
- A system-assigned identity (the service uses it to copy assets into the registry's storage).
- Public network access from config, off by default; then a private endpoint (sub-resource
  `amlregistry`) in the configured subnet, registered in the configured DNS zone.
- `protect` and `retainOnDelete` always: a registry's assets outlive any one deployment of it.
- The custom reader role of `components.registry_roles`, assignable in the registry's group.
"""

import pulumi
from pulumi_azure_native import authorization, resources
from pulumi_azure_native import machinelearningservices as mls

from components.registry_roles import READER_ACTIONS, reader_role
from components.shared_config import SharedConfig
from components.stage_network import PrivateLink, private_endpoint

REGISTRY_GROUP = "amlregistry"
"""The registry's private-link sub-resource (azure-rest-api-specs, machinelearningservices
registries.json; Microsoft Learn how-to-registry-network-isolation)."""


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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[group]),
        )
        if settings.private_endpoint is not None:
            endpoint = settings.private_endpoint
            private_endpoint(
                "registry-endpoint",
                endpoint_name=names.private_endpoint(REGISTRY_GROUP),
                target_id=self.registry.id,
                group=REGISTRY_GROUP,
                link=PrivateLink(
                    subnet_id=endpoint.subnet_id,
                    dns_zone_ids=endpoint.dns_zone_ids,
                    location=config.location,
                    resource_group_name=group.name,
                    tags=tags,
                ),
                parent=self,
            )
        self.resource_group_name = group.name
        self.reader_role_definition_id = pulumi.Output.concat(
            "/subscriptions/",
            config.subscription_id,
            "/providers/Microsoft.Authorization/roleDefinitions/",
            role.guid,
        )
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
