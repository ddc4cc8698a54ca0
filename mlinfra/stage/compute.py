"""`WorkspaceCompute`: the workspace's AmlCompute clusters, the image builder and training clusters.

Every cluster scales to its minimum (0 by default) when idle, runs under a system-assigned
identity, takes Entra tokens only (ML-11: `disableLocalAuth`), and has no public IP on its nodes
in a private stage: in a managed network, `enableNodePublicIp: false` is the no-public-IP
setting (Microsoft Learn, machine-learning/how-to-managed-network-compute.md).

- Storage without shared keys (F6): each cluster's identity gets Storage Blob Data Contributor on
  the workspace's default storage, which jobs read inputs from and write outputs and models to
  (MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-disable-local-auth-storage.md,
  "Scenarios for role assignments": a model as job input or output needs Storage Blob Data
  Contributor on the compute identity). AcrPull on the registry is assigned by the service.
- Order (R1): clusters wait for the managed network's last outbound rule (`after`), so the first
  cluster is not created while the service still provisions the network and its rules
  (how-to-managed-network.md: the first compute can time out while the network provisions;
  pulumi/pulumi-azure-native#3212).
- Replacement (R7): `Compute_CreateOrUpdate` "will overwrite a compute if it exists. This is a
  nonrecoverable operation" and `Compute_Update` (PATCH) takes scale settings only
  (azure-rest-api-specs machinelearningservices stable/2025-12-01, the Compute_CreateOrUpdate
  description and examples/Compute/patch.json): every other property replaces the cluster,
  deleted first because the new one has the same name.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import machinelearningservices as mls

from mlinfra.access.grants import HolderKind, Principal, PrincipalType, Scope, grant
from mlinfra.facts.roles import ROLES
from mlinfra.settings.compute_settings import ClusterSettings, ComputeSettings

JOB_DATA_ROLE = ROLES["Storage Blob Data Contributor"]
"""What a cluster's identity holds on key-less default storage (how-to-disable-local-auth-storage.md)."""

REPLACED_ON_CHANGE = (
    "location",
    "identity",
    "properties.computeType",
    "properties.disableLocalAuth",
    "properties.properties.vmSize",
    "properties.properties.vmPriority",
    "properties.properties.osType",
    "properties.properties.enableNodePublicIp",
    "properties.properties.remoteLoginPortPublicAccess",
)
"""Every input the program sets but `scaleSettings` and `tags`: the PATCH of a compute takes scale
settings only (2025-12-01 examples/Compute/patch.json), and a PUT over an existing one is
"a nonrecoverable operation" (Compute_CreateOrUpdate)."""


@dataclass(frozen=True, kw_only=True)
class WorkspaceComputeArgs:
    workspace_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    location: str
    tags: Mapping[str, str]
    settings: ComputeSettings = field(default_factory=ComputeSettings)
    image_build_compute: str | None = None
    """Name of the image-build cluster (`workspace.imageBuildCompute`); none: no builder."""
    node_public_ip: bool = False
    """Whether nodes get a public IP; false in private stages."""
    workspace_physical_name: str = ""
    """The workspace's name at plan time (the clusters' identities' keys in assignment names)."""
    subscription_id: str = ""
    """Subscription of the role definitions the clusters' identities are granted."""
    keyless_storage: Scope | None = None
    """The workspace's default storage when it takes no shared keys: each cluster's identity gets
    Storage Blob Data Contributor on it. None: shared keys work, the workspace hands them out."""
    after: tuple[pulumi.Resource, ...] = ()
    """The managed network's outbound rules (their components): clusters are created after the
    last of them (R1)."""


class WorkspaceCompute(pulumi.ComponentResource):
    clusters: dict[str, mls.Compute]

    def __init__(self, name: str, args: WorkspaceComputeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:WorkspaceCompute", name, None, opts)
        wanted: dict[str, ClusterSettings] = dict(args.settings.clusters)
        if args.image_build_compute:
            wanted = {args.image_build_compute: args.settings.image_builder, **wanted}
        self.clusters = {
            cluster: self._cluster(name, cluster, settings, args) for cluster, settings in wanted.items()
        }
        self.register_outputs({})

    def _cluster(self, name: str, cluster: str, settings: ClusterSettings, args: WorkspaceComputeArgs):
        compute = mls.Compute(
            f"{name}-{cluster}",
            compute_name=cluster,
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,  # a cluster outside the workspace's region is unsupported in a managed network
            identity=mls.ManagedServiceIdentityArgs(type=mls.ManagedServiceIdentityType.SYSTEM_ASSIGNED),
            properties=mls.AmlComputeArgs(
                compute_type="AmlCompute",
                disable_local_auth=True,  # ML-11
                properties=mls.AmlComputePropertiesArgs(
                    vm_size=settings.vm_size,
                    vm_priority=mls.VmPriority.LOW_PRIORITY
                    if settings.low_priority
                    else mls.VmPriority.DEDICATED,
                    os_type=mls.OsType.LINUX,
                    scale_settings=mls.ScaleSettingsArgs(
                        min_node_count=settings.min_nodes,
                        max_node_count=settings.max_nodes,
                        node_idle_time_before_scale_down=_duration(settings.idle_seconds_before_scale_down),
                    ),
                    enable_node_public_ip=args.node_public_ip,
                    remote_login_port_public_access=mls.RemoteLoginPortPublicAccess.DISABLED,
                ),
            ),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                # R1: after the managed network's rules, or the first cluster provisions it mid-write.
                depends_on=list(args.after) or None,
                replace_on_changes=list(REPLACED_ON_CHANGE),
                delete_before_replace=True,  # the new cluster has the same name (computeName)
            ),
        )
        if args.keyless_storage is not None:
            identity = Principal(
                key=f"{args.workspace_physical_name}/{cluster}",  # plan-time: the assignment's name
                object_id=compute.identity.apply(_system_principal_id),
                type=PrincipalType.SERVICE_PRINCIPAL,
                holder=HolderKind.IDENTITY,
                label=cluster,
            )
            grant(
                name,
                subscription_id=args.subscription_id,
                principal=identity,
                role=JOB_DATA_ROLE,
                scope=args.keyless_storage,
                parent=self,
                replaced_with_principal=True,  # a replaced cluster has a new identity (R7)
            )
        return compute


def _duration(seconds: int) -> str:
    """ISO 8601 duration in the form the API's own examples use (`PT5M`), seconds only when needed
    (2025-12-01 examples/Compute/createOrUpdate/AmlCompute.json, `nodeIdleTimeBeforeScaleDown`)."""
    return f"PT{seconds // 60}M" if seconds % 60 == 0 else f"PT{seconds}S"


def _system_principal_id(identity: mls.outputs.ManagedServiceIdentityResponse | None) -> str:
    """The cluster's system-assigned principal id, which Azure returns for `SystemAssigned`."""
    if identity is None or identity.principal_id is None:
        raise ValueError("the cluster was created without a system-assigned identity principal id")
    return identity.principal_id
