"""The rules every stage with the catalog's `production` trait must meet, and their relaxation.

A production stage is private, purge-protected, protected in Pulumi, isolated, on a Premium
registry, high-business-impact, logged to Log Analytics (diagnostic settings), locked against
deletion (management locks) and deployed only through gated CI from `main`. Each rule can be
relaxed only by naming it in `productionRelaxations` with a reason; the program then registers a
`ProductionRelaxation` record per relaxed rule, so the plan, the diff and `pulumi preview` show it.
"""

import json
from typing import TYPE_CHECKING

from mlinfra.settings.lock_settings import LockKind
from mlinfra.settings.relaxation_settings import ProductionRule
from mlinfra.settings.workspace_settings import IsolationMode, RegistrySku

if TYPE_CHECKING:
    from mlinfra.config.stage_config import StageConfig

MAIN_BRANCH = "main"


OWNER_RULES = frozenset(ProductionRule) - {ProductionRule.GATED_CI}
"""Rules about the workspace's own resources: a stage that shares another stage's workspace creates
none of them, so its owner's settings decide them (ML-16); only the CI gate is the sharing stage's."""


def _broken(config: "StageConfig") -> dict[ProductionRule, list[str]]:
    """Every production rule the config breaks, with what breaks it (config keys and values)."""
    broken: dict[ProductionRule, list[str]] = {}

    def add(rule: ProductionRule, problem: str) -> None:
        broken.setdefault(rule, []).append(problem)

    if config.network is not None and not config.shares_workspace:  # else the owner's settings apply
        _workspace_rules(config, add)
    for problem in _ci_gate_problems(config):
        add(ProductionRule.GATED_CI, problem)
    return broken


def _workspace_rules(config: "StageConfig", add) -> None:
    """The rules about the workspace's own resources (OWNER_RULES)."""
    assert config.network is not None
    if config.network.public_network_access_enabled:
        add(ProductionRule.PRIVATE_NETWORK, "network.publicNetworkAccessEnabled: got true; must be false")
    if not config.key_vault.purge_protection_enabled:
        add(ProductionRule.PURGE_PROTECTION, "keyVault.purgeProtectionEnabled: got false; must be true")
    protection = config.resource_protection
    if not protection.protect:
        add(ProductionRule.RESOURCE_PROTECTION, "resourceProtection.protect: got false; must be true")
    if not protection.retain_on_delete:
        add(ProductionRule.RESOURCE_PROTECTION, "resourceProtection.retainOnDelete: got false; must be true")
    if config.workspace.isolation_mode != IsolationMode.ALLOW_ONLY_APPROVED_OUTBOUND:
        add(
            ProductionRule.ISOLATION_MODE,
            f"workspace.isolationMode: got {json.dumps(config.workspace.isolation_mode.value)}; "
            f"must be {json.dumps(IsolationMode.ALLOW_ONLY_APPROVED_OUTBOUND.value)}",
        )
    if config.container_registry.sku != RegistrySku.PREMIUM:
        add(
            ProductionRule.PREMIUM_REGISTRY,
            f'containerRegistry.sku: got {json.dumps(config.container_registry.sku.value)}; must be "Premium"',
        )
    if not config.workspace.high_business_impact:
        add(ProductionRule.HIGH_BUSINESS_IMPACT, "workspace.highBusinessImpact: got false; must be true")
    if config.diagnostics.enabled is False:
        add(ProductionRule.DIAGNOSTICS, "diagnostics.enabled: got false; must be true (or left out)")
    if config.lock.kind == LockKind.NONE:
        add(ProductionRule.LOCK, 'lock.kind: got "None"; must be "CanNotDelete" (or left out)')


def _ci_gate_problems(config: "StageConfig") -> list[str]:
    """Gated environments, `main` only (GH-2, GH-3, T-11, T-14, ADO-3)."""
    if config.ci is None:
        return []
    problems = []
    github, devops = config.ci.github, config.ci.azure_dev_ops
    if github:
        if github.reviewers.count == 0:
            problems.append("ci.github.reviewers: none; needs at least one reviewer (GH-2, T-11)")
        if not github.prevent_self_review:
            problems.append("ci.github.preventSelfReview: got false; must be true (GH-2, T-14)")
        if github.can_admins_bypass:
            problems.append("ci.github.canAdminsBypass: got true; must be false (GH-2, T-14)")
        policy = github.branch_policy
        if policy.any_branch or policy.protected_branches or policy.branch_patterns != [MAIN_BRANCH]:
            problems.append(
                f"ci.github.branchPolicy: got {json.dumps(policy.model_dump(by_alias=True, exclude_defaults=True))}; "
                f'must allow the branch "{MAIN_BRANCH}" only (branchPatterns: [{MAIN_BRANCH}], GH-3, T-14)'
            )
        for pattern in policy.tag_patterns:
            if _matches_any_name(pattern):
                problems.append(
                    f"ci.github.branchPolicy.tagPatterns: got {json.dumps(pattern)}; a production environment "
                    "takes named tags only: start the pattern with a literal prefix (v*), as Azure DevOps "
                    "takes named refs only (GH-3, ADO-3)"
                )
    if devops:
        if not devops.approvers:
            problems.append("ci.azureDevOps.approvers: none; needs at least one approver group (ADO-3)")
        if not devops.exclusive_lock:
            problems.append("ci.azureDevOps.exclusiveLock: got false; runs must be serialized (ADO-3)")
        branches = [ref for ref in devops.allowed_branches if ref.startswith("refs/heads/")]
        if branches != [f"refs/heads/{MAIN_BRANCH}"] or any("*" in ref for ref in devops.allowed_branches):
            problems.append(
                f"ci.azureDevOps.allowedBranches: got {json.dumps(devops.allowed_branches)}; must allow the "
                f"branch refs/heads/{MAIN_BRANCH} only, and named refs only (ADO-3)"
            )
    return problems


def _matches_any_name(pattern: str) -> bool:
    """A deployment tag pattern (fnmatch syntax: GitHub Docs, "Managing environments for
    deployment", deployment branches and tags) that begins with a wildcard (`*`, `?`, `[`) lets
    whoever can push a tag deploy: any tag name, or any with a given ending, matches."""
    return not pattern or pattern[0] in "*?["


def production_problems(config: "StageConfig") -> list[str]:
    """Every unrelaxed broken rule of a production stage, and every relaxation that is misplaced."""
    relaxations = config.production_relaxations
    if not config.stage_definition.production:
        return [
            f"productionRelaxations.{rule}: stage {config.stage} is not a production stage; remove it"
            for rule in relaxations
        ]
    broken = _broken(config)
    problems = [
        f"{problem} in production stage {config.stage}, or relax it with productionRelaxations.{rule}: <reason>"
        for rule, found in broken.items()
        if rule not in relaxations
        for problem in found
    ]
    problems += [
        f"productionRelaxations.{rule}: decided by the owner of the shared workspace "
        f"({config.workspace.shared_from}), not here; remove the relaxation (ML-16)"
        if config.shares_workspace and rule in OWNER_RULES
        else f"productionRelaxations.{rule}: the stage meets this rule; remove the relaxation"
        for rule in relaxations
        if rule not in broken
    ]
    return problems


def active_relaxations(config: "StageConfig") -> dict[str, str]:
    """Relaxed rule -> reason, for a valid production stage (empty elsewhere)."""
    if not config.stage_definition.production:
        return {}
    return {str(rule): reason for rule, reason in config.production_relaxations.items()}
