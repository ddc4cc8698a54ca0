"""mlinfra.settings.lock_settings and mlinfra.stage.locks: CanNotDelete management locks on production's
stateful resources, their escape hatch for a planned teardown, their config errors, and the rights
the estate verifier knows they need. Assertions are on the recorded plans of the real stack files."""

import re
from pathlib import Path

import pytest

from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.needs import deployer_needs
from mlinfra.facts.rbac import action_allowed, builtin_roles
from mlinfra.facts.roles import ROLES
from mlinfra.stage.locks import LOCK_NAME, NOTES
from tests.conftest import NON_PRODUCTION_STACK, PRODUCTION_STACK, PRODUCTION_STACKS, plan, stack_config
from tests.test_config import Rejection

LOCK = "azure-native:authorization:ManagementLockByScope"
RELAXATION = "mlinfra:policy:ProductionRelaxation"
LOCKED_TYPES = {
    "azure-native:storage:StorageAccount",
    "azure-native:keyvault:Vault",
    "azure-native:containerregistry:Registry",
}
LOCK_ACTIONS = [f"Microsoft.Authorization/locks/{verb}" for verb in ("read", "write", "delete")]


def _locked_urns(result) -> dict[str, dict]:
    """URN of each locked resource -> its lock's inputs (a lock depends on the resource it locks)."""
    by_urn = {r.urn: r for r in result.resources}
    locked = {}
    for lock in result.of_type(LOCK):
        (target,) = [by_urn[d] for d in lock.dependencies if by_urn[d].type in LOCKED_TYPES]
        assert lock.inputs["scope"].endswith("/" + str(target.inputs.get(_name_key(target.type))))
        locked[target.urn] = lock.inputs
    return locked


def _name_key(type_: str) -> str:
    return {
        "azure-native:machinelearningservices:Workspace": "workspaceName",
        "azure-native:storage:StorageAccount": "accountName",
        "azure-native:keyvault:Vault": "vaultName",
        "azure-native:containerregistry:Registry": "registryName",
    }[type_]


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_production_locks_every_stateful_resource_against_deletion(stack):
    """One CanNotDelete lock per resource, on the resource itself (the lock's scope is its id).
    CanNotDelete: "authorized users are able to read and modify the resources, but not delete"
    (azure-native `authorization.LockLevel`, from azure-rest-api-specs resources
    Microsoft.Authorization/stable/2020-05-01/locks.json); PUT {scope}/providers/Microsoft.Authorization/locks/{lockName}
    (examples/ManagementLocks_CreateOrUpdateAtScope.json)."""
    result = plan(stack)
    locked = _locked_urns(result)
    assert set(locked) == {r.urn for r in result.resources if r.type in LOCKED_TYPES}
    for inputs in locked.values():
        assert inputs["level"] == "CanNotDelete"
        assert inputs["lockName"] == LOCK_NAME
        assert inputs["notes"] == NOTES


def test_the_lock_name_and_notes_are_ones_azure_accepts():
    """lockName: at most 260 characters, none of < > % & : \\ ? / or control characters (Microsoft
    Learn REST, "Management Locks - Create Or Update At Resource Level", URI parameters); notes: at
    most 512 characters (azure-native ManagementLockByScope `notes`)."""
    assert len(LOCK_NAME) <= 260 and not re.search(r"[<>%&:\\?/\x00-\x1f]", LOCK_NAME)
    assert len(NOTES) <= 512


def test_off_by_default_outside_production_and_on_when_asked():
    assert plan(NON_PRODUCTION_STACK).of_type(LOCK) == []
    result = plan(NON_PRODUCTION_STACK, **{"mlinfra:lock": {"kind": "CanNotDelete"}})
    assert len(_locked_urns(result)) == len(LOCKED_TYPES)


def test_a_planned_teardown_removes_the_locks_on_record():
    """The escape hatch: kind None with the relaxation's reason, recorded in the plan and the diff."""
    reason = "decommissioning churn prod after the 2027-01 migration"
    result = plan(
        PRODUCTION_STACK,
        **{"mlinfra:lock": {"kind": "None"}, "mlinfra:productionRelaxations": {"lock": reason}},
    )
    assert result.of_type(LOCK) == []
    assert [r.inputs for r in result.of_type(RELAXATION)] == [
        {"stage": PRODUCTION_STACK, "rule": "lock", "reason": reason}
    ]


@pytest.fixture
def rejection(monkeypatch) -> Rejection:
    return Rejection(monkeypatch)


def test_fails_when_a_production_stage_drops_its_locks_without_a_reason(rejection):
    message = rejection.message(stack_config(PRODUCTION_STACK, **{"mlinfra:lock": {"kind": "None"}}))
    assert 'lock.kind: got "None"; must be "CanNotDelete"' in message
    assert "productionRelaxations.lock" in message


def test_fails_when_the_lock_kind_is_read_only(rejection):
    """ReadOnly is refused: it would block the updates every deployment makes."""
    message = rejection.message(stack_config(NON_PRODUCTION_STACK, **{"mlinfra:lock": {"kind": "ReadOnly"}}))
    assert 'mlinfra:lock.kind: got "ReadOnly"' in message
    assert "'CanNotDelete' or 'None'" in message


def test_the_verifier_knows_a_lock_needs_lock_write_and_delete():
    """The deployer needs Microsoft.Authorization/locks/write at the lock's id, and .../delete for
    the teardown path (Microsoft Learn REST, "Management Locks - Create Or Update At Resource Level"
    and "Delete At Resource Level": "you must have access to Microsoft.Authorization/* or
    Microsoft.Authorization/locks/* actions. Of the built-in roles, only Owner and User Access
    Administrator are granted those actions"); the vendored built-in roles agree, and Contributor
    (notActions Microsoft.Authorization/*/Write and */Delete) and RBAC Administrator do not."""
    config = stack_config(PRODUCTION_STACK)
    stack = StackPlan("stage", PRODUCTION_STACK, Path("."), None, plan(PRODUCTION_STACK), dict(config.values))
    needs = deployer_needs(stack, (None, None))
    ids = {
        f"{lock.inputs['scope']}/providers/Microsoft.Authorization/locks/{LOCK_NAME}"
        for lock in stack.plan.of_type(LOCK)
    }
    for verb in ("write", "delete"):
        assert {n.scope for n in needs if n.action == f"Microsoft.Authorization/locks/{verb}"} == ids
    roles = builtin_roles()
    for name, allowed in (
        ("Owner", True),
        ("User Access Administrator", True),
        ("Contributor", False),
        ("Role Based Access Control Administrator", False),
    ):
        permissions = roles[ROLES[name].guid].permissions
        assert [action_allowed(a, permissions) for a in LOCK_ACTIONS[1:]] == [allowed, allowed], name


@pytest.mark.parametrize("stack", PRODUCTION_STACKS)
def test_no_lock_sits_above_what_a_release_deletes(stack):
    """A lock applies to every child of its scope ("When you apply a lock at a parent scope, all
    child resources inherit the same lock": Microsoft Learn REST, "Management Locks - Create Or
    Update At Resource Level"). The workspace's children are what a release replaces (online
    endpoints and deployments, computes, outbound rules), and the managed network's operations fail
    under a lock (MicrosoftDocs/azure-ai-docs how-to-managed-network.md, Limitations: "no scope
    locks on the Azure Machine Learning resources and resource group"): no lock on the workspace,
    its resource group or anything above."""
    result = plan(stack)
    workspaces = [r for r in result.resources if r.type == "azure-native:machinelearningservices:Workspace"]
    assert workspaces
    for lock in result.of_type(LOCK):
        targets = {d for d in lock.dependencies}
        assert not targets & {w.urn for w in workspaces}
        scope = str(lock.inputs["scope"])
        assert "/providers/" in scope and "Microsoft.MachineLearningServices/workspaces" not in scope
