"""Azure DevOps: the organization and project of bootstrap's `azureDevOps`, each deployer's
entitlement in the organization, and an issuer/subject preview of each stage's service
connection, read back from Azure DevOps (never hand-built: DESIGN.md, "Identity and access").

Calls (Azure DevOps REST 7.1, the token is an Entra token for Azure DevOps' resource
499b84ac-1321-427f-aa17-267ca6975798):
- `GET {org}/_apis/projects?$top=1` and `GET {org}/_apis/projects/{project}` (Projects - List /
  Get: `state` is `wellFormed` for a usable project);
- `GET https://vsaex.dev.azure.com/{org}/_apis/serviceprincipalentitlements` (Service Principal
  Entitlements; `members[]` of `servicePrincipal.originId`, the Entra object id bootstrap entitles
  with origin `aad` (bootstrap/azure_devops.py), and `accessLevel.status`; further pages through
  `continuationToken`);
- `GET {org}/{project}/_apis/serviceendpoint/endpoints?endpointNames={name}` (Endpoints - Get
  Service Endpoints By Names: `authorization.scheme` `WorkloadIdentityFederation` and its
  `parameters.workloadIdentityFederationIssuer` / `workloadIdentityFederationSubject` /
  `serviceprincipalid`, the fields microsoft/terraform-provider-azuredevops reads back into
  `workload_identity_federation_issuer` / `_subject`).
"""

from __future__ import annotations

from urllib.parse import quote

from planner.doctor.http import Client
from planner.doctor.report import CANNOT, OK, PROBLEM, Result, cannot
from planner.doctor.targets import AzureDevOps
from planner.estate.identities import Identity

VERSION = "7.1"
ENTITLEMENTS_VERSION = "7.1-preview.1"
WIF = "WorkloadIdentityFederation"
MAX_PAGES = 50
"""Pages of entitlements followed through `continuationToken` before giving up."""


def _organization(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def organization(client: Client, ado: AzureDevOps) -> list[Result]:
    reply = client.get(f"{ado.organization_url}/_apis/projects?$top=1&api-version={VERSION}")
    subject = ado.organization_url
    if reply.status == 404:
        return [
            Result(
                "Azure DevOps organization",
                subject,
                PROBLEM,
                "not found",
                "fix mlinfra-bootstrap:azureDevOps.organizationUrl in bootstrap/Pulumi.<stack>.yaml",
            )
        ]
    if reply.status != 200:
        return [cannot("Azure DevOps organization", subject, reply.status, reply.body)]
    results = [Result("Azure DevOps organization", subject, OK)]
    project = client.get(f"{ado.organization_url}/_apis/projects/{quote(ado.project)}?api-version={VERSION}")
    where = f"{ado.organization_url}/{ado.project}"
    if project.status == 404:
        results.append(
            Result(
                "Azure DevOps project",
                where,
                PROBLEM,
                "not found",
                "create the project, or fix mlinfra-bootstrap:azureDevOps.project",
            )
        )
    elif project.status != 200:
        results.append(cannot("Azure DevOps project", where, project.status, project.body))
    elif project.body.get("state") != "wellFormed":
        results.append(
            Result(
                "Azure DevOps project",
                where,
                PROBLEM,
                f"state {project.body.get('state')}",
                "wait until the project is wellFormed, or restore it",
            )
        )
    else:
        results.append(Result("Azure DevOps project", where, OK, f"id {project.body.get('id')}"))
    return results


def entitlements(
    client: Client, ado: AzureDevOps, identities: list[Identity], object_ids: dict[str, str]
) -> list[Result]:
    org = _organization(ado.organization_url)
    base = f"https://vsaex.dev.azure.com/{org}/_apis/serviceprincipalentitlements?api-version={ENTITLEMENTS_VERSION}"
    members: dict[str, dict] = {}
    url = base
    for _ in range(MAX_PAGES):
        reply = client.get(url)
        if reply.status != 200:
            return [cannot("Azure DevOps entitlement", i.label, reply.status, reply.body) for i in identities]
        for m in reply.body.get("members", []):
            members[str((m.get("servicePrincipal") or {}).get("originId", "")).lower()] = m
        token = reply.body.get("continuationToken")
        if not token:
            break
        url = f"{base}&continuationToken={quote(str(token))}"
    results = []
    for identity in identities:
        object_id = object_ids.get(identity.id)
        if not object_id:
            results.append(
                Result(
                    "Azure DevOps entitlement",
                    identity.label,
                    CANNOT,
                    "its object id is unknown: pass --bootstrap-outputs",
                )
            )
            continue
        member = members.get(object_id.lower())
        status = ((member or {}).get("accessLevel") or {}).get("status")
        if member is None:
            results.append(
                Result(
                    "Azure DevOps entitlement",
                    identity.label,
                    PROBLEM,
                    f"{object_id} is not a member of {org}",
                    "run bootstrap's `pulumi up` (it entitles each Azure DevOps deployer), as an organization "
                    "administrator",
                )
            )
        elif status not in (None, "active"):
            results.append(
                Result(
                    "Azure DevOps entitlement",
                    identity.label,
                    PROBLEM,
                    f"access level status {status}",
                    "Organization settings, Users: reactivate its access level",
                )
            )
        else:
            results.append(Result("Azure DevOps entitlement", identity.label, OK, f"member of {org}"))
    return results


def service_connection(
    client: Client, ado: AzureDevOps, stack: str, name: str, client_id: str | None
) -> Result:
    """The connection's issuer and subject as Azure DevOps reports them (the preview); PROBLEM when
    it is missing, not workload identity federation, or federates another application."""
    check = "Azure DevOps service connection"
    subject = f"{stack}: {name}"
    reply = client.get(
        f"{ado.organization_url}/{quote(ado.project)}/_apis/serviceendpoint/endpoints"
        f"?endpointNames={quote(name)}&api-version={VERSION}"
    )
    if reply.status != 200:
        return cannot(check, subject, reply.status, reply.body)
    found = [e for e in reply.body.get("value", []) if e.get("name") == name]
    if not found:
        return Result(
            check, subject, PROBLEM, "not found in the project", "run bootstrap's `pulumi up` (it creates it)"
        )
    authorization = found[0].get("authorization") or {}
    parameters = authorization.get("parameters") or {}
    if authorization.get("scheme") != WIF:
        return Result(
            check,
            subject,
            PROBLEM,
            f"scheme {authorization.get('scheme')}, not {WIF}",
            "convert it to workload identity federation (Project settings, Service connections), then run "
            "bootstrap's `pulumi up` so the federated credential trusts its issuer and subject",
        )
    issuer = parameters.get("workloadIdentityFederationIssuer")
    sub = parameters.get("workloadIdentityFederationSubject")
    if not issuer or not sub:
        return Result(check, subject, CANNOT, "Azure DevOps reported no issuer or subject")
    principal = str(parameters.get("serviceprincipalid") or "")
    if client_id and principal and principal.lower() != client_id.lower():
        return Result(
            check,
            subject,
            PROBLEM,
            f"federates application {principal}, not the {stack} deployer {client_id}",
            "run bootstrap's `pulumi up` (it points the connection at the deployer)",
        )
    return Result(check, subject, OK, f"issuer {issuer}, subject {sub}")


def all_checks(
    client: Client,
    ado: AzureDevOps | None,
    identities: list[Identity],
    connections: list[tuple[str, str]],
    object_ids: dict[str, str],
    client_ids: dict[str, str],
) -> list[Result]:
    """`connections`: (stack, service connection name) of the stacks whose `up` runs in Azure DevOps."""
    if ado is None or not connections:
        return []
    results = organization(client, ado)
    if any(r.status == PROBLEM for r in results):
        return results
    entitled = [i for i in identities if any(i.id == f"deployer:{stack}" for stack, _ in connections)]
    results += entitlements(client, ado, entitled, object_ids)
    results += [
        service_connection(client, ado, stack, name, client_ids.get(f"deployer:{stack}"))
        for stack, name in connections
    ]
    return results
