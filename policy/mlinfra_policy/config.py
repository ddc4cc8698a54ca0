"""The pack's config, as `pulumi preview --policy-pack-config <file>` reads it, and how the CLI
resolves it per policy; the offline checker uses `resolve` so it runs each policy with exactly
the enforcement level and properties CrossGuard would.

File format and resolution: pulumi/pulumi `pkg/resource/analyzer/config.go`
(`parsePolicyPackConfig`, `ReconcilePolicyPackConfig`, `applyConfig`): top-level keys are policy
names, or `all`; a string value is an enforcement level; an object holds `enforcementLevel` and
the policy's properties. `all` sets the level of every policy (its properties go nowhere); schema
defaults fill in first, then the given properties; a missing required property is an error.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, Policy

from mlinfra_policy.common import CUSTOMER_MANAGED_KEYS, PRODUCTION, RELAXATIONS

PACK_DEFAULT_LEVEL = EnforcementLevel.ADVISORY
"""The level `policy/__main__.py` gives the pack."""


class PackConfigError(ValueError):
    """The config document is not one the CLI would accept for this pack."""


@dataclass(frozen=True)
class PolicyConfig:
    level: EnforcementLevel
    properties: dict[str, Any]


RELAXED_POLICIES: Mapping[str, tuple[str, ...]] = {
    "privateNetwork": (
        "ml-workspace-production-isolation",
        "storage-production-access",
        "key-vault-production-protection",
        "registry-production-private",
    ),
    "purgeProtection": ("key-vault-production-protection",),
    "resourceProtection": ("production-resources-protected",),
    "isolationMode": ("ml-workspace-production-isolation",),
    "premiumRegistry": ("registry-production-private",),
    "highBusinessImpact": ("ml-workspace-production-isolation",),
    "gatedCi": ("github-environment-gated", "azure-devops-approvals"),
    "diagnostics": ("production-diagnostic-settings",),
    "lock": ("production-resources-locked",),
}
"""Production rule (a key of the stage's `productionRelaxations`, mlinfra/config/rules/production_rules.py)
-> the policies that enforce it. A relaxed rule turns those policies advisory for that stage; a
policy enforcing several rules turns advisory as a whole (the stage's config still refuses every
unrelaxed broken rule before anything is planned, so the pack is the second line)."""


CUSTOMER_MANAGED_KEY_POLICIES = ("customer-managed-keys",)
"""The policies the catalog's `customerManagedKeys` trait turns on: mandatory wherever it is set."""


def pack_config(
    policies: Iterable[Policy],
    *,
    production: bool,
    relaxations: Mapping[str, str] | None = None,
    customer_managed_keys: bool = False,
) -> dict[str, Any]:
    """The config for a stage: mandatory with production rules in production stages, advisory
    elsewhere (every policy gets the `production` trait, which its schema requires). A policy that
    enforces a rule the stage relaxed (`relaxations`: rule -> reason, as its config accepted them)
    is advisory, and carries the reasons its messages show. Where the catalog requires
    customer-managed keys (`customer_managed_keys`), their policy is mandatory in any stage."""
    level = EnforcementLevel.MANDATORY if production else EnforcementLevel.ADVISORY
    document: dict[str, Any] = {"all": level.value}
    for policy in policies:
        relaxed = {
            rule: reason
            for rule, reason in sorted((relaxations or {}).items())
            if policy.name in RELAXED_POLICIES.get(rule, ())
        }
        entry: dict[str, Any] = {PRODUCTION: production}
        if relaxed and production:
            entry.update({"enforcementLevel": EnforcementLevel.ADVISORY.value, RELAXATIONS: relaxed})
        if customer_managed_keys and policy.name in CUSTOMER_MANAGED_KEY_POLICIES:
            entry.update({"enforcementLevel": EnforcementLevel.MANDATORY.value, CUSTOMER_MANAGED_KEYS: True})
        document[policy.name] = entry
    return document


def _level(value: Any, key: str) -> EnforcementLevel:
    try:
        return EnforcementLevel(value)
    except ValueError:
        allowed = ", ".join(level.value for level in EnforcementLevel)
        raise PackConfigError(f"{key}: {value!r} is not an enforcement level ({allowed})") from None


def resolve(policies: Iterable[Policy], document: Mapping[str, Any]) -> dict[str, PolicyConfig]:
    """Per policy name: the enforcement level and properties the CLI would hand the pack."""
    policies = list(policies)
    given: dict[str, tuple[EnforcementLevel | None, dict[str, Any]]] = {}
    for key, value in document.items():
        if isinstance(value, str):
            given[key] = (_level(value, key), {})
        elif isinstance(value, Mapping):
            properties = dict(value)
            level = properties.pop("enforcementLevel", None)
            given[key] = (_level(level, key) if level is not None else None, properties)
        else:
            raise PackConfigError(f"{key}: {value!r} is not a valid value; must be a string or object")
    all_level = given.get("all", (None, {}))[0]
    result = {}
    for policy in policies:
        schema = policy.config_schema
        properties = {
            name: spec["default"]
            for name, spec in (schema.properties if schema else {}).items()
            if "default" in spec
        }
        level = all_level or policy.enforcement_level or PACK_DEFAULT_LEVEL
        own_level, own_properties = given.get(policy.name, (None, {}))
        properties.update(own_properties)
        missing = [name for name in (schema.required or []) if name not in properties] if schema else []
        if missing:
            raise PackConfigError(f"{policy.name}: {', '.join(missing)} is required")
        result[policy.name] = PolicyConfig(own_level or level, properties)
    return result
