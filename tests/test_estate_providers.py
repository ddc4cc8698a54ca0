"""mlinfra/estate/providers.py (EV-15, review-3-azure R5): the resource providers each subscription
needs registered come from the plans, and prerequisites.yaml's `resourceProviders` registers exactly
those. azure-native registers none (pulumi/pulumi-azure-native#3479: "The subscription ... is not
registered to use microsoft.insights"), so a missing one fails the first `up` with
MissingSubscriptionRegistration; "Register a resource provider only when you're ready to use it"
(Microsoft Learn, "Azure resource providers and types"), so an unneeded one is a finding too."""

import dataclasses

import pytest

from mlinfra.estate import prerequisites, providers
from mlinfra.estate.inventory import StackPlan, plan_estate
from mlinfra.estate.prerequisites import Prerequisite, Prerequisites, Registration
from tests.conftest import PROJECT_DIR, first, plan, stacks_where
from tests.test_private_stage import GITHUB_HOSTED_RUNNERS, hub_peering, private_stage, with_network


@pytest.fixture(scope="module")
def estate() -> list[StackPlan]:
    return plan_estate(PROJECT_DIR)


def _declared() -> Prerequisites:
    return prerequisites.load(PROJECT_DIR)


def _with_registrations(declared: Prerequisites, registrations: dict[str, list[str]]) -> Prerequisites:
    """The declared prerequisites with their resource providers replaced by `registrations`."""
    items = [dataclasses.replace(i, resource_providers=()) for i in declared.items]
    items.append(
        Prerequisite(
            "test-registrations",
            "t",
            "o",
            False,
            resource_providers=tuple(Registration(s, tuple(n)) for s, n in registrations.items()),
        )
    )
    return dataclasses.replace(declared, items=tuple(items))


def _stack(estate: list[StackPlan], name: str) -> StackPlan:
    return next(s for s in estate if s.stack == name)


def test_the_shipped_registrations_are_exactly_what_the_plans_need(estate):
    declared = _declared()
    registered = {s: sorted(n) for s, n in declared.registrations().items()}
    needed = {s: sorted(n.lower() for n in ns) for s, ns in providers.needed_registrations(estate).items()}
    assert registered == needed
    assert not providers.check_registrations(estate, declared)
    # Every subscription a stack deploys to is covered, the bootstrap project's included.
    assert {s.subscription_id for s in estate} <= set(registered)


def test_namespaces_come_from_the_planned_resources_ids(estate):
    shared = next(s for s in estate if s.kind == "shared")
    uses = {(u.namespace, u.resource) for u in providers.uses(shared)}
    registry = next(r for r in shared.plan.resources if r.type.endswith(":Registry"))
    endpoint = next(r for r in shared.plan.resources if r.type.endswith(":PrivateEndpoint"))
    assert ("Microsoft.MachineLearningServices", registry.name) in uses
    assert ("Microsoft.Network", endpoint.name) in uses


def test_registered_by_default_namespaces_are_not_asked_for(estate):
    """MicrosoftDocs/azure-docs azure-services-resource-providers.md marks Microsoft.Authorization
    and Microsoft.Resources "Registered by default": role assignments and resource groups need none."""
    needed = {n.lower() for ns in providers.needed_registrations(estate).values() for n in ns}
    assert any(r.type.endswith(":RoleAssignment") for s in estate for r in s.plan.resources)
    assert not needed & {"microsoft.authorization", "microsoft.resources"}


def test_a_managed_network_needs_microsoft_network_without_any_network_resource(estate):
    """how-to-managed-network.md, Prerequisites: "The Microsoft.Network resource provider must be
    registered for your Azure subscription. This resource provider is used by the workspace when
    creating private endpoints for the managed virtual network"."""
    stack = next(
        s
        for s in estate
        if s.kind == "stage"
        and not any(r.type.startswith("azure-native:network:") for r in s.plan.resources)
        and any(
            (r.inputs.get("managedNetwork") or {}).get("isolationMode", "Disabled") != "Disabled"
            for r in s.plan.of_type("azure-native:machinelearningservices:Workspace")
        )
    )
    network = [u for u in providers.uses(stack) if u.namespace == "Microsoft.Network"]
    assert network and all("how-to-managed-network.md" in u.why for u in network)


def test_the_registrys_system_created_storage_and_acr_need_their_providers(estate):
    shared = next(s for s in estate if s.kind == "shared")
    implied = {u.namespace for u in providers.uses(shared) if "system-created" in u.why}
    assert implied == {"Microsoft.Storage", "Microsoft.ContainerRegistry"}


def test_github_hosted_runners_need_github_network(estate):
    """Review-3 R5: GitHub Docs ("Configuring Azure resources for private networking with
    GitHub-hosted runners") registers GitHub.Network first. A stage planned with GitHub-hosted
    runners needs it in its subscription, and the shipped registrations (no shipped stage uses
    them) do not have it: the verifier asks for it."""
    stage = private_stage()
    shipped = _stack(estate, stage)
    mutated = dataclasses.replace(
        shipped,
        plan=plan(
            stage,
            **{
                "mlinfra:network": with_network(
                    hubPeering=hub_peering(stage), runnerSubnet=GITHUB_HOSTED_RUNNERS
                )
            },
        ),
    )
    assert "GitHub.Network" in {u.namespace for u in providers.uses(mutated)}
    (finding,) = providers.check_registrations([mutated], _declared(), unused=False)
    assert finding.rule == "EV-15" and finding.action == "GitHub.Network/register/action"
    assert f"--namespace GitHub.Network --subscription {shipped.subscription_id}" in finding.message


def test_fails_when_a_needed_registration_is_missing(estate):
    declared = _declared()
    stage = first(stacks_where(lambda s: True))
    subscription = _stack(estate, stage).subscription_id
    registrations = {s: sorted(n) for s, n in declared.registrations().items()}
    registrations[subscription] = [n for n in registrations[subscription] if n != "microsoft.insights"]
    found = providers.check_registrations(estate, _with_registrations(declared, registrations))
    assert found and all(f.rule == "EV-15" and f.stack == stage for f in found)
    assert all(
        f"resource provider Microsoft.Insights registered in subscription {subscription}" in f.message
        for f in found
    )


def test_fails_when_a_registration_is_not_needed(estate):
    declared = _declared()
    registrations = {s: sorted(n) for s, n in declared.registrations().items()}
    subscription = next(iter(registrations))
    registrations[subscription].append("Microsoft.Compute")
    (finding,) = providers.check_registrations(estate, _with_registrations(declared, registrations))
    assert finding.stack == "prerequisites.yaml"
    assert (
        f"registers microsoft.compute in subscription {subscription}, which no planned resource"
        in finding.message
    )


def test_a_subscription_no_stack_deploys_to_is_not_judged(estate):
    """An example's subscriptions are not the repository's estate's: a registration there is not
    unneeded for it (examples are verified without EV-15, with a note)."""
    declared = _declared()
    registrations = {s: sorted(n) for s, n in declared.registrations().items()}
    registrations["00000000-0000-0000-0000-0000000000aa"] = ["Microsoft.Compute"]
    assert not providers.check_registrations(estate, _with_registrations(declared, registrations))
