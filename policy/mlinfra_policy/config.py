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

from mlinfra_policy.common import PRODUCTION

PACK_DEFAULT_LEVEL = EnforcementLevel.ADVISORY
"""The level `policy/__main__.py` gives the pack."""


class PackConfigError(ValueError):
    """The config document is not one the CLI would accept for this pack."""


@dataclass(frozen=True)
class PolicyConfig:
    level: EnforcementLevel
    properties: dict[str, Any]


def pack_config(policies: Iterable[Policy], *, production: bool) -> dict[str, Any]:
    """The config for a stage: mandatory with production rules in production stages, advisory
    elsewhere (every policy gets the `production` trait, which its schema requires)."""
    level = EnforcementLevel.MANDATORY if production else EnforcementLevel.ADVISORY
    return {"all": level.value, **{policy.name: {PRODUCTION: production} for policy in policies}}


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
