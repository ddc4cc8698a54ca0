"""Azure Machine Learning workspace rules (security-rules.md section A).

Wire names are azure-native's `machinelearningservices.Workspace` inputs (pulumi-api.md 1.2).
"""

from pulumi_policy import StackValidationArgs

from mlinfra_policy.common import get, present, resource_policy, stack_policy

WORKSPACE = "azure-native:machinelearningservices:Workspace"
STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"


def _private(args, production):
    props = args.props
    if get(props, "publicNetworkAccess") != "Disabled":
        yield f"publicNetworkAccess is {get(props, 'publicNetworkAccess')!r}; must be 'Disabled' (ML-1)"
    if get(props, "allowPublicAccessWhenBehindVnet") is True:
        yield "allowPublicAccessWhenBehindVnet is true; must be absent or false (ML-1)"
    isolation = get(props, "managedNetwork", "isolationMode")
    if isolation != "AllowOnlyApprovedOutbound":
        yield f"managedNetwork.isolationMode is {isolation!r}; must be 'AllowOnlyApprovedOutbound' (ML-3)"
    if get(props, "hbiWorkspace") is not True:
        yield "hbiWorkspace is not true; production data needs a high-business-impact workspace (ML-9)"


def _own_dependencies(args, production):
    missing = [
        key
        for key in ("storageAccount", "keyVault", "applicationInsights", "containerRegistry")
        if not present(args.props, key)
    ]
    if missing:
        yield (
            f"{', '.join(missing)} not set: Azure would create them itself, an auto-created registry "
            "with its admin user on (ML-8)"
        )


def _datastore_auth(args: StackValidationArgs, production):
    """ML-7 across two resources: the workspace's storage account (one it depends on) without
    shared keys needs `systemDatastoresAuthMode` Identity, or uploads fail with
    KeyBasedAuthenticationNotPermitted."""
    for workspace in args.resources:
        if workspace.resource_type != WORKSPACE:
            continue
        mode = get(workspace.props, "systemDatastoresAuthMode")
        for storage in workspace.dependencies:
            if storage.resource_type != STORAGE_ACCOUNT:
                continue
            if get(storage.props, "allowSharedKeyAccess") is False and str(mode).lower() != "identity":
                yield (
                    f"storage account {storage.name} disallows shared keys but systemDatastoresAuthMode is "
                    f"{mode!r}; must be 'Identity' (ML-7)",
                    workspace.urn,
                )


POLICIES = [
    resource_policy(
        "ml-workspace-production-isolation",
        "Production ML workspaces are private, keep managed compute to approved outbound traffic and are HBI (ML-1, ML-3, ML-9).",
        [WORKSPACE],
        _private,
        production_only=True,
    ),
    resource_policy(
        "ml-workspace-own-dependencies",
        "ML workspaces bring their own storage, key vault, Application Insights and registry (ML-8).",
        [WORKSPACE],
        _own_dependencies,
    ),
    stack_policy(
        "ml-workspace-datastore-auth",
        "A workspace whose storage disallows shared keys reaches its datastores with its identity (ML-7).",
        _datastore_auth,
    ),
]
