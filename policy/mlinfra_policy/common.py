"""What every policy of the pack shares: the `production` trait from the pack's config, reading
properties without tripping over preview unknowns, and the two policy factories.

Props are the engine's (camelCase wire names, e.g. `allowBlobPublicAccess`). During a preview an
input computed from another new resource is unknown: reading it raises pulumi_policy's
UnknownValueError, which CrossGuard turns into an advisory "can't run policy during preview";
`present` checks that a key is set without reading its value, so it never raises.
"""

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pulumi_policy import (
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

PRODUCTION = "production"
"""The property every policy's config has: whether the stage holds production data."""
CUSTOMER_MANAGED_KEYS = "customerManagedKeys"
"""Optional property: the stage catalog requires customer-managed keys in this stage (the catalog's
`customerManagedKeys` trait); only the customer-managed-keys policy reads it."""
RELAXATIONS = "relaxations"
"""Optional property: production rule -> reason, for the rules of this policy the stage relaxed
(`productionRelaxations`, accepted by the stage's config); the policy then runs advisory and says
why in each message."""

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        PRODUCTION: {
            "type": "boolean",
            "description": "The stage holds production data: production-only rules apply.",
        },
        CUSTOMER_MANAGED_KEYS: {
            "type": "boolean",
            "description": "The stage catalog requires customer-managed keys in this stage.",
        },
        RELAXATIONS: {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Production rule -> reason: relaxations the stage's config accepted.",
        },
    },
    # No default: a preview without the generated config fails instead of silently checking less.
    required=[PRODUCTION],
)

ResourceCheck = Callable[[ResourceValidationArgs, bool], Iterable[str]]
"""(args, production) -> the violation messages for one resource."""
StackCheck = Callable[[StackValidationArgs, bool], Iterable[tuple[str, str | None]]]
"""(args, production) -> (message, urn or None) for each violation in the stack."""


def is_production(config: Mapping[str, Any]) -> bool:
    return config.get(PRODUCTION) is True


def with_relaxations(message: str, config: Mapping[str, Any]) -> str:
    """`message`, followed by the relaxations that make it advisory and their reasons."""
    relaxed = config.get(RELAXATIONS) or {}
    if not relaxed:
        return message
    reasons = "; ".join(f"productionRelaxations.{rule}: {reason}" for rule, reason in sorted(relaxed.items()))
    return f"{message} (relaxed, advisory: {reasons})"


def present(props: Mapping[str, Any], key: str) -> bool:
    """Whether `key` is set (known or not) and not null, without reading an unknown value."""
    if key not in list(iter(props)):  # iterating keys never touches values
        return False
    try:
        return props[key] is not None
    except Exception:  # an unknown value: set, just not known yet
        return True


def get(props: Mapping[str, Any] | None, *path: str) -> Any:
    """The value at `path` (None when any part is missing); raises UnknownValueError on an unknown."""
    value: Any = props
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def resource_policy(
    name: str,
    description: str,
    types: Iterable[str],
    check: ResourceCheck,
    *,
    production_only: bool = False,
) -> ResourceValidationPolicy:
    """A resource policy that runs `check` on resources of `types` (in production stages only,
    if `production_only`) and reports each message it yields."""
    wanted = frozenset(types)

    def validate(args: ResourceValidationArgs, report_violation) -> None:
        if args.resource_type not in wanted:
            return
        config = args.get_config()
        production = is_production(config)
        if production_only and not production:
            return
        for message in check(args, production):
            report_violation(with_relaxations(message, config), None)

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, config_schema=CONFIG_SCHEMA
    )


def stack_policy(
    name: str, description: str, check: StackCheck, *, production_only: bool = False
) -> StackValidationPolicy:
    """A stack policy that runs `check` over every resource of the stack."""

    def validate(args: StackValidationArgs, report_violation) -> None:
        config = args.get_config()
        production = is_production(config)
        if production_only and not production:
            return
        for message, urn in check(args, production):
            report_violation(with_relaxations(message, config), urn)

    return StackValidationPolicy(
        name=name, description=description, validate=validate, config_schema=CONFIG_SCHEMA
    )
