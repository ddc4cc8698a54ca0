"""What a provider or Azure does with a change to an existing resource's input.

Two tables, each entry citing where the rule comes from:

- `REPLACE_ON`: inputs the provider cannot update in place, so Pulumi replaces the resource
  (Terraform `ForceNew` for the bridged providers; for azure-native, the URL path parameters
  (names), and `forceNewMap` plus `x-ms-mutability: [create, read]` in the API spec:
  pulumi/pulumi-azure-native provider/pkg/gen/properties.go `forceNew`).
- `REFUSED`: changes the provider sends as an ordinary update, which Azure then rejects, so
  `pulumi up` fails half-way. azure-native does not replace for these (pulumi/pulumi-azure-native
  `provider/pkg/gen/replacement.go` has no KeyVault or MachineLearningServices entry, and
  `workspaceRP.json` 2025-12-01 gives `hbiWorkspace` and `managedNetwork.isolationMode` no
  `x-ms-mutability`). Replacing instead would not help: the vault's and workspace's names are
  fixed by config, and a deleted vault keeps its name reserved during soft-delete retention.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ARM_PATH = (
    "pulumi/pulumi-azure-native provider/pkg/provider/diff.go calculateDetailedDiff "
    '("All the parameters that are part of the resource path cause a replacement")'
)
FORCE_NEW_MAP = "pulumi/pulumi-azure-native provider/pkg/gen/replacement.go forceNewMap"
ADO = "microsoft/terraform-provider-azuredevops azuredevops/internal/service"
AZUREAD = "hashicorp/terraform-provider-azuread internal/services/applications"
GITHUB = "integrations/terraform-provider-github github"


@dataclass(frozen=True)
class CreateOnly:
    inputs: tuple[str, ...]
    """Input paths (wire names) whose change replaces the resource."""
    source: str


def _arm(*inputs: str, source: str = ARM_PATH) -> CreateOnly:
    return CreateOnly(("resourceGroupName", *inputs), source)


REPLACE_ON: dict[str, tuple[CreateOnly, ...]] = {
    # --- azure-native: the name and parent names are in the resource id; location is create-only.
    "azure-native:resources:ResourceGroup": (
        CreateOnly(("resourceGroupName",), ARM_PATH),
        CreateOnly(("location",), f"{FORCE_NEW_MAP} Resources.ResourceGroup"),
    ),
    "azure-native:storage:StorageAccount": (
        _arm("accountName"),
        CreateOnly(("location", "isHnsEnabled"), f"{FORCE_NEW_MAP} Storage.StorageAccount"),
    ),
    "azure-native:keyvault:Vault": (_arm("vaultName"),),
    "azure-native:keyvault:Key": (_arm("vaultName", "keyName"),),
    "azure-native:operationalinsights:Workspace": (_arm("workspaceName"),),
    "azure-native:applicationinsights:Component": (_arm("resourceName"),),
    "azure-native:containerregistry:Registry": (_arm("registryName"),),
    "azure-native:machinelearningservices:Workspace": (_arm("workspaceName"),),
    "azure-native:machinelearningservices:Registry": (_arm("registryName"),),
    # `{scope}/providers/Microsoft.Authorization/roleDefinitions/{roleDefinitionId}`: both in the id.
    "azure-native:authorization:RoleDefinition": (CreateOnly(("roleDefinitionId", "scope"), ARM_PATH),),
    "azure-native:managedidentity:UserAssignedIdentity": (_arm("resourceName"),),
    "azure-native:managedidentity:FederatedIdentityCredential": (
        _arm("resourceName", "federatedIdentityCredentialResourceName"),
    ),
    "azure-native:authorization:RoleAssignment": (
        CreateOnly(("roleAssignmentName",), ARM_PATH),
        CreateOnly(("principalId", "scope"), f"{FORCE_NEW_MAP} Authorization.RoleAssignment"),
    ),
    "azure-native:network:VirtualNetwork": (
        _arm("virtualNetworkName"),
        CreateOnly(("location",), f"{FORCE_NEW_MAP} Network.VirtualNetwork"),
    ),
    "azure-native:network:PrivateEndpoint": (
        _arm("privateEndpointName"),
        CreateOnly(("subnet",), f"{FORCE_NEW_MAP} Network.PrivateEndpoint"),
    ),
    "azure-native:network:NetworkSecurityGroup": (_arm("networkSecurityGroupName"),),
    "azure-native:network:VirtualNetworkPeering": (_arm("virtualNetworkName", "virtualNetworkPeeringName"),),
    "azure-native:machinelearningservices:Compute": (_arm("workspaceName", "computeName"),),
    "azure-native:machinelearningservices:ManagedNetworkSettingsRule": (_arm("workspaceName", "ruleName"),),
    "azure-native:monitor:PrivateLinkScope": (_arm("scopeName"),),
    "azure-native:monitor:PrivateLinkScopedResource": (_arm("scopeName", "name"),),
    # Extension resources: the extended resource's id and the name are the path
    # ({resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name},
    # {scope}/providers/Microsoft.Authorization/locks/{lockName}).
    "azure-native:monitor:DiagnosticSetting": (CreateOnly(("resourceUri", "name"), ARM_PATH),),
    "azure-native:authorization:ManagementLockByScope": (CreateOnly(("scope", "lockName"), ARM_PATH),),
    "azure-native:resources:Resource": (
        _arm("resourceProviderNamespace", "parentResourcePath", "resourceType", "resourceName"),
    ),
    "azure-native:network:PrivateDnsZoneGroup": (_arm("privateEndpointName", "privateDnsZoneGroupName"),),
    "azure-native:privatedns:PrivateZone": (_arm("privateZoneName"),),
    "azure-native:privatedns:VirtualNetworkLink": (_arm("privateZoneName", "virtualNetworkLinkName"),),
    # --- azuread (Terraform ForceNew)
    "azuread:index/servicePrincipal:ServicePrincipal": (
        CreateOnly(("clientId",), f"{AZUREAD}/service_principal_resource.go client_id ForceNew"),
    ),
    "azuread:index/applicationFederatedIdentityCredential:ApplicationFederatedIdentityCredential": (
        CreateOnly(
            ("applicationId", "displayName"),
            f"{AZUREAD}/application_federated_identity_credential_resource.go ForceNew",
        ),
    ),
    "azuread:index/applicationPassword:ApplicationPassword": (
        CreateOnly(
            ("applicationId", "displayName", "endDate", "startDate", "rotateWhenChanged"),
            f"{AZUREAD}/application_password_resource.go (every argument ForceNew)",
        ),
    ),
    # --- github (Terraform ForceNew)
    "github:index/repositoryEnvironment:RepositoryEnvironment": (
        CreateOnly(("repository", "environment"), f"{GITHUB}/resource_github_repository_environment.go"),
    ),
    "github:index/actionsEnvironmentSecret:ActionsEnvironmentSecret": (
        CreateOnly(
            ("repository", "environment", "secretName"),
            f"{GITHUB}/resource_github_actions_environment_secret.go (environment, secret_name "
            "ForceNew; repository through CustomizeDiff diffRepository)",
        ),
    ),
    "github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable": (
        CreateOnly(
            ("repository", "environment", "variableName"),
            f"{GITHUB}/resource_github_actions_environment_variable.go (environment, variable_name "
            "ForceNew; repository through CustomizeDiff diffRepository)",
        ),
    ),
    "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy": (
        CreateOnly(
            ("repository", "environment"),
            f"{GITHUB}/resource_github_repository_environment_deployment_policy.go",
        ),
    ),
    # --- azuredevops (Terraform ForceNew)
    "azuredevops:index/environment:Environment": (
        CreateOnly(("projectId",), f"{ADO}/taskagent/resource_environment.go project_id"),
    ),
    "azuredevops:index/variableGroup:VariableGroup": (
        CreateOnly(("projectId",), f"{ADO}/taskagent/resource_variable_group.go project_id"),
    ),
    "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM": (
        CreateOnly(("projectId",), f"{ADO}/serviceendpoint/commons.go baseSchema project_id"),
        CreateOnly(
            ("serviceEndpointAuthenticationScheme", "environment", "resourceGroup", "serverUrl"),
            f"{ADO}/serviceendpoint/resource_serviceendpoint_azurerm.go",
        ),
    ),
    **{
        f"azuredevops:index/{token}": (
            CreateOnly(
                ("projectId", "targetResourceId", "targetResourceType"),
                f"{ADO}/approvalsandchecks/common_check.go",
            ),
        )
        for token in (
            "checkApproval:CheckApproval",
            "checkBranchControl:CheckBranchControl",
            "checkExclusiveLock:CheckExclusiveLock",
        )
    },
    "azuredevops:index/pipelineAuthorization:PipelineAuthorization": (
        CreateOnly(
            ("projectId", "pipelineProjectId", "resourceId", "type", "pipelineId"),
            f"{ADO}/build/resource_pipeline_authorization.go (every argument ForceNew)",
        ),
    ),
}
"""Resource type -> the create-only inputs of that type, with their sources."""

UPDATABLE = frozenset(
    {
        # Every input updates in place (no ForceNew in the provider's schema), or the type holds
        # no state of its own; listed so the coverage test knows they were checked.
        "azuread:index/application:Application",  # application_resource.go: no ForceNew argument
        "pulumi:pulumi:StackReference",  # a read of another stack's outputs; creates nothing
        # integrations/terraform-provider-github github/resource_github_actions_repository_oidc_
        # subject_claim_customization_template.go: repository, use_default, include_claim_keys, none ForceNew
        "github:index/actionsRepositoryOidcSubjectClaimCustomizationTemplate:ActionsRepositoryOidcSubjectClaimCustomizationTemplate",
    }
)


@dataclass(frozen=True)
class Refusal:
    path: str
    """Input path whose change Azure refuses."""
    applies: Callable[[Any, Any], bool]
    """(before, after) -> whether this change is one Azure refuses."""
    reason: str
    source: str


def _changed(before: Any, after: Any) -> bool:
    return before is not None and before != after


# Managed network isolation only ever tightens: Disabled -> AllowInternetOutbound -> AllowOnlyApprovedOutbound.
_ISOLATION_ORDER = ("Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound")


def _loosens(before: Any, after: Any) -> bool:
    if before not in _ISOLATION_ORDER:
        return False
    return after not in _ISOLATION_ORDER or _ISOLATION_ORDER.index(after) < _ISOLATION_ORDER.index(before)


REFUSED: dict[str, tuple[Refusal, ...]] = {
    "azure-native:machinelearningservices:Workspace": (
        Refusal(
            "managedNetwork.isolationMode",
            _loosens,
            "managed network isolation is one-way: a workspace on AllowOnlyApprovedOutbound cannot go back "
            "to internet outbound, and one on AllowInternetOutbound cannot be disabled",
            "MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-managed-network.md",
        ),
        Refusal(
            "encryption.status",
            lambda before, after: before != after,
            "customer-managed key encryption is chosen when the workspace is created: "
            "it cannot be turned on or off afterwards (a new workspace is needed)",
            'MicrosoftDocs/azure-ai-docs includes/machine-learning-customer-managed-keys.md ("the key is '
            'provided when you create your workspace")',
        ),
        Refusal(
            "encryption.keyVaultProperties.keyVaultArmId",
            _changed,
            "after creation the workspace's key can only change to another key of the same key vault",
            "MicrosoftDocs/azure-ai-docs articles/machine-learning/concept-customer-managed-keys.md, Limitations",
        ),
        Refusal(
            "enableServiceSideCMKEncryption",
            lambda before, after: bool(before) != bool(after),
            "service-side encryption is chosen when the workspace is created (the workspace update API "
            "has no such property)",
            "Azure/azure-rest-api-specs machinelearningservices stable/2025-12-01 workspaceRP.json "
            "(WorkspacePropertiesUpdateParameters)",
        ),
        Refusal(
            "hbiWorkspace",
            _changed,
            "high business impact is set at creation only",
            "MicrosoftDocs/azure-ai-docs articles/machine-learning/how-to-manage-workspace.md "
            '("You can\'t change this setting after workspace creation")',
        ),
    ),
    "azure-native:keyvault:Key": (
        Refusal(
            "properties",
            lambda before, after: before != after,
            "a key's type, size, operations and rotation policy are set when it is created: ARM never updates "
            "an existing key, so the change would not apply; give the key a new name (a new key) instead",
            'Azure/azure-rest-api-specs Microsoft.KeyVault keys.json Keys_CreateIfNotExist ("does not create '
            'subsequent versions, and does not update existing keys")',
        ),
    ),
    "azure-native:keyvault:Vault": (
        Refusal(
            "properties.softDeleteRetentionInDays",
            _changed,
            "soft-delete retention is set at creation only",
            'Microsoft Learn key-vault/general/soft-delete-overview ("The retention policy interval can only '
            "be configured during key vault creation and can't be changed afterwards\")",
        ),
        Refusal(
            "properties.enablePurgeProtection",
            lambda before, after: before is True and after is not True,
            "purge protection cannot be turned off once on",
            "Microsoft Learn key-vault/general/soft-delete-overview (purge protection)",
        ),
    ),
    "azure-native:storage:StorageAccount": tuple(
        Refusal(
            f"encryption.services.{service}.keyType",
            lambda before, after: (before or "Service") != (after or "Service"),
            f"{service} storage takes the account's customer-managed key only when the account is created",
            "MicrosoftDocs/azure-docs articles/storage/common/customer-managed-keys-overview.md (queue and "
            'table: "You can optionally configure these services to be included in this protection at the '
            'time that you create the storage account")',
        )
        for service in ("queue", "table")
    ),
    "azure-native:containerregistry:Registry": (
        Refusal(
            "encryption.status",
            lambda before, after: (before or "disabled") != (after or "disabled"),
            "a registry takes a customer-managed key only when it is created, and cannot drop it afterwards",
            "MicrosoftDocs/azure-management-docs articles/container-registry/tutorial-customer-managed-keys.md "
            '("You can currently enable a customer-managed key only while creating a registry"; "You can\'t '
            'disable the encryption after you enable a customer-managed key")',
        ),
    ),
}
"""Resource type -> changes Azure rejects although the provider sends them as an update."""


def _matches(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + ".")


def replacing(type_: str, changes: list[dict]) -> list[tuple[str, str]]:
    """(path, source) of each change in `changes` that makes the provider replace the resource."""
    return [
        (change["path"], rule.source)
        for change in changes
        for rule in REPLACE_ON.get(type_, ())
        if any(_matches(change["path"], path) for path in rule.inputs)
    ]


MOVE = Refusal(
    "location",
    _changed,
    "an Azure resource cannot move to another region in place, and azure-native replaces only where "
    "forceNewMap or the API spec marks location create-only (not for this type)",
    f"{FORCE_NEW_MAP}; provider/pkg/gen/properties.go forceNew",
)
"""Location changes of azure-native types whose location is not in `REPLACE_ON`."""


def refused(type_: str, changes: list[dict]) -> list[tuple[dict, Refusal]]:
    """Each change in `changes` that Azure will refuse, with the rule."""
    rules = REFUSED.get(type_, ())
    if type_.startswith("azure-native:") and not any(
        "location" in rule.inputs for rule in REPLACE_ON.get(type_, ())
    ):
        rules = (*rules, MOVE)
    return [
        (change, rule)
        for change in changes
        for rule in rules
        if _matches(change["path"], rule.path) and rule.applies(change["before"], change["after"])
    ]
