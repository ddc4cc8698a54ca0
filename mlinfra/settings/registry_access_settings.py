"""Stack config of a stage's access to the shared Azure ML registry (`mlinfra:registry`): the
stage's own identities only. Groups are granted by the shared stack (RB-11)."""

import json
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictStr, model_validator

from mlinfra.facts.registry_roles import RegistryAccess
from mlinfra.facts.roles import ROLES, Role
from mlinfra.facts.stack_names import SHARED_STACK, is_shared_stack
from mlinfra.settings.settings_base import Settings
from mlinfra.settings.workspace_settings import STACK_NAME_PATTERN

CONNECTION_APPROVER = ROLES["Azure AI Enterprise Network Connection Approver"]
"""What approves a managed network's private endpoint to the shared registry: "the workspace
managed identity ... and the user identity that initiates the creation of the private endpoint,
must have permissions to approve the Private Endpoint connections on the target resources. After
April 30th, 2025, permissions aren't automatically granted" (MicrosoftDocs/azure-ai-docs
articles/machine-learning/how-to-managed-network.md, "Approval of private endpoints"; the role
covers "Azure Machine Learning registry": Microsoft.MachineLearningServices/registries/
privateEndpointConnectionsApproval/action). Without it the connection stays Pending, in the same
subscription or another one (review-3 R2)."""


class RegistryAccessSettings(Settings):
    stack: Annotated[StrictStr, Field(pattern=STACK_NAME_PATTERN)] | None = None
    """the fully-qualified name of the shared stack, `<organization>/<project>/<stack>` (for example
    `organization/mlinfra/shared`). Required with any registry access: the stage reads the registry's id
    from that stack's outputs (a StackReference)."""
    deployment_identity: RegistryAccess | None = None
    """publish (share models, components and environments into the registry) or read. Default none."""
    workspace_identity: StrictBool = False
    """true: the workspace's identity may read the registry, to deploy models from it. Default false."""

    @model_validator(mode="before")
    @classmethod
    def _no_personas(cls, data: Any) -> Any:
        # One group granted by two stages would be one Azure role assignment with two owners:
        # destroying either stage would revoke the other's access (RB-11).
        if isinstance(data, dict) and "personas" in data:
            raise ValueError(
                "personas: a stage grants only its own identities on the shared registry; groups are granted "
                "once, by the shared stack (mlinfra:registry.personas in Pulumi.shared.yaml, RB-11), since two "
                "stacks granting one group would manage the same role assignment; move the persona there"
            )
        return data

    def wants_access(self) -> bool:
        return self.deployment_identity is not None or self.workspace_identity


def registry_problems(config) -> list[str]:
    """Rules across sections (`config` is a StageConfig; the caller prefixes the namespace)."""
    registry = config.registry
    problems = []
    if registry.wants_access() and registry.stack is None:
        problems.append(
            "registry.stack: required with registry access (deploymentIdentity or workspaceIdentity); "
            "expected the fully-qualified name of the shared stack, for example organization/mlinfra/shared"
        )
    elif registry.stack is not None and not is_shared_stack(registry.stack.rsplit("/", 1)[-1]):
        # The registry's outputs (registryId, the reader role) exist only on the shared stack; a
        # reference to a stage's stack would fail at `pulumi up` with a missing-output KeyError.
        problems.append(
            f"registry.stack: got {json.dumps(registry.stack)}; expected the shared stack "
            f"(<organization>/<project>/{SHARED_STACK} or <workload>-{SHARED_STACK}), which holds the registry; a stage's "
            "stack has no registry outputs"
        )
    return problems


def makes_registry_rule(registry: RegistryAccessSettings, isolation_mode: str, own_workspace: bool) -> bool:
    """Whether the stage's managed network gets the private-endpoint rule to the shared registry
    (mlinfra/stage/outbound_rules.py): with a registry stack, a workspace of its own and any managed
    network (isolation mode other than Disabled), whatever the registry's public access."""
    return registry.stack is not None and own_workspace and str(isolation_mode) != "Disabled"


def approval_roles(
    registry: RegistryAccessSettings, isolation_mode: str, own_workspace: bool
) -> tuple[Role, ...]:
    """The roles, besides its registry access roles, a stage's deployer assigns on the registry:
    CONNECTION_APPROVER to the workspace's identity when the stage makes the registry rule."""
    return (CONNECTION_APPROVER,) if makes_registry_rule(registry, isolation_mode, own_workspace) else ()
