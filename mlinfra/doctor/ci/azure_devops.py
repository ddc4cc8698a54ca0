"""Azure DevOps: the organization and project of bootstrap's `azureDevOps`, the entitlement of
every identity Azure DevOps must know, and an issuer/subject preview of each stage's service
connection, read back from Azure DevOps (never hand-built: DESIGN.md, "Identity and access").

Which identities Azure DevOps must know (mlinfra/doctor/targets.py `_azure_devops_identities`):
those that run a stack whose plan has azuredevops resources, on either platform; the provider
then calls Azure DevOps REST as them (its `up` creates them, a preview or drift refresh reads
them). "Since sign-in isn't possible for service principals, an admin must explicitly add it to
an organization" (MicrosoftDocs/azure-devops-docs, "Use service principals & managed identities
in Azure DevOps"). An identity that an Azure DevOps pipeline only signs in to Azure through its
service connection needs no place in the organization: that line says so.

Access level: a deployer creates environments, service connections and variable groups, which a
Stakeholder in a private project cannot unless the organization turned on free Pipelines access
for Stakeholders ("Stakeholder access quick reference", Azure Pipelines: private projects "View
and approve releases, View build pipelines"; "Use and manage library items such as variable
groups" only for public projects); bootstrap entitles with Basic (`express`). Stakeholder and
`none` are PROBLEMs, for the preview identity too (it reads variable groups on refresh).

Calls (Azure DevOps REST 7.1, MicrosoftDocs/vsts-rest-api-specs; the token is an Entra token for
Azure DevOps' resource 499b84ac-1321-427f-aa17-267ca6975798):
- `GET {org}/_apis/projects?$top=1` and `GET {org}/_apis/projects/{project}` (Projects - List /
  Get: `state` is `wellFormed` for a usable project);
- `GET https://vssps.dev.azure.com/{org}/_apis/graph/serviceprincipals?api-version=7.1-preview.1`
  (Graph, Service Principals - List: `value[]` of `originId`, the Entra object id, and
  `descriptor`; further pages through the `X-MS-ContinuationToken` header), then
  `GET https://vssps.dev.azure.com/{org}/_apis/graph/storagekeys/{descriptor}?api-version=7.1`
  (Storage Keys - Get: `value`, the member id) and
  `GET https://vsaex.dev.azure.com/{org}/_apis/serviceprincipalentitlements/{id}?api-version=
  7.1-preview.1` (Service Principal Entitlements - Get: `accessLevel.status`,
  `.accountLicenseType`, `.licenseDisplayName`). The 7.1 spec has no list of service principal
  entitlements (only Add, Update, Get and Delete by id), hence the Graph lookup first;
- `GET {org}/{project}/_apis/serviceendpoint/endpoints?endpointNames={name}` (Endpoints - Get
  Service Endpoints By Names: `authorization.scheme` `WorkloadIdentityFederation` and its
  `parameters.workloadIdentityFederationIssuer` / `workloadIdentityFederationSubject` /
  `serviceprincipalid`, the fields microsoft/terraform-provider-azuredevops reads back into
  `workload_identity_federation_issuer` / `_subject`).
"""

from __future__ import annotations

from urllib.parse import quote

from mlinfra.doctor.http import Client
from mlinfra.doctor.report import CANNOT, OK, PROBLEM, Result, cannot
from mlinfra.doctor.targets import AzureDevOps
from mlinfra.estate.identities import Identity

VERSION = "7.1"
PREVIEW = "7.1-preview.1"
WIF = "WorkloadIdentityFederation"
CHECK = "Azure DevOps entitlement"
MAX_PAGES = 50
"""Pages of service principals followed through `X-MS-ContinuationToken` before giving up."""
NO_PIPELINE_ACCESS = {"stakeholder", "none"}


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


def _graph_members(client: Client, org: str) -> tuple[dict[str, str] | None, Result | None]:
    """Entra object id (lower case) -> Graph descriptor of every service principal in `org`."""
    base = f"https://vssps.dev.azure.com/{org}/_apis/graph/serviceprincipals?api-version={PREVIEW}"
    url, members = base, {}
    for _ in range(MAX_PAGES):
        reply = client.get(url)
        if reply.status != 200:
            return None, Result(CHECK, org, CANNOT, cannot(CHECK, org, reply.status, reply.body).detail)
        for member in reply.body.get("value") or ():
            if member.get("originId") and member.get("descriptor"):
                members[str(member["originId"]).lower()] = str(member["descriptor"])
        token = reply.headers.get("x-ms-continuationtoken")
        if not token:
            break
        url = f"{base}&continuationToken={quote(token)}"
    return members, None


def _fix(identity: Identity, object_id: str, org: str) -> str:
    if identity.id.startswith("deployer:"):
        return (
            "run bootstrap's `pulumi up` as an organization administrator (it entitles, with Basic, the deployer "
            "of each stage whose pipelines run in this organization)"
        )
    return (
        f"an organization administrator adds service principal {object_id} to {org} with Basic access "
        "(Organization settings, Users, Add users); bootstrap entitles deployers only"
    )


def entitlement(
    client: Client, org: str, identity: Identity, object_id: str, descriptor: str | None, why: str
) -> Result:
    subject = identity.label
    if descriptor is None:
        return Result(
            CHECK,
            subject,
            PROBLEM,
            f"{object_id} is not a member of {org} ({why})",
            _fix(identity, object_id, org),
        )
    key = client.get(
        f"https://vssps.dev.azure.com/{org}/_apis/graph/storagekeys/{descriptor}?api-version={VERSION}"
    )
    member_id = key.body.get("value") if key.status == 200 else None
    if not member_id:
        return cannot(CHECK, subject, key.status, key.body)
    reply = client.get(
        f"https://vsaex.dev.azure.com/{org}/_apis/serviceprincipalentitlements/{member_id}?api-version={PREVIEW}"
    )
    if reply.status == 404:
        return Result(
            CHECK,
            subject,
            PROBLEM,
            f"{object_id} has no entitlement in {org} ({why})",
            _fix(identity, object_id, org),
        )
    if reply.status != 200:
        return cannot(CHECK, subject, reply.status, reply.body)
    level = reply.body.get("accessLevel") or {}
    status = level.get("status")
    license_type = str(level.get("accountLicenseType") or "")
    shown = level.get("licenseDisplayName") or license_type or "no access level"
    if status not in (None, "active"):
        return Result(
            CHECK,
            subject,
            PROBLEM,
            f"access level {shown} is {status}",
            "Organization settings, Users: reactivate its access level (Basic)",
        )
    if level.get("licensingSource", "account") == "account" and license_type in NO_PIPELINE_ACCESS:
        return Result(
            CHECK,
            subject,
            PROBLEM,
            f"access level {shown}: in a private project a Stakeholder cannot manage environments, service "
            f"connections or variable groups ({why})",
            "Organization settings, Users: change its access level to Basic",
        )
    return Result(CHECK, subject, OK, f"member of {org}, {shown}")


def entitlements(
    client: Client,
    ado: AzureDevOps,
    identities: list[Identity],
    object_ids: dict[str, str],
    users: dict[str, str],
    pipelines: dict[str, str],
) -> list[Result]:
    """`users`: identity id -> why Azure DevOps must know it; `pipelines`: identity id -> the
    connection an Azure DevOps pipeline signs it in to Azure with (no entitlement needed)."""
    org = _organization(ado.organization_url)
    results = [
        Result(
            CHECK,
            i.label,
            OK,
            f"not needed: {pipelines[i.id]} signs it in to Azure only; no stack it runs has Azure DevOps resources",
        )
        for i in identities
        if i.id in pipelines and i.id not in users
    ]
    needed = [i for i in identities if i.id in users]
    if not needed:
        return results
    members, failed = _graph_members(client, org)
    for identity in needed:
        object_id = object_ids.get(identity.id)
        if not object_id:
            results.append(
                Result(CHECK, identity.label, CANNOT, "its object id is unknown: pass --bootstrap-outputs")
            )
        elif members is None:
            results.append(Result(CHECK, identity.label, CANNOT, failed.detail if failed else "no answer"))
        else:
            results.append(
                entitlement(
                    client, org, identity, object_id, members.get(object_id.lower()), users[identity.id]
                )
            )
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
    users: dict[str, str] | None = None,
    pipelines: dict[str, str] | None = None,
) -> list[Result]:
    """`connections`: (stack, service connection name) of the stacks whose `up` runs in Azure DevOps;
    `users` and `pipelines` as `entitlements` takes them (targets.EstateTarget)."""
    users, pipelines = users or {}, pipelines or {}
    if ado is None:
        return [
            Result(CHECK, i.label, CANNOT, f"bootstrap declares no azureDevOps organization ({users[i.id]})")
            for i in identities
            if i.id in users
        ]
    if not connections and not users:
        return []
    results = organization(client, ado)
    if any(r.status == PROBLEM for r in results):
        return results
    results += entitlements(client, ado, identities, object_ids, users, pipelines)
    results += [
        service_connection(client, ado, stack, name, client_ids.get(f"deployer:{stack}"))
        for stack, name in connections
    ]
    return results
