"""planner doctor's targets (planner/doctor/targets.py): what `--stack` / `--estate` check, derived
from the repository's own estate model, and the scope each need is asked at before the first up."""

import sys
from pathlib import Path

import pytest

from planner.doctor import targets
from planner.estate import needs
from tests.conftest import SHARED_STACKS, STACKS

ROOT = Path(__file__).resolve().parent.parent
RG = "/subscriptions/s/resourceGroups/rg"
VAULT = f"{RG}/providers/Microsoft.KeyVault/vaults/kv"


@pytest.fixture(scope="module")
def estate():
    sys.path.insert(0, str(ROOT))
    from planner.estate import model

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
    from planner.stackfile import read_document

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
