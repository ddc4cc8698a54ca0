"""Resource options of stateful resources in production (PU-3).

CrossGuard passes `protect` in the resource options; pulumi_policy 1.21's PolicyResourceOptions has
no `retainOnDelete`, so that half of PU-3 stays with the unit tests of the components.
"""

from mlinfra_policy.common import resource_policy

STATEFUL = (
    "azure-native:resources:ResourceGroup",
    "azure-native:machinelearningservices:Workspace",
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:containerregistry:Registry",
    "azure-native:applicationinsights:Component",
    "azure-native:operationalinsights:Workspace",
)
"""Resources whose deletion loses data or history (the group deletes everything in it)."""


def _protected(args, production):
    if not args.opts.protect:
        yield "protect is off; production data must not be deletable by a Pulumi run (PU-3)"


POLICIES = [
    resource_policy(
        "production-resources-protected",
        "Stateful resources of production stages are protected (PU-3).",
        STATEFUL,
        _protected,
        production_only=True,
    ),
]
