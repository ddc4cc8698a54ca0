"""mlinfra.facts.naming: every derived name is valid for Azure, deterministic, and collision-free.

The Azure rules are restated here as independent regular expressions (reference
section 7, KV-7, ACR-7, ST-10) rather than read from `naming.RULES`, so a wrong rule
in the module under test makes these tests fail instead of agreeing with it.
"""

import re
import string
from dataclasses import asdict

import pytest

from mlinfra.config.stage_catalog import load_catalog
from mlinfra.facts.naming import (
    RULES,
    SUFFIX_LENGTH,
    NamingError,
    stage_names,
    unique_suffix,
)
from mlinfra.facts.regions import REGION_CODES

SUBSCRIPTION = "00000000-0000-0000-0000-000000000012"
OTHER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000003"
CATALOG = {stage.name: stage.code for stage in load_catalog()}
"""The project's stage catalog (Pulumi.yaml): name -> code."""
STAGES = tuple(CATALOG)
LONGEST_WORKLOAD = "abcdefghijklmn"  # config allows at most 14 characters
LONGEST_STAGE = max(STAGES, key=len)
LONGEST_REGION = max(REGION_CODES, key=lambda location: len(REGION_CODES[location]))
GLOBALLY_UNIQUE = ("storage_account", "key_vault", "container_registry")
RESOURCE_GROUP_SCOPED = ("resource_group", "workspace", "log_analytics", "application_insights")


def azure_accepts(field: str, name: str) -> bool:
    """Azure's naming rule for `field`, written independently of the module under test."""
    if field == "storage_account":
        return bool(re.fullmatch(r"[a-z0-9]{3,24}", name))
    if field == "key_vault":
        return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{1,22}[A-Za-z0-9]", name)) and "--" not in name
    if field == "container_registry":
        return bool(re.fullmatch(r"[A-Za-z0-9]{5,50}", name))
    if field == "workspace":
        return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{2,32}", name))
    if field == "log_analytics":
        return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]", name))
    if field == "resource_group":
        return 1 <= len(name) <= 90 and bool(re.fullmatch(r"[-\w.()]+", name)) and not name.endswith(".")
    if field == "application_insights":
        return 1 <= len(name) <= 260 and not set("%&\\?/") & set(name) and not name.endswith((".", " "))
    if field == "deployment_identity":
        # Both a user-assigned identity name (3-128) and an Entra app display name (<=120).
        return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{2,119}", name))
    if field == "virtual_network":
        return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]", name))
    if field == "service_connection":
        # Azure DevOps documents no length limit for service connections; hold the name to a
        # conservative subset that is safe in YAML (`azureSubscription:`) and in the UI.
        return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name))
    if field == "variable_group":
        # The provider only refuses blank names (resource_variable_group.go StringIsNotWhiteSpace);
        # hold it to the same conservative subset, safe in YAML (`- group:`).
        return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name))
    if field == "encryption_identity":
        # Microsoft Learn resource-name-rules, Microsoft.ManagedIdentity/userAssignedIdentities:
        # 3-128, alphanumerics, hyphens and underscores, starting with a letter or number.
        return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{2,127}", name))
    if field == "encryption_key":
        # Microsoft Learn key-vault/general/about-keys-secrets-certificates, "Object identifiers":
        # 1-127 characters, starting with a letter, only 0-9, a-z, A-Z and '-'.
        return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,126}", name))
    raise AssertionError(f"no Azure rule in this test for {field}")


def names(**overrides):
    arguments = dict(workload="churn", stage=STAGES[0], location="westeurope", subscription_id=SUBSCRIPTION)
    arguments.update(overrides)
    arguments.setdefault("code", CATALOG[arguments["stage"]])
    return stage_names(**arguments)


def test_longest_combination_gives_valid_names():
    derived = asdict(names(workload=LONGEST_WORKLOAD, stage=LONGEST_STAGE, location=LONGEST_REGION))
    assert set(derived) >= {*GLOBALLY_UNIQUE, *RESOURCE_GROUP_SCOPED}
    invalid = {field: name for field, name in derived.items() if not azure_accepts(field, name)}
    assert invalid == {}
    # The longest combination is exactly at the storage / key vault limit: nothing was truncated.
    assert len(derived["storage_account"]) == 24
    assert (
        LONGEST_WORKLOAD in derived["storage_account"]
        and CATALOG[LONGEST_STAGE] in derived["storage_account"]
    )


@pytest.mark.parametrize("location", sorted(REGION_CODES))
def test_every_region_gives_valid_names(location):
    for stage in STAGES:
        derived = asdict(names(workload=LONGEST_WORKLOAD, stage=stage, location=location))
        invalid = {field: name for field, name in derived.items() if not azure_accepts(field, name)}
        assert invalid == {}, f"{location}/{stage}"
        assert derived["resource_group"] == f"rg-{LONGEST_WORKLOAD}-{stage}-{REGION_CODES[location]}"


def test_region_codes_are_unique():
    # Two regions sharing a code would give two stages in different regions the same names.
    codes = list(REGION_CODES.values())
    assert len(codes) == len(set(codes))


def test_same_inputs_give_same_names():
    # T-10: deterministic, no randomness, no clock.
    assert names() == names()
    assert names(stage=STAGES[-1]) == names(stage=STAGES[-1])


def test_suffix_is_stable_across_releases():
    # Changing the suffix derivation renames (replaces) every storage account, vault and
    # registry already deployed; these values are pinned from the real stack files.
    assert unique_suffix("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "churn", "prod") == "32g3h"
    assert unique_suffix("6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f", "churn", "dev") == "85hnc"


def test_suffix_has_fixed_length_and_charset():
    for stage in STAGES:
        suffix = unique_suffix(SUBSCRIPTION, "churn", stage)
        assert len(suffix) == SUFFIX_LENGTH
        assert set(suffix) <= set(string.ascii_lowercase + string.digits)


def test_suffix_ignores_subscription_case():
    # Subscription GUIDs are case-insensitive; the same subscription must not get new names.
    assert unique_suffix(SUBSCRIPTION.upper(), "churn", STAGES[0]) == unique_suffix(
        SUBSCRIPTION, "churn", STAGES[0]
    )


def test_different_subscription_changes_globally_unique_names():
    here, there = asdict(names()), asdict(names(subscription_id=OTHER_SUBSCRIPTION))
    for field in GLOBALLY_UNIQUE:
        assert here[field] != there[field], field
    # Names scoped to the resource group stay readable and need no suffix.
    for field in RESOURCE_GROUP_SCOPED:
        assert here[field] == there[field], field


def test_different_stages_never_collide():
    by_stage = {stage: asdict(names(stage=stage)) for stage in STAGES}
    for field in by_stage[STAGES[0]]:
        values = [by_stage[stage][field] for stage in STAGES]
        assert len(set(values)) == len(STAGES), field
    # Not even with the same subscription and the same suffix override.
    pinned = {stage: asdict(names(stage=stage, suffix="aaaaa")) for stage in STAGES}
    for field in pinned[STAGES[0]]:
        assert len({pinned[stage][field] for stage in STAGES}) == len(STAGES), field


def test_suffix_override_is_used():
    derived = names(suffix="zz9zz")
    for field in GLOBALLY_UNIQUE:
        assert getattr(derived, field).endswith("zz9zz"), field
    assert names(suffix="zz9zz").storage_account != names().storage_account


def test_fails_when_workload_is_too_long_for_storage_name():
    # T-06: raise rather than truncate (a truncated name could collide with another stage's).
    with pytest.raises(NamingError, match=r"storage account name '.+' is 25 characters; Azure allows 3-24"):
        names(workload=LONGEST_WORKLOAD + "k", stage=LONGEST_STAGE)


def test_fails_when_workload_has_characters_storage_rejects():
    with pytest.raises(NamingError, match="storage account"):
        names(workload="Churn")


@pytest.mark.parametrize(
    ("rule", "name", "fragment"),
    [
        # T-06: storage account
        ("storage_account", "st" + "a" * 23, "storage account name .* is 25 characters; Azure allows 3-24"),
        (
            "storage_account",
            "stChurn",
            "storage account name 'stChurn' is invalid; Azure allows lowercase letters and digits",
        ),
        ("storage_account", "st-churn", "storage account name 'st-churn' is invalid"),
        ("storage_account", "st", "storage account name 'st' is 2 characters; Azure allows 3-24"),
        # T-07: key vault
        (
            "key_vault",
            "1kvchurn",
            "key vault name '1kvchurn' is invalid; Azure allows .*starting with a letter",
        ),
        ("key_vault", "kv--churn", "key vault name 'kv--churn' is invalid; Azure allows .*no '--'"),
        (
            "key_vault",
            "kv-churn-",
            "key vault name 'kv-churn-' is invalid; Azure allows .*ending with a letter or digit",
        ),
        ("key_vault", "kv" + "a" * 23, "key vault name .* is 25 characters; Azure allows 3-24"),
        ("key_vault", "kv_churn", "key vault name 'kv_churn' is invalid"),
        # T-08: container registry
        (
            "container_registry",
            "cr-churn",
            "container registry name 'cr-churn' is invalid; Azure allows letters and digits",
        ),
        ("container_registry", "crab", "container registry name 'crab' is 4 characters; Azure allows 5-50"),
        (
            "container_registry",
            "cr" + "a" * 49,
            "container registry name .* is 51 characters; Azure allows 5-50",
        ),
        # T-09: ML workspace
        (
            "workspace",
            "mlw-" + "a" * 30,
            "machine learning workspace name .* is 34 characters; Azure allows 3-33",
        ),
        ("workspace", "mlw churn", "machine learning workspace name 'mlw churn' is invalid"),
        ("workspace", "-mlwchurn", "machine learning workspace name '-mlwchurn' is invalid"),
        # the others
        ("log_analytics", "log-churn-", "log analytics workspace name 'log-churn-' is invalid"),
        ("log_analytics", "log", "log analytics workspace name 'log' is 3 characters; Azure allows 4-63"),
        ("resource_group", "rg-churn.", "resource group name 'rg-churn.' is invalid"),
        ("resource_group", "rg" + "a" * 89, "resource group name .* is 91 characters; Azure allows 1-90"),
        ("application_insights", "appi/churn", "application insights name 'appi/churn' is invalid"),
    ],
)
def test_fails_when_name_breaks_azure_rule(rule, name, fragment):
    assert not azure_accepts(rule, name)  # the case really is invalid for Azure
    with pytest.raises(NamingError, match=fragment):
        RULES[rule].check(name)


@pytest.mark.parametrize(
    ("rule", "name"),
    [
        ("storage_account", "abc"),
        ("storage_account", "a" * 24),
        ("key_vault", "kv-churn-dev-1"),
        ("key_vault", "k" * 24),
        ("container_registry", "CrChurn01"),
        ("container_registry", "c" * 50),
        ("workspace", "mlw-churn_dev-weu"),
        ("workspace", "m" * 33),
        ("log_analytics", "log-churn-dev-weu"),
        ("resource_group", "rg-churn-dev-(weu)_1"),
    ],
)
def test_check_accepts_and_returns_valid_name(rule, name):
    assert azure_accepts(rule, name)
    assert RULES[rule].check(name) == name


def test_naming_error_is_a_value_error():
    # Config validation relies on catching it; it must not be a bare Exception.
    assert issubclass(NamingError, ValueError)


def test_compact_names_cannot_collide_across_workload_and_stage_boundaries():
    # Without fixed-length stage codes, "xpre" + "prod" and "x" + "preprod" would both read "xpreprod".
    kwargs = dict(location="westeurope", subscription_id=SUBSCRIPTION, suffix="abcde")
    one = stage_names(workload="xpre", stage="long", code="prd", **kwargs)
    other = stage_names(workload="x" + "p", stage="longer", code="ppd", **kwargs)
    assert one.storage_account != other.storage_account
    assert (
        stage_names(workload="churn", stage="long", code="prd", **kwargs).storage_account == "stchurnprdabcde"
    )


@pytest.mark.parametrize("stage", STAGES)
def test_every_catalog_stage_gives_valid_names_with_its_own_code(stage):
    derived = asdict(names(workload=LONGEST_WORKLOAD, stage=stage, location=LONGEST_REGION))
    assert {field: name for field, name in derived.items() if not azure_accepts(field, name)} == {}
    assert f"{LONGEST_WORKLOAD}{CATALOG[stage]}" in derived["storage_account"]


def test_fails_when_the_stage_code_is_not_three_characters():
    with pytest.raises(NamingError, match="stage code 'qual' is invalid"):
        stage_names(
            workload="churn", stage="qa", code="qual", location="westeurope", subscription_id=SUBSCRIPTION
        )


def test_a_name_generation_renames_what_soft_delete_holds():
    """docs/soft-delete.md: key vault names stay reserved for the vault's retention, workspace names
    for 14 days (concept-soft-delete.md); a new generation gives both, and the storage account and
    registry, names no earlier generation had."""
    first, second, third = names(), names(generation=1), names(generation=2)
    for field in (*GLOBALLY_UNIQUE, "workspace"):
        assert len({getattr(first, field), getattr(second, field), getattr(third, field)}) == 3, field
    assert second.workspace == f"{first.workspace}-1"
    invalid = {field: name for field, name in asdict(second).items() if not azure_accepts(field, name)}
    assert invalid == {}


def test_a_name_generation_keeps_the_ci_identity_and_the_group():
    first, second = names(), names(generation=3)
    for field in ("deployment_identity", "resource_group", "log_analytics", "application_insights"):
        assert getattr(first, field) == getattr(second, field), field


def test_generation_zero_keeps_the_names_stages_already_have():
    assert names(generation=0) == names()
    assert unique_suffix(SUBSCRIPTION, "churn", STAGES[0], 0) == unique_suffix(
        SUBSCRIPTION, "churn", STAGES[0]
    )


def test_fails_when_a_generation_meets_a_suffix_override():
    with pytest.raises(NamingError, match="a name generation derives the suffix"):
        names(generation=1, suffix="zz9zz")
