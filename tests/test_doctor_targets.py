"""mlinfra doctor's targets (mlinfra/doctor/targets.py): what `--stack` / `--estate` check, derived
from the repository's own estate model, and the scope each need is asked at before the first up."""

import sys
from pathlib import Path

import pytest

from mlinfra.doctor import targets
from mlinfra.estate import needs
from tests.conftest import SHARED_STACKS, STACKS

ROOT = Path(__file__).resolve().parent.parent
RG = "/subscriptions/s/resourceGroups/rg"
VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/kv"


@pytest.fixture(scope="module")
def estate():
    sys.path.insert(0, str(ROOT))
    from mlinfra.estate import model

    return model.build(ROOT)


def test_parent_scope_steps_over_providers_segments():
    assert targets.parent_scope(f"{VAULT}/keys/k") == VAULT
    assert targets.parent_scope(VAULT) == RG
    assert targets.parent_scope(f"{VAULT}/providers/Microsoft.Insights/diagnosticSettings/d") == VAULT
    assert targets.parent_scope(RG) == "/subscriptions/s"
    assert targets.parent_scope("/subscriptions/s") == "/subscriptions/s"


def test_a_need_inside_what_the_stack_creates_is_asked_where_it_already_exists():
    planned = {RG.lower(), VAULT.lower()}
    assert (
        targets.existing_scope(f"{VAULT}/providers/Microsoft.Insights/diagnosticSettings/d", planned)
        == "/subscriptions/s"
    )
    assert targets.existing_scope(VAULT, {VAULT.lower()}) == RG
    zone = "/subscriptions/hub/resourceGroups/dns/providers/Microsoft.Network/privateDnsZones/z"
    assert targets.existing_scope(zone, planned) == zone


def test_fails_when_a_stack_is_not_in_the_estate(estate):
    with pytest.raises(ValueError, match="--stack 'qa'"):
        targets.build(estate, ["qa"], {})


def _stack_file(stack: str) -> dict:
    from mlinfra.planner.stackfile import read_document

    return read_document(ROOT / f"Pulumi.{stack}.yaml")["config"]


def test_each_stage_target_reads_its_names_clusters_ci_and_deployer_from_the_estate(estate):
    every = targets.build(estate, None, {})
    assert [t.stack.stack for t in every.stacks] == [*SHARED_STACKS, *STACKS]
    for target in every.stacks:
        stack = target.stack.stack
        assert target.deployer is not None and target.deployer.id == f"deployer:{stack}"
        vaults = [r.inputs["vaultName"] for r in target.stack.plan.of_type("azure-native:keyvault:Vault")]
        assert [n.name for n in target.names if n.kind == "key vault"] == vaults
        computes = target.stack.plan.of_type(targets.COMPUTE)
        assert [c.name for c in target.clusters] == [r.inputs["computeName"] for r in computes]
        github = (_stack_file(stack).get("mlinfra:ci") or {}).get("github")
        if github:
            assert target.repository == (github["repository"], github["oidcSubjectFormat"])
        assert target.service_connection == f"spn-mlinfra-{stack}"
    clusters = [c for t in every.stacks for c in t.clusters]
    assert clusters and all(c.vm_size and c.max_nodes > 0 for c in clusters)


def test_every_deployer_need_is_asked_at_an_existing_scope(estate):
    for stack_name in STACKS:
        estate_target = targets.build(estate, [stack_name], {})
        [target] = estate_target.stacks
        stack = target.stack
        planned = {(stack.arm_id(r) or "").lower() for r in stack.plan.resources if r.custom} - {""}
        by_scope = {s.scope.lower(): s for s in target.scopes}
        assert not set(by_scope) & planned, (
            "a scope the stack itself creates cannot answer before its first up"
        )
        for need in needs.deployer_needs(stack, (estate_target.state_container, estate_target.secrets_key)):
            scope = by_scope[targets.existing_scope(need.scope, planned).lower()]
            assert need.action in (scope.data_actions if need.data else scope.actions), need


def test_estate_adds_the_preview_identity_and_real_ids_come_from_bootstrap_outputs(estate):
    stack = STACKS[0]
    outputs = {"deployerPrincipalIds": {stack: "oid-1"}, "previewClientId": "cid-preview"}
    every = targets.build(estate, None, outputs)
    assert [i.id for i in every.identities][-1] == "preview"
    assert every.principal_ids == {f"deployer:{stack}": "oid-1"} and every.client_ids == {
        "preview": "cid-preview"
    }
    assert every.infra_repository == ("contoso/mlinfra", "immutable")
    assert every.azure_devops == targets.AzureDevOps("https://dev.azure.com/contoso", "mlinfra")
    assert "preview" not in [i.id for i in targets.build(estate, [stack], outputs).identities]


def test_a_workspace_with_fqdn_rules_has_a_firewall_of_its_planned_sku(estate):
    every = targets.build(estate, None, {})
    for target in every.stacks:
        rules = [
            r
            for r in target.stack.plan.of_type(targets.OUTBOUND_RULE)
            if (r.inputs.get("properties") or {}).get("type") == "FQDN"
        ]
        if not rules:
            assert target.firewalls == []
            continue
        [workspace] = target.stack.plan.of_type(targets.WORKSPACE)
        [firewall] = target.firewalls
        assert firewall.fqdn_rules == len(rules)
        assert firewall.sku == workspace.inputs["managedNetwork"]["firewallSku"]


def test_each_stack_brings_its_stage_environment_and_its_infra_environment(estate):
    every = targets.build(estate, None, {})
    boot = next(s for s in estate.stacks if s.kind == "bootstrap")
    infra_settings = boot.setting("mlinfra-bootstrap:stages")
    for target in every.stacks:
        stack = target.stack.stack
        by_name = {e.environment: e for e in target.environments}
        infra = by_name[f"infra-{stack}"]
        assert infra.repository == every.infra_repository[0]
        reviewers = (infra_settings.get(stack) or {}).get("reviewers") or {}
        assert infra.users == tuple(reviewers.get("users") or ()) and infra.teams == tuple(
            reviewers.get("teams") or ()
        )
        github = (_stack_file(stack).get("mlinfra:ci") or {}).get("github")
        if github:
            own = by_name[stack]
            assert own.repository == github["repository"]
            assert own.users == tuple((github.get("reviewers") or {}).get("users") or ())
            assert own.wait_timer == int(github.get("waitTimer") or 0)
            assert own.configured_in == f"Pulumi.{stack}.yaml mlinfra:ci.github.reviewers"
    assert every.github_environments[-1].environment == "infra-preview"
    assert "infra-preview" not in [
        e.environment for e in targets.build(estate, [STACKS[0]], {}).github_environments
    ]


def test_no_shipped_stack_needs_azure_devops_but_its_pipelines_sign_identities_in(estate):
    """No shipped stack plans azuredevops resources, so nobody needs an entitlement; the infra
    pipelines still sign every deployer and the preview identity in through a connection."""
    every = targets.build(estate, None, {})
    assert every.azure_devops_users == {}
    assert every.azure_devops_pipelines == {
        i.id: next(e for e in i.environments if e.startswith("spn-")) for i in every.identities
    }


def test_a_stack_with_azure_devops_resources_needs_its_deployer_and_the_preview_identity_in_azure_devops(
    estate,
):
    from dataclasses import replace

    from mlinfra.planner.recorder import Resource

    stack = STACKS[-1]
    planted = Resource(
        "urn:x", "azuredevops:index/environment:Environment", "env", True, None, {}, [], False, False
    )
    stacks = [
        replace(s, plan=replace(s.plan, resources=[*s.plan.resources, planted])) if s.stack == stack else s
        for s in estate.stacks
    ]
    every = targets.build(replace(estate, stacks=stacks), None, {})
    assert set(every.azure_devops_users) == {f"deployer:{stack}", "preview"}
    assert (
        f"its up of {stack} creates Azure DevOps resources" in every.azure_devops_users[f"deployer:{stack}"]
    )
    assert "reads Azure DevOps resources" in every.azure_devops_users["preview"]
    assert f"deployer:{stack}" not in every.azure_devops_pipelines
    [target] = [t for t in every.stacks if t.stack.stack == stack]
    assert target.azure_devops_resources
