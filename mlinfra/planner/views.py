"""Derived views of a plan, next to the raw `resources`: what a reviewer reads first."""

import re
from typing import Any

from mlinfra.config.rules.workspace_sharing import SCOPE_OUTPUTS, SHARED_RECORD
from mlinfra.facts.grant_description import parse_description
from mlinfra.facts.roles import role_from_definition_id
from mlinfra.planner.recorder import Plan

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
SCOPE_ORDER = ("resourceGroup", "workspace", "storageAccount", "keyVault", "containerRegistry")


def sharing_view(plan: Plan) -> dict[str, Any] | None:
    """The workspace this stage shares with the stage that owns it (RB-10), or None: the stages on
    it, the owner's stack, and each stage's personas with their roles on it."""
    record = next(iter(plan.of_type(SHARED_RECORD)), None)
    return dict(record.inputs) if record is not None else None


def access_view(plan: Plan) -> list[dict[str, Any]]:
    """Every role assignment as (principal, type, persona or identity, role, role GUID, scope);
    `sharedWith` lists the stages a shared workspace's scope serves (RB-10), else None."""
    sharing = sharing_view(plan)
    entries = []
    for resource in plan.of_type(ROLE_ASSIGNMENT):
        inputs = resource.inputs
        role = role_from_definition_id(inputs.get("roleDefinitionId", ""))
        about = parse_description(inputs.get("description")) or {}
        holder, label = about.get("holder"), about.get("label")
        entries.append(
            {
                "principal": inputs.get("principalId"),
                "principalType": inputs.get("principalType"),
                "persona": label if holder == "persona" else None,
                "identity": label if holder == "identity" else None,
                # A custom role (the shared registry's reader) is outside the catalog: its description names it.
                "role": role.name if role else about.get("role"),
                "roleId": inputs.get("roleDefinitionId", "").rsplit("/", 1)[-1],
                "scope": inputs.get("scope"),
                "scopeKind": about.get("scope_kind"),
                "scopeName": about.get("scope_name"),
                "registryAccess": registry_access(role) if about.get("scope_kind") == "registry" else None,
                "sharedWith": sharing["stages"]
                if sharing
                and about.get("scope_kind") in SCOPE_OUTPUTS
                and about.get("scope_name") == sharing["ownerStack"]
                else None,
                "urn": resource.urn,
            }
        )
    return sorted(entries, key=_access_order)


def registry_access(role) -> str:
    """publish (AzureML Registry User: registries/assets/*) or read (the shared stack's reader role)."""
    return "publish" if role is not None and role.name == "AzureML Registry User" else "read"


def _access_order(entry: dict[str, Any]) -> tuple:
    kind = entry["scopeKind"]
    return (
        entry["persona"] is None,  # personas first, then identities
        entry["persona"] or entry["identity"] or entry["principal"] or "",
        SCOPE_ORDER.index(kind) if kind in SCOPE_ORDER else len(SCOPE_ORDER),
        entry["role"] or entry["roleId"],
    )


def principal_label(entry: dict[str, Any]) -> str:
    if entry["persona"]:
        return f"persona {entry['persona']} ({entry['principalType']})"
    if entry["identity"]:
        return f"identity {entry['identity']} ({entry['principalType']})"
    return f"{entry['principal']} ({entry['principalType']})"


GITHUB_ENVIRONMENT = "mlinfra:components:GitHubEnvironment"
ADO_ENVIRONMENT = "mlinfra:components:AzureDevOpsEnvironment"
FEDERATED_CREDENTIALS = (
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential",
    "azure-native:managedidentity:FederatedIdentityCredential",
)


def _children(plan: Plan, parent_urn: str) -> list:
    return [resource for resource in plan.resources if resource.parent == parent_urn]


def _lookup_names(plan: Plan, token: str, key: str) -> dict[str, str]:
    """Numeric/origin id -> the login, slug or group name the program looked up."""
    return {
        str(call["result"].get(key)): str(
            call["args"].get("username") or call["args"].get("slug") or call["args"].get("name")
        )
        for call in plan.lookups
        if call["token"] == token
    }


def _federation(children: list) -> dict[str, Any] | None:
    for resource in children:
        if resource.type in FEDERATED_CREDENTIALS:
            inputs = resource.inputs
            return {
                "issuer": inputs.get("issuer"),
                "subject": inputs.get("subject"),
                "audiences": inputs.get("audiences"),
            }
    return None


def _subject_repository(subject: str) -> str:
    """`owner/name` of a GitHub subject's leading `repo:` segment (classic, immutable or a custom
    template that starts with `repo`), else empty."""
    match = re.match(r"^repo:([^:]+)", subject)
    return re.sub(r"@\d+", "", match[1]) if match else ""


def environments_view(plan: Plan) -> list[dict[str, Any]]:
    """Every CI environment of the plan: gates, secret names (never values), variables, trust."""
    views = []
    users = _lookup_names(plan, "github:index/getUser:getUser", "id")
    teams = _lookup_names(plan, "github:index/getTeam:getTeam", "id")
    groups = _lookup_names(plan, "azuredevops:index/getGroup:getGroup", "originId")
    for component in plan.of_type(GITHUB_ENVIRONMENT):
        children = _children(plan, component.urn)
        env = next(
            r.inputs for r in children if r.type == "github:index/repositoryEnvironment:RepositoryEnvironment"
        )
        policies = [r.inputs for r in children if r.type.endswith("RepositoryEnvironmentDeploymentPolicy")]
        reviewers = (env.get("reviewers") or [{}])[0]
        branch_policy = env.get("deploymentBranchPolicy")
        federation = _federation(children)
        views.append(
            {
                "platform": "github",
                "name": env.get("environment"),
                # owner/name from the subject's `repo` segment; the immutable format adds @<id> to
                # both (T-34). A custom subject without `repo` names only the repository's name.
                "repository": _subject_repository((federation or {}).get("subject", ""))
                or env.get("repository"),
                "reviewers": {
                    "users": [users.get(str(i), str(i)) for i in reviewers.get("users", [])],
                    "teams": [teams.get(str(i), str(i)) for i in reviewers.get("teams", [])],
                },
                "branchPolicy": "any branch"
                if branch_policy is None
                else (
                    "protected branches"
                    if branch_policy.get("protectedBranches")
                    else {
                        "branches": sorted(p["branchPattern"] for p in policies if p.get("branchPattern")),
                        "tags": sorted(p["tagPattern"] for p in policies if p.get("tagPattern")),
                    }
                ),
                "checks": {
                    "waitTimer": env.get("waitTimer", 0),
                    "preventSelfReview": env.get("preventSelfReview", False),
                    "canAdminsBypass": env.get("canAdminsBypass", True),
                },
                "secrets": sorted(
                    r.inputs["secretName"] for r in children if r.type.endswith("ActionsEnvironmentSecret")
                ),
                "variables": {
                    r.inputs["variableName"]: r.inputs.get("value")
                    for r in children
                    if r.type.endswith("ActionsEnvironmentVariable")
                },
                "federatedCredential": federation,
                "urn": component.urn,
            }
        )
    for component in plan.of_type(ADO_ENVIRONMENT):
        children = _children(plan, component.urn)
        # None for a connection no deployment job uses (bootstrap's preview connection).
        env = next((r for r in children if r.type == "azuredevops:index/environment:Environment"), None)
        connection = next(r for r in children if r.type.endswith("ServiceEndpointAzureRM"))
        variable_group = next(
            (r for r in children if r.type == "azuredevops:index/variableGroup:VariableGroup"), None
        )
        checks = []
        for resource in children:
            kind = {
                "CheckApproval": "approval",
                "CheckBranchControl": "branchControl",
                "CheckExclusiveLock": "exclusiveLock",
            }.get(resource.type.rsplit(":", 1)[-1])
            if kind:
                target = (
                    "environment"
                    if resource.inputs.get("targetResourceType") == "environment"
                    else "serviceConnection"
                )
                check: dict[str, Any] = {"on": target, "type": kind}
                if kind == "approval":
                    check["approvers"] = [
                        groups.get(str(i), str(i)) for i in resource.inputs.get("approvers", [])
                    ]
                    check["minimumApprovers"] = resource.inputs.get("minimumRequiredApprovers")
                    check["requesterCanApprove"] = resource.inputs.get("requesterCanApprove")
                if kind == "branchControl":
                    check["allowedBranches"] = resource.inputs.get("allowedBranches")
                    check["verifyBranchProtection"] = resource.inputs.get("verifyBranchProtection")
                checks.append(check)
        approvals = [c for c in checks if c["type"] == "approval"]
        views.append(
            {
                "platform": "azure-devops",
                # A connection without an environment is named after itself.
                "name": env.inputs.get("name") if env else connection.inputs.get("serviceEndpointName"),
                "serviceConnection": {
                    "name": connection.inputs.get("serviceEndpointName"),
                    "authenticationScheme": connection.inputs.get("serviceEndpointAuthenticationScheme"),
                    # Manual WIF has no resource-group scope: ADO shows the subscription, and the
                    # identity's role assignments bound what the connection can do.
                    "scope": connection.inputs.get("resourceGroup")
                    or f"/subscriptions/{connection.inputs.get('azurermSubscriptionId')}",
                },
                "approvers": approvals[0]["approvers"] if approvals else [],
                "branchPolicy": next(
                    (c["allowedBranches"] for c in checks if c["type"] == "branchControl"), None
                ),
                "checks": sorted(checks, key=lambda c: (c["on"], c["type"])),
                "pipelines": sorted(
                    {r.inputs.get("pipelineId") for r in children if r.type.endswith("PipelineAuthorization")}
                ),
                "secrets": [],
                "variableGroup": variable_group.inputs.get("name") if variable_group else None,
                "variables": {
                    v.get("name"): v.get("value")
                    for v in (variable_group.inputs.get("variables", []) if variable_group else [])
                },
                "federatedCredential": _federation(children),
                "urn": component.urn,
            }
        )
    return views


PUBLIC_ACCESS_KEYS = (
    "publicNetworkAccess",
    "publicNetworkAccessForIngestion",
    "publicNetworkAccessForQuery",
)
"""Inputs that open a data-plane endpoint to the internet (top level or under `properties`)."""
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PEERING = "azure-native:network:VirtualNetworkPeering"
VNET = "azure-native:network:VirtualNetwork"
OUTBOUND_RULE = "azure-native:machinelearningservices:ManagedNetworkSettingsRule"
COMPUTE = "azure-native:machinelearningservices:Compute"
MONITOR_SCOPE = "azure-native:monitor:PrivateLinkScope"
SCOPED_RESOURCE = "azure-native:monitor:PrivateLinkScopedResource"
GENERIC = "azure-native:resources:Resource"


def _public_access(inputs: dict) -> dict[str, str]:
    """Each public-access input the resource sets: key -> Enabled/Disabled."""
    properties = inputs.get("properties")
    nested = properties if isinstance(properties, dict) else {}
    found = {}
    for key in PUBLIC_ACCESS_KEYS:
        value = inputs.get(key, nested.get(key))
        if value is not None:
            found[key] = value
    return found


def _outbound_rule(inputs: dict) -> dict[str, Any]:
    properties = inputs.get("properties") or {}
    destination = properties.get("destination")
    if isinstance(destination, dict):
        target = (
            destination.get("serviceTag")
            or f"{destination.get('serviceResourceId')} [{destination.get('subresourceTarget')}]"
        )
        if destination.get("serviceTag"):
            target += f" {destination.get('protocol')}/{destination.get('portRanges')}"
    else:
        target = destination
    return {"name": inputs.get("ruleName"), "type": properties.get("type"), "destination": target}


def _runner_subnets(plan: Plan) -> list[dict[str, Any]]:
    settings = [r.inputs for r in plan.of_type(GENERIC) if r.inputs.get("resourceType") == "networkSettings"]
    subnets = []
    for vnet in plan.of_type(VNET):
        for subnet in vnet.inputs.get("subnets") or []:
            delegations = [d.get("serviceName") for d in subnet.get("delegations") or []]
            subnets.append(
                {
                    "network": vnet.inputs.get("virtualNetworkName"),
                    "name": subnet.get("name"),
                    "addressPrefix": subnet.get("addressPrefix"),
                    "nsg": bool(subnet.get("networkSecurityGroup")),
                    "delegations": delegations,
                    "githubNetworkSettings": [s.get("resourceName") for s in settings]
                    if "GitHub.Network/networkSettings" in delegations
                    else [],
                }
            )
    return subnets


def network_view(plan: Plan) -> dict[str, Any]:
    """What is reachable from where: public access per data-plane resource, private endpoints
    with their DNS zones, the zones the stage creates, subnets (runner subnet, NSGs), peering,
    managed-network outbound rules, compute node IPs and the monitoring private link scope."""
    from mlinfra.planner.mock_cloud import (
        physical_name,  # the one table of physical-name inputs
    )

    exposure = []
    for resource in plan.resources:
        if not resource.type.startswith("azure-native:"):
            continue
        access = _public_access(resource.inputs)
        if access:
            exposure.append(
                {
                    "resource": physical_name(resource.type, resource.inputs),
                    "type": resource.type,
                    # The most open of the resource's settings: Enabled if any is.
                    "publicNetworkAccess": "Enabled"
                    if any(v in ("Enabled", "enabled") for v in access.values())
                    else "Disabled",
                    "settings": access,
                }
            )
    groups = {r.inputs.get("privateEndpointName"): r.inputs for r in plan.of_type(ZONE_GROUP)}
    endpoints = []
    for resource in plan.of_type(ENDPOINT):
        inputs = resource.inputs
        connection = (inputs.get("privateLinkServiceConnections") or [{}])[0]
        zone_group = groups.get(inputs.get("privateEndpointName"))
        endpoints.append(
            {
                "name": inputs.get("privateEndpointName"),
                "target": connection.get("privateLinkServiceId"),
                "groupId": (connection.get("groupIds") or [None])[0],
                "subnet": (inputs.get("subnet") or {}).get("id"),
                "dnsZones": [
                    config.get("privateDnsZoneId")
                    for config in (zone_group or {}).get("privateDnsZoneConfigs", [])
                ],
            }
        )
    zones = [
        {"name": r.inputs.get("privateZoneName"), "created": True}
        for r in plan.of_type("azure-native:privatedns:PrivateZone")
    ]
    peerings = [
        {
            "name": r.inputs.get("virtualNetworkPeeringName"),
            "from": r.inputs.get("virtualNetworkName"),
            "to": (r.inputs.get("remoteVirtualNetwork") or {}).get("id"),
            "useRemoteGateways": r.inputs.get("useRemoteGateways", False),
        }
        for r in plan.of_type(PEERING)
    ]
    scoped = [r.inputs for r in plan.of_type(SCOPED_RESOURCE)]
    scopes = [
        {
            "name": r.inputs.get("scopeName"),
            "ingestionAccessMode": (r.inputs.get("accessModeSettings") or {}).get("ingestionAccessMode"),
            "queryAccessMode": (r.inputs.get("accessModeSettings") or {}).get("queryAccessMode"),
            "scopedResources": sorted(
                str(s.get("name")) for s in scoped if s.get("scopeName") == r.inputs.get("scopeName")
            ),
        }
        for r in plan.of_type(MONITOR_SCOPE)
    ]
    compute = [
        {
            "name": r.inputs.get("computeName"),
            "nodePublicIp": ((r.inputs.get("properties") or {}).get("properties") or {}).get(
                "enableNodePublicIp"
            ),
        }
        for r in plan.of_type(COMPUTE)
    ]
    workspace = next(iter(plan.of_type("azure-native:machinelearningservices:Workspace")), None)
    managed = (workspace.inputs.get("managedNetwork") or {}) if workspace else {}
    return {
        "public": sorted(
            e["resource"] for e in exposure if e["publicNetworkAccess"] in ("Enabled", "enabled")
        ),
        "exposure": sorted(exposure, key=lambda e: e["resource"] or ""),
        "privateEndpoints": sorted(endpoints, key=lambda e: e["name"] or ""),
        "createdDnsZones": zones,
        "subnets": _runner_subnets(plan),
        "peerings": sorted(peerings, key=lambda p: p["name"] or ""),
        "hubPeeringRequest": plan.outputs.get("hubPeeringRequest"),
        "managedNetwork": {
            "isolationMode": managed.get("isolationMode"),
            "firewallSku": managed.get("firewallSku"),
            "outboundRules": sorted(
                (_outbound_rule(r.inputs) for r in plan.of_type(OUTBOUND_RULE)), key=lambda r: r["name"] or ""
            ),
        },
        "compute": sorted(compute, key=lambda c: c["name"] or ""),
        "monitoringScopes": scopes,
    }
