"""Microsoft Graph: does each deployer hold, with admin consent, the Graph application permissions
(app roles) that bootstrap grants it (`azuread:AppRoleAssignment` in bootstrap's plan; the
estate verifier's EV-4 needs)?

An application permission is held once an app role assignment to Microsoft Graph's service
principal exists for it; the assignment *is* the admin consent ("App roles that are assigned to
service principals are also known as application permissions. Application permissions can be
granted directly by creating app role assignments, or through a consent experience": Microsoft
Graph, "List appRoleAssignments granted to a service principal",
learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments). The caller needs
Application.Read.All (delegated or application) to list them.
"""

from __future__ import annotations

from mlinfra.doctor.http import Client
from mlinfra.doctor.report import CANNOT, OK, PROBLEM, Result, cannot
from mlinfra.estate.identities import Identity
from mlinfra.estate.needs import GRAPH_NAMES

API = "https://graph.microsoft.com/v1.0"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
"""Microsoft Graph's well-known application id (its service principal's appId in every tenant)."""
CHECK = "Graph app roles"
MAX_PAGES = 50


def graph_service_principal(client: Client) -> tuple[str | None, Result | None]:
    """The object id of Microsoft Graph's service principal in this tenant."""
    reply = client.get(f"{API}/servicePrincipals(appId='{GRAPH_APP_ID}')?$select=id,appDisplayName")
    if reply.status != 200 or not reply.body.get("id"):
        return None, cannot(CHECK, "Microsoft Graph service principal", reply.status, reply.body)
    return str(reply.body["id"]), None


def _name(role_id: str) -> str:
    return GRAPH_NAMES.get(role_id, role_id)


def app_roles(client: Client, identity: Identity, object_id: str | None, graph_id: str) -> Result:
    expected = {r.lower() for r in identity.graph_roles}
    subject = identity.label
    if not expected:
        return Result(CHECK, subject, OK, "bootstrap grants it no Graph app role")
    if not object_id:
        return Result(
            CHECK,
            subject,
            CANNOT,
            "its object id is unknown: pass --bootstrap-outputs (pulumi stack output --json --cwd bootstrap)",
        )
    held: set[str] = set()
    url: str | None = f"{API}/servicePrincipals/{object_id}/appRoleAssignments"
    for _ in range(MAX_PAGES):
        if url is None:
            break
        reply = client.get(url)
        if reply.status != 200:
            return cannot(CHECK, subject, reply.status, reply.body)
        held |= {
            str(a.get("appRoleId", "")).lower()
            for a in reply.body.get("value", [])
            if str(a.get("resourceId", "")).lower() == graph_id.lower()
        }
        url = reply.body.get("@odata.nextLink")  # Graph paging: the next page's absolute URL
    missing = sorted(expected - held, key=_name)
    if missing:
        names = ", ".join(_name(r) for r in missing)
        return Result(
            CHECK,
            subject,
            PROBLEM,
            f"no admin consent for {names}",
            "a Privileged Role Administrator runs bootstrap's `pulumi up` (it assigns the app roles; "
            f"prerequisite bootstrap-administrator), or grants admin consent for {names} to {object_id}",
        )
    return Result(CHECK, subject, OK, ", ".join(sorted(_name(r) for r in expected)))


def object_id_of(client: Client, client_id: str) -> str | None:
    """A service principal's object id from its application (client) id (bootstrap outputs only
    the preview identity's client id)."""
    reply = client.get(f"{API}/servicePrincipals(appId='{client_id}')?$select=id")
    return str(reply.body["id"]) if reply.status == 200 and reply.body.get("id") else None


def all_checks(
    client: Client,
    identities: list[Identity],
    object_ids: dict[str, str],
    client_ids: dict[str, str] | None = None,
) -> list[Result]:
    if not any(i.graph_roles for i in identities):
        return [app_roles(client, i, object_ids.get(i.id), "") for i in identities]
    graph_id, failed = graph_service_principal(client)
    if graph_id is None:
        return [failed] if failed else []
    results = []
    for identity in identities:
        object_id = object_ids.get(identity.id)
        if not object_id and identity.graph_roles and (client_ids or {}).get(identity.id):
            object_id = object_id_of(client, (client_ids or {})[identity.id])
        results.append(app_roles(client, identity, object_id, graph_id))
    return results
