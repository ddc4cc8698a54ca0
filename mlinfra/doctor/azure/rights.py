"""The deployer's rights, live: at every scope where the estate verifier says a stack's `up` needs
an action (mlinfra/estate/needs.py `deployer_needs`), the caller's effective permissions from
`GET {scope}/providers/Microsoft.Authorization/permissions` (authorization 2022-04-01), evaluated
with the verifier's own matcher (mlinfra/facts/rbac.py `action_allowed`: wildcards, notActions,
data actions).

A need on a resource the stack itself creates is checked at the nearest scope that already
exists (targets.existing_scope): before the first `up` only roles inherited from there can apply.
The answer is the caller's own: run doctor as the stack's deployer (the pipelines do, before
`pulumi up`); run as someone else, it says what *that* identity could do. Role-assignment
conditions (ABAC) are not part of the answer; the offline verifier evaluates them (EV-3).
"""

from __future__ import annotations

from mlinfra.doctor.azure.arm import permissions_at
from mlinfra.doctor.http import Client
from mlinfra.doctor.report import CANNOT, OK, PROBLEM, Result, cannot
from mlinfra.doctor.targets import StackTarget
from mlinfra.estate.prerequisites import Prerequisites
from mlinfra.facts import rbac

CHECK = "deployer rights"


def _fix(target: StackTarget, scope: str, declared: Prerequisites) -> str:
    principal = target.deployer.id if target.deployer else f"deployer:{target.stack.stack}"
    for item in declared.items:
        for grant in item.grants:
            if grant.principal == principal and rbac.scope_covers(grant.scope, scope):
                return f"ask {item.owner} to complete prerequisite {item.id} (prerequisites.yaml)"
    return (
        f"run bootstrap's `pulumi up` (it grants {principal} its roles), or grant the missing actions at "
        f"{scope} and declare the grant in prerequisites.yaml"
    )


def stack_rights(
    client: Client,
    target: StackTarget,
    declared: Prerequisites,
    skip: set[str] | None = None,
    answers: dict[str, tuple[int, dict, tuple[rbac.Permission, ...]]] | None = None,
) -> list[Result]:
    """One result per scope: the actions of the stack's needs there that the caller does not hold.
    `skip`: scopes checked elsewhere (the state backend); `answers`: permissions already fetched."""
    results = []
    skip = skip or set()
    answers = {} if answers is None else answers
    who = target.deployer.label if target.deployer else f"{target.stack.stack} deployer"
    for need in target.scopes:
        if need.scope.lower() in skip:
            continue
        subject = f"{target.label}: {who} at {need.scope}"
        key = need.scope.lower()
        if key not in answers:
            answers[key] = permissions_at(client, need.scope)
        status, body, blocks = answers[key]
        if status == 404:
            results.append(
                Result(
                    CHECK,
                    subject,
                    CANNOT,
                    "HTTP 404: the scope does not exist yet (an up creates it, e.g. a registry's managed resource group)",
                )
            )
            continue
        if status != 200:
            results.append(cannot(CHECK, subject, status, body))
            continue
        missing = [a for a in need.actions if not rbac.action_allowed(a, blocks)]
        missing += [a for a in need.data_actions if not rbac.action_allowed(a, blocks, data=True)]
        if missing:
            results.append(
                Result(
                    CHECK,
                    subject,
                    PROBLEM,
                    "not held: " + ", ".join(missing),
                    _fix(target, need.scope, declared),
                )
            )
        else:
            count = len(need.actions) + len(need.data_actions)
            results.append(Result(CHECK, subject, OK, f"{count} action(s) held"))
    return results


def all_checks(
    client: Client, targets: list[StackTarget], declared: Prerequisites, skip: set[str]
) -> list[Result]:
    results: list[Result] = []
    answers: dict[str, tuple[int, dict, tuple[rbac.Permission, ...]]] = {}
    for target in targets:
        results += stack_rights(client, target, declared, skip, answers)
    return results
