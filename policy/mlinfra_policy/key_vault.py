"""Key vault rules (security-rules.md section C). Wire names are azure-native's `keyvault.Vault`
inputs, with the vault's settings under `properties`."""

from mlinfra_policy.common import get, resource_policy

VAULT = "azure-native:keyvault:Vault"


def _rbac(args, production):
    if get(args.props, "properties", "enableRbacAuthorization") is not True:
        yield "properties.enableRbacAuthorization is not true; azure-native would send false (KV-1)"
    if get(args.props, "properties", "accessPolicies"):
        yield "properties.accessPolicies is not empty; access is granted through Azure RBAC only (KV-1)"


def _production_vault(args, production):
    properties = get(args.props, "properties")
    if get(properties, "enablePurgeProtection") is not True:
        yield "properties.enablePurgeProtection is not true (KV-2)"
    if (
        get(properties, "publicNetworkAccess") != "Disabled"
        and get(properties, "networkAcls", "defaultAction") != "Deny"
    ):
        yield "properties.publicNetworkAccess is not 'Disabled' and networkAcls.defaultAction is not 'Deny' (KV-4)"


POLICIES = [
    resource_policy(
        "key-vault-rbac",
        "Key vaults authorize data access with Azure RBAC, never access policies (KV-1).",
        [VAULT],
        _rbac,
    ),
    resource_policy(
        "key-vault-production-protection",
        "Production key vaults are purge-protected and private (KV-2, KV-4).",
        [VAULT],
        _production_vault,
        production_only=True,
    ),
]
