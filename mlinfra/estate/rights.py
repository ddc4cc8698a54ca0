"""Needs against holdings: every right a stack's runs need that their identity does not hold is a
finding (EV-1..EV-5). Findings are grouped per identity, action and scope, naming the first
resource that needs it and how many more do."""

from __future__ import annotations

from collections import defaultdict

from mlinfra.estate import needs as rules
from mlinfra.estate.delivery import Run
from mlinfra.estate.findings import Finding
from mlinfra.estate.identities import Bootstrap, Identity
from mlinfra.estate.inventory import StackPlan
from mlinfra.facts.rbac import Grant, allowing


def _missing(identity: Identity, need: rules.Need) -> str | None:
    """None when `identity` holds `need`, else the rule broken (EV-3 when only a condition stops it)."""
    if allowing(identity.grants, need.action, need.scope, data=need.data, attributes=dict(need.attributes)):
        return None
    unconditioned = [
        Grant(g.scope, g.role, None, g.origin) for g in identity.grants if g.condition is not None
    ]
    if allowing(unconditioned, need.action, need.scope, data=need.data):
        return "EV-3"
    return need.rule


def names(ids: frozenset[str]) -> str:
    """Graph app role names, alphabetically, joined with "or"."""
    return " or ".join(sorted(rules.GRAPH_NAMES[i] for i in ids))


def _graph(stack: StackPlan, identity: Identity, operation: str) -> list[Finding]:
    objects = rules.entra_objects(stack)
    if not objects:
        return []
    held = identity.graph_roles
    findings = []
    if operation == "up":
        if not held & rules.GRAPH_WRITE_APPS:
            findings.append(
                Finding(
                    "EV-4",
                    stack.label,
                    f"{identity.label} lacks Microsoft Graph {names(rules.GRAPH_WRITE_APPS)}, needed by {objects[0].name} to create app registrations",
                    objects[0].name,
                    identity.id,
                    "Microsoft Graph",
                    names(rules.GRAPH_WRITE_APPS),
                )
            )
        foreign = rules.foreign_owners(stack, identity.principal_id)
        if foreign and not held & rules.GRAPH_READ_DIRECTORY:
            resource, owner = foreign[0]
            more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
            findings.append(
                Finding(
                    "EV-4",
                    stack.label,
                    f"{identity.label} lacks Microsoft Graph {names(rules.GRAPH_READ_DIRECTORY)}, needed by {resource.name}{more} to add owner {owner}, who is not the deployer itself (Graph: OwnedBy alone cannot add another owner)",
                    resource.name,
                    identity.id,
                    "Microsoft Graph",
                    names(rules.GRAPH_READ_DIRECTORY),
                )
            )
    elif not held & rules.GRAPH_READ_APPS:
        findings.append(
            Finding(
                "EV-4",
                stack.label,
                f"{identity.label} lacks Microsoft Graph {names(rules.GRAPH_READ_APPS)}, needed to refresh {objects[0].name}",
                objects[0].name,
                identity.id,
                "Microsoft Graph",
                names(rules.GRAPH_READ_APPS),
            )
        )
    return findings


def check_rights(stacks: list[StackPlan], runs: list[Run], bootstrap: Bootstrap) -> list[Finding]:
    by_environment = {
        env: identity for identity in bootstrap.identities.values() for env in identity.environments
    }
    state = (bootstrap.state_container, bootstrap.secrets_key)
    findings: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for stack in stacks:
        if stack.kind == "bootstrap":
            continue  # run by an administrator (prerequisites.yaml: bootstrap-administrator)
        for run in (r for r in runs if r.stack == stack.stack):
            # GitHub jobs sign in through their environment, Azure DevOps jobs through their connection.
            identity = by_environment.get(
                str(run.environment if run.platform == "github" else run.service_connection)
            )
            operation = "up" if run.operation == "up" else "read"
            if identity is None or (stack.stack, identity.id, operation) in seen:
                continue  # no identity: a delivery finding (EV-6, EV-7)
            seen.add((stack.stack, identity.id, operation))
            needs = (
                rules.deployer_needs(stack, state) if operation == "up" else rules.preview_needs(stack, state)
            )
            grouped: dict[tuple[str, str, str, bool], list[rules.Need]] = defaultdict(list)
            for need in needs:
                broken = _missing(identity, need)
                if broken:
                    grouped[(broken, need.action, need.scope, need.data)].append(need)
            for (rule, action, scope, _), missing in sorted(grouped.items()):
                first = missing[0]
                more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
                condition = ""
                if rule == "EV-3":
                    attributes = dict(first.attributes)
                    condition = f" (role {attributes.get('roleDefinitionId')} to {attributes.get('principalType')}: outside its ABAC condition)"
                findings.append(
                    Finding(
                        rule,
                        stack.label,
                        f"{identity.label} lacks {action} on {scope}, needed by {first.resource}{more}{condition}",
                        first.resource,
                        identity.id,
                        scope,
                        action,
                    )
                )
            findings.extend(_graph(stack, identity, run.operation))
    return findings
