"""`InfraAzureDevOps`: the infra pipelines' side in Azure DevOps, as `InfraRepository` is GitHub's.

- per stack: the environment `infra-<stack>` and the workload-identity service connection
  `spn-mlinfra-<stack>` that azure-pipelines.yml deploys through (templates/pulumi-up.yml), trusted
  by that stack's deployer, with approvals, branch control and the exclusive lock on both and a
  variable group `infra-<stack>` with the backend URL and secrets provider;
- `spn-mlinfra-preview`, trusted by the read-only preview identity, for azure-pipelines-drift.yml
  (no environment: drift deploys nothing);
- only the listed pipelines are authorized on each (ADO-2), as for a stage's own environment
  (mlinfra/access/azure_devops_environment.py, reused here).

A stage whose own pipelines run in Azure DevOps has its deployer create the stage's environment
and connection there: the deployer is entitled in the organization (ServicePrincipalEntitlement,
a Basic licence), and its project permissions are the declared prerequisite
`azure-devops-deployer-permissions` (prerequisites.yaml).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as ado

from bootstrap.settings import InfraAzureDevOpsSettings, InfraEnvironmentSettings
from mlinfra.access.azure_devops_environment import AzureDevOpsEnvironment, AzureDevOpsEnvironmentArgs
from mlinfra.access.deployment_identity import DeploymentIdentity

SERVICE_CONNECTION_PREFIX = "spn-mlinfra-"
"""What templates/pulumi-up.yml and azure-pipelines-drift.yml name the connections after."""
PREVIEW_SERVICE_CONNECTION = f"{SERVICE_CONNECTION_PREFIX}preview"


def environment_name(stack: str) -> str:
    return f"infra-{stack}"


def service_connection_name(stack: str) -> str:
    return f"{SERVICE_CONNECTION_PREFIX}{stack}"


@dataclass(frozen=True, kw_only=True)
class InfraAzureDevOpsArgs:
    settings: InfraAzureDevOpsSettings
    deployers: Mapping[str, tuple[InfraEnvironmentSettings, DeploymentIdentity, str]]
    """stack -> (its environment settings, its deployer, its subscription id)."""
    previewer: DeploymentIdentity
    preview_subscription_id: str
    tenant_id: str
    backend_url: str
    secrets_provider: str
    entitled: Mapping[str, DeploymentIdentity]
    """stack -> the deployer of a stage whose own pipelines run in this organization."""


class InfraAzureDevOps(pulumi.ComponentResource):
    def __init__(self, name: str, args: InfraAzureDevOpsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("mlinfra:bootstrap:InfraAzureDevOps", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        variables = {"PULUMI_BACKEND_URL": args.backend_url, "PULUMI_SECRETS_PROVIDER": args.secrets_provider}
        connections: list[tuple[str, str | None, str, DeploymentIdentity, str, InfraAzureDevOpsSettings]] = [
            (
                stack,
                environment_name(stack),
                service_connection_name(stack),
                identity,
                subscription,
                args.settings.model_copy(update={"approvers": settings.azure_dev_ops_approvers})
                if settings.azure_dev_ops_approvers is not None
                else args.settings,
            )
            for stack, (settings, identity, subscription) in args.deployers.items()
        ]
        # Drift only reads: no environment, no approvals (a nightly run nobody waits for) and no
        # lock (its matrix refreshes every stack at once).
        preview = args.settings.model_copy(update={"approvers": [], "exclusive_lock": False})
        connections.append(
            (
                "preview",
                None,
                PREVIEW_SERVICE_CONNECTION,
                args.previewer,
                args.preview_subscription_id,
                preview,
            )
        )
        for key, environment, connection, identity, subscription, settings in connections:
            AzureDevOpsEnvironment(
                f"{name}-{key}",
                AzureDevOpsEnvironmentArgs(
                    environment=environment,
                    service_connection_name=connection,
                    settings=settings,
                    identity=identity,
                    subscription_id=subscription,
                    tenant_id=args.tenant_id,
                    variable_group_name=environment_name(key),
                    variables=variables,
                ),
                opts=child,
            )
        for stack, identity in args.entitled.items():
            # Azure DevOps adds the identity to the organization (origin: Entra, by object id);
            # Basic ("express") is what creating environments and connections needs.
            ado.ServicePrincipalEntitlement(
                f"{name}-{stack}-entitlement",
                origin_id=identity.principal_id,
                origin="aad",
                account_license_type="express",
                opts=child,
            )
        self.register_outputs({})
