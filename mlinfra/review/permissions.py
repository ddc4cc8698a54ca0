"""What the infra deployer and the preview identity need for one stack, derived from its plan.

Each requirement names the identity, the system (Azure, Entra ID, GitHub, Azure DevOps), the
scope, the role or permission, and why (which planned resources need it). Sources:
- Azure: Contributor creates what the plan creates, including the resource group itself, so it
  is held on the subscription; Role Based Access Control Administrator with the ABAC condition of
  `bootstrap/abac.py` (Microsoft Learn, "Delegate Azure role assignment management to others with
  conditions") for the planned role assignments; subnets/join/action and privateDnsZones/join/action
  on a subnet or DNS zone the plan uses but does not create (Microsoft Learn, "Azure RBAC
  permissions for Azure Private Link"), wherever it lives; private endpoint connections of
  managed-network workspaces (Microsoft Learn, "Managed virtual network isolation": the deploying
  identity needs Microsoft.MachineLearningServices/workspaces/privateEndpointConnections/read and write).
- Entra ID: Microsoft Graph Application.ReadWrite.OwnedBy to create and own app registrations.
- GitHub: the fine-grained permissions the REST endpoints behind each planned github resource
  require (GitHub Docs, "Permissions required for fine-grained personal access tokens" /
  "GitHub App installation permissions").
- State: the DIY backend's `Preview` takes no lock (pulumi/pulumi pkg/backend/diy/backend.go), so
  the preview identity only reads blobs; both decrypt with the secrets key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from mlinfra.facts.grant_description import parse_description
from mlinfra.facts.roles import role_from_definition_id
from mlinfra.planner.recorder import Plan

LOCK = "azure-native:authorization:ManagementLockByScope"
"""Management locks (mlinfra/stage/locks.py): Contributor's notActions exclude Microsoft.Authorization/*/Write
and */Delete (Microsoft Learn REST, "Management Locks - Create Or Update At Resource Level")."""
DEPLOYER = "deployer"
PREVIEW = "preview"
IDENTITY_LABELS = {
    DEPLOYER: "infra deployer (infra-<stage> environment)",
    PREVIEW: "preview identity (infra-preview environment)",
}

WORKSPACE_PE_ACTIONS = (
    "Microsoft.MachineLearningServices/workspaces/privateEndpointConnections/read",
    "Microsoft.MachineLearningServices/workspaces/privateEndpointConnections/write",
)
SUBNET_JOIN = (
    "Microsoft.Network/virtualNetworks/subnets/read",
    "Microsoft.Network/virtualNetworks/subnets/join/action",
)
ZONE_JOIN = ("Microsoft.Network/privateDnsZones/read", "Microsoft.Network/privateDnsZones/join/action")

STATE_SCOPE = "state container (PULUMI_BACKEND_URL)"
KEY_SCOPE = "secrets key (PULUMI_SECRETS_PROVIDER)"

GITHUB_WRITE = {
    # GitHub REST "Set the customization template for an OIDC subject claim for a repository"
    # (docs.github.com/rest/actions/oidc): repository permission "Actions" (review-3 R1).
    "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:ActionsRepositoryOidcSubjectClaimCustomizationTemplate": (
        "Actions",
        "the OIDC subject-claim template",
    ),
    "github:index/repositoryEnvironment:RepositoryEnvironment": ("Administration", "the environment"),
    "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy": (
        "Administration",
        "its deployment branch policies",
    ),
    "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret": ("Environments", "environment secrets"),
    "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable": (
        "Environments",
        "environment variables",
    ),
}
ADO_REQUIREMENTS = {
    "azuredevops:index/environment:Environment": "Environments: Creator (project), Administrator of the environment",
    "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM": "Service connections: Creator (project)",
    "azuredevops:index/checkApproval:CheckApproval": "Environments: Administrator (to add approval checks)",
    "azuredevops:index/checkExclusiveLock:CheckExclusiveLock": "Environments: Administrator (to add checks)",
    "azuredevops:index/checkBranchControl:CheckBranchControl": "Environments: Administrator (to add checks)",
    "azuredevops:index/pipelineAuthorization:PipelineAuthorization": "Service connections / Environments: Administrator (pipeline permissions)",
}


@dataclass(frozen=True)
class Requirement:
    identity: str
    system: str
    scope: str
    permission: str
    why: str


def _arm_id(subscription: str, inputs: dict, provider_type: str, name_key: str) -> str:
    return (
        f"/subscriptions/{subscription}/resourceGroups/{inputs.get('resourceGroupName')}"
        f"/providers/{provider_type}/{inputs.get(name_key)}"
    )


def _subscription(arm_id: str) -> str:
    return arm_id.split("/")[2] if arm_id.lower().startswith("/subscriptions/") else ""


def requirements(plan: Plan, subscription_id: str) -> list[Requirement]:
    subscription = f"/subscriptions/{subscription_id}"
    found: list[Requirement] = []
    azure = [r for r in plan.resources if r.custom and r.type.startswith("azure-native:")]
    counts = Counter(
        r.type.removeprefix("azure-native:")
        for r in azure
        if r.type
        not in ("azure-native:authorization:RoleAssignment", "azure-native:resources:ResourceGroup", LOCK)
    )
    groups = sorted(
        {
            str(name)
            for r in plan.of_type("azure-native:resources:ResourceGroup")
            if (name := r.inputs.get("resourceGroupName"))
        }
    )

    # --- deployer: Azure ----------------------------------------------------------------------
    if counts:
        what = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
        found.append(
            Requirement(
                DEPLOYER,
                "Azure",
                subscription,
                "Contributor",
                f"creates resource group {', '.join(groups)} and in it: {what}"
                if groups
                else f"creates {what}",
            )
        )
    every_assignment = plan.of_type("azure-native:authorization:RoleAssignment")
    # Assignments on the shared registry (docs/model-promotion.md, "Model promotion") need rights on the registry only:
    # a stage's are in the shared stack's subscription, the shared stack's own groups' in its own (RB-11).
    remote = [
        a
        for a in every_assignment
        if not str(a.inputs.get("scope", "")).startswith(f"/subscriptions/{subscription_id}")
        or (parse_description(a.inputs.get("description")) or {}).get("scope_kind") == "registry"
    ]
    assignments = [a for a in every_assignment if a not in remote]
    registries = plan.of_type("azure-native:machinelearningservices:Registry")
    for scope in sorted({str(a.inputs.get("scope")) for a in remote}):
        here = [a for a in remote if a.inputs.get("scope") == scope]
        roles = sorted(
            {(role_from_definition_id(a.inputs["roleDefinitionId"]) or _Unknown(a)).name for a in here}
        )
        # A registry this stack creates has no scope to grant on before the first run: its group has.
        own = any(str(r.inputs.get("registryName")) == scope.rsplit("/", 1)[-1] for r in registries)
        found.append(
            Requirement(
                DEPLOYER,
                "Azure",
                scope.split("/providers/", 1)[0] if own else scope,
                f"Role Based Access Control Administrator, conditioned (ABAC) to {', '.join(roles)}",
                f"{len(here)} role assignments on the registry this stack creates"
                if own
                else f"{len(here)} role assignments on the shared registry",
            )
        )
    for definition in plan.of_type("azure-native:authorization:RoleDefinition"):
        found.append(
            Requirement(
                DEPLOYER,
                "Azure",
                str(definition.inputs.get("scope")),
                "a custom role with Microsoft.Authorization/roleDefinitions/write and /delete (granted by hand once)",
                f"creates the custom role {definition.inputs.get('roleName')}",
            )
        )
    locks = plan.of_type(LOCK)
    for group in sorted({str(lock.inputs.get("scope", "")).split("/providers/", 1)[0] for lock in locks}):
        here = [lock for lock in locks if str(lock.inputs.get("scope", "")).startswith(group + "/")]
        found.append(
            Requirement(
                DEPLOYER,
                "Azure",
                group,
                "a custom role with Microsoft.Authorization/locks/read, /write and /delete (Contributor excludes them)",
                f"{len(here)} CanNotDelete management locks, removed again for a planned teardown (the only "
                "built-in roles with these actions grant far more)",
            )
        )
    if assignments:
        roles = sorted(
            {(role_from_definition_id(a.inputs["roleDefinitionId"]) or _Unknown(a)).name for a in assignments}
        )
        types = sorted({a.inputs.get("principalType", "?") for a in assignments})
        found.append(
            Requirement(
                DEPLOYER,
                "Azure",
                subscription,
                "Role Based Access Control Administrator, conditioned (ABAC) to the catalog roles and to Group/ServicePrincipal",
                f"{len(assignments)} role assignments: {', '.join(roles)} to {', '.join(types)}",
            )
        )
    for workspace in plan.of_type("azure-native:machinelearningservices:Workspace"):
        isolation = (workspace.inputs.get("managedNetwork") or {}).get("isolationMode", "Disabled")
        if isolation != "Disabled":
            found.append(
                Requirement(
                    DEPLOYER,
                    "Azure",
                    _arm_id(
                        subscription_id,
                        workspace.inputs,
                        "Microsoft.MachineLearningServices/workspaces",
                        "workspaceName",
                    ),
                    ", ".join(WORKSPACE_PE_ACTIONS) + " (in Contributor)",
                    f"managed network {isolation}: the workspace's outbound private endpoints",
                )
            )
    # Subnets are declared inline in the networks the stage creates.
    created_networks = {
        r.inputs.get("virtualNetworkName") for r in plan.of_type("azure-native:network:VirtualNetwork")
    }
    subnets = sorted(
        {
            (pe.inputs.get("subnet") or {}).get("id", "")
            for pe in plan.of_type("azure-native:network:PrivateEndpoint")
            if (pe.inputs.get("subnet") or {}).get("id", "").startswith("/subscriptions/")
        }
    )
    for subnet in subnets:
        if subnet.split("/")[-3] in created_networks and _subscription(subnet) == subscription_id:
            continue  # a subnet of the stage's own network: Contributor covers it
        found.append(
            Requirement(
                DEPLOYER,
                "Azure",
                subnet,
                ", ".join(SUBNET_JOIN),
                "private endpoints in this existing subnet"
                + ("" if _subscription(subnet) == subscription_id else " (another subscription)"),
            )
        )
    created_zones = {
        r.inputs.get("privateZoneName") for r in plan.of_type("azure-native:privatedns:PrivateZone")
    }
    zones = sorted(
        {
            config.get("privateDnsZoneId", "")
            for group in plan.of_type("azure-native:network:PrivateDnsZoneGroup")
            for config in group.inputs.get("privateDnsZoneConfigs") or []
            if str(config.get("privateDnsZoneId", "")).startswith("/subscriptions/")
        }
    )
    for zone in zones:
        if zone.rsplit("/", 1)[-1] in created_zones and _subscription(zone) == subscription_id:
            continue
        found.append(
            Requirement(
                DEPLOYER,
                "Azure",
                zone,
                ", ".join(ZONE_JOIN),
                "DNS zone groups register the private endpoints here"
                + ("" if _subscription(zone) == subscription_id else " (another subscription)"),
            )
        )
    found.append(
        Requirement(
            DEPLOYER,
            "Azure",
            STATE_SCOPE,
            "Storage Blob Data Contributor",
            "read and write the stack's checkpoint and its lock",
        )
    )
    found.append(
        Requirement(
            DEPLOYER, "Azure", KEY_SCOPE, "Key Vault Crypto User", "encrypt and decrypt the stack's secrets"
        )
    )

    # --- deployer: Entra ID ---------------------------------------------------------------------
    applications = plan.of_type("azuread:index/application:Application")
    if applications:
        names = ", ".join(sorted(a.inputs.get("displayName", a.name) for a in applications))
        found.append(
            Requirement(
                DEPLOYER,
                "Entra ID",
                "Microsoft Graph",
                "Application.ReadWrite.OwnedBy (application permission)",
                f"creates and owns app registration {names}, its service principal and federated credentials",
            )
        )

    # --- deployer: GitHub / Azure DevOps ---------------------------------------------------------
    github = [r for r in plan.resources if r.type.startswith("github:index/")]
    repositories = sorted({str(repo) for r in github if (repo := r.inputs.get("repository"))})
    github_owners = sorted(
        {str(owner) for p in plan.of_type("pulumi:providers:github") if (owner := p.inputs.get("owner"))}
    )
    owner = f"{github_owners[0]}/" if len(github_owners) == 1 else ""
    teams = [lookup for lookup in plan.lookups if lookup["token"] == "github:index/getTeam:getTeam"]
    for repository in repositories:
        in_repo = [r for r in github if r.inputs.get("repository") == repository]
        needs: dict[str, list[str]] = {}
        for resource in in_repo:
            if resource.type in GITHUB_WRITE:
                permission, why = GITHUB_WRITE[resource.type]
                needs.setdefault(permission, [])
                if why not in needs[permission]:
                    needs[permission].append(why)
        for permission, whys in sorted(needs.items()):
            scope = f"repository {owner}{repository}"
            found.append(
                Requirement(DEPLOYER, "GitHub", scope, f"{permission}: write", "writes " + ", ".join(whys))
            )
            found.append(
                Requirement(
                    PREVIEW, "GitHub", scope, f"{permission}: read", "refresh reads " + ", ".join(whys)
                )
            )
        for identity in (DEPLOYER, PREVIEW):
            found.append(
                Requirement(
                    identity,
                    "GitHub",
                    f"repository {owner}{repository}",
                    "Metadata: read",
                    "every repository endpoint",
                )
            )
    if teams:
        slugs = ", ".join(sorted(lookup["args"].get("slug") for lookup in teams))
        for identity in (DEPLOYER, PREVIEW):
            found.append(
                Requirement(
                    identity, "GitHub", "organization", "Members: read", f"looks up reviewer teams {slugs}"
                )
            )
    ado = Counter(r.type for r in plan.resources if r.type.startswith("azuredevops:index/"))
    for kind in sorted(ado):
        if kind in ADO_REQUIREMENTS:
            found.append(
                Requirement(
                    DEPLOYER,
                    "Azure DevOps",
                    "project",
                    ADO_REQUIREMENTS[kind],
                    f"{ado[kind]} {kind.rsplit(':', 1)[-1]}",
                )
            )
    if ado:
        found.append(
            Requirement(
                PREVIEW,
                "Azure DevOps",
                "project",
                "Reader (project)",
                "refresh reads environments and service connections",
            )
        )

    # --- preview identity -------------------------------------------------------------------------
    if azure:
        found.append(
            Requirement(
                PREVIEW, "Azure", subscription, "Reader", "refresh reads every planned Azure resource"
            )
        )
    found.append(
        Requirement(
            PREVIEW,
            "Azure",
            STATE_SCOPE,
            "Storage Blob Data Reader",
            "reads the checkpoint; preview takes no lock",
        )
    )
    found.append(
        Requirement(PREVIEW, "Azure", KEY_SCOPE, "Key Vault Crypto User", "decrypts the stack's secrets")
    )
    if applications:
        found.append(
            Requirement(
                PREVIEW,
                "Entra ID",
                "Microsoft Graph",
                "Application.Read.All (application permission)",
                "refresh reads the app registrations",
            )
        )
    order = {DEPLOYER: 0, PREVIEW: 1}
    systems = {"Azure": 0, "Entra ID": 1, "GitHub": 2, "Azure DevOps": 3}
    return sorted(found, key=lambda r: (order[r.identity], systems[r.system]))


class _Unknown:
    """A role outside the catalog (the shared registry's custom reader): named by its description."""

    def __init__(self, assignment):
        about = parse_description(assignment.inputs.get("description")) or {}
        self.name = about.get("role") or assignment.inputs["roleDefinitionId"].rsplit("/", 1)[-1]


def to_text(stack: str, found: list[Requirement]) -> str:
    lines = []
    for identity in (DEPLOYER, PREVIEW):
        lines.append(f"{IDENTITY_LABELS[identity].replace('<stage>', stack)}:")
        system = None
        for item in (r for r in found if r.identity == identity):
            if item.system != system:
                system = item.system
                lines.append(f"  {system}")
            lines.append(f"    {item.scope}")
            lines.append(f"      {item.permission}")
            lines.append(f"      why: {item.why}")
        lines.append("")
    return "\n".join(lines)


def to_markdown(stack: str, found: list[Requirement]) -> str:
    lines = ["| Identity | System | Scope | Role / permission | Why |", "|---|---|---|---|---|"]
    for item in found:
        identity = "deployer" if item.identity == DEPLOYER else "preview"
        lines.append(
            f"| {identity} | {item.system} | `{item.scope}` | {item.permission} | {item.why.replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"
