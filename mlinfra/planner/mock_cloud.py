"""Mocked cloud answers that look like the real ones: ARM ids under the configured
subscription, the outputs the program reads (`name`, identity principal ids, ...), and
deterministic placeholder ids for lookups.

Every output the program reads must be returned here: an output the mock leaves out
resolves to None, the input that consumed it is dropped, and the recorded dependency
silently disappears.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pulumi

PLACEHOLDER_NAMESPACE = uuid.UUID("5b0a3c2e-7f41-4e0b-9a4d-0c6f1e2d3b4a")
"""uuid5 namespace of every placeholder id the planner invents (principal ids, GUIDs)."""

PLACEHOLDER_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"


def placeholder_guid(*parts: str) -> str:
    """A deterministic GUID standing in for an id only the cloud would know."""
    return str(uuid.uuid5(PLACEHOLDER_NAMESPACE, "/".join(parts)))


@dataclass(frozen=True)
class ArmType:
    name_input: str
    """Input holding the resource's Azure name (its `name` output)."""
    provider_type: str | None
    """`Namespace/type` under the resource group, with `{input}` placeholders for a parent's name
    (child resources); None for the resource group itself."""


ARM_TYPES = {
    "azure-native:resources:ResourceGroup": ArmType("resourceGroupName", None),
    "azure-native:storage:StorageAccount": ArmType("accountName", "Microsoft.Storage/storageAccounts"),
    "azure-native:keyvault:Vault": ArmType("vaultName", "Microsoft.KeyVault/vaults"),
    "azure-native:keyvault:Key": ArmType("keyName", "Microsoft.KeyVault/vaults/{vaultName}/keys"),
    "azure-native:operationalinsights:Workspace": ArmType(
        "workspaceName", "Microsoft.OperationalInsights/workspaces"
    ),
    "azure-native:applicationinsights:Component": ArmType("resourceName", "Microsoft.Insights/components"),
    "azure-native:containerregistry:Registry": ArmType(
        "registryName", "Microsoft.ContainerRegistry/registries"
    ),
    "azure-native:machinelearningservices:Workspace": ArmType(
        "workspaceName", "Microsoft.MachineLearningServices/workspaces"
    ),
    "azure-native:managedidentity:UserAssignedIdentity": ArmType(
        "resourceName", "Microsoft.ManagedIdentity/userAssignedIdentities"
    ),
    "azure-native:authorization:RoleAssignment": ArmType(
        "roleAssignmentName", "Microsoft.Authorization/roleAssignments"
    ),
    "azure-native:managedidentity:FederatedIdentityCredential": ArmType(
        "federatedIdentityCredentialResourceName",
        "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials",
    ),
    "azure-native:network:VirtualNetwork": ArmType("virtualNetworkName", "Microsoft.Network/virtualNetworks"),
    "azure-native:network:PrivateEndpoint": ArmType(
        "privateEndpointName", "Microsoft.Network/privateEndpoints"
    ),
    "azure-native:network:PrivateDnsZoneGroup": ArmType(
        "privateDnsZoneGroupName",
        "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups",
    ),
    "azure-native:privatedns:PrivateZone": ArmType("privateZoneName", "Microsoft.Network/privateDnsZones"),
    "azure-native:privatedns:VirtualNetworkLink": ArmType(
        "virtualNetworkLinkName", "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks"
    ),
    "azure-native:network:NetworkSecurityGroup": ArmType(
        "networkSecurityGroupName", "Microsoft.Network/networkSecurityGroups"
    ),
    "azure-native:network:VirtualNetworkPeering": ArmType(
        "virtualNetworkPeeringName",
        "Microsoft.Network/virtualNetworks/{virtualNetworkName}/virtualNetworkPeerings",
    ),
    "azure-native:resources:Resource": ArmType("resourceName", "{resourceProviderNamespace}/{resourceType}"),
    "azure-native:monitor:PrivateLinkScope": ArmType("scopeName", "microsoft.insights/privateLinkScopes"),
    "azure-native:monitor:PrivateLinkScopedResource": ArmType(
        "name", "microsoft.insights/privateLinkScopes/{scopeName}/scopedResources"
    ),
    "azure-native:machinelearningservices:Registry": ArmType(
        "registryName", "Microsoft.MachineLearningServices/registries"
    ),
    "azure-native:machinelearningservices:Compute": ArmType(
        "computeName", "Microsoft.MachineLearningServices/workspaces/{workspaceName}/computes"
    ),
    "azure-native:machinelearningservices:ManagedNetworkSettingsRule": ArmType(
        "ruleName", "Microsoft.MachineLearningServices/workspaces/{workspaceName}/outboundRules"
    ),
}


# Ids the cloud assigns at creation follow the logical name (and the create-only inputs), never an
# input the provider updates in place: renaming an app's display name keeps its client id.


def _application(name: str, inputs: dict) -> tuple[str, dict]:
    object_id = placeholder_guid("application", name)
    return f"/applications/{object_id}", {
        **inputs,
        "objectId": object_id,
        "clientId": identity_client_id("application", name),
    }


def _service_principal(name: str, inputs: dict) -> tuple[str, dict]:
    object_id = service_principal_object_id(str(inputs.get("clientId")))
    return object_id, {**inputs, "objectId": object_id}


def _application_password(name: str, inputs: dict) -> tuple[str, dict]:
    key_id = placeholder_guid("password", str(inputs.get("applicationId")), name)
    # The SDK marks `value` secret; the planner never prints resource outputs anyway.
    return f"{inputs.get('applicationId')}/password/{key_id}", {
        **inputs,
        "keyId": key_id,
        "value": "placeholder-not-a-secret",
    }


def placeholder_number(*parts: str) -> int:
    """A deterministic 7-9 digit number standing in for a GitHub or Azure DevOps numeric id."""
    return 1_000_000 + int(placeholder_guid(*parts).replace("-", ""), 16) % 900_000_000


def _github_environment(name: str, inputs: dict) -> tuple[str, dict]:
    return f"{inputs.get('repository')}:{inputs.get('environment')}", {
        **inputs,
        "repositoryId": placeholder_number("repo", str(inputs.get("repository"))),
    }


def _ado_environment(name: str, inputs: dict) -> tuple[str, dict]:
    # project_id is ForceNew, the environment's name is not (resource_environment.go).
    return str(placeholder_number("ado-environment", str(inputs.get("projectId")), name)), inputs


def _ado_service_connection(tenant_id: str):
    def answer(name: str, inputs: dict) -> tuple[str, dict]:
        # project_id is ForceNew, service_endpoint_name is not (serviceendpoint/commons.go).
        connection_id = placeholder_guid("ado-connection", str(inputs.get("projectId")), name)
        # The current Azure DevOps format (P16): Entra issuer, opaque subject. Placeholder ids.
        return connection_id, {
            **inputs,
            "workloadIdentityFederationIssuer": f"https://login.microsoftonline.com/{tenant_id}/v2.0",
            "workloadIdentityFederationSubject": f"/eid1/c/pub/t/{placeholder_guid('ado-t', tenant_id)}/a/{placeholder_guid('ado-a')}/sc/{placeholder_guid('ado-org')}/{connection_id}",
            "servicePrincipalId": str(inputs.get("credentials", {}).get("serviceprincipalid", "")),
        }

    return answer


def _generic(kind: str):
    def answer(name: str, inputs: dict) -> tuple[str, dict]:
        return placeholder_guid(kind, name), inputs

    return answer


ENTRA_TYPES = {
    "azuread:index/application:Application": _application,
    "azuread:index/servicePrincipal:ServicePrincipal": _service_principal,
    "azuread:index/applicationPassword:ApplicationPassword": _application_password,
}
"""Entra objects: not ARM resources, ids from Microsoft Graph."""

NON_ARM_TYPES = {
    **ENTRA_TYPES,
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential": _generic(
        "fic"
    ),
    "github:index/repositoryEnvironment:RepositoryEnvironment": _github_environment,
    "azuredevops:index/environment:Environment": _ado_environment,
}
"""Resources of the other providers whose ids or outputs the program reads."""


def registry_regions(regions: list, registry: str, subscription_id: str) -> list:
    """An Azure ML registry's `regionDetails` as the service returns them: each system-created
    storage account and ACR gets the `armResourceId` the service fills in once it has created
    them (azure-rest-api-specs machinelearningservices 2025-12-01 examples/Registries/get.json),
    in the registry's managed resource group `azureml-rg-<registry>_<GUID>` (Microsoft Learn,
    machine-learning/how-to-registry-network-isolation)."""
    group = f"azureml-rg-{registry}_{placeholder_guid('registry-group', subscription_id, registry)}"
    base = f"/subscriptions/{subscription_id}/resourceGroups/{group}/providers"
    answered = []
    for region in regions:
        region = dict(region)
        location = str(region.get("location", ""))
        suffix = placeholder_guid("registry-region", registry, location).replace("-", "")[:10]
        storage_name = f"st{''.join(c for c in registry if c.isalnum())[:12]}{suffix}"[:24]
        acr_name = f"cr{''.join(c for c in registry if c.isalnum())[:12]}{suffix}"[:50]
        answered.append(
            {
                **region,
                "storageAccountDetails": [
                    {
                        "systemCreatedStorageAccount": {
                            **dict(entry.get("systemCreatedStorageAccount") or {}),
                            "storageAccountName": storage_name,
                            "armResourceId": {
                                "resourceId": f"{base}/Microsoft.Storage/storageAccounts/{storage_name}"
                            },
                        }
                    }
                    for entry in region.get("storageAccountDetails") or []
                ],
                "acrDetails": [
                    {
                        "systemCreatedAcrAccount": {
                            **dict(entry.get("systemCreatedAcrAccount") or {}),
                            "acrAccountName": acr_name,
                            "armResourceId": {
                                "resourceId": f"{base}/Microsoft.ContainerRegistry/registries/{acr_name}"
                            },
                        }
                    }
                    for entry in region.get("acrDetails") or []
                ],
            }
        )
    return answered


def physical_name(type_: str, inputs: dict) -> str | None:
    """The Azure name a resource would get, from its inputs."""
    arm = ARM_TYPES.get(type_)
    if arm:
        return inputs.get(arm.name_input)
    for key in ("name", "displayName"):
        if isinstance(inputs.get(key), str):
            return inputs[key]
    return None


EXTENSION_TYPES = {
    "azure-native:monitor:DiagnosticSetting": (
        "resourceUri",
        "Microsoft.Insights/diagnosticSettings",
        "name",
    ),
    "azure-native:authorization:ManagementLockByScope": (
        "scope",
        "Microsoft.Authorization/locks",
        "lockName",
    ),
}
"""Extension resources (ARM ids under the resource they extend): type -> (input holding that
resource's id, `Namespace/type`, input holding the name)."""


def arm_resource_id(type_: str, inputs: dict, subscription_id: str, logical_name: str) -> str | None:
    """The ARM id the planner gives a resource of `type_` (None for a type it has no id rule for)."""
    if type_ in EXTENSION_TYPES:
        scope_input, provider_type, name_input = EXTENSION_TYPES[type_]
        scope = str(inputs.get(scope_input) or "").rstrip("/")
        name = inputs.get(name_input) or logical_name
        return f"{scope}/providers/{provider_type}/{name}" if scope.startswith("/subscriptions/") else None
    arm = ARM_TYPES.get(type_)
    if not arm:
        return None
    name = inputs.get(arm.name_input) or logical_name
    group_id = f"/subscriptions/{subscription_id}/resourceGroups/{inputs.get('resourceGroupName', name)}"
    provider_type = arm.provider_type.format_map(_Missing(inputs)) if arm.provider_type else None
    return group_id if provider_type is None else f"{group_id}/providers/{provider_type}/{name}"


def system_principal_id(arm_id: str) -> str:
    """The principal id the planner gives a resource's system-assigned identity (or a user-assigned identity)."""
    return placeholder_guid("principal", arm_id)


def identity_client_id(type_: str, arm_id_or_name: str) -> str:
    """The client id of a user-assigned identity (by ARM id) or an Entra application (by logical name)."""
    return placeholder_guid("client", arm_id_or_name)


def service_principal_object_id(client_id: str) -> str:
    return placeholder_guid("service-principal", client_id)


STACK_REFERENCE = "pulumi:pulumi:StackReference"


class _Missing(dict):
    """format_map source that leaves an absent parent name visible instead of failing."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def github_rest_answer(endpoint: str) -> dict:
    """`get_rest_api` of `repos/<owner>/<name>` as GitHub answers for a new organization repository
    (GitHub REST "Get a repository": `id`, `full_name`, `owner.login/id/type`, `visibility`), with
    the same ids `getUser` and `getRepository` answer; any other endpoint is a 404."""
    parts = endpoint.strip("/").split("/")
    if len(parts) != 3 or parts[0] != "repos":
        return {"code": 404, "status": "404 Not Found", "body": '{"message": "Not Found"}', "headers": "{}"}
    owner, name = parts[1], parts[2]
    body = {
        "id": placeholder_number("github-repo", f"{owner}/{name}"),
        "full_name": f"{owner}/{name}",
        "name": name,
        "owner": {"login": owner, "id": placeholder_number("github-user", owner), "type": "Organization"},
        "visibility": "private",
        "private": True,
    }
    return {
        "id": "placeholder-request-id",
        "endpoint": endpoint,
        "code": 200,
        "status": "200 OK",
        "headers": "{}",
        "body": json.dumps(body),
    }


class ArmMocks(pulumi.runtime.Mocks):
    """Answers registrations and invokes as Azure would, under the stack's subscription and tenant."""

    def __init__(self, config: dict[str, str], references: Callable[[str], dict] | None = None):
        self.references = references
        """Stack reference name -> that stack's outputs (`mlinfra.planner.stack_references`); None: refuse."""
        self.reference_errors: list[Exception] = []
        """Stack references that could not be answered; `record` reports them after the run."""
        self.subscription_id = config.get("azure-native:subscriptionId") or PLACEHOLDER_SUBSCRIPTION
        self.tenant_id = config.get("azure-native:tenantId") or PLACEHOLDER_SUBSCRIPTION
        self.location = config.get("azure-native:location", "westeurope")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = dict(args.inputs)
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(str(args.resource_id or inputs.get("name")))
        if args.typ == "azure-native:authorization:RoleAssignment":
            name = inputs.get("roleAssignmentName", args.name)
            return f"{inputs.get('scope', '')}/providers/Microsoft.Authorization/roleAssignments/{name}", {
                **inputs,
                "name": name,
            }
        if args.typ == "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM":
            return _ado_service_connection(self.tenant_id)(args.name, inputs)
        if args.typ in NON_ARM_TYPES:
            return NON_ARM_TYPES[args.typ](args.name, inputs)
        if args.typ in EXTENSION_TYPES:
            extension_id = arm_resource_id(args.typ, inputs, self.subscription_id, args.name)
            return extension_id or f"{args.name}-id", inputs
        arm = ARM_TYPES.get(args.typ)
        if not arm:
            return f"{args.name}-id", inputs
        name = inputs.get(arm.name_input) or args.name
        arm_id = arm_resource_id(args.typ, inputs, self.subscription_id, args.name)
        assert arm_id is not None
        outputs = {**inputs, "name": name, "location": inputs.get("location", self.location)}
        if isinstance(inputs.get("identity"), dict):
            outputs["identity"] = self._identity(inputs["identity"], arm_id)
        outputs.update(self._type_specific(args.typ, name, arm_id))
        if args.typ == "azure-native:machinelearningservices:Registry":
            outputs["regionDetails"] = registry_regions(
                inputs.get("regionDetails") or [], str(name), self.subscription_id
            )
        return arm_id, outputs

    def _identity(self, identity: dict, arm_id: str) -> dict:
        """A resource's managed identities as ARM returns them: the system-assigned one's principal,
        and the user-assigned ones as a map by id (azure-native takes a list of ids for AML and
        storage, and the response is the map: `UserAssignedIdentityResponse` per id)."""
        answer = dict(identity)
        if "SystemAssigned" in str(identity.get("type")):
            answer.update(principalId=system_principal_id(arm_id), tenantId=self.tenant_id)
        assigned = identity.get("userAssignedIdentities")
        if isinstance(assigned, list):
            answer["userAssignedIdentities"] = {
                str(id_): {
                    "clientId": identity_client_id("user-assigned", str(id_)),
                    "principalId": system_principal_id(str(id_)),
                }
                for id_ in assigned
            }
        return answer

    def _stack_reference(self, name: str) -> tuple[str, dict]:
        """A StackReference is read with the referenced stack's name as its id; its state carries
        that stack's outputs."""
        outputs: dict = {}
        try:
            if self.references is None:
                raise NotImplementedError(f"the offline planner cannot answer stack reference {name!r}")
            outputs = self.references(name)
        except Exception as error:  # reported by `record` once the run ends, whatever the SDK makes of it
            self.reference_errors.append(error)
        return name, {"name": name, "outputs": outputs, "secretOutputNames": []}

    def _type_specific(self, type_: str, name: str, arm_id: str) -> dict:
        if type_ == "azure-native:containerregistry:Registry":
            return {"loginServer": f"{name}.azurecr.io"}
        if type_ == "azure-native:keyvault:Vault":
            return {"properties": {"vaultUri": f"https://{name}.vault.azure.net/"}}
        if type_ == "azure-native:keyvault:Key":
            # .../vaults/<vault>/keys/<key>: Key Vault's key identifiers, versionless and versioned.
            vault = arm_id.split("/vaults/", 1)[1].split("/", 1)[0]
            uri = f"https://{vault}.vault.azure.net/keys/{name}"
            return {
                "keyUri": uri,
                "keyUriWithVersion": f"{uri}/{placeholder_guid('key-version', arm_id).replace('-', '')}",
            }
        if type_ == "azure-native:operationalinsights:Workspace":
            return {"customerId": placeholder_guid("customer", arm_id)}
        if type_ == "azure-native:machinelearningservices:Workspace":
            return {"workspaceId": placeholder_guid("workspace", arm_id)}
        if type_ == "azure-native:managedidentity:UserAssignedIdentity":
            return {
                "clientId": identity_client_id("user-assigned", arm_id),
                "principalId": system_principal_id(arm_id),
                "tenantId": self.tenant_id,
            }
        return {}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        return self._lookup(args), []  # no check failures: a lookup the mock cannot answer raises

    def _lookup(self, args: pulumi.runtime.MockCallArgs) -> dict:
        if args.token in (
            "azure-native:authorization:getClientConfig",
            "azuread:index/getClientConfig:getClientConfig",
        ):
            return {
                "clientId": placeholder_guid("planner-client"),
                "objectId": placeholder_guid("planner-object"),
                "subscriptionId": self.subscription_id,
                "tenantId": self.tenant_id,
            }
        if args.token == "github:index/getUser:getUser":
            login = str(args.args.get("username"))
            return {
                "id": str(placeholder_number("github-user", login)),
                "login": login,
                "nodeId": f"U_placeholder_{login}",
            }
        if args.token == "github:index/getRepository:getRepository":
            full_name = args.args.get("fullName") or args.args.get("name")
            repo_id = placeholder_number("github-repo", str(full_name))
            return {
                "id": str(full_name).split("/")[-1],
                "fullName": full_name,
                "name": str(full_name).split("/")[-1],
                "repoId": repo_id,
                "nodeId": f"R_placeholder_{repo_id}",
            }
        if args.token == "github:index/getRestApi:getRestApi":
            return github_rest_answer(str(args.args.get("endpoint")))
        if args.token == "github:index/getTeam:getTeam":
            slug = str(args.args.get("slug"))
            return {
                "id": str(placeholder_number("github-team", slug)),
                "slug": slug,
                "name": slug,
                "nodeId": f"T_placeholder_{slug}",
            }
        if args.token == "azuread:index/getServicePrincipal:getServicePrincipal":
            # Read-only lookup by appId (bootstrap's Microsoft Graph principal): the object id as
            # the ServicePrincipal resource would answer it.
            client_id = str(args.args.get("clientId"))
            object_id = service_principal_object_id(client_id)
            return {"id": object_id, "objectId": object_id, "clientId": client_id}
        if args.token == "azuredevops:index/getProject:getProject":
            project = str(args.args.get("name"))
            project_id = placeholder_guid("ado-project", project)
            return {"id": project_id, "projectId": project_id, "name": project}
        if args.token == "azuredevops:index/getAgentQueue:getAgentQueue":
            pool = str(args.args.get("name"))
            queue = placeholder_number("ado-queue", str(args.args.get("projectId")), pool)
            return {
                "id": str(queue),
                "name": pool,
                "projectId": args.args.get("projectId"),
                "agentPoolId": queue,
            }
        if args.token == "azuredevops:index/getGroup:getGroup":
            group = str(args.args.get("name"))
            return {
                "id": placeholder_guid("ado-group", group),
                "name": group,
                "originId": placeholder_guid("ado-group-origin", str(args.args.get("projectId")), group),
                "descriptor": f"vssgp.placeholder-{placeholder_guid('ado-group', group)}",
            }
        raise NotImplementedError(f"the offline planner has no mocked answer for invoke {args.token}")
