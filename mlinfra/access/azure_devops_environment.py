"""`AzureDevOpsEnvironment`: the Azure DevOps environment and the workload-identity service
connection one stage's pipelines deploy through.

The connection uses workload identity federation with the stage's deployment identity
(ADO-1). It names no resource group: the provider accepts `resource_group` only for an
automatic connection and refuses it next to `credentials` (ConflictsWith). What the
connection may do is what the identity's role assignments allow, which are narrower than the
resource group. The identity's federated credential is
built from the connection's own issuer and subject outputs, never by hand: Azure DevOps
changed both formats (P16). The checks live on the environment and on the connection
(approvals, branch control, exclusive lock: ADO-3; the required templates of the hardened mode).
A variable group carries the values a GitHub environment gets as variables. Only the listed pipelines are authorized on the
environment, the connection and the variable group, never "all pipelines" (ADO-2).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azuredevops as ado

from mlinfra.access.deployment_identity import DeploymentIdentity
from mlinfra.facts.credential_names import azure_devops_credential_name
from mlinfra.settings.ci_settings import AzureDevOpsSettings


@dataclass(frozen=True, kw_only=True)
class AzureDevOpsEnvironmentArgs:
    environment: str | None
    """Environment name (a stage's: its stack name, exactly); None for a service connection that
    no deployment job uses (the read-only preview identity's)."""
    service_connection_name: str
    """Name pipelines use in `azureSubscription:`."""
    settings: AzureDevOpsSettings
    """Project, approvers, allowed branches, lock and authorized pipelines."""
    identity: DeploymentIdentity
    """The stage's deployment identity, which gets the federated credential."""
    subscription_id: str
    """Subscription the connection targets."""
    tenant_id: str
    """Tenant of the deployment identity."""
    variable_group_name: str
    """Name of the stage's variable group."""
    variables: Mapping[str, pulumi.Input[str]]
    """Pipeline variables by name (not secret: workspace, resource group, region); at least one."""
    agent_pool: str | None = None
    """The agent pool (queue) the stage's jobs run on (`ci.runnerGroup`): authorized for the same
    pipelines, or the first run waits for a manual "Permit" (review-3-identity-ci R7)."""


class AzureDevOpsEnvironment(pulumi.ComponentResource):
    service_connection_id: pulumi.Output[str]
    service_connection_name: str
    variable_group_name: str

    def __init__(
        self, name: str, args: AzureDevOpsEnvironmentArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("mlinfra:components:AzureDevOpsEnvironment", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        lookup = pulumi.InvokeOutputOptions(parent=self)
        project_id = ado.get_project_output(name=settings.project, opts=lookup).id
        approver_ids = [
            ado.get_group_output(project_id=project_id, name=group, opts=lookup).origin_id
            for group in settings.approvers
        ]

        target_name = args.environment or args.service_connection_name
        label = f"Stage {args.environment}" if args.environment else f"Service connection {target_name}"
        environment = (
            ado.Environment(
                f"{name}-environment",
                project_id=project_id,
                name=args.environment,
                description=f"Stage {args.environment}: managed by Pulumi",
                opts=child,
            )
            if args.environment
            else None
        )
        connection = ado.ServiceEndpointAzureRM(
            f"{name}-connection",
            project_id=project_id,
            service_endpoint_name=args.service_connection_name,
            service_endpoint_authentication_scheme="WorkloadIdentityFederation",
            credentials=ado.ServiceEndpointAzureRMCredentialsArgs(serviceprincipalid=args.identity.client_id),
            azurerm_spn_tenantid=args.tenant_id,
            azurerm_subscription_id=args.subscription_id,
            azurerm_subscription_name=f"{target_name} ({args.subscription_id})",
            # No `resource_group`: it ConflictsWith `credentials` (manual WIF) in the provider.
            description=f"{label}, workload identity federation: managed by Pulumi",
            opts=child,
        )
        args.identity.trust(
            f"{name}-federation",
            credential_name=azure_devops_credential_name(settings.project, args.service_connection_name),
            issuer=connection.workload_identity_federation_issuer,  # P16: read back, never hand-built
            subject=connection.workload_identity_federation_subject,
            description=f"Azure DevOps service connection {args.service_connection_name} of project {settings.project}",
            parent=self,
        )

        variable_group = ado.VariableGroup(
            f"{name}-variables",
            project_id=project_id,
            name=args.variable_group_name,
            description=f"{label}: where its pipelines deploy; managed by Pulumi",
            allow_access=False,  # ADO-2: true would open it to every pipeline of the project
            variables=[
                ado.VariableGroupVariableArgs(name=variable, value=value)
                for variable, value in args.variables.items()
            ],
            opts=child,
        )

        protected = [("endpoint", connection.id)]
        if environment is not None:
            protected.insert(0, ("environment", environment.id))
        for kind, target in protected:
            if approver_ids:
                ado.CheckApproval(
                    f"{name}-{kind}-approval",
                    project_id=project_id,
                    target_resource_type=kind,
                    target_resource_id=target,
                    approvers=approver_ids,
                    minimum_required_approvers=settings.minimum_approvers,
                    requester_can_approve=False,
                    instructions=f"Approve deployments to {label[0].lower()}{label[1:]}.",
                    opts=child,
                )
            ado.CheckBranchControl(
                f"{name}-{kind}-branch-control",
                project_id=project_id,
                target_resource_type=kind,
                target_resource_id=target,
                display_name=f"Only {', '.join(settings.allowed_branches)} deploy to {target_name}",
                allowed_branches=",".join(settings.allowed_branches),
                verify_branch_protection=settings.verify_branch_protection,
                ignore_unknown_protection_status=settings.ignore_unknown_protection_status,
                opts=child,
            )
            if settings.required_templates:
                # Governed pipelines: only a run that extends an approved template gets the resource.
                ado.CheckRequiredTemplate(
                    f"{name}-{kind}-required-template",
                    project_id=project_id,
                    target_resource_type=kind,
                    target_resource_id=target,
                    required_templates=[
                        ado.CheckRequiredTemplateRequiredTemplateArgs(
                            repository_type=template.repository_type.value,
                            repository_name=template.repository_name,
                            repository_ref=template.repository_ref,
                            template_path=template.template_path,
                        )
                        for template in settings.required_templates
                    ],
                    opts=child,
                )
            if settings.exclusive_lock:
                ado.CheckExclusiveLock(
                    f"{name}-{kind}-lock",
                    project_id=project_id,
                    target_resource_type=kind,
                    target_resource_id=target,
                    opts=child,
                )

        authorized: list[tuple[str, pulumi.Input[str]]] = [*protected, ("variablegroup", variable_group.id)]
        if args.agent_pool and settings.pipelines:
            queue = ado.get_agent_queue_output(project_id=project_id, name=args.agent_pool, opts=lookup)
            authorized.append(("queue", queue.id))
        for kind, target in authorized:
            for pipeline in settings.pipelines:  # ADO-2: each pipeline by id, never all
                ado.PipelineAuthorization(
                    f"{name}-{kind}-pipeline-{pipeline}",
                    project_id=project_id,
                    resource_id=target,
                    type=kind,
                    pipeline_id=pipeline,
                    opts=child,
                )

        self.variable_group_name = args.variable_group_name
        self.service_connection_id = connection.id
        self.service_connection_name = args.service_connection_name
        self.register_outputs({"serviceConnectionId": self.service_connection_id})
