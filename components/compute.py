"""`WorkspaceCompute`: the workspace's AmlCompute clusters, the image builder and training clusters.

Every cluster scales to its minimum (0 by default) when idle, runs under a system-assigned
identity, takes Entra tokens only (ML-11: `disableLocalAuth`), and has no public IP on its nodes
in a private stage: in a managed network, `enableNodePublicIp: false` is the no-public-IP
setting (Microsoft Learn, machine-learning/how-to-managed-network-compute.md).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
from pulumi_azure_native import machinelearningservices as mls

from components.compute_settings import ClusterSettings, ComputeSettings


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
        return mls.Compute(
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
            opts=pulumi.ResourceOptions(parent=self),
        )


def _duration(seconds: int) -> str:
    """ISO 8601 duration in the form the API's own examples use (`PT5M`), seconds only when needed
    (2025-12-01 examples/Compute/createOrUpdate/AmlCompute.json, `nodeIdleTimeBeforeScaleDown`)."""
    return f"PT{seconds // 60}M" if seconds % 60 == 0 else f"PT{seconds}S"
