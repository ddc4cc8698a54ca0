"""Management locks of production stages (issue 33): the storage account, key vault and container
registry each have a `CanNotDelete` lock (not the workspace, whose children a release replaces:
mlinfra/stage/locks.py) that depends on them, so a delete from outside
Pulumi (the portal, the CLI) fails too, which `protect` (PU-3) cannot stop.

A lock names its resource by `scope`, unknown in a preview for a resource being created; the
dependency on the resource is known, so that is what ties a lock to it.
"""

from mlinfra_policy.common import get, stack_policy

LOCK = "azure-native:authorization:ManagementLockByScope"
LOCKED = (
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:containerregistry:Registry",
)


def _locked(args, production):
    locks = [r for r in args.resources if r.resource_type == LOCK]
    for target in args.resources:
        if target.resource_type not in LOCKED:
            continue
        held = [lock for lock in locks if any(d.urn == target.urn for d in lock.dependencies)]
        if not any(get(lock.props, "level") == "CanNotDelete" for lock in held):
            yield (
                f"{target.name} has no CanNotDelete management lock; production's stateful resources are "
                "locked against deletion outside Pulumi (mlinfra:lock, PU-3)",
                target.urn,
            )


POLICIES = [
    stack_policy(
        "production-resources-locked",
        "Production storage accounts, key vaults and registries carry a CanNotDelete lock (PU-3).",
        _locked,
        production_only=True,
    ),
]
