"""Every physical Azure name of a stage, derived from workload, stage and region.

Names follow the Cloud Adoption Framework pattern `<type>-<workload>-<stage>-<region>`.
Storage accounts, key vaults and container registries are globally unique (reference
section 7), so they drop the hyphens their rules forbid, carry the stage's fixed-length code
from the stage catalog (`mlinfra:stages`) and
end in a short suffix that is a pure function of subscription, workload and stage: stable
across runs (T-10), different across subscriptions. Fixed lengths keep the compact names
unambiguous (workload `xpre` in prod and `x` in preprod cannot meet). Nothing is ever truncated: a name that breaks Azure's rules raises
`NamingError`, which the config module reports as a config error.
"""

import hashlib
import re
import string
from dataclasses import dataclass

from mlinfra.facts.regions import region_code

SUFFIX_LENGTH = 5
"""Characters of the uniqueness suffix: 36**5 (60 million) values per workload and stage."""

_BASE36 = string.digits + string.ascii_lowercase


@dataclass(frozen=True)
class NameRule:
    """Azure's length and character rules for one resource type."""

    resource: str
    min_length: int
    max_length: int
    pattern: str
    """Regular expression the whole name must match."""
    allowed: str
    """The rule in words, for error messages."""

    def check(self, name: str) -> str:
        if not self.min_length <= len(name) <= self.max_length:
            raise NamingError(
                f"{self.resource} name {name!r} is {len(name)} characters; "
                f"Azure allows {self.min_length}-{self.max_length}"
            )
        if not re.fullmatch(self.pattern, name):
            raise NamingError(f"{self.resource} name {name!r} is invalid; Azure allows {self.allowed}")
        return name


class NamingError(ValueError):
    """A derived name breaks Azure's naming rules."""


RULES = {
    "resource_group": NameRule(
        "resource group",
        1,
        90,
        r"[-\w.()]*[-\w()]",
        "letters, digits, '-', '_', '.', '(', ')', not ending in '.'",
    ),
    "storage_account": NameRule("storage account", 3, 24, r"[a-z0-9]+", "lowercase letters and digits"),
    "key_vault": NameRule(
        "key vault",
        3,
        24,
        r"[A-Za-z](?!.*--)[A-Za-z0-9-]*[A-Za-z0-9]",
        "letters, digits and '-', starting with a letter, ending with a letter or digit, no '--'",
    ),
    "log_analytics": NameRule(
        "log analytics workspace",
        4,
        63,
        r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]",
        "letters, digits and '-', starting and ending with a letter or digit",
    ),
    "application_insights": NameRule(
        "application insights",
        1,
        260,
        r"[^%&\\?/]*[^%&\\?/. ]",
        "any characters but '%&\\?/', not ending in '.' or space",
    ),
    "container_registry": NameRule("container registry", 5, 50, r"[A-Za-z0-9]+", "letters and digits"),
    "deployment_identity": NameRule(
        "deployment identity",
        3,
        120,
        r"[A-Za-z0-9][A-Za-z0-9_-]*",
        "letters, digits, '-' and '_', starting with a letter or digit (managed identity rules)",
    ),
    "virtual_network": NameRule(
        "virtual network",
        2,
        64,
        r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]",
        "letters, digits, '_', '.', '-', starting with a letter or digit, ending with a letter, digit or '_'",
    ),
    "private_endpoint": NameRule(
        "private endpoint",
        2,
        64,
        r"[A-Za-z0-9][A-Za-z0-9_.-]*[A-Za-z0-9_]",
        "letters, digits, '_', '.', '-', starting with a letter or digit, ending with a letter, digit or '_'",
    ),
    # Microsoft.MachineLearningServices/registries name (azure-rest-api-specs,
    # machinelearningservices registries.json `registryName`): 3-33 characters.
    "ml_registry": NameRule(
        "machine learning registry",
        3,
        33,
        r"[A-Za-z0-9][A-Za-z0-9_-]*",
        "letters, digits, '-' and '_', starting with a letter or digit",
    ),
    # Microsoft Learn azure-resource-manager/management/resource-name-rules, Microsoft.ManagedIdentity
    # userAssignedIdentities: 3-128, "Alphanumerics, hyphens, and underscores. Start with letter or number."
    "encryption_identity": NameRule(
        "user-assigned managed identity",
        3,
        128,
        r"[A-Za-z0-9][A-Za-z0-9_-]*",
        "letters, digits, '-' and '_', starting with a letter or digit",
    ),
    # Microsoft Learn key-vault/general/about-keys-secrets-certificates, "Object identifiers": "a
    # 1-127 character string, starting with a letter and containing only 0-9, a-z, A-Z, and -".
    "encryption_key": NameRule(
        "key vault key",
        1,
        127,
        r"[A-Za-z][A-Za-z0-9-]*",
        "letters, digits and '-', starting with a letter",
    ),
    "workspace": NameRule(
        "machine learning workspace",
        3,
        33,
        r"[A-Za-z0-9][A-Za-z0-9_-]*",
        "letters, digits, '-' and '_', starting with a letter or digit",
    ),
}


@dataclass(frozen=True)
class StageNames:
    """The physical names of one stage's resources."""

    resource_group: str
    storage_account: str
    key_vault: str
    log_analytics: str
    application_insights: str
    container_registry: str
    workspace: str
    deployment_identity: str
    """Display name of the CI app registration, or name of the CI managed identity."""
    virtual_network: str
    """Network a private stage creates for its private endpoints (when it creates one)."""
    service_connection: str
    """Default name of the stage's Azure DevOps service connection (`spn-aml-workspace-<stack>`)."""
    variable_group: str
    """Default name of the stage's Azure DevOps variable group (`aml-workspace-<stack>`)."""
    encryption_identity: str
    """The user-assigned identity the workspace, storage and registry read the customer-managed key with."""
    encryption_key: str
    """The customer-managed key in the stage's key vault (`encryption.customerManagedKey`)."""

    def private_endpoint(self, resource_name: str, group: str) -> str:
        """Name of the private endpoint of sub-resource `group` of `resource_name`."""
        return RULES["private_endpoint"].check(f"pe-{resource_name}-{group}")


def unique_suffix(subscription_id: str, workload: str, stage: str, generation: int = 0) -> str:
    """A deterministic base-36 suffix of `SUFFIX_LENGTH` characters (T-10). Generation 0 is the
    stage's first set of names; each later generation (`mlinfra:nameGeneration`) another suffix."""
    seed = f"{subscription_id.lower()}/{workload}/{stage}" + (f"/g{generation}" if generation else "")
    seed = seed.encode()
    number = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")
    chars = []
    for _ in range(SUFFIX_LENGTH):
        number, digit = divmod(number, 36)
        chars.append(_BASE36[digit])
    return "".join(chars)


def stage_names(
    *,
    workload: str,
    stage: str,
    code: str,
    location: str,
    subscription_id: str,
    suffix: str | None = None,
    environment: str | None = None,
    generation: int = 0,
) -> StageNames:
    """Derive and check every name of a stage; raises `NamingError` on a name Azure rejects.

    `code` is the stage's three-character code of the catalog. `environment` (the stack name,
    default the stage) names the per-workload CI objects. `suffix` overrides the derived uniqueness suffix (for example to step past a key vault
    name that is still reserved by a soft-deleted vault, pitfall P3). `generation` (above 0, never
    with `suffix`) renames what a delete leaves soft-deleted under its name: the globally unique
    names take the generation's suffix and the workspace name ends in `-<generation>`
    (docs/soft-delete.md). The CI identity keeps generation 0's suffix: nothing soft-deleted holds
    its name, and its federated credentials stay as they are.
    """
    region = region_code(location)
    if not re.fullmatch(r"[a-z0-9]{3}", code):
        raise NamingError(f"stage code {code!r} is invalid; expected 3 lowercase letters or digits")
    if suffix and generation:
        raise NamingError("a name generation derives the suffix; it cannot also be given")
    identity_suffix = suffix or unique_suffix(subscription_id, workload, stage)
    suffix = unique_suffix(subscription_id, workload, stage, generation) if generation else identity_suffix
    compact = f"{workload}{code}{suffix}"
    rotated = f"-{generation}" if generation else ""
    names = {
        "resource_group": f"rg-{workload}-{stage}-{region}",
        "storage_account": f"st{compact}",
        "key_vault": f"kv{compact}",
        "log_analytics": f"log-{workload}-{stage}-{region}",
        "application_insights": f"appi-{workload}-{stage}-{region}",
        "container_registry": f"cr{compact}",
        "workspace": f"mlw-{workload}-{stage}-{region}{rotated}",
        # App display names are tenant-wide, so the suffix keeps two subscriptions apart.
        "deployment_identity": f"id-{workload}-{stage}-cicd-{identity_suffix}",
        "virtual_network": f"vnet-{workload}-{stage}-{region}",
        "encryption_identity": f"id-{workload}-{stage}-{region}-cmk{rotated}",
        "encryption_key": f"cmk-{workload}-{stage}{rotated}",
    }
    checked = {field: RULES[field].check(name) for field, name in names.items()}
    return StageNames(
        **checked,
        service_connection=f"spn-aml-workspace-{environment or stage}",
        variable_group=f"aml-workspace-{environment or stage}",
    )


@dataclass(frozen=True)
class SharedNames:
    """The physical names of the shared stack's resources (the Azure ML registry)."""

    resource_group: str
    registry: str
    log_analytics: str
    """The Log Analytics workspace the registry's diagnostic setting sends to, unless a central one is given."""

    def private_endpoint(self, group: str) -> str:
        return RULES["private_endpoint"].check(f"pe-{self.registry}-{group}")


def shared_names(*, workload: str, location: str) -> SharedNames:
    """Names of the shared stack: one registry per workload, in the primary region. A registry's
    name is unique in the tenant (how-to-manage-registries, "Choose a name"): the workload and the
    region keep two workloads' registries apart."""
    region = region_code(location)
    return SharedNames(
        resource_group=RULES["resource_group"].check(f"rg-{workload}-shared-{region}"),
        registry=RULES["ml_registry"].check(f"mlr-{workload}-{region}"),
        log_analytics=RULES["log_analytics"].check(f"log-{workload}-shared-{region}"),
    )
