"""Rules that span config sections of one stage: network, access, identity and secrets, the
production rules and workspace sharing, and the names derived from the stack (issue 31 split them
out of the models)."""

import datetime
import json

from mlinfra.config.messages import what_is_allowed
from mlinfra.config.rules.encryption_rules import encryption_problems
from mlinfra.config.rules.name_generation import name_generation_problems
from mlinfra.config.rules.private_stage_checks import private_stage_problems
from mlinfra.config.rules.production_rules import production_problems
from mlinfra.config.rules.workspace_sharing import sharing_problems
from mlinfra.config.stage_config import DATA_SCIENTISTS, ML_ENGINEERS, StageConfig, StageSettings
from mlinfra.facts.ci_names import (
    ADO_ENVIRONMENT,
    ADO_SERVICE_CONNECTION,
    ADO_VARIABLE_GROUP,
    GITHUB_ENVIRONMENT,
    ServiceNameRule,
)
from mlinfra.facts.credential_names import (
    azure_devops_credential_name,
    collisions,
    github_credential_name,
)
from mlinfra.facts.naming import NamingError
from mlinfra.facts.roles import ROLES
from mlinfra.settings.access_settings import (
    CredentialMode,
    IdentityKind,
)
from mlinfra.settings.registry_access_settings import registry_problems
from mlinfra.settings.workspace_settings import (
    RegistrySku,
)

CLIENT_SECRET_MAX_DAYS = 730


def consistency_problems(namespace: str, config: StageConfig) -> list[str]:
    """Rules that span sections, over sections each valid on its own."""
    problems = (
        sharing_problems(config)
        + _network_problems(config)
        + _access_problems(config)
        + _identity_problems(config)
        + production_problems(config)
        + registry_problems(config)
        + name_generation_problems(config)
        + encryption_problems(config)
    )
    if config.network is not None and not config.shares_workspace:  # else the owner's (ML-16)
        problems += private_stage_problems(config)
    if not problems:
        try:
            _ = config.names  # computing the names runs the naming rules
        except NamingError as error:
            problems.append(f"workload: got {json.dumps(config.workload)}; {error}")
        else:
            problems += collisions(credential_names(config))
            return [f"{namespace}:{problem}" for problem in problems] + derived_name_problems(
                namespace, config
            )
    return [f"{namespace}:{problem}" for problem in problems]


def derived_name_problems(namespace: str, config: StageConfig) -> list[str]:
    """The CI objects' names the program derives from the stack name, under the rules the names a
    stack file supplies meet (ADO-7, GH-15): a derived name the service refuses is a config error."""
    ci = config.ci
    if ci is None:
        return []
    checks: list[tuple[str, str, ServiceNameRule]] = []
    if ci.github:
        checks.append(("stack name", config.stack, GITHUB_ENVIRONMENT))
    if devops := ci.azure_dev_ops:
        checks.append(("stack name", config.stack, ADO_ENVIRONMENT))
        if devops.service_connection_name is None:
            key = f"{namespace}:ci.azureDevOps.serviceConnectionName"
            checks.append((key, config.names.service_connection, ADO_SERVICE_CONNECTION))
        if devops.variable_group_name is None:
            key = f"{namespace}:ci.azureDevOps.variableGroupName"
            checks.append((key, config.names.variable_group, ADO_VARIABLE_GROUP))
    problems = []
    for key, name, rule in checks:
        if problem := rule.problem(name):
            what = "the environment name" if key == "stack name" else "not set, and its default"
            problems.append(
                f"{key}: {what} {json.dumps(name)}, derived from the stack name, is refused: {problem}"
            )
    return problems


def _network_problems(config: StageConfig) -> list[str]:
    if config.shares_workspace:
        return []
    if config.network is None:
        return [
            f"network: required but not set; expected {what_is_allowed(StageSettings.model_fields['network'])}"
        ]
    if config.network.public_network_access_enabled:
        return []
    problems = []
    if config.container_registry.sku != RegistrySku.PREMIUM:
        problems.append(
            f"containerRegistry.sku: got {json.dumps(config.container_registry.sku.value)}; a registry without public "
            "network access must be 'Premium' to take a private endpoint (ACR-3); use 'Premium' or set "
            "network.publicNetworkAccessEnabled to true"
        )
    if config.workspace.image_build_compute is None:
        problems.append(
            "workspace.imageBuildCompute: required when public network access is off; a private "
            "registry cannot build images, so name the compute cluster that does (ML-10)"
        )
    return problems


def _access_problems(config: StageConfig) -> list[str]:
    problems = []
    holders = [(f"personas.{name}.roles", persona.roles, True) for name, persona in config.personas.items()]
    holders.append(("deploymentIdentity.roles", config.deployment_identity.roles, False))
    for key, roles, human in holders:
        for scope, role_name in roles.items():
            role = ROLES[role_name]
            if role.escalates:
                problems.append(
                    f"{key}.{scope}: got {json.dumps(role_name)}; a role that can grant access is never assigned (RB-1, RB-8)"
                )
            elif human and role.privileged:
                problems.append(
                    f"{key}.{scope}: got {json.dumps(role_name)}; human groups get no privileged role (RB-1); use the AzureML or data roles"
                )
    owners: dict[str, str] = {}
    for name, persona in config.personas.items():
        group = persona.group_object_id.lower()
        if group in owners:
            problems.append(
                f"personas.{name}.groupObjectId: got {json.dumps(persona.group_object_id)}; already the group of persona {owners[group]} (one group, one persona)"
            )
        owners.setdefault(group, name)
    scientists = config.personas.get(DATA_SCIENTISTS)
    stage = config.stage_definition
    data_science_stages = ", ".join(entry.name for entry in config.stages if entry.data_science)
    if (
        not stage.data_science
        and scientists
        and scientists.roles.items()
        and not scientists.outside_dev_reason
    ):
        problems.append(
            f"personas.{DATA_SCIENTISTS}.roles: data scientists get no access in {config.stage} (RB-7); "
            f"remove the roles or give personas.{DATA_SCIENTISTS}.outsideDevReason"
        )
    if scientists and scientists.outside_dev_reason and stage.data_science:
        problems.append(
            f"personas.{DATA_SCIENTISTS}.outsideDevReason: only meaningful outside the data-science stages ({data_science_stages}); remove it"
        )
    for name, persona in config.personas.items():
        if persona.outside_dev_reason and name != DATA_SCIENTISTS:
            problems.append(f"personas.{name}.outsideDevReason: only the {DATA_SCIENTISTS} persona takes it")
    problems += _keyless_storage_problems(config)
    engineers = config.personas.get(ML_ENGINEERS)
    if stage.production and not (engineers and engineers.roles.items()):
        problems.append(
            f"personas.{ML_ENGINEERS}: required in {config.stage} with at least one role, or nobody can operate the stage (T-21)"
        )
    return problems


KEYLESS_DATA_ROLES = (
    ("blob", ("Storage Blob Data Contributor", "Storage Blob Data Reader")),
    ("file", ("Storage File Data Privileged Contributor", "Storage File Data Privileged Reader")),
)
"""What a person using a workspace whose storage takes no shared keys needs on that storage, per
service, either role of each pair (Microsoft Learn, machine-learning/how-to-disable-local-auth-storage)."""


def _keyless_storage_problems(config: StageConfig) -> list[str]:
    """With shared keys off, studio, notebooks and compute instances reach the default storage with
    the user's own identity, so every persona that uses the workspace needs its data roles."""
    if config.storage.shared_key_access_enabled:
        return []
    problems = []
    for name, persona in config.personas.items():
        roles = persona.roles
        uses_workspace = roles.workspace or any(role.startswith("AzureML") for role in roles.resource_group)
        if not uses_workspace:
            continue
        held = set(roles.storage_account) | set(roles.resource_group)
        missing = [options for _, options in KEYLESS_DATA_ROLES if not held & set(options)]
        if missing:
            services = " and ".join(service for service, options in KEYLESS_DATA_ROLES if options in missing)
            problems.append(
                f"personas.{name}.roles.storageAccount: got {json.dumps(roles.storage_account)}; a persona with a "
                f"workspace role needs {services} data roles where storage.sharedKeyAccessEnabled is false "
                f"(AML key-less storage): add {', and '.join(f'{a} or {b}' for a, b in missing)}"
            )
    return problems


def credential_names(config: StageConfig) -> dict[str, str]:
    """The federated credential names the stage's CI environments give its identity, by the
    config key they are built from (one identity holds them all, so they must differ)."""
    ci = config.ci
    names: dict[str, str] = {}
    if ci and ci.github:
        names["ci.github.repository"] = github_credential_name(ci.github.owner, ci.github.name, config.stack)
    if ci and ci.azure_dev_ops:
        devops = ci.azure_dev_ops
        names["ci.azureDevOps.serviceConnectionName"] = azure_devops_credential_name(
            devops.project, devops.service_connection_name or config.names.service_connection
        )
    return names


def _identity_problems(config: StageConfig) -> list[str]:
    return _owner_problems(config) + _secret_problems(config)


def _owner_problems(config: StageConfig) -> list[str]:
    """The app's owners are config, never the ambient caller: the azuread provider removes every
    owner not in config on each update (application_resource.go), so a run by another identity
    would otherwise lock the stage's deployer out."""
    identity = config.deployment_identity
    if identity.kind == IdentityKind.ENTRA_APPLICATION and identity.owners is None:
        return [
            "deploymentIdentity.owners: required with kind 'entra-application'; expected the object ids "
            "(GUIDs) of the service principal that runs `pulumi up` for this stage and of an administrator"
        ]
    if identity.kind != IdentityKind.ENTRA_APPLICATION and identity.owners is not None:
        return [f"deploymentIdentity.owners: a {identity.kind} has no owners; remove it"]
    return []


def _secret_problems(config: StageConfig) -> list[str]:
    identity = config.deployment_identity
    expiry = identity.client_secret_expiry
    if identity.credential != CredentialMode.CLIENT_SECRET:
        return (
            ["deploymentIdentity.clientSecretExpiry: set without credential 'client-secret'; remove it"]
            if expiry
            else []
        )
    if identity.kind != IdentityKind.ENTRA_APPLICATION:
        return [
            f"deploymentIdentity.credential: got 'client-secret'; a {identity.kind} has no client secret, use 'federated'"
        ]
    today = datetime.date.today()
    if expiry is None:
        return [
            "deploymentIdentity.clientSecretExpiry: required with credential 'client-secret'; expected a date YYYY-MM-DD"
        ]
    if not today < expiry <= today + datetime.timedelta(days=CLIENT_SECRET_MAX_DAYS):
        return [
            f"deploymentIdentity.clientSecretExpiry: got {json.dumps(expiry.isoformat())}; expected a date after today and at most {CLIENT_SECRET_MAX_DAYS} days ahead"
        ]
    return []
