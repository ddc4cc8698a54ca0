"""mlinfra.settings.diagnostic_settings and mlinfra.stage.diagnostics: which logs and metrics each resource
type sends (every row checked against Microsoft's reference), the stage's and the shared registry's
settings as planned from the real stack files, their config errors, and what the estate verifier
knows of their rights. Assertions are on the recorded plans."""

from pathlib import Path

import pytest

from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.needs import deployer_needs, preview_needs
from mlinfra.settings.diagnostic_settings import (
    METRICS_ONLY,
    SUPPORT,
    CategoryGroup,
    log_group,
    metric_category,
)
from mlinfra.stage.diagnostics import SETTING_NAME
from tests.conftest import (
    NON_PRODUCTION_STACK,
    PRODUCTION_STACK,
    PRODUCTION_STACKS,
    SHARED_STACKS,
    plan,
    stack_config,
)
from tests.test_config import Rejection

SETTING = "azure-native:monitor:DiagnosticSetting"
LOGS = "azure-native:operationalinsights:Workspace"
RELAXATION = "mlinfra:policy:ProductionRelaxation"
CENTRAL = (
    "/subscriptions/00000000-0000-0000-0000-000000000030/resourceGroups/rg-monitoring-hub/providers/"
    "Microsoft.OperationalInsights/workspaces/log-central-weu"
)
STAGE_TYPES = {
    "Microsoft.MachineLearningServices/workspaces",
    "Microsoft.KeyVault/vaults",
    "Microsoft.Storage/storageAccounts",
    *(f"Microsoft.Storage/storageAccounts/{s}Services" for s in ("blob", "file", "queue", "table")),
    "Microsoft.ContainerRegistry/registries",
}


def _type_of(resource_uri: str) -> str:
    """`Namespace/type[/child]` of an ARM id (the storage services are children named `default`)."""
    tail = resource_uri.split("/providers/", 1)[1].split("/")
    return "/".join([tail[0], *tail[1::2]])


def _settings(stack: str, **overrides) -> dict[str, dict]:
    """Resource type -> the inputs of the diagnostic setting on it, in the plan of `stack`."""
    found = {_type_of(r.inputs["resourceUri"]): r.inputs for r in plan(stack, **overrides).of_type(SETTING)}
    return found


def test_audit_group_where_microsoft_lists_it():
    """The `audit` category group exists for ML workspaces, key vaults and container registries, and
    not for storage services or Azure ML registries: Azure/azure-policy
    built-in-policies/policyDefinitions/Monitoring/DiagnosticSettingsExistsAudit_Audit.json
    ("Applicable resource types are those that support the Audit category group"; its list holds
    microsoft.machinelearningservices/workspaces, microsoft.keyvault/vaults,
    microsoft.containerregistry/registries, and no microsoft.storage/* type and no ML registries);
    MicrosoftDocs/azure-docs articles/azure-monitor/essentials/diagnostics-settings-policies-deployifnotexists.md
    ("Supported Resources", the same list)."""
    audited = {t for t, support in SUPPORT.items() if support.audit}
    assert audited == {
        "Microsoft.MachineLearningServices/workspaces",
        "Microsoft.KeyVault/vaults",
        "Microsoft.ContainerRegistry/registries",
    }
    for resource_type in SUPPORT:
        expected = CategoryGroup.AUDIT if resource_type in audited else CategoryGroup.ALL_LOGS
        assert log_group(resource_type, CategoryGroup.AUDIT) == expected
        assert log_group(resource_type, CategoryGroup.ALL_LOGS) == CategoryGroup.ALL_LOGS


def test_logs_and_metrics_where_microsoft_lists_them():
    """Resource logs: MicrosoftDocs/azure-monitor-docs articles/azure-monitor/reference/supported-logs/
    has a page for each type here (workspaces, vaults, registries, the four storage services: StorageRead,
    StorageWrite, StorageDelete; ML registries: Registry Asset Read/Write Event) and none for
    microsoft-storage-storageaccounts (the account's logs are its services'). Metrics: every page
    links its supported metrics except microsoft-machinelearningservices-registries-logs.md, so the ML
    registry sends no AllMetrics."""
    assert set(METRICS_ONLY) == {"Microsoft.Storage/storageAccounts"}
    assert log_group("Microsoft.Storage/storageAccounts", CategoryGroup.ALL_LOGS) is None
    assert metric_category("Microsoft.MachineLearningServices/registries", True) is None
    for resource_type in STAGE_TYPES:
        assert metric_category(resource_type, True) == "AllMetrics"
        assert metric_category(resource_type, False) is None
    assert all(support.source for support in SUPPORT.values())


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_production_stages_log_every_stateful_resource_to_their_workspace(stack):
    """On by default in production (ML-6, KV-5): one setting per resource, each named the same,
    sending allLogs (where the type has logs) and AllMetrics to the stage's own Log Analytics workspace."""
    workspaces = plan(stack).of_type(LOGS)
    assert len(workspaces) == 1
    settings = _settings(stack)
    assert set(settings) == STAGE_TYPES
    for resource_type, inputs in settings.items():
        assert inputs["name"] == SETTING_NAME
        assert inputs["workspaceId"].endswith(f"/workspaces/{workspaces[0].inputs['workspaceName']}")
        assert inputs["metrics"] == [{"category": "AllMetrics", "enabled": True}]
        if resource_type == "Microsoft.Storage/storageAccounts":
            assert "logs" not in inputs
        else:
            assert inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]


def test_the_storage_services_are_the_accounts_default_children():
    """A storage service's id is the account's id + `/<service>Services/default` (azure-rest-api-specs
    storage BlobServiceProperties, FileServiceProperties, QueueServiceProperties, TableServiceProperties:
    the only service name is `default`)."""
    settings = _settings(PRODUCTION_STACK)
    account = settings["Microsoft.Storage/storageAccounts"]["resourceUri"]
    for service in ("blob", "file", "queue", "table"):
        uri = settings[f"Microsoft.Storage/storageAccounts/{service}Services"]["resourceUri"]
        assert uri == f"{account}/{service}Services/default"


def test_off_by_default_outside_production_and_on_when_asked():
    assert plan(NON_PRODUCTION_STACK).of_type(SETTING) == []
    assert set(_settings(NON_PRODUCTION_STACK, **{"mlinfra:diagnostics": {"enabled": True}})) == STAGE_TYPES


def test_audit_and_a_central_workspace_without_metrics():
    settings = _settings(
        PRODUCTION_STACK,
        **{
            "mlinfra:diagnostics": {
                "categoryGroup": "audit",
                "logAnalyticsWorkspaceId": CENTRAL,
                "metricsEnabled": False,
            }
        },
    )
    assert {inputs["workspaceId"] for inputs in settings.values()} == {CENTRAL}
    assert all("metrics" not in inputs for inputs in settings.values())
    groups = {t: inputs.get("logs", [{}])[0].get("categoryGroup") for t, inputs in settings.items()}
    assert groups["Microsoft.KeyVault/vaults"] == "audit"
    assert groups["Microsoft.MachineLearningServices/workspaces"] == "audit"
    assert groups["Microsoft.ContainerRegistry/registries"] == "audit"
    assert groups["Microsoft.Storage/storageAccounts/blobServices"] == "allLogs"  # no audit group
    # The account itself has only metrics; without them its setting would send nothing at all.
    assert "Microsoft.Storage/storageAccounts" not in settings


@pytest.fixture
def rejection(monkeypatch) -> Rejection:
    return Rejection(monkeypatch)


def test_fails_when_the_central_workspace_id_is_not_a_log_analytics_workspace(rejection):
    wrong = CENTRAL.replace("Microsoft.OperationalInsights/workspaces", "Microsoft.Insights/components")
    message = rejection.message(
        stack_config(NON_PRODUCTION_STACK, **{"mlinfra:diagnostics": {"logAnalyticsWorkspaceId": wrong}})
    )
    assert "mlinfra:diagnostics.logAnalyticsWorkspaceId: got" in message
    assert wrong in message
    assert "expected the id of a Microsoft.OperationalInsights/workspaces" in message


def test_fails_when_the_category_group_is_unknown(rejection):
    message = rejection.message(
        stack_config(NON_PRODUCTION_STACK, **{"mlinfra:diagnostics": {"categoryGroup": "AuditEvent"}})
    )
    assert 'mlinfra:diagnostics.categoryGroup: got "AuditEvent"' in message
    assert "'allLogs' or 'audit'" in message


def test_fails_when_a_production_stage_turns_them_off(rejection):
    message = rejection.message(stack_config(PRODUCTION_STACK, **{"mlinfra:diagnostics": {"enabled": False}}))
    assert "diagnostics.enabled: got false; must be true" in message
    assert "productionRelaxations.diagnostics" in message


def test_a_relaxed_production_stage_goes_without_them_on_record():
    reason = "the landing zone's Azure Policy deploys the diagnostic settings"
    result = plan(
        PRODUCTION_STACK,
        **{
            "mlinfra:diagnostics": {"enabled": False},
            "mlinfra:productionRelaxations": {"diagnostics": reason},
        },
    )
    assert result.of_type(SETTING) == []
    assert [r.inputs for r in result.of_type(RELAXATION)] == [
        {"stage": PRODUCTION_STACK, "rule": "diagnostics", "reason": reason}
    ]


@pytest.mark.parametrize("stack", SHARED_STACKS)
def test_the_shared_registry_logs_to_a_workspace_of_its_own(stack):
    """allLogs only (no audit group) and no metrics (none listed for ML registries; see above)."""
    result = plan(stack)
    registry_id = next(
        r for r in result.resources if r.type == "azure-native:machinelearningservices:Registry"
    ).inputs["registryName"]
    (setting,) = result.of_type(SETTING)
    (workspace,) = result.of_type(LOGS)
    assert setting.inputs["resourceUri"].endswith(f"/registries/{registry_id}")
    assert setting.inputs["workspaceId"].endswith(f"/workspaces/{workspace.inputs['workspaceName']}")
    assert setting.inputs["logs"] == [{"categoryGroup": "allLogs", "enabled": True}]
    assert "metrics" not in setting.inputs
    assert workspace.protect and workspace.retain_on_delete
    assert workspace.inputs["features"] == {"disableLocalAuth": True}


@pytest.mark.parametrize("stack", SHARED_STACKS)
def test_the_shared_registry_can_log_centrally_or_not_at_all(stack):
    central = plan(stack, **{"mlinfra:diagnostics": {"logAnalyticsWorkspaceId": CENTRAL}})
    assert central.of_type(LOGS) == []
    assert [s.inputs["workspaceId"] for s in central.of_type(SETTING)] == [CENTRAL]
    off = plan(stack, **{"mlinfra:diagnostics": {"enabled": False}})
    assert off.of_type(SETTING) == [] and off.of_type(LOGS) == []


def _stack_plan(stack: str, **overrides) -> StackPlan:
    config = stack_config(stack, **overrides)
    return StackPlan("stage", stack, Path("."), None, plan(stack, **overrides), dict(config.values))


def test_the_verifier_knows_what_a_setting_needs():
    """`Microsoft.Insights/diagnosticSettings/write` at the setting's id (an extension resource: the
    resource's id + /providers/Microsoft.Insights/diagnosticSettings/<name>, Microsoft Learn REST
    "Diagnostic Settings - Create Or Update", PUT {resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}),
    and `Microsoft.OperationalInsights/workspaces/sharedKeys/action` on the destination workspace
    (LinkedAuthorizationFailed otherwise: MicrosoftDocs/azure-docs#80159; JimGBritt/AzurePolicy#17,
    Log Analytics Contributor lacking sharedKeys/action); `.../read` for the preview identity."""
    stack = _stack_plan(PRODUCTION_STACK, **{"mlinfra:diagnostics": {"logAnalyticsWorkspaceId": CENTRAL}})
    needs = deployer_needs(stack, (None, None))
    writes = {n.scope for n in needs if n.action == "Microsoft.Insights/diagnosticSettings/write"}
    uris = {s["resourceUri"] for s in _settings(PRODUCTION_STACK).values()}
    assert writes == {f"{uri}/providers/Microsoft.Insights/diagnosticSettings/{SETTING_NAME}" for uri in uris}
    linked = [n for n in needs if n.action == "Microsoft.OperationalInsights/workspaces/sharedKeys/action"]
    assert {n.scope for n in linked} == {CENTRAL} and {n.rule for n in linked} == {"EV-2"}
    assert len(linked) == len(uris)
    reads = {n.scope for n in preview_needs(stack, (None, None)) if "diagnosticSettings" in n.action}
    assert reads == writes


@pytest.mark.parametrize(
    "settings",
    [{}, {"categoryGroup": "audit", "metricsEnabled": False, "logAnalyticsWorkspaceId": CENTRAL}],
    ids=["defaults", "audit-central-no-metrics"],
)
def test_what_production_plans_meets_the_pack(settings):
    """The policy `production-diagnostic-settings` passes whatever a valid production config plans,
    metrics off included (the storage account's own setting then goes: it has metrics only)."""
    from mlinfra.review.check import check_plan
    from mlinfra.review.check_config import load_pack
    from tests.conftest import PROJECT_DIR

    pack = load_pack(PROJECT_DIR)
    from mlinfra_policy.config import pack_config  # the pack directory is on sys.path now

    document = plan(PRODUCTION_STACK, **{"mlinfra:diagnostics": settings}).to_json()
    violations = check_plan(
        document, PROJECT_DIR, PRODUCTION_STACK, pack_config(pack.POLICIES, production=True)
    )
    assert [v for v in violations if v.policy == "production-diagnostic-settings"] == []
