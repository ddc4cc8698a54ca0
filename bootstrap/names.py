"""Physical names of the bootstrap resources. Globally unique names end in a suffix derived from
the subscription, so two organizations using the same `name` do not collide."""

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class BootstrapNames:
    name: str
    subscription_id: str

    @property
    def suffix(self) -> str:
        return hashlib.sha256(f"{self.subscription_id.lower()}|{self.name}".encode()).hexdigest()[:5]

    @property
    def resource_group(self) -> str:
        return f"rg-{self.name}-pulumi"

    @property
    def storage_account(self) -> str:
        """3-24 lowercase letters and digits, globally unique."""
        return f"st{self.name}state{self.suffix}"

    @property
    def state_container(self) -> str:
        return "pulumi-state"

    @property
    def key_vault(self) -> str:
        """3-24 letters, digits and hyphens, globally unique."""
        return f"kv-{self.name}-st-{self.suffix}"

    @property
    def secrets_key(self) -> str:
        return "pulumi-secrets"

    def deployer(self, stage: str) -> str:
        return f"id-{self.name}-infra-{stage}"

    @property
    def previewer(self) -> str:
        return f"id-{self.name}-infra-preview"

    def custom_role(self, label: str) -> str:
        """A custom role's name: unique in the tenant, hence the bootstrap name first."""
        return f"{self.name} {label}"
