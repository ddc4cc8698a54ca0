"""What a customer-managed key needs from the rest of the stage's config (ML-4, docs/encryption.md).

Each rule is one Azure refuses at `pulumi up`, so config refuses it first, naming the key to change:
- the stage catalog may require the key (`customerManagedKeys: true`);
- the key's vault needs purge protection: "The key vault or managed HSM that stores the key must
  have both soft delete and purge protection enabled" (MicrosoftDocs/azure-docs articles/storage/
  common/customer-managed-keys-overview.md, "Key vault requirements");
- the registry needs Premium: "This feature is available in the Premium service tier"
  (MicrosoftDocs/azure-management-docs articles/container-registry/tutorial-customer-managed-keys.md);
- service-side encryption needs a key vault with public network access: "Server-side encryption is
  currently not supported in reference to an Azure Key Vault for storing your encryption key that
  has public network access disabled" (MicrosoftDocs/azure-ai-docs articles/machine-learning/
  concept-customer-managed-keys.md).
"""

from typing import TYPE_CHECKING

from mlinfra.config.rules.workspace_sharing import owner_stage
from mlinfra.settings.workspace_settings import RegistrySku

if TYPE_CHECKING:
    from mlinfra.config.stage_config import StageConfig


def encryption_problems(config: "StageConfig") -> list[str]:
    """The customer-managed key's rules over a stage's config (see the module docstring)."""
    stage = config.stage_definition
    if config.shares_workspace:
        owner = owner_stage(config)
        if stage.customer_managed_keys and owner is not None and not owner.customer_managed_keys:
            return [
                f"workspace.sharedFrom: the stage catalog requires customer-managed keys in stage "
                f"{stage.name} (customerManagedKeys: true), and the shared workspace is stage {owner.name}'s, "
                f"which the catalog does not require them of; give stage {owner.name} customerManagedKeys: "
                "true in Pulumi.yaml and set its encryption.customerManagedKey (ML-4)"
            ]
        return []
    key = config.encryption.customer_managed_key
    if key is None:
        if stage.customer_managed_keys:
            return [
                f"encryption.customerManagedKey: not set; the stage catalog requires customer-managed keys in "
                f"stage {stage.name} (mlinfra:stages customerManagedKeys: true); set it ({{}} for the "
                "defaults, docs/encryption.md) (ML-4)"
            ]
        return []
    problems = []
    if not config.key_vault.purge_protection_enabled:
        problems.append(
            "keyVault.purgeProtectionEnabled: false with encryption.customerManagedKey; the key's vault must "
            "have purge protection (Azure Storage and Azure Machine Learning refuse the key otherwise): "
            "remove it or set it true (ML-4)"
        )
    if config.container_registry.sku != RegistrySku.PREMIUM:
        problems.append(
            f"containerRegistry.sku: got {config.container_registry.sku.value!r} with "
            "encryption.customerManagedKey; a registry takes a customer-managed key in the Premium tier "
            "only: use 'Premium' (ML-4)"
        )
    if key.service_side and config.network is not None and not config.network.public_network_access_enabled:
        problems.append(
            "encryption.customerManagedKey.serviceSide: true in a private stage; Azure Machine Learning's "
            "service-side encryption cannot use a key vault without public network access: remove it (ML-4)"
        )
    return problems
