"""Write the recorded responses that `doctor --estate --key-vault KV` asks for and that
`tests/data/doctor/healthy` or `.../unhealthy` does not hold yet (existing files are never
rewritten). Run it after the estate gains a scope, a name or a stack:

    venv/bin/python tests/data/doctor/make_replays.py

Every answer is shaped like the REST spec's or the service documentation's own example (cited
per answer below and in the tests that read them). The permissions a scope answers with are
the roles that bootstrap's plan and prerequisites.yaml give the deployers there (the estate
model), as ARM reports effective permissions: one block per role, conditions left out. The
unhealthy directory differs where `UNHEALTHY` says.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from planner.doctor import estate_checks, targets  # noqa: E402
from planner.doctor.http import Client, Response, WriteRefused, allowed, replay_key  # noqa: E402
from planner.estate import prerequisites, rbac  # noqa: E402

HERE = Path(__file__).resolve().parent
TENANT = "00000000-0000-0000-0000-000000000001"
GRAPH_SP = "7ea9e944-71ce-443d-811c-71e8047b41ae"
ORG_ID = "6f2c1a8e-0b1d-4c4e-9a8e-2f6d7c3b5a10"
TENANT_B64 = "AAAAAAAAAAAAAAAAAAAAAQ"
ADO_APP_B64 = "rEuZSSETf0KqFyZ8pqdXmA"
OUTPUTS = {
    "deployerPrincipalIds": {
        "shared": "11111111-0000-4000-8000-000000000001",
        "dev": "11111111-0000-4000-8000-000000000002",
        "preprod": "11111111-0000-4000-8000-000000000003",
        "prod": "11111111-0000-4000-8000-000000000004",
    },
    "deployerClientIds": {
        "shared": "22222222-0000-4000-8000-000000000001",
        "dev": "22222222-0000-4000-8000-000000000002",
        "preprod": "22222222-0000-4000-8000-000000000003",
        "prod": "22222222-0000-4000-8000-000000000004",
    },
    "previewClientId": "22222222-0000-4000-8000-000000000005",
}
PREVIEW_OBJECT_ID = "11111111-0000-4000-8000-000000000005"
UNHEALTHY = {
    "soft-deleted vault": "kvchurndevla167",
    "taken storage name": "stchurnprdh73j4",
    "hub grant withheld": "hub-dns-zones-join",
    "graph role missing": ("prod", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),  # Directory.Read.All
    "quota used": "00000000-0000-0000-0000-000000000015",
    "secret scheme": "spn-mlinfra-prod",
    "repository subject": "contoso/churn-mlops",
    "versioning off": True,
    "vm size restricted": ("00000000-0000-0000-0000-000000000003", "Standard_DS3_v2"),
    "github plan": "team",  # private repositories with reviewers and wait timers need Enterprise
    "no such user": "sam-mle",
    "user without access": "octocat",
    "team without access": ("ml-engineers", "contoso/churn-mlops"),
}
HEALTHY_PLAN = "enterprise"
ZONE_RESTRICTED = "00000000-0000-0000-0000-000000000015"
"""The healthy directory's subscription whose DS3_v2 is closed in one zone only (still OK)."""


def _not_found(code: str, what: str) -> tuple[int, dict]:
    # ARM's error envelope (ErrorResponse in common-types/resource-management).
    return 404, {"error": {"code": code, "message": f"The {what} was not found."}}


class Responder(Client):
    def __init__(self, variant: str, estate: targets.EstateTarget, declared: prerequisites.Prerequisites):
        super().__init__(replay=None)
        self.variant = variant
        self.estate = estate
        self.declared = declared
        self.unhealthy = variant == "unhealthy"
        self.directory = HERE / variant
        self.written = 0

    def request(self, method, url, body=None):
        if not allowed(method, url):
            raise WriteRefused(f"{method} {url}")
        path = self.directory / replay_key(method, url, body)
        if path.exists():
            recorded = json.loads(path.read_text(encoding="utf-8"))
            return Response(int(recorded["status"]), recorded.get("body") or {})
        status, answer, *headers = self.answer(method, url, body)
        record = {"method": method.upper(), "url": url, "status": status, "body": answer}
        if headers:
            record["headers"] = headers[0]
        if body is not None:
            record["request"] = body
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        self.written += 1
        return Response(status, answer, headers[0] if headers else {})

    # --- the answers -------------------------------------------------------------------------

    def answer(self, method: str, url: str, body: dict | None) -> tuple:
        path = url.split("?", 1)[0]
        host = url.split("/")[2]
        if host == "graph.microsoft.com":
            return self.graph(path)
        if host.endswith("dev.azure.com"):
            return self.azure_devops(url, path)
        if host == "api.github.com":
            return self.github(path)
        resource = path.removeprefix("https://management.azure.com")
        if path.endswith("/providers/Microsoft.Compute/skus"):
            return 200, self.resource_skus(resource.split("/")[2], url)
        if path.endswith("/checkNameAvailability"):
            return self.name_available(body or {})
        if path.endswith("/providers/Microsoft.Authorization/permissions"):
            return self.permissions(resource.removesuffix("/providers/Microsoft.Authorization/permissions"))
        if "/deletedVaults/" in path:
            return self.deleted_vault(resource)
        if path.endswith("/vmSizes"):
            return 200, vm_sizes()
        if path.endswith("/usages"):
            return 200, usages(resource.split("/")[2], self.unhealthy)
        if "/providers/" in resource and resource.count("/") == 4:
            namespace = resource.rsplit("/", 1)[-1]
            # Providers_Get (resources 2021-04-01, examples/GetProvider.json).
            return 200, {
                "id": resource,
                "namespace": namespace,
                "registrationState": "Registered",
                "resourceTypes": [],
            }
        if resource.endswith("/blobServices/default"):
            return 200, blob_service(resource, not (self.unhealthy and UNHEALTHY["versioning off"]))
        if "/blobServices/default/containers/" in resource:
            return 200, container(resource)
        if "/keys/" in resource:
            return 200, key(resource)
        if any(f"/providers/{t}/" in resource for t in ("Microsoft.KeyVault", "Microsoft.Storage")) or any(
            s in resource
            for s in ("Microsoft.ContainerRegistry/registries/", "MachineLearningServices/workspaces/")
        ):
            group = resource.split("/")[4]
            return _not_found("ResourceGroupNotFound", f"resource group '{group}'")
        return _not_found("ResourceNotFound", f"resource '{resource}'")

    def resource_skus(self, subscription: str, url: str) -> dict:
        """ResourceSkus_List (compute 2021-07-01, examples/skus/ListAvailableResourceSkusForARegion.json:
        `value[]` of resourceType, name, tier, size, family, locations, locationInfo, capabilities,
        restrictions; `nextLink` null). Restrictions in the spec's ResourceSkuRestrictions shape."""
        location = url.split("location%20eq%20%27", 1)[1].split("%27", 1)[0]
        restricted_sub, restricted_size = UNHEALTHY["vm size restricted"]
        value = []
        for name, vcpus, memory in (
            ("Standard_DS2_v2", 2, 7),
            ("Standard_DS3_v2", 4, 14),
            ("Standard_DS4_v2", 8, 28),
        ):
            restrictions = []
            if self.unhealthy and subscription == restricted_sub and name == restricted_size:
                restrictions.append(
                    {
                        "type": "Location",
                        "values": [location],
                        "restrictionInfo": {"locations": [location]},
                        "reasonCode": "NotAvailableForSubscription",
                    }
                )
            if not self.unhealthy and subscription == ZONE_RESTRICTED and name == "Standard_DS3_v2":
                restrictions.append(
                    {
                        "type": "Zone",
                        "values": [location],
                        "restrictionInfo": {"locations": [location], "zones": ["1"]},
                        "reasonCode": "NotAvailableForSubscription",
                    }
                )
            value.append(
                {
                    "resourceType": "virtualMachines",
                    "locations": [location],
                    "capabilities": [
                        {"name": "vCPUs", "value": str(vcpus)},
                        {"name": "MemoryGB", "value": str(memory)},
                        {"name": "LowPriorityCapable", "value": "True"},
                    ],
                    "locationInfo": [{"location": location, "zones": ["1", "2", "3"]}],
                    "name": name,
                    "tier": "Standard",
                    "size": name.removeprefix("Standard_"),
                    "family": "standardDSv2Family",
                    "restrictions": restrictions,
                }
            )
        return {"value": value, "nextLink": None}

    def name_available(self, body: dict) -> tuple[int, dict]:
        # Storage 2023-05-01 StorageAccountCheckNameAvailability.json, Container Registry 2023-07-01
        # RegistryCheckNameAvailable.json / RegistryCheckNameNotAvailable.json, Key Vault
        # 2023-02-01 checkVaultNameAvailability.json.
        if self.unhealthy and body.get("name") == UNHEALTHY["taken storage name"]:
            return 200, {
                "nameAvailable": False,
                "reason": "AlreadyExists",
                "message": f"The storage account named {body['name']} is already taken.",
            }
        return 200, {"nameAvailable": True}

    def deleted_vault(self, resource: str) -> tuple[int, dict]:
        name = resource.rsplit("/", 1)[-1]
        location = resource.split("/")[6]
        if self.unhealthy and name == UNHEALTHY["soft-deleted vault"]:
            # Key Vault 2023-07-01 listDeletedVaults.json, one item of `value`.
            subscription = resource.split("/")[2]
            return 200, {
                "id": resource,
                "name": name,
                "type": "Microsoft.KeyVault/deletedVaults",
                "properties": {
                    "vaultId": f"/subscriptions/{subscription}/resourceGroups/rg-churn-dev-weu/providers/Microsoft.KeyVault/vaults/{name}",
                    "location": location,
                    "tags": {},
                    "deletionDate": "2026-12-01T09:12:44Z",
                    "scheduledPurgeDate": "2026-12-08T09:12:44Z",
                    "purgeProtectionEnabled": False,
                },
            }
        return _not_found("DeletedVaultNotFound", f"deleted vault '{name}'")

    def permissions(self, scope: str) -> tuple[int, dict]:
        """Permissions_ListForResourceGroup / _ListForResource (authorization 2022-04-01): the
        roles every deployer holds at or above `scope`."""
        if "/resourceGroups/azureml-rg-" in scope:  # the registry's managed group: exists after shared's up
            return _not_found("ResourceGroupNotFound", "resource group")
        withheld = f"prerequisite: {UNHEALTHY['hub grant withheld']}" if self.unhealthy else None
        blocks, seen = [], set()
        for identity in self.estate.identities:
            for grant in identity.grants:
                if not rbac.scope_covers(grant.scope, scope) or grant.origin == withheld:
                    continue
                for block in grant.role.permissions:
                    key = (block.actions, block.not_actions, block.data_actions, block.not_data_actions)
                    if key in seen:
                        continue
                    seen.add(key)
                    blocks.append(
                        {
                            "actions": list(block.actions),
                            "notActions": list(block.not_actions),
                            "dataActions": list(block.data_actions),
                            "notDataActions": list(block.not_data_actions),
                        }
                    )
        return 200, {"value": blocks}

    def graph(self, path: str) -> tuple[int, dict]:
        # Microsoft Graph v1.0 servicePrincipal and appRoleAssignment resources
        # (learn.microsoft.com/graph/api/serviceprincipal-list-approleassignments).
        if path.endswith("servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"):
            return 200, {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(id,appDisplayName)/$entity",
                "id": GRAPH_SP,
                "appDisplayName": "Microsoft Graph",
            }
        if path.endswith(f"servicePrincipals(appId='{OUTPUTS['previewClientId']}')"):
            return 200, {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(id)/$entity",
                "id": PREVIEW_OBJECT_ID,
            }
        object_id = path.split("/servicePrincipals/", 1)[1].split("/", 1)[0]
        ids = {v: f"deployer:{k}" for k, v in OUTPUTS["deployerPrincipalIds"].items()}
        ids[PREVIEW_OBJECT_ID] = "preview"
        identity = next(i for i in self.estate.identities if i.id == ids[object_id])
        roles = sorted(identity.graph_roles)
        stack, missing = UNHEALTHY["graph role missing"]
        if self.unhealthy and identity.id == f"deployer:{stack}":
            roles = [r for r in roles if r != missing]
        return 200, {
            "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#servicePrincipals('{object_id}')/appRoleAssignments",
            "value": [
                {
                    "id": f"assignment-{object_id[-4:]}-{i}",
                    "deletedDateTime": None,
                    "appRoleId": role,
                    "createdDateTime": "2026-11-30T10:02:11Z",
                    "principalDisplayName": identity.id.replace(":", "-"),
                    "principalId": object_id,
                    "principalType": "ServicePrincipal",
                    "resourceDisplayName": "Microsoft Graph",
                    "resourceId": GRAPH_SP,
                }
                for i, role in enumerate(roles)
            ],
        }

    def azure_devops(self, url: str, path: str) -> tuple[int, dict]:
        project = {
            "id": "8d4e2b9c-3f1a-4e6b-9c7d-1a2b3c4d5e6f",
            "name": "mlinfra",
            "url": "https://dev.azure.com/contoso/_apis/projects/8d4e2b9c-3f1a-4e6b-9c7d-1a2b3c4d5e6f",
            "state": "wellFormed",
            "revision": 14,
            "visibility": "private",
            "lastUpdateTime": "2026-11-28T08:00:00Z",
        }
        if path.endswith("/_apis/projects"):  # Projects - List (Azure DevOps REST 7.1)
            return 200, {"count": 1, "value": [project]}
        if "/_apis/projects/" in path:  # Projects - Get
            return 200, project
        if path.endswith("/_apis/graph/serviceprincipals"):
            # Graph, Service Principals - List (7.1-preview.1, GetAllServicePrincipals.json): every
            # deployer and the preview identity, one page (no X-MS-ContinuationToken header).
            oids = [*OUTPUTS["deployerPrincipalIds"].items(), ("preview", PREVIEW_OBJECT_ID)]
            return 200, {
                "count": len(oids),
                "value": [
                    {
                        "subjectKind": "servicePrincipal",
                        "applicationId": OUTPUTS["deployerClientIds"].get(stack, OUTPUTS["previewClientId"]),
                        "origin": "aad",
                        "originId": oid,
                        "displayName": f"deploy-{stack}",
                        "descriptor": f"aadsp.{stack}",
                    }
                    for stack, oid in oids
                ],
            }
        if (
            "/_apis/graph/storagekeys/" in path
        ):  # Storage Keys - Get (7.1, GetStorageKeyBySubjectDescriptor.json)
            descriptor = path.rsplit("/", 1)[1]
            return 200, {
                "value": f"5e0c0000-0000-4000-8000-{hashlib.sha256(descriptor.encode()).hexdigest()[:12]}"
            }
        if "/_apis/serviceprincipalentitlements/" in path:
            # Service Principal Entitlements - Get (7.1-preview.1, GET__..._ServicePrincipalEntitlementById.json).
            return 200, {
                "id": path.rsplit("/", 1)[1],
                "accessLevel": {
                    "licensingSource": "account",
                    "accountLicenseType": "express",
                    "msdnLicenseType": "none",
                    "licenseDisplayName": "Basic",
                    "status": "active",
                    "statusMessage": "",
                    "assignmentSource": "unknown",
                },
                "projectEntitlements": [],
                "extensions": [],
                "groupAssignments": [],
            }
        if path.endswith("/_apis/serviceendpoint/endpoints"):
            # Endpoints - Get Service Endpoints By Names (serviceendpoint 7.1).
            name = url.split("endpointNames=", 1)[1].split("&", 1)[0]
            stack = name.removeprefix("spn-mlinfra-")
            client_id = OUTPUTS["deployerClientIds"].get(stack, "")
            endpoint = f"5e0c{client_id[4:]}"
            scheme = (
                "ServicePrincipal"
                if self.unhealthy and name == UNHEALTHY["secret scheme"]
                else "WorkloadIdentityFederation"
            )
            parameters = {"tenantid": TENANT, "serviceprincipalid": client_id}
            if scheme == "WorkloadIdentityFederation":
                parameters["workloadIdentityFederationIssuer"] = (
                    f"https://login.microsoftonline.com/{TENANT}/v2.0"
                )
                # Entra-issued form (Azure DevOps: "Workload identity federation", issuer and subject).
                parameters["workloadIdentityFederationSubject"] = (
                    f"/eid1/c/pub/t/{TENANT_B64}/a/{ADO_APP_B64}/sc/{ORG_ID}/{endpoint}"
                )
            return 200, {
                "count": 1,
                "value": [
                    {
                        "data": {
                            "environment": "AzureCloud",
                            "scopeLevel": "Subscription",
                            "creationMode": "Manual",
                        },
                        "id": endpoint,
                        "name": name,
                        "type": "azurerm",
                        "url": "https://management.azure.com/",
                        "authorization": {"parameters": parameters, "scheme": scheme},
                        "isShared": False,
                        "isReady": True,
                        "owner": "Library",
                    }
                ],
            }
        return 404, {"message": f"no such Azure DevOps resource: {path}"}

    def github(self, path: str) -> tuple[int, dict]:
        rest = path.removeprefix("https://api.github.com")
        if rest.endswith("/actions/oidc/customization/sub"):
            # GitHub REST "Get the customization template for an OIDC subject claim for a repository".
            repository = rest.split("/repos/", 1)[1].split("/actions", 1)[0]
            immutable = not (self.unhealthy and repository == UNHEALTHY["repository subject"])
            return 200, {
                "use_default": False,
                "include_claim_keys": ["repo", "context"],
                "use_immutable_subject": immutable,
            }
        parts = rest.strip("/").split("/")
        if parts[0] == "repos" and len(parts) == 3:
            # "Get a repository" (full-repository: visibility, private, owner as simple-user).
            owner, name = parts[1], parts[2]
            return 200, {
                "id": 700000000 + len(name),
                "name": name,
                "full_name": f"{owner}/{name}",
                "private": True,
                "visibility": "private",
                "owner": {"login": owner, "id": 9919, "type": "Organization", "site_admin": False},
                "default_branch": "main",
            }
        if parts[0] == "repos" and parts[3:4] == ["collaborators"]:
            # "Get repository permissions for a user" (repository-collaborator-permission).
            login = parts[4]
            permission = "none" if self.unhealthy and login == UNHEALTHY["user without access"] else "write"
            return 200, {
                "permission": permission,
                "role_name": permission,
                "user": {"login": login, "id": 100000 + len(login), "type": "User", "site_admin": False},
            }
        if parts[0] == "orgs" and len(parts) == 2:
            # "Get an organization", as an owner sees it (organization-full: plan).
            plan = UNHEALTHY["github plan"] if self.unhealthy else HEALTHY_PLAN
            return 200, {
                "login": parts[1],
                "id": 9919,
                "type": "Organization",
                "plan": {
                    "name": plan,
                    "space": 976562499,
                    "private_repos": 999999,
                    "filled_seats": 42,
                    "seats": 50,
                },
            }
        if parts[0] == "orgs" and parts[2] == "teams" and len(parts) == 4:
            # "Get a team by name" (team-full).
            return 200, {
                "id": 5000000 + len(parts[3]),
                "name": parts[3],
                "slug": parts[3],
                "privacy": "closed",
                "permission": "pull",
                "organization": {"login": parts[1]},
            }
        if parts[0] == "orgs" and parts[2] == "teams" and parts[4:5] == ["repos"]:
            # "Check team permissions for a repository": 204 without the repository media type, 404 if none.
            slug, repository = parts[3], "/".join(parts[5:7])
            if self.unhealthy and (slug, repository) == UNHEALTHY["team without access"]:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            return 204, {}
        if parts[0] == "users" and len(parts) == 2:
            # "Get a user" (public-user).
            if self.unhealthy and parts[1] == UNHEALTHY["no such user"]:
                return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
            return 200, {"login": parts[1], "id": 100000 + len(parts[1]), "type": "User", "site_admin": False}
        return 404, {"message": "Not Found"}


def vm_sizes() -> dict:
    """VirtualMachineSizes_List (machine learning services 2024-04-01, VirtualMachineSize/list.json)."""
    return {
        "value": [
            {
                "name": name,
                "family": "standardDSv2Family",
                "vCPUs": vcpus,
                "gpus": 0,
                "osVhdSizeMB": 1047552,
                "maxResourceVolumeMB": disk,
                "memoryGB": memory,
                "lowPriorityCapable": True,
                "premiumIO": True,
                "supportedComputeTypes": ["AmlCompute", "ComputeInstance"],
            }
            for name, vcpus, disk, memory in (
                ("Standard_DS2_v2", 2, 14336, 7.0),
                ("Standard_DS3_v2", 4, 28672, 14.0),
                ("Standard_DS4_v2", 8, 57344, 28.0),
            )
        ]
    }


def usages(subscription: str, unhealthy: bool) -> dict:
    """Usages_List (machine learning services 2024-04-01, Usage/list.json)."""
    used = 20 if unhealthy and subscription == UNHEALTHY["quota used"] else 2
    base = f"/subscriptions/{subscription}/usages"
    return {
        "value": [
            {
                "id": base,
                "type": "Microsoft.MachineLearningServices/dedicatedCores/usages",
                "currentValue": used,
                "limit": 100,
                "name": {
                    "localizedValue": "Total Cluster Dedicated Regional vCPUs",
                    "value": "Total Cluster Dedicated Regional vCPUs",
                },
                "unit": "Count",
            },
            {
                "id": f"{base}/Standard_DSv2_Family_Cluster_Dedicated_vCPUs",
                "type": "Microsoft.MachineLearningServices/vmFamily/usages",
                "currentValue": used,
                "limit": 24,
                "name": {
                    "localizedValue": "Standard DSv2 Family Cluster Dedicated vCPUs",
                    "value": "Standard DSv2 Family Cluster Dedicated vCPUs",
                },
                "unit": "Count",
            },
            {
                "id": f"{base}/Standard_DSv2_Family_Cluster_LowPriority_vCPUs",
                "type": "Microsoft.MachineLearningServices/vmFamily/usages",
                "currentValue": 0,
                "limit": -1,
                "name": {
                    "localizedValue": "Standard DSv2 Family Cluster LowPriority vCPUs",
                    "value": "Standard DSv2 Family Cluster LowPriority vCPUs",
                },
                "unit": "Count",
            },
        ]
    }


def blob_service(resource: str, versioning: bool) -> dict:
    """BlobServices_GetServiceProperties (storage 2023-05-01, BlobServicesGet.json)."""
    return {
        "id": resource,
        "name": "default",
        "type": "Microsoft.Storage/storageAccounts/blobServices",
        "properties": {
            "deleteRetentionPolicy": {"enabled": True, "days": 30},
            "containerDeleteRetentionPolicy": {"enabled": True, "days": 30},
            "isVersioningEnabled": versioning,
        },
        "sku": {"name": "Standard_ZRS", "tier": "Standard"},
    }


def container(resource: str) -> dict:
    """BlobContainers_Get (storage 2023-05-01, BlobContainersGetWithAllowProtectedAppendWritesAll.json)."""
    return {
        "id": resource,
        "name": resource.rsplit("/", 1)[-1],
        "type": "Microsoft.Storage/storageAccounts/blobServices/containers",
        "etag": '"0x8DB1D5B5E3E0F2A"',
        "properties": {
            "publicAccess": "None",
            "leaseStatus": "Unlocked",
            "leaseState": "Available",
            "lastModifiedTime": "2026-11-28T08:00:00Z",
            "hasImmutabilityPolicy": False,
            "hasLegalHold": False,
        },
    }


def key(resource: str) -> dict:
    """Keys_Get (key vault 2023-07-01, getKey.json)."""
    vault = resource.split("/vaults/", 1)[1].split("/", 1)[0]
    name = resource.rsplit("/", 1)[-1]
    return {
        "id": resource,
        "name": name,
        "type": "Microsoft.KeyVault/vaults/keys",
        "location": "westeurope",
        "properties": {
            "attributes": {
                "enabled": True,
                "created": 1764320000,
                "updated": 1764320000,
                "recoveryLevel": "Recoverable",
            },
            "kty": "RSA",
            "keyOps": ["encrypt", "decrypt", "wrapKey", "unwrapKey"],
            "keySize": 2048,
            "keyUri": f"https://{vault}.vault.azure.net:443/keys/{name}",
        },
    }


def main() -> None:
    from planner.doctor import azure, github

    declared = prerequisites.load(ROOT)
    for variant in ("healthy", "unhealthy"):
        (HERE / variant / "bootstrap-outputs.json").write_text(
            json.dumps(OUTPUTS, indent=2) + "\n", encoding="utf-8"
        )
        estate = estate_checks.plan(ROOT, None, HERE / variant / "bootstrap-outputs.json")
        client = Responder(variant, estate, declared)
        kv = ("00000000-0000-0000-0000-000000000008", "westeurope", "kv-mlops-dev-weu")
        azure.all_checks(client, declared, [kv])
        known = {r.subscription for item in declared.items for r in item.resource_providers}
        estate_checks.run(client, estate, declared, known)
        github.all_checks(client, estate_checks.repositories(estate))
        print(f"{variant}: {client.written} new recorded response(s)")


if __name__ == "__main__":
    main()
