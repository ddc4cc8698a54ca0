"""planner doctor's targets (planner/doctor/targets.py): what `--stack` / `--estate` check, derived
from the repository's own estate model, and the scope each need is asked at before the first up."""

import sys
from pathlib import Path

import pytest

from planner.doctor import targets
from planner.estate import needs

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


def test_preprod_target_from_the_estate_model(estate):
    [target] = targets.build(estate, ["preprod"], {}).stacks
    assert target.deployer is not None and target.deployer.id == "deployer:preprod"
    assert {(n.kind, n.name) for n in target.names} >= {
        ("key vault", "kvchurnppd0ms8f"),
        ("storage account", "stchurnppd0ms8f"),
    }
    assert [(c.name, c.vm_size, c.max_nodes) for c in target.clusters] == [
        ("image-builder", "Standard_DS3_v2", 2)
    ]
    assert target.repository == ("contoso/churn-mlops", "immutable")
    assert target.service_connection == "spn-mlinfra-preprod"


def test_every_deployer_need_is_asked_at_an_existing_scope(estate):
    estate_target = targets.build(estate, ["preprod"], {})
    [target] = estate_target.stacks
    stack = target.stack
    planned = {(stack.arm_id(r) or "").lower() for r in stack.plan.resources if r.custom} - {""}
    by_scope = {s.scope.lower(): s for s in target.scopes}
    assert not set(by_scope) & planned, "a scope the stack itself creates cannot answer before its first up"
    for need in needs.deployer_needs(stack, (estate_target.state_container, estate_target.secrets_key)):
        scope = by_scope[targets.existing_scope(need.scope, planned).lower()]
        assert need.action in (scope.data_actions if need.data else scope.actions), need


def test_estate_adds_the_preview_identity_and_real_ids_come_from_bootstrap_outputs(estate):
    outputs = {"deployerPrincipalIds": {"dev": "oid-dev"}, "previewClientId": "cid-preview"}
    every = targets.build(estate, None, outputs)
    assert [i.id for i in every.identities][-1] == "preview"
    assert every.principal_ids == {"deployer:dev": "oid-dev"} and every.client_ids == {
        "preview": "cid-preview"
    }
    assert every.infra_repository == ("contoso/mlinfra", "immutable")
    assert every.azure_devops == targets.AzureDevOps("https://dev.azure.com/contoso", "mlinfra")
    assert "preview" not in [i.id for i in targets.build(estate, ["dev"], outputs).identities]
