"""mlinfra doctor's deployer rights (mlinfra/doctor/azure/rights.py): the estate verifier's needs of a
stack, at the nearest existing scope, against the caller's permissions there (authorization
2022-04-01 Permissions_ListForResourceGroup / _ListForResource; Permission shape: actions,
notActions, dataActions, notDataActions, Azure/bicep-types-az generated/authorization/
microsoft.authorization/2022-04-01/types.md), evaluated by mlinfra/facts/rbac.py."""

from mlinfra.doctor.azure import rights
from mlinfra.doctor.report import CANNOT, OK, PROBLEM
from mlinfra.doctor.targets import ScopeNeed, StackTarget
from mlinfra.estate.identities import Identity
from mlinfra.estate.prerequisites import DeclaredGrant, Prerequisite, Prerequisites
from tests.doctor_answers import Answers

SUB = "/subscriptions/00000000-0000-0000-0000-000000000003"
ZONE = "/subscriptions/00000000-0000-0000-0000-000000000008/resourceGroups/rg-dns-hub/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"
JOIN = "Microsoft.Network/privateDnsZones/join/action"
URL = "https://management.azure.com{}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"
CONTRIBUTOR = {
    "actions": ["*"],
    "notActions": [
        "Microsoft.Authorization/*/Delete",
        "Microsoft.Authorization/*/Write",
        "Microsoft.Authorization/elevateAccess/Action",
    ],
    "dataActions": [],
    "notDataActions": [],
}
DECLARED = Prerequisites(
    items=(
        Prerequisite(
            "hub-dns-zones-join",
            "t",
            "hub network team",
            False,
            grants=(
                DeclaredGrant(
                    "deployer:qa",
                    "/subscriptions/00000000-0000-0000-0000-000000000008/resourceGroups/rg-dns-hub",
                    actions=(JOIN,),
                ),
            ),
        ),
    )
)


class _Stack:
    """A stack's label and name as the check prints them (not a catalog stage)."""

    label = stack = "qa"


def target(*scopes: ScopeNeed) -> StackTarget:
    identity = Identity("deployer:qa", "managed-identity", "c", "p", ["infra-qa"])
    return StackTarget(_Stack(), identity, list(scopes))  # type: ignore[arg-type]


def test_contributor_does_not_give_role_assignments_and_the_fix_points_at_bootstrap():
    need = ScopeNeed(
        SUB,
        ("Microsoft.Authorization/roleAssignments/write", "Microsoft.Storage/storageAccounts/write"),
        (),
        2,
    )
    [result] = rights.stack_rights(
        Answers({URL.format(SUB): (200, {"value": [CONTRIBUTOR]})}), target(need), DECLARED
    )
    assert (
        result.status == PROBLEM
        and result.detail == "not held: Microsoft.Authorization/roleAssignments/write"
    )
    assert "bootstrap" in result.fix


def test_fails_when_the_hub_grant_is_missing_and_the_fix_names_the_prerequisite():
    need = ScopeNeed(ZONE, (JOIN,), (), 1)
    [result] = rights.stack_rights(Answers({URL.format(ZONE): (200, {"value": []})}), target(need), DECLARED)
    assert (
        result.status == PROBLEM and "hub-dns-zones-join" in result.fix and "hub network team" in result.fix
    )


def test_held_through_a_wildcard():
    need = ScopeNeed(ZONE, (JOIN,), (), 1)
    answer = {"value": [{"actions": ["Microsoft.Network/privateDnsZones/*"], "notActions": []}]}
    assert [
        r.status
        for r in rights.stack_rights(Answers({URL.format(ZONE): (200, answer)}), target(need), DECLARED)
    ] == [OK]


def test_one_question_per_scope_across_stacks_and_skipped_scopes_not_asked():
    need = ScopeNeed(ZONE, (JOIN,), (), 1)
    client = Answers({URL.format(ZONE): (200, {"value": []})})
    rights.all_checks(client, [target(need), target(need)], DECLARED, set())
    assert len(client.asked) == 1
    assert rights.all_checks(client, [target(need)], DECLARED, {ZONE.lower()}) == []


def test_cannot_check_a_scope_that_does_not_exist_yet_or_without_an_answer():
    need = ScopeNeed(ZONE, (JOIN,), (), 1)
    [missing] = rights.stack_rights(Answers({URL.format(ZONE): (404, {})}), target(need), DECLARED)
    assert missing.status == CANNOT and "does not exist yet" in missing.detail
    assert rights.stack_rights(Answers({}), target(need), DECLARED)[0].status == CANNOT
