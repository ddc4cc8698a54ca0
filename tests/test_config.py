"""mlinfra.config.stage_config: bad stack config stops the program before anything is registered,
with one line naming the key, the value received and what is allowed; left-out config
gets the secure choice.

Every case runs the real `__main__.py` under the recording mock engine (via the planner's
`record`), with the dev stack file plus overrides, so the check is on what the program
would do with that stack file, not on the model class alone.
"""

import dataclasses
import json

import pytest

from mlinfra.config.config_error import ConfigError
from mlinfra.planner import recorder
from mlinfra.planner.stackfile import StackConfig
from tests.conftest import (
    CATALOG,
    NON_PRODUCTION_STACK,
    OWNERS,
    PROJECT_DIR,
    STATEFUL_TYPES,
    plan,
    problem_lines,
    stack_config,
)

BASE_STACK = NON_PRODUCTION_STACK
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
VALID_GUID = "0b1f6c3e-2a4d-4c8e-9f10-5e6d7c8b9a01"


class Rejection:
    """Runs a program expected to fail with ConfigError and checks nothing was registered."""

    def __init__(self, monkeypatch):
        self.monitors: list[recorder.RecordingMonitor] = []
        monitors = self.monitors

        class SpyMonitor(recorder.RecordingMonitor):
            def __init__(self, mocks):
                super().__init__(mocks)
                monitors.append(self)

        # `record` looks the class up at call time, so every run in this test uses the spy.
        monkeypatch.setattr(recorder, "RecordingMonitor", SpyMonitor)

    def message(self, config: StackConfig) -> str:
        self.monitors.clear()
        with pytest.raises(ConfigError) as caught:
            recorder.record(recorder.main_program(PROJECT_DIR), config)
        # The refused run is the last: a stack the config names may be planned before it.
        assert self.monitors, "the program did not run under the recording monitor"
        registered = [r.urn for r in self.monitors[-1].registrations if r.type != ROOT_STACK_TYPE]
        assert registered == [], "resources were registered before the config error"
        message = str(caught.value)
        return problem_lines(message)


@pytest.fixture
def rejection(monkeypatch) -> Rejection:
    return Rejection(monkeypatch)


def rejected(rejection: Rejection, **overrides) -> str:
    return rejection.message(stack_config(BASE_STACK, **overrides))


def got(value) -> str:
    """A received value as messages show it: JSON, cut to 200 characters with an ellipsis."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 200 else text[:199] + "…"


# --- wrong types ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "key", "value", "allowed"),
    [
        pytest.param(
            {"mlinfra:network": {"publicNetworkAccessEnabled": "true"}},
            "mlinfra:network.publicNetworkAccessEnabled",
            "true",
            "boolean",
            id="string-for-bool",
        ),
        pytest.param(
            {"mlinfra:keyVault": {"purgeProtectionEnabled": "yes"}},
            "mlinfra:keyVault.purgeProtectionEnabled",
            "yes",
            "boolean",
            id="word-for-bool",
        ),
        pytest.param(
            {"mlinfra:workspace": {"highBusinessImpact": 1}},
            "mlinfra:workspace.highBusinessImpact",
            1,
            "boolean",
            id="int-for-bool",
        ),
        pytest.param(
            {"mlinfra:keyVault": {"softDeleteRetentionDays": "30"}},
            "mlinfra:keyVault.softDeleteRetentionDays",
            "30",
            "integer",
            id="string-for-int",
        ),
        pytest.param(
            {"mlinfra:monitoring": {"logRetentionDays": 60.5}},
            "mlinfra:monitoring.logRetentionDays",
            60.5,
            "integer",
            id="float-for-int",
        ),
        pytest.param(
            {"mlinfra:tags": {"owner": True}}, "mlinfra:tags.owner", True, "string", id="bool-for-str"
        ),
        pytest.param(
            {"mlinfra:containerRegistry": {"sku": True}},
            "mlinfra:containerRegistry.sku",
            True,
            "'Premium'",
            id="bool-for-enum",
        ),
        pytest.param(
            {"mlinfra:tags": ["owner"]}, "mlinfra:tags", ["owner"], "dictionary", id="list-for-mapping"
        ),
    ],
)
def test_fails_when_a_value_has_the_wrong_type(rejection, overrides, key, value, allowed):
    message = rejected(rejection, **overrides)
    assert f"{key}: got {got(value)}" in message
    assert allowed in message


@pytest.mark.parametrize(
    ("section", "field", "value", "allowed"),
    [
        ("keyVault", "softDeleteRetentionDays", 6, "from 7 to 90"),
        ("keyVault", "softDeleteRetentionDays", 91, "from 7 to 90"),
        ("monitoring", "logRetentionDays", 29, "from 30 to 730"),
        ("monitoring", "logRetentionDays", 731, "from 30 to 730"),
    ],
)
def test_fails_when_a_number_is_out_of_range(rejection, section, field, value, allowed):
    message = rejected(rejection, **{f"mlinfra:{section}": {field: value}})
    assert f"mlinfra:{section}.{field}: got {value}; expected a whole number {allowed}" in message


@pytest.mark.parametrize(
    ("section", "field", "value", "allowed"),
    [
        (
            "storage",
            "sku",
            "Premium_LRS",
            [
                "'Standard_LRS'",
                "'Standard_ZRS'",
                "'Standard_GRS'",
                "'Standard_RAGRS'",
                "'Standard_GZRS'",
                "'Standard_RAGZRS'",
            ],
        ),
        ("containerRegistry", "sku", "Gold", ["'Basic'", "'Standard'", "'Premium'"]),
        ("containerRegistry", "sku", "premium", ["'Premium'"]),
        (
            "workspace",
            "isolationMode",
            "Open",
            ["'Disabled'", "'AllowInternetOutbound'", "'AllowOnlyApprovedOutbound'"],
        ),
    ],
)
def test_fails_when_a_value_is_not_in_its_closed_set(rejection, section, field, value, allowed):
    message = rejected(rejection, **{f"mlinfra:{section}": {field: value}})
    assert f"mlinfra:{section}.{field}: got {got(value)}" in message
    for choice in allowed:
        assert choice in message


# --- unknown keys --------------------------------------------------------------------

TOP_LEVEL_KEYS = (
    "workload",
    "uniqueSuffix",
    "tags",
    "network",
    "storage",
    "keyVault",
    "containerRegistry",
    "monitoring",
    "workspace",
    "resourceProtection",
)


def allowed_keys(message: str, key: str) -> set[str]:
    """The keys listed after `<key>: unknown key; allowed keys: `."""
    marker = f"{key}: unknown key; allowed keys: "
    assert marker in message
    listed = message.split(marker, 1)[1].split(";", 1)[0]
    return {item.strip() for item in listed.split(",")}


@pytest.mark.parametrize(
    "key",
    [
        "mlinfra:retention",
        "mlinfra:subscriptionId",  # belongs to azure-native:, where the provider reads it
        "mlinfra:location",
    ],
)
def test_fails_when_a_top_level_key_is_unknown(rejection, key):
    message = rejected(rejection, **{key: "westeurope"})
    assert allowed_keys(message, key) >= set(TOP_LEVEL_KEYS)


@pytest.mark.parametrize(
    ("section", "field", "allowed"),
    [
        ("keyVault", "retention", {"softDeleteRetentionDays", "purgeProtectionEnabled"}),
        ("network", "publicAccess", {"publicNetworkAccessEnabled", "privateEndpoints"}),
        ("storage", "kind", {"sku", "sharedKeyAccessEnabled"}),
    ],
)
def test_fails_when_a_key_inside_a_section_is_unknown(rejection, section, field, allowed):
    message = rejected(rejection, **{f"mlinfra:{section}": {field: 7}})
    assert allowed_keys(message, f"mlinfra:{section}.{field}") == allowed


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        pytest.param(
            {"mlinfra:keyVault": {"soft_delete_retention_days": 8}},
            "mlinfra:keyVault.soft_delete_retention_days",
            id="section-field",
        ),
        pytest.param(
            {"mlinfra:keyVault": None, "mlinfra:key_vault": {"softDeleteRetentionDays": 8}},
            "mlinfra:key_vault",
            id="section",
        ),
        # The worst case: a subscription under the project namespace replaces the provider's, so
        # names are derived from a subscription the provider does not deploy to.
        pytest.param(
            {"azure-native:subscriptionId": None, "mlinfra:subscription_id": VALID_GUID},
            "mlinfra:subscription_id",
            id="azure-target",
        ),
    ],
)
def test_fails_when_a_key_is_spelled_in_snake_case(rejection, overrides, key):
    message = rejected(rejection, **overrides)
    assert f"{key}: unknown key" in message


# --- required values and the Azure target ---------------------------------------------


@pytest.mark.parametrize("key", ["azure-native:subscriptionId", "azure-native:tenantId"])
@pytest.mark.parametrize(
    "value", ["not-a-guid", "1234", "{" + VALID_GUID + "}", VALID_GUID + "0", VALID_GUID[:-1] + "g"]
)
def test_fails_when_an_azure_id_is_not_a_guid(rejection, key, value):
    message = rejected(rejection, **{key: value})
    assert f"{key}: got {got(value)}; expected a GUID" in message


@pytest.mark.parametrize("value", ["", "Churn", "1churn", "abcdefghijklmno", "ch-urn", "c"])
def test_fails_when_workload_is_invalid(rejection, value):
    message = rejected(rejection, **{"mlinfra:workload": value})
    assert (
        f"mlinfra:workload: got {got(value)}; expected 2-14 lowercase letters and digits starting with a letter"
        in message
    )


def test_fails_when_workload_is_missing(rejection):
    message = rejected(rejection, **{"mlinfra:workload": None})
    assert "mlinfra:workload: required but not set; expected 2-14 lowercase letters and digits" in message


@pytest.mark.parametrize(
    "key", ["azure-native:subscriptionId", "azure-native:tenantId", "azure-native:location"]
)
def test_fails_when_the_azure_target_is_missing(rejection, key):
    message = rejected(rejection, **{key: None})
    assert f"{key}: required but not set" in message


@pytest.mark.parametrize(
    ("key", "allowed"),
    [("azure-native:subscriptionId", "GUID"), ("azure-native:location", "westeurope")],
)
def test_fails_when_the_azure_target_is_missing_and_says_what_is_allowed(rejection, key, allowed):
    message = rejected(rejection, **{key: None})
    assert allowed in message.split(f"{key}: required but not set", 1)[1]


@pytest.mark.parametrize("location", ["westeurpe", "WestEurope", "west europe"])
def test_fails_when_location_is_not_in_the_allow_list(rejection, location):
    # T-05
    message = rejected(rejection, **{"azure-native:location": location})
    assert f"azure-native:location: got {got(location)}; expected an Azure region" in message
    assert "westeurope" in message and "swedencentral" in message


def _not_stages() -> list[str]:
    """Stack names no catalog stage matches: unknown, other case, padded, empty."""
    last = list(CATALOG)[-1]
    return ["nostage", last.capitalize(), f"{last} ", last.upper(), ""]


@pytest.mark.parametrize("stack", _not_stages())
def test_fails_when_the_stack_name_is_not_a_stage(rejection, stack):
    # T-01 / PU-4: case-sensitive, no trimming, before any registration.
    config = dataclasses.replace(stack_config(BASE_STACK), stack=stack)
    message = rejection.message(config)
    assert (
        f"stack name: got {got(stack)}; expected <stage> or <workload>-<stage> with a stage of mlinfra:stages: "
        + ", ".join(CATALOG)
    ) in message


@pytest.mark.parametrize("suffix", ["AB-12", "abc", "abcdef", "ab_cd"])
def test_fails_when_unique_suffix_is_malformed(rejection, suffix):
    message = rejected(rejection, **{"mlinfra:uniqueSuffix": suffix})
    assert f"mlinfra:uniqueSuffix: got {got(suffix)}; expected 5 lowercase letters or digits" in message


# --- tags ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tags", "allowed"),
    [
        pytest.param(
            {"stage": "live"},
            "tag name 'stage' is set by the program; reserved: workload, stage, managed-by",
            id="reserved",
        ),
        pytest.param(
            {"Managed-By": "me"}, "tag name 'Managed-By' is set by the program", id="reserved-other-case"
        ),
        pytest.param(
            {"cost/center": "1"},
            "tag name 'cost/center': expected 1-512 characters without any of",
            id="slash",
        ),
        pytest.param({"a<b": "1"}, "tag name 'a<b': expected 1-512 characters without any of", id="angle"),
        pytest.param({"": "1"}, "tag name '': expected 1-512 characters", id="empty-name"),
        pytest.param(
            {"Owner": "a", "owner": "b"},
            "tag name 'owner' appears twice (Azure tag names are case-insensitive)",
            id="duplicate",
        ),
        pytest.param(
            {"owner": "v" * 257}, "tag 'owner': expected a value of at most 256 characters", id="long-value"
        ),
        pytest.param({f"t{i}": "x" for i in range(48)}, "expected at most 47 tags", id="too-many"),
    ],
)
def test_fails_when_tags_are_invalid(rejection, tags, allowed):
    message = rejected(rejection, **{"mlinfra:tags": tags})
    assert f"mlinfra:tags: got {got(tags)}" in message
    assert allowed in message


# --- cross-field rules ---------------------------------------------------------------


@pytest.mark.parametrize("sku", ["Basic", "Standard"])
def test_fails_when_a_private_registry_is_not_premium(rejection, sku):
    # ACR-3: only Premium can turn public network access off.
    message = rejected(
        rejection,
        **{
            "mlinfra:network": PRIVATE_NETWORK,
            "mlinfra:containerRegistry": {"sku": sku},
            "mlinfra:workspace": {"imageBuildCompute": "image-builder"},
        },
    )
    assert f"mlinfra:containerRegistry.sku: got {got(sku)}" in message
    assert "'Premium'" in message and "ACR-3" in message


def test_fails_with_every_problem_in_one_line(rejection):
    message = rejected(
        rejection,
        **{
            "mlinfra:keyVault": {"softDeleteRetentionDays": 6},
            "azure-native:tenantId": "1234",
            "mlinfra:retention": 7,
            "mlinfra:storage": {"sku": "Premium_LRS"},
        },
    )
    for fragment in (
        "mlinfra:keyVault.softDeleteRetentionDays: got 6",
        'azure-native:tenantId: got "1234"',
        "mlinfra:retention: unknown key",
        'mlinfra:storage.sku: got "Premium_LRS"',
    ):
        assert fragment in message
    assert len(message.splitlines()) >= 4  # one line per problem, not one merged sentence


# --- secure defaults -----------------------------------------------------------------


PRIVATE_NETWORK = {
    "privateEndpoints": {
        "virtualNetwork": {"addressSpace": "10.30.0.0/16", "endpointSubnetPrefix": "10.30.0.0/24"}
    }
}


def minimal_overrides() -> dict:
    """Delete every project key but the workload, the two a private stage cannot do without
    (where its private endpoints go, and which compute builds images) and the owners an Entra
    deployment identity needs: the rest is defaults."""
    values = stack_config(BASE_STACK).values
    kept = (
        "mlinfra:workload",
        "mlinfra:stages",
        "mlinfra:stage",
    )  # the catalog is the project's, never a stack default
    removed = {key: None for key in values if key.startswith("mlinfra:") and key not in kept}
    return {
        **removed,
        "mlinfra:network": PRIVATE_NETWORK,
        "mlinfra:workspace": {"imageBuildCompute": "image-builder"},
        "mlinfra:deploymentIdentity": {"owners": OWNERS},
    }


def test_left_out_config_gets_the_secure_defaults(rejection):
    result = plan(BASE_STACK, **minimal_overrides())
    assert len(rejection.monitors) == 1 and rejection.monitors[0].registrations  # the spy sees real runs

    workspace = result.one("azure-native:machinelearningservices:Workspace").inputs
    assert workspace["publicNetworkAccess"] == "Disabled"  # ML-1
    assert workspace["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"  # ML-3
    assert workspace["hbiWorkspace"] is True  # ML-9
    assert workspace["systemDatastoresAuthMode"] == "Identity"  # ML-7

    account = result.one("azure-native:storage:StorageAccount").inputs
    assert account["allowSharedKeyAccess"] is False  # ST-3
    assert account["publicNetworkAccess"] == "Disabled"
    assert account["networkRuleSet"]["defaultAction"] == "Deny"
    assert account["sku"]["name"] == "Standard_ZRS"

    vault = result.one("azure-native:keyvault:Vault").inputs["properties"]
    assert vault["enablePurgeProtection"] is True  # KV-2
    assert vault["softDeleteRetentionInDays"] == 90  # KV-3
    assert vault["publicNetworkAccess"] == "Disabled"

    registry = result.one("azure-native:containerregistry:Registry").inputs
    assert registry["sku"]["name"] == "Premium"  # ACR-3
    assert registry["publicNetworkAccess"] == "Disabled"

    assert result.one("azure-native:operationalinsights:Workspace").inputs["retentionInDays"] == 90

    for type_ in STATEFUL_TYPES:  # PU-3
        resource = result.one(type_)
        assert (resource.protect, resource.retain_on_delete) == (True, True), type_
    assert result.one("azure-native:resources:ResourceGroup").inputs["tags"] == {
        "workload": "churn",
        "stage": BASE_STACK,
        "managed-by": "pulumi",
    }


@pytest.mark.parametrize(("retention", "log_retention"), [(7, 730), (90, 30)])
def test_range_bounds_are_accepted(retention, log_retention):
    result = plan(
        BASE_STACK,
        **{
            "mlinfra:keyVault": {"softDeleteRetentionDays": retention},
            "mlinfra:monitoring": {"logRetentionDays": log_retention},
        },
    )
    vault = result.one("azure-native:keyvault:Vault").inputs["properties"]
    assert vault["softDeleteRetentionInDays"] == retention
    assert result.one("azure-native:operationalinsights:Workspace").inputs["retentionInDays"] == log_retention
