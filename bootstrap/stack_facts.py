"""What bootstrap reads from the stage project (`../Pulumi.yaml` and its stack files): which stacks
the infra pipelines deploy, and for each the facts its deployer's rights follow from.

The stacks are the stage project's own: every `Pulumi.<stack>.yaml` next to its `Pulumi.yaml`,
the shared stacks first, then the catalog's stages in delivery order (`mlinfra:stages`, each
stage alone or as `<workload>-<stage>`). Adding a stage to the catalog and its stack file is all
bootstrap needs; nothing repeats the list. Each stack's subscription, tenant, Entra-app use,
subnet, DNS zones and registry grants come from its stack file, so the deployer's rights follow
the stack's config.

Invalid input raises `ConfigError` with one line naming the key, the value received and what is
allowed, before anything is registered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bootstrap.abac import PRINCIPAL_TYPES, unprivileged_roles
from bootstrap.rbac import JOINER, LOCK_AUTHOR, REGISTRY_ENDPOINT_APPROVER, ROLE_AUTHOR, CustomRole
from mlinfra.config.config_error import ConfigError
from mlinfra.config.loading import config_error
from mlinfra.config.shared_config import RegistrySettings
from mlinfra.config.stage_catalog import PROJECT_FILE, deployment_order, load_catalog
from mlinfra.estate import prerequisites
from mlinfra.facts.naming import NamingError, shared_names
from mlinfra.facts.registry_roles import RegistryAccess, reader_role, registry_role
from mlinfra.facts.roles import ROLES, Role
from mlinfra.facts.stack_names import is_shared_stack, split_stack_name
from mlinfra.planner.stackfile import StackFileError, available_stacks, load_stack_config
from mlinfra.settings.access_settings import DeploymentIdentitySettings, IdentityKind
from mlinfra.settings.lock_settings import LockSettings
from mlinfra.settings.network_settings import NetworkSettings
from mlinfra.settings.registry_access_settings import RegistryAccessSettings, approval_roles
from mlinfra.settings.workspace_settings import WorkspaceSettings

STAGE_PROJECT_DIR = PROJECT_FILE.parent
"""The stage project (mlinfra) whose stacks the infra pipelines deploy."""


@dataclass(frozen=True)
class Delegation:
    """Where a deployer may assign roles, which ones and to whom: one Role Based Access Control
    Administrator assignment with the ABAC condition of `bootstrap.abac` for these."""

    scope: str
    roles: tuple[Role, ...]
    principal_types: tuple[str, ...]


@dataclass(frozen=True)
class StageFacts:
    """What bootstrap needs to know about one stack of the stage project, read from its stack file."""

    stage: str
    """The stack's name (`dev`, `fraud-prod`, `shared`): its deployer is `deploy-<stage>`."""
    subscription_id: str
    tenant_id: str
    deploys_entra_application: bool
    subnet_ids: tuple[str, ...]
    dns_zone_ids: tuple[str, ...]
    """The existing private DNS zones its private endpoints register in, except the landing zone's:
    those are the hub team's, whose grant `prerequisites.yaml` declares (hub-dns-zones-join)."""
    github_repository: str | None
    """`owner/name` of the ML repository whose environment the stage's deployer manages, if any."""
    delegations: tuple[Delegation, ...] = ()
    """Where its deployer grants roles (RBAC Administrator with a condition for exactly these)."""
    adds_other_owners: bool = False
    """Its Entra app lists owners besides the deployer, which Graph lets only a caller with
    Directory.Read.All add (Microsoft Graph, "Add owner": application-post-owners)."""
    defines_roles: bool = False
    """It creates custom role definitions (the shared stack's registry reader role)."""
    manages_locks: bool = False
    """Its plan places or removes management locks (a production stage: mlinfra/settings/lock_settings.py)."""
    registry_endpoint_scope: str | None = None
    """The shared registry's subscription, where its managed network's endpoint to the registry is
    approved (its deployer initiates it)."""
    azure_devops_organization: str | None = None
    """`https://dev.azure.com/<org>` of the Azure DevOps project the stage's pipelines run in, if
    any: its deployer creates the stage's environment and service connection there."""

    @property
    def shared(self) -> bool:
        return is_shared_stack(self.stage)

    def custom_role_scopes(self) -> list[tuple[CustomRole, str]]:
        """Where its deployer needs each of bootstrap's custom roles."""
        subscription = f"/subscriptions/{self.subscription_id}"
        # Contributor on its own subscription already allows joining there (its actions are `*`):
        # the joiner role is for subnets and zones in other subscriptions only (least privilege).
        own = f"{subscription}/".lower()
        scopes = [
            (JOINER, scope)
            for scope in (*self.subnet_ids, *self.dns_zone_ids)
            if not scope.lower().startswith(own)
        ]
        if self.defines_roles:
            # At the subscription: bootstrap runs before the stack creates the registry's resource
            # group, and an assignment's scope must exist.
            scopes.append((ROLE_AUTHOR, subscription))
        if self.manages_locks:
            scopes.append((LOCK_AUTHOR, subscription))
        if self.registry_endpoint_scope:
            scopes.append((REGISTRY_ENDPOINT_APPROVER, self.registry_endpoint_scope))
        return scopes


def merged(delegations: list[Delegation]) -> tuple[Delegation, ...]:
    """One delegation per scope and principal types: delegations alike are joined into one condition
    (a stage's own subscription may hold the shared registry too)."""
    by_scope: dict[tuple[str, tuple[str, ...]], Delegation] = {}
    for delegation in delegations:
        # Joined only for the same principal types: a privileged role stays service-principal only.
        key = (delegation.scope.lower(), delegation.principal_types)
        if key in by_scope:
            known = by_scope[key]
            roles = known.roles + tuple(r for r in delegation.roles if r not in known.roles)
            delegation = Delegation(known.scope, roles, known.principal_types)
        by_scope[key] = delegation
    return tuple(by_scope.values())


def project_stacks(project_dir: Path | None = None) -> list[str]:
    """The stage project's stacks in deployment order (shared first, then the catalog's). A stack
    file of no catalog stage is refused by the stage project itself (planner), so it is left to it."""
    project_dir = project_dir or STAGE_PROJECT_DIR
    return deployment_order(available_stacks(project_dir), project_dir / "Pulumi.yaml")


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except (json.JSONDecodeError, RecursionError):
        return value


BOOTSTRAP_PROJECT_FILE = Path(__file__).resolve().parent / "Pulumi.yaml"


def bootstrap_error(problems: str | list[str]) -> ConfigError:
    """A ConfigError of the bootstrap stack: each problem set against bootstrap's own files."""
    return config_error(problems, BOOTSTRAP_PROJECT_FILE)


def _invalid(key: str, stack: str, error: ValidationError) -> ConfigError:
    return bootstrap_error(
        f"{key}: Pulumi.{stack}.yaml is not valid; plan it first "
        f"(mlinfra --stack {stack}): {error.errors(include_url=False)[0]['msg']}"
    )


def hub_zones(project_dir: Path) -> frozenset[str]:
    """The landing zone's private DNS zones (`prerequisites.yaml`, lower-cased ids): joined through
    the hub team's grant, not bootstrap's, since bootstrap's administrator holds no rights there."""
    try:
        zones = prerequisites.load(project_dir).landing_zone.private_dns_zone_ids
    except prerequisites.PrerequisitesError as error:
        raise bootstrap_error(str(error)) from None
    return frozenset(zone.lower() for zone in zones)


def _own_zones(zone_ids, project_dir: Path) -> tuple[str, ...]:
    hub = hub_zones(project_dir)
    return tuple(sorted(zone for zone in set(zone_ids) if zone.lower() not in hub))


def stage_facts(namespace: str, stage: str, tenant_id: str, project_dir: Path | None = None) -> StageFacts:
    project_dir = project_dir or STAGE_PROJECT_DIR
    key = f"{namespace}:stages.{stage}"
    try:
        stack = load_stack_config(project_dir, stage)
    except StackFileError as error:
        raise bootstrap_error(
            f"{key}: no stack of that name in the stage project ({error}); "
            f"expected one of {', '.join(project_stacks(project_dir))}"
        ) from None
    project = stack.project
    subscription = stack.values.get("azure-native:subscriptionId")
    stage_tenant = stack.values.get("azure-native:tenantId")
    if not subscription or not stage_tenant:
        raise bootstrap_error(f"{key}: Pulumi.{stage}.yaml sets no azure-native:subscriptionId/tenantId")
    if stage_tenant.lower() != tenant_id.lower():
        raise bootstrap_error(
            f"{key}: got stage tenant {json.dumps(stage_tenant)}; expected the bootstrap "
            f"tenant {tenant_id} (an identity signs in to its own tenant only)"
        )
    if is_shared_stack(stage):
        return _shared_facts(key, stack, subscription, stage_tenant, project_dir)
    try:
        identity = DeploymentIdentitySettings.model_validate(
            _decode(stack.values.get(f"{project}:deploymentIdentity", "{}")), by_name=False
        )
        network = NetworkSettings.model_validate(
            _decode(stack.values.get(f"{project}:network", "{}")), by_name=False
        )
        registry = RegistryAccessSettings.model_validate(
            _decode(stack.values.get(f"{project}:registry", "{}")), by_name=False
        )
        lock = LockSettings.model_validate(_decode(stack.values.get(f"{project}:lock", "{}")), by_name=False)
        workspace = WorkspaceSettings.model_validate(
            _decode(stack.values.get(f"{project}:workspace", "{}")), by_name=False
        )
    except ValidationError as error:
        raise _invalid(key, stage, error) from None
    endpoints = network.private_endpoints
    own = workspace.shared_from is None  # a stage on another's workspace makes no managed-network rule
    catalog = {entry.name: entry for entry in load_catalog(project_dir / "Pulumi.yaml")}
    trait = catalog.get(split_stack_name(stage)[1])
    production = bool(trait and trait.production)
    ci = _decode(stack.values.get(f"{project}:ci", "{}"))
    github = ci.get("github") if isinstance(ci, dict) else None
    repository = github.get("repository") if isinstance(github, dict) else None
    azure_devops = ci.get("azureDevOps") if isinstance(ci, dict) else None
    organization = azure_devops.get("organizationUrl") if isinstance(azure_devops, dict) else None
    delegations = [Delegation(f"/subscriptions/{subscription}", tuple(unprivileged_roles()), PRINCIPAL_TYPES)]
    privileged = sorted(
        {
            ROLES[name]
            for _, name in identity.roles.items()
            if ROLES[name].privileged and not ROLES[name].escalates
        },
        key=lambda role: role.name,
    )
    if privileged:
        # Only what the stack file grants its own identities, and only to service principals.
        delegations.append(
            Delegation(f"/subscriptions/{subscription}", tuple(privileged), ("ServicePrincipal",))
        )
    approvers = approval_roles(registry, workspace.isolation_mode, own)
    registry_delegation = None
    if registry.stack and (registry.wants_access() or approvers):
        registry_delegation = _registry_delegation(key, project_dir, registry, tenant_id, approvers)
        delegations.append(registry_delegation)
    entra = identity.kind == IdentityKind.ENTRA_APPLICATION
    return StageFacts(
        stage=stage,
        subscription_id=subscription,
        tenant_id=stage_tenant,
        deploys_entra_application=entra,
        subnet_ids=(endpoints.subnet_id,) if endpoints and endpoints.subnet_id else (),
        dns_zone_ids=_own_zones((endpoints.dns_zone_ids or {}).values(), project_dir) if endpoints else (),
        github_repository=repository if isinstance(repository, str) else None,
        delegations=merged(delegations),
        adds_other_owners=entra and bool(identity.owners),
        # Production keeps the right while its locks are off for a planned teardown (kind None).
        manages_locks=lock.active(production) or production,
        registry_endpoint_scope=registry_delegation.scope if registry_delegation and approvers else None,
        azure_devops_organization=str(organization).rstrip("/") if organization else None,
    )


def _registry_delegation(
    key: str, project_dir: Path, registry: RegistryAccessSettings, tenant_id: str, approvers: tuple[Role, ...]
) -> Delegation:
    """A stage grants its own identities (service principals) a registry role on the shared
    registry: publish is AzureML Registry User, read the shared stack's custom reader role.
    Granted at the registry's subscription: bootstrap runs before the shared stack creates the
    registry and its resource group, and an assignment needs its scope to exist (Microsoft Learn,
    "Assign Azure roles using the REST API": scope is an existing resource)."""
    shared_stack = str(registry.stack).rsplit("/", 1)[-1]
    shared = stage_facts(key.split(":", 1)[0], shared_stack, tenant_id, project_dir)
    workload = _shared_workload(project_dir, shared_stack)
    reader = reader_role(workload)
    accesses = {registry.deployment_identity} if registry.deployment_identity else set()
    if registry.workspace_identity:
        accesses.add(RegistryAccess.READ)
    # With the approver role its workspace identity approves its managed network's endpoint to the
    # registry (mlinfra/settings/registry_access_settings.py, approval_roles).
    roles = tuple(
        sorted({registry_role(access, reader) for access in accesses} | set(approvers), key=lambda r: r.name)
    )
    return Delegation(f"/subscriptions/{shared.subscription_id}", roles, ("ServicePrincipal",))


def _shared_workload(project_dir: Path, stack: str) -> str:
    values = load_stack_config(project_dir, stack).values
    return str(values.get("mlinfra:workload", ""))


def _shared_facts(key: str, stack, subscription: str, tenant: str, project_dir: Path) -> StageFacts:
    """The shared stack: the registry, its private endpoint in an existing subnet and hub zone,
    its custom reader role, and the personas' grants on it (groups)."""
    try:
        settings = RegistrySettings.model_validate(
            _decode(stack.values.get(f"{stack.project}:registry", "{}")), by_name=False
        )
    except ValidationError as error:
        raise _invalid(key, stack.stack, error) from None
    workload = str(stack.values.get("mlinfra:workload", ""))
    location = str(stack.values.get("azure-native:location", ""))
    try:
        shared_names(workload=workload, location=location)  # refused here, not at the shared stack's `up`
    except NamingError as error:
        raise bootstrap_error(f"{key}: Pulumi.{stack.stack}.yaml: {error}") from None
    reader = reader_role(workload)
    roles = tuple(
        sorted({registry_role(p.access, reader) for p in settings.personas.values()}, key=lambda r: r.name)
    )
    endpoint = settings.private_endpoint
    return StageFacts(
        stage=stack.stack,
        subscription_id=subscription,
        tenant_id=tenant,
        deploys_entra_application=False,
        subnet_ids=(endpoint.subnet_id,) if endpoint else (),
        dns_zone_ids=_own_zones(endpoint.dns_zone_ids.values(), project_dir) if endpoint else (),
        github_repository=None,
        # The registry's resource group is created by the shared stack itself (after bootstrap).
        delegations=(Delegation(f"/subscriptions/{subscription}", roles, ("Group",)),) if roles else (),
        defines_roles=True,
    )
