"""`ManagedNetworkRules`: user-defined outbound rules of the workspace's managed network.

Each rule is its own `machinelearningservices.ManagedNetworkSettingsRule` (API 2025-12-01, the
workspace's own version), not an entry of the workspace's inline `managedNetwork.outboundRules`
map: the service adds its required rules (private endpoints to the workspace's storage, vault,
registry, and service tags) to that same map (Microsoft Learn, how-to-managed-network.md, "List
of required rules"), so a map the program owned would never match what Azure holds, and an
update could try to drop the required rules. A rule resource owns exactly one rule.
Rules are created one after another: they all write the same managed network.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import machinelearningservices as mls

from mlinfra.access.grants import Principal
from mlinfra.access.registry_access import connection_approver
from mlinfra.settings.outbound_rule_settings import (
    RULE_SETS,
    FqdnRule,
    OutboundRule,
    PrivateEndpointRule,
    RuleSet,
    ServiceTagRule,
)

REGISTRY_RULE = "shared-registry"
"""The private-endpoint rule to the shared registry (sub-resource `amlregistry`)."""
BATCH_SUBRESOURCES = ("queue", "table")
"""Storage sub-resources batch endpoints and ParallelRunStep need (how-to-managed-network.md,
"Scenario: Use batch endpoints or ParallelRunStep")."""


@dataclass(frozen=True, kw_only=True)
class RegistryApproval:
    """The workspace's identity, granted CONNECTION_APPROVER on the registry before the rule is
    made, so the service approves the connection (mlinfra/access/registry_access.py)."""

    principal: Principal
    subscription_id: str
    """The stage's subscription: the seed of the assignment's name."""
    shared_stack: str
    """The shared stack's name: the plan-time name of the registry scope."""


@dataclass(frozen=True, kw_only=True)
class ManagedNetworkRulesArgs:
    workspace_name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    rules: Mapping[str, OutboundRule]
    rule_sets: tuple[RuleSet, ...] = ()
    storage_account_id: pulumi.Input[str] | None = None
    """The default storage, when batch endpoints need its queue and table (None: they don't)."""
    registry_id: pulumi.Input[str] | None = None
    """The shared Azure ML registry the workspace uses (None: no rule to it). The rule is made
    whatever the isolation mode (docs/networking.md, "Registry")."""
    registry_approval: RegistryApproval | None = None
    """Who approves the rule's private-endpoint connection on the registry; required with
    registry_id."""


def expand(args: ManagedNetworkRulesArgs) -> dict[str, OutboundRule | tuple[str, str]]:
    """Every rule by name: the rule sets' FQDN rules, the batch storage rules, then config's own."""
    rules: dict[str, OutboundRule | tuple[str, str]] = {}
    for rule_set in args.rule_sets:
        rules.update(
            {name: FqdnRule(type="FQDN", destination=host) for name, host in RULE_SETS[rule_set].items()}
        )
    if args.storage_account_id is not None:
        rules.update({f"storage-{target}": ("storage", target) for target in BATCH_SUBRESOURCES})
    if args.registry_id is not None:
        rules[REGISTRY_RULE] = ("registry", "amlregistry")
    rules.update(args.rules)
    return rules


class ManagedNetworkRules(pulumi.ComponentResource):
    def __init__(self, name: str, args: ManagedNetworkRulesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:ManagedNetworkRules", name, None, opts)
        previous: pulumi.Resource | None = None
        if args.registry_id is not None:
            if args.registry_approval is None:
                raise ValueError("a rule to the shared registry needs registry_approval")
            approval = args.registry_approval
            # Before every rule: the registry's connection is approved only if this already holds.
            previous = connection_approver(
                f"{name}-registry",
                subscription_id=approval.subscription_id,
                principal=approval.principal,
                registry_id=args.registry_id,
                shared_stack=approval.shared_stack,
                parent=self,
            )
        for rule_name, rule in expand(args).items():
            previous = mls.ManagedNetworkSettingsRule(
                f"{name}-{rule_name}",
                rule_name=rule_name,
                workspace_name=args.workspace_name,
                resource_group_name=args.resource_group_name,
                properties=_properties(rule, args),
                # Each rule rewrites the one managed network: concurrent writes conflict.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[previous] if previous else None),
            )
        self.register_outputs({})


def _properties(rule: OutboundRule | tuple[str, str], args: ManagedNetworkRulesArgs):
    if isinstance(rule, tuple):  # a rule to a resource known only as an output: (target, sub-resource)
        target = args.storage_account_id if rule[0] == "storage" else args.registry_id
        return mls.PrivateEndpointOutboundRuleArgs(
            type="PrivateEndpoint",
            category=mls.RuleCategory.USER_DEFINED,
            destination=mls.PrivateEndpointDestinationArgs(
                service_resource_id=target, subresource_target=rule[1], spark_enabled=False
            ),
        )
    if isinstance(rule, FqdnRule):
        return mls.FqdnOutboundRuleArgs(
            type="FQDN", category=mls.RuleCategory.USER_DEFINED, destination=rule.destination
        )
    if isinstance(rule, PrivateEndpointRule):
        return mls.PrivateEndpointOutboundRuleArgs(
            type="PrivateEndpoint",
            category=mls.RuleCategory.USER_DEFINED,
            destination=mls.PrivateEndpointDestinationArgs(
                service_resource_id=rule.service_resource_id,
                subresource_target=rule.subresource_target,
                spark_enabled=rule.spark_enabled,
            ),
        )
    if isinstance(rule, ServiceTagRule):
        return mls.ServiceTagOutboundRuleArgs(
            type="ServiceTag",
            category=mls.RuleCategory.USER_DEFINED,
            destination=mls.ServiceTagDestinationArgs(
                service_tag=rule.service_tag,
                protocol=rule.protocol,
                port_ranges=rule.port_ranges,
                action=mls.RuleAction.ALLOW,
            ),
        )
    raise TypeError(f"unknown outbound rule {rule!r}")
