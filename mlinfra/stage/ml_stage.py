"""`MlStage`: everything one stage needs, composed from its configuration.

Reads top to bottom; no branching on the stage's name (stage differences are data).
"""

from dataclasses import dataclass
from typing import Protocol

import pulumi
from pulumi_azure_native import resources

from mlinfra.access.access import StageAccess, StageAccessArgs
from mlinfra.access.deployment_identity import DeploymentIdentity, DeploymentIdentityArgs
from mlinfra.access.grants import HolderKind, Principal, PrincipalType, Scope, grant
from mlinfra.access.registry_access import RegistryAccessArgs, SharedRegistryAccess, registry_reference
from mlinfra.config.rules.private_stage_checks import monitoring_choice, monitoring_scope
from mlinfra.config.rules.production_rules import active_relaxations
from mlinfra.config.rules.workspace_sharing import owner_stage
from mlinfra.config.stage_config import StageConfig
from mlinfra.facts.registry_roles import RegistryAccess
from mlinfra.facts.roles import ROLES
from mlinfra.settings.access_settings import IdentityKind
from mlinfra.settings.ci_settings import AzureDevOpsSettings, GitHubSettings
from mlinfra.settings.network_settings import WORKSPACE_GROUPS
from mlinfra.settings.registry_access_settings import makes_registry_rule
from mlinfra.settings.workspace_settings import IsolationMode, ScopeMode
from mlinfra.stage.diagnostics import stage_diagnostics
from mlinfra.stage.locks import stage_locks
from mlinfra.stage.ml_workspace import MlWorkspace, MlWorkspaceArgs
from mlinfra.stage.shared_workspace import SharedWorkspace, SharedWorkspaceArgs
from mlinfra.stage.stage_network import StageNetwork, StageNetworkArgs


def pipeline_variables(
    config: StageConfig, shared: SharedWorkspace | None = None
) -> dict[str, pulumi.Input[str]]:
    """What a pipeline needs to find the stage, the same on both platforms: GitHub environment
    variables, Azure DevOps variable group. Plan-time names for an own workspace, not outputs: a
    variable that only names the workspace need not wait minutes for it to be created (shallower
    deployment graph). A stage that shares a workspace names the owner's, from its stack outputs."""
    names = config.names
    where: dict[str, pulumi.Input[str]] = (
        {
            "AZUREML_WORKSPACE_NAME": shared.workspace_name,
            "AZURE_RESOURCE_GROUP": shared.resource_group_name,
            "AZUREML_NETWORK": shared.network,
        }
        if shared is not None
        else {
            "AZUREML_WORKSPACE_NAME": names.workspace,
            "AZURE_RESOURCE_GROUP": names.resource_group,
            # Lets a job check it runs where the stage is reachable (private stages).
            "AZUREML_NETWORK": "public" if config.own_network.public_network_access_enabled else "private",
        }
    )
    return {
        "AZUREML_WORKSPACE_NAME": where["AZUREML_WORKSPACE_NAME"],
        "AZURE_RESOURCE_GROUP": where["AZURE_RESOURCE_GROUP"],
        "AZURE_LOCATION": config.location,
        "AZUREML_NETWORK": where["AZUREML_NETWORK"],
        **({"AZUREML_RUNNER_GROUP": config.ci.runner_group} if config.ci and config.ci.runner_group else {}),
    }


class GitHubEnvironmentOutputs(Protocol):
    """What callers read of a `GitHubEnvironment` (its module loads only for stages that use it)."""

    environment_name: pulumi.Output[str]


class AzureDevOpsEnvironmentOutputs(Protocol):
    """What callers read of an `AzureDevOpsEnvironment` (its module loads only when used)."""

    service_connection_name: str
    variable_group_name: str


@dataclass(frozen=True, kw_only=True)
class MlStageArgs:
    config: StageConfig
    """The stage's validated configuration (see `mlinfra.config.loading.load_stage_config`)."""


class MlStage(pulumi.ComponentResource):
    """The resource group of a stage, its ML workspace, its pipeline identity and who may do what."""

    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    network: StageNetwork | None
    workspace: MlWorkspace | None
    """The stage's own workspace; None when it shares another stage's (`shared_workspace`)."""
    shared_workspace: SharedWorkspace | None
    compute: pulumi.ComponentResource | None
    outbound_rules: pulumi.ComponentResource | None
    monitoring_scope: pulumi.ComponentResource | None
    identity: DeploymentIdentity
    access: StageAccess
    # Typed by what callers read: Pulumi resolves these annotations at run time, and the
    # environment modules are imported only by stages that use them.
    github_environment: GitHubEnvironmentOutputs | None
    azure_devops_environment: AzureDevOpsEnvironmentOutputs | None

    def __init__(self, name: str, args: MlStageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:components:MlStage", name, None, opts)
        config = args.config
        names = config.names
        tags = {
            **config.tags,
            "workload": config.workload,
            "stage": config.stage,
            "managed-by": "pulumi",
        }
        # The shared registry (docs/model-promotion.md, "Model promotion"): its id comes from the shared stack's outputs.
        self.registry_reference = (
            registry_reference(name, config.registry.stack, self) if config.registry.stack else None
        )
        self.network = self.workspace = self.shared_workspace = None
        self.compute = self.outbound_rules = self.monitoring_scope = None
        self.monitoring_scope_request: dict[str, object] | None = None
        scopes = (
            self._shared_workspace(name, config)
            if config.workspace.shared_from is not None
            else self._own_workspace(name, config, tags)
        )

        identity_settings = config.deployment_identity
        providers = []
        if identity_settings.kind == IdentityKind.ENTRA_APPLICATION:
            import pulumi_azuread as azuread  # only what the stage uses is loaded (start-up cost, P8)

            # Entra objects go to the stage's own tenant, never to whatever the ambient login says.
            providers.append(
                azuread.Provider(
                    f"{name}-entra", tenant_id=config.tenant_id, opts=pulumi.ResourceOptions(parent=self)
                )
            )
        self.identity = DeploymentIdentity(
            f"{name}-deploy",
            DeploymentIdentityArgs(
                display_name=names.deployment_identity,
                resource_group_name=self.resource_group_name,
                location=config.location,
                tags=tags,
                kind=identity_settings.kind,
                credential=identity_settings.credential,
                client_secret_expiry=identity_settings.client_secret_expiry,
                owners=identity_settings.owners or (),
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=providers),
        )

        self.access = StageAccess(
            f"{name}-access",
            StageAccessArgs(
                subscription_id=config.subscription_id,
                scopes=scopes,
                personas=config.personas,
                identity=Principal(
                    key=names.deployment_identity,
                    object_id=self.identity.principal_id,
                    type=PrincipalType.SERVICE_PRINCIPAL,  # app SPs and managed identities alike (P1)
                    holder=HolderKind.IDENTITY,
                    label="deployment",
                ),
                identity_roles=identity_settings.roles,
                scope_subscription=self.shared_workspace.subscription_id if self.shared_workspace else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.registry_access = None
        registry_stack = config.registry.stack
        if self.registry_reference is not None and registry_stack and config.registry.wants_access():
            self.registry_access = SharedRegistryAccess(
                f"{name}-registry",
                RegistryAccessArgs(
                    stack=registry_stack,
                    reference=self.registry_reference,
                    subscription_id=config.subscription_id,
                    workload=config.workload,
                    holders=self._registry_holders(config),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )

        # A relaxed production rule is recorded in the state, so every preview, plan and diff shows it.
        for rule, reason in active_relaxations(config).items():
            pulumi.ComponentResource(
                "mlinfra:policy:ProductionRelaxation",
                f"{name}-relaxed-{rule}",
                {"stage": config.stage, "rule": rule, "reason": reason},
                opts=pulumi.ResourceOptions(parent=self),
            )

        ci = config.ci
        self.github_environment = (
            self._github_environment(name, config, ci.github) if ci and ci.github else None
        )
        self.azure_devops_environment = (
            self._azure_devops_environment(name, config, ci.azure_dev_ops)
            if ci and ci.azure_dev_ops
            else None
        )

        self.register_outputs(
            {"resourceGroupName": self.resource_group_name, "workspaceName": self.workspace_name}
        )

    def _own_workspace(self, name: str, config: StageConfig, tags: dict[str, str]) -> dict[str, Scope]:
        """The stage's resource group, network, workspace and its extras; the scopes grants target."""
        names = config.names
        protection = config.resource_protection

        group = resources.ResourceGroup(
            f"{name}-rg",
            resource_group_name=names.resource_group,
            location=config.location,
            tags=tags,
            # Deleting the group deletes everything in it, so it is protected with the rest (PU-3).
            opts=pulumi.ResourceOptions(
                parent=self, protect=protection.protect, retain_on_delete=protection.retain_on_delete
            ),
        )

        endpoints = config.own_network.private_endpoints
        scope_settings = monitoring_scope(config)
        self.network = (
            None
            if endpoints is None
            else StageNetwork(
                f"{name}-network",
                StageNetworkArgs(
                    settings=endpoints,
                    network_name=names.virtual_network,
                    resource_group_name=group.name,
                    location=config.location,
                    tags=tags,
                    groups=WORKSPACE_GROUPS + (("azuremonitor",) if scope_settings else ()),
                    subscription_id=config.subscription_id,
                    tenant_id=config.tenant_id,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        )

        self.workspace = MlWorkspace(
            f"{name}-ml",
            MlWorkspaceArgs(
                names=names,
                subscription_id=config.subscription_id,
                resource_group_name=group.name,
                location=config.location,
                tenant_id=config.tenant_id,
                tags=tags,
                network=config.own_network,
                storage=config.storage,
                key_vault=config.key_vault,
                container_registry=config.container_registry,
                encryption=config.encryption,
                monitoring=config.monitoring,
                workspace=config.workspace,
                protection=protection,
                private_link=self.network.link if self.network else None,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.compute, self.outbound_rules, self.monitoring_scope = self._workspace_extras(name, config, tags)
        self.diagnostics = stage_diagnostics(name, config, self.workspace, self)
        self.locks = stage_locks(name, config, self.workspace, self)
        workspace = self.workspace
        self.resource_group_name, self.resource_group_id = group.name, group.id
        self.workspace_name = workspace.workspace_name
        self.workspace_id = workspace.workspace_id
        scopes = [
            Scope("resourceGroup", names.resource_group, group.id),
            Scope("workspace", names.workspace, workspace.workspace_id),
            Scope("storageAccount", names.storage_account, workspace.storage_account_id),
            Scope("keyVault", names.key_vault, workspace.key_vault_id),
            Scope("containerRegistry", names.container_registry, workspace.container_registry_id),
        ]
        return {scope.kind: scope for scope in scopes}

    def _shared_workspace(self, name: str, config: StageConfig) -> dict[str, Scope]:
        """Another stage's workspace, read from its stack (ML-16); its scopes, for this stage's grants."""
        reference, owner = config.workspace.shared_from, owner_stage(config)
        assert reference is not None and owner is not None  # config validation guarantees both
        shared = SharedWorkspace(
            f"{name}-shared-workspace",
            SharedWorkspaceArgs(
                stack=reference,
                owner_stage=owner.name,
                stage=config.stage,
                personas=config.personas,
                reason=config.workspace.shared_with_data_science_reason,
                hosted_runners=config.ci is not None and not config.ci.runner_group,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.shared_workspace = shared
        self.resource_group_name = shared.resource_group_name
        self.resource_group_id = pulumi.Output.from_input(shared.scopes["resourceGroup"].id)
        self.workspace_name = shared.workspace_name
        self.workspace_id = shared.workspace_id
        return shared.scopes

    def _registry_holders(self, config: StageConfig) -> dict[str, tuple[Principal, RegistryAccess]]:
        """The stage's own identities on the shared registry, from `mlinfra:registry`; groups are the
        shared stack's to grant (RB-11)."""
        settings, names = config.registry, config.names
        holders: dict[str, tuple[Principal, RegistryAccess]] = {}
        if settings.deployment_identity is not None:
            holders["deployment"] = (
                Principal(
                    names.deployment_identity,
                    self.identity.principal_id,
                    PrincipalType.SERVICE_PRINCIPAL,
                    HolderKind.IDENTITY,
                    "deployment",
                ),
                settings.deployment_identity,
            )
        if settings.workspace_identity and self.workspace is not None:  # a shared one is its owner's (ML-16)
            # Read only: the workspace deploys registry models, it never publishes (issue 15).
            holders["workspace"] = (
                Principal(
                    names.workspace,
                    self.workspace.principal_id,
                    PrincipalType.SERVICE_PRINCIPAL,
                    HolderKind.IDENTITY,
                    names.workspace,
                ),
                RegistryAccess.READ,
            )
        return holders

    def _workspace_extras(self, name: str, config: StageConfig, tags: dict[str, str]):
        """Compute clusters, managed-network outbound rules and the monitoring private link scope."""
        from mlinfra.stage.compute import WorkspaceCompute, WorkspaceComputeArgs

        workspace, public = self.workspace, config.own_network.public_network_access_enabled
        assert workspace is not None
        child = pulumi.ResourceOptions(parent=self)
        settings = config.workspace
        rules = None
        # Every managed network reaches the shared registry through a private-endpoint rule, whatever
        # its isolation mode, so jobs and deployments use it whether or not it is public
        # (docs/networking.md, "Registry"); the workspace's identity approves the connection.
        registry_id = (
            self.registry_reference.require_output("registryId")
            if self.registry_reference is not None
            and makes_registry_rule(config.registry, settings.isolation_mode, own_workspace=True)
            else None
        )
        if (
            settings.outbound_rules
            or settings.outbound_rule_sets
            or settings.batch_endpoints_enabled
            or registry_id is not None
        ):
            from mlinfra.stage.outbound_rules import (
                ManagedNetworkRules,
                ManagedNetworkRulesArgs,
                RegistryApproval,
            )

            rules = ManagedNetworkRules(
                f"{name}-outbound",
                ManagedNetworkRulesArgs(
                    workspace_name=workspace.workspace_name,
                    resource_group_name=workspace.resource_group_name,
                    rules=settings.outbound_rules,
                    rule_sets=tuple(settings.outbound_rule_sets),
                    storage_account_id=workspace.storage_account_id
                    if settings.batch_endpoints_enabled
                    else None,
                    registry_id=registry_id,
                    registry_approval=RegistryApproval(
                        principal=Principal(
                            config.names.workspace,
                            workspace.principal_id,
                            PrincipalType.SERVICE_PRINCIPAL,
                            HolderKind.IDENTITY,
                            config.names.workspace,
                        ),
                        subscription_id=config.subscription_id,
                        shared_stack=str(config.registry.stack),
                    )
                    if registry_id is not None
                    else None,
                ),
                opts=child,
            )
        scope = None
        names = config.names
        choice = monitoring_choice(config)
        scoped: dict[str, pulumi.Input[str]] = {
            names.log_analytics: workspace.log_analytics_id,
            names.application_insights: workspace.application_insights_id,
        }
        scope_id: pulumi.Input[str] | None = choice.hub_scope_id
        if choice.mode == ScopeMode.OWNED and self.network is not None:
            from mlinfra.stage.monitoring_scope import MONITOR_GROUP, MonitoringScope, MonitoringScopeArgs

            assert choice.ingestion_access_mode is not None and choice.query_access_mode is not None
            scope_name = f"ampls-{names.workspace.removeprefix('mlw-')}"
            scope = MonitoringScope(
                f"{name}-monitoring",
                MonitoringScopeArgs(
                    scope_name=scope_name,
                    resource_group_name=workspace.resource_group_name,
                    tags=tags,
                    ingestion_access_mode=choice.ingestion_access_mode,
                    query_access_mode=choice.query_access_mode,
                    scoped=scoped,
                    link=self.network.link,
                    endpoint_name=names.private_endpoint(scope_name, MONITOR_GROUP),
                ),
                opts=child,
            )
            scope_id = scope.scope_id
            if settings.isolation_mode != IsolationMode.DISABLED:
                # F4: the managed network's endpoint to this scope is approved by the workspace's
                # identity (how-to-managed-network.md, "Approval of private endpoints": the Azure AI
                # Enterprise Network Connection Approver role, which covers Azure Monitor).
                grant(
                    f"{name}-monitoring",
                    subscription_id=config.subscription_id,
                    principal=Principal(
                        key=names.workspace,
                        object_id=workspace.principal_id,
                        type=PrincipalType.SERVICE_PRINCIPAL,
                        holder=HolderKind.IDENTITY,
                        label=names.workspace,
                    ),
                    role=ROLES["Azure AI Enterprise Network Connection Approver"],
                    scope=Scope("monitoringScope", scope_name, scope.scope_id),
                    parent=self,
                )
        managed = settings.isolation_mode != IsolationMode.DISABLED
        monitor_rule = None
        if scope_id is not None and managed:
            from mlinfra.stage.monitoring_scope import managed_network_rule

            # F4: managed compute and endpoints reach the scope only through the managed network.
            monitor_rule = managed_network_rule(
                f"{name}-outbound",
                workspace_name=workspace.workspace_name,
                resource_group_name=workspace.resource_group_name,
                scope_id=scope_id,
                after=[r for r in (rules, scope) if r is not None],
                parent=self,
            )
        if choice.mode == ScopeMode.HUB and choice.hub_scope_id is not None:
            from mlinfra.stage.monitoring_scope import hub_scope_request

            self.monitoring_scope_request = hub_scope_request(choice.hub_scope_id, scoped, managed)
        compute = WorkspaceCompute(
            f"{name}-compute",
            WorkspaceComputeArgs(
                workspace_name=workspace.workspace_name,
                resource_group_name=workspace.resource_group_name,
                location=config.location,
                tags=tags,
                settings=config.compute,
                image_build_compute=config.workspace.image_build_compute,
                node_public_ip=public,
                workspace_physical_name=names.workspace,
                subscription_id=config.subscription_id,
                keyless_storage=None
                if config.storage.shared_key_access_enabled
                else Scope("storageAccount", names.storage_account, workspace.storage_account_id),
                # The managed network and its rules first (R1): the first cluster would otherwise
                # start the network's provisioning while the rules are still being written.
                after=tuple(r for r in (rules, scope, monitor_rule) if r is not None),
            ),
            opts=child,
        )
        return compute, rules, scope

    def _github_environment(
        self, name: str, config: StageConfig, settings: GitHubSettings
    ) -> GitHubEnvironmentOutputs:
        """The stage's GitHub environment, with what a workflow needs to reach the stage."""
        import pulumi_github as github  # loaded only by stages that use GitHub (P8)

        from mlinfra.access.github_environment import (
            GitHubEnvironment,
            GitHubEnvironmentArgs,
        )

        secrets = {
            "AZURE_CLIENT_ID": self.identity.client_id,
            "AZURE_TENANT_ID": config.tenant_id,
            "AZURE_SUBSCRIPTION_ID": config.subscription_id,
        }
        if self.identity.client_secret is not None:
            # The JSON `azure/login` takes in `creds:` (client-secret mode only).
            secrets["AZURE_CREDENTIALS"] = pulumi.Output.json_dumps(
                {
                    "clientId": self.identity.client_id,
                    "clientSecret": self.identity.client_secret,
                    "subscriptionId": config.subscription_id,
                    "tenantId": config.tenant_id,
                }
            )
        repository_owner = github.Provider(
            f"{name}-github", owner=settings.owner, opts=pulumi.ResourceOptions(parent=self)
        )
        return GitHubEnvironment(
            f"{name}-github",
            GitHubEnvironmentArgs(
                environment=config.stack,
                settings=settings,
                identity=self.identity,
                secrets=secrets,
                variables=pipeline_variables(config, self.shared_workspace),
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[repository_owner]),
        )

    def _azure_devops_environment(
        self, name: str, config: StageConfig, settings: AzureDevOpsSettings
    ) -> AzureDevOpsEnvironmentOutputs:
        """The stage's Azure DevOps environment and workload-identity service connection."""
        import pulumi_azuredevops as azuredevops  # loaded only by stages that use Azure DevOps (P8)

        from mlinfra.access.azure_devops_environment import (
            AzureDevOpsEnvironment,
            AzureDevOpsEnvironmentArgs,
        )

        organization = azuredevops.Provider(
            f"{name}-azure-devops",
            org_service_url=settings.organization_url,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return AzureDevOpsEnvironment(
            f"{name}-azure-devops",
            AzureDevOpsEnvironmentArgs(
                environment=config.stack,
                service_connection_name=settings.service_connection_name or config.names.service_connection,
                settings=settings,
                identity=self.identity,
                subscription_id=config.subscription_id,
                tenant_id=config.tenant_id,
                variable_group_name=settings.variable_group_name or config.names.variable_group,
                variables=pipeline_variables(config, self.shared_workspace),
                agent_pool=config.ci.runner_group if config.ci else None,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[organization]),
        )
