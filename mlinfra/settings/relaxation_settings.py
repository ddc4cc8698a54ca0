"""The keys of `productionRelaxations`: one per production rule (mlinfra/config/rules/production_rules.py
says what each rule requires; relaxing one takes a reason)."""

from enum import StrEnum


class ProductionRule(StrEnum):
    """Keys of `productionRelaxations`, one per production rule."""

    PRIVATE_NETWORK = "privateNetwork"
    PURGE_PROTECTION = "purgeProtection"
    RESOURCE_PROTECTION = "resourceProtection"
    ISOLATION_MODE = "isolationMode"
    PREMIUM_REGISTRY = "premiumRegistry"
    HIGH_BUSINESS_IMPACT = "highBusinessImpact"
    GATED_CI = "gatedCi"
    DIAGNOSTICS = "diagnostics"
    LOCK = "lock"
