"""Diagnostic settings of production stages (issue 33): the workspace, key vault, storage account
and container registry each have a `monitor.DiagnosticSetting` sending logs that depends on them (the
storage account one per service), and every log entry is an enabled category group.

A setting names its resource by `resourceUri`, which a preview does not know for a resource it is
creating; the dependency on the resource is known, so that is what ties a setting to it.
"""

from mlinfra_policy.common import get, stack_policy

DIAGNOSTIC_SETTING = "azure-native:monitor:DiagnosticSetting"
STORAGE = "azure-native:storage:StorageAccount"
LOGGED = {
    "azure-native:machinelearningservices:Workspace": 1,
    "azure-native:keyvault:Vault": 1,
    "azure-native:containerregistry:Registry": 1,
    STORAGE: 4,
}
"""Type -> diagnostic settings sending logs that depend on it: one each; for the storage account one
per service (blob, file, queue, table: their ids are the account's id plus the service). The
account's own setting carries metrics only, and only with metricsEnabled, so it is not counted."""
CATEGORY_GROUPS = ("allLogs", "audit")


def _logging(target, settings):
    """The settings that depend on `target` and send logs."""
    return [s for s in settings if get(s.props, "logs") and any(d.urn == target.urn for d in s.dependencies)]


def _diagnostics(args, production):
    settings = [r for r in args.resources if r.resource_type == DIAGNOSTIC_SETTING]
    for target in args.resources:
        wanted = LOGGED.get(target.resource_type)
        if wanted is None:
            continue
        found = _logging(target, settings)
        if len(found) < wanted:
            what = "blob, file, queue and table" if target.resource_type == STORAGE else "its own"
            yield (
                f"{target.name} has {len(found)} of {wanted} diagnostic settings sending logs ({what}); production "
                "resources send their logs to Log Analytics (mlinfra:diagnostics, ML-6, KV-5)",
                target.urn,
            )
    for setting in settings:
        logs = get(setting.props, "logs") or []
        if not logs and not get(setting.props, "metrics"):
            yield f"diagnostic setting {setting.name} sends neither logs nor metrics (ML-6)", setting.urn
        for entry in logs:
            if get(entry, "enabled") is not True or get(entry, "categoryGroup") not in CATEGORY_GROUPS:
                yield (
                    f"diagnostic setting {setting.name} has a log entry that is not an enabled category "
                    f"group ({', '.join(CATEGORY_GROUPS)}; ML-6, KV-5)",
                    setting.urn,
                )
        if not get(setting.props, "workspaceId"):
            yield f"diagnostic setting {setting.name} has no Log Analytics workspace (ML-6)", setting.urn


POLICIES = [
    stack_policy(
        "production-diagnostic-settings",
        "Production workspaces, key vaults, storage (account and services) and registries send resource "
        "logs by category group to Log Analytics (ML-6, KV-5).",
        _diagnostics,
        production_only=True,
    ),
]
