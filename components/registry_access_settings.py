"""Stack config of a stage's access to the shared Azure ML registry (`mlinfra:registry`)."""

from typing import Annotated

from pydantic import Field, StrictBool, StrictStr

from components.registry_roles import RegistryAccess
from components.settings_base import Settings
from components.workspace_settings import STACK_NAME_PATTERN


class RegistryAccessSettings(Settings):
    stack: Annotated[StrictStr, Field(pattern=STACK_NAME_PATTERN)] | None = None
    """the fully-qualified name of the shared stack, `<organization>/<project>/<stack>` (for example
    `organization/mlinfra/shared`). Required with any registry access: the stage reads the registry's id
    from that stack's outputs (a StackReference)."""
    deployment_identity: RegistryAccess | None = None
    """publish (share models, components and environments into the registry) or read. Default none."""
    workspace_identity: StrictBool = False
    """true: the workspace's identity may read the registry, to deploy models from it. Default false."""
    personas: dict[StrictStr, RegistryAccess] = Field(default_factory=dict)
    """Persona name -> publish or read; each a persona of `mlinfra:personas`. Default none."""

    def wants_access(self) -> bool:
        return self.deployment_identity is not None or self.workspace_identity or bool(self.personas)


def registry_problems(config) -> list[str]:
    """Rules across sections (`config` is a StageConfig; the caller prefixes the namespace)."""
    registry = config.registry
    problems = []
    if registry.wants_access() and registry.stack is None:
        problems.append(
            "registry.stack: required with registry access (deploymentIdentity, workspaceIdentity or personas); "
            "expected the fully-qualified name of the shared stack, for example organization/mlinfra/shared"
        )
    scientists_allowed = config.stage_definition.data_science or (
        "dataScientists" in config.personas and config.personas["dataScientists"].outside_dev_reason
    )
    for name in registry.personas:
        if name not in config.personas:
            problems.append(
                f"registry.personas.{name}: not a persona of mlinfra:personas ({', '.join(config.personas) or 'none'})"
            )
        elif name == "dataScientists" and not scientists_allowed:
            problems.append(
                f"registry.personas.{name}: data scientists get no access in {config.stage} (RB-7); "
                "remove it or give personas.dataScientists.outsideDevReason"
            )
    return problems
