"""`--stack` / `--estate`: plan the estate offline (mlinfra/estate/model.py) and run every check
it implies, in the order a first `up` meets them."""

from __future__ import annotations

import sys
from pathlib import Path

from mlinfra.doctor import targets
from mlinfra.doctor.azure import availability, graph, names, quota, rights, state_backend
from mlinfra.doctor.ci import azure_devops, github_environments
from mlinfra.doctor.http import Client
from mlinfra.doctor.report import CANNOT, Result
from mlinfra.estate.prerequisites import Prerequisites


def plan(root: Path, stacks: list[str] | None, outputs_file: Path | None) -> targets.EstateTarget:
    """The estate's targets for `stacks` (None: all). Raises ValueError on an unknown stack."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))  # the stage project's program, as `mlinfra estate` runs it
    from mlinfra.estate import model

    return targets.build(model.build(root), stacks, targets.load_outputs(outputs_file))


def repositories(estate: targets.EstateTarget) -> list[tuple[str, str]]:
    """(owner/name, oidcSubjectFormat) of the infra repository and every selected stage's CI repository."""
    found = [estate.infra_repository] if estate.infra_repository else []
    found += [t.repository for t in estate.stacks if t.repository]
    return list(dict.fromkeys(found))


def run(
    client: Client, estate: targets.EstateTarget, declared: Prerequisites, known: set[str]
) -> list[Result]:
    """`known`: subscriptions whose registrations prerequisites.yaml declares (checked already)."""
    results: list[Result] = []
    for subscription in sorted({t.stack.subscription_id for t in estate.stacks} - known - {""}):
        # Nothing to ask for: which namespaces it needs is the estate verifier's (EV-15) to say.
        results.append(
            Result(
                "resource provider",
                f"subscription {subscription}",
                CANNOT,
                "no registration declared for it in prerequisites.yaml resourceProviders",
                "add the namespaces `mlinfra estate` reports for it (EV-15)",
            )
        )
    results += names.all_checks(client, [(t.label, n) for t in estate.stacks for n in t.names])
    state_scopes = {s.lower() for s in (estate.state_container, estate.secrets_key) if s}
    results += rights.all_checks(client, estate.stacks, declared, state_scopes)
    results += quota.all_checks(client, [c for t in estate.stacks for c in t.clusters])
    results += availability.all_checks(
        client,
        [c for t in estate.stacks for c in t.clusters],
        [(t.label, f) for t in estate.stacks for f in t.firewalls],
    )
    results += graph.all_checks(client, estate.identities, estate.principal_ids, estate.client_ids)
    results += azure_devops.all_checks(
        client,
        estate.azure_devops,
        estate.identities,
        [(t.stack.stack, t.service_connection) for t in estate.stacks if t.service_connection],
        estate.principal_ids,
        estate.client_ids,
        estate.azure_devops_users,
        estate.azure_devops_pipelines,
    )
    results += github_environments.all_checks(client, estate.github_environments)
    results += state_backend.all_checks(client, estate.state_container, estate.secrets_key)
    return results
