"""Azure Resource Manager checks. Each returns Results; a non-200 answer is CANNOT-CHECK with why.

API versions (ARM REST): resource providers 2021-04-01, permissions 2022-04-01, virtual networks
2023-09-01, private DNS zones 2020-06-01, key vault deleted vaults 2023-07-01."""

from __future__ import annotations

from collections.abc import Iterable

from mlinfra.doctor.http import Client
from mlinfra.doctor.report import CANNOT, OK, PROBLEM, Result, cannot
from mlinfra.estate.prerequisites import DeclaredGrant, Prerequisites
from mlinfra.facts import rbac

ARM = "https://management.azure.com"


def subscription_of(resource_id: str) -> str:
    parts = resource_id.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0].lower() == "subscriptions" else ""


def providers(client: Client, subscription: str, names: Iterable[str]) -> list[Result]:
    """GET /subscriptions/{id}/providers/{namespace}: `registrationState` must be `Registered`."""
    results = []
    for name in names:
        reply = client.get(f"{ARM}/subscriptions/{subscription}/providers/{name}?api-version=2021-04-01")
        subject = f"{name} in subscription {subscription}"
        if reply.status != 200:
            results.append(cannot("resource provider", subject, reply.status, reply.body))
            continue
        state = reply.body.get("registrationState", "")
        if state == "Registered":
            results.append(Result("resource provider", subject, OK))
        else:
            results.append(
                Result(
                    "resource provider",
                    subject,
                    PROBLEM,
                    f"registrationState {state or 'missing'}",
                    f"az provider register --namespace {name} --subscription {subscription}",
                )
            )
    return results


def permissions_at(client: Client, scope: str) -> tuple[int, dict, tuple[rbac.Permission, ...]]:
    """GET {scope}/providers/Microsoft.Authorization/permissions: the caller's effective
    permission blocks at the scope (`value[]` of actions/notActions/dataActions/notDataActions)."""
    reply = client.get(f"{ARM}{scope}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01")
    blocks = (
        tuple(rbac.Permission.from_json(b) for b in reply.body.get("value", ()))
        if reply.status == 200
        else ()
    )
    return reply.status, reply.body, blocks


def grant_actions(grant: DeclaredGrant) -> tuple[list[str], list[str]]:
    actions, data_actions = list(grant.actions), list(grant.data_actions)
    if grant.role:
        role = next((r for r in rbac.builtin_roles().values() if r.name == grant.role), None)
        for block in role.permissions if role else ():
            actions += [a for a in block.actions if "*" not in a]
            data_actions += [a for a in block.data_actions if "*" not in a]
    return actions, data_actions


def hub_grants(client: Client, declared: Prerequisites) -> list[Result]:
    """Each declared grant, checked with the caller's effective permissions at its scope, evaluated
    by the estate verifier's own matcher (mlinfra/facts/rbac.py `action_allowed`). The caller is
    the identity `pulumi up` runs as; run doctor as that identity (docs/doctor.md)."""
    results = []
    for item in declared.items:
        for grant in item.grants:
            subject = f"{item.id}: {grant.principal} at {grant.scope}"
            status, body, blocks = permissions_at(client, grant.scope)
            if status != 200:
                results.append(cannot("declared grant", subject, status, body))
                continue
            actions, data_actions = grant_actions(grant)
            missing = [a for a in actions if not rbac.action_allowed(a, blocks)]
            missing += [a for a in data_actions if not rbac.action_allowed(a, blocks, data=True)]
            if missing:
                results.append(
                    Result(
                        "declared grant",
                        subject,
                        PROBLEM,
                        "not held: " + ", ".join(missing),
                        f"ask {item.owner} to complete prerequisite {item.id}",
                    )
                )
            else:
                results.append(Result("declared grant", subject, OK))
    return results


def dns_zones(client: Client, declared: Prerequisites) -> list[Result]:
    """GET each declared private DNS zone id: it must exist (200)."""
    results = []
    for zone in declared.landing_zone.private_dns_zone_ids:
        reply = client.get(f"{ARM}{zone}?api-version=2020-06-01")
        name = zone.rsplit("/", 1)[-1]
        if reply.status == 200:
            results.append(Result("private DNS zone", name, OK))
        elif reply.status == 404:
            results.append(
                Result("private DNS zone", name, PROBLEM, "not found", f"ask the hub team to create {zone}")
            )
        else:
            results.append(cannot("private DNS zone", name, reply.status, reply.body))
    return results


def gateway_transit(client: Client, declared: Prerequisites) -> list[Result]:
    """GET the hub VNet: each peering to a declared spoke has `allowGatewayTransit` true."""
    hub = declared.landing_zone.hub_virtual_network_id
    if not hub:
        return []
    reply = client.get(f"{ARM}{hub}?api-version=2023-09-01")
    if reply.status != 200:
        return [cannot("hub gateway transit", hub, reply.status, reply.body)]
    peerings = reply.body.get("properties", {}).get("virtualNetworkPeerings", [])
    by_remote = {
        (p.get("properties", {}).get("remoteVirtualNetwork", {}).get("id") or "").lower(): p for p in peerings
    }
    results = []
    for spoke in declared.landing_zone.spoke_virtual_network_ids:
        peering = by_remote.get(spoke.lower())
        name = spoke.rsplit("/", 1)[-1]
        if peering is None:
            results.append(
                Result(
                    "hub gateway transit",
                    name,
                    PROBLEM,
                    "no hub peering to this spoke",
                    "ask the hub team to peer it",
                )
            )
        elif peering.get("properties", {}).get("allowGatewayTransit") is True:
            results.append(Result("hub gateway transit", name, OK))
        else:
            results.append(
                Result(
                    "hub gateway transit",
                    name,
                    PROBLEM,
                    "allowGatewayTransit is false",
                    "ask the hub team to allow gateway transit on the peering",
                )
            )
    return results


def deleted_key_vault(client: Client, subscription: str, location: str, name: str) -> Result:
    """GET /subscriptions/{id}/providers/Microsoft.KeyVault/locations/{loc}/deletedVaults/{name}:
    200 means a soft-deleted vault holds the name; 404 means none does."""
    reply = client.get(
        f"{ARM}/subscriptions/{subscription}/providers/Microsoft.KeyVault/locations/{location}"
        f"/deletedVaults/{name}?api-version=2023-07-01"
    )
    if reply.status == 404:
        return Result("key vault name", name, OK, "no soft-deleted vault holds it")
    if reply.status == 200:
        return Result(
            "key vault name",
            name,
            PROBLEM,
            "held by a soft-deleted vault",
            f"az keyvault purge --name {name} --location {location} (or recover it)",
        )
    return cannot("key vault name", name, reply.status, reply.body)


def registered_providers(client: Client, declared: Prerequisites) -> list[Result]:
    """Every registration `prerequisites.yaml` declares (`resourceProviders`, the list the estate
    verifier derives from the plans, EV-15), checked in its subscription."""
    results: list[Result] = []
    for item in declared.items:
        for registration in item.resource_providers:
            results += providers(client, registration.subscription, registration.namespaces)
    return results


def all_checks(
    client: Client, declared: Prerequisites, key_vaults: list[tuple[str, str, str]]
) -> list[Result]:
    results: list[Result] = []
    results += registered_providers(client, declared)
    results += [deleted_key_vault(client, *kv) for kv in key_vaults]
    results += hub_grants(client, declared)
    results += dns_zones(client, declared)
    results += gateway_transit(client, declared)
    return results


__all__ = ["CANNOT", "all_checks"]
