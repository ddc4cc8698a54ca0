"""Customer-managed keys (issue 33, ML-4): mlinfra.stage.customer_managed_key, the encryption of the
workspace, its storage and its registry, the config errors, the refusals the diff knows, and the
rights and resource providers the estate verifier knows they need. Each constraint cites its source;
assertions are on recorded plans of the real stack files (the stacks that set the key) or of a
stack with the key added by an override."""

import re
from pathlib import Path

import pulumi
import pytest
from pulumi_azure_native import keyvault

from mlinfra.diff.replacements import refused
from mlinfra.estate.inventory import StackPlan
from mlinfra.estate.needs import ASSIGN_ACTION, deployer_needs
from mlinfra.estate.providers import IMPLIED
from mlinfra.facts.naming import RULES
from mlinfra.facts.rbac import action_allowed, builtin_roles
from mlinfra.facts.roles import ROLES
from mlinfra.review.check_config import config_for, stage_traits
from mlinfra.settings.workspace_settings import CustomerManagedKeySettings
from mlinfra.stage.customer_managed_key import CustomerManagedKey, CustomerManagedKeyArgs, rotation_policy
from tests.conftest import (
    CATALOG,
    NON_PRODUCTION_STACK,
    PRIVATE_STACKS,
    PROJECT_DIR,
    PUBLIC_STACKS,
    STACKS,
    first,
    plan,
    run_program,
    setting,
    stack_config,
    stacks_where,
)
from tests.test_config import Rejection

WORKSPACE = "azure-native:machinelearningservices:Workspace"
STORAGE = "azure-native:storage:StorageAccount"
REGISTRY = "azure-native:containerregistry:Registry"
VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
ASSIGNMENT = "azure-native:authorization:RoleAssignment"
CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
"""Key Vault Crypto Service Encryption User (MicrosoftDocs/azure-docs articles/role-based-access-control/
built-in-roles/security.md: "Read metadata of keys and perform wrap/unwrap operations")."""
CMK = {
    "mlinfra:encryption": {"customerManagedKey": {}},
    "mlinfra:keyVault": {"purgeProtectionEnabled": True},
    "mlinfra:containerRegistry": {"sku": "Premium"},
}
"""A customer-managed key with what it needs from the rest of the config (ML-4)."""

KEYED_STACKS = stacks_where(
    lambda stack: (setting(stack, "encryption", {}) or {}).get("customerManagedKey") is not None
)
"""The shipped stack files that encrypt with a customer-managed key."""


@pytest.fixture
def rejection(monkeypatch) -> Rejection:
    return Rejection(monkeypatch)


def test_a_shipped_stack_uses_a_customer_managed_key():
    """Issue 33: each feature is planned in a shipped stack or an example."""
    assert KEYED_STACKS


def _one(result, type_: str):
    (resource,) = result.of_type(type_)
    return resource


def _estate(stack: str, result) -> StackPlan:
    return StackPlan("stage", stack, Path("."), None, result, dict(stack_config(stack).values))


def _ids(stack: str, result) -> dict[str, str]:
    """The ARM ids of the vault and the identity, as the mock cloud gives them (mlinfra.estate.inventory)."""
    estate = _estate(stack, result)
    return {type_: str(estate.arm_id(_one(result, type_))) for type_ in (VAULT, IDENTITY)}


def _crypto_assignment(result):
    (assignment,) = [
        a
        for a in result.of_type(ASSIGNMENT)
        if a.inputs["roleDefinitionId"].endswith(CRYPTO_SERVICE_ENCRYPTION_USER)
    ]
    return assignment


# --- the component, on its own


def _component(settings: CustomerManagedKeySettings):
    def program():
        vault = keyvault.Vault(
            "vault",
            vault_name="kvtest",
            resource_group_name="rg",
            properties=keyvault.VaultPropertiesArgs(
                tenant_id="00000000-0000-0000-0000-000000000001",
                sku=keyvault.SkuArgs(family="A", name="standard"),
            ),
        )
        CustomerManagedKey(
            "cmk",
            CustomerManagedKeyArgs(
                settings=settings,
                identity_name="id-test-cmk",
                key_name="cmk-test",
                vault=vault,
                vault_name="kvtest",
                subscription_id="00000000-0000-0000-0000-000000000012",
                resource_group_name="rg",
                location="westeurope",
                tags={},
                protection=pulumi.ResourceOptions(protect=True),
            ),
        )

    return run_program(program)


def test_the_key_is_rsa_with_a_rotation_policy():
    """RSA of 2048/3072/4096 bits is what all three services take (azure-docs storage/common/
    customer-managed-keys-overview.md: "supports RSA and RSA-HSM keys of sizes 2048, 3072 and 4096";
    azure-management-docs tutorial-customer-managed-keys.md: "supports only RSA or RSA-HSM keys");
    the rotation policy's durations are ISO 8601 (the SDK's TriggerArgs: "'P90D', 'P1Y'")."""
    result = _component(
        CustomerManagedKeySettings(key_size=4096, rotate_after_days=90, expire_after_days=400)
    )
    key = _one(result, KEY)
    properties = key.inputs["properties"]
    assert properties["kty"] == "RSA" and properties["keySize"] == 4096
    assert properties["keyOps"] == ["wrapKey", "unwrapKey"]
    assert properties["rotationPolicy"] == {
        "attributes": {"expiryTime": "P400D"},
        "lifetimeActions": [{"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P90D"}}],
    }
    assert key.inputs["keyName"] == "cmk-test" and key.inputs["vaultName"] == "kvtest"
    assert key.protect, "losing the key loses the data: it is protected like the stage's stateful resources"


def test_without_an_expiry_the_policy_only_rotates():
    policy = rotation_policy(CustomerManagedKeySettings())
    assert policy.attributes is None
    assert CustomerManagedKeySettings().key_size == 3072  # AML: "We recommend ... at least 3072"


def test_the_identity_holds_the_crypto_role_on_the_vault():
    """The storage docs: "Assign the Key Vault Crypto Service Encryption User role to the
    user-assigned managed identity with key vault scope" (azure-docs includes/storage-customer-
    managed-keys-key-vault-user-assigned-identity-include.md); the ACR tutorial says the same. The
    role carries the keys read, wrap and unwrap data actions the services need."""
    result = _component(CustomerManagedKeySettings())
    identity = _one(result, IDENTITY)
    assert identity.inputs["resourceName"] == "id-test-cmk"
    (assignment,) = result.of_type(ASSIGNMENT)
    assert assignment.inputs["roleDefinitionId"].endswith(
        f"/roleDefinitions/{CRYPTO_SERVICE_ENCRYPTION_USER}"
    )
    assert assignment.inputs["principalType"] == "ServicePrincipal"
    assert assignment.inputs["scope"].endswith("/Microsoft.KeyVault/vaults/kvtest")
    assert ROLES["Key Vault Crypto Service Encryption User"].guid == CRYPTO_SERVICE_ENCRYPTION_USER
    (role,) = [r for r in builtin_roles().values() if r.name == "Key Vault Crypto Service Encryption User"]
    for action in ("read", "wrap/action", "unwrap/action"):
        assert action_allowed(f"Microsoft.KeyVault/vaults/keys/{action}", role.permissions, data=True)


# --- the shipped stacks that set it


@pytest.mark.parametrize("stack", KEYED_STACKS)
def test_the_workspace_encrypts_with_a_versioned_key_of_its_own_vault(stack_plans, stack):
    """AML: status and both key vault properties are required (Azure/azure-rest-api-specs
    machinelearningservices stable/2025-12-01 workspaceRP.json EncryptionProperty.required); the
    key's vault is the stage's own, in the workspace's subscription ("must be in the same Azure
    subscription", how-to-setup-customer-managed-keys.md); the identity is named in
    `encryption.identity.userAssignedIdentity` and attached to the workspace, whose system-assigned
    identity stays (ML-7; "it can be updated to SAI+UAI, but not back", how-to-identity-based-
    service-authentication.md)."""
    result = stack_plans[stack]
    workspace, vault, key = (_one(result, t) for t in (WORKSPACE, VAULT, KEY))
    ids = _ids(stack, result)
    encryption = workspace.inputs["encryption"]
    assert encryption["status"] == "Enabled"
    assert encryption["keyVaultProperties"]["keyVaultArmId"] == ids[VAULT]
    assert ids[VAULT].startswith(
        f"/subscriptions/{stack_config(stack).values['azure-native:subscriptionId']}/"
    )
    versionless = f"https://{vault.inputs['vaultName']}.vault.azure.net/keys/{key.inputs['keyName']}"
    version = encryption["keyVaultProperties"]["keyIdentifier"].removeprefix(versionless + "/")
    assert version != encryption["keyVaultProperties"]["keyIdentifier"] and "/" not in version and version
    identity_id = ids[IDENTITY]
    assert encryption["identity"] == {"userAssignedIdentity": identity_id}
    assert workspace.inputs["identity"] == {
        "type": "SystemAssigned,UserAssigned",
        "userAssignedIdentities": [identity_id],
    }
    assert "enableServiceSideCMKEncryption" not in workspace.inputs  # private stage: not supported


@pytest.mark.parametrize("stack", KEYED_STACKS)
def test_storage_follows_new_key_versions_through_the_identity(stack_plans, stack):
    """ "To automatically update a customer-managed key when a new version is available, omit the key
    version" and "When you enable customer-managed keys for a new storage account, you must specify
    a user-assigned managed identity" (azure-docs storage/common/customer-managed-keys-overview.md
    and the user-assigned identity include); queues and tables only join at creation (same page)."""
    result = stack_plans[stack]
    account, key = (_one(result, t) for t in (STORAGE, KEY))
    identity_id = _ids(stack, result)[IDENTITY]
    encryption = account.inputs["encryption"]
    assert encryption["keySource"] == "Microsoft.Keyvault"
    assert encryption["keyVaultProperties"]["keyName"] == key.inputs["keyName"]
    vault = _one(result, VAULT).inputs["vaultName"]
    assert encryption["keyVaultProperties"]["keyVaultUri"] == f"https://{vault}.vault.azure.net/"
    assert "keyVersion" not in encryption["keyVaultProperties"]
    assert encryption["encryptionIdentity"] == {"encryptionUserAssignedIdentity": identity_id}
    assert account.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity_id]}
    assert {service["keyType"] for service in encryption["services"].values()} == {"Account"}


@pytest.mark.parametrize("stack", KEYED_STACKS)
def test_the_registry_reads_a_versionless_key_with_the_identitys_client_id(stack_plans, stack):
    """ACR: Premium only; `keyVaultProperties.identity` is "The client id of the identity which will
    be used to access key vault" (the SDK's KeyVaultPropertiesArgs); "When a registry is encrypted
    with a non-versioned key, Azure Container Registry regularly checks the key vault for a new key
    version" (azure-management-docs container-registry/tutorial-customer-managed-keys.md)."""
    result = stack_plans[stack]
    registry, key, vault = (_one(result, t) for t in (REGISTRY, KEY, VAULT))
    identity_id = _ids(stack, result)[IDENTITY]
    assert registry.inputs["sku"] == {"name": "Premium"}
    properties = registry.inputs["encryption"]["keyVaultProperties"]
    assert registry.inputs["encryption"]["status"] == "enabled"
    assert (
        properties["keyIdentifier"]
        == f"https://{vault.inputs['vaultName']}.vault.azure.net/keys/{key.inputs['keyName']}"
    )
    # the client id: a GUID, and not the principal (object) id the role assignment names
    assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", properties["identity"])
    assert properties["identity"] != _crypto_assignment(result).inputs["principalId"]
    assert registry.inputs["identity"] == {
        "type": "UserAssigned",
        "userAssignedIdentities": {identity_id: {}},
    }


@pytest.mark.parametrize("stack", KEYED_STACKS)
def test_what_the_key_encrypts_waits_for_the_key_and_the_role(stack_plans, stack):
    """ "Before you can configure customer-managed keys with a user-assigned managed identity, you must
    assign the Key Vault Crypto Service Encryption User role" (the storage include above): each
    encrypted resource depends on the key and on the role assignment itself, not only on outputs."""
    result = stack_plans[stack]
    key = _one(result, KEY)
    assignment = _crypto_assignment(result)
    for type_ in (WORKSPACE, STORAGE, REGISTRY):
        resource = _one(result, type_)
        assert {key.urn, assignment.urn} <= set(resource.dependencies), type_
    assert _one(result, VAULT).urn in key.dependencies


@pytest.mark.parametrize("stack", KEYED_STACKS)
def test_the_key_vault_keeps_purge_protection_and_trusted_services(stack_plans, stack):
    """ "The key vault ... must have both soft delete and purge protection enabled" (storage overview);
    with public network access disabled "all traffic except private endpoint traffic and that that
    originates from trusted services will be blocked" (Azure/azure-rest-api-specs keyvault
    VaultProperties.publicNetworkAccess), so the services reach the key as trusted services."""
    properties = _one(stack_plans[stack], VAULT).inputs["properties"]
    assert properties["enablePurgeProtection"] is True and properties["enableSoftDelete"] is True
    assert properties["networkAcls"]["bypass"] == "AzureServices"


def test_the_names_follow_azures_rules():
    """Checked in tests/test_naming.py against independently written rules; here the two new ones
    exist and are derived per stage."""
    assert {"encryption_identity", "encryption_key"} <= set(RULES)


def test_a_stage_without_the_key_keeps_microsoft_managed_keys(stack_plans):
    stack = next(s for s in STACKS if s not in KEYED_STACKS)
    result = stack_plans[stack]
    assert result.of_type(KEY) == []
    assert not any(r.type == "mlinfra:components:CustomerManagedKey" for r in result.resources)
    for type_ in (WORKSPACE, STORAGE, REGISTRY):
        assert "encryption" not in _one(result, type_).inputs, type_
    assert _one(result, WORKSPACE).inputs["identity"] == {"type": "SystemAssigned"}


# --- config errors


def test_fails_without_purge_protection(rejection):
    stack = first(KEYED_STACKS)
    message = rejection.message(
        stack_config(stack, **{"mlinfra:keyVault": {"purgeProtectionEnabled": False}})
    )
    assert "mlinfra:keyVault.purgeProtectionEnabled: false with encryption.customerManagedKey" in message


def test_fails_with_a_registry_below_premium(rejection):
    stack = first(PUBLIC_STACKS)
    message = rejection.message(
        stack_config(stack, **{**CMK, "mlinfra:containerRegistry": {"sku": "Standard"}})
    )
    assert "mlinfra:containerRegistry.sku: got 'Standard' with encryption.customerManagedKey" in message
    assert "Premium tier only" in message


def test_fails_with_service_side_encryption_in_a_private_stage(rejection):
    """concept-customer-managed-keys.md: "Server-side encryption is currently not supported in
    reference to an Azure Key Vault ... that has public network access disabled"."""
    stack = first(PRIVATE_STACKS)
    key = {"mlinfra:encryption": {"customerManagedKey": {"serviceSide": True}}}
    message = rejection.message(stack_config(stack, **key))
    assert "mlinfra:encryption.customerManagedKey.serviceSide: true in a private stage" in message


def test_service_side_encryption_in_a_public_stage_keeps_no_metadata_stores():
    """With service-side encryption the workspace keeps no Cosmos DB or Search in the subscription:
    the estate does not ask for their resource providers."""
    stack = first(PUBLIC_STACKS)
    result = plan(stack, **{**CMK, "mlinfra:encryption": {"customerManagedKey": {"serviceSide": True}}})
    workspace = _one(result, WORKSPACE)
    assert workspace.inputs["enableServiceSideCMKEncryption"] is True
    (implied,) = [i for i in IMPLIED if "Microsoft.DocumentDB" in i.namespaces]
    assert not implied.applies(workspace)
    assert implied.applies(_one(plan(stack, **CMK), WORKSPACE))


@pytest.mark.parametrize(
    ("key", "needle"),
    [
        ({"keySize": 1024}, "mlinfra:encryption.customerManagedKey.keySize: got 1024"),
        ({"rotateAfterDays": 3}, "mlinfra:encryption.customerManagedKey.rotateAfterDays: got 3"),
        ({"expireAfterDays": 20}, "mlinfra:encryption.customerManagedKey.expireAfterDays: got 20"),
        ({"rotateAfterDays": 300, "expireAfterDays": 302}, "rotateAfterDays must be at most 295"),
        ({"vault": "elsewhere"}, "mlinfra:encryption.customerManagedKey.vault: unknown key"),
    ],
)
def test_fails_with_key_settings_key_vault_refuses(rejection, key, needle):
    """Key Vault's rotation minimums: "the minimum value is 7 days from creation and 7 days from
    expiration time" (azure-docs key-vault/keys/how-to-configure-key-rotation.md); 28 days of expiry
    at least (same page)."""
    message = rejection.message(
        stack_config(NON_PRODUCTION_STACK, **{"mlinfra:encryption": {"customerManagedKey": key}})
    )
    assert needle in message


def _with_trait(monkeypatch, stage: str) -> list[dict]:
    """The project's catalog with `customerManagedKeys: true` on `stage`, as if Pulumi.yaml said so."""
    from mlinfra.config import loading

    catalog = [
        {"name": s.name, "code": s.code, "production": s.production, "dataScience": s.data_science}
        | ({"customerManagedKeys": True} if s.name == stage else {})
        for s in CATALOG.values()
    ]
    monkeypatch.setattr(loading, "declared_catalog", lambda: catalog)
    return catalog


def test_fails_where_the_catalog_requires_a_key_and_the_stack_sets_none(rejection, monkeypatch):
    stack = next(s for s in STACKS if s not in KEYED_STACKS)
    catalog = _with_trait(monkeypatch, stack.rsplit("-", 1)[-1])
    message = rejection.message(stack_config(stack, **{"mlinfra:stages": catalog}))
    assert (
        "mlinfra:encryption.customerManagedKey: not set; the stage catalog requires customer-managed keys"
        in message
    )


def test_the_catalog_trait_reaches_the_policy_config(tmp_path):
    """`mlinfra policy-config` takes the trait from Pulumi.yaml: the customer-managed-keys policy is
    then mandatory in that stage, production or not."""
    project = (PROJECT_DIR / "Pulumi.yaml").read_text()
    stage = NON_PRODUCTION_STACK
    marker = f"      - name: {stage}\n"
    assert marker in project
    (tmp_path / "Pulumi.yaml").write_text(
        project.replace(marker, marker + "        customerManagedKeys: true\n", 1)
    )
    (tmp_path / "policy").symlink_to(PROJECT_DIR / "policy")
    assert stage_traits(stage, tmp_path).customer_managed_keys is True
    entry = config_for(tmp_path, stage)["customer-managed-keys"]
    assert entry["enforcementLevel"] == "mandatory" and entry["customerManagedKeys"] is True
    assert "customerManagedKeys" not in config_for(PROJECT_DIR, stage)["customer-managed-keys"]


# --- what a later change would meet


@pytest.mark.parametrize(
    ("type_", "path", "before", "after"),
    [
        (WORKSPACE, "encryption.status", None, "Enabled"),
        (WORKSPACE, "encryption.status", "Enabled", None),
        (WORKSPACE, "encryption.keyVaultProperties.keyVaultArmId", "/vault/a", "/vault/b"),
        (WORKSPACE, "enableServiceSideCMKEncryption", None, True),
        (REGISTRY, "encryption.status", None, "enabled"),
        (REGISTRY, "encryption.status", "enabled", "disabled"),
        (KEY, "properties.keySize", 3072, 4096),
        (STORAGE, "encryption.services.queue.keyType", None, "Account"),
        (STORAGE, "encryption.services.table.keyType", "Account", "Service"),
        (KEY, "properties.rotationPolicy.attributes.expiryTime", None, "P400D"),
    ],
)
def test_a_change_azure_refuses_is_named_before_up(type_, path, before, after):
    """Workspace: "the key is provided when you create your workspace" and afterwards "can only be
    updated to another key in the original Azure Key Vault" (azure-ai-docs); registry: "enable a
    customer-managed key only while creating a registry" and "can't disable" it (azure-management-
    docs); key: Keys - Create If Not Exist "does not update existing keys" (azure-rest-api-specs);
    storage: queues and tables join the key "at the time that you create the storage account"
    (azure-docs storage/common/customer-managed-keys-overview.md)."""
    assert refused(type_, [{"path": path, "before": before, "after": after}])


def test_a_new_key_version_for_the_workspace_is_an_ordinary_update():
    """A new key identifier in the same vault (a rotation taken up by `pulumi up --refresh`) is allowed."""
    change = {
        "path": "encryption.keyVaultProperties.keyIdentifier",
        "before": "https://kv/keys/k/1",
        "after": "https://kv/keys/k/2",
    }
    assert refused(WORKSPACE, [change]) == []


# --- the estate verifier


@pytest.mark.parametrize("stack", KEYED_STACKS)
def test_the_deployer_needs_to_assign_the_identity_to_each_resource(stack_plans, stack):
    """Attaching a user-assigned identity is checked on the identity: "To assign a user-assigned
    identity to a VM, your account needs the Virtual Machine Contributor and Managed Identity
    Operator role assignments" (azure-docs managed-identities-azure-resources/qs-configure-cli-
    windows-vm.md); Contributor (`*`) holds the assign action too."""
    result = stack_plans[stack]
    needs = deployer_needs(_estate(stack, result), (None, None))
    identity_id = _ids(stack, result)[IDENTITY]
    assigning = {n.resource for n in needs if n.action == ASSIGN_ACTION and n.scope == identity_id}
    assert assigning == {_one(result, t).name for t in (WORKSPACE, STORAGE, REGISTRY)}
    (contributor,) = [r for r in builtin_roles().values() if r.name == "Contributor"]
    assert action_allowed(ASSIGN_ACTION, contributor.permissions)  # what the stage deployers hold
    key_write = [n for n in needs if n.action == "Microsoft.KeyVault/vaults/keys/write"]
    assert [n.resource for n in key_write] == [_one(result, KEY).name]


def test_the_shipped_prerequisites_register_what_the_keyed_stacks_need():
    """AML with customer-managed keys: "The following Azure resource providers must be registered:
    ... Microsoft.DocumentDB/databaseAccounts ... Microsoft.Search/searchServices"
    (how-to-setup-customer-managed-keys.md); the estate's EV-15 check reads them from the plans, and
    `make verify` (CI) fails when prerequisites.yaml leaves one out."""
    text = (PROJECT_DIR / "prerequisites.yaml").read_text()
    for stack in KEYED_STACKS:
        subscription = stack_config(stack).values["azure-native:subscriptionId"]
        block = text.split(f"- subscription: {subscription}", 1)[1].split("\n", 2)[1]
        for namespace in ("Microsoft.DocumentDB", "Microsoft.Search", "Microsoft.ManagedIdentity"):
            assert namespace in block, (stack, namespace)


def test_fails_where_a_stage_the_catalog_requires_a_key_of_shares_a_workspace_without_one(
    rejection, monkeypatch
):
    """A sharing stage encrypts nothing of its own (the owner's sections, ML-16): the trait then asks
    the owning stage, whose catalog entry must carry it too (examples/single-workspace)."""
    from mlinfra.planner.stackfile import load_stack_config
    from tests.conftest import overridden

    path = PROJECT_DIR / "examples" / "single-workspace" / "Pulumi.solo-prod.yaml"
    config = load_stack_config(PROJECT_DIR, "solo-prod", path)
    sharer = config.stack.rsplit("-", 1)[-1]
    if sharer not in CATALOG:
        pytest.skip(f"no stage {sharer} in mlinfra:stages")
    catalog = _with_trait(monkeypatch, sharer)
    message = rejection.message(overridden(config, {"mlinfra:stages": catalog}))
    assert f"requires customer-managed keys in stage {sharer}" in message
    assert "customerManagedKeys: true in Pulumi.yaml" in message
