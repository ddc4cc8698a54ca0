"""Deployment gates of production stages (security-rules.md sections H and I): the GitHub
environment needs reviewers and a branch policy (GH-2, GH-3); each Azure DevOps environment and
service connection needs an approval check (ADO-3).

Azure DevOps checks are separate resources pointing at their target by id, so that half is a
stack policy: a check targets a resource when it depends on it (its `targetResourceId`).
"""

from pulumi_policy import StackValidationArgs

from mlinfra_policy.common import get, resource_policy, stack_policy

GITHUB_ENVIRONMENT = "github:index/repositoryEnvironment:RepositoryEnvironment"
ADO_ENVIRONMENT = "azuredevops:index/environment:Environment"
ADO_SERVICE_CONNECTION = "azuredevops:index/serviceEndpointAzureRM:ServiceEndpointAzureRM"
ADO_APPROVAL = "azuredevops:index/checkApproval:CheckApproval"
_CHECK_TARGET_TYPES = {ADO_ENVIRONMENT: "environment", ADO_SERVICE_CONNECTION: "endpoint"}


def _github_gates(args, production):
    props = args.props
    reviewers = sum(
        len(get(entry, "users") or []) + len(get(entry, "teams") or [])
        for entry in get(props, "reviewers") or []
    )
    if reviewers == 0:
        yield "no reviewers; a production environment needs at least one (GH-2)"
    if get(props, "preventSelfReview") is not True:
        yield "preventSelfReview is not true; whoever starts a deployment must not approve it (GH-2)"
    if get(props, "canAdminsBypass") is not False:
        yield "canAdminsBypass is not false; administrators bypass the gate by default (GH-2)"
    policy = get(props, "deploymentBranchPolicy")
    if not policy:
        yield "no deploymentBranchPolicy; any branch could deploy (GH-3)"
    elif (get(policy, "protectedBranches") is True) == (get(policy, "customBranchPolicies") is True):
        yield "deploymentBranchPolicy needs exactly one of protectedBranches and customBranchPolicies true (GH-3)"


def _approval_problems(check) -> list[str]:
    problems = []
    if not get(check.props, "approvers"):
        problems.append("has no approvers")
    if get(check.props, "requesterCanApprove") is True:
        problems.append("lets the requester approve")
    return problems


def _azure_devops_gates(args: StackValidationArgs, production):
    approvals = [resource for resource in args.resources if resource.resource_type == ADO_APPROVAL]
    for target in args.resources:
        kind = _CHECK_TARGET_TYPES.get(target.resource_type)
        if kind is None:
            continue
        checks = [
            check
            for check in approvals
            if get(check.props, "targetResourceType") == kind
            and any(dependency.urn == target.urn for dependency in check.dependencies)
        ]
        if not checks:
            yield f"{kind} {target.name} has no approval check (ADO-3)", target.urn
        for check in checks:
            for problem in _approval_problems(check):
                yield f"approval check {check.name} of {kind} {target.name} {problem} (ADO-3)", check.urn


POLICIES = [
    resource_policy(
        "github-environment-gated",
        "Production GitHub environments have reviewers, no self-review or admin bypass, and a branch policy (GH-2, GH-3).",
        [GITHUB_ENVIRONMENT],
        _github_gates,
        production_only=True,
    ),
    stack_policy(
        "azure-devops-approvals",
        "Production Azure DevOps environments and service connections have approval checks (ADO-3).",
        _azure_devops_gates,
        production_only=True,
    ),
]
